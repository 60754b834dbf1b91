package ldap

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// binaryAttributes are read as bytes; so is any attribute with the ;binary option and any
// value that is not UTF-8.
var binaryAttributes = []string{"jpegphoto", "thumbnailphoto", "objectguid", "objectsid"}

// Cursor prefixes: a delta cursor says which mechanism made it.
const (
	cursorTimestamp = "modifyTimestamp:"
	cursorUSN       = "uSNChanged:"
)

// flavorAttrs are the ID and change-tracking attributes of a flavor.
type flavorAttrs struct {
	id     string
	change string
}

func attrsOf(flavor string) flavorAttrs {
	if flavor == flavorAD {
		return flavorAttrs{id: "objectGUID", change: "uSNChanged"}
	}
	return flavorAttrs{id: "entryUUID", change: "modifyTimestamp"}
}

// Read streams every person in scope (Full) or every person changed since req.Cursor
// (Delta) as Upsert records, and returns the cursor for the next delta read.
func (c *Connector) Read(ctx context.Context, req connector.ReadRequest, emit connector.EmitFunc) (connector.ReadResult, error) {
	return c.ReadTo(ctx, req, connector.NewRecordWriter(emit))
}

// ReadTo is Read, writing each entry to w: served as a plugin, straight from the LDAP
// message into the batch on its way to the engine.
func (c *Connector) ReadTo(ctx context.Context, req connector.ReadRequest, w *connector.RecordWriter) (connector.ReadResult, error) {
	cfg, err := c.config()
	if err != nil {
		return connector.ReadResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return connector.ReadResult{}, fmt.Errorf("ldap connector: read: %w", err)
	}
	conn, err := dial(ctx, cfg)
	if err != nil {
		return connector.ReadResult{}, err
	}
	defer conn.Close()
	dse, err := rootDSE(ctx, conn)
	if err != nil {
		return connector.ReadResult{}, err
	}
	conn.Close() // the search runs on a connection of its own (see wire.go)
	flavor := c.resolveFlavor(cfg, dse)
	fa := attrsOf(flavor)
	filter := filterFor(cfg, flavor)

	// The AD cursor is the USN when the read began: every later change has a higher one.
	var startUSN int64
	if flavor == flavorAD {
		if startUSN, err = strconv.ParseInt(dse.GetAttributeValue("highestCommittedUSN"), 10, 64); err != nil {
			return connector.ReadResult{}, fmt.Errorf("ldap connector: the root DSE has no valid highestCommittedUSN: %w", err)
		}
	}
	if req.Mode == connector.Delta {
		if filter, err = deltaFilter(filter, flavor, req.Cursor); err != nil {
			return connector.ReadResult{}, err
		}
	}

	r := &reader{cfg: cfg, fa: fa, idLower: strings.ToLower(fa.id), w: w}
	r.plan()
	defer r.close()
	if err := r.search(ctx, filter); err != nil {
		return connector.ReadResult{}, err
	}
	if r.noID > 0 && r.noID == r.count {
		// Not one bad entry but a read that cannot identify anyone: a wrong flavor, or
		// an account that may not read the ID attribute at all. That is the config's
		// fault, and the read fails as a whole.
		return connector.ReadResult{}, fmt.Errorf("ldap connector: none of the %d entries has %s (is flavor right, and may the bind account read %s?): %w",
			r.count, r.fa.id, r.fa.id, ErrIncomplete)
	}
	res := connector.ReadResult{Count: r.count}
	switch {
	case flavor == flavorAD:
		res.Cursor = cursorUSN + strconv.FormatInt(startUSN, 10)
	case r.maxTimestamp != "":
		res.Cursor = cursorTimestamp + r.maxTimestamp
	case req.Mode == connector.Delta:
		res.Cursor = req.Cursor // nothing changed: start from the same place next time
	}
	return res, nil
}

// deltaFilter narrows filter to the entries changed since cursor.
func deltaFilter(filter, flavor, cursor string) (string, error) {
	if cursor == "" {
		return "", fmt.Errorf("ldap connector: %w: a delta read needs the cursor of a previous read", ErrCursor)
	}
	switch flavor {
	case flavorAD:
		v, ok := strings.CutPrefix(cursor, cursorUSN)
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil {
			return "", fmt.Errorf("ldap connector: %w: %q is not an Active Directory uSNChanged cursor", ErrCursor, cursor)
		}
		return fmt.Sprintf("(&%s(uSNChanged>=%d))", filter, n+1), nil
	default:
		v, ok := strings.CutPrefix(cursor, cursorTimestamp)
		if !ok || !isGeneralizedTime(v) {
			return "", fmt.Errorf("ldap connector: %w: %q is not a modifyTimestamp cursor", ErrCursor, cursor)
		}
		// Strictly after the cursor. Timestamps have one-second resolution: a change made
		// after a read in the same second as the newest entry it saw waits for the next
		// full read (>= would instead re-read every entry of that second, after a bulk
		// load the whole directory).
		return fmt.Sprintf("(&%s(!(modifyTimestamp<=%s)))", filter, v), nil
	}
}

