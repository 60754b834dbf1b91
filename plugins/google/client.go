package google

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"
	"golang.org/x/time/rate"

	"github.com/peoplesync/peoplesync/plugins/internal/apihttp"
	"github.com/peoplesync/peoplesync/plugins/internal/retry"
	"github.com/peoplesync/peoplesync/plugins/internal/tokencache"
)

// Retry timing. A throttled request waits what Retry-After says (at most maxRetryAfter);
// one without it, or a failed one, waits an exponential back-off with jitter: a random
// time between half and all of baseBackoff·2^attempt, capped at maxBackoff. Google's
// Directory API guide asks for exactly this on 403 userRateLimitExceeded and 5xx.
const (
	baseBackoff   = time.Second
	maxBackoff    = time.Minute
	maxRetryAfter = 10 * time.Minute
	// renewBefore: a token is renewed this long before it expires, so that no request
	// goes out with a token about to lapse (Google's access tokens live an hour).
	renewBefore = 2 * time.Minute
	// maxBody bounds one answer: a page of 500 users with every field is a few MiB.
	maxBody = 64 << 20
)

// rateLimitReasons are the reasons of a 403 that mean "slow down", not "forbidden"
// (the Directory API's limits page: userRateLimitExceeded, quotaExceeded; Google APIs'
// common rateLimitExceeded).
var rateLimitReasons = map[string]bool{
	"rateLimitExceeded": true, "userRateLimitExceeded": true, "quotaExceeded": true,
}

// clock is what the retries wait with; tests inject one that does not sleep.
type clock struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// client sends the requests of one read or check: each with a fresh enough token, at
// most cfg.rate a second, retried when throttled or failed.
type client struct {
	cfg     *config
	http    *http.Client
	tokens  *tokencache.Cache
	limiter *rate.Limiter
	clock   clock
	jitter  func(n int64) int64
}

// newClient returns a client for one read or check; its tokens are fetched with ctx.
func newClient(ctx context.Context, cfg *config, clk clock) *client {
	hc := apihttp.NewClient(cfg.roots, defaultHTTPTimeout) // no redirects: they would carry the token along
	return &client{
		cfg:  cfg,
		http: hc,
		// Renewal goes by time.Now, as oauth2 dates the token's expiry.
		tokens:  tokencache.New(fetcher{cfg.jwt, context.WithValue(ctx, oauth2.HTTPClient, hc)}, renewBefore, time.Now),
		limiter: rate.NewLimiter(rate.Limit(cfg.rate), 1),
		clock:   clk,
		jitter:  rand.Int64N,
	}
}

// fetcher signs a new assertion and asks for a new token on every call: the JWT
// config's own TokenSource caches tokens where one Google rejected could not be dropped.
type fetcher struct {
	jc  *jwt.Config
	ctx context.Context
}

func (f fetcher) Token() (*oauth2.Token, error) { return f.jc.TokenSource(f.ctx).Token() }

