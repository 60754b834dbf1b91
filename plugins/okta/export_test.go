package okta

import (
	"net/http"
	"testing"
	"time"
)

// Fixture is the Okta fake of fixture_test.go for the end-to-end test of package
// okta_test, which runs the connector as the engine does: a plugin subprocess.
type Fixture struct{ f *fakeOkta }

// NewFixture serves n generated users (manyUsers: each managed by the one before,
// every tenth suspended) and returns the fixture, the org URL and a CA file that
// trusts it.
func NewFixture(t testing.TB, n int) (fix *Fixture, orgURL, caFile string) {
	f := newFakeOkta(t)
	f.keepPaths = false
	manyUsers(f, n)
	return &Fixture{f}, f.srv.URL, f.ca
}

// Token is the API token the fixture accepts.
const Token = fakeToken

// IDs returns the ids of the fixture's users, in Okta's order.
func (x *Fixture) IDs() []string {
	x.f.mu.Lock()
	defer x.f.mu.Unlock()
	return append([]string(nil), x.f.ids...)
}

// Advance moves the fixture's clock on.
func (x *Fixture) Advance(d time.Duration) { x.f.clock.Advance(d) }

// SetStatus changes user i's status now.
func (x *Fixture) SetStatus(i int, status string) {
	x.f.change(x.IDs()[i], func(u *fakeUser) { u.status = status })
}

// SetTitle changes user i's title now.
func (x *Fixture) SetTitle(i int, title string) {
	x.f.change(x.IDs()[i], func(u *fakeUser) { u.profile["title"] = title })
}

// Remove deletes user i from the org.
func (x *Fixture) Remove(i int) { x.f.remove(x.IDs()[i]) }

// Fail500 makes every request after the next `after` ones answer 500 (after < 0: none).
func (x *Fixture) Fail500(after int) {
	x.f.mu.Lock()
	defer x.f.mu.Unlock()
	if after < 0 {
		x.f.fault = nil
		return
	}
	from := x.f.requests + after
	x.f.fault = func(r *http.Request, n int) (int, map[string]string, bool) {
		return http.StatusInternalServerError, nil, n > from
	}
}
