// Package configblock decodes the config block of an HTTP connector (scim, entra, okta,
// google): the JSON object the engine hands to Configure. It does the part every
// connector did the same way — the object check, unsupported attributes, one typed
// field at a time with a diagnostic on the attribute, numbers within bounds, a CA file —
// and collects every problem as a diagnostic instead of stopping at the first, as
// config problems are reported to users (STYLE.md, practice 6).
//
// What each field means, its defaults and the checks between fields stay in the
// connector's own parseConfig: a Block only reads.
package configblock

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// Block is a config block being decoded and the diagnostics found so far.
type Block struct {
	fields map[string]json.RawMessage
	diags  connector.Diagnostics
}

// Parse starts decoding raw for the connector called name (as diagnostics call it, e.g.
// "Okta"). Each attribute raw has that schema lacks is a diagnostic, in name order. ok
// is false when raw is not a JSON object; then nothing can be decoded and the
// diagnostics say why.
func Parse(raw json.RawMessage, name string, schema connector.Schema) (b *Block, ok bool) {
	b = &Block{}
	if err := json.Unmarshal(raw, &b.fields); err != nil || b.fields == nil {
		b.Errorf("", "Invalid "+name+" connector configuration", "The configuration must be an object.")
		return b, false
	}
	names := make([]string, 0, len(b.fields))
	for n := range b.fields {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if !slices.ContainsFunc(schema.Attributes, func(a connector.AttributeSchema) bool { return a.Name == n }) {
			b.Errorf(n, "Unsupported attribute", "The %s connector has no attribute %q.", name, n)
		}
	}
	return b, true
}

// Errorf adds an error diagnostic on attribute attr ("" for the whole block).
func (b *Block) Errorf(attr, summary, detail string, args ...any) {
	b.diags = append(b.diags, connector.Diagnostic{
		Severity: connector.Error, Attribute: attr, Summary: summary, Detail: fmt.Sprintf(detail, args...),
	})
}

// Diagnostics is every problem found so far.
func (b *Block) Diagnostics() connector.Diagnostics { return b.diags }

// HasErrors reports whether any problem found so far is an error.
func (b *Block) HasErrors() bool { return b.diags.HasErrors() }

// Present reports whether attribute name is set to something other than null.
func (b *Block) Present(name string) bool {
	v, ok := b.fields[name]
	return ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// Set reports whether attribute name is in the block at all, null included.
func (b *Block) Set(name string) bool {
	_, ok := b.fields[name]
	return ok
}

// Decode decodes attribute name into dst and reports whether it did. An absent or null
// attribute leaves dst alone; one of another type is a diagnostic saying it must be
// want ("a string", "a list of strings"…).
func (b *Block) Decode(name, want string, dst any) bool {
	if !b.Present(name) {
		return false
	}
	if err := json.Unmarshal(b.fields[name], dst); err != nil {
		b.Errorf(name, "Incorrect attribute value type", "%s must be %s.", name, want)
		return false
	}
	return true
}

// Number decodes attribute name as a number from lo to hi (a whole one if whole), or
// returns def when it is unset or wrong (with a diagnostic in the second case).
func (b *Block) Number(name string, lo, hi, def float64, whole bool) float64 {
	var n float64
	if !b.Decode(name, "a number", &n) {
		return def
	}
	if n < lo || n > hi || (whole && n != float64(int64(n))) {
		kind := "a number"
		if whole {
			kind = "a whole number"
		}
		b.Errorf(name, "Value out of range", "%s is %v; it must be %s from %v to %v.", name, n, kind, lo, hi)
		return def
	}
	return n
}

// CAFile reads the PEM file path that attribute name gives, and returns the pool of its
// certificates added to the system's roots (if withSystem) or on their own. A file that
// cannot be read or holds no certificate is a diagnostic on name; nil is returned for a
// file that cannot be read.
func (b *Block) CAFile(name, path string, withSystem bool) *x509.CertPool {
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		b.Errorf(name, "Cannot read the CA file", "%v", err)
		return nil
	}
	var roots *x509.CertPool
	if withSystem {
		roots, err = x509.SystemCertPool()
	}
	if roots == nil || err != nil {
		roots = x509.NewCertPool()
	}
	if !roots.AppendCertsFromPEM(pemBytes) {
		b.Errorf(name, "No certificates in the CA file", "%s holds no PEM certificate.", path)
	}
	return roots
}
