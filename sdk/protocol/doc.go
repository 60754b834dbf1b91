// Package protocol is the host side of the connector protocol: what an engine needs to
// start, dispense and read a connector plugin. Connector authors do not import it; they
// need only package connector (and connectortest for their tests).
//
//	plugin process                              host (engine)
//	connector.Serve(c) ── go-plugin, gRPC ──► protocol.PluginSet(nil), Dispense(PluginName)
//	  RecordWriter / emit                         Connector and RawReader
//	  └ recordwire.Encoder ── RecordBatch bytes ─► RawBatch (checked, decoded on demand)
//	                                              Canonicalizer (source hashes)
//
// The record encoding and the canonical form are specified, with test vectors, in one
// place: package sdk/internal/recordwire, which both sides use. The messages around it
// are connector.proto's (sdk/internal/connectorpb), kept out of every public API.
package protocol

import (
	"errors"

	"github.com/hashicorp/go-plugin"

	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/internal/connectorpb"
)

// ProtocolVersion is the major version of the connector protocol, which travels in the
// go-plugin handshake: an engine and a connector built against different majors refuse
// each other at start-up with a clear message instead of misreading each other.
const ProtocolVersion = connectorpb.Major

// PluginName is the name under which a connector is dispensed from its plugin process.
const PluginName = connectorpb.PluginName

// Handshake is the go-plugin handshake of the connector protocol, the one connector.Serve
// answers.
var Handshake = connectorpb.Handshake

// LifelineEnv names the variable through which a host hands a plugin the number of a
// file descriptor: the read end of a pipe whose write end only the host holds. When the
// host is gone, however it died, the pipe reads end of file and connector.Serve exits,
// so that no connector outlives its host.
const LifelineEnv = connectorpb.LifelineEnv

// ErrIncompleteRead marks a read whose stream ended without its end message: the
// connector failed, its process died, or a batch did not decode. A host must treat the
// read as partial (and delete nobody).
var ErrIncompleteRead = errors.New("incomplete read: the stream ended without its end message")

// PluginSet returns the go-plugin plugin set of the connector protocol. A host passes
// PluginSet(nil) and dispenses PluginName to get a Connector (also a RawReader) that
// calls the plugin process; a test may pass a connector to serve it in process, as
// go-plugin's TestPluginGRPCConn does.
func PluginSet(impl connector.Connector) plugin.PluginSet {
	return plugin.PluginSet{PluginName: &grpcPlugin{server: connector.GRPCPlugin{Impl: impl}}}
}

// grpcPlugin joins the plugin side of the go-plugin glue (package connector's) to the
// host side.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	server connector.GRPCPlugin
}

var _ plugin.GRPCPlugin = (*grpcPlugin)(nil)
