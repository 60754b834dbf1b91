# Only what is required: every optional attribute takes its default.
store {
  url = "postgres://localhost/peoplesync"
}

connector "hr" {
  plugin = "file"
}

mapping "default" {
  module = "modules/default.module"
}

sync "people" {
  connector = connector.hr
  mapping   = mapping.default
  schedule  = "@hourly"
}
