package jumpcloudsim

// Service accounts: the OAuth 2.0 client-credentials token endpoint and bearer tokens on
// every API route, served as strictly as the API key path. JumpCloud serves its token
// endpoint on another host (admin-oauth.id.jumpcloud.com); the simulator serves it on its
// own, at TokenPath, so a client points its token URL there.
//
// The token endpoint's error bodies follow RFC 6749 (UNCONFIRMED for JumpCloud): 401
// {"error":"invalid_client"} for an unknown client or a wrong or revoked secret, 400
// {"error":"unsupported_grant_type"} or {"error":"invalid_request"} for a malformed request.
// An API call with an unknown or expired token answers like a bad key (401).

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Descriptions of the two invalid_client answers. RFC 6749 allows an error_description;
// whether JumpCloud sends one, and its words, is UNCONFIRMED: these follow the wording of
// common OAuth servers, so the connector's messages can be checked to pass them on.
const (
	descUnknownClient = "Client authentication failed: the OAuth 2.0 client does not exist."
	descBadSecret     = "Client authentication failed: the client secret does not match, has expired or was revoked."
)

// TokenPath is where the simulator serves the token endpoint.
const TokenPath = "/oauth2/token"

// DefaultTokenLifetime is the lifetime of a token unless SetTokenLifetime changes it:
// JumpCloud's tokens live about an hour.
const DefaultTokenLifetime = time.Hour

// oauthState is the simulator's service accounts and the tokens it issued.
type oauthState struct {
	mu       sync.Mutex
	clients  map[string]string // client id → secret ("" once revoked)
	lifetime time.Duration
	tokens   map[string]issued // access token → what it is
	all      []string          // every token ever issued, revoked ones too (for scans)
	orgs     []Organization
	now      func() time.Time
	stats    TokenStats
}

type issued struct {
	client  string
	expires time.Time
}

// TokenStats are the token endpoint's and the bearer check's counters.
type TokenStats struct {
	Issued        int64 `json:"issued"`        // tokens handed out
	Refused       int64 `json:"refused"`       // token requests answered with an error
	BearerOK      int64 `json:"bearerOk"`      // API requests with a valid token
	BearerExpired int64 `json:"bearerExpired"` // API requests refused for an expired token
	BearerUnknown int64 `json:"bearerUnknown"` // API requests refused for an unknown or revoked token
}

// Organization is one org listed by GET /api/organizations.
type Organization struct {
	ID          string `json:"_id"`
	DisplayName string `json:"displayName"`
}

func (s *Server) oauth() *oauthState {
	s.oa.mu.Lock()
	if s.oa.clients == nil {
		s.oa.clients, s.oa.tokens, s.oa.lifetime, s.oa.now = map[string]string{}, map[string]issued{}, DefaultTokenLifetime, time.Now
	}
	s.oa.mu.Unlock()
	return &s.oa
}

// AddServiceAccount registers a service account (or gives it a new secret).
func (s *Server) AddServiceAccount(clientID, secret string) {
	oa := s.oauth()
	oa.mu.Lock()
	defer oa.mu.Unlock()
	oa.clients[clientID] = secret
}

// RevokeSecret revokes a service account's secret, as an administrator deleting it in the
// console: token requests fail with invalid_client and every token issued to it stops
// working at once. It reports whether the client was known.
func (s *Server) RevokeSecret(clientID string) bool {
	oa := s.oauth()
	oa.mu.Lock()
	defer oa.mu.Unlock()
	if _, ok := oa.clients[clientID]; !ok {
		return false
	}
	oa.clients[clientID] = ""
	for tok, is := range oa.tokens {
		if is.client == clientID {
			delete(oa.tokens, tok)
		}
	}
	return true
}

// ExpireTokens makes every token issued so far expire now, as an hour passing would; the
// secrets stay valid.
func (s *Server) ExpireTokens() {
	oa := s.oauth()
	oa.mu.Lock()
	defer oa.mu.Unlock()
	now := oa.now()
	for tok, is := range oa.tokens {
		is.expires = now
		oa.tokens[tok] = is
	}
}

// SetTokenLifetime sets the lifetime of the tokens issued from now on (expires_in is whole
// seconds, at least one; the token itself expires after exactly d).
func (s *Server) SetTokenLifetime(d time.Duration) {
	oa := s.oauth()
	oa.mu.Lock()
	defer oa.mu.Unlock()
	oa.lifetime = d
}

// SetOrganizations sets what GET /api/organizations lists, as for a multi-tenant account. The
// simulator still serves the data of its one org; x-org-id naming another listed org
// answers 404 like an unknown one.
func (s *Server) SetOrganizations(orgs []Organization) {
	oa := s.oauth()
	oa.mu.Lock()
	defer oa.mu.Unlock()
	oa.orgs = append([]Organization(nil), orgs...)
}

