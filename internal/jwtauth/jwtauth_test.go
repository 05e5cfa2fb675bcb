package jwtauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"jcsync/internal/jwtauth"
	"jcsync/internal/jwtauth/jwtauthtest"
)

const (
	issuerName = "https://login.example.test/"
	audience   = "https://codec.example.test"
)

func newVerifier(t *testing.T, is *jwtauthtest.Issuer, mod func(*jwtauth.Options)) *jwtauth.Verifier {
	t.Helper()
	o := jwtauth.Options{JWKSURL: is.JWKSURL(), Issuer: issuerName, Audience: audience}
	if mod != nil {
		mod(&o)
	}
	v, err := jwtauth.New(context.Background(), o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

// Each way a token can be wrong is refused, for the reason the operator would look for in
// the log; the one right token is accepted with its caller's identity.
func TestVerifyAcceptsOnlyTheRightToken(t *testing.T) {
	is := jwtauthtest.New(t, issuerName, audience)
	v := newVerifier(t, is, nil)
	k1 := is.Key("k1")

	good := is.Sign(t, k1, "k1", jwtauthtest.Claims{Subject: "u-42", Email: "ada@example.com"})
	c, err := v.Verify(context.Background(), good)
	if err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
	if c.Subject != "u-42" || c.Email != "ada@example.com" {
		t.Errorf("claims = %+v", c)
	}
	// A token whose aud is a list holding ours is accepted too (providers send either form).
	if _, err := v.Verify(context.Background(), is.Sign(t, k1, "k1", jwtauthtest.Claims{Audience: []string{"other", audience}})); err != nil {
		t.Errorf("aud list holding the audience refused: %v", err)
	}
	// Without a kid the token may be signed by any published key.
	if _, err := v.Verify(context.Background(), is.Sign(t, k1, "", jwtauthtest.Claims{})); err != nil {
		t.Errorf("token without kid refused: %v", err)
	}

	hmac, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": issuerName, "aud": audience, "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString([]byte("guessable"))
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": issuerName, "aud": audience, "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token string
		want        error
	}{
		{"expired", is.Sign(t, k1, "k1", jwtauthtest.Claims{ExpiresAt: time.Now().Add(-time.Hour)}), jwt.ErrTokenExpired},
		{"wrong audience", is.Sign(t, k1, "k1", jwtauthtest.Claims{Audience: []string{"https://someone-else.example"}}), jwt.ErrTokenInvalidAudience},
		{"wrong issuer", is.Sign(t, k1, "k1", jwtauthtest.Claims{Issuer: "https://evil.example/"}), jwt.ErrTokenInvalidIssuer},
		{"no expiry", is.Sign(t, k1, "k1", jwtauthtest.Claims{NoExpiry: true}), jwt.ErrTokenRequiredClaimMissing},
		{"wrong key under a published kid", is.Sign(t, jwtauthtest.NewKey(t), "k1", jwtauthtest.Claims{}), jwt.ErrTokenSignatureInvalid},
		{"wrong key without kid", is.Sign(t, jwtauthtest.NewKey(t), "", jwtauthtest.Claims{}), jwt.ErrTokenSignatureInvalid},
		{"HS256", hmac, jwt.ErrTokenSignatureInvalid},
		{"alg none", none, jwt.ErrTokenSignatureInvalid},
		{"not a JWT", "opaque-access-token", jwt.ErrTokenMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tc.token)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), tc.token) {
				t.Error("the error quotes the token")
			}
		})
	}
}

// A key the provider adds after start is fetched when a token names it; keys are cached
// otherwise, and unknown key ids cannot make the verifier fetch more than once per interval.
func TestVerifyCachesAndFollowsRotation(t *testing.T) {
	is := jwtauthtest.New(t, issuerName, audience)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	v := newVerifier(t, is, func(o *jwtauth.Options) {
		o.Now = clock
		o.MinRefetchInterval = time.Minute
		o.RefreshInterval = time.Hour
	})
	if is.Requests() != 1 {
		t.Fatalf("New fetched the keys %d times, want 1", is.Requests())
	}
	for range 5 {
		if _, err := v.Verify(context.Background(), is.Sign(t, is.Key("k1"), "k1", jwtauthtest.Claims{})); err != nil {
			t.Fatal(err)
		}
	}
	if is.Requests() != 1 {
		t.Errorf("5 tokens of a cached key fetched the JWKS %d times in all, want 1", is.Requests())
	}

	// Within the refetch interval of the last fetch, an unknown kid is refused without a fetch.
	k2 := is.Publish(t, "k2")
	tok2 := is.Sign(t, k2, "k2", jwtauthtest.Claims{})
	if _, err := v.Verify(context.Background(), tok2); err == nil {
		t.Fatal("a token of a key unknown to the cache was accepted before any refetch")
	}
	if is.Requests() != 1 {
		t.Errorf("unknown kid within the refetch interval fetched: %d requests", is.Requests())
	}
	advance(2 * time.Minute)
	if _, err := v.Verify(context.Background(), tok2); err != nil {
		t.Fatalf("token of the rotated-in key refused after the interval: %v", err)
	}
	if is.Requests() != 2 {
		t.Errorf("rotation: %d JWKS requests, want 2", is.Requests())
	}
	// A made-up kid right after: refused, and no fetch.
	if _, err := v.Verify(context.Background(), is.Sign(t, jwtauthtest.NewKey(t), "made-up", jwtauthtest.Claims{})); err == nil {
		t.Fatal("made-up kid accepted")
	}
	if is.Requests() != 2 {
		t.Errorf("made-up kid fetched: %d requests", is.Requests())
	}
	// After the refresh interval the keys are fetched again even for a known kid.
	advance(2 * time.Hour)
	if _, err := v.Verify(context.Background(), is.Sign(t, is.Key("k1"), "k1", jwtauthtest.Claims{ExpiresAt: now.Add(3 * time.Hour)})); err != nil {
		t.Fatal(err)
	}
	if is.Requests() != 3 {
		t.Errorf("after the refresh interval: %d requests, want 3", is.Requests())
	}
}

func TestNewRefusesUnusableSettings(t *testing.T) {
	is := jwtauthtest.New(t, issuerName, audience)
	for _, tc := range []struct {
		name string
		o    jwtauth.Options
		want string
	}{
		{"no issuer", jwtauth.Options{JWKSURL: is.JWKSURL(), Audience: audience}, "issuer is required"},
		{"no audience", jwtauth.Options{JWKSURL: is.JWKSURL(), Issuer: issuerName}, "audience is required"},
		{"no URL", jwtauth.Options{Issuer: issuerName, Audience: audience}, "JWKS URL is required"},
		{"404", jwtauth.Options{JWKSURL: strings.TrimSuffix(is.JWKSURL(), "jwks.json") + "nothing", Issuer: issuerName, Audience: audience}, "404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := jwtauth.New(context.Background(), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
	// A key set with no RSA signing key (here: an EC key and a short RSA key) is refused
	// with what was wrong.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[{"kty":"EC","kid":"e1","crv":"P-256","x":"AA","y":"AA"},{"kty":"RSA","kid":"short","n":"AQAB","e":"AQAB"}]}`))
	}))
	defer srv.Close()
	_, err := jwtauth.New(context.Background(), jwtauth.Options{JWKSURL: srv.URL, Issuer: issuerName, Audience: audience})
	if err == nil || !strings.Contains(err.Error(), "no RSA signing key") || !strings.Contains(err.Error(), "short") {
		t.Fatalf("err = %v", err)
	}
}
