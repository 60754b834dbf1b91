package entra

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// Read streams every user (Full) or every change since req.Cursor (Delta) to emit, and
// returns the cursor for the next delta read.
func (c *Connector) Read(ctx context.Context, req connector.ReadRequest, emit connector.EmitFunc) (connector.ReadResult, error) {
	return c.ReadTo(ctx, req, connector.NewRecordWriter(emit))
}

// ReadTo is Read, writing each user to w: served as a plugin, straight into the batch
// on its way to the engine.
func (c *Connector) ReadTo(ctx context.Context, req connector.ReadRequest, w *connector.RecordWriter) (connector.ReadResult, error) {
	cfg, err := c.config()
	if err != nil {
		return connector.ReadResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return connector.ReadResult{}, fmt.Errorf("entra connector: %w", err)
	}
	r := &reader{cl: newClient(ctx, cfg, c.clock), cfg: cfg, w: w, delta: req.Mode == connector.Delta}
	var link string
	switch req.Mode {
	case connector.Full:
		// The cursor first: changes made while the full read runs are then in the next
		// delta read, at worst twice.
		if r.cursor, err = r.latestDeltaLink(ctx); err != nil {
			return connector.ReadResult{}, fmt.Errorf("entra connector: %w", err)
		}
		r.seen = newIDSet()
		q := url.Values{}
		q.Set("$select", strings.Join(cfg.properties, ","))
		q.Set("$expand", "manager($select=id)")
		q.Set("$top", strconv.Itoa(cfg.pageSize))
		link = cfg.graphURL.String() + "/users?" + encodeQuery(q)
	case connector.Delta:
		if req.Cursor == "" {
			return connector.ReadResult{}, fmt.Errorf("entra connector: %w: a delta read needs the cursor of a previous read", ErrCursor)
		}
		if u, err := url.Parse(req.Cursor); err != nil || !r.cl.sameOrigin(req.Cursor) || !strings.HasSuffix(u.Path, "/users/delta") {
			return connector.ReadResult{}, fmt.Errorf("entra connector: %w: the cursor is not a users delta link of %s", ErrCursor, cfg.graphURL)
		}
		link = req.Cursor
	default:
		return connector.ReadResult{}, fmt.Errorf("entra connector: unknown read mode %d", req.Mode)
	}
	for page := 1; link != ""; page++ {
		if link, err = r.page(ctx, link, page); err != nil {
			return connector.ReadResult{}, fmt.Errorf("entra connector: %w", err)
		}
	}
	if r.delta && r.cursor == "" {
		return connector.ReadResult{}, fmt.Errorf("entra connector: %w: the delta pages ended without an @odata.deltaLink", ErrProtocol)
	}
	return connector.ReadResult{Count: r.count, Cursor: r.cursor}, nil
}

// encodeQuery encodes q as Graph's examples write it: $ and the separators of $select
// and $expand unescaped (url.Values.Encode would escape them; Graph takes both).
func encodeQuery(q url.Values) string {
	s := q.Encode()
	return strings.NewReplacer("%24", "$", "%2C", ",", "%28", "(", "%29", ")", "%3D", "=").Replace(s)
}

// reader is one read in progress.
type reader struct {
	cl     *client
	cfg    *config
	w      *connector.RecordWriter
	delta  bool
	seen   *idSet // full reads: IDs written, so that a repeated one fails the read
	attrs  []attr // the user being converted, reused
	cursor string
	count  int64
}

// latestDeltaLink asks Graph for a delta link that starts now.
func (r *reader) latestDeltaLink(ctx context.Context) (string, error) {
	q := url.Values{}
	q.Set("$select", strings.Join(append(slices.Clone(r.cfg.properties), "manager"), ","))
	q.Set("$deltatoken", "latest")
	body, ctype, err := r.cl.get(ctx, r.cfg.graphURL.String()+"/users/delta?"+encodeQuery(q))
	if err != nil {
		return "", fmt.Errorf("get a delta link: %w", err)
	}
	p, err := decodePage(body, ctype)
	if err != nil {
		return "", fmt.Errorf("get a delta link: %w", err)
	}
	if p.DeltaLink == "" || !r.cl.sameOrigin(p.DeltaLink) {
		return "", fmt.Errorf("get a delta link: %w: no @odata.deltaLink of %s in the answer", ErrProtocol, r.cfg.graphURL)
	}
	return p.DeltaLink, nil
}

// graphPage is one page of a user collection.
type graphPage struct {
	NextLink  string            `json:"@odata.nextLink"`
	DeltaLink string            `json:"@odata.deltaLink"`
	Value     []json.RawMessage `json:"value"`
}

func decodePage(body []byte, ctype string) (*graphPage, error) {
	if !isJSON(ctype) {
		return nil, fmt.Errorf("%w: content type %q, not JSON", ErrProtocol, ctype)
	}
	var p graphPage
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	if p.Value == nil {
		return nil, fmt.Errorf("%w: the answer has no value array", ErrProtocol)
	}
	return &p, nil
}

