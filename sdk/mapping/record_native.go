//go:build !wasip1

package mapping

import "github.com/peoplesync/peoplesync/sdk/connector"

// NewRecord returns the Record a mapping would see for rec, so that a mapping function can
// be tested natively. It is not part of a WASM build, which must not import sdk/connector.
// Each Record has its own name table: NewRecord is for tests, not for speed.
func NewRecord(rec connector.Record) *Record {
	t := newNameTable()
	t.next()
	for name, vals := range rec.Attributes {
		t.setText(t.slotOf(name), vals)
	}
	for name, vals := range rec.Binary {
		t.setBinary(t.slotOf(name), vals)
	}
	return &Record{ID: rec.ID, DN: rec.DN, Kind: ChangeKind(rec.Kind), tab: t}
}
