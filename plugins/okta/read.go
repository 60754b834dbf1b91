package okta

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/peoplesync/peoplesync/plugins/internal/apihttp"
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
	r := &reader{cl: newClient(ctx, cfg, c.clock, c.log), w: w, start: c.clock.now()}
	q := url.Values{}
	q.Set("limit", strconv.Itoa(cfg.pageSize))
	switch req.Mode {
	case connector.Full:
		r.seen = idSet{}
		q.Set("filter", fullFilter)
	case connector.Delta:
		since, ok := parseCursor(req.Cursor)
		if !ok {
			return connector.ReadResult{}, fmt.Errorf("okta connector: %w: %q is not a lastUpdated time of a previous read (such as 2026-12-04T10:00:00.000Z)", ErrCursor, apihttp.Shorten(req.Cursor, 80))
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
	// profileNames and topNames hold the attribute names made so far.
	profileNames, topNames map[string]string
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

// checkPage checks that an answer is a JSON array (of users): valid JSON, so that the
// scanner (scan.go) can walk it.
func checkPage(ans *answer) error {
	if ct := ans.header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return fmt.Errorf("%w: content type %q, not JSON", ErrProtocol, apihttp.Shorten(ct, 80))
		}
	}
	if i := skipSpace(ans.body, 0); i == len(ans.body) || ans.body[i] != '[' || !json.Valid(ans.body) {
		return fmt.Errorf("%w: the answer is not a JSON array of users", ErrProtocol)
	}
	return nil
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
	if err := checkPage(ans); err != nil {
		return "", fmt.Errorf("page %d: %w", n, err)
	}
	i := 0
	err = elements(ans.body, func(raw []byte) error {
		i++
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read: %w", err)
		}
		return r.user(raw, func() string { return fmt.Sprintf("page %d, user %d", n, i) })
	})
	if err != nil {
		return "", err
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
func (r *reader) user(raw []byte, where func() string) error {
	if !utf8.Valid(raw) {
		return r.invalid(idOf(raw), where()+": text that is not UTF-8")
	}
	if raw[0] != '{' {
		return r.invalid("", where()+": not a JSON object")
	}
	var id []byte
	attrs := r.attrs[:0]
	nulIn := "" // the first attribute with a NUL character
	add := func(name string, values [][]byte) {
		for _, v := range values {
			if nulIn == "" && bytes.IndexByte(v, 0) >= 0 {
				nulIn = name
			}
		}
		if len(values) > 0 {
			attrs = append(attrs, attr{name, values})
		}
	}
	members(raw, func(k, v []byte) {
		key, ok := textBytes(k)
		if !ok || len(key) == 0 {
			return
		}
		switch {
		case string(key) == "credentials" || key[0] == '_':
			// Password and recovery metadata, and the HAL links: nothing for a profile.
		case string(key) == "profile":
			if v[0] != '{' {
				return // null
			}
			members(v, func(pk, pv []byte) {
				name, ok := textBytes(pk)
				if !ok {
					return
				}
				vs := values(pv)
				add(r.name(name), vs)
				if string(name) == "managerId" {
					add("manager", vs)
				}
			})
		case v[0] == '{':
			members(v, func(sk, sv []byte) {
				if sub, ok := textBytes(sk); ok {
					add(string(key)+"."+string(sub), values(sv))
				}
			})
		default:
			vs := values(v)
			add(r.topName(key), vs)
			switch {
			case string(key) == "id":
				id, _ = textBytes(v)
			case string(key) == "lastUpdated" && len(vs) == 1:
				if t, err := time.Parse(time.RFC3339Nano, string(vs[0])); err == nil && t.After(r.maxSeen) {
					r.maxSeen = t
				}
			}
		}
	})
	r.attrs = attrs[:0]
	if len(bytes.TrimSpace(id)) == 0 || bytes.IndexByte(id, 0) >= 0 {
		return r.invalid("", where()+": the user has no id")
	}
	at := func() string { return fmt.Sprintf("%s (id %s)", where(), id) }
	if r.seen != nil && !r.seen.add(id) {
		// Okta's paging went wrong (ids are unique): the first record is already
		// written, so neither can be made Invalid, and the read is not to be trusted.
		return fmt.Errorf("%s: %w: the id appears twice in the read", at(), ErrProtocol)
	}
	if nulIn != "" {
		return r.invalid(string(id), fmt.Sprintf("%s: %s holds a NUL character", at(), nulIn))
	}
	w := r.w
	w.Begin(connector.Upsert)
	w.SetID(string(id))
	for _, a := range attrs {
		w.Text(a.name, a.values)
	}
	if err := w.End(); err != nil {
		if errors.Is(err, connector.ErrRepeatedName) {
			return r.invalid(string(id), at()+": a property appears twice")
		}
		return err
	}
	r.count++
	return nil
}

// name is the record attribute name of a profile attribute, "profile.NAME", made once
// per read and name.
func (r *reader) name(key []byte) string {
	if n, ok := r.profileNames[string(key)]; ok {
		return n
	}
	n := "profile." + string(key)
	if r.profileNames == nil {
		r.profileNames = map[string]string{}
	}
	if len(r.profileNames) < maxNames {
		r.profileNames[string(key)] = n
	}
	return n
}

// topName is the record attribute name of a top-level property: its own name, made
// once per read and name.
func (r *reader) topName(key []byte) string {
	if n, ok := r.topNames[string(key)]; ok {
		return n
	}
	n := string(key)
	if r.topNames == nil {
		r.topNames = map[string]string{}
	}
	if len(r.topNames) < maxNames {
		r.topNames[n] = n
	}
	return n
}

// maxNames bounds each cache of attribute names (a profile schema has a few hundred at
// most).
const maxNames = 4096

// attr is one attribute of the user being converted; its values alias the page's
// bytes where a string needs no unescaping.
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
		var out [][]byte
		_ = elements(v, func(e []byte) error {
			if e[0] == '{' || e[0] == '[' {
				var buf bytes.Buffer
				if json.Compact(&buf, e) == nil {
					out = append(out, buf.Bytes())
				}
				return nil
			}
			out = append(out, values(e)...)
			return nil
		})
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
