// Package tokencache keeps the OAuth 2.0 access token of an HTTP connector (entra,
// okta, google) between its requests. It renews a token some time before it expires,
// so that no request goes out with one about to lapse, and forgets it at once when the
// API rejected it (a token revoked or lapsed early), which oauth2's own
// ReuseTokenSource cannot be told to do.
package tokencache

import (
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Cache is an access token shared by the requests of one client. Its zero value is not
// ready; use New.
type Cache struct {
	base        oauth2.TokenSource
	renewBefore time.Duration
	now         func() time.Time

	mu  sync.Mutex
	tok *oauth2.Token
}

// New returns a cache of the tokens base fetches (base should fetch a new one on every
// call). A token is renewed renewBefore its expiry as now tells time: the connector's
// clock, which tests inject; a token without an expiry serves until Drop.
func New(base oauth2.TokenSource, renewBefore time.Duration, now func() time.Time) *Cache {
	return &Cache{base: base, renewBefore: renewBefore, now: now}
}

// Token returns the cached token, or fetches a new one when there is none or it is
// about to expire. One fetch goes at a time: requests waiting for it take its token.
func (c *Cache) Token() (*oauth2.Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.tok; t != nil && t.AccessToken != "" &&
		(t.Expiry.IsZero() || c.now().Before(t.Expiry.Add(-c.renewBefore))) {
		return t, nil
	}
	tok, err := c.base.Token()
	if err != nil {
		return nil, err
	}
	c.tok = tok
	return tok, nil
}

// Drop forgets the cached token: the next Token fetches a new one.
func (c *Cache) Drop() {
	c.mu.Lock()
	c.tok = nil
	c.mu.Unlock()
}
