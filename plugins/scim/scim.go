// Package scim is the connector for SCIM 2.0 service providers (RFC 7643, RFC 7644): it
// reads every user with GET /Users, paging by startIndex and count, and streams each
// page as it arrives, so a directory of any size reads in the memory of one resource,
// apart from 16 bytes a user for the IDs it has seen.
//
// # Identity
//
// A record's ID is the user's SCIM id, which the service assigns, never reassigns and
// keeps unique across its resources (RFC 7643 §3.1). externalId cannot be chosen instead:
// it is the provisioning client's identifier, optional, and nothing makes it unique, so
// two users with one externalId could only be told apart after the first was emitted. It
// is a record attribute, for a mapping's join keys.
//
// # Attributes
//
// Resources are flattened into record attributes with RFC 7644 §3.10's attribute
// notation: core attributes by name ("userName", "title", "active" as "true"/"false"),
// sub-attributes with a dot ("name.givenName"), enterprise attributes fully qualified
// ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", and the
// manager's id as "…:User:manager.value", which is the manager's record ID). A
// multi-valued attribute (emails, phoneNumbers, photos) becomes the list of its values,
// the primary one first, and its values of each type also come as NAME.TYPE
// ("emails.work", "phoneNumbers.mobile"); of addresses, the primary (or first) one's
// sub-attributes come as "addresses.locality" and so on, and each type's first as
// "addresses.work.locality". meta.lastModified is kept; photos stay URLs. Other
// attributes and other extensions are not read.
//
// # What a read concludes
//
// A read fails, and the run deletes nobody, when a request fails for good: an error
// answer other than 429 and 5xx, or those after max_retries retries, a network error
// after as many, a body cut off, an answer that is not a ListResponse. 429 and 503 are
// retried after their Retry-After; other retries wait an exponential back-off with
// jitter. A resource that cannot be read (no id, a value of the wrong JSON type, text that
// is not UTF-8 or holds a NUL) is an Invalid record and the read goes on. Offset paging
// over a list that changes can skip a user (RFC 7644 §3.4.2.4 warns of it); when
// totalResults changes during a read, or a user comes twice, the read ends with an
// Invalid record without an ID, so that the run applies what it read and deletes nobody.
//
// SCIM has no delta reads in its paging; the connector declares none.
package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// Connector reads the users of one SCIM service provider. Its zero value is not usable;
// call New.
type Connector struct {
	// transport and clock are the tests' seams; nil means the real ones.
	transport http.RoundTripper
	clock     clock
	jitter    func(int64) int64

	mu     sync.Mutex
	client *client
}

var (
	_ connector.Connector    = (*Connector)(nil)
	_ connector.WriterReader = (*Connector)(nil)
)

// New returns an unconfigured SCIM connector.
func New() connector.Connector { return &Connector{} }

// Describe names the connector and its config schema. It has no delta reads.
func (c *Connector) Describe(context.Context) (connector.Description, error) {
	return connector.Description{Name: "scim", Schema: schema}, nil
}

// Configure validates the config block. A config with errors leaves the connector as it
// was.
func (c *Connector) Configure(_ context.Context, raw json.RawMessage) (connector.Diagnostics, error) {
	cfg, diags := parseConfig(raw)
	if cfg == nil {
		return diags, nil
	}
	clk := c.clock
	if clk == nil {
		clk = realClock{}
	}
	cl := newClient(cfg, c.transport, clk, slog.Default().With("connector", "scim"))
	if c.jitter != nil {
		cl.jitter = c.jitter
	}
	c.mu.Lock()
	c.client = cl
	c.mu.Unlock()
	return diags, nil
}

func (c *Connector) configured() (*client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client == nil {
		return nil, fmt.Errorf("scim connector: %w", connector.ErrNotConfigured)
	}
	return c.client, nil
}

// Check authenticates and reads the first page of one user, which proves the URL, the
// credentials and the filter. When a filter is set and the service's
// /ServiceProviderConfig says it does not filter, Check fails: such a service would
// answer with every user.
func (c *Connector) Check(ctx context.Context) error {
	cl, err := c.configured()
	if err != nil {
		return err
	}
	if _, err := cl.listUsers(ctx, 1, 1, func(json.RawMessage) error { return nil }); err != nil {
		return fmt.Errorf("scim connector: %w", err)
	}
	if cl.cfg.filter != "" {
		if supported, known := cl.filterSupported(ctx); known && !supported {
			return errors.New("scim connector: filter is set, but the service's /ServiceProviderConfig says it does not support filtering (filter.supported is false)")
		}
	}
	return nil
}

// filterSupported reads filter.supported from /ServiceProviderConfig (RFC 7643 §5);
// known is false when the service does not say.
func (cl *client) filterSupported(ctx context.Context) (supported, known bool) {
	body, err := cl.get(ctx, cl.endpoint("ServiceProviderConfig", nil))
	if err != nil {
		return false, false
	}
	defer func() { _ = body.Close() }()
	var spc struct {
		Filter *struct {
			Supported *bool `json:"supported"`
		} `json:"filter"`
	}
	if json.NewDecoder(body).Decode(&spc) != nil || spc.Filter == nil || spc.Filter.Supported == nil {
		return false, false
	}
	return *spc.Filter.Supported, true
}

// Read emits every user (see ReadTo).
func (c *Connector) Read(ctx context.Context, req connector.ReadRequest, emit connector.EmitFunc) (connector.ReadResult, error) {
	return c.ReadTo(ctx, req, connector.NewRecordWriter(emit))
}

// ReadTo writes every user the filter selects to w, page by page as the pages arrive.
// Any error means the read was incomplete (see the package doc).
func (c *Connector) ReadTo(ctx context.Context, req connector.ReadRequest, w *connector.RecordWriter) (connector.ReadResult, error) {
	cl, err := c.configured()
	if err != nil {
		return connector.ReadResult{}, err
	}
	if req.Mode != connector.Full {
		return connector.ReadResult{}, errors.New("scim connector: SCIM has no delta reads; use full reads")
	}
	if err := ctx.Err(); err != nil {
		return connector.ReadResult{}, err
	}
	n, err := cl.readUsers(ctx, w)
	if err != nil {
		return connector.ReadResult{}, fmt.Errorf("scim connector: %w", err)
	}
	return connector.ReadResult{Count: n}, nil
}
