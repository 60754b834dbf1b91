package okta

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// usersPath is the Users API's collection.
const usersPath = "/api/v1/users"

// cursorLag is how far before the first answer's Date a cursor may reach at most: a
// margin for a change that was stamped before Okta answered but not yet visible.
const cursorLag = 5 * time.Second

// timeLayout is how Okta writes timestamps ("2022-05-05T18:15:44.000Z"), and the
// cursor's form.
const timeLayout = "2006-01-02T15:04:05.000Z"

// fullFilter selects every user: Okta's eight statuses. Without a filter (or search),
// GET /api/v1/users leaves DEPROVISIONED users out.
var fullFilter = func() string {
	statuses := []string{"STAGED", "PROVISIONED", "ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT", "SUSPENDED", "DEPROVISIONED"}
	terms := make([]string, len(statuses))
	for i, s := range statuses {
		terms[i] = `status eq "` + s + `"`
	}
	return strings.Join(terms, " or ")
}()

// Read streams every user (Full) or every user changed since req.Cursor (Delta) to
// emit, and returns the cursor for the next delta read.
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
		return connector.ReadResult{}, fmt.Errorf("okta connector: read: %w", err)
	}
	r := &reader{cl: newClient(ctx, cfg, c.clock), w: w, start: c.clock.now()}
	q := url.Values{}
	q.Set("limit", strconv.Itoa(cfg.pageSize))
	switch req.Mode {
	case connector.Full:
		r.seen = idSet{}
		q.Set("filter", fullFilter)
	case connector.Delta:
		since, ok := parseCursor(req.Cursor)
		if !ok {
			return connector.ReadResult{}, fmt.Errorf("okta connector: %w: %q is not a lastUpdated time of a previous read (such as 2026-12-04T10:00:00.000Z)", ErrCursor, shorten(req.Cursor, 80))
		}
		r.since = since
		q.Set("filter", `lastUpdated gt "`+since.Format(timeLayout)+`"`)
	default:
		return connector.ReadResult{}, fmt.Errorf("okta connector: unknown read mode %d", req.Mode)
	}
	link := cfg.org.String() + usersPath + "?" + q.Encode()
	for page := 1; link != ""; page++ {
		if link, err = r.page(ctx, link, page); err != nil {
			return connector.ReadResult{}, fmt.Errorf("okta connector: %w", err)
		}
	}
	return connector.ReadResult{Count: r.count, Cursor: r.cursor(req.Mode == connector.Delta)}, nil
}

// parseCursor reads a cursor: a timestamp in Okta's form.
func parseCursor(s string) (time.Time, bool) {
	t, err := time.Parse(timeLayout, s)
	return t, err == nil
}

// reader is one read in progress.
type reader struct {
	cl      *client
	w       *connector.RecordWriter
	seen    idSet     // full reads: IDs written, so that a repeated one fails the read
	since   time.Time // delta reads: the cursor read from
	start   time.Time // the first answer's Date (Okta's clock), or the local clock's
	maxSeen time.Time // the highest lastUpdated read
	attrs   []attr    // the user being converted, reused
	count   int64
}

// cursor is the next read's cursor (see the package doc).
func (r *reader) cursor(delta bool) string {
	limit := r.start.Add(-cursorLag)
	c := limit
	switch {
	case delta && r.maxSeen.IsZero():
		c = r.since
	case !r.maxSeen.IsZero() && r.maxSeen.Before(limit):
		c = r.maxSeen
	}
	if delta && c.Before(r.since) {
		c = r.since
	}
	return c.UTC().Format(timeLayout)
}

// decodePage checks that an answer is a JSON array and returns its elements.
func decodePage(ans *answer) ([]json.RawMessage, error) {
	if ct := ans.header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return nil, fmt.Errorf("%w: content type %q, not JSON", ErrProtocol, shorten(ct, 80))
		}
	}
	var users []json.RawMessage
	if err := json.Unmarshal(ans.body, &users); err != nil || users == nil {
		return nil, fmt.Errorf("%w: the answer is not a JSON array of users", ErrProtocol)
	}
	return users, nil
}

// page reads one page and writes its users; it returns the next page's link, or ""
// after the last.
func (r *reader) page(ctx context.Context, link string, n int) (string, error) {
	ans, err := r.cl.get(ctx, link)
	if err != nil {
		return "", fmt.Errorf("page %d: %w", n, err)
	}
	if n == 1 {
		if d, err := http.ParseTime(ans.header.Get("Date")); err == nil {
			r.start = d
		}
	}
	users, err := decodePage(ans)
	if err != nil {
		return "", fmt.Errorf("page %d: %w", n, err)
	}
	for i, raw := range users {
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("read: %w", err)
		}
		if err := r.user(raw, func() string { return fmt.Sprintf("page %d, user %d", n, i+1) }); err != nil {
			return "", err
		}
	}
	next, ok := nextLink(ans.header, link)
	switch {
	case !ok:
		return "", fmt.Errorf("page %d: %w: a Link header that cannot be read", n, ErrProtocol)
	case next == "":
		return "", nil
	case !r.cl.sameOrigin(next):
		return "", fmt.Errorf("page %d: %w: its next link leaves %s%s", n, ErrProtocol, r.cl.cfg.org, usersPath)
	case next == link:
		return "", fmt.Errorf("page %d: %w: its next link is the page itself", n, ErrProtocol)
	}
	return next, nil
}

