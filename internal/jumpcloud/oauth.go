package jumpcloud

// Service accounts: JumpCloud's OAuth 2.0 client-credentials grant, the alternative to an
// administrator's API key.
//
// What is known of the flow (jumpcloud.com/support/service-account-for-apis and the
// public integrations that use it, see the API notes §10):
//   - POST https://admin-oauth.id.jumpcloud.com/oauth2/token (EU:
//     https://admin-oauth.id.eu.jumpcloud.com/oauth2/token), client id and secret in HTTP
//     Basic auth, form body grant_type=client_credentials&scope=api;
//   - a standard OAuth 2.0 token response (access_token, token_type, expires_in), a token
//     living about an hour;
//   - API calls send "Authorization: Bearer <token>" in place of x-api-key, to the usual
//     console hosts; x-org-id still picks the org of a multi-tenant account.
//
// UNCONFIRMED (no vendor reference found):
//   - the EU token host (one integration's code comment names it);
//   - the token endpoint's error bodies: RFC 6749 is assumed (401 {"error":"invalid_client"}
//     for an unknown client or a wrong, expired or revoked secret; 400 for a bad grant);
//   - whether JumpCloud URL-decodes the Basic credentials as RFC 6749 §2.3.1 asks:
//     golang.org/x/oauth2 form-encodes the id and the secret before Base64, which changes
//     nothing for ids and secrets of letters, digits and "-._~";
//   - whether an API call with an expired token answers like a bad key (401): the client
//     treats any 401 on a bearer request as a stale token, refreshes once and repeats;
//   - the lifetime when expires_in is missing: assumed an hour (tokenLifetimeUnknown).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"jcsync/internal/httpretry"
)

// Token endpoints of JumpCloud's data centres.
const (
	DefaultTokenURL = "https://admin-oauth.id.jumpcloud.com/oauth2/token"
	EUTokenURL      = "https://admin-oauth.id.eu.jumpcloud.com/oauth2/token"
)

// TokenScope is the scope a service account asks for.
const TokenScope = "api"

// tokenLifetimeUnknown is assumed when a token response carries no expires_in.
const tokenLifetimeUnknown = time.Hour

// ErrTokenRejected is matched (errors.Is) by a *TokenError that says the client id or secret
// is wrong, expired or revoked; it also matches ErrUnauthorized.
var ErrTokenRejected = errors.New("jumpcloud: service account credentials rejected")

// TokenURLFor is the token endpoint of the data centre a base URL points at: the region label
// between "console." and "jumpcloud.com" moves to the token host
// (console.eu.jumpcloud.com → admin-oauth.id.eu.jumpcloud.com). Any other host (a proxy, a
// simulator) takes the US endpoint; set the token URL explicitly for those.
func TokenURLFor(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return DefaultTokenURL
	}
	host := strings.ToLower(u.Hostname())
	region, ok := strings.CutSuffix(strings.TrimPrefix(host, "console."), "jumpcloud.com")
	if !ok || !strings.HasPrefix(host, "console.") || region == "" {
		return DefaultTokenURL
	}
	return "https://admin-oauth.id." + region + "jumpcloud.com/oauth2/token"
}

// ServiceAccountOptions configures a ServiceAccount.
type ServiceAccountOptions struct {
	ClientID     string
	ClientSecret string // never logged or put in an error
	// TokenURL defaults to TokenURLFor(BaseURL).
	TokenURL string
	BaseURL  string
	// HTTPClient's transport carries the token requests (default: http.DefaultTransport).
	// Redirects of the token request are never followed: they would carry the secret.
	HTTPClient *http.Client
}

// String keeps the secret out of any %v of the options.
func (o ServiceAccountOptions) String() string {
	return fmt.Sprintf("jumpcloud.ServiceAccountOptions{ClientID:%q TokenURL:%q ClientSecret:[REDACTED]}", o.ClientID, o.TokenURL)
}

// GoString keeps the secret out of %#v as well.
func (o ServiceAccountOptions) GoString() string { return o.String() }

// ServiceAccount holds one service account's access token: fetched on first use, shared by
// every request and client that uses the account, renewed before it expires, and dropped
// when JumpCloud answers 401 to it. It is safe for concurrent use; concurrent callers that
// need a new token wait for one token request.
type ServiceAccount struct {
	cfg      clientcredentials.Config
	clientID string
	hc       *http.Client
	now      func() time.Time

	mu        sync.Mutex
	tok       string
	refreshAt time.Time

	fetches, rejected atomic.Int64
}

// ServiceAccountStats are the token counters of a ServiceAccount.
type ServiceAccountStats struct {
	Fetches int64 // tokens obtained
	// Rejected counts tokens dropped because an API call answered 401 with them.
	Rejected int64
}

