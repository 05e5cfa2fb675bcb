// Package authomize is a client for Authomize's connector REST API (v2 "apps", spec 4.6.8):
// app management, batched uploads of every entity and relation kind, and the
// modifiedBefore sweep, with retries for transient failures.
package authomize

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"jcsync/internal/httpretry"
)

// Defaults and hard limits.
const (
	DefaultBaseURL = "https://api.authomize.com"
	// MaxItemsPerRequest is the spec's maxItems for every list body.
	MaxItemsPerRequest = 10000
	DefaultBatchSize   = 1000
	// HardMaxBodyBytes is "1MB" read strictly (10^6), the stricter of the two readings.
	HardMaxBodyBytes = 1_000_000
	// DefaultMaxBodyBytes leaves headroom under the hard limit for whatever a gateway counts
	// besides our JSON (and for a server that reads "1MB" more strictly than we do).
	DefaultMaxBodyBytes = HardMaxBodyBytes - 16*1024
	DefaultMaxAttempts  = 6
	DefaultBaseBackoff  = time.Second
	DefaultMaxRetryWait = 60 * time.Second
	// maxResponseBytes bounds what we read from a successful answer. Upload answers list ids
	// (at most a few per item, ≤10000 items), so 32 MiB is ample and still bounded.
	maxResponseBytes = 32 << 20
	// maxErrorBodyBytes bounds what we read from an error answer; only "detail" matters.
	maxErrorBodyBytes = 64 << 10
)

// Options configures a Client. Zero values mean the defaults.
type Options struct {
	BaseURL      string
	Token        string
	AppID        string
	HTTPClient   *http.Client // copied, never mutated; default has a 60 s timeout
	BatchSize    int          // items per request, clamped to 1..10000 (≤0 = 1000)
	MaxBodyBytes int          // encoded body bytes per request, ≤ 1,000,000
	MaxAttempts  int          // attempts per request including the first
	BaseBackoff  time.Duration
	MaxRetryWait time.Duration // caps both the backoff and Retry-After
	OnRequest    func(RequestInfo)
}

// RequestInfo describes one HTTP attempt, for metrics and logs. It holds no secrets or data.
type RequestInfo struct {
	Method   string
	Endpoint string // templated, e.g. /v2/apps/{appId}/accounts/users
	Status   int    // 0 when no response arrived
	Attempt  int    // 1-based
	Duration time.Duration
	Err      error
}

// Stats are cumulative counters for the client's lifetime.
type Stats struct {
	Requests    int64 // HTTP attempts
	Retries     int64 // attempts that were followed by another attempt
	RateLimited int64 // 429 answers
}

// Client talks to one Authomize tenant and (for data calls) one app.
type Client struct {
	base        *url.URL
	token       string
	appID       string
	hc          *http.Client
	batchSize   int
	maxBody     int
	maxAttempts int
	backoff     httpretry.Backoff
	onRequest   func(RequestInfo)

	requests, retries, rateLimited atomic.Int64
}

// New validates opts and builds a Client. The token is checked for presence and header
// safety only; call Me to check it against the server.
func New(opts Options) (*Client, error) {
	if strings.TrimSpace(opts.Token) == "" {
		return nil, errors.New("authomize: API token is required")
	}
	if strings.ContainsAny(opts.Token, "\r\n\x00") {
		// Never echo the token itself; a value with line breaks would corrupt the header.
		return nil, errors.New("authomize: API token contains control characters")
	}
	raw := opts.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, fmt.Errorf("authomize: invalid base URL: %w", err)
	}
	if (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("authomize: invalid base URL %q: want http(s)://host", raw)
	}
	if base.User != nil || base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("authomize: invalid base URL: no credentials, query or fragment allowed")
	}
	c := &Client{
		base:        base,
		token:       opts.Token,
		appID:       opts.AppID,
		batchSize:   opts.BatchSize,
		maxBody:     opts.MaxBodyBytes,
		maxAttempts: opts.MaxAttempts,
		backoff:     httpretry.Backoff{Base: opts.BaseBackoff, Max: opts.MaxRetryWait},
		onRequest:   opts.OnRequest,
	}
	if c.batchSize <= 0 {
		c.batchSize = DefaultBatchSize
	}
	c.batchSize = min(c.batchSize, MaxItemsPerRequest)
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodyBytes
	}
	c.maxBody = min(c.maxBody, HardMaxBodyBytes)
	if c.maxAttempts <= 0 {
		c.maxAttempts = DefaultMaxAttempts
	}
	if c.backoff.Base <= 0 {
		c.backoff.Base = DefaultBaseBackoff
	}
	if c.backoff.Max <= 0 {
		c.backoff.Max = DefaultMaxRetryWait
	}
	var hc http.Client
	if opts.HTTPClient != nil {
		hc = *opts.HTTPClient // shallow copy: we must not change the caller's redirect policy
	} else {
		hc = http.Client{Timeout: 60 * time.Second}
	}
	// The token travels in a header; see httpretry.SameHostRedirects for why redirects
	// elsewhere are refused.
	hc.CheckRedirect = httpretry.SameHostRedirects(func(r httpretry.Refusal) error {
		if r.OtherHost {
			return fmt.Errorf("refusing redirect to another host %q", r.To.Host)
		}
		return errors.New("refusing redirect from https to http")
	}, hc.CheckRedirect)
	c.hc = &hc
	return c, nil
}

