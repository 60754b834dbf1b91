package config_test

import (
	"fmt"

	"github.com/peoplesync/peoplesync/config"
)

// Every problem in a file is reported at once, each at its file, line and column.
func ExampleParse() {
	src := `
store {
  url = "postgres://localhost/peoplesync"
}
connector "hr" {
  plugin = "file"
}
sync "people" {
  connector = connector.hr_export
  mapping   = "default"
  schedule  = "*/30 * * *"
  timezone  = "Europe/Berlin"
}
`
	_, diags := config.Parse([]byte(src), "sync.hcl")
	fmt.Print(config.FormatDiagnostics(diags))
	// Output:
	// sync.hcl:9:15: error: Reference to undeclared connector: No connector named "hr_export" is declared. Declared connectors: hr.
	// sync.hcl:10:15: error: Invalid mapping reference: mapping must be a reference like mapping.NAME. Write mapping.default, without quotes.
	// sync.hcl:11:15: error: Invalid cron schedule: schedule "*/30 * * *" is not a valid schedule: expected exactly 5 fields, found 4: [*/30 * * *]. Use five fields (minute hour day-of-month month day-of-week), a descriptor like @hourly, or @every 10m.
}
