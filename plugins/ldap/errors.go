package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// netDialer connects to the server.
var netDialer = net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}

// This file is the one place that translates go-ldap, TLS and network errors into the
// connector's sentinels. No message built here quotes the bind password.

// classifyDial explains a failure to connect or to start TLS.
func classifyDial(cfg *config, err error) error {
	if isTLSError(err) {
		hint := "check ca_file"
		if cfg.caFile == "" {
			hint = "the server's certificate is not signed by a system root; set ca_file"
		}
		return fmt.Errorf("ldap connector: %s: %w (%s): %w", cfg.url, ErrTLS, hint, err)
	}
	return fmt.Errorf("ldap connector: connect to %s: %w: %w", cfg.url, ErrUnreachable, err)
}

// startTLSError explains a failed StartTLS. The connection was up, so the failure is
// TLS's (go-ldap does not keep the handshake error's identity, so it is not inspected).
func startTLSError(cfg *config, err error) error {
	hint := "check ca_file, and that the server offers StartTLS"
	if cfg.caFile == "" {
		hint = "if the server's certificate is not signed by a system root, set ca_file"
	}
	return fmt.Errorf("ldap connector: %s: StartTLS: %w (%s): %w", cfg.url, ErrTLS, hint, err)
}

// isTLSError reports whether err comes from a TLS handshake or certificate check.
func isTLSError(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		record           tls.RecordHeaderError
		alert            tls.AlertError
	)
	return errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verification) || errors.As(err, &record) || errors.As(err, &alert)
}

// bindError explains a failed bind.
func bindError(cfg *config, err error) error {
	if goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
		if why, ok := adBindProblem(err); ok {
			return fmt.Errorf("ldap connector: bind as %q: %w: %s", cfg.bindDN, ErrCredentials, why)
		}
		return fmt.Errorf("ldap connector: bind as %q: %w (check bind_dn and bind_password)", cfg.bindDN, ErrCredentials)
	}
	if goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidDNSyntax) && cfg.bindForm != formDN {
		return fmt.Errorf("ldap connector: bind as %q: the server takes only a DN as bind_dn, so it is not Active Directory: %s works only there (give the account's DN): %w",
			cfg.bindDN, cfg.bindForm, err)
	}
	if isTLSError(err) {
		return classifyDial(cfg, err)
	}
	if goldap.IsErrorWithCode(err, goldap.ErrorNetwork) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("ldap connector: bind as %q: %w: the server closed the connection (an ldaps:// port spoken to as ldap://?): %w", cfg.bindDN, ErrUnreachable, err)
	}
	return fmt.Errorf("ldap connector: bind as %q: %w", cfg.bindDN, err)
}

// adBindProblems explain the sub-codes Active Directory puts in the diagnostic message
// of a rejected bind ("80090308: LdapErr: DSID-…, comment: AcceptSecurityContext error,
// data 533, v…"): the Win32 error behind invalidCredentials. Samba sends them too.
var adBindProblems = map[string]string{
	"52e": "wrong password, or no such account (Active Directory does not say which; check bind_dn and bind_password)",
	"525": "no such account (check bind_dn)",
	"530": "the account may not log on at this time of day",
	"531": "the account may not log on from this computer",
	"532": "the account's password has expired",
	"533": "the account is disabled",
	"701": "the account has expired",
	"773": "the account must change its password before it can bind",
	"775": "the account is locked out",
}

// adBindProblem reads Active Directory's sub-code from a rejected bind. This is the
// server's documented diagnostic format, not one of our error strings.
func adBindProblem(err error) (string, bool) {
	var lerr *goldap.Error
	if !errors.As(err, &lerr) || lerr.Err == nil {
		return "", false
	}
	diag := lerr.Err.Error()
	i := strings.Index(diag, ", data ")
	if i < 0 {
		return "", false
	}
	code, _, _ := strings.Cut(diag[i+len(", data "):], ",")
	why, ok := adBindProblems[strings.ToLower(strings.TrimSpace(code))]
	return why, ok
}

// searchError explains a failed search; every such failure leaves the read incomplete.
func searchError(ctx context.Context, cfg *config, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("ldap connector: %s: %w", what, ctx.Err())
	}
	var lerr *goldap.Error
	if errors.As(err, &lerr) {
		switch lerr.ResultCode {
		case goldap.LDAPResultSizeLimitExceeded:
			return fmt.Errorf("ldap connector: %s: %w: the server's size limit cut the search short (lower page_size or raise the limit for %q): %w", what, ErrIncomplete, cfg.bindDN, err)
		case goldap.LDAPResultTimeLimitExceeded, goldap.LDAPResultAdminLimitExceeded:
			return fmt.Errorf("ldap connector: %s: %w: a server limit cut the search short: %w", what, ErrIncomplete, err)
		case goldap.LDAPResultReferral:
			return fmt.Errorf("ldap connector: %s: %w: the server answered with a referral, which the connector does not follow (point url at a server holding %q): %w", what, ErrIncomplete, cfg.baseDN, err)
		case goldap.LDAPResultNoSuchObject:
			return fmt.Errorf("ldap connector: %s: base_dn %q does not exist on the server: %w", what, cfg.baseDN, err)
		case goldap.LDAPResultFilterError, goldap.LDAPResultUndefinedAttributeType, goldap.LDAPResultInappropriateMatching:
			return fmt.Errorf("ldap connector: %s: the server rejects the filter %q: %w", what, cfg.filter, err)
		case goldap.ErrorNetwork:
			return fmt.Errorf("ldap connector: %s: %w: the connection dropped: %w", what, ErrIncomplete, err)
		}
	}
	return fmt.Errorf("ldap connector: %s: %w: %w", what, ErrIncomplete, err)
}
