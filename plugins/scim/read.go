package scim

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// maxPageBytes bounds one ListResponse: a page of 10,000 users is a few tens of MiB.
const maxPageBytes = 256 << 20

// page is what one ListResponse said about the list as a whole.
type page struct {
	total      int64 // totalResults
	resources  int   // how many Resources it held
	startIndex int64 // the startIndex it says it starts at; 0 if it said none
}

// usersURL is GET /Users for the page of count users at startIndex.
func (c *client) usersURL(startIndex int64, count int) *url.URL {
	q := url.Values{}
	q.Set("startIndex", strconv.FormatInt(startIndex, 10))
	q.Set("count", strconv.Itoa(count))
	if c.cfg.filter != "" {
		q.Set("filter", c.cfg.filter)
	}
	return c.endpoint("Users", q)
}

// listUsers sends GET /Users for one page and calls each for every resource in it (see
// decodePage).
func (c *client) listUsers(ctx context.Context, startIndex int64, count int, each func(json.RawMessage) error) (page, error) {
	u := c.usersURL(startIndex, count)
	body, err := c.get(ctx, u)
	if err != nil {
		return page{}, err
	}
	defer func() { _ = body.Close() }()
	return decodePage(u, body, each)
}

// decodePage calls each for every resource of the page in body, the answer to u, as
// the body streams in: a page is never held whole in memory.
func decodePage(u *url.URL, body io.Reader, each func(json.RawMessage) error) (page, error) {
	var eachErr error // the consumer's error, passed on as it is
	p, err := decodeList(io.LimitReader(body, maxPageBytes), func(raw json.RawMessage) error {
		eachErr = each(raw)
		return eachErr
	})
	switch {
	case eachErr != nil:
		return p, eachErr
	case err != nil:
		return p, fmt.Errorf("GET %s: %w", u.Redacted(), err)
	}
	return p, nil
}

// ahead is a page requested before the read needs it.
type ahead struct {
	start  int64
	u      *url.URL
	cancel context.CancelFunc
	done   chan fetched // gets one value
}

type fetched struct {
	body io.ReadCloser
	err  error
}

// request starts GET /Users for the page at start, in the background.
func (c *client) request(ctx context.Context, start int64) *ahead {
	ctx, cancel := context.WithCancel(ctx)
	a := &ahead{start: start, u: c.usersURL(start, c.cfg.pageSize), cancel: cancel, done: make(chan fetched, 1)}
	go func() {
		body, err := c.get(ctx, a.u)
		a.done <- fetched{body, err}
	}()
	return a
}

// discard stops a request that the read turned out not to need and closes its answer.
func (a *ahead) discard() {
	a.cancel()
	go func() {
		if f := <-a.done; f.body != nil {
			_ = f.body.Close()
		}
	}()
}

// errBadList marks an answer that is not a ListResponse (RFC 7644 §3.4.2).
var errBadList = errors.New("not a SCIM ListResponse")

// decodeList reads a ListResponse token by token, in whatever order its members come,
// handing each resource to each as soon as it is read.
func decodeList(r io.Reader, each func(json.RawMessage) error) (page, error) {
	var p page
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return p, err
	}
	sawTotal := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return p, readErr(err)
		}
		key, _ := tok.(string)
		switch strings.ToLower(key) { // RFC 7643 §2.1: names are case-insensitive
		case "totalresults":
			if p.total, err = decodeInt(dec, "totalResults"); err != nil {
				return p, err
			}
			sawTotal = true
		case "startindex":
			if p.startIndex, err = decodeInt(dec, "startIndex"); err != nil {
				return p, err
			}
		case "schemas":
			var schemas []string
			if err := dec.Decode(&schemas); err != nil {
				return p, fmt.Errorf("%w: schemas is not a list of URNs", errBadList)
			}
			if !slices.ContainsFunc(schemas, func(s string) bool { return strings.EqualFold(s, listResponseURN) }) {
				return p, fmt.Errorf("%w: its schemas are %q", errBadList, schemas)
			}
		case "resources":
			tok, err := dec.Token()
			if err != nil {
				return p, readErr(err)
			}
			if tok == nil {
				continue // "Resources": null
			}
			if d, ok := tok.(json.Delim); !ok || d != '[' {
				return p, fmt.Errorf("%w: Resources is not a list", errBadList)
			}
			for dec.More() {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return p, readErr(err)
				}
				p.resources++
				if err := each(raw); err != nil {
					return p, err
				}
			}
			if err := expectDelim(dec, ']'); err != nil {
				return p, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return p, readErr(err)
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return p, err
	}
	if !sawTotal {
		return p, fmt.Errorf("%w: it has no totalResults", errBadList)
	}
	return p, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return readErr(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("%w: found %v where %q belongs", errBadList, tok, want)
	}
	return nil
}