// Stats returns the cumulative counters.
func (c *Client) Stats() Stats {
	return Stats{Requests: c.requests.Load(), Retries: c.retries.Load(), RateLimited: c.rateLimited.Load()}
}

// AppID is the app this client uploads to.
func (c *Client) AppID() string { return c.appID }

// call is one logical API call: template for metrics/errors, concrete path, body.
type call struct {
	method   string
	endpoint string // templated
	path     string // concrete, already escaped
	query    url.Values
	body     []byte
	// idempotent says whether a failure after the request may have been processed can be
	// retried. Creating an app is not: a retry could create a second app.
	idempotent bool
	// stream, when set, reads a 2xx body as it arrives instead of buffering it: GET listings
	// have no paging and can be as large as the app. Its error counts as a transport failure.
	stream func(r io.Reader) error
}

func (c *Client) appCall(method, suffix string, body []byte) (call, error) {
	if c.appID == "" {
		return call{}, fmt.Errorf("authomize: %s /v2/apps/{appId}%s: no app id configured", method, suffix)
	}
	return call{
		method: method, endpoint: "/v2/apps/{appId}" + suffix,
		path: "/v2/apps/" + url.PathEscape(c.appID) + suffix, body: body, idempotent: true,
	}, nil
}

// retryableStatus lists the answers that mean "try again later". Uploads are upserts keyed by
// uniqueId (relations by their id tuple) and DELETE /data with a fixed cutoff is idempotent,
// so re-sending after an ambiguous failure is harmless.
func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// do runs a call with retries and decodes a 2xx JSON answer into out (if non-nil).
func (c *Client) do(ctx context.Context, cl call, out any) error {
	var lastErr error
	for attempt := 1; ; attempt++ {
		status, hdr, body, err := c.attempt(ctx, cl, attempt)
		var retryAfter string // of a status answer; transport and decode failures have none
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return fmt.Errorf("authomize: %s %s: %w", cl.method, cl.endpoint, ctx.Err())
			}
			lastErr = &scrubError{err: fmt.Errorf("authomize: %s %s: %w", cl.method, cl.endpoint, err), token: c.token}
			if !cl.idempotent {
				return lastErr
			}
		case status >= 200 && status < 300:
			if out == nil {
				return nil
			}
			if derr := json.Unmarshal(body, out); derr != nil {
				// A 2xx with an unreadable body is most likely truncated by a proxy; the
				// request is safe to repeat when idempotent.
				lastErr = fmt.Errorf("authomize: %s %s: decoding %d answer: %w", cl.method, cl.endpoint, status, derr)
				if !cl.idempotent {
					return lastErr
				}
				break
			}
			return nil
		default:
			apiErr := c.apiError(cl, status, body)
			if !retryableStatus(status) || (!cl.idempotent && status != http.StatusTooManyRequests) {
				return apiErr
			}
			lastErr = apiErr
			retryAfter = hdr.Get("Retry-After")
		}
		if attempt >= c.maxAttempts {
			return fmt.Errorf("authomize: giving up after %d attempts: %w", attempt, lastErr)
		}
		c.retries.Add(1)
		if err := httpretry.Sleep(ctx, c.backoff.Wait(attempt, retryAfter, time.Now())); err != nil {
			return fmt.Errorf("authomize: %s %s: waiting to retry: %w (last error: %v)", cl.method, cl.endpoint, err, lastErr)
		}
	}
}

