// Package apihttp holds the plain HTTP that the directory API connectors (entra, okta,
// google, scim) do alike, apart from any one API's rules: the http.Client they send
// credentials with, and keeping what an error prints short and free of queries.
//
// How a connector authenticates, which answers it retries and how it reads them stay
// in the connector; sending again is package retry's.
package apihttp

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// NewClient returns an http.Client that verifies TLS (TLS 1.2 at least) against roots
// (nil: the system's), gives up on a request after timeout, and follows no redirect:
// a redirect would carry the credentials to wherever it points, so the 3xx answer
// itself comes back, for the connector to refuse.
func NewClient(roots *x509.CertPool, timeout time.Duration) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: transport, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// RedactURL returns err with the URL a *url.Error in it names redacted (see Redact);
// any other error as it is. Paging cursors, skip and delta tokens in queries are long
// and say nothing to a person.
func RedactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: Redact(ue.URL), Err: ue.Err}
	}
	return err
}

// Redact is URL s without its query and user information, or "(a URL)" when s cannot
// be parsed.
func Redact(s string) string {
	if u, err := url.Parse(s); err == nil {
		u.RawQuery = ""
		u.User = nil
		return u.String()
	}
	return "(a URL)"
}

// Shorten puts s on one line (runs of white space become one space) and cuts it to at
// most n bytes on a rune boundary, marking a cut with "…": for what a service's answer
// says, quoted in an error.
func Shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // a continuation byte: not where a rune starts
		n--
	}
	return s[:n] + "…"
}
