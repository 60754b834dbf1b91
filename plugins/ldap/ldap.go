// Package ldap is the connector for OpenLDAP and Active Directory, built on go-ldap.
//
// A read is one streaming paged search (RFC 2696: SearchAsync and a cookie loop), so a
// directory of any size never sits in memory and server size limits never truncate it.
// Anything that leaves the read short — a size- or time-limit result, a referral, a
// dropped connection, a page without its paging control — fails the read: a short list
// would look like people who left.
//
// Each person's ID is stable across renames: entryUUID for OpenLDAP, objectGUID in its
// canonical (mixed-endian) string form for Active Directory. The DN travels as
// Record.DN. Delta reads use modifyTimestamp (OpenLDAP; the cursor is the highest
// timestamp seen) or uSNChanged (Active Directory; the cursor is the highestCommittedUSN
// when the read began); they report changed entries only, never deletions.
package ldap

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/peoplesync/peoplesync/sdk/connector"
)

// Errors a read or check can fail with; each is wrapped with the details.
var (
	// ErrUnreachable: the server could not be reached (DNS, refused, timeout).
	ErrUnreachable = errors.New("LDAP server unreachable")
	// ErrTLS: the TLS handshake or certificate verification failed.
	ErrTLS = errors.New("TLS to the LDAP server failed")
	// ErrCredentials: the server rejected the bind DN and password.
	ErrCredentials = errors.New("LDAP bind rejected: invalid credentials")
	// ErrIncomplete: the search ended before the server said it was complete (size or
	// time limit, referral, dropped connection).
	ErrIncomplete = errors.New("LDAP search incomplete")
	// ErrCursor: a delta read got a cursor this connector did not make for this flavor.
	ErrCursor = errors.New("invalid delta cursor")
)

// dialTimeout bounds connecting and binding; searches are bounded by the caller's ctx.
const dialTimeout = 15 * time.Second

// Connector reads people from one LDAP directory. Its zero value is not usable; call New.
type Connector struct {
	mu     sync.Mutex
	cfg    *config
	flavor string // detected flavor, when cfg.flavor is auto
}

var _ connector.Connector = (*Connector)(nil)

// New returns an unconfigured LDAP connector.
func New() connector.Connector { return &Connector{} }

// Describe names the connector, its config schema and its delta capability.
func (c *Connector) Describe(context.Context) (connector.Description, error) {
	return connector.Description{Name: "ldap", Schema: schema, Capabilities: connector.Capabilities{Delta: true}}, nil
}

// Configure validates the config block; it does not connect (Check does). A config with
// errors leaves the connector as it was.
func (c *Connector) Configure(_ context.Context, raw json.RawMessage) (connector.Diagnostics, error) {
	cfg, diags := parseConfig(raw)
	if cfg != nil {
		c.mu.Lock()
		c.cfg, c.flavor = cfg, ""
		c.mu.Unlock()
	}
	return diags, nil
}

func (c *Connector) config() (*config, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg == nil {
		return nil, fmt.Errorf("ldap connector: %w", connector.ErrNotConfigured)
	}
	return c.cfg, nil
}

// Check connects, binds, detects the flavor and runs a one-entry search of base_dn with
// the configured filter, so that bad credentials, TLS problems, an unreachable server, a
// missing base DN and a filter the server rejects all show here.
func (c *Connector) Check(ctx context.Context) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	conn, err := dial(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	dse, err := rootDSE(ctx, conn)
	if err != nil {
		return err
	}
	flavor := c.resolveFlavor(cfg, dse)
	req := goldap.NewSearchRequest(cfg.baseDN, cfg.scope, goldap.NeverDerefAliases, 1, 0, false,
		filterFor(cfg, flavor), []string{"1.1"}, nil)
	res := conn.SearchAsync(ctx, req, 1)
	for res.Next() {
	}
	if err := res.Err(); err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) {
		return searchError(ctx, cfg, "search", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ldap connector: check: %w", err)
	}
	return nil
}

