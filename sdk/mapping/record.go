package mapping

import (
	"strings"
	"unsafe"

	"github.com/peoplesync/peoplesync/sdk/mapping/wire"
)

// ChangeKind says what a record means for the person it names. Its values are those of
// connector.ChangeKind, which a guest does not import (sdk/connector carries the
// connector protocol's gRPC code, too heavy for a WASM module).
type ChangeKind uint8

const (
	// Upsert: the person exists in the source with these attributes.
	Upsert ChangeKind = 0
	// Delete: the source reports the person deleted (delta reads only).
	Delete ChangeKind = 1
)

// Record is one source record as a mapping sees it. Attribute names are case-insensitive,
// as LDAP's are: First("givenname") finds "givenName".
//
// A Record and the values it returns are valid during the call to the mapping function;
// byte values in particular alias the host's input buffer. Copy what must outlive it. A
// Record is not safe for concurrent use (lookups update a cache), and the zero Record has
// no attributes: tests build Records with NewRecord.
type Record struct {
	// ID is the record's stable external ID.
	ID string
	// DN is the record's distinguished name or other locator; it may be empty.
	DN string
	// Kind is Upsert, or Delete for a delta read's deletion.
	Kind ChangeKind

	tab *nameTable
}

// A guest maps records at tens of thousands per second, so a Record is no map of its
// own: attribute names are numbered once in a nameTable (per instance), and a record's
// values live in the table's slots, stamped with the record's generation. Filling a record
// costs no hashing (names arrive numbered per batch, see package wire) and a lookup costs
// one probe of a cache keyed by the address of the name, which in mapping code is almost
// always a constant.
type nameTable struct {
	gen   uint32
	slots []slot
	ids   map[string]int32 // any spelling of a name → its slot
	quick [1024]quickEntry // by the address of a looked-up name
	batch []int32          // the current batch's name numbers → slots
}

type slot struct {
	name    string // lower-cased
	textGen uint32
	binGen  uint32
	text    []string
	binary  [][]byte
}

type quickEntry struct {
	name string // holds the string alive, so its address cannot be reused
	slot int32
}

// maxSlots bounds the table against sources with unbounded attribute names; past it the
// table starts afresh with the next batch.
const maxSlots = 8192

func newNameTable() *nameTable {
	return &nameTable{ids: make(map[string]int32), gen: 1}
}

// next starts a new record: values stamped with older generations no longer count.
func (t *nameTable) next() {
	t.gen++
	if t.gen == 0 { // wrapped: clear every stamp
		for i := range t.slots {
			t.slots[i].textGen, t.slots[i].binGen = 0, 0
		}
		t.gen = 1
	}
}

// startBatch forgets the previous batch's name numbering.
func (t *nameTable) startBatch() {
	t.batch = t.batch[:0]
	if len(t.slots) > maxSlots {
		*t = nameTable{ids: make(map[string]int32), gen: 1, batch: t.batch}
	}
}

// slotOf returns the slot of name in any spelling, creating it.
func (t *nameTable) slotOf(name string) int32 {
	if id, ok := t.ids[name]; ok {
		return id
	}
	name = strings.Clone(name) // the table must not pin the batch the name came from
	folded := strings.ToLower(name)
	id, ok := t.ids[folded]
	if !ok {
		id = int32(len(t.slots))
		t.slots = append(t.slots, slot{name: folded})
		t.ids[folded] = id
	}
	t.ids[name] = id
	return id
}

// lookup returns the slot of a name a mapping asks for (text has its own copy of the fast
// path: calls are costly in a WASM guest).
func (t *nameTable) lookup(name string) int32 {
	p := uint64(uintptr(unsafe.Pointer(unsafe.StringData(name)))) + uint64(len(name))
	e := &t.quick[(p*0x9E3779B97F4A7C15)>>(64-10)]
	if len(e.name) == len(name) && unsafe.StringData(e.name) == unsafe.StringData(name) && len(name) > 0 {
		return e.slot
	}
	return t.lookupSlow(name, e)
}

