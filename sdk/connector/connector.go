// Package connector is what a directory connector's author needs: the plain-Go
// interface a connector implements (Connector, and WriterReader for one that decodes a
// wire format of its own), the types it reads and writes (Record, RecordWriter, Schema,
// Diagnostics), and Serve, which its main calls to serve it as a go-plugin subprocess.
// Package connectortest is the conformance suite a connector's tests run; the program
// in examples/connector is a whole connector in one file.
//
// The rest of the protocol stays out of an author's way: the host side (dispensing a
// plugin, raw batches, the canonical form the engine hashes) is package protocol, and
// the record encoding both sides share is specified once, with test vectors, in
// sdk/internal/recordwire. The engine never sees the protocol's generated types: it
// talks to a subprocess through the same Connector interface.
package connector

import (
	"context"
	"encoding/json"
	"errors"
)

// ChangeKind says what a record means for the person it names.
type ChangeKind uint8

const (
	// Upsert: the person exists in the source with these attributes.
	Upsert ChangeKind = iota
	// Delete: the source reports the person deleted (delta reads only).
	Delete
	// Invalid: the source holds a record for a person that the connector cannot read
	// (a row without its ID, an ID that appears twice, a malformed value). Problem says
	// what is wrong and where. The engine records it as a record error and neither changes
	// nor deletes the profile of its ID, if it has one; a read with an Invalid record
	// that has no ID deletes nobody, because the record might be anyone's. Attributes are
	// not sent. A connector reports a bad record this way instead of failing the read, so
	// that one bad row does not stop everyone else's sync, and instead of skipping it,
	// which would look like a person who left.
	Invalid
)

// Record is one person as the source holds it.
type Record struct {
	// ID is the stable external ID (entryUUID, objectGUID, HR id): never the DN or the
	// mail, which change.
	ID string
	// DN is the entry's current distinguished name (or another locator the source uses),
	// kept so that references such as manager DNs resolve. It may change between reads.
	DN string
	// Kind is Upsert for every record of a full read.
	Kind ChangeKind
	// Attributes are the record's text attributes, multi-valued.
	Attributes map[string][]string
	// Binary are the record's binary attributes (photos, GUIDs), multi-valued.
	Binary map[string][][]byte
	// Problem says what is wrong with an Invalid record, and where ("hr.csv:12: ID
	// employee_id is empty"); empty for every other kind.
	Problem string
}

// ReadMode selects a full or a delta read.
type ReadMode uint8

const (
	// Full reads every person in scope.
	Full ReadMode = iota
	// Delta reads what changed since ReadRequest.Cursor.
	Delta
)

// ReadRequest asks a connector for records.
type ReadRequest struct {
	Mode ReadMode
	// Cursor is the cursor a previous read returned, for delta reads.
	Cursor string
}

// ReadResult ends a complete read. A read that ends without one (an error, a dropped
// stream) is incomplete, and the engine concludes nothing from it.
type ReadResult struct {
	// Count is the number of records the connector emitted.
	Count int64
	// Cursor is where the next delta read starts; empty if the connector has no deltas.
	Cursor string
}

// EmitFunc receives the records of a read, one at a time and in order. An error from it
// stops the read; the connector returns that error.
type EmitFunc func(Record) error

// Type is the type of a configuration attribute.
type Type string

// Configuration attribute types.
const (
	String     Type = "string"
	Number     Type = "number"
	Bool       Type = "bool"
	StringList Type = "list(string)"
	StringMap  Type = "map(string)"
)

// AttributeSchema describes one attribute of a connector's config block.
type AttributeSchema struct {
	Name     string
	Type     Type
	Required bool
	// Sensitive attributes (passwords, tokens) never appear in logs, errors or plans.
	Sensitive   bool
	Description string
}

// Schema is the shape of a connector's config block.
type Schema struct {
	Attributes []AttributeSchema
}

// Capabilities are what a connector can do beyond full reads.
type Capabilities struct {
	// Delta is true if the connector serves Delta reads.
	Delta bool
}

// Description is what a connector says about itself before it is configured.
type Description struct {
	Name         string
	Schema       Schema
	Capabilities Capabilities
}

// Severity grades a diagnostic.
type Severity uint8

// Diagnostic severities.
const (
	Error Severity = iota
	Warning
)

// Diagnostic is one problem with a connector's configuration, as data, so that the engine
// can point at the attribute in the user's HCL file.
type Diagnostic struct {
	Severity Severity
	Summary  string
	Detail   string
	// Attribute names the config attribute at fault; empty for the block as a whole.
	Attribute string
}

// Diagnostics is a list of diagnostics.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (d Diagnostics) HasErrors() bool {
	for _, x := range d {
		if x.Severity == Error {
			return true
		}
	}
	return false
}

// Connector reads people from one directory.
//
// The engine calls Describe, then Configure once with the config block decoded against the
// schema (a JSON object), then Check and Read as often as it needs. Every method honours
// ctx: a cancelled run stops the search inside the connector.
type Connector interface {
	// Describe returns the connector's name, config schema and capabilities.
	Describe(ctx context.Context) (Description, error)
	// Configure receives the config block as a JSON object. Problems a person made come
	// back as diagnostics; the error is for failures of the call itself.
	Configure(ctx context.Context, config json.RawMessage) (Diagnostics, error)
	// Check verifies that the source is reachable with the configured credentials.
	Check(ctx context.Context) error
	// Read emits every record in scope (or, for Delta, every change since the cursor) and
	// returns the read's end. Any error means the read was incomplete.
	Read(ctx context.Context, req ReadRequest, emit EmitFunc) (ReadResult, error)
}

// ErrNotConfigured is returned by Check and Read before a successful Configure.
var ErrNotConfigured = errors.New("connector is not configured")