func isGeneralizedTime(s string) bool {
	if len(s) < 15 || !strings.HasSuffix(s, "Z") {
		return false
	}
	for _, r := range s[:14] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// reader is one read in progress.
type reader struct {
	cfg     *config
	fa      flavorAttrs
	idLower string
	w       *connector.RecordWriter

	entry wireEntry           // the entry being converted, reused
	kept  []keptAttr          // its text attributes, reused
	names map[string]attrName // attribute names seen, so that records share their keys
	// byPosition are the names of the previous entry's attributes, in order. A
	// directory returns its entries' attributes in much the same order, so comparing
	// with the name at the same position spares most lookups in names.
	byPosition []attrName

	// request are the attributes asked for; strip are those asked for only for
	// bookkeeping, left out of records.
	request []string
	strip   map[string]bool

	rangeConn    *goldap.Conn // second connection for range retrieval, opened on demand
	count        int64
	noID         int64 // entries written as Invalid for want of their ID
	maxTimestamp string
}

// plan works out which attributes to request.
func (r *reader) plan() {
	r.request = slices.Clone(r.cfg.attributes)
	r.strip = map[string]bool{}
	asked := func(name string) bool {
		return slices.ContainsFunc(r.request, func(a string) bool { return strings.EqualFold(a, name) || a == "+" })
	}
	// The ID attribute stays in the record (the mapping may want it); the change
	// attribute is bookkeeping that would only churn the profile's attributes.
	if !asked(r.fa.id) {
		r.request = append(r.request, r.fa.id)
	}
	if !asked(r.fa.change) {
		r.request = append(r.request, r.fa.change)
		r.strip[strings.ToLower(r.fa.change)] = true
	}
}

func (r *reader) close() {
	if r.rangeConn != nil {
		r.rangeConn.Close()
	}
}

// search runs the paged search on a connection of the lean client, emitting each entry as
// it arrives.
func (r *reader) search(ctx context.Context, filter string) error {
	compiled, err := goldap.CompileFilter(filter)
	if err != nil {
		return searchError(ctx, r.cfg, "search", goldap.NewError(goldap.LDAPResultFilterError, err))
	}
	filterBER := compiled.Bytes()
	w, err := dialWire(ctx, r.cfg)
	if err != nil {
		return err
	}
	defer w.Close()
	// Cancelling the read unblocks a pending network read at once.
	stop := context.AfterFunc(ctx, func() { _ = w.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	var cookie []byte
	for page := 1; ; page++ {
		if err := w.searchPage(r.cfg, filterBER, r.request, cookie); err != nil {
			return searchError(ctx, r.cfg, fmt.Sprintf("search page %d", page), err)
		}
		next, err := r.page(ctx, w, page)
		if err != nil {
			return err
		}
		if len(next) == 0 {
			return nil
		}
		cookie = append(cookie[:0], next...)
	}
}

// page reads one page's responses and returns the cookie for the next one (empty after
// the last). The cookie aliases the connection's buffer.
func (r *reader) page(ctx context.Context, w *wireConn, page int) ([]byte, error) {
	what := fmt.Sprintf("search page %d", page)
	for {
		op, body, controls, err := w.read()
		if err != nil {
			return nil, searchError(ctx, r.cfg, what, err)
		}
		switch op {
		case tagSearchEntry:
			if err := decodeEntry(body, &r.entry); err != nil {
				return nil, searchError(ctx, r.cfg, what, goldap.NewError(goldap.ErrorNetwork, err))
			}
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("ldap connector: read: %w", err)
			}
			if err := r.write(ctx, &r.entry); err != nil {
				return nil, err
			}
			r.count++
		case tagSearchReference:
			d := decoder{b: body}
			_, uri := d.next()
			return nil, fmt.Errorf("ldap connector: %s: %w: the server returned a referral to %s, which the connector does not follow; set base_dn to the subtree that holds the people",
				what, ErrIncomplete, uri)
		case tagSearchDone:
			if err := resultError(body); err != nil {
				return nil, searchError(ctx, r.cfg, what, err)
			}
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("ldap connector: read: %w", err)
			}
			cookie, ok := pagingCookie(controls)
			if !ok {
				return nil, fmt.Errorf("ldap connector: %s: %w: the result carries no paging control (the server ignored paging, or the connection closed)", what, ErrIncomplete)
			}
			return cookie, nil
		default:
			return nil, searchError(ctx, r.cfg, what, goldap.NewError(goldap.ErrorUnexpectedResponse,
				fmt.Errorf("%w: message type %#x in a search", errMalformed, op)))
		}
	}
}

// attrName is an attribute name as the record keys it, and its lower case.
type attrName struct {
	name, lower string
	// What record asks of every attribute of every entry, worked out once per name:
	// whether it is range-retrieved, binary by its name, or stripped from records.
	ranged, binary, strip bool
}

// maxNames bounds the reader's cache of attribute names.
const maxNames = 1024

// nameOf returns the attribute name for b, without allocating for names seen before.
func (r *reader) nameOf(b []byte) attrName {
	if n, ok := r.names[string(b)]; ok {
		return n
	}
	n := attrName{name: string(b)}
	n.lower = strings.ToLower(n.name)
	n.ranged = strings.Contains(n.lower, ";range=")
	n.binary = binaryName(n.lower)
	n.strip = r.strip[n.lower]
	if r.names == nil {
		r.names = map[string]attrName{}
	}
	if len(r.names) < maxNames {
		r.names[n.name] = n
	}
	return n
}

// nameAt returns the attribute name for b, the name of the entry's attribute at
// position i.
func (r *reader) nameAt(i int, b []byte) attrName {
	if i < len(r.byPosition) && r.byPosition[i].name == string(b) {
		return r.byPosition[i]
	}
	n := r.nameOf(b)
	switch {
	case i < len(r.byPosition):
		r.byPosition[i] = n
	case i == len(r.byPosition) && i < maxNames:
		r.byPosition = append(r.byPosition, n)
	}
	return n
}

// write hands an entry to the record writer, completing range-retrieved attributes.
// The writer is done with the entry's bytes when write returns, before the next message
// overwrites them.
func (r *reader) write(ctx context.Context, e *wireEntry) error {
	r.kept = r.kept[:0]
	id := ""
	for i, a := range e.attrs {
		n, values := r.nameAt(i, a.name), a.values
		if n.ranged {
			if base, lo, hi, ok := parseRange(n.name); ok {
				more, err := r.rangeRest(ctx, string(e.dn), base, lo, hi, len(values))
				if err != nil {
					return err
				}
				n, values = r.nameOf([]byte(base)), append(slices.Clip(values), more...)
			}
		}
		switch n.lower {
		case r.idLower:
			var err error
			if id, err = r.id(values); err != nil {
				return r.writeInvalid(e.dn, fmt.Sprintf("entry %q: %v", e.dn, err))
			}
		case "modifytimestamp":
			if len(values) > 0 && r.fa.change == "modifyTimestamp" {
				if string(values[0]) > r.maxTimestamp {
					r.maxTimestamp = string(values[0])
				}
			}
		}
		if n.strip {
			continue
		}
		r.kept = append(r.kept, keptAttr{attrName: n, values: values, binary: n.binary || !allUTF8(values)})
	}
	if id == "" {
		// One entry the service account may not fully read must not stop everyone
		// else's sync: it is a record error, and as nobody can tell whose entry it is,
		// the run deletes nobody.
		return r.writeInvalid(e.dn, fmt.Sprintf("entry %q has no %s (may the bind account read it?)", e.dn, r.fa.id))
	}
	err := r.writeKept(id, e.dn)
	if errors.Is(err, connector.ErrRepeatedName) {
		// A name that came twice (a range-retrieved attribute and its base name, or a
		// server's quirk): the values go together under the first.
		r.kept = mergeKept(r.kept)
		err = r.writeKept(id, e.dn)
	}
	return err
}

// writeKept writes the record of the kept attributes.
func (r *reader) writeKept(id string, dn []byte) error {
	w := r.w
	w.Begin(connector.Upsert)
	w.SetDN(dn)
	for _, k := range r.kept {
		if k.binary {
			w.Binary(k.name, k.values)
		} else {
			w.Text(k.name, k.values)
		}
	}
	w.SetID(id)
	return w.End()
}

// writeInvalid writes an Invalid record without an ID for the entry at dn.
func (r *reader) writeInvalid(dn []byte, problem string) error {
	r.noID++
	w := r.w
	w.Begin(connector.Invalid)
	w.SetDN(dn)
	w.SetProblem(problem)
	return w.End()
}

// mergeKept merges the values of attributes that came twice (a range-retrieved one and
// its base name), keeping the first place of each name.
func mergeKept(kept []keptAttr) []keptAttr {
	out := kept[:0]
	for _, k := range kept {
		j := slices.IndexFunc(out, func(o keptAttr) bool { return o.name == k.name && o.binary == k.binary })
		if j < 0 {
			out = append(out, k)
			continue
		}
		out[j].values = append(slices.Clip(out[j].values), k.values...)
	}
	return out
}

// keptAttr is an attribute of the entry being written.
type keptAttr struct {
	attrName
	values [][]byte
	binary bool
}

// id turns the ID attribute's value into the external ID.
func (r *reader) id(values [][]byte) (string, error) {
	if len(values) != 1 {
		return "", fmt.Errorf("%s has %d values, want 1", r.fa.id, len(values))
	}
	if r.fa.id == "objectGUID" {
		return formatGUID(values[0])
	}
	return strings.ToLower(string(values[0])), nil
}

// formatGUID renders a binary objectGUID the way Active Directory writes GUIDs: the first
// three groups are little-endian, the last two big-endian.
func formatGUID(b []byte) (string, error) {
	if len(b) != 16 {
		return "", fmt.Errorf("objectGUID has %d bytes, want 16", len(b))
	}
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(b[0:4]), binary.LittleEndian.Uint16(b[4:6]), binary.LittleEndian.Uint16(b[6:8]),
		b[8:10], b[10:16]), nil
}

