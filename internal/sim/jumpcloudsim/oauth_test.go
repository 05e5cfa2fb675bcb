package jumpcloudsim

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const (
	testClient = "svc-test-client"
	testSecret = "jcs_test_secret_0123456789"
)

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

const form = "application/x-www-form-urlencoded"

func TestTokenEndpointIsStrict(t *testing.T) {
	ts, s := NewTestServer(t, NewOrg(1), Options{APIKey: testKey})
	s.AddServiceAccount(testClient, testSecret)
	url := ts.URL + TokenPath
	good := "grant_type=client_credentials&scope=api"
	for _, tc := range []struct {
		label  string
		method string
		hdr    map[string]string
		body   string
		status int
		code   string
	}{
		{"GET", "GET", map[string]string{"Authorization": basic(testClient, testSecret)}, "", 405, "invalid_request"},
		{"no Basic auth", "POST", map[string]string{"Content-Type": form}, good, 401, "invalid_client"},
		{"secret in the body", "POST", map[string]string{"Content-Type": form}, good + "&client_id=" + testClient + "&client_secret=" + testSecret, 401, "invalid_client"},
		{"JSON body", "POST", map[string]string{"Authorization": basic(testClient, testSecret), "Content-Type": "application/json"}, `{"grant_type":"client_credentials"}`, 400, "invalid_request"},
		{"unknown client", "POST", map[string]string{"Authorization": basic("svc-nobody", testSecret), "Content-Type": form}, good, 401, "invalid_client"},
		{"wrong secret", "POST", map[string]string{"Authorization": basic(testClient, testSecret+"x"), "Content-Type": form}, good, 401, "invalid_client"},
		{"no grant type", "POST", map[string]string{"Authorization": basic(testClient, testSecret), "Content-Type": form}, "scope=api", 400, "unsupported_grant_type"},
		{"password grant", "POST", map[string]string{"Authorization": basic(testClient, testSecret), "Content-Type": form}, "grant_type=password", 400, "unsupported_grant_type"},
		{"other scope", "POST", map[string]string{"Authorization": basic(testClient, testSecret), "Content-Type": form}, "grant_type=client_credentials&scope=admin", 400, "invalid_scope"},
	} {
		r := do(t, tc.method, url, tc.hdr, tc.body)
		var body struct {
			Error       string `json:"error"`
			AccessToken string `json:"access_token"`
		}
		_ = json.Unmarshal([]byte(r.body), &body)
		if r.status != tc.status || body.Error != tc.code || body.AccessToken != "" {
			t.Errorf("%s: %d %s, want %d %s", tc.label, r.status, r.body, tc.status, tc.code)
		}
	}
	if st := s.TokenStats(); st.Issued != 0 {
		t.Fatalf("issued %d tokens to bad requests", st.Issued)
	}
}

func token(t *testing.T, url string) (string, int) {
	t.Helper()
	r := do(t, "POST", url+TokenPath, map[string]string{"Authorization": basic(testClient, testSecret), "Content-Type": form}, "grant_type=client_credentials&scope=api")
	var body struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil || r.status != 200 || body.AccessToken == "" || !strings.EqualFold(body.TokenType, "bearer") {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	return body.AccessToken, body.ExpiresIn
}

func TestBearerTokensOnEveryRoute(t *testing.T) {
	ts, s := NewTestServer(t, NewOrg(1), Options{APIKey: testKey})
	s.AddServiceAccount(testClient, testSecret)
	s.SetTokenLifetime(300 * time.Millisecond)
	tok, expiresIn := token(t, ts.URL)
	if expiresIn != 1 {
		t.Fatalf("expires_in %d, want whole seconds (at least 1)", expiresIn)
	}
	get := func(path, auth string) resp {
		return do(t, "GET", ts.URL+path, map[string]string{"Authorization": auth}, "")
	}
	for _, path := range []string{"/api/systemusers", "/api/users", "/api/applications", "/api/v2/usergroups", "/api/organizations"} {
		if r := get(path, "Bearer "+tok); r.status != 200 {
			t.Fatalf("%s with a valid token: %d %s", path, r.status, r.body)
		}
	}
	for label, auth := range map[string]string{
		"unknown token": "Bearer jcsim_at_unknown", "Basic": basic(testClient, testSecret),
		"bare token": tok, "empty bearer": "Bearer ",
	} {
		if r := get("/api/systemusers", auth); r.status != 401 || r.body != bodyBadKey {
			t.Errorf("%s: %d %s", label, r.status, r.body)
		}
	}
	// A bad bearer is refused even beside a good API key: one credential, and it must be right.
	r := do(t, "GET", ts.URL+"/api/systemusers", map[string]string{"Authorization": "Bearer nope", "x-api-key": testKey}, "")
	if r.status != 401 {
		t.Fatalf("bad bearer with a good key: %d", r.status)
	}
	time.Sleep(350 * time.Millisecond)
	if r := get("/api/systemusers", "Bearer "+tok); r.status != 401 {
		t.Fatalf("expired token: %d", r.status)
	}
	tok2, _ := token(t, ts.URL)
	s.RevokeSecret(testClient)
	if r := get("/api/systemusers", "Bearer "+tok2); r.status != 401 {
		t.Fatalf("token of a revoked secret: %d", r.status)
	}
	if r := do(t, "POST", ts.URL+TokenPath, map[string]string{"Authorization": basic(testClient, testSecret), "Content-Type": form}, "grant_type=client_credentials"); r.status != 401 || !strings.Contains(r.body, "invalid_client") {
		t.Fatalf("token request after revocation: %d %s", r.status, r.body)
	}
	st := s.TokenStats()
	if st.Issued != 2 || st.BearerExpired != 1 || st.BearerOK != 5 || st.Refused != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestOrganizationsOfAMultiTenantAccount(t *testing.T) {
	ts, s := NewTestServer(t, NewOrg(1), Options{APIKey: testKey, MultiTenant: true})
	s.SetOrganizations([]Organization{{ID: "5c3536e9e0a6840001872782", DisplayName: "Acme"}, {ID: "5c3536e9e0a6840001872783", DisplayName: "Beta"}})
	r := do(t, "GET", ts.URL+"/api/organizations?limit=1&skip=1", map[string]string{"x-api-key": testKey}, "")
	if r.status != 200 || r.body != `{"totalCount":2,"results":[{"_id":"5c3536e9e0a6840001872783","displayName":"Beta","logoUrl":""}]}` {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if r := do(t, "GET", ts.URL+"/api/systemusers", map[string]string{"x-api-key": testKey}, ""); r.status != 401 || r.body != bodyNoOrg {
		t.Fatalf("multi-tenant without x-org-id: %d %s", r.status, r.body)
	}
}
