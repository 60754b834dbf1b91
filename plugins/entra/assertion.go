package entra

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" // x5t is a SHA-1 thumbprint by definition: it names the certificate, it secures nothing
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"time"
)

// assertionLifetime is how long a client assertion is valid. Microsoft's "certificate
// credentials" page asks for 5–10 minutes after nbf at most; each assertion is made for
// one token request, so the margin only absorbs clock skew.
const assertionLifetime = 10 * time.Minute

// assertionType is the client_assertion_type of a JWT client assertion (RFC 7523 §2.2).
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// certCredential is an app's certificate credential: the certificate the app
// registration holds and its private key, which signs the client assertions.
type certCredential struct {
	key *rsa.PrivateKey
	// x5t and x5tS256 are the certificate's SHA-1 and SHA-256 thumbprints (of its DER),
	// base64url: by them Entra ID finds the certificate among the app's credentials.
	x5t, x5tS256 string
}

// clientAssertion returns a JWT that authenticates the app at the token endpoint in
// place of a secret, shaped as the Microsoft identity platform's "certificate
// credentials" page describes it: header alg RS256, typ JWT and the certificate's
// thumbprints; claims aud (the token endpoint), iss and sub (the client ID), a fresh jti
// (a GUID), nbf and iat now, exp assertionLifetime later; signed RS256 (RSASSA-PKCS1-v1_5
// with SHA-256) with the certificate's key.
func clientAssertion(cfg *config, now time.Time) (string, error) {
	cred := cfg.cert
	header := map[string]string{"alg": "RS256", "typ": "JWT", "x5t": cred.x5t, "x5t#S256": cred.x5tS256}
	jti, err := guid()
	if err != nil {
		return "", fmt.Errorf("client assertion: %w", err)
	}
	claims := map[string]any{
		"aud": cfg.tokenURL, "iss": cfg.clientID, "sub": cfg.clientID, "jti": jti,
		"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(assertionLifetime).Unix(),
	}
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("client assertion: %w", err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("client assertion: %w", err)
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, cred.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("client assertion: signing: %w", err)
	}
	return signed + "." + enc.EncodeToString(sig), nil
}

// guid returns a random (version 4) GUID in its text form.
func guid() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// thumbprints returns a certificate's x5t and x5t#S256 (RFC 7515 §4.1.7–8).
func thumbprints(cert *x509.Certificate) (x5t, x5tS256 string) {
	s256 := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sha1Thumbprint(cert)), base64.RawURLEncoding.EncodeToString(s256[:])
}

// sha1Thumbprint is the thumbprint the Entra admin center shows for a certificate.
func sha1Thumbprint(cert *x509.Certificate) []byte {
	s := sha1.Sum(cert.Raw)
	return s[:]
}

// parseCertificate reads the app's certificate: the first CERTIFICATE block of a PEM
// text, which may also hold its chain or its key. It says what is wrong without
// quoting the text.
func parseCertificate(s string) (*x509.Certificate, string) {
	rest := []byte(s)
	sawPEM := false
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		sawPEM = true
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, "holds a CERTIFICATE block that is not an X.509 certificate"
		}
		return cert, ""
	}
	if sawPEM {
		return nil, "holds no CERTIFICATE block"
	}
	return nil, "is not PEM (it should start with -----BEGIN CERTIFICATE-----)"
}

// parsePrivateKey reads an RSA private key from PEM (PKCS #1 "RSA PRIVATE KEY" or
// PKCS #8 "PRIVATE KEY"; certificates in the same text are passed over), or says what
// is wrong without quoting it.
func parsePrivateKey(s string) (*rsa.PrivateKey, string) {
	rest := []byte(s)
	sawPEM := false
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		sawPEM = true
		switch block.Type {
		case "CERTIFICATE":
			continue
		case "RSA PRIVATE KEY":
			key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, "holds an RSA PRIVATE KEY block that does not parse as PKCS #1"
			}
			return key, ""
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, "holds a PRIVATE KEY block that does not parse as PKCS #8"
			}
			key, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, "is not an RSA key (the connector signs its client assertions RS256, as Entra ID documents them)"
			}
			return key, ""
		case "ENCRYPTED PRIVATE KEY":
			return nil, "is encrypted; give the key unencrypted, from a secret store (e.g. file(\"/run/secrets/entra.key\"))"
		case "EC PRIVATE KEY":
			return nil, "is an EC key; the connector signs its client assertions RS256, with an RSA key"
		default:
			return nil, fmt.Sprintf("is a PEM %q block, not a private key", block.Type)
		}
	}
	if sawPEM {
		return nil, "holds no private key block"
	}
	return nil, "is not PEM (it should start with -----BEGIN PRIVATE KEY-----)"
}
