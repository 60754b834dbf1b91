package config

import (
	"encoding/json"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// ctyType maps a connector attribute type to the cty type its value converts to.
func ctyType(t connector.Type) (cty.Type, bool) {
	switch t {
	case connector.String:
		return cty.String, true
	case connector.Number:
		return cty.Number, true
	case connector.Bool:
		return cty.Bool, true
	case connector.StringList:
		return cty.List(cty.String), true
	case connector.StringMap:
		return cty.Map(cty.String), true
	}
	return cty.NilType, false
}

// DecodeConfig decodes the connector's config block against the schema the connector
// described, with the same functions as the rest of the file (env, file), and returns it
// as a JSON object holding the attributes that were set. Values of the wrong type,
// unknown attributes and missing required attributes come back as diagnostics on the
// user's file; a schema with an unknown type is reported on the config block.
func (c *Connector) DecodeConfig(schema connector.Schema) (json.RawMessage, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	spec := hcldec.ObjectSpec{}
	types := map[string]cty.Type{}
	for _, a := range schema.Attributes {
		ty, ok := ctyType(a.Type)
		if !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid connector schema",
				Detail: fmt.Sprintf("Connector %q declares attribute %q with type %q, which peoplesync does not know (it knows string, number, bool, list(string), map(string)).",
					c.Name, a.Name, a.Type),
				Subject: c.RangeOf("config").Ptr(),
			})
			continue
		}
		spec[a.Name] = &hcldec.AttrSpec{Name: a.Name, Type: ty, Required: a.Required}
		types[a.Name] = ty
	}
	if diags.HasErrors() {
		return nil, diags
	}

	ctx := c.evalCtx
	if ctx == nil {
		ctx = evalContext(nil, ".")
	}
	body := c.Config
	if body == nil {
		body = &hclsyntax.Body{SrcRange: c.DeclRange, EndRange: c.DeclRange}
	}
	val, valDiags := hcldec.Decode(body, spec, ctx)
	// hcldec walks its spec as a map: sort, so the order is the file's and stable.
	sortDiagnostics(valDiags)
	diags = append(diags, valDiags...)
	if diags.HasErrors() {
		return nil, diags
	}

	// Values from env() and file(), and those the connector calls sensitive, are kept
	// out of the diagnostics it may send back (Diagnostics).
	if c.secrets == nil {
		c.secrets = &secretSet{}
	}
	collectSecrets(c.secrets, val)
	for _, a := range schema.Attributes {
		if a.Sensitive {
			if _, ok := types[a.Name]; ok {
				addStrings(c.secrets, val.GetAttr(a.Name), fmt.Sprintf("(the value of %s)", a.Name))
			}
		}
	}
	val, _ = val.UnmarkDeep()

	out := make(map[string]json.RawMessage, len(types))
	for name, ty := range types {
		v := val.GetAttr(name)
		if v.IsNull() {
			continue
		}
		js, err := ctyjson.Marshal(v, ty)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid attribute value",
				Detail:   fmt.Sprintf("The value of %q cannot be encoded as JSON: %s.", name, err),
				Subject:  c.attributeRange(name).Ptr(),
			})
			continue
		}
		out[name] = js
	}
	if diags.HasErrors() {
		return nil, diags
	}
	js, err := json.Marshal(out)
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid connector config",
			Detail:   fmt.Sprintf("The config block cannot be encoded as JSON: %s.", err),
			Subject:  c.RangeOf("config").Ptr(),
		})
	}
	return js, diags
}

// Diagnostics converts the diagnostics a connector returned from Configure into HCL
// diagnostics on the user's file: each points at the value of the attribute it names
// inside the config block, or at the config block (the connector block, without one)
// when the attribute is absent or not named. A connector sees plain values, not where
// they came from, and may quote them: every value the file took from env() or file(),
// and every value of an attribute the connector's schema calls sensitive, is replaced in
// the summary and detail by where it came from (see DecodeConfig), whatever the
// connector wrote.
func (c *Connector) Diagnostics(d connector.Diagnostics) hcl.Diagnostics {
	out := make(hcl.Diagnostics, 0, len(d))
	for _, x := range d {
		sev := hcl.DiagError
		if x.Severity == connector.Warning {
			sev = hcl.DiagWarning
		}
		rng := c.RangeOf("config")
		if x.Attribute != "" {
			rng = c.attributeRange(x.Attribute)
		}
		out = append(out, &hcl.Diagnostic{
			Severity: sev,
			Summary:  c.secrets.redact(x.Summary),
			Detail:   c.secrets.redact(x.Detail),
			Subject:  rng.Ptr(),
		})
	}
	return out
}

// attributeRange is the value range of the named attribute in the config block, or the
// config block's range if it is not there.
func (c *Connector) attributeRange(name string) hcl.Range {
	switch body := c.Config.(type) {
	case nil:
	case *hclsyntax.Body:
		if attr, ok := body.Attributes[name]; ok {
			return attr.Expr.Range()
		}
	default:
		attrs, _ := body.JustAttributes()
		if attr, ok := attrs[name]; ok {
			return attr.Expr.Range()
		}
	}
	return c.RangeOf("config")
}
