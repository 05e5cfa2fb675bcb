// Package jwtauth verifies the bearer tokens a Temporal Web UI forwards to a codec server: the
// signed-in user's own access token (a JWT), which the Temporal Cloud UI sends when its codec
// setting "Pass access token" is on, and a self-hosted UI with auth and passAccessToken does
// the same with its identity provider's tokens.
//
// A token is accepted only when it is RS256-signed by a key of the configured JWKS, names the
// configured issuer and audience, and has not expired. The keys are cached; a token signed by a
// key id the cache does not know triggers a refetch (the provider rotated its keys), at most
// once per MinRefetchInterval, so a stream of tokens with made-up key ids cannot turn the
// server into a load generator against the provider.
package jwtauth

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults of Options.
const (
	DefaultRefreshInterval    = time.Hour
	DefaultMinRefetchInterval = 30 * time.Second
	DefaultLeeway             = 30 * time.Second
)

// maxJWKSBytes bounds the JWKS document: a handful of keys is a few kilobytes.
const maxJWKSBytes = 1 << 20

// minRSABits refuses keys too short to trust with access to decrypted payloads.
const minRSABits = 2048

// Options configures a Verifier.
type Options struct {
	// JWKSURL is where the provider publishes its signing keys, e.g.
	// https://login.tmprl.cloud/.well-known/jwks.json for Temporal Cloud.
	JWKSURL string
	// Issuer and Audience must match the token's iss and one of its aud values. Both are
	// required: without them a token the same provider issued to any other application
	// would be accepted.
	Issuer   string
	Audience string
	// RefreshInterval is how long fetched keys are used before they are fetched again.
	RefreshInterval time.Duration
	// MinRefetchInterval is the shortest time between two fetches caused by unknown key ids.
	MinRefetchInterval time.Duration
	// Leeway tolerates clock skew between the provider and this host on exp, nbf and iat;
	// zero is DefaultLeeway, a negative value none.
	Leeway time.Duration
	// Client fetches the JWKS; nil uses a client with a 10 s timeout.
	Client *http.Client
	// Now is the clock; nil is time.Now. Tests set it to check the cache's behaviour.
	Now func() time.Time
}

// Verifier checks bearer tokens against a JWKS. It is safe for concurrent use.
type Verifier struct {
	opts   Options
	parser *jwt.Parser

	mu        sync.Mutex
	keys      map[string]*rsa.PublicKey // by kid; "" for a key published without one
	fetchedAt time.Time
	// fetches counts JWKS requests that returned keys, for tests and logs.
	fetches int
}

