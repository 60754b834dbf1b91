package connhost_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/peoplesync/peoplesync/engine/connhost"
	"github.com/peoplesync/peoplesync/plugins"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/protocol"
)

// hostEnv makes the test binary a host: it starts the plugin the variable names, prints
// the plugin's pid and waits to be killed.
const hostEnv = "CONNHOST_TEST_HOST"

func host(pluginName string) {
	spec := connhost.Spec{Name: "orphan", Plugin: pluginName}
	if strings.Contains(pluginName, "/") { // a wrapper script
		spec.Plugin, spec.Path = "", pluginName
	}
	p, err := connhost.Start(context.Background(), spec,
		connhost.Options{Executable: os.Args[0], Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("pid %d\n", p.Pid())
	select {}
}

// TestMain turns the test binary into a plugin binary when the host re-executes it as
// "<test binary> plugin <name>", so the tests start real subprocesses.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "plugin" {
		serve(os.Args[2])
		return
	}
	if plugin := os.Getenv(hostEnv); plugin != "" {
		host(plugin)
		return
	}
	// Under -race, every plugin process would wait a second at exit for late race
	// reports; the tests start dozens. Plugins inherit this environment.
	_ = os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	os.Exit(m.Run())
}

func serve(name string) {
	switch name {
	case "crasher":
		connector.Serve(&testConnector{name: name, read: crashRead})
	case "hanger":
		connector.Serve(&testConnector{name: name, read: hangRead})
	case "wrongversion":
		hs := protocol.Handshake
		hs.ProtocolVersion = protocol.ProtocolVersion + 98
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig: hs,
			Plugins:         protocol.PluginSet(&testConnector{name: name}),
			GRPCServer:      plugin.DefaultGRPCServer,
		})
	default:
		if err := plugins.Serve(name); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	os.Exit(0)
}

// testConnector is a connector whose Read misbehaves in the ways a real one can.
type testConnector struct {
	name string
	read func(ctx context.Context, emit connector.EmitFunc) (connector.ReadResult, error)
}

// cancelled is set in the plugin process when a Read saw its context cancelled.
var cancelled atomic.Bool

func (c *testConnector) Describe(context.Context) (connector.Description, error) {
	return connector.Description{Name: c.name}, nil
}

func (c *testConnector) Configure(context.Context, json.RawMessage) (connector.Diagnostics, error) {
	return nil, nil
}

// Check reports, for the hanger, whether a Read has been cancelled, so that a test can
// see across the process boundary that the cancellation arrived.
func (c *testConnector) Check(context.Context) error {
	if c.name == "hanger" && !cancelled.Load() {
		return errors.New("no read has been cancelled yet")
	}
	return nil
}

func (c *testConnector) Read(ctx context.Context, _ connector.ReadRequest, emit connector.EmitFunc) (connector.ReadResult, error) {
	return c.read(ctx, emit)
}

func emitN(emit connector.EmitFunc, n int) error {
	for i := range n {
		if err := emit(connector.Record{ID: fmt.Sprint(i), Attributes: map[string][]string{"cn": {"x"}}}); err != nil {
			return err
		}
	}
	return nil
}

// crashRead sends two full batches and dies mid-stream.
func crashRead(_ context.Context, emit connector.EmitFunc) (connector.ReadResult, error) {
	slog.Info("crasher reading", "records", 1200)
	if err := emitN(emit, 1200); err != nil {
		return connector.ReadResult{}, err
	}
	os.Exit(3)
	return connector.ReadResult{}, nil
}

// hangRead sends a batch and then waits, like a search on a slow directory, until its
// context is cancelled.
func hangRead(ctx context.Context, emit connector.EmitFunc) (connector.ReadResult, error) {
	if err := emitN(emit, 500); err != nil {
		return connector.ReadResult{}, err
	}
	<-ctx.Done()
	cancelled.Store(true)
	return connector.ReadResult{}, ctx.Err()
}
