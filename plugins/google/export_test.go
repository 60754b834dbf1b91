package google

import (
	"net/http"
	"testing"
)

// Fixture is the fake of fixture_test.go for the end-to-end tests of package
// google_test, which run the connector as the engine does: a plugin subprocess.
type Fixture struct{ f *fakeGoogle }

// NewFixture serves n generated users, each managed by the one before (the manager of
// user 5 written in capitals), and returns the fixture, the API URL, a CA file that
// trusts it and the service account's JSON key.
func NewFixture(t testing.TB, n int) (fix *Fixture, apiURL, caFile, key string) {
	f := newFakeGoogle(t)
	f.keepPaths = false
	manyUsers(f, n)
	f.users[5].res["relations"] = []any{map[string]any{"value": "P4@EXAMPLE.COM", "type": "manager"}}
	return &Fixture{f}, f.srv.URL, f.ca, f.key()
}

// Admin is the subject the fixture's service account may act as.
const Admin = fakeAdmin

// IDs returns the ids of the fixture's users, in list order.
func (x *Fixture) IDs() []string {
	x.f.mu.Lock()
	defer x.f.mu.Unlock()
	ids := make([]string, len(x.f.users))
	for i, u := range x.f.users {
		ids[i], _ = u.res["id"].(string)
	}
	return ids
}

// Remove removes the user at index i.
func (x *Fixture) Remove(i int) {
	x.f.mu.Lock()
	defer x.f.mu.Unlock()
	x.f.users = append(x.f.users[:i:i], x.f.users[i+1:]...)
	clear(x.f.rendered)
}

// Fail500 makes every API request from the nth on answer 500 backendError (0: none).
func (x *Fixture) Fail500(nth int) {
	x.f.mu.Lock()
	defer x.f.mu.Unlock()
	if nth == 0 {
		x.f.fault = nil
		return
	}
	start := x.f.requests + nth
	x.f.fault = func(r *http.Request, n int) (int, string, string, bool) {
		return http.StatusInternalServerError, "", "backendError", n >= start
	}
}
