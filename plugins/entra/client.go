package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/time/rate"

	"github.com/peoplesync/peoplesync/plugins/internal/apihttp"
	"github.com/peoplesync/peoplesync/plugins/internal/retry"
	"github.com/peoplesync/peoplesync/plugins/internal/tokencache"
)

// Retry timing. A throttled request waits what Retry-After says (at most maxRetryAfter);
// one without it, or a failed one, waits an exponential back-off with jitter: a random
// time between half and all of baseBackoff·2^attempt, capped at maxBackoff.
const (
	baseBackoff   = time.Second
	maxBackoff    = time.Minute
	maxRetryAfter = 10 * time.Minute
	// renewBefore: a token is renewed this long before it expires, so that no request
	// goes out with a token about to lapse (Entra's tokens live 60–90 minutes).
	renewBefore = 2 * time.Minute
	// maxBody bounds one response: a page of 999 users is a few MiB.
	maxBody = 64 << 20
)

// clock is what the client tells time and waits with; tests inject one that does not
// sleep. A token's expiry, the rate limit and the retries all go by it.
type clock struct {
	now func() time.Time
	// sleep is a retry's wait.
	sleep func(ctx context.Context, d time.Duration) error
	// pace is the rate limit's wait: the same sleep in production, apart so that a
	// test can tell the spacing of requests from their retries.
	pace func(ctx context.Context, d time.Duration) error
}

// client sends the requests of one read or check: each with a fresh enough token, at
// most cfg.rate a second, retried when throttled or failed.
type client struct {
	cfg     *config
	http    *http.Client
	tokens  *tokencache.Cache
	limiter *rate.Limiter
	clock   clock
}

// newClient returns a client for one read or check; its tokens are fetched with ctx.
func newClient(ctx context.Context, cfg *config, clk clock) *client {
	hc := apihttp.NewClient(cfg.roots, defaultHTTPTimeout) // no redirects: they would carry the bearer token along
	return &client{
		cfg:     cfg,
		http:    hc,
		tokens:  tokencache.New(fetcher{cfg, context.WithValue(ctx, oauth2.HTTPClient, hc), clk.now}, renewBefore, clk.now),
		limiter: rate.NewLimiter(rate.Limit(cfg.rate), 1),
		clock:   clk,
	}
}

// fetcher fetches a new token on every call (clientcredentials' TokenSource would
// cache it where a token Graph rejected could not be dropped), authenticating with the
// client secret or with a client assertion made for this request and signed with the
// certificate's key (the "certificate credentials" of the Microsoft identity platform).
// It dates the token's expiry on the connector's clock, from the moment it asked.
type fetcher struct {
	cfg *config
	ctx context.Context
	now func() time.Time
}

func (f fetcher) Token() (*oauth2.Token, error) {
	asked := f.now()
	cc := &clientcredentials.Config{
		ClientID: f.cfg.clientID, ClientSecret: f.cfg.clientSecret, TokenURL: f.cfg.tokenURL,
		Scopes: []string{f.cfg.scope},
		// Entra takes the credentials in the form body; auto-detection would send a
		// rejected header first on every failure.
		AuthStyle: oauth2.AuthStyleInParams,
	}
	if f.cfg.cert != nil {
		assertion, err := clientAssertion(f.cfg, asked)
		if err != nil {
			return nil, err
		}
		cc.EndpointParams = url.Values{"client_assertion_type": {assertionType}, "client_assertion": {assertion}}
	}
	tok, err := cc.Token(f.ctx)
	if err != nil {
		return nil, err
	}
	if life, ok := expiresIn(tok); ok {
		tok.Expiry = asked.Add(life)
	} else if !tok.Expiry.IsZero() { // oauth2 dated it by time.Now: move it to our clock
		tok.Expiry = asked.Add(time.Until(tok.Expiry))
	}
	return tok, nil
}

// expiresIn reads the answer's expires_in (seconds; clientcredentials keeps it only
// among the token's extras: a number in JSON, text in a form-encoded answer).
func expiresIn(tok *oauth2.Token) (time.Duration, bool) {
	var secs float64
	switch v := tok.Extra("expires_in").(type) {
	case float64:
		secs = v
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false
		}
		secs = float64(n)
	default:
		return 0, false
	}
	if secs <= 0 || secs > 366*24*3600 {
		return 0, false
	}
	return time.Duration(secs) * time.Second, true
}

// graphError is an error answer of Graph: its status and, when the body says, the
// code and message of its error object.
type graphError struct {
	Status  int
	Code    string
	Message string
}

