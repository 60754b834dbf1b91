// Package connectortest is the conformance suite every connector passes. Run drives a
// connector through the contract of package connector twice: once in process, and once
// over the real gRPC adapter (go-plugin's TestPluginGRPCConn), so a connector and the
// protocol are held to the same cases.
//
// A connector's test supplies a Harness: how to make a fresh connector, a valid config
// whose source holds known people, the records a full read must return, and a config
// with a mistake in one named attribute.
package connectortest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hashicorp/go-plugin"

	"github.com/peoplesync/peoplesync/sdk/connector"
	"github.com/peoplesync/peoplesync/sdk/protocol"
)

// Harness is what a connector's test gives the suite.
type Harness struct {
	// New returns a fresh, unconfigured connector. It is called once per case.
	New func(t *testing.T) connector.Connector
	// Config is a valid config whose source holds the people in Want.
	Config json.RawMessage
	// Want are the records a full read with Config returns, in any order. It needs at
	// least two records (the emit-error and cancel cases stop after the first).
	Want []connector.Record
	// BadConfig is a config with a mistake a person could make.
	BadConfig json.RawMessage
	// BadAttribute is the config attribute the diagnostic for BadConfig must name.
	BadAttribute string
	// BadRecords, if set, is a source that holds records the connector cannot read: an
	// export with broken rows, a directory entry without its ID attribute. Connectors
	// that can meet such records should set it.
	BadRecords *BadSource
}

// BadSource is a source with records a connector cannot read. A full read of it must
// succeed, emitting the good records as usual and one Invalid record for each bad one,
// so that one bad row neither stops the sync of everyone else nor looks like a person
// who left.
type BadSource struct {
	// Config is a valid config that reads the source.
	Config json.RawMessage
	// Valid are the records the read returns as usual, in any order.
	Valid []connector.Record
	// Invalid are the Invalid records the read returns, in any order: each ID ("" for a
	// record whose ID cannot be read) and a text its Problem must contain (a file and
	// line, say).
	Invalid []connector.Record
}

// Run runs every case of the suite, in process and over gRPC.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil || len(h.Config) == 0 || len(h.BadConfig) == 0 || h.BadAttribute == "" {
		t.Fatal("connectortest: Harness needs New, Config, BadConfig and BadAttribute")
	}
	if len(h.Want) < 2 {
		t.Fatalf("connectortest: Harness.Want has %d records; the suite needs at least 2", len(h.Want))
	}
	transports := []struct {
		name string
		wrap func(t *testing.T, c connector.Connector) connector.Connector
	}{
		{"inprocess", func(_ *testing.T, c connector.Connector) connector.Connector { return c }},
		{"grpc", overGRPC},
	}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					c.run(t, h, func(t *testing.T) connector.Connector { return tr.wrap(t, h.New(t)) })
				})
			}
		})
	}
}

// overGRPC serves c over a real gRPC connection in this process and returns the client
// side, as the engine would see a plugin.
func overGRPC(t *testing.T, c connector.Connector) connector.Connector {
	t.Helper()
	// Closing the client shuts the server down through go-plugin's controller.
	client, _ := plugin.TestPluginGRPCConn(t, false, protocol.PluginSet(c))
	t.Cleanup(func() { _ = client.Close() })
	raw, err := client.Dispense(protocol.PluginName)
	if err != nil {
		t.Fatalf("dispensing the connector over gRPC: %v", err)
	}
	conn, ok := raw.(connector.Connector)
	if !ok {
		t.Fatalf("dispensed %T, not a connector.Connector", raw)
	}
	return conn
}

type testCase struct {
	name string
	run  func(t *testing.T, h Harness, newConn func(*testing.T) connector.Connector)
}

var cases = []testCase{
	{"Describe", testDescribe},
	{"ConfigureBad", testConfigureBad},
	{"NotConfigured", testNotConfigured},
	{"Check", testCheck},
	{"FullRead", testFullRead},
	{"RawRead", testRawRead},
	{"EmitErrorStopsRead", testEmitError},
	{"CancelStopsRead", testCancel},
	{"CancelledBeforeRead", testCancelledBefore},
	{"RepeatableRead", testRepeatable},
	{"DeltaWithoutCapability", testDeltaWithoutCapability},
	{"BadRecords", testBadRecords},
}

var validTypes = []connector.Type{
	connector.String, connector.Number, connector.Bool, connector.StringList, connector.StringMap,
}

