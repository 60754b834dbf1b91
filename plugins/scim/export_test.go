package scim

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

// Fixture is the RFC 7644 fixture of fixture_test.go for the end-to-end tests of
// package scim_test, which run the connector as the engine does: a plugin subprocess.
type Fixture struct{ p *provider }

// NewFixture serves n generated users and returns the fixture, its base URL and a CA
// file that trusts it.
func NewFixture(t testing.TB, n int) (f *Fixture, url, caFile string) {
	f = &Fixture{p: &provider{users: generatedUsers(n)}}
	var srv *httptest.Server
	srv, caFile = f.p.serve(t)
	return f, srv.URL + "/scim/v2", caFile
}

// Token is the bearer token the fixture accepts.
const Token = testToken

// IDs returns the ids of the fixture's users, in list order.
func (f *Fixture) IDs() []string {
	f.p.mu.Lock()
	defer f.p.mu.Unlock()
	ids := make([]string, len(f.p.users))
	for i, u := range f.p.users {
		var v struct{ ID string }
		_ = json.Unmarshal(u, &v)
		ids[i] = v.ID
	}
	return ids
}

// Fail500 makes the page at startIndex answer 500 from now on (0: no more).
func (f *Fixture) Fail500(startIndex int64) {
	f.p.mu.Lock()
	defer f.p.mu.Unlock()
	f.p.fail500 = startIndex
}

// Remove removes the user at index i of the list now.
func (f *Fixture) Remove(i int) {
	f.p.mu.Lock()
	defer f.p.mu.Unlock()
	f.p.users = append(f.p.users[:i:i], f.p.users[i+1:]...)
}

// RemoveAfterFirstPage removes the user at index i once the first page is taken, so that
// the list shifts under the read.
func (f *Fixture) RemoveAfterFirstPage(i int) {
	f.p.mu.Lock()
	defer f.p.mu.Unlock()
	f.p.afterPage = func(p *provider, start int64) {
		if start == 1 {
			p.users = append(p.users[:i:i], p.users[i+1:]...)
			p.afterPage = nil
		}
	}
}
