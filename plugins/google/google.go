// Package google is the connector for Google Workspace (and Cloud Identity), read
// through the Admin SDK Directory API as a service account with domain-wide delegation:
// the account signs a JWT assertion with its key (golang.org/x/oauth2/google), naming
// the admin it acts as (subject) and the one scope it needs,
// admin.directory.user.readonly. The token is renewed two minutes before it expires,
// and at once when the API rejects it.
//
// # Reads
//
// A read pages through GET admin/directory/v1/users (customer or domain, maxResults up
// to 500, viewType=admin_view, pageToken/nextPageToken) and writes each user as it is
// converted. While one page is converted the next is already asked for, so at most two
// pages are in memory, whatever the directory's size. The request names the fields it needs (a partial response), so
// that lastLoginTime and its like, which change without the person changing, stay out
// of the records. The Directory API has no delta query for users (only push channels,
// which need a public webhook), so the connector reads full only and declares no delta
// capability.
//
// # Identity and references
//
// A record's ID is the user's immutable id; its DN is the user's primaryEmail. Google
// keeps a manager as a relation {"type": "manager", "value": EMAIL}: free text that
// the Admin console fills with the manager's address. The record carries it as
// relations.manager, and the engine, which resolves a manager reference as an external
// ID or a DN of the same sync, matches it against the primaryEmail of the people read
// (ignoring case). A reference written as an alias, or to someone outside the
// customer or domain read, stays unresolved; Google does not rewrite it when the
// manager's primary address changes.
//
// # Attributes
//
// id, primaryEmail, name.givenName, name.familyName, name.fullName, suspended and
// archived ("true"/"false"), orgUnitPath, thumbnailPhotoUrl; of the primary (else the
// first) organization organizations.title, .department, .costCenter, .description
// (the console's "employee type"), .location, .name and the like; relations.TYPE and
// externalIds.TYPE (a custom type under its customType: externalIds.organization is
// the console's employee ID); phones (primary first) and phones.TYPE; of the first
// location locations.area, .buildingId, .floorName, .floorSection, .deskCode;
// languages (preferred first); customSchemas.SCHEMA.FIELD for the custom_schemas
// asked for. With include_photo, photo holds the bytes of GET
// users/{id}/photos/thumbnail (web-safe base64 in photoData), for users with a
// thumbnailPhotoUrl.
//
// # What a read concludes
//
// Every request waits for the configured rate (golang.org/x/time/rate). A throttled
// request (429, 503, or 403 with reason rateLimitExceeded, userRateLimitExceeded or
// quotaExceeded) or a failing one (500, 502, 504, network) is retried up to
// max_retries times, after the Retry-After Google sends or an exponential back-off with
// jitter (plugins/internal/retry). Anything that leaves a read short — retries
// exhausted, a token that cannot be renewed, a page that is not the API's JSON, an id
// listed twice — fails the read, so the run deletes nobody. A user the connector
// cannot read (no id, a value of the wrong JSON type, text with a NUL or invalid UTF-8)
// is an Invalid record and the read goes on.
package google

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/peoplesync/peoplesync/plugins/internal/retry"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// Errors a read or check can fail with; each is wrapped with the details.
var (
	// ErrCredentials: the token endpoint refuses the service account's assertion (a
	// revoked key, an unknown subject, no domain-wide delegation), or the API rejects
	// a freshly issued token.
	ErrCredentials = errors.New("Google rejected the service account's credentials")
	// ErrForbidden: the subject may not read users (not an admin, or without the
	// privilege), or the API is not enabled in the service account's project.
	ErrForbidden = errors.New("the Admin SDK forbids reading users")
	// ErrUnreachable: a request did not get an answer (DNS, refused, TLS, cut off).
	ErrUnreachable = errors.New("the Admin SDK is unreachable")
	// ErrUnavailable: Google kept throttling or failing a request beyond max_retries.
	ErrUnavailable = errors.New("the Admin SDK is unavailable")
	// ErrProtocol: an answer is not what the Directory API documents (not JSON, no
	// users list, an id twice).
	ErrProtocol = errors.New("unexpected answer from the Admin SDK")
)

// Connector reads the users of one Google Workspace account. Its zero value is not
// usable; call New.
type Connector struct {
	mu    sync.Mutex
	cfg   *config
	clock clock
	// noReadAhead turns off asking for the next page while one is converted (for the
	// benchmark that measures what asking ahead brings).
	noReadAhead bool
}

var (
	_ connector.Connector    = (*Connector)(nil)
	_ connector.WriterReader = (*Connector)(nil)
)

// New returns an unconfigured Google Workspace connector.
func New() connector.Connector {
	return &Connector{clock: clock{now: time.Now, sleep: retry.Sleep}}
}

// Describe names the connector and its config schema. It has no delta reads: the
// Directory API has no delta query for users.
func (c *Connector) Describe(context.Context) (connector.Description, error) {
	return connector.Description{Name: "google", Schema: schema, Capabilities: connector.Capabilities{Delta: false}}, nil
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
		return nil, fmt.Errorf("google connector: %w", connector.ErrNotConfigured)
	}
	return c.cfg, nil
}

// Check gets a token and reads one page of one user, so that a wrong key, a subject
// without delegation or privilege, a wrong customer or domain, an unreachable endpoint
// and a TLS problem all show here.
func (c *Connector) Check(ctx context.Context) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	cl := newClient(ctx, cfg, c.clock)
	q := cfg.scopeQuery()
	q.Set("maxResults", "1")
	q.Set("fields", "users(id)")
	body, err := cl.get(ctx, cfg.usersURL()+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("google connector: %w", explain(cfg, err))
	}
	if _, err := decodePage(body); err != nil {
		return fmt.Errorf("google connector: %w", err)
	}
	return nil
}

// usersURL is the users collection of the configured API endpoint.
func (cfg *config) usersURL() string {
	return cfg.apiURL.String() + "/admin/directory/v1/users"
}

// scopeQuery names whose users are read: the customer or the domain.
func (cfg *config) scopeQuery() url.Values {
	q := url.Values{}
	if cfg.domain != "" {
		q.Set("domain", cfg.domain)
	} else {
		q.Set("customer", cfg.customer)
	}
	return q
}