func testDescribe(t *testing.T, h Harness, newConn func(*testing.T) connector.Connector) {
	d, err := newConn(t).Describe(t.Context())
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if d.Name == "" {
		t.Error("Describe: empty Name")
	}
	if len(d.Schema.Attributes) == 0 {
		t.Error("Describe: the schema has no attributes")
	}
	seen := map[string]bool{}
	for _, a := range d.Schema.Attributes {
		if a.Name == "" {
			t.Error("Describe: a schema attribute has no name")
		}
		if seen[a.Name] {
			t.Errorf("Describe: attribute %q appears twice", a.Name)
		}
		seen[a.Name] = true
		if !slices.Contains(validTypes, a.Type) {
			t.Errorf("Describe: attribute %q has type %q, want one of %v", a.Name, a.Type, validTypes)
		}
	}
	if !seen[h.BadAttribute] {
		t.Errorf("Describe: Harness.BadAttribute %q is not in the schema", h.BadAttribute)
	}
}

func testConfigureBad(t *testing.T, h Harness, newConn func(*testing.T) connector.Connector) {
	diags, err := newConn(t).Configure(t.Context(), h.BadConfig)
	if err != nil {
		t.Fatalf("Configure(BadConfig) returned an error instead of diagnostics: %v", err)
	}
	if !diags.HasErrors() {
		t.Fatalf("Configure(BadConfig): no error diagnostic; got %+v", diags)
	}
	for _, d := range diags {
		if d.Severity == connector.Error && d.Attribute == h.BadAttribute {
			if d.Summary == "" {
				t.Errorf("Configure(BadConfig): diagnostic for %q has no summary", h.BadAttribute)
			}
			return
		}
	}
	t.Errorf("Configure(BadConfig): no error diagnostic names attribute %q; got %+v", h.BadAttribute, diags)
}

func testNotConfigured(t *testing.T, _ Harness, newConn func(*testing.T) connector.Connector) {
	c := newConn(t)
	if err := c.Check(t.Context()); !errors.Is(err, connector.ErrNotConfigured) {
		t.Errorf("Check before Configure = %v, want ErrNotConfigured", err)
	}
	_, err := c.Read(t.Context(), connector.ReadRequest{}, func(connector.Record) error { return nil })
	if !errors.Is(err, connector.ErrNotConfigured) {
		t.Errorf("Read before Configure = %v, want ErrNotConfigured", err)
	}
}

// configured returns a connector configured with h.Config.
func configured(t *testing.T, h Harness, newConn func(*testing.T) connector.Connector) connector.Connector {
	t.Helper()
	c := newConn(t)
	diags, err := c.Configure(t.Context(), h.Config)
	if err != nil {
		t.Fatalf("Configure(Config): %v", err)
	}
	if diags.HasErrors() {
		t.Fatalf("Configure(Config): %+v", diags)
	}
	return c
}

