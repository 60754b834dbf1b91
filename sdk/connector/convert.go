package connector

import (
	"github.com/peoplesync/peoplesync/sdk/internal/connectorpb"
)

// This file translates between the plain Go types and the generated protocol types, in
// one place, so that the generated types never leave the SDK.

func toPBDescription(d Description) *connectorpb.DescribeResponse {
	attrs := make([]*connectorpb.AttributeSchema, len(d.Schema.Attributes))
	for i, a := range d.Schema.Attributes {
		attrs[i] = &connectorpb.AttributeSchema{
			Name:        a.Name,
			Type:        string(a.Type),
			Required:    a.Required,
			Sensitive:   a.Sensitive,
			Description: a.Description,
		}
	}
	return &connectorpb.DescribeResponse{
		Name:         d.Name,
		Schema:       &connectorpb.Schema{Attributes: attrs},
		Capabilities: &connectorpb.Capabilities{Delta: d.Capabilities.Delta},
	}
}

func toPBDiagnostics(ds Diagnostics) []*connectorpb.Diagnostic {
	out := make([]*connectorpb.Diagnostic, len(ds))
	for i, d := range ds {
		sev := connectorpb.Diagnostic_ERROR
		if d.Severity == Warning {
			sev = connectorpb.Diagnostic_WARNING
		}
		out[i] = &connectorpb.Diagnostic{
			Severity:  sev,
			Summary:   d.Summary,
			Detail:    d.Detail,
			Attribute: d.Attribute,
		}
	}
	return out
}

func fromPBReadRequest(r *connectorpb.ReadRequest) ReadRequest {
	mode := Full
	if r.GetMode() == connectorpb.ReadRequest_DELTA {
		mode = Delta
	}
	return ReadRequest{Mode: mode, Cursor: r.GetCursor()}
}
