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