func testCheck(t *testing.T, h Harness, newConn func(*testing.T) connector.Connector) {
	if err := configured(t, h, newConn).Check(t.Context()); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

// readAll reads everything and checks the invariants of a complete read.
func readAll(t *testing.T, c connector.Connector) []connector.Record {
	t.Helper()
	var got []connector.Record
	res, err := c.Read(t.Context(), connector.ReadRequest{Mode: connector.Full}, func(r connector.Record) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if res.Count != int64(len(got)) {
		t.Errorf("Read: ReadResult.Count = %d, but %d records were emitted", res.Count, len(got))
	}
	checkFullRead(t, got)
	return got
}

// checkFullRead checks the records of a full read: Upsert records with an ID each, no
// ID twice, text that is UTF-8 without NUL bytes (anything else must come as an Invalid
// record), and Invalid records that say what is wrong and carry nothing else.
func checkFullRead(t *testing.T, got []connector.Record) {
	t.Helper()
	ids := map[string]bool{}
	for _, r := range got {
		switch r.Kind {
		case connector.Invalid:
			if r.Problem == "" {
				t.Errorf("Read: Invalid record %q has no Problem", r.ID)
			}
			if len(r.Attributes) > 0 || len(r.Binary) > 0 {
				t.Errorf("Read: Invalid record %q carries attributes", r.ID)
			}
			if r.ID == "" {
				continue
			}
		case connector.Upsert:
			if r.ID == "" {
				t.Errorf("Read: record with DN %q has an empty ID; a record without its ID must be Invalid", r.DN)
			}
			if r.Problem != "" {
				t.Errorf("Read: record %q is not Invalid but has a Problem", r.ID)
			}
			for name, vs := range r.Attributes {
				for _, v := range vs {
					if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
						t.Errorf("Read: record %q: attribute %s holds %q, not UTF-8 text without NUL; such a record must be Invalid", r.ID, name, v)
					}
				}
			}
		default:
			t.Errorf("Read: record %q of a full read has kind %d, want Upsert or Invalid", r.ID, r.Kind)
		}
		if ids[r.ID] {
			t.Errorf("Read: ID %q emitted twice; records that share an ID must all be Invalid", r.ID)
		}
		ids[r.ID] = true
	}
}

// testBadRecords: a source with bad records reads completely, the good records as usual
// and each bad one as an Invalid record.
func testBadRecords(t *testing.T, h Harness, newConn func(*testing.T) connector.Connector) {
	if h.BadRecords == nil {
		t.Skip("the harness has no source with bad records")
	}
	c := newConn(t)
	diags, err := c.Configure(t.Context(), h.BadRecords.Config)
	if err != nil || diags.HasErrors() {
		t.Fatalf("Configure(BadRecords.Config): %v %+v", err, diags)
	}
	var got []connector.Record
	res, err := c.Read(t.Context(), connector.ReadRequest{Mode: connector.Full}, func(r connector.Record) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatalf("Read of a source with bad records failed, instead of reporting them as Invalid records: %v", err)
	}
	if res.Count != int64(len(got)) {
		t.Errorf("Read: ReadResult.Count = %d, but %d records were emitted", res.Count, len(got))
	}
	var valid, invalid []connector.Record
	for _, r := range got {
		if r.Kind == connector.Invalid {
			invalid = append(invalid, r)
		} else {
			valid = append(valid, r)
		}
	}
	// Two bad records may share an ID (a duplicate): check them as a multiset.
	checkFullRead(t, valid)
	if diff := Diff(h.BadRecords.Valid, valid); diff != "" {
		t.Errorf("Read returned other good records than BadRecords.Valid:\n%s", diff)
	}
	for _, r := range invalid {
		if r.ID != "" && slices.ContainsFunc(valid, func(v connector.Record) bool { return v.ID == r.ID }) {
			t.Errorf("ID %q came as a good record and as an Invalid one; records that share an ID must all be Invalid", r.ID)
		}
	}
	left := slices.Clone(invalid)
	for _, want := range h.BadRecords.Invalid {
		i := slices.IndexFunc(left, func(r connector.Record) bool {
			return r.ID == want.ID && strings.Contains(r.Problem, want.Problem)
		})
		if i < 0 {
			t.Errorf("no Invalid record with ID %q and a Problem containing %q", want.ID, want.Problem)
			continue
		}
		left = slices.Delete(left, i, i+1)
	}
	for _, r := range left {
		t.Errorf("unexpected Invalid record %q: %s", r.ID, r.Problem)
	}
	for _, r := range invalid {
		if r.Problem == "" || len(r.Attributes) > 0 || len(r.Binary) > 0 {
			t.Errorf("Invalid record %q: Problem %q and %d attributes; want a Problem and no attributes", r.ID, r.Problem, len(r.Attributes)+len(r.Binary))
		}
	}
}

func testFullRead(t *testing.T, h Harness, newConn func(*testing.T) connector.Connector) {
	got := readAll(t, configured(t, h, newConn))
	if diff := Diff(h.Want, got); diff != "" {
		t.Errorf("Read returned other records than Want:\n%s", diff)
	}
}

// testRawRead: a connector that hands over raw batches (the engine's side of the plugin
// protocol) yields the records Read does, and each record's canonical form from the
// batch is that of the decoded record. Connectors read in process skip it.
func testRawRead(t *testing.T, h Harness, newConn func(*testing.T) connector.Connector) {
	c := configured(t, h, newConn)
	rr, ok := c.(protocol.RawReader)
	if !ok {
		t.Skip("the connector hands over records, not raw batches")
	}
	var got []connector.Record
	var fromRaw, fromRecord protocol.Canonicalizer
	res, err := rr.ReadRaw(t.Context(), connector.ReadRequest{Mode: connector.Full}, func(b *protocol.RawBatch) error {
		for i := range b.Len() {
			r, err := b.Record(i)
			if err != nil {
				return err
			}
			if b.ID(i) != r.ID || b.Kind(i) != r.Kind {
				t.Errorf("ReadRaw: record %d: ID %q kind %d, decoded %q kind %d", i, b.ID(i), b.Kind(i), r.ID, r.Kind)
			}
			if raw, rec := fromRaw.AppendRaw(nil, b, i), fromRecord.AppendRecord(nil, &r); string(raw) != string(rec) {
				t.Errorf("ReadRaw: record %q: canonical form from the batch differs from the record's", r.ID)
			}
			got = append(got, r)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ReadRaw: %v", err)
	}
	if res.Count != int64(len(got)) {
		t.Errorf("ReadRaw: ReadResult.Count = %d, but %d records arrived", res.Count, len(got))
	}
	if diff := Diff(h.Want, got); diff != "" {
		t.Errorf("ReadRaw returned other records than Want:\n%s", diff)
	}
}

func testEmitError(t *testing.T, h Harness, newConn func(*testing.T) connector.Connector) {
	c := configured(t, h, newConn)
	stop := errors.New("connectortest: emit says stop")
	calls := 0
	_, err := c.Read(t.Context(), connector.ReadRequest{}, func(connector.Record) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) {
		t.Errorf("Read with a failing emit = %v, want the emit's error", err)
	}
	if calls != 1 {
		t.Errorf("emit was called %d times; the read must stop at its first error", calls)
	}
}

func testCancel(t *testing.T, h Harness, newConn func(*testing.T) connector.Connector) {
	c := configured(t, h, newConn)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	calls := 0
	_, err := c.Read(ctx, connector.ReadRequest{}, func(connector.Record) error {
		calls++
		cancel()
		return nil
	})
	if err == nil {
		t.Fatal("Read went on to complete after its context was cancelled")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Read after cancel = %v, want an error wrapping context.Canceled", err)
	}
	if calls != 1 {
		t.Errorf("emit was called %d times after the context was cancelled at the first record", calls-1)
	}
}

func testCancelledBefore(t *testing.T, h Harness, newConn func(*testing.T) connector.Connector) {
	c := configured(t, h, newConn)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := 0
	_, err := c.Read(ctx, connector.ReadRequest{}, func(connector.Record) error {
		calls++
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Read with a cancelled context = %v, want an error wrapping context.Canceled", err)
	}
	if calls != 0 {
		t.Errorf("Read with a cancelled context emitted %d records", calls)
	}
}

func testRepeatable(t *testing.T, h Harness, newConn func(*testing.T) connector.Connector) {
	c := configured(t, h, newConn)
	first := readAll(t, c)
	second := readAll(t, c)
	if diff := Diff(first, second); diff != "" {
		t.Errorf("two reads of an unchanged source differ:\n%s", diff)
	}
}

func testDeltaWithoutCapability(t *testing.T, h Harness, newConn func(*testing.T) connector.Connector) {
	c := configured(t, h, newConn)
	d, err := c.Describe(t.Context())
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if d.Capabilities.Delta {
		t.Skip("the connector serves delta reads")
	}
	_, err = c.Read(t.Context(), connector.ReadRequest{Mode: connector.Delta}, func(connector.Record) error { return nil })
	if err == nil {
		t.Error("a connector without the Delta capability accepted a Delta read")
	}
}

// Diff compares two sets of records by ID, DN, attributes and binary attributes,
// ignoring order (of records, not of values), and describes the differences; it returns
// "" when they are equal. An attribute with no values counts as absent.
func Diff(want, got []connector.Record) string {
	var b strings.Builder
	byID := func(rs []connector.Record) map[string]connector.Record {
		m := make(map[string]connector.Record, len(rs))
		for _, r := range rs {
			if _, dup := m[r.ID]; dup {
				fmt.Fprintf(&b, "ID %q appears more than once\n", r.ID)
			}
			m[r.ID] = r
		}
		return m
	}
	w, g := byID(want), byID(got)
	for _, id := range sortedKeys(w) {
		gr, ok := g[id]
		if !ok {
			fmt.Fprintf(&b, "missing record %q (DN %q)\n", id, w[id].DN)
			continue
		}
		diffRecord(&b, w[id], gr)
	}
	for _, id := range sortedKeys(g) {
		if _, ok := w[id]; !ok {
			fmt.Fprintf(&b, "unexpected record %q (DN %q)\n", id, g[id].DN)
		}
	}
	return b.String()
}

func diffRecord(b *strings.Builder, want, got connector.Record) {
	if want.DN != got.DN {
		fmt.Fprintf(b, "record %q: DN = %q, want %q\n", want.ID, got.DN, want.DN)
	}
	wa, ga := nonEmpty(want.Attributes), nonEmpty(got.Attributes)
	for _, name := range union(wa, ga) {
		if !slices.Equal(wa[name], ga[name]) {
			fmt.Fprintf(b, "record %q: attribute %q = %q, want %q\n", want.ID, name, ga[name], wa[name])
		}
	}
	wb, gb := nonEmpty(want.Binary), nonEmpty(got.Binary)
	for _, name := range union(wb, gb) {
		if !slices.EqualFunc(wb[name], gb[name], bytes.Equal) {
			fmt.Fprintf(b, "record %q: binary attribute %q differs: %d values (%d bytes), want %d values (%d bytes)\n",
				want.ID, name, len(gb[name]), totalLen(gb[name]), len(wb[name]), totalLen(wb[name]))
		}
	}
}

func nonEmpty[V any](m map[string][]V) map[string][]V {
	out := make(map[string][]V, len(m))
	for k, v := range m {
		if len(v) > 0 {
			out[k] = v
		}
	}
	return out
}

func union[V any](a, b map[string]V) []string {
	keys := sortedKeys(a)
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func totalLen(vs [][]byte) int {
	n := 0
	for _, v := range vs {
		n += len(v)
	}
	return n
}
