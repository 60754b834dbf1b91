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

func fromPBDescription(r *connectorpb.DescribeResponse) Description {
	d := Description{
		Name:         r.GetName(),
		Capabilities: Capabilities{Delta: r.GetCapabilities().GetDelta()},
	}
	for _, a := range r.GetSchema().GetAttributes() {
		d.Schema.Attributes = append(d.Schema.Attributes, AttributeSchema{
			Name:        a.GetName(),
			Type:        Type(a.GetType()),
			Required:    a.GetRequired(),
			Sensitive:   a.GetSensitive(),
			Description: a.GetDescription(),
		})
	}
	return d
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

func fromPBDiagnostics(ds []*connectorpb.Diagnostic) Diagnostics {
	if len(ds) == 0 {
		return nil
	}
	out := make(Diagnostics, len(ds))
	for i, d := range ds {
		sev := Error
		if d.GetSeverity() == connectorpb.Diagnostic_WARNING {
			sev = Warning
		}
		out[i] = Diagnostic{
			Severity:  sev,
			Summary:   d.GetSummary(),
			Detail:    d.GetDetail(),
			Attribute: d.GetAttribute(),
		}
	}
	return out
}

func toPBReadRequest(r ReadRequest) *connectorpb.ReadRequest {
	mode := connectorpb.ReadRequest_FULL
	if r.Mode == Delta {
		mode = connectorpb.ReadRequest_DELTA
	}
	return &connectorpb.ReadRequest{Mode: mode, Cursor: r.Cursor}
}

func fromPBReadRequest(r *connectorpb.ReadRequest) ReadRequest {
	mode := Full
	if r.GetMode() == connectorpb.ReadRequest_DELTA {
		mode = Delta
	}
	return ReadRequest{Mode: mode, Cursor: r.GetCursor()}
}

// toPBRecord converts r and returns an estimate of its encoded size, which is what the
// server's batching needs and is cheaper than proto.Size.
func toPBRecord(r Record) (*connectorpb.Record, int) {
	size := len(r.ID) + len(r.DN) + 8
	kind := connectorpb.Record_UPSERT
	if r.Kind == Delete {
		kind = connectorpb.Record_DELETE
	}
	out := &connectorpb.Record{Id: r.ID, Dn: r.DN, Kind: kind}
	if len(r.Attributes) > 0 {
		out.Attributes = make([]*connectorpb.Attribute, 0, len(r.Attributes))
		for name, values := range r.Attributes {
			out.Attributes = append(out.Attributes, &connectorpb.Attribute{Name: name, Values: values})
			size += len(name) + 4
			for _, v := range values {
				size += len(v) + 2
			}
		}
	}
	if len(r.Binary) > 0 {
		out.Binary = make([]*connectorpb.BinaryAttribute, 0, len(r.Binary))
		for name, values := range r.Binary {
			out.Binary = append(out.Binary, &connectorpb.BinaryAttribute{Name: name, Values: values})
			size += len(name) + 4
			for _, v := range values {
				size += len(v) + 4
			}
		}
	}
	return out, size
}

func fromPBRecord(r *connectorpb.Record) Record {
	out := Record{ID: r.GetId(), DN: r.GetDn()}
	if r.GetKind() == connectorpb.Record_DELETE {
		out.Kind = Delete
	}
	if attrs := r.GetAttributes(); len(attrs) > 0 {
		out.Attributes = make(map[string][]string, len(attrs))
		for _, a := range attrs {
			if prev, ok := out.Attributes[a.GetName()]; ok {
				out.Attributes[a.GetName()] = append(prev, a.GetValues()...)
			} else {
				out.Attributes[a.GetName()] = a.GetValues()
			}
		}
	}
	if bin := r.GetBinary(); len(bin) > 0 {
		out.Binary = make(map[string][][]byte, len(bin))
		for _, a := range bin {
			if prev, ok := out.Binary[a.GetName()]; ok {
				out.Binary[a.GetName()] = append(prev, a.GetValues()...)
			} else {
				out.Binary[a.GetName()] = a.GetValues()
			}
		}
	}
	return out
}