// lookupSlow resolves a name the quick cache missed and caches it in e.
func (t *nameTable) lookupSlow(name string, e *quickEntry) int32 {
	id := t.slotOf(name)
	*e = quickEntry{name: name, slot: id}
	return id
}

// batchSlot returns the slot of the batch's name number i.
func (t *nameTable) batchSlot(dec *wire.RecordDecoder, i int) int32 {
	if i < len(t.batch) && t.batch[i] >= 0 {
		return t.batch[i]
	}
	return t.newBatchSlot(dec, i)
}

// newBatchSlot resolves the batch's name number i the first time a record has it.
func (t *nameTable) newBatchSlot(dec *wire.RecordDecoder, i int) int32 {
	for len(t.batch) <= i {
		t.batch = append(t.batch, -1)
	}
	if t.batch[i] < 0 {
		t.batch[i] = t.slotOf(dec.Name(i))
	}
	return t.batch[i]
}

// setText adds values to a slot for the current record.
func (t *nameTable) setText(id int32, values []string) {
	s := &t.slots[id]
	if s.textGen == t.gen { // the same name in two spellings
		s.text = append(s.text[:len(s.text):len(s.text)], values...)
		return
	}
	s.textGen, s.text = t.gen, values
}

func (t *nameTable) setBinary(id int32, values [][]byte) {
	s := &t.slots[id]
	if s.binGen == t.gen {
		s.binary = append(s.binary[:len(s.binary):len(s.binary)], values...)
		return
	}
	s.binGen, s.binary = t.gen, values
}

// First returns the first value of the text attribute name, or "".
func (r *Record) First(name string) string {
	if v := r.tab.text(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// All returns the values of the text attribute name, or nil. Do not modify them.
func (r *Record) All(name string) []string {
	return r.tab.text(name)
}

// text returns the current record's values of the text attribute name, or nil; a nil
// table has none. It is All and First in one call.
func (t *nameTable) text(name string) []string {
	if t == nil {
		return nil
	}
	p := uint64(uintptr(unsafe.Pointer(unsafe.StringData(name)))) + uint64(len(name))
	e := &t.quick[(p*0x9E3779B97F4A7C15)>>(64-10)]
	id := e.slot
	if len(e.name) != len(name) || unsafe.StringData(e.name) != unsafe.StringData(name) || len(name) == 0 {
		id = t.lookupSlow(name, e)
	}
	if s := &t.slots[id]; s.textGen == t.gen {
		return s.text
	}
	return nil
}

// Bytes returns the first value of the binary attribute name, or nil.
func (r *Record) Bytes(name string) []byte {
	if v := r.AllBytes(name); len(v) > 0 {
		return v[0]
	}
	return nil
}

// AllBytes returns the values of the binary attribute name, or nil.
func (r *Record) AllBytes(name string) [][]byte {
	if r.tab == nil {
		return nil
	}
	s := &r.tab.slots[r.tab.lookup(name)]
	if s.binGen != r.tab.gen {
		return nil
	}
	return s.binary
}

// Has reports whether the record has the attribute name, text or binary.
func (r *Record) Has(name string) bool {
	if r.tab == nil {
		return false
	}
	s := &r.tab.slots[r.tab.lookup(name)]
	return s.textGen == r.tab.gen || s.binGen == r.tab.gen
}

// Names returns the lower-cased names of the record's text attributes, in no particular
// order.
func (r *Record) Names() []string {
	var names []string
	if r.tab == nil {
		return nil
	}
	for i := range r.tab.slots {
		if s := &r.tab.slots[i]; s.textGen == r.tab.gen {
			names = append(names, s.name)
		}
	}
	return names
}

// recordFiller fills a Record from a wire decoder: the wire.Visitor of a guest.
type recordFiller struct {
	dec *wire.RecordDecoder
	tab *nameTable
}

func (f *recordFiller) Text(name int, values []string) {
	f.tab.setText(f.tab.batchSlot(f.dec, name), values)
}

func (f *recordFiller) Binary(name int, values [][]byte) {
	f.tab.setBinary(f.tab.batchSlot(f.dec, name), values)
}
