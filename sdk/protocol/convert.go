package protocol

import (
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/internal/connectorpb"
)

// This file translates the generated protocol types the plugin sends back into package
// connector's plain Go types (package connector translates the other way, for its
// server), so that the generated types never leave the SDK.

func fromPBDescription(r *connectorpb.DescribeResponse) connector.Description {
	d := connector.Description{
		Name:         r.GetName(),
		Capabilities: connector.Capabilities{Delta: r.GetCapabilities().GetDelta()},
	}
	for _, a := range r.GetSchema().GetAttributes() {
		d.Schema.Attributes = append(d.Schema.Attributes, connector.AttributeSchema{
			Name:        a.GetName(),
			Type:        connector.Type(a.GetType()),
			Required:    a.GetRequired(),
			Sensitive:   a.GetSensitive(),
			Description: a.GetDescription(),
		})
	}
	return d
}

func fromPBDiagnostics(ds []*connectorpb.Diagnostic) connector.Diagnostics {
	if len(ds) == 0 {
		return nil
	}
	out := make(connector.Diagnostics, len(ds))
	for i, d := range ds {
		sev := connector.Error
		if d.GetSeverity() == connectorpb.Diagnostic_WARNING {
			sev = connector.Warning
		}
		out[i] = connector.Diagnostic{
			Severity:  sev,
			Summary:   d.GetSummary(),
			Detail:    d.GetDetail(),
			Attribute: d.GetAttribute(),
		}
	}
	return out
}

func toPBReadRequest(r connector.ReadRequest) *connectorpb.ReadRequest {
	mode := connectorpb.ReadRequest_FULL
	if r.Mode == connector.Delta {
		mode = connectorpb.ReadRequest_DELTA
	}
	return &connectorpb.ReadRequest{Mode: mode, Cursor: r.Cursor}
}
