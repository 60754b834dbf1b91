package ldap

// A lean LDAP client for the connector's one hot path: the paged search of a read.
//
// go-ldap decodes every response into a tree of asn1-ber packets (one heap object and one
// buffer per element, each constructed element re-copying its children) and hands each
// message through three goroutines. At 100,000 people that costs about 60 KB of garbage
// and several scheduler hand-offs per entry: the read ran at a seventh of ldapsearch's
// speed. This client speaks just enough of the protocol for the search connection
// (connect, StartTLS, simple bind, search with the paging control) and decodes each
// message in place from one reused buffer, so a read allocates little more than the
// records it emits. Everything else (the root DSE, range retrieval, Check) stays on
// go-ldap.

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// BER tags of the messages the client sends and receives (RFC 4511).
const (
	tagBoolean     = 0x01
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagEnumerated  = 0x0a
	tagSequence    = 0x30
	tagSet         = 0x31

	tagBindRequest     = 0x60
	tagBindResponse    = 0x61
	tagSearchRequest   = 0x63
	tagSearchEntry     = 0x64
	tagSearchDone      = 0x65
	tagSearchReference = 0x73
	tagExtendedRequest = 0x77
	tagExtendedResp    = 0x78
	tagControls        = 0xa0
	tagSimpleAuth      = 0x80
	tagExtendedName    = 0x80
	tagReferral        = 0xa3
)

// oidStartTLS is the StartTLS extended operation.
const oidStartTLS = "1.3.6.1.4.1.1466.20037"

// maxMessage bounds one message, so that a corrupt length cannot make the client allocate
// without limit. A person with a large photo is a few hundred KB.
const maxMessage = 256 << 20

// errMalformed marks a response the client cannot decode.
var errMalformed = errors.New("malformed LDAP message")

// wireConn is one connection of the lean client. It is not safe for concurrent use.
type wireConn struct {
	nc     net.Conn
	br     *bufio.Reader
	nextID int32
	msg    []byte // the last message read, reused
	out    []byte // the request being encoded, reused
}

// dialWire connects to the server like dial does (TLS, StartTLS, bind), for a search.
// The caller has already dialled with go-ldap, whose errors are the ones users see; this
// one wraps its own failures the same way.
func dialWire(ctx context.Context, cfg *config) (*wireConn, error) {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	host, port, ok := hostOf(cfg.url)
	if !ok {
		return nil, fmt.Errorf("ldap connector: connect to %s: %w: not an ldap:// or ldaps:// URL", cfg.url, ErrUnreachable)
	}
	if port == "" {
		port = "389"
		if cfg.ldaps {
			port = "636"
		}
	}
	tlsConfig := &tls.Config{RootCAs: cfg.roots, MinVersion: tls.VersionTLS12, ServerName: host}
	nc, err := netDialer.DialContext(dctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, classifyDial(cfg, err)
	}
	w := &wireConn{nc: nc, br: bufio.NewReaderSize(nc, 64<<10)}
	// The whole handshake obeys the dial deadline and the caller's context.
	stop := context.AfterFunc(dctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*wireConn, error) {
		stop()
		nc.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ldap connector: connect to %s: %w", cfg.url, ctx.Err())
		}
		return nil, err
	}
	if cfg.ldaps {
		if err := w.upgrade(dctx, tlsConfig); err != nil {
			return fail(classifyDial(cfg, err))
		}
	}
	if cfg.startTLS {
		w.out = w.out[:0]
		w.appendTLV(tagExtendedRequest, func() { w.appendString(tagExtendedName, oidStartTLS) })
		if err := w.call(tagExtendedResp); err != nil {
			return fail(startTLSError(cfg, err))
		}
		if err := w.upgrade(dctx, tlsConfig); err != nil {
			return fail(startTLSError(cfg, err))
		}
	}
	w.out = w.out[:0]
	w.appendTLV(tagBindRequest, func() {
		w.appendInt(tagInteger, 3)
		w.appendString(tagOctetString, cfg.bindDN)
		w.appendString(tagSimpleAuth, cfg.password)
	})
	if err := w.call(tagBindResponse); err != nil {
		return fail(bindError(cfg, err))
	}
	if !stop() {
		// The deadline fired after the bind succeeded: the connection is unusable.
		return fail(fmt.Errorf("ldap connector: connect to %s: %w: no answer within %s", cfg.url, ErrUnreachable, dialTimeout))
	}
	return w, nil
}