func decodeInt(dec *json.Decoder, name string) (int64, error) {
	var n json.Number
	if err := dec.Decode(&n); err != nil {
		return 0, fmt.Errorf("%w: %s is not a number", errBadList, name)
	}
	v, err := n.Int64()
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%w: %s is %s, not a count", errBadList, name, n)
	}
	return v, nil
}

// readErr turns the end of a body in the middle of the JSON into a clear error.
func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("the answer ends in the middle of its JSON: %w", io.ErrUnexpectedEOF)
	}
	return err
}

// idSet is the set of the IDs a read has emitted, 16 bytes of hash each.
type idSet map[[16]byte]struct{}

// add adds id and reports whether it was new.
func (s idSet) add(id string) bool {
	sum := sha256.Sum256([]byte(id))
	k := [16]byte(sum[:16])
	if _, ok := s[k]; ok {
		return false
	}
	s[k] = struct{}{}
	return true
}

// readUsers pages through GET /Users and writes every user to w (see Connector.ReadTo).
func (c *client) readUsers(ctx context.Context, w *connector.RecordWriter) (int64, error) {
	var (
		b        builder
		count    int64
		seen     = idSet{}
		start    = int64(1)
		total    = int64(-1)
		changed  string // why the list changed under the read, once it did
		position int    // of the resource in its page, from 1
	)
	invalid := func(id, problem string) error {
		w.Begin(connector.Invalid)
		w.SetID(id)
		w.SetProblem(problem)
		if err := w.End(); err != nil {
			return err
		}
		count++
		return nil
	}
	each := func(raw json.RawMessage) error {
		position++
		if err := ctx.Err(); err != nil {
			return err
		}
		where := func() string { return fmt.Sprintf("GET /Users startIndex=%d, resource %d", start, position) }
		u, prob := decodeUser(raw)
		id := ""
		if prob == nil {
			id = u.ID
		} else {
			id = prob.id
		}
		if id != "" && !seen.add(id) {
			// RFC 7643 §3.1: an id is unique; seen again, it is the same user, whom
			// the list shifted onto a later page. Someone else may have shifted off.
			if changed == "" {
				changed = fmt.Sprintf("user %q came twice (again at %s)", id, where())
			}
			return nil
		}
		if prob == nil {
			var err error
			if prob, err = b.write(w, u); err != nil {
				return err
			}
			if prob == nil {
				count++
				return nil
			}
		}
		return invalid(prob.id, where()+": "+prob.reason)
	}
	// While one page is decoded, the next is already on its way: a read then takes
	// about as long as its round trips, not round trips plus decoding. The next page
	// starts where this one ends if it is as long as the last one was (as long as asked
	// for, at first); when it is not, the page asked ahead is dropped and asked again.
	cur := c.request(ctx, start)
	guess := int64(c.cfg.pageSize)
	var next *ahead
	defer func() {
		if next != nil {
			next.discard()
		}
	}()
	for {
		f := <-cur.done
		if f.err != nil {
			cur.cancel()
			return count, f.err
		}
		if !c.noReadAhead && (total < 0 || start+guess <= total) {
			next = c.request(ctx, start+guess)
		}
		position = 0
		p, err := decodePage(cur.u, f.body, each)
		_ = f.body.Close()
		cur.cancel()
		if err != nil {
			return count, err
		}
		if p.startIndex != 0 && p.startIndex != start {
			return count, fmt.Errorf("GET /Users asked for startIndex %d and got a page that starts at %d: the service does not page as RFC 7644 §3.4.2.4 says", start, p.startIndex)
		}
		if total >= 0 && p.total != total && changed == "" {
			changed = fmt.Sprintf("totalResults went from %d to %d at startIndex %d", total, p.total, start)
		}
		total = p.total
		if p.resources == 0 {
			// A page past the end. Before it (startIndex ≤ totalResults) means that
			// users were removed while the read went on.
			if start <= total && changed == "" {
				changed = fmt.Sprintf("the page at startIndex %d is empty, but totalResults is %d", start, total)
			}
			break
		}
		// Providers may return fewer than count (RFC 7644 §3.4.2.4): go on from what
		// came, not from what was asked for.
		start += int64(p.resources)
		guess = int64(p.resources)
		if start > total {
			break
		}
		switch {
		case next != nil && next.start == start:
			cur, next = next, nil
		default:
			if next != nil {
				next.discard()
				next = nil
			}
			cur = c.request(ctx, start)
		}
	}
	if changed != "" {
		// Offset paging over a list that changed can miss a user, who would then look
		// like one who left. A record without an ID makes the run delete nobody.
		err := invalid("", "the users changed while they were read ("+changed+"), so someone may have been missed; this run deletes nobody, and the next one reads a settled list")
		if err != nil {
			return count, err
		}
	}
	return count, nil
}
