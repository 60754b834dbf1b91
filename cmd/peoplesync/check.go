package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/peoplesync/peoplesync/engine/setup"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

func (a *app) checkCommand() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "check --connector NAME",
		Short: "Connect a connector to its source, check it, and count the people a full read returns (no mapping, no writes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			proc, diags := setup.Connector(ctx, cfg, name, a.setupOptions())
			if n := a.printDiagnostics(cfg, diags); n > 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("connector %q: %d error(s)", name, n)}
			}
			defer proc.Kill()
			start := time.Now()
			if err := proc.Check(ctx); err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("connector %q: check: %w", name, err)}
			}
			res, err := proc.Read(ctx, connector.ReadRequest{Mode: connector.Full}, func(connector.Record) error { return nil })
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("connector %q: read: %w", name, err)}
			}
			fmt.Fprintf(a.stdout, "ok: %d entries in %.1fs\n", res.Count, time.Since(start).Seconds())
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "connector", "", "name of the connector (required)")
	_ = cmd.MarkFlagRequired("connector")
	return cmd
}
