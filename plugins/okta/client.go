package okta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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

// Retry timing. A throttled request waits what Retry-After or X-Rate-Limit-Reset says
// (at most maxRetryAfter); one without either, or a failed one, waits an exponential
// back-off with jitter: between half and all of baseBackoff·2^attempt, capped at
// maxBackoff.
const (
	baseBackoff   = time.Second
	maxBackoff    = time.Minute
	maxRetryAfter = 10 * time.Minute
	// renewBefore: an access token is renewed this long before it expires (Okta's live
	// an hour).
	renewBefore = 2 * time.Minute
	// maxBody bounds one answer: a page of 200 users with big custom profiles is well
	// under a MiB.
	maxBody = 64 << 20
)

// clock is what the client waits with; tests inject one that does not sleep.
type clock struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// client sends the requests of one read or check: authenticated, at most cfg.rate a
// second, pausing when Okta says the rate limit's window is used up, and retried when
// throttled or failed.
type client struct {
	cfg     *config
	http    *http.Client
	tokens  *tokencache.Cache // nil with an API token
	limiter *rate.Limiter
	clock   clock
	jitter  func(n int64) int64
	log     *slog.Logger
	// resumeAt: X-Rate-Limit-Remaining was 0, so no request goes out before this
	// (on the connector's clock).
	resumeAt time.Time
}

// newClient returns a client for one read or check; its tokens are fetched with ctx.
func newClient(ctx context.Context, cfg *config, clk clock, log *slog.Logger) *client {
	hc := apihttp.NewClient(cfg.roots, defaultTimeout) // no redirects: they would carry the credentials along
	c := &client{
		cfg:     cfg,
		http:    hc,
		limiter: rate.NewLimiter(rate.Limit(cfg.rate), 1),
		clock:   clk,
		jitter:  rand.Int64N,
		log:     log,
	}
	if cfg.key != nil {
		// Renewal goes by time.Now, as oauth2 dates the token's expiry.
		c.tokens = tokencache.New(&fetcher{cfg: cfg, ctx: context.WithValue(ctx, oauth2.HTTPClient, hc), now: clk.now}, renewBefore, time.Now)
	}
	return c
}

// fetcher fetches a new access token on every call, with a new client assertion (a
// JWT signed with the app's key, RFC 7523 §2.2), as Okta's service apps authenticate
// (private_key_jwt). cc.TokenSource would cache the token where one Okta rejected
// could not be dropped.
type fetcher struct {
	cfg *config
	ctx context.Context
	now func() time.Time
}

func (f *fetcher) Token() (*oauth2.Token, error) {
	assertion, err := clientAssertion(f.cfg, f.now())
	if err != nil {
		return nil, err
	}
	cc := &clientcredentials.Config{
		ClientID: f.cfg.clientID, TokenURL: f.cfg.tokenURL, Scopes: f.cfg.scopes,
		EndpointParams: url.Values{
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {assertion},
		},
		AuthStyle: oauth2.AuthStyleInParams, // no secret: nothing for a Basic header
	}
	return cc.Token(f.ctx)
}

// oktaError is an error answer of Okta: its status and, when the body says, the
// errorCode and errorSummary of its error object.
type oktaError struct {
	Status  int
	Code    string
	Summary string
}

func (e *oktaError) Error() string {
	s := fmt.Sprintf("HTTP %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Summary != "" {
		s += ": " + e.Summary
	}
	return s
}

// decodeOktaError reads Okta's error object ({"errorCode", "errorSummary", …}).
func decodeOktaError(status int, body []byte) *oktaError {
	var doc struct {
		Code    string `json:"errorCode"`
		Summary string `json:"errorSummary"`
	}
	_ = json.Unmarshal(body, &doc) // an unreadable body leaves only the status
	return &oktaError{Status: status, Code: apihttp.Shorten(doc.Code, 40), Summary: apihttp.Shorten(doc.Summary, 300)}
}

// answer is a 200 answer: its body and headers.
type answer struct {
	body   []byte
	header http.Header
}

