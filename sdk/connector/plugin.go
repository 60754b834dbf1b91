package connector

import (
	"context"
	"log/slog"
	"os"

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
func Serve(c Connector) {
	slog.SetDefault(slog.New(newPluginLogHandler(os.Stderr)))
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