// TokenStats returns the token counters.
func (s *Server) TokenStats() TokenStats {
	oa := s.oauth()
	oa.mu.Lock()
	defer oa.mu.Unlock()
	return oa.stats
}

// IssuedTokens returns every token the simulator ever handed out, expired and revoked ones
// too, for tests that scan for them.
func (s *Server) IssuedTokens() []string {
	oa := s.oauth()
	oa.mu.Lock()
	defer oa.mu.Unlock()
	return append([]string(nil), oa.all...)
}

// serveToken is POST /oauth2/token: client credentials in HTTP Basic auth only, a
// form-encoded body with grant_type=client_credentials.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	oa := s.oauth()
	fail := func(status int, code string, desc ...string) {
		oa.mu.Lock()
		oa.stats.Refused++
		oa.mu.Unlock()
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="jumpcloud"`)
		}
		body := `{"error":"` + code + `"`
		if len(desc) > 0 {
			body += `,"error_description":"` + desc[0] + `"`
		}
		writeOAuth(w, status, body+"}")
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeOAuth(w, http.StatusMethodNotAllowed, `{"error":"invalid_request"}`)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		fail(http.StatusBadRequest, "invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		fail(http.StatusUnauthorized, "invalid_client")
		return
	}
	// RFC 6749 §2.3.1: the id and secret are form-encoded before Base64.
	if v, err := url.QueryUnescape(id); err == nil {
		id = v
	}
	if v, err := url.QueryUnescape(secret); err == nil {
		secret = v
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "invalid_request")
		return
	}
	if r.PostForm.Has("client_secret") {
		fail(http.StatusBadRequest, "invalid_request") // one way of authenticating only
		return
	}
	oa.mu.Lock()
	want, known := oa.clients[id]
	lifetime, now := oa.lifetime, oa.now()
	oa.mu.Unlock()
	switch {
	case !known:
		fail(http.StatusUnauthorized, "invalid_client", descUnknownClient)
		return
	case want == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(want)) != 1:
		fail(http.StatusUnauthorized, "invalid_client", descBadSecret)
		return
	case r.PostForm.Get("grant_type") != "client_credentials":
		fail(http.StatusBadRequest, "unsupported_grant_type")
		return
	case r.PostForm.Has("scope") && r.PostForm.Get("scope") != "api":
		fail(http.StatusBadRequest, "invalid_scope")
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "jcsim_at_" + hex.EncodeToString(b)
	oa.mu.Lock()
	oa.tokens[tok] = issued{client: id, expires: now.Add(lifetime)}
	oa.all = append(oa.all, tok)
	oa.stats.Issued++
	oa.mu.Unlock()
	secs := max(1, int(lifetime/time.Second))
	w.Header().Set("Cache-Control", "no-store")
	writeOAuth(w, http.StatusOK, `{"access_token":"`+tok+`","token_type":"bearer","expires_in":`+strconv.Itoa(secs)+`,"scope":"api"}`)
}

func writeOAuth(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// bearerAuth is the auth middleware's hook for service accounts. A request without an
// Authorization header keeps key and accepted as they are (the API key check); one with a
// valid bearer token gets a matching pair; any other (unknown, expired or revoked token,
// another scheme) an empty accepted key, which the middleware answers 401 like a bad key.
func (s *Server) bearerAuth(r *http.Request, key, accepted string) (string, string) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return key, accepted
	}
	tok, ok := strings.CutPrefix(h, "Bearer ")
	oa := s.oauth()
	oa.mu.Lock()
	defer oa.mu.Unlock()
	is, known := oa.tokens[tok]
	switch {
	case !ok || !known:
		oa.stats.BearerUnknown++
		return key, ""
	case !oa.now().Before(is.expires):
		oa.stats.BearerExpired++
		return key, ""
	}
	oa.stats.BearerOK++
	return "bearer", "bearer"
}

// listOrgs answers GET /api/organizations: the orgs of SetOrganizations when set (a
// multi-tenant account), else the one org the simulator serves.
func (s *Server) listOrgs(w http.ResponseWriter, r *http.Request) {
	oa := s.oauth()
	oa.mu.Lock()
	orgs := oa.orgs
	oa.mu.Unlock()
	if orgs == nil {
		orgs = []Organization{{ID: s.orgID, DisplayName: s.org.Name}}
	}
	s.serveList(w, r, list{v1: true, n: len(orgs), key: "orgs",
		item: func(i int) any {
			return map[string]any{"_id": orgs[i].ID, "displayName": orgs[i].DisplayName, "logoUrl": ""}
		}})
}

// SetMultiTenant makes x-org-id mandatory, as for a multi-tenant account. Call it before the
// server serves requests.
func (s *Server) SetMultiTenant(on bool) { s.opts.MultiTenant = on }