// attempt sends one HTTP request and reads the (bounded) body.
func (c *Client) attempt(ctx context.Context, cl call, n int) (int, http.Header, []byte, error) {
	start := time.Now()
	status, hdr, body, err := c.roundTrip(ctx, cl)
	c.requests.Add(1)
	if status == http.StatusTooManyRequests {
		c.rateLimited.Add(1)
	}
	if c.onRequest != nil {
		var infoErr error
		if err != nil {
			infoErr = &scrubError{err: err, token: c.token}
		}
		c.onRequest(RequestInfo{Method: cl.method, Endpoint: cl.endpoint, Status: status, Attempt: n, Duration: time.Since(start), Err: infoErr})
	}
	return status, hdr, body, err
}

func (c *Client) roundTrip(ctx context.Context, cl call) (int, http.Header, []byte, error) {
	// cl.path is already escaped (app ids go through url.PathEscape), so join strings
	// rather than round-tripping through url.URL.Path.
	target := c.base.String() + cl.path
	if cl.query != nil {
		target += "?" + cl.query.Encode()
	}
	var rd io.Reader
	if cl.body != nil {
		rd = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, target, rd)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Authorization", c.token) // raw token, no "Bearer": the connector API convention
	req.Header.Set("Accept", "application/json")
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	if cl.stream != nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if err := cl.stream(resp.Body); err != nil {
			return 0, nil, nil, fmt.Errorf("reading %d answer: %w", resp.StatusCode, err)
		}
		return resp.StatusCode, resp.Header, nil, nil
	}
	limit := int64(maxResponseBytes)
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		limit = maxErrorBodyBytes
	}
	body, over, err := httpretry.ReadLimited(resp.Body, limit)
	if err != nil {
		// A truncated body (connection dropped mid-answer) is a transport failure.
		return 0, nil, nil, fmt.Errorf("reading %d answer: %w", resp.StatusCode, err)
	}
	// An error body cut at the limit is kept: its start is enough for "detail".
	if over && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, resp.Header, nil, fmt.Errorf("answer larger than %d bytes", limit)
	}
	return resp.StatusCode, resp.Header, body, nil
}

// apiError builds the typed error for a non-2xx answer.
func (c *Client) apiError(cl call, status int, body []byte) error {
	base := APIError{Status: status, Method: cl.method, Endpoint: cl.endpoint}
	// Scrub before parsing so neither Detail nor Items can carry a token a server echoed.
	body = []byte(httpretry.Scrub(string(body), c.token))
	var env struct {
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &env) != nil || len(env.Detail) == 0 {
		base.Detail = httpretry.Scrub(snippet(body), c.token)
		return &base
	}
	var s string
	if json.Unmarshal(env.Detail, &s) == nil {
		base.Detail = httpretry.Scrub(s, c.token) // again: JSON escapes could hide a token from the raw pass
		if status == http.StatusUnprocessableEntity {
			return &ValidationError{APIError: base}
		}
		return &base
	}
	var items []ValidationItem
	if json.Unmarshal(env.Detail, &items) == nil {
		parts := make([]string, 0, min(len(items), 20))
		for i, it := range items {
			if i == 20 { // a 10,000-item batch can fail everywhere; keep the message readable
				parts = append(parts, fmt.Sprintf("… and %d more", len(items)-20))
				break
			}
			parts = append(parts, it.String())
		}
		base.Detail = httpretry.Scrub(strings.Join(parts, "; "), c.token)
		if status == http.StatusUnprocessableEntity {
			return &ValidationError{APIError: base, Items: items}
		}
		return &base
	}
	base.Detail = httpretry.Scrub(snippet(env.Detail), c.token)
	return &base
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 512 {
		s = s[:512] + "…"
	}
	return s
}

// ---- app and token calls ----

// Me checks the token (GET /me).
func (c *Client) Me(ctx context.Context) (Me, error) {
	var me Me
	err := c.do(ctx, call{method: http.MethodGet, endpoint: "/me", path: "/me", idempotent: true}, &me)
	return me, err
}

