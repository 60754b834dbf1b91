package connector

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/peoplesync/peoplesync/sdk/internal/connectorpb"
)

// ProtocolVersion is the major version of the connector protocol. It travels in the
// go-plugin handshake, so an engine and a connector built against different majors refuse
// each other at start-up with a clear message instead of misreading each other's
// messages. It must match the protocol package (peoplesync.connector.v2).
//
// Version 2 carries each batch of records as one encoded bytes field (see batch.go)
// instead of nested protobuf messages.
const ProtocolVersion = 2

// PluginName is the name under which a connector is dispensed from its plugin process.
const PluginName = "connector"

// Handshake is the go-plugin handshake both sides of the connector protocol use. The
// magic cookie only stops a person from running a connector binary by hand; it is not a
// security measure.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "PEOPLESYNC_PLUGIN",
	MagicCookieValue: "c2a0b7e1-peoplesync-connector",
}

// LifelineEnv names the variable through which the engine hands a plugin the number of
// a file descriptor: the read end of a pipe whose write end only the engine holds. When
// the engine is gone, however it died, the pipe reads end of file and Serve exits, so
// that no connector outlives its host (on Linux the engine also asks the kernel to
// SIGKILL the plugin; the lifeline covers other systems and a plugin started through a
// wrapper script).
const LifelineEnv = "PEOPLESYNC_PLUGIN_LIFELINE"

// GRPCPlugin is the go-plugin glue of the connector protocol. In a plugin process, Impl
// is the connector being served; on the engine's side Impl is nil and dispensing
// PluginName returns a Connector that talks to the subprocess.
type GRPCPlugin struct {
	// The connector protocol is gRPC only.
	plugin.NetRPCUnsupportedPlugin
	// Impl is the connector served by GRPCServer.
	Impl Connector
}

var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)

// GRPCServer registers the connector protocol's server, backed by p.Impl.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	connectorpb.RegisterConnectorServer(s, &grpcServer{impl: p.Impl})
	return nil
}

// GRPCClient returns a Connector that calls the plugin process over conn.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &grpcClient{client: connectorpb.NewConnectorClient(conn)}, nil
}

// PluginSet returns the go-plugin plugin set of the connector protocol, serving impl
// (nil on the engine's side).
func PluginSet(impl Connector) plugin.PluginSet {
	return plugin.PluginSet{PluginName: &GRPCPlugin{Impl: impl}}
}

// Serve serves c as a connector plugin and never returns. Call it from a connector's
// main; the engine starts the binary as a subprocess and talks to it over gRPC.
//
// Logs go to stderr as JSON in go-plugin's format, which the engine reads back into its
// own log at the same level: both go-plugin's hclog logger and the default slog logger
// (so a connector just uses log/slog).
//
// Serve exits the process when the engine that started it is gone (see LifelineEnv).
func Serve(c Connector) {
	slog.SetDefault(slog.New(newPluginLogHandler(os.Stderr)))
	watchLifeline()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         PluginSet(c),
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:       "connector",
			Output:     os.Stderr,
			JSONFormat: true,
			Level:      hclog.Debug,
		}),
	})
}

// watchLifeline exits the process once the engine's end of the lifeline pipe is closed.
// A plugin started without one (by an older engine, or by go-plugin's test helpers) is
// not watched.
func watchLifeline() {
	fd, err := strconv.Atoi(os.Getenv(LifelineEnv))
	if err != nil || fd < 3 {
		return
	}
	f := os.NewFile(uintptr(fd), "lifeline")
	if f == nil {
		return
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return // not the pipe the engine hands over
	}
	go func() {
		// The engine never writes: the read ends, with EOF or an error, when the
		// write end closes with the engine.
		_, _ = io.Copy(io.Discard, f)
		slog.Error("the engine that started this connector is gone; exiting")
		os.Exit(3)
	}()
}
