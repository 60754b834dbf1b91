package retry

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestRetryable(t *testing.T) {
	for status, want := range map[int]bool{200: false, 400: false, 401: false, 404: false, 429: true, 500: true, 501: false, 502: true, 503: true, 504: true} {
		if got := Retryable(status); got != want {
			t.Errorf("Retryable(%d) = %v, want %v", status, got, want)
		}
	}
}

func TestAfter(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"  ", 0, false},
		{"7", 7 * time.Second, true},
		{" 0 ", 0, true},
		{"-3", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), -time.Minute, true},
		{"99999999999999999", time.Duration(1<<63-1) / time.Second * time.Second, true},
	}
	for _, c := range cases {
		got, ok := After(c.in, now)
		if got != c.want || ok != c.wantOK {
			t.Errorf("After(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.wantOK)
		}
	}
}

func TestBackoff(t *testing.T) {
	none := func(int64) int64 { return 0 }
	all := func(n int64) int64 { return n - 1 }
	for attempt, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute} {
		if lo := Backoff(attempt, time.Second, time.Minute, none); lo != want/2 {
			t.Errorf("attempt %d, least jitter: %v, want %v", attempt, lo, want/2)
		}
		if hi := Backoff(attempt, time.Second, time.Minute, all); hi != want {
			t.Errorf("attempt %d, most jitter: %v, want %v", attempt, hi, want)
		}
	}
	if got := Backoff(200, time.Second, time.Minute, none); got != 30*time.Second {
		t.Errorf("a huge attempt: %v, want the cap's half", got)
	}
}

func TestSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a canceled context = %v", err)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("Sleep = %v", err)
	}
}

// errGiveUp stands for a connector's ErrUnavailable.
var errGiveUp = errors.New("service unavailable")

// recorder is a Policy whose sleeps and retries are written down instead of waited.
type recorder struct {
	slept   []time.Duration
	retries []int
}

func (r *recorder) policy(max int) Policy {
	return Policy{
		MaxRetries: max,
		Backoff:    func(attempt int) time.Duration { return time.Duration(attempt+1) * time.Second },
		Sleep: func(_ context.Context, d time.Duration) error {
			r.slept = append(r.slept, d)
			return nil
		},
		GiveUp:  errGiveUp,
		OnRetry: func(_ context.Context, n int, _ time.Duration, _ error) { r.retries = append(r.retries, n) },
	}
}

func TestDoWaitsWhatTheServiceSaysElseBacksOff(t *testing.T) {
	var r recorder
	waits := []time.Duration{0, 7 * time.Second, 0}
	tries := 0
	err := r.policy(5).Do(context.Background(), func(context.Context) (time.Duration, error) {
		tries++
		if tries <= len(waits) {
			return waits[tries-1], errors.New("HTTP 503")
		}
		return 0, nil
	})
	want := []time.Duration{time.Second, 7 * time.Second, 3 * time.Second}
	if err != nil || tries != 4 || len(r.slept) != 3 || r.slept[0] != want[0] || r.slept[1] != want[1] || r.slept[2] != want[2] {
		t.Errorf("err %v after %d tries, slept %v; want success after 4, slept %v", err, tries, r.slept, want)
	}
	if len(r.retries) != 3 || r.retries[0] != 1 || r.retries[2] != 3 {
		t.Errorf("OnRetry told of retries %v, want [1 2 3]", r.retries)
	}
}

func TestDoStopsAtOnce(t *testing.T) {
	var r recorder
	forbidden := errors.New("HTTP 403")
	tries := 0
	err := r.policy(5).Do(context.Background(), func(context.Context) (time.Duration, error) {
		tries++
		return 0, Stop(forbidden)
	})
	if err != forbidden || tries != 1 || len(r.slept) != 0 {
		t.Errorf("err %v after %d tries, %d sleeps; want the try's own error at once", err, tries, len(r.slept))
	}
}

func TestDoGivesUp(t *testing.T) {
	var r recorder
	last := errors.New("HTTP 500")
	tries := 0
	err := r.policy(2).Do(context.Background(), func(context.Context) (time.Duration, error) {
		tries++
		return 0, last
	})
	if tries != 3 || !errors.Is(err, errGiveUp) || !errors.Is(err, last) ||
		err.Error() != "service unavailable: still failing after 2 retries: HTTP 500" {
		t.Errorf("err %v after %d tries; want the give-up error after 3", err, tries)
	}
}

func TestDoEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var r recorder
	p := r.policy(5)
	p.Sleep = func(ctx context.Context, _ time.Duration) error {
		cancel()
		return errors.New("the sleep was cut short")
	}
	err := p.Do(ctx, func(context.Context) (time.Duration, error) { return 0, errors.New("HTTP 503") })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	// A try that fails for good while the context ends: the context's error wins.
	err = p.Do(ctx, func(context.Context) (time.Duration, error) { return 0, Stop(errors.New("HTTP 403")) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}
