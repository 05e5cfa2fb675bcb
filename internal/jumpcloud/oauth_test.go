package jumpcloud_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"jcsync/internal/jumpcloud"
	"jcsync/internal/sim/jumpcloudsim"
)

const (
	clientID     = "svc-0a1b2c3d4e5f"
	clientSecret = "jcs_SECRET_0123456789abcdef"
)

func TestTokenURLFollowsTheRegion(t *testing.T) {
	for base, want := range map[string]string{
		"":                                  jumpcloud.DefaultTokenURL,
		jumpcloud.DefaultBaseURL:            jumpcloud.DefaultTokenURL,
		jumpcloud.EUBaseURL:                 jumpcloud.EUTokenURL,
		"https://console.eu.jumpcloud.com/": jumpcloud.EUTokenURL,
		"https://CONSOLE.EU.JUMPCLOUD.COM":  jumpcloud.EUTokenURL,
		"http://127.0.0.1:8081":             jumpcloud.DefaultTokenURL,
		"https://console.jumpcloud.com.evil.example": jumpcloud.DefaultTokenURL,
		"https://proxy.example/jumpcloud":            jumpcloud.DefaultTokenURL,
	} {
		if got := jumpcloud.TokenURLFor(base); got != want {
			t.Errorf("TokenURLFor(%q) = %q, want %q", base, got, want)
		}
	}
	if jumpcloud.EUTokenURL != "https://admin-oauth.id.eu.jumpcloud.com/oauth2/token" {
		t.Fatalf("EU token URL %q", jumpcloud.EUTokenURL)
	}
}

// saSim serves a small org with one service account.
func saSim(t *testing.T, lifetime time.Duration) (*httptest.Server, *jumpcloudsim.Server) {
	t.Helper()
	ts, s := jumpcloudsim.NewTestServer(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 3, Users: 30, Groups: 2, Admins: 2, Apps: 2}), jumpcloudsim.Options{})
	s.AddServiceAccount(clientID, clientSecret)
	s.SetTokenLifetime(lifetime)
	return ts, s
}

func newSA(t *testing.T, url, id, secret string) *jumpcloud.ServiceAccount {
	t.Helper()
	sa, err := jumpcloud.NewServiceAccount(jumpcloud.ServiceAccountOptions{ClientID: id, ClientSecret: secret, TokenURL: url + jumpcloudsim.TokenPath})
	if err != nil {
		t.Fatal(err)
	}
	return sa
}

func saClient(t *testing.T, url string, sa *jumpcloud.ServiceAccount) *jumpcloud.Client {
	t.Helper()
	opts := fast(url)
	opts.APIKey, opts.ServiceAccount = "", sa
	return newClient(t, opts)
}

// validatedClient is a client of a fresh simulator whose service account already holds a
// token (one validated request).
func validatedClient(t *testing.T) (*jumpcloudsim.Server, *jumpcloud.ServiceAccount, *jumpcloud.Client) {
	t.Helper()
	ts, sim := saSim(t, time.Hour)
	sa := newSA(t, ts.URL, clientID, clientSecret)
	c := saClient(t, ts.URL, sa)
	if err := c.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return sim, sa, c
}

func TestServiceAccountCachesAndRefreshesBeforeExpiry(t *testing.T) {
	ts, sim := saSim(t, 10*time.Minute)
	sa := newSA(t, ts.URL, clientID, clientSecret)
	now := time.Now()
	var mu sync.Mutex
	jumpcloud.SetServiceAccountClock(sa, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := saClient(t, ts.URL, sa)
	ctx := context.Background()
	for range 5 {
		if err := c.Validate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if st := sa.Stats(); st.Fetches != 1 {
		t.Fatalf("five calls fetched %d tokens, want 1", st.Fetches)
	}
	// A ten-minute token is renewed a minute before it expires, not after.
	advance(8*time.Minute + 59*time.Second)
	if _, err := sa.Token(ctx); err != nil || sa.Stats().Fetches != 1 {
		t.Fatalf("renewed too early: %v %+v", err, sa.Stats())
	}
	advance(2 * time.Second)
	if err := c.Validate(ctx); err != nil {
		t.Fatal(err)
	}
	if st, ts := sa.Stats(), sim.TokenStats(); st.Fetches != 2 || ts.Issued != 2 || ts.BearerExpired != 0 {
		t.Fatalf("after 9 minutes: client %+v, simulator %+v", st, ts)
	}
}

func TestServiceAccount401RefreshesOnceAndRepeats(t *testing.T) {
	sim, sa, c := validatedClient(t)
	ctx := context.Background()
	// The token dies early (JumpCloud's clock, a revoked session): concurrent requests that
	// all get 401 cause one new token, and every request succeeds.
	sim.ExpireTokens()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- c.Validate(ctx) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a request failed after the refresh: %v", err)
		}
	}
	if st := sa.Stats(); st.Fetches != 2 || st.Rejected != 1 {
		t.Fatalf("stats %+v, want 2 fetches and 1 rejected token", st)
	}
	if got := sim.TokenStats(); got.BearerExpired < 1 || got.Issued != 2 {
		t.Fatalf("simulator %+v", got)
	}
	if c.Stats().Retries != 0 {
		t.Fatalf("the refresh counted as a retry: %+v", c.Stats())
	}
}