// binaryName reports whether a lower-cased attribute name is one of binary values.
func binaryName(lowerName string) bool {
	return slices.Contains(binaryAttributes, lowerName) || strings.Contains(lowerName, ";binary")
}

// allUTF8 reports whether every value is valid UTF-8 (text).
func allUTF8(values [][]byte) bool {
	for _, v := range values {
		if !utf8.Valid(v) {
			return false
		}
	}
	return true
}

// parseRange splits "member;range=0-1499" into ("member", 0, 1499); hi is -1 for "*".
func parseRange(name string) (base string, lo, hi int, ok bool) {
	i := strings.Index(strings.ToLower(name), ";range=")
	if i < 0 {
		return "", 0, 0, false
	}
	base = name[:i]
	spec := name[i+len(";range="):]
	from, to, found := strings.Cut(spec, "-")
	if !found {
		return "", 0, 0, false
	}
	lo, err := strconv.Atoi(from)
	if err != nil {
		return "", 0, 0, false
	}
	if to == "*" {
		return base, lo, -1, true
	}
	if hi, err = strconv.Atoi(to); err != nil || hi < lo {
		return "", 0, 0, false
	}
	return base, lo, hi, true
}

// rangeRest fetches the values of a range-retrieved attribute after the range hi, looping
// on the attribute name each answer carries until the server says "*" (the last range).
func (r *reader) rangeRest(ctx context.Context, dn, attr string, lo, hi, got int) ([][]byte, error) {
	var more [][]byte
	for hi >= 0 {
		if got == 0 && hi >= lo {
			return nil, fmt.Errorf("ldap connector: entry %q: range retrieval of %s returned no values for %d-%d: %w", dn, attr, lo, hi, ErrIncomplete)
		}
		if r.rangeConn == nil {
			conn, err := dial(ctx, r.cfg)
			if err != nil {
				return nil, err
			}
			r.rangeConn = conn
		}
		next := fmt.Sprintf("%s;range=%d-*", attr, hi+1)
		req := goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{next}, nil)
		res := r.rangeConn.SearchAsync(ctx, req, 1)
		var entry *goldap.Entry
		for res.Next() {
			if e := res.Entry(); e != nil {
				entry = e
			}
		}
		if err := res.Err(); err != nil {
			return nil, searchError(ctx, r.cfg, "range retrieval of "+attr, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("ldap connector: range retrieval: %w", err)
		}
		found := false
		if entry != nil {
			for _, a := range entry.Attributes {
				b, nlo, nhi, ok := parseRange(a.Name)
				if !ok || !strings.EqualFold(b, attr) {
					continue
				}
				if nlo != hi+1 {
					return nil, fmt.Errorf("ldap connector: entry %q: range retrieval of %s asked from %d, got %s: %w", dn, attr, hi+1, a.Name, ErrIncomplete)
				}
				more = append(more, a.ByteValues...)
				lo, hi, got, found = nlo, nhi, len(a.ByteValues), true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("ldap connector: entry %q: range retrieval of %s from %d: the server returned no range: %w", dn, attr, hi+1, ErrIncomplete)
		}
	}
	return more, nil
}