func (e *graphError) Error() string {
	s := fmt.Sprintf("HTTP %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// decodeGraphError reads Graph's error object ({"error": {"code", "message"}}).
func decodeGraphError(status int, body []byte) *graphError {
	var doc struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &doc) // an unreadable body leaves only the status
	msg := doc.Error.Message
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return &graphError{Status: status, Code: doc.Error.Code, Message: msg}
}

// get fetches u and returns the body of its 200 answer, with the answer's content type.
// It waits for the rate limit, authenticates, retries throttled and failed requests up
// to max_retries times, and renews a token Graph rejects once. A 404 comes back as a
// *graphError wrapping nothing, for the caller to read (no manager, no photo).
func (c *client) get(ctx context.Context, u string) ([]byte, string, error) {
	var body []byte
	var ctype string
	renewed := false
	policy := retry.Policy{MaxRetries: c.cfg.maxRetries, Backoff: backoff, Sleep: c.clock.sleep, GiveUp: ErrUnavailable}
	err := policy.Do(ctx, func(ctx context.Context) (time.Duration, error) {
		for {
			if err := c.wait(ctx); err != nil {
				return 0, retry.Stop(err)
			}
			b, ct, status, hdr, err := c.once(ctx, u)
			switch {
			case err == nil && status == http.StatusOK:
				body, ctype = b, ct
				return 0, nil
			case errors.Is(err, ErrCredentials):
				return 0, retry.Stop(err)
			case err != nil: // the network, or a token endpoint that is throttled or down
				return 0, err
			case status == http.StatusUnauthorized && !renewed:
				// The token lapsed (or was revoked) before its expiry said: renew it and
				// try again at once; a second 401 is the credentials' fault.
				renewed = true
				c.tokens.Drop()
				continue
			case status == http.StatusUnauthorized:
				return 0, retry.Stop(fmt.Errorf("%w: Graph rejects the app's new token too: %w", ErrCredentials, decodeGraphError(status, b)))
			case status == http.StatusForbidden:
				return 0, retry.Stop(fmt.Errorf("%w (grant the app the User.Read.All application permission, with admin consent): %w", ErrForbidden, decodeGraphError(status, b)))
			case retry.Retryable(status):
				return retryAfter(hdr, c.clock.now()), decodeGraphError(status, b)
			default:
				return 0, retry.Stop(decodeGraphError(status, b))
			}
		}
	})
	if err != nil {
		return nil, "", err
	}
	return body, ctype, nil
}

// wait waits until the rate limit lets one more request go, on the client's clock
// (rate.Limiter's Wait would go by time.Now).
func (c *client) wait(ctx context.Context) error {
	now := c.clock.now()
	r := c.limiter.ReserveN(now, 1)
	if !r.OK() { // cannot happen with a burst of 1; says so rather than sending
		return errors.New("rate limit: no request may go")
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	if err := c.clock.pace(ctx, d); err != nil {
		r.CancelAt(c.clock.now()) // give back the slot it never used
		return err
	}
	return nil
}

// once sends one authenticated GET.
func (c *client) once(ctx context.Context, u string) (body []byte, ctype string, status int, hdr http.Header, err error) {
	tok, err := c.tokens.Token()
	if err != nil {
		return nil, "", 0, nil, tokenError(c.cfg, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", 0, nil, fmt.Errorf("request %s: %w", u, err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, "", 0, nil, fmt.Errorf("%w: %w", ErrUnreachable, apihttp.RedactURL(err))
	}
	defer func() { _ = resp.Body.Close() }()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		// A body cut off is a failed request like any other: it is retried.
		return nil, "", 0, nil, fmt.Errorf("%w: reading the answer: %w", ErrUnreachable, err)
	}
	if len(body) > maxBody {
		return nil, "", 0, nil, fmt.Errorf("an answer of more than %d MiB", maxBody>>20)
	}
	return body, resp.Header.Get("Content-Type"), resp.StatusCode, resp.Header, nil
}

// tokenError explains a failed token request without its body, which a misbehaving
// endpoint could fill with anything. Rejections are ErrCredentials, not retried; a
// throttled or failing token endpoint is retried like Graph.
func tokenError(cfg *config, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		if status != 0 && retry.Retryable(status) {
			return fmt.Errorf("token endpoint: HTTP %d", status)
		}
		detail := re.ErrorCode
		if re.ErrorDescription != "" {
			desc := re.ErrorDescription
			if i := strings.IndexAny(desc, "\r\n"); i >= 0 {
				desc = desc[:i] // Entra appends trace and correlation IDs on new lines
			}
			detail += ": " + desc
		}
		if detail == "" {
			detail = fmt.Sprintf("HTTP %d", status)
		}
		check := "tenant_id, client_id and client_secret"
		if cfg.cert != nil {
			check = "tenant_id, client_id, and that the app registration holds client_certificate"
		}
		return fmt.Errorf("%w (check %s): the token endpoint says %s", ErrCredentials, check, detail)
	}
	return fmt.Errorf("token endpoint: %w", apihttp.RedactURL(err))
}

// retryAfter reads a Retry-After header (seconds, or an HTTP date), capped at
// maxRetryAfter; 0 if there is none.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if strings.TrimSpace(v) == "" {
		return 0
	}
	d, ok := retry.After(v, now)
	if !ok || d <= 0 {
		return time.Millisecond // "now": still no tighter loop than the rate limit allows
	}
	return min(d, maxRetryAfter)
}

// backoff is the wait before retry attempt+1: between half and all of
// baseBackoff·2^attempt, capped at maxBackoff.
func backoff(attempt int) time.Duration {
	return retry.Backoff(attempt, baseBackoff, maxBackoff, rand.Int64N)
}

// sameOrigin reports whether link points at the configured Graph endpoint: the only
// place the connector sends its token.
func (c *client) sameOrigin(link string) bool {
	u, err := url.Parse(link)
	return err == nil && u.Scheme == c.cfg.graphURL.Scheme && strings.EqualFold(u.Host, c.cfg.graphURL.Host) &&
		strings.HasPrefix(u.Path, c.cfg.graphURL.Path+"/")
}

// isJSON reports whether a content type is JSON (Graph answers application/json with
// odata parameters).
func isJSON(ctype string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(ctype)), "application/json") || ctype == ""
}
