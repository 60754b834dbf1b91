package scim

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/peoplesync/peoplesync/plugins/internal/apihttp"
	"github.com/peoplesync/peoplesync/plugins/internal/retry"
)

const (
	// baseBackoff and maxBackoff bound the exponential back-off between retries that the
	// service gives no Retry-After for: 1 s, 2 s, 4 s … 60 s, each with equal jitter (a
	// random half of it added to the other half), so that many clients do not retry in step.
	baseBackoff = time.Second
	maxBackoff  = time.Minute
	// maxRetryAfter is the longest Retry-After the connector waits; a service that asks for
	// more fails the read at once, rather than holding the run for an hour.
	maxRetryAfter = 5 * time.Minute
	// maxErrorBody is how much of an error answer is read for its SCIM error message.
	maxErrorBody = 64 << 10
)

// clock is the time the client waits in: the real one, or a test's, so that tests of
// throttling and back-off never sleep.
type clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx ends, whichever is first, and returns ctx's error
	// in the second case.
	Sleep(ctx context.Context, d time.Duration) error
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error { return retry.Sleep(ctx, d) }

// StatusError is an error answer of the service: its HTTP status and, when the body is
// a SCIM error (RFC 7644 §3.12), its scimType and detail.
type StatusError struct {
	Status   int
	SCIMType string
	Detail   string
}

// Error says the status, the SCIM type and detail, and for 401 and 403 what to check.
func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
	if e.SCIMType != "" {
		fmt.Fprintf(&b, " (scimType %s)", e.SCIMType)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	switch e.Status {
	case http.StatusUnauthorized:
		b.WriteString("; check token, or username and password")
	case http.StatusForbidden:
		b.WriteString("; the credentials may not read /Users")
	}
	return b.String()
}

// client sends the connector's GET requests: authenticated, at most at the configured
// rate, and retried with back-off after throttling, 5xx answers and network errors.
type client struct {
	cfg     *config
	http    *http.Client
	limiter *rate.Limiter // nil: no limit
	clock   clock
	jitter  func(n int64) int64 // a random number in [0, n)
	log     *slog.Logger
	// noReadAhead turns off asking for the next page while one is decoded (for the
	// benchmark that measures what asking ahead brings).
	noReadAhead bool
}

func newClient(cfg *config, transport http.RoundTripper, clk clock, log *slog.Logger) *client {
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		if cfg.roots != nil {
			t.TLSClientConfig = &tls.Config{RootCAs: cfg.roots, MinVersion: tls.VersionTLS12}
		}
		transport = t
	}
	c := &client{
		cfg:    cfg,
		http:   &http.Client{Transport: transport, CheckRedirect: noRedirects},
		clock:  clk,
		jitter: rand.Int64N,
		log:    log,
	}
	if cfg.rps > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(cfg.rps), 1)
	}
	return c
}

// noRedirects stops redirects: a redirect would send the credentials to wherever the
// Location header points, and a SCIM service has no reason to redirect a GET of /Users.
func noRedirects(req *http.Request, _ []*http.Request) error {
	return fmt.Errorf("the service redirects to %s; set url to the SCIM base URL itself", req.URL.Redacted())
}

// endpoint returns the URL of path (relative to the base URL) with query.
func (c *client) endpoint(path string, query url.Values) *url.URL {
	u := c.cfg.base.JoinPath(path)
	u.RawQuery = query.Encode()
	return u
}