// page reads one page and writes its users; it returns the next page's link, or "" after
// the last.
func (r *reader) page(ctx context.Context, link string, n int) (string, error) {
	body, ctype, err := r.cl.get(ctx, link)
	if err != nil {
		if ge := (*graphError)(nil); r.delta && errors.As(err, &ge) && (ge.Status == http.StatusGone || ge.Status == http.StatusBadRequest) && n == 1 {
			return "", fmt.Errorf("%w: Graph refuses the delta link (%w); run a full read to get a new one", ErrCursor, err)
		}
		return "", fmt.Errorf("page %d: %w", n, err)
	}
	p, err := decodePage(body, ctype)
	if err != nil {
		return "", fmt.Errorf("page %d: %w", n, err)
	}
	for i, raw := range p.Value {
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("read: %w", err)
		}
		if err := r.user(ctx, raw, func() string { return fmt.Sprintf("page %d, user %d", n, i+1) }); err != nil {
			return "", err
		}
	}
	switch {
	case p.NextLink != "":
		if !r.cl.sameOrigin(p.NextLink) {
			return "", fmt.Errorf("page %d: %w: its @odata.nextLink leaves %s", n, ErrProtocol, r.cfg.graphURL)
		}
		return p.NextLink, nil
	case r.delta && p.DeltaLink != "":
		if !r.cl.sameOrigin(p.DeltaLink) {
			return "", fmt.Errorf("page %d: %w: its @odata.deltaLink leaves %s", n, ErrProtocol, r.cfg.graphURL)
		}
		r.cursor = p.DeltaLink
	}
	return "", nil
}

// user converts one entry of a page and writes it: an Upsert, a Delete for a delta
// entry with @removed, or an Invalid record for an entry that cannot be read. where
// names the entry for a problem ("page 3, user 17").
func (r *reader) user(ctx context.Context, raw json.RawMessage, where func() string) error {
	if !utf8.Valid(raw) {
		return r.invalid(idOf(raw), where()+": text that is not UTF-8")
	}
	var u map[string]json.RawMessage
	if err := json.Unmarshal(raw, &u); err != nil || u == nil {
		return r.invalid("", where()+": not a JSON object")
	}
	id, ok := text(u["id"])
	if !ok || strings.TrimSpace(id) == "" || strings.IndexByte(id, 0) >= 0 {
		return r.invalid("", where()+": the user has no id")
	}
	at := func() string { return fmt.Sprintf("%s (id %s)", where(), id) }
	if _, removed := u["@removed"]; removed {
		if !r.delta {
			return nil // a full read lists the users there are: nobody to report
		}
		return r.write(connector.Delete, id)
	}
	if r.seen != nil && !r.seen.add(id) {
		// Graph's paging went wrong (ids are unique keys): the first record is already
		// written, so neither can be made Invalid, and the read is not to be trusted.
		return fmt.Errorf("%s: %w: the id appears twice in the read", at(), ErrProtocol)
	}

	attrs := r.attrs[:0]
	var problem string
	add := func(name string, values [][]byte) {
		for _, v := range values {
			if bytes.IndexByte(v, 0) >= 0 && problem == "" {
				problem = fmt.Sprintf("%s: %s holds a NUL character", at(), name)
			}
		}
		if len(values) > 0 {
			attrs = append(attrs, attr{name, values})
		}
	}
	managerKnown := !r.delta
	for k, v := range u {
		switch {
		case k == "manager":
			var m struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(v, &m) == nil && m.ID != "" {
				add("manager", [][]byte{[]byte(m.ID)})
			}
			managerKnown = true
		case k == "manager@delta":
			add("manager", managerFromDelta(v))
			managerKnown = true
		case strings.IndexByte(k, '@') >= 0: // annotations: @odata.type, @odata.context…
		case len(v) > 0 && v[0] == '{':
			var m map[string]json.RawMessage
			if json.Unmarshal(v, &m) != nil {
				continue
			}
			for s, sv := range m {
				if strings.IndexByte(s, '@') < 0 {
					add(k+"."+s, values(sv))
				}
			}
		default:
			add(k, values(v))
		}
	}
	r.attrs = attrs[:0]
	if problem != "" {
		return r.invalid(id, problem)
	}
	if !managerKnown {
		// A changed user whose manager did not change comes without manager@delta.
		mid, err := r.manager(ctx, id)
		if err != nil {
			return fmt.Errorf("%s: %w", at(), err)
		}
		add("manager", mid)
	}
	var photo []byte
	if r.cfg.photo {
		var err error
		if photo, err = r.photo(ctx, id); err != nil {
			return fmt.Errorf("%s: %w", at(), err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	w := r.w
	w.Begin(connector.Upsert)
	w.SetID(id)
	for _, a := range attrs {
		w.Text(a.name, a.values)
	}
	if len(photo) > 0 {
		w.Binary("photo", [][]byte{photo})
	}
	if err := w.End(); err != nil {
		return err
	}
	r.count++
	return nil
}

// text decodes a JSON string; ok is false for anything else.
func text(v json.RawMessage) (string, bool) {
	b, ok := textBytes(v)
	return string(b), ok
}

// textBytes decodes a JSON string; ok is false for anything else. A string without
// escapes (most are) is v's own bytes, without the decoder.
func textBytes(v json.RawMessage) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, false
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1 : len(v)-1], true
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return nil, false
	}
	return []byte(s), true
}