// apiError is an error answer of the Admin SDK: its status and, when the body says, the
// reason and message of Google's error object.
type apiError struct {
	Status  int
	Reason  string
	Message string
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("HTTP %d", e.Status)
	if e.Reason != "" {
		s += " " + e.Reason
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// decodeAPIError reads Google's error object: {"error": {"code", "message", "errors":
// [{"domain", "reason", "message"}], "status"}}.
func decodeAPIError(status int, body []byte) *apiError {
	var doc struct {
		Error struct {
			Message string `json:"message"`
			Status  string `json:"status"`
			Errors  []struct {
				Reason string `json:"reason"`
			} `json:"errors"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &doc) // an unreadable body leaves only the status
	e := &apiError{Status: status, Message: apihttp.Shorten(doc.Error.Message, 300)}
	if len(doc.Error.Errors) > 0 {
		e.Reason = doc.Error.Errors[0].Reason
	}
	if e.Reason == "" {
		e.Reason = doc.Error.Status
	}
	return e
}

// get fetches u and returns the body of its 200 answer. It waits for the rate limit,
// authenticates, retries throttled and failed requests up to max_retries times, and
// renews a token Google rejects once. A 404 comes back as an *apiError wrapping
// nothing, for the caller to read (no photo; no such customer).
func (c *client) get(ctx context.Context, u string) ([]byte, error) {
	var body []byte
	renewed := false
	policy := retry.Policy{MaxRetries: c.cfg.maxRetries, Backoff: c.backoff, Sleep: c.clock.sleep, GiveUp: ErrUnavailable}
	err := policy.Do(ctx, func(ctx context.Context) (time.Duration, error) {
		for {
			if err := c.limiter.Wait(ctx); err != nil {
				return 0, retry.Stop(err)
			}
			b, status, hdr, err := c.once(ctx, u)
			switch {
			case err == nil && status == http.StatusOK:
				body = b
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
				return 0, retry.Stop(fmt.Errorf("%w: Google rejects the new token too: %w", ErrCredentials, decodeAPIError(status, b)))
			case status == http.StatusForbidden:
				ae := decodeAPIError(status, b)
				if !rateLimitReasons[ae.Reason] {
					return 0, retry.Stop(fmt.Errorf("%w (subject must be an admin who may read users, and the Admin SDK API enabled in the service account's project): %w", ErrForbidden, ae))
				}
				return c.retryAfter(hdr), ae // a quota: back off, as the limits page asks
			case retry.Retryable(status):
				return c.retryAfter(hdr), decodeAPIError(status, b)
			default:
				return 0, retry.Stop(decodeAPIError(status, b))
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return body, nil
}

// backoff is the wait before retry attempt+1: between half and all of
// baseBackoff·2^attempt, capped at maxBackoff.
func (c *client) backoff(attempt int) time.Duration {
	return retry.Backoff(attempt, baseBackoff, maxBackoff, c.jitter)
}

// once sends one authenticated GET.
func (c *client) once(ctx context.Context, u string) (body []byte, status int, hdr http.Header, err error) {
	tok, err := c.tokens.Token()
	if err != nil {
		return nil, 0, nil, tokenError(err, c.cfg.clientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("request: %w", apihttp.RedactURL(err))
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%w: %w", ErrUnreachable, apihttp.RedactURL(err))
	}
	defer func() { _ = resp.Body.Close() }()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		// A body cut off is a failed request like any other: it is retried.
		return nil, 0, nil, fmt.Errorf("%w: reading the answer: %w", ErrUnreachable, err)
	}
	if len(body) > maxBody {
		return nil, 0, nil, fmt.Errorf("%w: an answer of more than %d MiB", ErrProtocol, maxBody>>20)
	}
	if resp.StatusCode == http.StatusOK && !isJSON(resp.Header.Get("Content-Type")) {
		return nil, 0, nil, fmt.Errorf("%w: content type %q, not JSON", ErrProtocol, resp.Header.Get("Content-Type"))
	}
	return body, resp.StatusCode, resp.Header, nil
}

// tokenError explains a failed token request. Google's token endpoint answers a bad
// assertion, an unknown subject or a missing delegation with 400 or 401 and an OAuth
// error ({"error", "error_description"}); those are ErrCredentials, not retried. A
// throttled or failing token endpoint is retried like the API. Nothing of the key or
// the assertion is in the message; clientID (the account's client_id, which is no
// secret) tells an admin what to delegate to.
func tokenError(err error, clientID string) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return fmt.Errorf("token endpoint: %w", apihttp.RedactURL(err))
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	if status != 0 && retry.Retryable(status) {
		return fmt.Errorf("token endpoint: HTTP %d", status)
	}
	var doc struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(re.Body, &doc)
	detail := doc.Error
	if detail == "" {
		detail = re.ErrorCode
	}
	if doc.Description != "" {
		detail += ": " + apihttp.Shorten(doc.Description, 200)
	}
	if detail == "" {
		detail = fmt.Sprintf("HTTP %d", status)
	}
	hint := "check credentials and subject"
	if doc.Error == "unauthorized_client" {
		hint = "in the Admin console, grant the service account's client ID " + clientID + " domain-wide delegation of " + scope
	}
	return fmt.Errorf("%w (%s): the token endpoint says %s", ErrCredentials, hint, detail)
}

// retryAfter reads a Retry-After header (seconds, or an HTTP date), capped at
// maxRetryAfter; 0 if there is none.
func (c *client) retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if strings.TrimSpace(v) == "" {
		return 0
	}
	d, ok := retry.After(v, c.clock.now())
	if !ok || d <= 0 {
		return time.Millisecond // "now": still no tighter loop than the rate limit allows
	}
	return min(d, maxRetryAfter)
}

// isJSON reports whether a content type is JSON (Google answers application/json;
// charset=UTF-8).
func isJSON(ctype string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(ctype)), "application/json") || ctype == ""
}