// New checks the options and fetches the keys once, so that a wrong URL or a provider that
// serves no usable key stops the server at start rather than failing every request.
func New(ctx context.Context, o Options) (*Verifier, error) {
	if o.JWKSURL == "" {
		return nil, errors.New("a JWKS URL is required (the identity provider's signing keys)")
	}
	if o.Issuer == "" {
		return nil, errors.New("an issuer is required: the iss claim of the tokens to accept")
	}
	if o.Audience == "" {
		return nil, errors.New("an audience is required: the aud claim of the tokens to accept")
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = DefaultRefreshInterval
	}
	if o.MinRefetchInterval <= 0 {
		o.MinRefetchInterval = DefaultMinRefetchInterval
	}
	if o.Leeway < 0 {
		o.Leeway = 0
	} else if o.Leeway == 0 {
		o.Leeway = DefaultLeeway
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	v := &Verifier{
		opts: o,
		parser: jwt.NewParser(
			// Only RS256: the allow-list is what stops a token signed with "none", or with an
			// HMAC keyed by the public key, from passing.
			jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
			jwt.WithIssuer(o.Issuer),
			jwt.WithAudience(o.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(o.Leeway),
			jwt.WithTimeFunc(o.Now),
		),
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.fetchLocked(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

// Fetches is how many times the keys were fetched successfully.
func (v *Verifier) Fetches() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.fetches
}

// Claims are what the verifier returns of an accepted token, for logs.
type Claims struct {
	Subject string
	Email   string
}

// Verify checks a compact JWT and returns its subject and email. The error says why a token
// was refused, in words fit for a log line (never the token itself).
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	var claims struct {
		jwt.RegisteredClaims
		Email string `json:"email"`
	}
	_, err := v.parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return v.keysFor(ctx, kid)
	})
	if err != nil {
		return Claims{}, fmt.Errorf("token refused: %w", err)
	}
	return Claims{Subject: claims.Subject, Email: claims.Email}, nil
}

// keysFor returns the key with that id, refreshing the cache when it is old or does not know
// the id. A token without a kid may be signed by any key of the set.
func (v *Verifier) keysFor(ctx context.Context, kid string) (any, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.opts.Now()
	if now.Sub(v.fetchedAt) >= v.opts.RefreshInterval {
		// Stale keys keep serving if the provider cannot be reached: a key it removed stops
		// working at the next successful fetch.
		_ = v.fetchLocked(ctx)
	}
	if kid == "" {
		set := jwt.VerificationKeySet{}
		for _, k := range v.keys {
			set.Keys = append(set.Keys, k)
		}
		return set, nil
	}
	if k, ok := v.keys[kid]; ok {
		return k, nil
	}
	if now.Sub(v.fetchedAt) >= v.opts.MinRefetchInterval {
		if err := v.fetchLocked(ctx); err != nil {
			return nil, fmt.Errorf("signing key %q unknown, and refetching the keys failed: %w", kid, err)
		}
		if k, ok := v.keys[kid]; ok {
			return k, nil
		}
	}
	return nil, fmt.Errorf("signing key %q is not in the JWKS at %s", kid, v.opts.JWKSURL)
}

// jwk is the part of a JSON Web Key (RFC 7517) an RSA signature check needs.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// fetchLocked replaces the cached keys with the JWKS's RSA signing keys. v.mu is held: a
// fetch is rare, and requests that need keys wait for it rather than fetch again.
func (v *Verifier) fetchLocked(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.opts.JWKSURL, nil)
	if err != nil {
		return fmt.Errorf("JWKS URL %q: %w", v.opts.JWKSURL, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.opts.Client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch JWKS %s: %s", v.opts.JWKSURL, resp.Status)
	}
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJWKSBytes)).Decode(&doc); err != nil {
		return fmt.Errorf("JWKS %s is not a JSON key set: %w", v.opts.JWKSURL, err)
	}
	keys := make(map[string]*rsa.PublicKey)
	var skipped []string
	for _, k := range doc.Keys {
		if k.Kty != "RSA" || (k.Use != "" && k.Use != "sig") || (k.Alg != "" && k.Alg != "RS256") {
			continue
		}
		pub, err := rsaKey(k)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%q: %v", k.Kid, err))
			continue
		}
		keys[k.Kid] = pub
	}
	if len(keys) == 0 {
		msg := fmt.Sprintf("JWKS %s holds no RSA signing key for RS256", v.opts.JWKSURL)
		if len(skipped) > 0 {
			msg += " (" + strings.Join(skipped, "; ") + ")"
		}
		return errors.New(msg)
	}
	v.keys = keys
	v.fetchedAt = v.opts.Now()
	v.fetches++
	return nil
}

func rsaKey(k jwk) (*rsa.PublicKey, error) {
	nb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.N, "="))
	if err != nil {
		return nil, fmt.Errorf("modulus n is not base64url: %w", err)
	}
	eb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.E, "="))
	if err != nil {
		return nil, fmt.Errorf("exponent e is not base64url: %w", err)
	}
	n := new(big.Int).SetBytes(nb)
	e := new(big.Int).SetBytes(eb)
	if n.BitLen() < minRSABits {
		return nil, fmt.Errorf("RSA key of %d bits, fewer than %d", n.BitLen(), minRSABits)
	}
	if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
		return nil, errors.New("RSA exponent out of range")
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}