// NewServiceAccount checks opts and builds a ServiceAccount. No request is made.
func NewServiceAccount(opts ServiceAccountOptions) (*ServiceAccount, error) {
	if strings.TrimSpace(opts.ClientID) == "" {
		return nil, &configError{"service account client id is empty"}
	}
	if strings.TrimSpace(opts.ClientSecret) == "" {
		return nil, &configError{"service account client secret is empty"}
	}
	if strings.ContainsAny(opts.ClientID+opts.ClientSecret, "\r\n\x00") {
		return nil, &configError{"service account client id or secret contains control characters"}
	}
	tokenURL := opts.TokenURL
	if tokenURL == "" {
		tokenURL = TokenURLFor(opts.BaseURL)
	}
	u, err := url.Parse(tokenURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, &configError{fmt.Sprintf("token URL %q is not an absolute http(s) URL", httpretry.Scrub(tokenURL, opts.ClientSecret))}
	}
	hc := http.Client{Timeout: 30 * time.Second}
	if opts.HTTPClient != nil {
		hc.Transport = opts.HTTPClient.Transport
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &ServiceAccount{
		cfg: clientcredentials.Config{
			ClientID: opts.ClientID, ClientSecret: opts.ClientSecret, TokenURL: tokenURL,
			Scopes: []string{TokenScope}, AuthStyle: oauth2.AuthStyleInHeader,
		},
		clientID: opts.ClientID,
		hc:       &hc,
		now:      time.Now,
	}, nil
}

// String keeps the secret and the token out of any %v of the account.
func (s *ServiceAccount) String() string {
	return fmt.Sprintf("jumpcloud.ServiceAccount{ClientID:%q TokenURL:%q}", s.clientID, s.cfg.TokenURL)
}

// ClientID is the account's client id (not a secret).
func (s *ServiceAccount) ClientID() string { return s.clientID }

// Stats returns the token counters.
func (s *ServiceAccount) Stats() ServiceAccountStats {
	return ServiceAccountStats{Fetches: s.fetches.Load(), Rejected: s.rejected.Load()}
}

// Token returns a current access token, fetching one when there is none or the one held is
// close to its expiry: a fifth of its lifetime before, at most a minute.
func (s *ServiceAccount) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != "" && s.now().Before(s.refreshAt) {
		return s.tok, nil
	}
	s.tok = ""
	t, err := s.cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, s.hc))
	if err != nil {
		return "", s.tokenErr(ctx, err)
	}
	now := s.now()
	life := tokenLifetimeUnknown
	if !t.Expiry.IsZero() {
		life = t.Expiry.Sub(now)
	}
	s.tok, s.refreshAt = t.AccessToken, now.Add(life-min(time.Minute, life/5))
	s.fetches.Add(1)
	return s.tok, nil
}

// Invalidate drops token if it is still the one held, so the next Token fetches a new one.
// Concurrent requests that were all refused the same token cause one new token request.
func (s *ServiceAccount) Invalidate(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == token && token != "" {
		s.tok = ""
		s.rejected.Add(1)
	}
}

// oauthCodeRe is what an RFC 6749 error code looks like; anything else is not repeated.
var oauthCodeRe = regexp.MustCompile(`^[a-z_]{1,40}$`)

// tokenErr turns what golang.org/x/oauth2 returns into a *TokenError. oauth2's own messages
// quote the response body, which may hold a token: only the status, the error code and a
// scrubbed description are kept.
func (s *ServiceAccount) tokenErr(ctx context.Context, err error) error {
	te := &TokenError{ClientID: s.clientID, TokenURL: s.cfg.TokenURL}
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re):
		if re.Response != nil {
			te.Status = re.Response.StatusCode
		}
		if oauthCodeRe.MatchString(re.ErrorCode) {
			te.Code = re.ErrorCode
		}
		te.Description = truncateRunes(httpretry.Scrub(re.ErrorDescription, s.cfg.ClientSecret), 200)
	case ctx.Err() != nil:
		te.Err = ctx.Err()
	default:
		var ue *url.Error
		if errors.As(err, &ue) {
			// A transport failure: keep its cause (for the retry decision), not oauth2's text.
			te.Err = ue.Err
		} else {
			// oauth2's own complaints (an unparsable answer, no access_token) quote no body.
			te.Err = errors.New(httpretry.Scrub(err.Error(), s.cfg.ClientSecret))
		}
	}
	return te
}

// TokenError is a failed token request. Its text names the client id, the status and the
// OAuth error code, never the secret or a token.
type TokenError struct {
	ClientID    string
	TokenURL    string
	Status      int    // 0 when no answer arrived
	Code        string // RFC 6749 error code, e.g. invalid_client
	Description string
	Err         error // transport failure, when there was no answer
}

