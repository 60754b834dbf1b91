// Package retry holds what the HTTP connectors (entra, scim, okta, google) share about
// sending a request again: which answers are worth it, how long the service asks to
// wait (Retry-After), the exponential back-off with jitter when it does not say, and
// the loop that sends again (Policy.Do, used by entra, okta and google). Each connector
// keeps its own policy on top: how many tries, how long a wait it accepts, which
// answers end a request for good.
package retry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retryable reports whether a request that got this status may succeed when sent again:
// throttling (429) and the transient failures of a service (500, 502, 503, 504).
func Retryable(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// After reads a Retry-After value (RFC 9110 §10.2.3): delay seconds, or an HTTP date,
// which gives its distance from now (negative for a date past). ok is false for an
// absent, unreadable or negative value. Huge delays are capped near math.MaxInt64 so
// that they compare as huge instead of overflowing.
func After(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(min(s, math.MaxInt64/int64(time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now), true
	}
	return 0, false
}

// Backoff is the wait before retry attempt+1 (attempt counts from 0) when the service
// named none: base·2^attempt capped at max, of which a random half (jitter(n) is a
// random number in [0, n)) is added to the other half, so that many clients do not
// retry in step.
func Backoff(attempt int, base, max time.Duration, jitter func(n int64) int64) time.Duration {
	d := max
	if attempt < 30 && base<<attempt < max && base<<attempt > 0 {
		d = base << attempt
	}
	half := int64(d / 2)
	return time.Duration(half + jitter(half+1))
}

// Sleep waits for d or until ctx ends, whichever is first, and returns ctx's error in
// the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Policy is how a connector sends one request again: how often, how long it waits when
// the service names no wait, what it waits with.
type Policy struct {
	// MaxRetries is how often a request is sent again after its first try.
	MaxRetries int
	// Backoff is the wait before retry attempt+1 (attempt counts from 0) when the
	// failed try named none; usually Backoff with the connector's bounds.
	Backoff func(attempt int) time.Duration
	// Sleep waits for d or until ctx ends (Sleep, or a test's clock).
	Sleep func(ctx context.Context, d time.Duration) error
	// GiveUp is the error that a request still failing after MaxRetries retries wraps,
	// with the last failure (the connector's ErrUnavailable).
	GiveUp error
	// OnRetry, if set, is told of each retry before its wait (to log it): which retry
	// it is, counting from 1, the wait and the failure that caused it.
	OnRetry func(ctx context.Context, retry int, wait time.Duration, err error)
}

// Do calls try until it succeeds, fails for good, or runs out of retries.
//
// try returns nil on success; an error made with Stop for a failure that sending again
// would not mend (Do returns the error Stop was given); or any other error for one
// worth a retry, with the wait the service asked for (0: p.Backoff decides). When ctx
// has ended, Do returns ctx's error whatever try said. A request still failing after
// p.MaxRetries retries ends as "GiveUp: still failing after N retries: last failure".
func (p Policy) Do(ctx context.Context, try func(ctx context.Context) (wait time.Duration, err error)) error {
	for attempt := 0; ; attempt++ {
		wait, err := try(ctx)
		var stop *stopError
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &stop):
			return stop.err
		case attempt >= p.MaxRetries:
			return fmt.Errorf("%w: still failing after %d retries: %w", p.GiveUp, p.MaxRetries, err)
		}
		if wait == 0 {
			wait = p.Backoff(attempt)
		}
		if p.OnRetry != nil {
			p.OnRetry(ctx, attempt+1, wait, err)
		}
		if err := p.Sleep(ctx, wait); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
}

// Stop marks err as a failure that a retry would not mend: Do returns err at once.
func Stop(err error) error { return &stopError{err} }

// stopError is what Stop marks an error with; only Do looks inside.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }

func (e *stopError) Unwrap() error { return e.err }