// get fetches u and returns its 200 answer. It waits for the rate limit (and for the
// window's reset when Okta said none is left), authenticates, retries throttled and
// failed requests up to max_retries times, and renews an OAuth token Okta rejects
// once.
func (c *client) get(ctx context.Context, u string) (*answer, error) {
	var got *answer
	renewed := false
	policy := retry.Policy{MaxRetries: c.cfg.maxRetries, Backoff: c.backoff, Sleep: c.clock.sleep, GiveUp: ErrUnavailable,
		OnRetry: func(ctx context.Context, n int, wait time.Duration, err error) {
			// The URL without its query, the error without credentials: nothing secret.
			c.log.WarnContext(ctx, "Okta request failed; retrying", "request", "GET "+apihttp.Redact(u), "error", err.Error(),
				"retry", n, "of", c.cfg.maxRetries, "in", wait.String())
		}}
	err := policy.Do(ctx, func(ctx context.Context) (time.Duration, error) {
		for {
			if err := c.waitTurn(ctx); err != nil {
				return 0, retry.Stop(err)
			}
			ans, status, err := c.once(ctx, u)
			if err == nil {
				c.noteRemaining(ans.header)
			}
			switch {
			case err == nil && status == http.StatusOK:
				got = ans
				return 0, nil
			case errors.Is(err, ErrCredentials):
				return 0, retry.Stop(err)
			case err != nil: // the network, or a token endpoint that is throttled or down
				return 0, err
			case status == http.StatusUnauthorized && c.tokens != nil && !renewed:
				// The token lapsed (or was revoked) before its expiry said: renew it and
				// try again at once; a second 401 is the credentials' fault.
				renewed = true
				c.tokens.Drop()
				continue
			case status == http.StatusUnauthorized:
				return 0, retry.Stop(fmt.Errorf("%w (check api_token, or the app's client_id and key): %w", ErrCredentials, decodeOktaError(status, ans.body)))
			case status == http.StatusForbidden:
				return 0, retry.Stop(fmt.Errorf("%w (an API token's admin needs read access to users; a service app needs the okta.users.read scope granted and an admin role): %w",
					ErrForbidden, decodeOktaError(status, ans.body)))
			case retry.Retryable(status):
				return c.retryWait(ans.header, status), decodeOktaError(status, ans.body)
			default:
				return 0, retry.Stop(decodeOktaError(status, ans.body))
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return got, nil
}

// waitTurn waits for the request rate limit and for a window Okta said was used up.
func (c *client) waitTurn(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !c.resumeAt.IsZero() {
		if d := c.resumeAt.Sub(c.clock.now()); d > 0 {
			if err := c.clock.sleep(ctx, d); err != nil {
				return ctxOr(ctx, err)
			}
		}
		c.resumeAt = time.Time{}
	}
	if err := c.limiter.Wait(ctx); err != nil {
		return ctxOr(ctx, err)
	}
	return nil
}

// noteRemaining reads X-Rate-Limit-Remaining: at 0, the next request waits for the
// window's reset instead of earning a 429.
func (c *client) noteRemaining(h http.Header) {
	if strings.TrimSpace(h.Get("X-Rate-Limit-Remaining")) != "0" {
		return
	}
	if d, ok := untilReset(h, c.clock.now()); ok {
		c.resumeAt = c.clock.now().Add(min(d, maxRetryAfter))
	}
}

// retryWait is how long a throttled or failing request waits before it is sent again:
// what Retry-After says, else for a 429 the time until X-Rate-Limit-Reset, capped at
// maxRetryAfter; 0 when Okta says neither (then the back-off decides).
func (c *client) retryWait(h http.Header, status int) time.Duration {
	now := c.clock.now()
	if d, ok := retry.After(h.Get("Retry-After"), now); ok {
		return min(max(d, time.Millisecond), maxRetryAfter)
	}
	if status == http.StatusTooManyRequests {
		if d, ok := untilReset(h, now); ok {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}

// untilReset reads X-Rate-Limit-Reset, the epoch second at which Okta's rate limit
// window resets, as a wait. It is measured against the answer's Date (Okta's clock, so
// that a skewed local clock neither hammers nor stalls), or now without one. A reset
// already past waits a second: the window's end is only known to the second.
func untilReset(h http.Header, now time.Time) (time.Duration, bool) {
	s, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-Rate-Limit-Reset")), 10, 64)
	if err != nil || s <= 0 {
		return 0, false
	}
	at := now
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		at = d
	}
	d := time.Unix(s, 0).Sub(at)
	if d < time.Second {
		d = time.Second
	}
	return d, true
}

// once sends one authenticated GET. A non-200 answer comes with its body, for the
// error object.
func (c *client) once(ctx context.Context, u string) (*answer, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("request %s: %w", apihttp.Redact(u), err)
	}
	if c.tokens != nil {
		tok, err := c.tokens.Token()
		if err != nil {
			return nil, 0, tokenError(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	} else {
		req.Header.Set("Authorization", "SSWS "+c.cfg.apiToken)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrUnreachable, apihttp.RedactURL(err))
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		// A body cut off is a failed request like any other: it is retried.
		return nil, 0, fmt.Errorf("%w: reading the answer: %w", ErrUnreachable, apihttp.RedactURL(err))
	}
	if len(body) > maxBody {
		return nil, 0, fmt.Errorf("%w: an answer of more than %d MiB", ErrProtocol, maxBody>>20)
	}
	return &answer{body: body, header: resp.Header}, resp.StatusCode, nil
}

// tokenError explains a failed token request without its body, which a misbehaving
// endpoint could fill with anything. Rejections are ErrCredentials, not retried; a
// throttled or failing token endpoint is retried like the API.
func tokenError(err error) error {
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
			detail += ": " + apihttp.Shorten(re.ErrorDescription, 300)
		}
		if detail == "" {
			detail = fmt.Sprintf("HTTP %d", status)
		}
		return fmt.Errorf("%w (check client_id, the app's public key and key_id, and the scopes granted): the token endpoint says %s", ErrCredentials, detail)
	}
	return fmt.Errorf("token endpoint: %w", apihttp.RedactURL(err))
}

// backoff is the wait before retry attempt+1.
func (c *client) backoff(attempt int) time.Duration {
	return retry.Backoff(attempt, baseBackoff, maxBackoff, c.jitter)
}

func ctxOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// sameOrigin reports whether link points at the org's users API: the only place the
// connector sends its credentials.
func (c *client) sameOrigin(link string) bool {
	u, err := url.Parse(link)
	return err == nil && u.Scheme == c.cfg.org.Scheme && strings.EqualFold(u.Host, c.cfg.org.Host) &&
		u.User == nil && u.Path == usersPath
}