func TestServiceAccountRejectionsFailAtOnceWithoutSecrets(t *testing.T) {
	ts, sim := saSim(t, time.Hour)
	ctx := context.Background()
	for _, tc := range []struct{ label, id, secret string }{
		{"unknown client", "svc-unknown", clientSecret},
		{"wrong secret", clientID, "jcs_WRONG_secret_9876543210"},
	} {
		sim.ResetCounts()
		before := sim.TokenStats().Refused
		c := saClient(t, ts.URL, newSA(t, ts.URL, tc.id, tc.secret))
		err := c.Validate(ctx)
		var te *jumpcloud.TokenError
		if !errors.As(err, &te) || te.Code != "invalid_client" || te.Status != http.StatusUnauthorized {
			t.Fatalf("%s: want a 401 invalid_client token error, got %v", tc.label, err)
		}
		if !errors.Is(err, jumpcloud.ErrUnauthorized) || !errors.Is(err, jumpcloud.ErrTokenRejected) {
			t.Fatalf("%s: %v does not match the credential sentinels", tc.label, err)
		}
		if strings.Contains(err.Error(), tc.secret) || !strings.Contains(err.Error(), "invalid_client") {
			t.Fatalf("%s: message %q", tc.label, err)
		}
		if n := sim.TokenStats().Refused - before; n != 1 {
			t.Fatalf("%s: %d token requests, want 1 (no retries of a rejection)", tc.label, n)
		}
		if sim.Counts().Total != 0 {
			t.Fatalf("%s: an API call was made without a token", tc.label)
		}
	}
}

func TestServiceAccountRevokedMidUse(t *testing.T) {
	sim, sa, c := validatedClient(t)
	ctx := context.Background()
	sim.RevokeSecret(clientID)
	err := c.Validate(ctx)
	if !errors.Is(err, jumpcloud.ErrTokenRejected) {
		t.Fatalf("want the refused refresh, got %v", err)
	}
	if st := sa.Stats(); st.Rejected != 1 || st.Fetches != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestTokenErrorsNeverQuoteTheBody: oauth2's own errors quote the response body, which may
// carry a token or the secret; the client's never do.
func TestTokenErrorsNeverQuoteTheBody(t *testing.T) {
	const leaked = "LEAKED_access_token_value"
	for _, tc := range []struct {
		status int
		body   string
	}{
		{200, `{"error":"server_error","access_token":"` + leaked + `"}`},
		{500, `<html>` + leaked + ` ` + clientSecret + `</html>`},
		{400, `{"error":"invalid_request","error_description":"bad secret ` + clientSecret + `"}`},
		{200, `{"token_type":"bearer","access_token":` + `12` + `}`},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(tc.body))
		}))
		sa := newSA(t, srv.URL, clientID, clientSecret)
		_, err := sa.Token(context.Background())
		srv.Close()
		if err == nil {
			t.Fatalf("%d %s: no error", tc.status, tc.body)
		}
		if strings.Contains(err.Error(), leaked) || strings.Contains(err.Error(), clientSecret) {
			t.Fatalf("the error quotes the body: %q", err)
		}
		var te *jumpcloud.TokenError
		if !errors.As(err, &te) {
			t.Fatalf("%T %v", err, err)
		}
		if tc.status == 500 && (!te.Temporary() || te.Rejected()) {
			t.Fatalf("a 500 should be temporary: %v", err)
		}
	}
}

func TestServiceAccountOptionsNeverShowTheSecret(t *testing.T) {
	o := jumpcloud.ServiceAccountOptions{ClientID: clientID, ClientSecret: clientSecret}
	for _, s := range []string{o.String(), o.GoString()} {
		if strings.Contains(s, clientSecret) {
			t.Fatal(s)
		}
	}
	for _, o := range []jumpcloud.ServiceAccountOptions{
		{ClientSecret: clientSecret},
		{ClientID: clientID},
		{ClientID: clientID, ClientSecret: "a\nb"},
		{ClientID: clientID, ClientSecret: clientSecret, TokenURL: "ftp://x"},
	} {
		if _, err := jumpcloud.NewServiceAccount(o); err == nil || !jumpcloud.IsPermanent(err) || strings.Contains(err.Error(), clientSecret) {
			t.Errorf("NewServiceAccount(%v): %v", o, err)
		}
	}
}

func TestOrganizationsOfAMultiTenantCredential(t *testing.T) {
	ts, sim := saSim(t, time.Hour)
	orgs := []jumpcloudsim.Organization{{ID: "5c3536e9e0a6840001872782", DisplayName: "Acme EU"}, {ID: "5c3536e9e0a6840001872783", DisplayName: "Acme US"}}
	for i := range 150 {
		orgs = append(orgs, jumpcloudsim.Organization{ID: fmt.Sprintf("6c3536e9e0a684000180%04x", i), DisplayName: fmt.Sprintf("Client %d", i)})
	}
	sim.SetOrganizations(orgs)
	opts := fast(ts.URL)
	opts.APIKey, opts.ServiceAccount, opts.OrgID = "", newSA(t, ts.URL, clientID, clientSecret), orgs[0].ID
	got, err := newClient(t, opts).Organizations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(orgs) || got[1].ID != orgs[1].ID || got[1].DisplayName != "Acme US" {
		t.Fatalf("got %d orgs, first %+v", len(got), got[:min(2, len(got))])
	}
}
