package scheduler

import (
	"testing"
	"time"
)

func TestJobNext(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		spec string
		loc  *time.Location
		now  string
		want string
	}{
		// @every is aligned to multiples of its interval, whenever the replica started.
		{"@every 10m", time.UTC, "2030-01-01T10:03:17.5Z", "2030-01-01T10:10:00Z"},
		{"@every 10m", time.UTC, "2030-01-01T10:10:00Z", "2030-01-01T10:20:00Z"},
		{"@every 1s", time.UTC, "2030-01-01T10:00:00.999Z", "2030-01-01T10:00:01Z"},
		// Cron fields are read in the sync's timezone.
		{"30 2 * * *", berlin, "2030-06-01T00:00:00Z", "2030-06-01T00:30:00Z"},
		{"30 2 * * *", time.UTC, "2030-06-01T00:00:00Z", "2030-06-01T02:30:00Z"},
		{"@hourly", berlin, "2030-06-01T00:00:01Z", "2030-06-01T01:00:00Z"},
		{"0 9 * * 1-5", berlin, "2030-06-01T12:00:00Z", "2030-06-03T07:00:00Z"}, // Saturday → Monday
	}
	for _, c := range cases {
		j, err := NewJob("s", ModeFull, c.spec, c.loc)
		if err != nil {
			t.Fatalf("%s: %v", c.spec, err)
		}
		got := j.Next(at(c.now))
		if !got.Equal(at(c.want)) {
			t.Errorf("%s in %s after %s: %s, want %s", c.spec, c.loc, c.now, got.UTC().Format(time.RFC3339), c.want)
		}
		if got.Location() != c.loc {
			t.Errorf("%s: next tick in %s, want %s", c.spec, got.Location(), c.loc)
		}
	}
	if _, err := NewJob("s", ModeFull, "61 * * * *", nil); err == nil {
		t.Error("a bad schedule parsed")
	}
	if _, err := NewJob("s", "sometimes", "@hourly", nil); err == nil {
		t.Error("a bad mode was accepted")
	}
}
