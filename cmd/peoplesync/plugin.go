package main

import (
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/peoplesync/peoplesync/plugins"
)

// pluginCommand serves a bundled connector: the engine re-executes this binary as
// "peoplesync plugin NAME" to run each bundled connector in its own process.
func (a *app) pluginCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "plugin NAME",
		Short:  "Serve a bundled connector over the plugin protocol (started by peoplesync itself)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		// The plugin protocol owns stdout; the logger is not needed here.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(_ *cobra.Command, args []string) error {
			if os.Getenv("GOGC") == "" {
				// A connector's live heap is a few batches, so GC cycles come often
				// and cost a fifth of its CPU at the default GOGC=100. Four times the
				// headroom cut that to a few percent for ~20 MB more (100k LDAP
				// entries: connector CPU -25%, RSS 36 -> 55 MB).
				debug.SetGCPercent(400)
			}
			if err := plugins.Serve(args[0]); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			return nil
		},
	}
}