func (e *TokenError) Error() string {
	s := fmt.Sprintf("jumpcloud: service account %s: token request to %s", e.ClientID, e.TokenURL)
	switch {
	case e.Status != 0:
		s += fmt.Sprintf(": %d %s", e.Status, http.StatusText(e.Status))
		if e.Code != "" {
			s += ": " + e.Code
		}
		if e.Description != "" {
			s += " (" + e.Description + ")"
		}
		if e.Rejected() {
			s += ": check the service account's client id and secret (JUMPCLOUD_CLIENT_ID, JUMPCLOUD_CLIENT_SECRET or the integration's client_id and client_secret)"
		}
	case e.Err != nil:
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *TokenError) Unwrap() error { return e.Err }

// Rejected reports whether the token endpoint refused the credentials themselves: an unknown
// client, a wrong, expired or revoked secret, or a client not allowed this grant or scope.
// Repeating the request cannot help.
func (e *TokenError) Rejected() bool {
	switch e.Code {
	case "invalid_client", "unauthorized_client", "invalid_grant", "invalid_scope", "access_denied", "unsupported_grant_type":
		return true
	}
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden ||
		(e.Status == http.StatusBadRequest && e.Code == "")
}

// Is matches ErrTokenRejected and ErrUnauthorized for rejected credentials, so callers that
// treat a bad key as a credential error treat a bad service account the same way.
func (e *TokenError) Is(target error) bool {
	return (target == ErrTokenRejected || target == ErrUnauthorized) && e.Rejected()
}

// Temporary reports a token request worth repeating: no answer, or a 429 or 5xx.
func (e *TokenError) Temporary() bool {
	if e.Status != 0 {
		return httpretry.RetryableStatus(e.Status)
	}
	return e.Err != nil && !errors.Is(e.Err, context.Canceled)
}

// Timeout makes a temporary token failure look like a network timeout to the client's retry
// decision (httpretry.Transient), so it is retried with the usual backoff.
func (e *TokenError) Timeout() bool { return e.Temporary() }

// bearer is the RoundTripper of a client that uses a service account: it sets the bearer
// token on every request and, when JumpCloud answers 401, drops that token, gets a new one
// and repeats the request once. A second 401 is returned as it is: the credentials or the
// account's rights are the problem, not the token's age.
type bearer struct {
	sa   *ServiceAccount
	next http.RoundTripper
}

func (b *bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, tok, err := b.send(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	b.sa.Invalidate(tok)
	if req.Body != nil && req.GetBody == nil {
		return resp, nil // a body that cannot be re-read is not repeated
	}
	again := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return resp, nil
		}
		again.Body = body
	}
	_ = resp.Body.Close()
	resp, _, err = b.send(again)
	return resp, err
}

func (b *bearer) send(req *http.Request) (*http.Response, string, error) {
	tok, err := b.sa.Token(req.Context())
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, "", err
	}
	r := req.Clone(req.Context()) // a RoundTripper must not change the caller's request
	r.Header.Del("x-api-key")
	r.Header.Set("Authorization", "Bearer "+tok)
	resp, err := b.next.RoundTrip(r)
	return resp, tok, err
}

// withServiceAccount returns the transport that authenticates as sa over next.
func withServiceAccount(sa *ServiceAccount, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &bearer{sa: sa, next: next}
}

// Organizations lists the organizations the credential can see (GET /api/organizations), for
// an operator choosing the org id of a multi-tenant account. The request carries no x-org-id,
// as JumpCloud's own tools send it.
func (c *Client) Organizations(ctx context.Context) ([]Organization, error) {
	var out []Organization
	for skip := 0; ; {
		q := url.Values{"limit": {fmt.Sprint(MaxPageSize)}, "skip": {fmt.Sprint(skip)}, "fields": {"_id displayName"}}
		var env struct {
			TotalCount int            `json:"totalCount"`
			Results    []Organization `json:"results"`
		}
		err := c.withoutOrg().get(ctx, "/api/organizations", "/api/organizations", q, func(_ http.Header, data []byte) error {
			return json.Unmarshal(data, &env)
		})
		if err != nil {
			return nil, fmt.Errorf("list JumpCloud organizations: %w", err)
		}
		out = append(out, env.Results...)
		skip += len(env.Results)
		if len(env.Results) == 0 || skip >= env.TotalCount || len(out) > 100_000 {
			return out, nil
		}
	}
}

// Organization is one entry of GET /api/organizations.
type Organization struct {
	ID          string `json:"_id"`
	DisplayName string `json:"displayName"`
}

// withoutOrg is a copy of c that sends no x-org-id and shares c's HTTP client, limiter and
// counters' meaning (the copy counts on its own).
func (c *Client) withoutOrg() *Client {
	if c.orgID == "" {
		return c
	}
	l := &httpretry.Loop{
		HTTP: c.loop.HTTP, Policy: policy(c.key, "", c.loop.Policy.Address), MaxAttempts: c.loop.MaxAttempts,
		Backoff: c.loop.Backoff, Throttle: c.loop.Throttle, Pace: c.loop.Pace, Sleep: c.loop.Sleep, OnRequest: c.loop.OnRequest,
	}
	return &Client{baseURL: c.baseURL, pageSize: c.pageSize, key: c.key, pacer: c.pacer, loop: l}
}
