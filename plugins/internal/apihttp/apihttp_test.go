package apihttp_test

// The test server is a local httptest one; a redirect follows RFC 9110 §15.4 (a 302
// with a Location).

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/peoplesync/peoplesync/plugins/internal/apihttp"
)

func TestNewClientFollowsNoRedirect(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			t.Error("the client followed the redirect")
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	hc := apihttp.NewClient(srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs, time.Minute)
	resp, err := hc.Get(srv.URL + "/users")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("status %d, want the 302 itself", resp.StatusCode)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://graph.example/v1.0/users?$skiptoken=abc": "https://graph.example/v1.0/users",
		"https://u:p@okta.example/api/v1/users?after=x":   "https://okta.example/api/v1/users",
		"https://example.com/a":                           "https://example.com/a",
		"%zz":                                             "(a URL)",
	} {
		if got := apihttp.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	err := apihttp.RedactURL(&url.Error{Op: "Get", URL: "https://example.com/users?cursor=secret", Err: errors.New("EOF")})
	if err.Error() != `Get "https://example.com/users": EOF` {
		t.Errorf("RedactURL: %v", err)
	}
	other := errors.New("plain")
	if apihttp.RedactURL(other) != other {
		t.Error("RedactURL changed an error that names no URL")
	}
}

func TestShorten(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"two\nlines  and\tspace", 40, "two lines and space"},
		{"abcdef", 3, "abc…"},
		{"aé", 2, "a…"}, // é is two bytes: not cut in half
	} {
		if got := apihttp.Shorten(c.in, c.n); got != c.want {
			t.Errorf("Shorten(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
