package entra

// The token renewal and the request rate, on an injected clock against the fake of
// graph_test.go (which follows Microsoft's documents named there): tokens live
// expires_in seconds as the client credentials flow's answer says
// (identity-platform/v2-oauth2-client-creds-grant-flow.md), and Graph refuses an expired
// one with 401 InvalidAuthenticationToken.

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/plugins/internal/connectortesting"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// fakeClock is a connector clock that moves only when a test advances it or the
// connector waits; its waits take no real time.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	paces []time.Duration // the rate limit's waits
	waits []time.Duration // the retries' waits
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *fakeClock) pace(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.paces = append(c.paces, d)
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *fakeClock) clock() clock { return clock{now: c.now, sleep: c.sleep, pace: c.pace} }

// A token is renewed renewBefore it expires, by the connector's clock: not a moment
// earlier, and never later.
func TestTokenRenewedBeforeItExpires(t *testing.T) {
	f := newFakeGraph(t)
	clk := newFakeClock()
	f.now = clk.now
	f.expiresIn = 3600
	cfg, diags := parseConfig(f.config(nil))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	cl := newClient(context.Background(), cfg, clk.clock())
	issued := func() int {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.issued
	}

	first, err := cl.tokens.Token()
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.now().Add(time.Hour); !first.Expiry.Equal(want) {
		t.Errorf("token expires %v, want %v (expires_in after it was asked for)", first.Expiry, want)
	}
	clk.advance(time.Hour - renewBefore - time.Second)
	if tok, err := cl.tokens.Token(); err != nil || tok.AccessToken != first.AccessToken || issued() != 1 {
		t.Fatalf("%v before the renewal: %d fetches, same token %v (%v); want the cached one",
			renewBefore+time.Second, issued(), tok != nil && tok.AccessToken == first.AccessToken, err)
	}
	clk.advance(time.Second)
	second, err := cl.tokens.Token()
	if err != nil {
		t.Fatal(err)
	}
	if issued() != 2 || second.AccessToken == first.AccessToken {
		t.Fatalf("%v before expiry: %d fetches; want a new token", renewBefore, issued())
	}
	if tok, _ := cl.tokens.Token(); tok.AccessToken != second.AccessToken || issued() != 2 {
		t.Errorf("the new token is not reused: %d fetches", issued())
	}
	cl.tokens.Drop()
	if tok, _ := cl.tokens.Token(); tok.AccessToken == second.AccessToken || issued() != 3 {
		t.Errorf("after drop: %d fetches; want a new token", issued())
	}
}

// A read longer than a token's life renews the token ahead of its expiry: Graph never
// sees an expired one (no 401 and no retry) and every token still has more than
// renewBefore to live when it is used.
func TestReadRenewsTokenEarly(t *testing.T) {
	f := newFakeGraph(t)
	manyUsers(f, 40)
	clk := newFakeClock()
	f.now = clk.now
	f.expiresIn = 600
	f.fault = func(*http.Request, int) (int, string, bool) {
		clk.advance(time.Minute) // each Graph request takes a minute of the test's clock
		return 0, "", false
	}
	c := New().(*Connector)
	c.clock = clk.clock()
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 2}))
	got, _, err := connectortesting.Read(t, c, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 40 {
		t.Fatalf("read %d records, want 40", len(got))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// 21 requests at minutes 0–20 with 10-minute tokens renewed 2 minutes early: the
	// tokens of minutes 0, 8 and 16.
	if f.requests != 21 || f.issued != 3 {
		t.Errorf("%d Graph requests, %d tokens; want 21 requests and 3 tokens", f.requests, f.issued)
	}
	if f.unauthorized != 0 || len(clk.waits) != 0 {
		t.Errorf("%d answers 401 and retry waits %v; want none", f.unauthorized, clk.waits)
	}
	if f.minLeft != 3*time.Minute {
		t.Errorf("the least lifetime a used token had left is %v, want 3m (renewed %v early)", f.minLeft, renewBefore)
	}
}

// requests_per_second spaces Graph's requests 1/rate apart on the connector's clock;
// the first goes at once.
func TestRequestRate(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		gap  time.Duration
	}{{4, 250 * time.Millisecond}, {0.5, 2 * time.Second}, {20, 50 * time.Millisecond}} {
		t.Run(fmt.Sprint(tc.rate), func(t *testing.T) {
			f := newFakeGraph(t)
			manyUsers(f, 40)
			clk := newFakeClock()
			var at []time.Time
			f.fault = func(*http.Request, int) (int, string, bool) {
				at = append(at, clk.now())
				return 0, "", false
			}
			c := New().(*Connector)
			c.clock = clk.clock()
			connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 10, "requests_per_second": tc.rate}))
			start := clk.now()
			if _, _, err := connectortesting.Read(t, c, connector.ReadRequest{}); err != nil {
				t.Fatal(err)
			}
			if len(at) != 5 { // the delta link and 4 pages
				t.Fatalf("%d Graph requests, want 5", len(at))
			}
			if !at[0].Equal(start) {
				t.Errorf("the first request waited %v", at[0].Sub(start))
			}
			for i := 1; i < len(at); i++ {
				if gap := at[i].Sub(at[i-1]); gap != tc.gap {
					t.Errorf("request %d came %v after the one before, want %v", i+1, gap, tc.gap)
				}
			}
			if want := slices.Repeat([]time.Duration{tc.gap}, 4); !slices.Equal(clk.paces, want) {
				t.Errorf("rate limit waits %v, want %v", clk.paces, want)
			}
		})
	}
}

// A retry waits out its back-off, and the rate limit adds nothing to it when the
// back-off is longer than 1/rate.
func TestRetryWaitCountsTowardsTheRate(t *testing.T) {
	f := newFakeGraph(t)
	manyUsers(f, 20)
	clk := newFakeClock()
	var at []time.Time
	f.fault = func(_ *http.Request, n int) (int, string, bool) {
		at = append(at, clk.now())
		if n == 2 {
			return http.StatusTooManyRequests, "3", true
		}
		return 0, "", false
	}
	c := New().(*Connector)
	c.clock = clk.clock()
	connectortesting.Configure(t, c, f.config(map[string]any{"page_size": 10, "requests_per_second": 1}))
	if _, _, err := connectortesting.Read(t, c, connector.ReadRequest{}); err != nil {
		t.Fatal(err)
	}
	// delta link at 0s, page 1 at 1s (throttled), its retry 3s later at 4s, page 2 at 5s.
	var offsets []time.Duration
	for _, a := range at {
		offsets = append(offsets, a.Sub(at[0]))
	}
	if want := []time.Duration{0, time.Second, 4 * time.Second, 5 * time.Second}; !slices.Equal(offsets, want) {
		t.Errorf("requests at %v, want %v", offsets, want)
	}
	if !slices.Equal(clk.waits, []time.Duration{3 * time.Second}) {
		t.Errorf("retry waits %v, want the 3s Retry-After", clk.waits)
	}
}
