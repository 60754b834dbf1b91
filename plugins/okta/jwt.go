package okta

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// assertionLifetime is how long a client assertion is valid: Okta refuses one that
// expires more than an hour after it was issued, and each is used once.
const assertionLifetime = 5 * time.Minute

// clientAssertion returns a JWT that authenticates the app at the token endpoint
// (private_key_jwt: RFC 7523 §2.2 and §3, as Okta's "Implement OAuth for Okta with a
// service app" asks for it): iss and sub the client ID, aud the token URL, a unique jti,
// signed RS256 with the app's key.
func clientAssertion(cfg *config, now time.Time) (string, error) {
	header := map[string]string{"alg": "RS256", "typ": "JWT"}
	if cfg.keyID != "" {
		header["kid"] = cfg.keyID
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("client assertion: %w", err)
	}
	claims := map[string]any{
		"iss": cfg.clientID, "sub": cfg.clientID, "aud": cfg.tokenURL,
		"iat": now.Unix(), "exp": now.Add(assertionLifetime).Unix(), "jti": hex.EncodeToString(jti),
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
	signing := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, cfg.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("client assertion: signing: %w", err)
	}
	return signing + "." + enc.EncodeToString(sig), nil
}