// get sends a GET of u until it succeeds, fails for good, or runs out of retries. On
// success the caller reads and closes the body; the request's timeout covers the body.
// Errors name the request once; the caller adds nothing about it.
func (c *client) get(ctx context.Context, u *url.URL) (io.ReadCloser, error) {
	what := "GET " + u.Redacted()
	for attempt := 0; ; attempt++ {
		if err := c.waitTurn(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		body, retryAfter, err := c.try(ctx, u)
		if err == nil {
			return body, nil
		}
		var se *StatusError
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("%s: %w", what, ctx.Err())
		case errors.As(err, &se) && !retry.Retryable(se.Status):
			return nil, fmt.Errorf("%s: %w", what, err)
		case errors.Is(err, errNotSCIM):
			return nil, fmt.Errorf("%s: %w", what, err)
		case attempt >= c.cfg.maxRetries:
			return nil, fmt.Errorf("%s: %w (gave up after %d retries)", what, err, attempt)
		}
		delay := retryAfter
		if delay < 0 {
			delay = c.backoff(attempt)
		} else if delay > maxRetryAfter {
			return nil, fmt.Errorf("%s: %w, and Retry-After asks to wait %s, more than the %s the connector waits", what, err, delay, maxRetryAfter)
		}
		c.log.WarnContext(ctx, "SCIM request failed; retrying", "request", what, "error", err.Error(),
			"retry", attempt+1, "of", c.cfg.maxRetries, "in", delay.String())
		if err := c.clock.Sleep(ctx, delay); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
}

// errNotSCIM marks a successful answer that is not JSON (a login page, say): sending the
// request again would not help.
var errNotSCIM = errors.New("the answer is not SCIM JSON")

// try sends one request. A failure comes with the delay the service asked for in
// Retry-After, or -1 when it gave none.
func (c *client) try(ctx context.Context, u *url.URL) (io.ReadCloser, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.timeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, -1, err
	}
	req.Header.Set("Accept", "application/scim+json, application/json")
	switch {
	case c.cfg.token != "":
		req.Header.Set("Authorization", "Bearer "+c.cfg.token)
	case c.cfg.username != "":
		req.SetBasicAuth(c.cfg.username, c.cfg.password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		cancel()
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL, which get's error names already
		}
		return nil, -1, err
	}
	if resp.StatusCode/100 != 2 {
		defer cancel()
		defer func() { _ = resp.Body.Close() }()
		return nil, c.retryAfter(resp.Header.Get("Retry-After")), statusError(resp)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		if mt != "application/scim+json" && mt != "application/json" {
			_ = resp.Body.Close()
			cancel()
			return nil, -1, fmt.Errorf("%w: Content-Type is %s, not application/scim+json", errNotSCIM, ct)
		}
	}
	return &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}, -1, nil
}

// cancelOnClose is a response body that ends its request's context when closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

// Close reads what is left of a small tail first (the decoder stops at the closing
// brace, before the end of the chunked body), so that the connection is reused and
// the next page costs no new TLS handshake.
func (b *cancelOnClose) Close() error {
	_, _ = io.Copy(io.Discard, io.LimitReader(b.ReadCloser, 4<<10))
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// statusError reads an error answer: a SCIM error (RFC 7644 §3.12) whose status is a
// string, as the RFC says, or a number, as some services send it; or any other body, of
// which a short text is kept.
func statusError(resp *http.Response) *StatusError {
	se := &StatusError{Status: resp.StatusCode}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var e struct {
		SCIMType string `json:"scimType"`
		Detail   string `json:"detail"`
	}
	if json.Unmarshal(body, &e) == nil {
		se.SCIMType, se.Detail = e.SCIMType, e.Detail
	}
	se.Detail = apihttp.Shorten(se.Detail, 300)
	return se
}

// retryAfter reads a Retry-After header (RFC 9110 §10.2.3): delay seconds or an HTTP
// date; -1 when it is absent or unreadable.
func (c *client) retryAfter(v string) time.Duration {
	d, ok := retry.After(v, c.clock.Now())
	switch {
	case !ok:
		return -1
	case d > maxRetryAfter+time.Second:
		return maxRetryAfter + time.Second // more than the connector waits
	}
	return max(d, 0)
}

// backoff is the wait before retry attempt+1 when the service named none: exponential,
// with equal jitter.
func (c *client) backoff(attempt int) time.Duration {
	return retry.Backoff(attempt, baseBackoff, maxBackoff, c.jitter)
}

// waitTurn waits until the rate limit allows the next request.
func (c *client) waitTurn(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.limiter == nil {
		return nil
	}
	now := c.clock.Now()
	r := c.limiter.ReserveN(now, 1)
	if !r.OK() {
		return errors.New("the request rate limit allows no request")
	}
	if d := r.DelayFrom(now); d > 0 {
		return c.clock.Sleep(ctx, d)
	}
	return nil
}
