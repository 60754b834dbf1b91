// Package plugins is the explicit registry of the connectors bundled in the peoplesync
// binary. The engine starts a bundled connector by re-executing its own binary as
// "peoplesync plugin <name>", whose main calls Serve.
package plugins

import (
	"fmt"
	"slices"
	"strings"

	"github.com/peoplesync/peoplesync/plugins/entra"
	"github.com/peoplesync/peoplesync/plugins/file"
	"github.com/peoplesync/peoplesync/plugins/google"
	"github.com/peoplesync/peoplesync/plugins/ldap"
	"github.com/peoplesync/peoplesync/plugins/okta"
	"github.com/peoplesync/peoplesync/plugins/scim"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// Bundled maps a bundled connector's name to its constructor.
var Bundled = map[string]func() connector.Connector{
	"entra":  entra.New,
	"file":   file.New,
	"google": google.New,
	"ldap":   ldap.New,
	"okta":   okta.New,
	"scim":   scim.New,
}

// Names returns the bundled connectors' names, sorted.
func Names() []string {
	names := make([]string, 0, len(Bundled))
	for name := range Bundled {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Serve serves the bundled connector name as a plugin process; it returns only an error
// for an unknown name (serving never returns).
func Serve(name string) error {
	newConnector, ok := Bundled[name]
	if !ok {
		return fmt.Errorf("no bundled connector %q; bundled connectors are: %s", name, strings.Join(Names(), ", "))
	}
	connector.Serve(newConnector())
	return nil
}