// attr is one attribute of the user being converted; its values alias the page's
// bytes where the JSON string needs no unescaping.
type attr struct {
	name   string
	values [][]byte
}

// write writes a record without attributes.
func (r *reader) write(kind connector.ChangeKind, id string) error {
	r.w.Begin(kind)
	r.w.SetID(id)
	if err := r.w.End(); err != nil {
		return err
	}
	r.count++
	return nil
}

// invalid writes an Invalid record.
func (r *reader) invalid(id, problem string) error {
	r.w.Begin(connector.Invalid)
	r.w.SetID(id)
	r.w.SetProblem(problem)
	if err := r.w.End(); err != nil {
		return err
	}
	r.count++
	return nil
}

// idOf reads the id of an entry that is otherwise unreadable, if it is a plain GUID:
// then the engine protects that person's profile instead of deleting nobody.
func idOf(raw []byte) string {
	var u struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &u) != nil {
		return ""
	}
	if _, ok := parseGUID(u.ID); ok {
		return u.ID
	}
	return ""
}

// values converts a property's JSON value to text values: a string as is (an empty one
// is no value), numbers and bools as JSON writes them, a list element by element, and
// an object as compact JSON.
func values(v json.RawMessage) [][]byte {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return nil
	}
	switch v[0] {
	case 'n': // null
		return nil
	case '"':
		s, ok := textBytes(v)
		if !ok || len(s) == 0 {
			return nil
		}
		return [][]byte{s}
	case '[':
		var list []json.RawMessage
		if json.Unmarshal(v, &list) != nil {
			return nil
		}
		var out [][]byte
		for _, e := range list {
			if e = bytes.TrimSpace(e); len(e) > 0 && (e[0] == '{' || e[0] == '[') {
				var buf bytes.Buffer
				if json.Compact(&buf, e) == nil {
					out = append(out, buf.Bytes())
				}
				continue
			}
			out = append(out, values(e)...)
		}
		return out
	case '{':
		var buf bytes.Buffer
		if json.Compact(&buf, v) != nil {
			return nil
		}
		return [][]byte{buf.Bytes()}
	}
	return [][]byte{v} // a number, true or false
}

// managerFromDelta reads a manager@delta annotation: the last manager not @removed.
func managerFromDelta(v json.RawMessage) [][]byte {
	var list []struct {
		ID      string          `json:"id"`
		Removed json.RawMessage `json:"@removed"`
	}
	_ = json.Unmarshal(v, &list) // anything else says no manager
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Removed != nil {
			return nil
		}
		if list[i].ID != "" {
			return [][]byte{[]byte(list[i].ID)}
		}
	}
	return nil
}

// manager fetches a user's manager's id; nil if the user has none.
func (r *reader) manager(ctx context.Context, id string) ([][]byte, error) {
	body, ctype, err := r.cl.get(ctx, r.cfg.graphURL.String()+"/users/"+url.PathEscape(id)+"/manager?$select=id")
	var ge *graphError
	if errors.As(err, &ge) && ge.Status == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the manager: %w", err)
	}
	var m struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &m); err != nil || !isJSON(ctype) {
		return nil, fmt.Errorf("read the manager: %w: not a directory object", ErrProtocol)
	}
	if m.ID == "" {
		return nil, nil
	}
	return [][]byte{[]byte(m.ID)}, nil
}

// photo fetches a user's photo; nil if the user has none.
func (r *reader) photo(ctx context.Context, id string) ([]byte, error) {
	body, _, err := r.cl.get(ctx, r.cfg.graphURL.String()+"/users/"+url.PathEscape(id)+"/photo/$value")
	var ge *graphError
	if errors.As(err, &ge) && ge.Status == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the photo: %w", err)
	}
	return body, nil
}

// idSet holds the IDs a full read has written: 16 bytes for each GUID (Entra's object
// IDs), the string for anything else.
type idSet struct {
	guids map[[16]byte]struct{}
	other map[string]struct{}
}

func newIDSet() *idSet {
	return &idSet{guids: make(map[[16]byte]struct{}), other: make(map[string]struct{})}
}

// add adds id and reports whether it was new.
func (s *idSet) add(id string) bool {
	if g, ok := parseGUID(id); ok {
		if _, dup := s.guids[g]; dup {
			return false
		}
		s.guids[g] = struct{}{}
		return true
	}
	if _, dup := s.other[id]; dup {
		return false
	}
	s.other[id] = struct{}{}
	return true
}

// parseGUID parses the 36-character form of a GUID (case-insensitively).
func parseGUID(s string) ([16]byte, bool) {
	var g [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, false
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	if _, err := hex.Decode(g[:], []byte(strings.ToLower(h))); err != nil {
		return g, false
	}
	return g, true
}
