// Package jwtauthtest is an identity provider for tests: RSA keys published on a real JWKS
// endpoint (httptest), and tokens signed with them, as the Temporal Cloud UI's would be.
package jwtauthtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer publishes its keys at URL()+"/.well-known/jwks.json" and signs tokens.
type Issuer struct {
	Name     string // the iss of its tokens
	Audience string // the default aud of its tokens

	srv      *httptest.Server
	mu       sync.Mutex
	keys     map[string]*rsa.PrivateKey // published keys by kid
	requests atomic.Int64
}

// New starts an issuer with one published key, "k1".
func New(t testing.TB, name, audience string) *Issuer {
	t.Helper()
	is := &Issuer{Name: name, Audience: audience, keys: map[string]*rsa.PrivateKey{}}
	is.Publish(t, "k1")
	is.srv = httptest.NewServer(http.HandlerFunc(is.serveJWKS))
	t.Cleanup(is.srv.Close)
	return is
}

// JWKSURL is where the keys are published.
func (is *Issuer) JWKSURL() string { return is.srv.URL + "/.well-known/jwks.json" }

// Requests is how many times the JWKS was fetched.
func (is *Issuer) Requests() int { return int(is.requests.Load()) }

// NewKey makes an RSA key that is not published (a key of someone else).
func NewKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Publish adds a new key under kid to the JWKS (a rotation) and returns it.
func (is *Issuer) Publish(t testing.TB, kid string) *rsa.PrivateKey {
	k := NewKey(t)
	is.mu.Lock()
	is.keys[kid] = k
	is.mu.Unlock()
	return k
}

// Key is the published key kid.
func (is *Issuer) Key(kid string) *rsa.PrivateKey {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.keys[kid]
}

func (is *Issuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/.well-known/jwks.json" {
		http.NotFound(w, r)
		return
	}
	is.requests.Add(1)
	is.mu.Lock()
	var doc struct {
		Keys []map[string]string `json:"keys"`
	}
	for kid, k := range is.keys {
		doc.Keys = append(doc.Keys, map[string]string{
			"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
		})
	}
	is.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

// Claims of a token; zero fields take the issuer's defaults (its name, its audience, an
// expiry an hour from now).
type Claims struct {
	Issuer    string
	Audience  []string
	Subject   string
	Email     string
	ExpiresAt time.Time
	NoExpiry  bool
}

// Sign makes a compact RS256 token with key under kid ("" sends no kid header).
func (is *Issuer) Sign(t testing.TB, key *rsa.PrivateKey, kid string, c Claims) string {
	t.Helper()
	if c.Issuer == "" {
		c.Issuer = is.Name
	}
	if c.Audience == nil {
		c.Audience = []string{is.Audience}
	}
	if c.Subject == "" {
		c.Subject = "user-1"
	}
	if c.ExpiresAt.IsZero() {
		c.ExpiresAt = time.Now().Add(time.Hour)
	}
	mc := jwt.MapClaims{"iss": c.Issuer, "aud": c.Audience, "sub": c.Subject, "iat": time.Now().Add(-time.Minute).Unix()}
	if !c.NoExpiry {
		mc["exp"] = c.ExpiresAt.Unix()
	}
	if c.Email != "" {
		mc["email"] = c.Email
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, mc)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
