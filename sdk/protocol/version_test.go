package protocol

import (
	"fmt"
	"testing"

	"github.com/peoplesync/peoplesync/sdk/internal/connectorpb"
)

// TestProtocolVersionsAgree fails when the protocol major drifts between the .proto
// file, its package name, ProtocolVersion and the handshake.
func TestProtocolVersionsAgree(t *testing.T) {
	enum := connectorpb.ProtocolVersion_PROTOCOL_VERSION_CURRENT
	if int(enum) != ProtocolVersion {
		t.Errorf("connector.proto says PROTOCOL_VERSION_CURRENT = %d, ProtocolVersion = %d", enum, ProtocolVersion)
	}
	values := enum.Descriptor().Values()
	if last := values.Get(values.Len() - 1).Number(); int(last) != ProtocolVersion {
		t.Errorf("connector.proto's last ProtocolVersion value is %d, ProtocolVersion = %d", last, ProtocolVersion)
	}
	if Handshake.ProtocolVersion != ProtocolVersion {
		t.Errorf("Handshake.ProtocolVersion = %d, ProtocolVersion = %d", Handshake.ProtocolVersion, ProtocolVersion)
	}
	pkg := connectorpb.File_connector_proto.Package()
	if want := fmt.Sprintf("peoplesync.connector.v%d", ProtocolVersion); string(pkg) != want {
		t.Errorf("connector.proto's package is %s, want %s", pkg, want)
	}
	if Handshake.MagicCookieKey != "PEOPLESYNC_PLUGIN" || Handshake.MagicCookieValue == "" {
		t.Errorf("Handshake cookie = %q=%q", Handshake.MagicCookieKey, Handshake.MagicCookieValue)
	}
}