// App reads the configured app (GET /v2/apps/{appId}); ErrAppNotFound if it doesn't exist.
func (c *Client) App(ctx context.Context) (App, error) {
	cl, err := c.appCall(http.MethodGet, "", nil)
	if err != nil {
		return App{}, err
	}
	var a App
	err = c.do(ctx, cl, &a)
	return a, err
}

// CreateApp creates an app (POST /v2/apps). It is retried only on 429 (not processed), since
// a retry after an ambiguous failure could create a duplicate app.
func (c *Client) CreateApp(ctx context.Context, integrationName string) (App, error) {
	body, err := json.Marshal(map[string]string{"integrationName": integrationName})
	if err != nil {
		return App{}, fmt.Errorf("authomize: encoding app: %w", err)
	}
	var a App
	err = c.do(ctx, call{method: http.MethodPost, endpoint: "/v2/apps", path: "/v2/apps", body: body}, &a)
	return a, err
}

// RenameApp sets the configured app's name (PATCH /v2/apps/{appId}).
func (c *Client) RenameApp(ctx context.Context, name string) (App, error) {
	body, err := json.Marshal(map[string]string{"name": name})
	if err != nil {
		return App{}, fmt.Errorf("authomize: encoding app name: %w", err)
	}
	cl, err := c.appCall(http.MethodPatch, "", body)
	if err != nil {
		return App{}, err
	}
	var a App
	err = c.do(ctx, cl, &a)
	return a, err
}

// ListApps returns every app of the tenant (GET /v2/apps, paged by limit/skip).
func (c *Client) ListApps(ctx context.Context) ([]App, error) {
	const pageSize = 100
	const maxPages = 10000 // a server that always says hasMore must not loop us forever
	var all []App
	for page := 0; page < maxPages; page++ {
		var resp struct {
			Pagination struct {
				Limit   int  `json:"limit"`
				Skip    int  `json:"skip"`
				Total   int  `json:"total"`
				HasMore bool `json:"hasMore"`
			} `json:"pagination"`
			Data []App `json:"data"`
		}
		q := url.Values{"limit": {strconv.Itoa(pageSize)}, "skip": {strconv.Itoa(len(all))}}
		if err := c.do(ctx, call{method: http.MethodGet, endpoint: "/v2/apps", path: "/v2/apps", query: q, idempotent: true}, &resp); err != nil {
			return all, err
		}
		all = append(all, resp.Data...)
		if !resp.Pagination.HasMore || len(resp.Data) == 0 {
			return all, nil
		}
	}
	return all, fmt.Errorf("authomize: GET /v2/apps: more than %d pages", maxPages)
}

// ---- sweep ----

// cutoffLayout is RFC 3339 with microseconds, the precision Authomize stamps records with.
const cutoffLayout = "2006-01-02T15:04:05.000000Z07:00"

// DeleteData removes the app's records last modified before modifiedBefore
// (DELETE /v2/apps/{appId}/data?modifiedBefore=…): the sweep after a full upload. A zero
// time is refused without a request, because omitting the cutoff wipes the whole app.
func (c *Client) DeleteData(ctx context.Context, modifiedBefore time.Time) error {
	if modifiedBefore.IsZero() {
		return fmt.Errorf("authomize: DELETE /v2/apps/{appId}/data: zero modifiedBefore: %w", ErrUnsafeSweep)
	}
	cl, err := c.appCall(http.MethodDelete, "/data", nil)
	if err != nil {
		return err
	}
	// Truncating (not rounding) to microseconds can only move the cutoff earlier, so it can
	// never delete a record stamped at the cutoff itself.
	cl.query = url.Values{"modifiedBefore": {modifiedBefore.UTC().Truncate(time.Microsecond).Format(cutoffLayout)}}
	return c.do(ctx, cl, &struct{}{})
}

// WipeAllData deletes all of the app's data (DELETE /v2/apps/{appId}/data without a cutoff).
// Nothing in the sync calls it; it exists for operators who mean it.
func (c *Client) WipeAllData(ctx context.Context) error {
	cl, err := c.appCall(http.MethodDelete, "/data", nil)
	if err != nil {
		return err
	}
	return c.do(ctx, cl, &struct{}{})
}