// upgrade starts TLS on the connection.
func (w *wireConn) upgrade(ctx context.Context, cfg *tls.Config) error {
	tc := tls.Client(w.nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	w.nc = tc
	w.br.Reset(tc)
	return nil
}

// Close closes the connection.
func (w *wireConn) Close() error { return w.nc.Close() }

// call sends the request encoded in w.out and reads the response, which must carry
// the tag want, turning a result code other than success into a *goldap.Error.
func (w *wireConn) call(want byte) error {
	if err := w.send(); err != nil {
		return err
	}
	op, body, _, err := w.read()
	if err != nil {
		return err
	}
	if op != want {
		return goldap.NewError(goldap.ErrorUnexpectedResponse, fmt.Errorf("%w: got message type %#x, want %#x", errMalformed, op, want))
	}
	return resultError(body)
}

// send wraps the protocol operation encoded in w.out in an LDAPMessage with the next message ID, and writes it.
func (w *wireConn) send() error {
	w.nextID++
	op := w.out
	var id []byte
	id = appendHeader(id, tagInteger, intLen(int64(w.nextID)))
	id = appendIntBody(id, int64(w.nextID))
	msg := appendHeader(make([]byte, 0, len(op)+len(id)+12), tagSequence, len(id)+len(op))
	msg = append(append(msg, id...), op...)
	w.out = msg
	_, err := w.nc.Write(msg)
	if err != nil {
		return goldap.NewError(goldap.ErrorNetwork, err)
	}
	return nil
}

// appendTLV appends an element whose content fill appends.
func (w *wireConn) appendTLV(tag byte, fill func()) {
	start := len(w.out)
	fill()
	body := append([]byte(nil), w.out[start:]...)
	w.out = appendHeader(w.out[:start], tag, len(body))
	w.out = append(w.out, body...)
}

func (w *wireConn) appendString(tag byte, s string) {
	w.out = appendHeader(w.out, tag, len(s))
	w.out = append(w.out, s...)
}

func (w *wireConn) appendBytes(tag byte, b []byte) {
	w.out = appendHeader(w.out, tag, len(b))
	w.out = append(w.out, b...)
}

func (w *wireConn) appendInt(tag byte, v int64) {
	w.out = appendHeader(w.out, tag, intLen(v))
	w.out = appendIntBody(w.out, v)
}

// appendHeader appends a tag and a definite length.
func appendHeader(b []byte, tag byte, n int) []byte {
	b = append(b, tag)
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n <= 0xff:
		return append(b, 0x81, byte(n))
	case n <= 0xffff:
		return append(b, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// intLen is the length of v's shortest two's-complement encoding.
func intLen(v int64) int {
	n := 1
	for v > 127 || v < -128 {
		v >>= 8
		n++
	}
	return n
}

func appendIntBody(b []byte, v int64) []byte {
	for i := intLen(v) - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// read reads one LDAPMessage and returns its protocol operation's tag and content, and
// the content of its controls (nil without). The slices alias w.msg: they are valid until
// the next read.
func (w *wireConn) read() (op byte, body, controls []byte, err error) {
	tag, err := w.br.ReadByte()
	if err != nil {
		return 0, nil, nil, goldap.NewError(goldap.ErrorNetwork, err)
	}
	n, err := w.readLength()
	if err != nil {
		return 0, nil, nil, err
	}
	if tag != tagSequence {
		return 0, nil, nil, goldap.NewError(goldap.ErrorNetwork, fmt.Errorf("%w: message starts with tag %#x", errMalformed, tag))
	}
	if cap(w.msg) < n {
		w.msg = make([]byte, n, max(n, 2*cap(w.msg)))
	}
	w.msg = w.msg[:n]
	if _, err := io.ReadFull(w.br, w.msg); err != nil {
		return 0, nil, nil, goldap.NewError(goldap.ErrorNetwork, err)
	}
	d := decoder{b: w.msg}
	idTag, id := d.next()
	op, body = d.next()
	if d.err != nil || idTag != tagInteger {
		return 0, nil, nil, goldap.NewError(goldap.ErrorNetwork, fmt.Errorf("%w: bad message envelope", errMalformed))
	}
	if msgID, ok := parseInt(id); !ok || msgID != int64(w.nextID) {
		// Message ID 0 is an unsolicited notification: the server is closing the connection.
		why := fmt.Errorf("unexpected message (ID %d, type %#x) from the server", msgID, op)
		if err := resultError(body); err != nil {
			why = fmt.Errorf("%w: %w", why, err)
		}
		return 0, nil, nil, goldap.NewError(goldap.ErrorNetwork, why)
	}
	if len(d.b) > 0 {
		tag, c := d.next()
		if d.err == nil && tag == tagControls {
			controls = c
		}
	}
	return op, body, controls, nil
}

func (w *wireConn) readLength() (int, error) {
	b, err := w.br.ReadByte()
	if err != nil {
		return 0, goldap.NewError(goldap.ErrorNetwork, err)
	}
	if b < 0x80 {
		return int(b), nil
	}
	k := int(b & 0x7f)
	if k == 0 || k > 4 {
		return 0, goldap.NewError(goldap.ErrorNetwork, fmt.Errorf("%w: length of %d bytes", errMalformed, k))
	}
	n := 0
	for range k {
		b, err := w.br.ReadByte()
		if err != nil {
			return 0, goldap.NewError(goldap.ErrorNetwork, err)
		}
		n = n<<8 | int(b)
	}
	if n > maxMessage {
		return 0, goldap.NewError(goldap.ErrorNetwork, fmt.Errorf("%w: a message of %d bytes", errMalformed, n))
	}
	return n, nil
}

// decoder walks the elements of a BER encoding in place. After an error every next
// returns nothing.
type decoder struct {
	b   []byte
	err error
}

// next returns the next element's tag and content.
func (d *decoder) next() (byte, []byte) {
	if d.err != nil {
		return 0, nil
	}
	if len(d.b) < 2 {
		d.err = errMalformed
		return 0, nil
	}
	tag, n, i := d.b[0], int(d.b[1]), 2
	if n >= 0x80 {
		k := n & 0x7f
		if k == 0 || k > 4 || len(d.b) < 2+k {
			d.err = errMalformed
			return 0, nil
		}
		n = 0
		for _, c := range d.b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		i += k
	}
	if n < 0 || n > len(d.b)-i {
		d.err = errMalformed
		return 0, nil
	}
	v := d.b[i : i+n : i+n]
	d.b = d.b[i+n:]
	return tag, v
}

// parseInt decodes a BER integer of at most 8 bytes.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 8 {
		return 0, false
	}
	v := int64(int8(b[0]))
	for _, c := range b[1:] {
		v = v<<8 | int64(c)
	}
	return v, true
}

// resultError decodes an LDAPResult and returns nil for success, else a *goldap.Error
// carrying the result code, so that the one translation in errors.go applies.
func resultError(body []byte) error {
	d := decoder{b: body}
	tag, code := d.next()
	_, _ = d.next() // matchedDN
	_, diag := d.next()
	c, ok := parseInt(code)
	if d.err != nil || tag != tagEnumerated || !ok {
		return goldap.NewError(goldap.ErrorUnexpectedResponse, fmt.Errorf("%w: bad LDAPResult", errMalformed))
	}
	if c == goldap.LDAPResultSuccess {
		return nil
	}
	msg := goldap.LDAPResultCodeMap[uint16(c)]
	if msg == "" {
		msg = "result code " + strconv.FormatInt(c, 10)
	}
	if len(diag) > 0 {
		msg += ": " + string(diag)
	}
	return goldap.NewError(uint16(c), errors.New(msg))
}

// oidPaging is the simple paged results control (RFC 2696).
const oidPaging = "1.2.840.113556.1.4.319"

// wireEntry is one SearchResultEntry decoded in place: every slice aliases the message
// buffer and is valid until the next read.
type wireEntry struct {
	dn    []byte
	attrs []wireAttr
	vals  [][]byte // backing of the attributes' values, reused
}

type wireAttr struct {
	name     []byte
	values   [][]byte
	first, n int // values is vals[first:first+n]
}

// searchPage sends one page's search request.
func (w *wireConn) searchPage(cfg *config, filter []byte, attrs []string, cookie []byte) error {
	w.out = w.out[:0]
	w.appendTLV(tagSearchRequest, func() {
		w.appendString(tagOctetString, cfg.baseDN)
		w.appendInt(tagEnumerated, int64(cfg.scope))
		w.appendInt(tagEnumerated, goldap.NeverDerefAliases)
		w.appendInt(tagInteger, 0) // size limit
		w.appendInt(tagInteger, 0) // time limit
		w.out = append(w.out, tagBoolean, 1, 0)
		w.out = append(w.out, filter...)
		w.appendTLV(tagSequence, func() {
			for _, a := range attrs {
				w.appendString(tagOctetString, a)
			}
		})
	})
	w.appendTLV(tagControls, func() {
		w.appendTLV(tagSequence, func() {
			w.appendString(tagOctetString, oidPaging)
			w.appendTLV(tagOctetString, func() {
				w.appendTLV(tagSequence, func() {
					w.appendInt(tagInteger, int64(cfg.pageSize))
					w.appendBytes(tagOctetString, cookie)
				})
			})
		})
	})
	return w.send()
}

// decodeEntry decodes a SearchResultEntry's content into e.
func decodeEntry(body []byte, e *wireEntry) error {
	d := decoder{b: body}
	tag, dn := d.next()
	tag2, attrs := d.next()
	if d.err != nil || tag != tagOctetString || tag2 != tagSequence {
		return fmt.Errorf("%w: bad SearchResultEntry", errMalformed)
	}
	e.dn, e.attrs, e.vals = dn, e.attrs[:0], e.vals[:0]
	ad := decoder{b: attrs}
	for len(ad.b) > 0 {
		tag, attr := ad.next()
		pd := decoder{b: attr}
		ntag, name := pd.next()
		vtag, set := pd.next()
		if ad.err != nil || pd.err != nil || tag != tagSequence || ntag != tagOctetString || vtag != tagSet {
			return fmt.Errorf("%w: bad attribute in SearchResultEntry", errMalformed)
		}
		first := len(e.vals)
		vd := decoder{b: set}
		for len(vd.b) > 0 {
			vt, v := vd.next()
			if vd.err != nil || vt != tagOctetString {
				return fmt.Errorf("%w: bad value of %s", errMalformed, name)
			}
			e.vals = append(e.vals, v)
		}
		e.attrs = append(e.attrs, wireAttr{name: name, first: first, n: len(e.vals) - first})
	}
	// Point the attributes at their values only now: e.vals may have moved while growing.
	for k := range e.attrs {
		a := &e.attrs[k]
		a.values = e.vals[a.first : a.first+a.n : a.first+a.n]
	}
	return nil
}

// pagingCookie finds the paging control among a SearchResultDone's controls and returns
// its cookie; ok is false without one.
func pagingCookie(controls []byte) (cookie []byte, ok bool) {
	d := decoder{b: controls}
	for len(d.b) > 0 {
		tag, ctrl := d.next()
		if d.err != nil || tag != tagSequence {
			return nil, false
		}
		cd := decoder{b: ctrl}
		_, oid := cd.next()
		if cd.err != nil || string(oid) != oidPaging {
			continue
		}
		var value []byte
		for len(cd.b) > 0 {
			if t, v := cd.next(); t == tagOctetString {
				value = v
			}
		}
		vd := decoder{b: value}
		_, seq := vd.next()
		sd := decoder{b: seq}
		_, _ = sd.next() // the server's size estimate
		t, c := sd.next()
		if vd.err != nil || sd.err != nil || t != tagOctetString {
			return nil, false
		}
		return c, true
	}
	return nil, false
}
