package connector

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strconv"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/peoplesync/peoplesync/sdk/internal/connectorpb"
)

// GRPCPlugin is the plugin side of the connector protocol's go-plugin glue: it serves
// Impl. Serve uses it; an author who runs go-plugin's own Serve (with options of their
// own) can too. The host side, which dispenses a Connector that talks to a plugin
// process, is package protocol's.
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

// GRPCClient fails: a plugin process serves a connector, it does not call one. Hosts
// use package protocol.
func (p *GRPCPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("connector.GRPCPlugin serves connectors; hosts dispense them with package protocol")
}

// Serve serves c as a connector plugin and never returns. Call it from a connector's
// main; the engine starts the binary as a subprocess and talks to it over gRPC.
//
// Logs go to stderr as JSON in go-plugin's format, which the engine reads back into its
// own log at the same level: both go-plugin's hclog logger and the default slog logger
// (so a connector just uses log/slog).
//
// Serve exits the process when the engine that started it is gone: the engine hands it
// one end of a pipe that closes with the engine, however the engine ended.
func Serve(c Connector) {
	slog.SetDefault(slog.New(newPluginLogHandler(os.Stderr)))
	watchLifeline()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: connectorpb.Handshake,
		Plugins:         plugin.PluginSet{connectorpb.PluginName: &GRPCPlugin{Impl: c}},
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
	fd, err := strconv.Atoi(os.Getenv(connectorpb.LifelineEnv))
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