// dial connects to the server, upgrades with StartTLS when configured, and binds.
func dial(ctx context.Context, cfg *config) (*goldap.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	tlsConfig := &tls.Config{RootCAs: cfg.roots, MinVersion: tls.VersionTLS12}
	if host, _, ok := hostOf(cfg.url); ok {
		tlsConfig.ServerName = host
	}
	type result struct {
		conn *goldap.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		conn, err := goldap.DialURL(cfg.url, goldap.DialWithTLSConfig(tlsConfig),
			goldap.DialWithDialer(&netDialer))
		if err != nil {
			done <- result{nil, classifyDial(cfg, err)}
			return
		}
		if cfg.startTLS {
			if err := conn.StartTLS(tlsConfig); err != nil {
				conn.Close()
				done <- result{nil, startTLSError(cfg, err)}
				return
			}
		}
		if cfg.bindDN != "" {
			err = conn.Bind(cfg.bindDN, cfg.password)
		} else {
			err = conn.UnauthenticatedBind("")
		}
		if err != nil {
			conn.Close()
			done <- result{nil, bindError(cfg, err)}
			return
		}
		done <- result{conn, nil}
	}()
	select {
	case r := <-done:
		return r.conn, r.err
	case <-dctx.Done():
		go func() {
			if r := <-done; r.conn != nil {
				r.conn.Close()
			}
		}()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ldap connector: connect to %s: %w", cfg.url, ctx.Err())
		}
		return nil, fmt.Errorf("ldap connector: connect to %s: %w: no answer within %s", cfg.url, ErrUnreachable, dialTimeout)
	}
}

// resolveFlavor returns the configured flavor, or the one the root DSE shows (cached).
func (c *Connector) resolveFlavor(cfg *config, dse *goldap.Entry) string {
	if cfg.flavor != flavorAuto {
		return cfg.flavor
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.flavor == "" || c.cfg != cfg {
		c.flavor = detectFlavor(dse)
	}
	return c.flavor
}

// adCapability is LDAP_CAP_ACTIVE_DIRECTORY_OID, which every AD domain controller lists
// in supportedCapabilities.
const adCapability = "1.2.840.113556.1.4.800"

// detectFlavor tells Active Directory from anything else by its root DSE.
func detectFlavor(dse *goldap.Entry) string {
	for _, v := range dse.GetAttributeValues("supportedCapabilities") {
		if v == adCapability {
			return flavorAD
		}
	}
	if dse.GetAttributeValue("domainFunctionality") != "" || dse.GetAttributeValue("forestFunctionality") != "" {
		return flavorAD
	}
	return flavorOpenLDAP
}

// rootDSE reads the attributes of the root DSE that the connector uses.
func rootDSE(ctx context.Context, conn *goldap.Conn) (*goldap.Entry, error) {
	req := goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"supportedCapabilities", "domainFunctionality", "forestFunctionality",
			"highestCommittedUSN", "vendorName", "structuralObjectClass"}, nil)
	res := conn.SearchAsync(ctx, req, 1)
	var dse *goldap.Entry
	for res.Next() {
		if e := res.Entry(); e != nil {
			dse = e
		}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("ldap connector: read the root DSE: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ldap connector: read the root DSE: %w", err)
	}
	if dse == nil {
		// Some servers hide the root DSE from non-admins: fall back to no capabilities.
		dse = &goldap.Entry{}
	}
	return dse, nil
}

func filterFor(cfg *config, flavor string) string {
	switch {
	case cfg.filter != "":
		return cfg.filter
	case flavor == flavorAD:
		return defaultFilterAD
	default:
		return defaultFilterOpenLDAP
	}
}

// hostOf returns the host of an ldap(s):// URL.
func hostOf(u string) (host, port string, ok bool) {
	_, rest, found := strings.Cut(u, "://")
	if !found {
		return "", "", false
	}
	rest, _, _ = strings.Cut(rest, "/")
	if i := strings.LastIndex(rest, ":"); i >= 0 && !strings.HasSuffix(rest, "]") {
		return strings.Trim(rest[:i], "[]"), rest[i+1:], true
	}
	return strings.Trim(rest, "[]"), "", true
}
