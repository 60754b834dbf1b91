// Package entra is the connector for Microsoft Entra ID (Azure AD), read through
// Microsoft Graph with an app's OAuth 2.0 client credentials (golang.org/x/oauth2's
// clientcredentials; the token is renewed two minutes before it expires, and at once
// when Graph rejects it). The app authenticates with a client secret or with a
// certificate: then each token request carries a fresh client assertion, a JWT signed
// RS256 with the certificate's key and naming the certificate by its thumbprints, as
// the Microsoft identity platform's "certificate credentials" describe it
// (assertion.go).
//
// A full read pages through GET /users with @odata.nextLink, one page (up to 999 users)
// in memory at a time, and writes each user as it is decoded. Before it starts, it asks
// GET /users/delta?$deltatoken=latest for a delta link ("sync from now", as Graph's
// delta query documents it): that link is the read's cursor, so a change made during
// the full read shows in the next delta read. A delta read follows the cursor through
// its @odata.nextLink pages to the next @odata.deltaLink, the new cursor; an entry with
// @removed (reason "changed": in the deleted items, or "deleted": gone for good) is a
// Delete record.
//
// The manager, the one thing a profile needs that is not a property of the user: a full
// read asks for it in the same request, $expand=manager($select=id), so that 100k people
// cost 101 requests rather than 100,101 (GET /users/{id}/manager each). Delta queries
// take no $expand; there $select=...,manager makes Graph annotate a user whose manager
// changed with manager@delta, and only a changed user without the annotation costs one
// more request for its manager. The attribute "manager" holds the manager's id, which is
// the manager's own record ID, so the engine resolves it like any reference. The photo
// (include_photo) costs one request per person and read; it is off by default.
//
// Every request waits for the configured rate (golang.org/x/time/rate), and a throttled
// (429) or failing (500, 502, 503, 504, network) request is retried up to max_retries
// times, after the Retry-After Graph sends or an exponential back-off with jitter.
// Anything that leaves a read short — retries exhausted, a token that cannot be renewed,
// a page that is not Graph's JSON, a next link to another host, an id listed twice —
// fails the read, so the run deletes nobody. A user entry the connector cannot read (no
// id, text with a NUL or invalid UTF-8) is an Invalid record and the read goes on.
package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/peoplesync/peoplesync/plugins/internal/retry"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// Errors a read or check can fail with; each is wrapped with the details.
var (
	// ErrCredentials: the token endpoint rejects the app's credentials, or Graph
	// rejects a freshly issued token.
	ErrCredentials = errors.New("Entra ID rejected the app's credentials")
	// ErrForbidden: the app may not read users (no User.Read.All, or no admin consent).
	ErrForbidden = errors.New("Microsoft Graph forbids reading users")
	// ErrUnreachable: a request did not get an answer (DNS, refused, TLS, cut off).
	ErrUnreachable = errors.New("Microsoft Graph unreachable")
	// ErrUnavailable: Graph kept throttling or failing a request beyond max_retries.
	ErrUnavailable = errors.New("Microsoft Graph unavailable")
	// ErrProtocol: an answer is not what Graph documents (not JSON, no value array, a
	// next link to another host).
	ErrProtocol = errors.New("unexpected answer from Microsoft Graph")
	// ErrCursor: a delta read got a cursor that is not a delta link of this endpoint,
	// or one Graph no longer knows.
	ErrCursor = errors.New("invalid delta cursor")
)

// Connector reads the users of one Entra ID tenant. Its zero value is not usable; call
// New.
type Connector struct {
	mu    sync.Mutex
	cfg   *config
	clock clock
}

var (
	_ connector.Connector    = (*Connector)(nil)
	_ connector.WriterReader = (*Connector)(nil)
)

// New returns an unconfigured Entra ID connector.
func New() connector.Connector {
	return &Connector{clock: clock{now: time.Now, sleep: retry.Sleep, pace: retry.Sleep}}
}

// Describe names the connector, its config schema and its delta capability.
func (c *Connector) Describe(context.Context) (connector.Description, error) {
	return connector.Description{Name: "entra", Schema: schema, Capabilities: connector.Capabilities{Delta: true}}, nil
}

// Configure validates the config block; it does not connect (Check does). A config with
// errors leaves the connector as it was.
func (c *Connector) Configure(_ context.Context, raw json.RawMessage) (connector.Diagnostics, error) {
	cfg, diags := parseConfig(raw)
	if cfg != nil {
		c.mu.Lock()
		c.cfg = cfg
		c.mu.Unlock()
	}
	return diags, nil
}

func (c *Connector) config() (*config, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg == nil {
		return nil, fmt.Errorf("entra connector: %w", connector.ErrNotConfigured)
	}
	return c.cfg, nil
}

// Check gets a token and reads one page of one user, so that wrong credentials, a
// missing permission, an unreachable endpoint and a TLS problem all show here.
func (c *Connector) Check(ctx context.Context) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	cl := newClient(ctx, cfg, c.clock)
	body, ctype, err := cl.get(ctx, cfg.graphURL.String()+"/users?$select=id&$top=1")
	if err != nil {
		return fmt.Errorf("entra connector: %w", err)
	}
	var page struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(body, &page); err != nil || !isJSON(ctype) || page.Value == nil {
		return fmt.Errorf("entra connector: %w: GET /users did not answer with a user collection", ErrProtocol)
	}
	return nil
}
