// Package retry holds what the HTTP connectors (entra, scim, okta, google) share about
// sending a request again: which answers are worth it, how long the service asks to
// wait (Retry-After) and the exponential back-off with jitter when it does not say.
// Each connector keeps its own policy on top (how many tries, how long a wait it
// accepts).
package retry

import (
	"context"
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
