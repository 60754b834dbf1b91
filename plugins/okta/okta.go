// Package okta is the connector for Okta's Universal Directory, read through the Users
// API (GET /api/v1/users) with an API token (Authorization: SSWS …) or, for an API
// service app, OAuth 2.0 client credentials with a private_key_jwt client assertion
// (golang.org/x/oauth2's clientcredentials; the scope okta.users.read; the token is
// renewed two minutes before it expires, and at once when Okta rejects it). Okta's org
// authorization server takes no client secret for its own APIs, so there is none here;
// an app that requires DPoP proofs is not supported (turn "Require DPoP" off for it).
//
// # Reads
//
// A read pages through GET /api/v1/users with limit (up to 200) and follows the
// Link: <…>; rel="next" header of each answer, only to the same org's users API. One
// page is in memory at a time; its users are written as they are converted. A full read
// asks with filter=status eq "STAGED" or … or status eq "DEPROVISIONED": without a
// filter Okta leaves deprovisioned users out, and they would look deleted. filter, not
// search, because Okta documents search's answers as eventually consistent.
//
// A delta read asks for filter=lastUpdated gt "CURSOR". The cursor a read returns is the
// highest lastUpdated it saw, but never later than the first answer's Date minus
// cursorLag: a user changed while the read pages on (after its page went by) has a
// lastUpdated after the read began, so the next delta read still sees it, at worst
// twice. A delta read that sees nobody keeps its cursor.
//
// # Status, deprovisioning and deletion
//
// Every user is an Upsert with its status as the attribute "status". The default
// mapping counts SUSPENDED and DEPROVISIONED as inactive, and the other statuses
// (STAGED, PROVISIONED, ACTIVE, RECOVERY, PASSWORD_EXPIRED, LOCKED_OUT) as active:
// those are people joining or with a credential problem, not people who left. A
// deprovisioned user is a deactivated person, whom Okta keeps until an admin deletes
// them; in a delta read they come as what they are, an Upsert with status
// DEPROVISIONED, not as a Delete. A user deleted from Okta is gone from the Users API
// without a trace, so delta reads cannot report them: the next full read no longer
// lists them, and the engine deletes the profile (within its deletion guard).
//
// # Attributes
//
// A record's ID is the user's Okta id. Top-level properties keep their names ("id",
// "status", "created", "activated", "statusChanged", "lastLogin", "lastUpdated",
// "passwordChanged", "type.id"), profile attributes, base and custom alike, are
// "profile.NAME" as Okta's own filter and search expressions write them
// ("profile.login", "profile.firstName", "profile.employeeNumber", "profile.managerId"),
// and "manager" holds profile.managerId, the manager's Okta id, which is the manager's
// record ID, so the engine resolves it like any reference. credentials and the _links
// and _embedded annotations are not read. Strings come as they are, numbers and
// booleans as JSON writes them, an array element by element.
//
// # What a read concludes
//
// Every request waits for the configured rate (golang.org/x/time/rate) and, after an
// answer whose X-Rate-Limit-Remaining is 0, for X-Rate-Limit-Reset. A throttled (429)
// or failing (500, 502, 503, 504, network) request is retried up to max_retries times,
// after Retry-After, or for a 429 until X-Rate-Limit-Reset (measured against the
// answer's Date), or an exponential back-off with jitter; each retry is logged at Warn
// with the request's path (never its query or credentials). Anything that leaves a read
// short — retries exhausted, credentials refused, a page that is not a JSON array of
// users, a next link to another host, an id listed twice — fails the read, so the run
// deletes nobody. A user the connector cannot read (no id, text with a NUL or invalid
// UTF-8) is an Invalid record and the read goes on.
package okta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/peoplesync/peoplesync/plugins/internal/retry"
	"github.com/peoplesync/peoplesync/sdk/connector"
)

// Errors a read or check can fail with; each is wrapped with the details.
var (
	// ErrCredentials: Okta rejects the API token, or the token endpoint rejects the
	// app's client assertion, or the API rejects a freshly issued access token.
	ErrCredentials = errors.New("Okta rejected the credentials")
	// ErrForbidden: the credentials may not read users.
	ErrForbidden = errors.New("Okta forbids reading users")
	// ErrUnreachable: a request did not get an answer (DNS, refused, TLS, cut off).
	ErrUnreachable = errors.New("Okta unreachable")
	// ErrUnavailable: Okta kept throttling or failing a request beyond max_retries.
	ErrUnavailable = errors.New("Okta unavailable")
	// ErrProtocol: an answer is not what Okta documents (not a JSON array of users, a
	// next link to another host, an id twice).
	ErrProtocol = errors.New("unexpected answer from Okta")
	// ErrCursor: a delta read got a cursor that is not one of this connector's.
	ErrCursor = errors.New("invalid delta cursor")
)

// Connector reads the users of one Okta org. Its zero value is not usable; call New.
type Connector struct {
	mu    sync.Mutex
	cfg   *config
	clock clock
	log   *slog.Logger // retries are logged at Warn
}

var (
	_ connector.Connector    = (*Connector)(nil)
	_ connector.WriterReader = (*Connector)(nil)
)

// New returns an unconfigured Okta connector.
func New() connector.Connector {
	return &Connector{clock: clock{now: time.Now, sleep: retry.Sleep}, log: slog.Default().With("connector", "okta")}
}

// Describe names the connector, its config schema and its delta capability.
func (c *Connector) Describe(context.Context) (connector.Description, error) {
	return connector.Description{Name: "okta", Schema: schema, Capabilities: connector.Capabilities{Delta: true}}, nil
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
		return nil, fmt.Errorf("okta connector: %w", connector.ErrNotConfigured)
	}
	return c.cfg, nil
}

// Check authenticates (getting a token first with client credentials) and reads one
// page of one user, so that wrong credentials, a missing permission or scope, an
// unreachable org and a TLS problem all show here.
func (c *Connector) Check(ctx context.Context) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	cl := newClient(ctx, cfg, c.clock, c.log)
	ans, err := cl.get(ctx, cfg.org.String()+usersPath+"?limit=1")
	if err != nil {
		return fmt.Errorf("okta connector: %w", err)
	}
	if err := checkPage(ans); err != nil {
		return fmt.Errorf("okta connector: %w", err)
	}
	return nil
}