// nextLink returns the target of the Link header's rel="next" (RFC 8288), resolved
// against the request's URL; "" when there is none. ok is false for a header that
// cannot be parsed.
func nextLink(h http.Header, base string) (string, bool) {
	for _, v := range h.Values("Link") {
		for {
			v = strings.TrimLeft(v, " \t,")
			if v == "" {
				break
			}
			if v[0] != '<' {
				return "", false
			}
			end := strings.IndexByte(v, '>')
			if end < 0 {
				return "", false
			}
			target := v[1:end]
			v = v[end+1:]
			isNext := false
			for { // the link's parameters: ; name="value" or ; name=token
				v = strings.TrimLeft(v, " \t")
				if v == "" || v[0] != ';' {
					break
				}
				v = strings.TrimLeft(v[1:], " \t")
				eq := strings.IndexAny(v, "=;,")
				if eq < 0 || v[eq] != '=' {
					// A parameter without a value.
					if eq < 0 {
						v = ""
					} else {
						v = v[eq:]
					}
					continue
				}
				name := strings.ToLower(strings.TrimSpace(v[:eq]))
				v = strings.TrimLeft(v[eq+1:], " \t")
				var value string
				if strings.HasPrefix(v, `"`) {
					close := strings.IndexByte(v[1:], '"')
					if close < 0 {
						return "", false
					}
					value, v = v[1:1+close], v[2+close:]
				} else {
					stop := strings.IndexAny(v, ";,")
					if stop < 0 {
						stop = len(v)
					}
					value, v = strings.TrimSpace(v[:stop]), v[stop:]
				}
				if name == "rel" {
					for _, rel := range strings.Fields(value) {
						isNext = isNext || strings.EqualFold(rel, "next")
					}
				}
			}
			if isNext {
				b, err := url.Parse(base)
				t, err2 := url.Parse(target)
				if err != nil || err2 != nil {
					return "", false
				}
				return b.ResolveReference(t).String(), true
			}
		}
	}
	return "", true
}

// user converts one element of a page and writes it: an Upsert, or an Invalid record
// for an element that cannot be read. where names it for a problem ("page 3, user 17").
func (r *reader) user(raw json.RawMessage, where func() string) error {
	if !utf8.Valid(raw) {
		return r.invalid(idOf(raw), where()+": text that is not UTF-8")
	}
	var u map[string]json.RawMessage
	if err := json.Unmarshal(raw, &u); err != nil || u == nil {
		return r.invalid("", where()+": not a JSON object")
	}
	id, ok := textBytes(u["id"])
	if !ok || len(bytes.TrimSpace(id)) == 0 || bytes.IndexByte(id, 0) >= 0 {
		return r.invalid("", where()+": the user has no id")
	}
	at := func() string { return fmt.Sprintf("%s (id %s)", where(), id) }
	if r.seen != nil && !r.seen.add(id) {
		// Okta's paging went wrong (ids are unique): the first record is already
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
	for k, v := range u {
		switch {
		case k == "credentials" || strings.HasPrefix(k, "_"):
			// Password and recovery metadata, and the HAL links: nothing for a profile.
		case k == "profile":
			var p map[string]json.RawMessage
			if json.Unmarshal(v, &p) != nil {
				continue // null
			}
			for name, pv := range p {
				vs := values(pv)
				add("profile."+name, vs)
				if name == "managerId" {
					add("manager", vs)
				}
			}
		case len(v) > 0 && v[0] == '{':
			var m map[string]json.RawMessage
			if json.Unmarshal(v, &m) != nil {
				continue
			}
			for s, sv := range m {
				add(k+"."+s, values(sv))
			}
		default:
			vs := values(v)
			add(k, vs)
			if k == "lastUpdated" && len(vs) == 1 {
				if t, err := time.Parse(time.RFC3339Nano, string(vs[0])); err == nil && t.After(r.maxSeen) {
					r.maxSeen = t
				}
			}
		}
	}
	r.attrs = attrs[:0]
	if problem != "" {
		return r.invalid(string(id), problem)
	}
	w := r.w
	w.Begin(connector.Upsert)
	w.SetID(string(id))
	for _, a := range attrs {
		w.Text(a.name, a.values)
	}
	if err := w.End(); err != nil {
		return err
	}
	r.count++
	return nil
}

// attr is one attribute of the user being converted; its values alias the decoded
// JSON where a string needs no unescaping.
type attr struct {
	name   string
	values [][]byte
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

// values converts a JSON value to text values: a string as is (an empty one is no
// value), numbers and booleans as JSON writes them, an array element by element, and
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

// idOf reads the id of an element that is otherwise unreadable, if it looks like an
// Okta id (letters and digits): then the engine protects that person's profile instead
// of deleting nobody.
func idOf(raw []byte) string {
	var u struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &u) != nil || u.ID == "" || len(u.ID) > 64 {
		return ""
	}
	for _, c := range u.ID {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return ""
		}
	}
	return u.ID
}

// idSet is the set of the IDs a full read has written, 16 bytes of hash each (Okta's
// ids are 20 characters).
type idSet map[[16]byte]struct{}

// add adds id and reports whether it was new.
func (s idSet) add(id []byte) bool {
	sum := sha256.Sum256(id)
	k := [16]byte(sum[:16])
	if _, ok := s[k]; ok {
		return false
	}
	s[k] = struct{}{}
	return true
}
