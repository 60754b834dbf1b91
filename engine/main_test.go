package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/peoplesync/peoplesync/engine/store/pgtest"
	"github.com/peoplesync/peoplesync/plugins"
	"github.com/peoplesync/peoplesync/plugins/file"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// TestMain doubles as the connector subprocess: the engine under test starts bundled
// connectors as "<this test binary> plugin NAME", exactly as peoplesync re-executes itself.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "plugin" {
		if os.Args[2] == "crashy" {
			connector.Serve(&crashy{Connector: file.New()})
			os.Exit(0)
		}
		if err := plugins.Serve(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "peoplesync-engine-modules-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	moduleDir = dir
	code := pgtest.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// moduleDir holds the mapping modules the tests build, once per test binary.
var moduleDir string

// crashy is the file connector with two more settings: crash_after, after which many
// records the process exits hard, as a connector that crashes mid-stream would (records
// still in its transport's buffers are lost); and fail_after, after which the read
// returns an error (everything emitted before it arrives).
type crashy struct {
	connector.Connector
	crashAfter, failAfter int64
}

func (c *crashy) Describe(ctx context.Context) (connector.Description, error) {
	d, err := c.Connector.Describe(ctx)
	d.Name = "crashy"
	d.Schema.Attributes = append(d.Schema.Attributes,
		connector.AttributeSchema{Name: "crash_after", Type: connector.Number},
		connector.AttributeSchema{Name: "fail_after", Type: connector.Number})
	return d, err
}

func (c *crashy) Configure(ctx context.Context, raw json.RawMessage) (connector.Diagnostics, error) {
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, err
	}
	c.crashAfter, c.failAfter = -1, -1
	if n, ok := cfg["crash_after"].(float64); ok {
		c.crashAfter = int64(n)
	}
	if n, ok := cfg["fail_after"].(float64); ok {
		c.failAfter = int64(n)
	}
	delete(cfg, "crash_after")
	delete(cfg, "fail_after")
	rest, _ := json.Marshal(cfg)
	return c.Connector.Configure(ctx, rest)
}

func (c *crashy) Read(ctx context.Context, req connector.ReadRequest, emit connector.EmitFunc) (connector.ReadResult, error) {
	var n int64
	return c.Connector.Read(ctx, req, func(r connector.Record) error {
		if n == c.crashAfter {
			os.Exit(3)
		}
		if n == c.failAfter {
			return errors.New("crashy: the directory went away")
		}
		n++
		return emit(r)
	})
}
