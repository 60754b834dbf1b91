package connectorpb

import "github.com/hashicorp/go-plugin"

// This file is written by hand: the go-plugin handshake that both sides of the protocol
// use, kept next to the messages it versions. Package connector's Serve (the plugin
// side) and package protocol (the host side) take it from here.

// Major is the major version of the connector protocol. It travels in the
// go-plugin handshake, so an engine and a connector built against different majors
// refuse each other at start-up with a clear message instead of misreading each other's
// messages. It must equal PROTOCOL_VERSION_CURRENT in connector.proto and the number in
// its package name (peoplesync.connector.v2); TestProtocolVersionsAgree checks.
//
// Version 2 carries each batch of records as one encoded bytes field (see package
// recordwire) instead of nested protobuf messages.
const Major = 2

// PluginName is the name under which a connector is dispensed from its plugin process.
const PluginName = "connector"

// Handshake is the go-plugin handshake of the connector protocol. The magic cookie only
// stops a person from running a connector binary by hand; it is not a security measure.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  Major,
	MagicCookieKey:   "PEOPLESYNC_PLUGIN",
	MagicCookieValue: "c2a0b7e1-peoplesync-connector",
}

// LifelineEnv names the variable through which the engine hands a plugin the number of
// a file descriptor: the read end of a pipe whose write end only the engine holds. When
// the engine is gone, however it died, the pipe reads end of file and the plugin exits,
// so that no connector outlives its host (on Linux the engine also asks the kernel to
// SIGKILL the plugin; the lifeline covers other systems and a plugin started through a
// wrapper script).
const LifelineEnv = "PEOPLESYNC_PLUGIN_LIFELINE"
