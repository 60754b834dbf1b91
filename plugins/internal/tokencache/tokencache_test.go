package tokencache_test

// No fixture follows a published document here: the tokens are oauth2.Token values as
// an RFC 6749 token endpoint's answer gives them (an access token and an expiry).

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/peoplesync/peoplesync/plugins/internal/tokencache"
)

// source hands out token 1, 2, … each valid for life from now (no expiry if life is 0).
type source struct {
	now     func() time.Time
	life    time.Duration
	fetched int
}

func (s *source) Token() (*oauth2.Token, error) {
	s.fetched++
	tok := &oauth2.Token{AccessToken: fmt.Sprint("t", s.fetched)}
	if s.life > 0 {
		tok.Expiry = s.now().Add(s.life)
	}
	return tok, nil
}

func TestRenewsBeforeExpiryOnTheGivenClock(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	src := &source{now: clock, life: time.Hour}
	c := tokencache.New(src, 2*time.Minute, clock)
	steps := []struct {
		advance time.Duration
		drop    bool
		want    string
	}{
		{0, false, "t1"},
		{57 * time.Minute, false, "t1"}, // 3 minutes left: still good
		{time.Minute, false, "t2"},      // 2 minutes left: renewed
		{0, false, "t2"},
		{0, true, "t3"}, // rejected by the API: dropped
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		if s.drop {
			c.Drop()
		}
		tok, err := c.Token()
		if err != nil || tok.AccessToken != s.want {
			t.Errorf("step %d: token %v, %v; want %s", i, tok, err, s.want)
		}
	}
	if src.fetched != 3 {
		t.Errorf("%d fetches, want 3", src.fetched)
	}
}

func TestTokenWithoutExpiryServesUntilDropped(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	src := &source{now: clock}
	c := tokencache.New(src, 2*time.Minute, clock)
	for range 3 {
		now = now.Add(24 * time.Hour)
		if tok, _ := c.Token(); tok.AccessToken != "t1" {
			t.Fatalf("token %s, want t1 until dropped", tok.AccessToken)
		}
	}
	c.Drop()
	if tok, _ := c.Token(); tok.AccessToken != "t2" {
		t.Errorf("token %s after Drop, want t2", tok.AccessToken)
	}
}
