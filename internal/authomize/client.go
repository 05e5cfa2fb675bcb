// Package authomize is a client for Authomize's connector REST API (v2 "apps", spec 4.6.8):
// app management, batched uploads of every entity and relation kind, and the
// modifiedBefore sweep, with retries for transient failures.
package authomize

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"jcsync/internal/httpretry"
	"jcsync/internal/pacer"
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
	// Pacer, when set, paces the requests: it learns the tenant's limit from the 429s, and
	// a Retry-After holds back every request it paces. Every client of one tenant shares
	// one Pacer. Nil sends unpaced, retrying 429s with backoff. Client.Pacing reports what
	// it saw.
	Pacer *pacer.Pacer
	// BaseURLSetting names the setting that holds BaseURL (AUTHOMIZE_BASE_URL, or a field of
	// the config file): a request that cannot reach the host says to check it.
	BaseURLSetting string
}

// RequestInfo describes one HTTP attempt, for metrics and logs.
type RequestInfo = httpretry.RequestInfo

// Stats are cumulative counters for the client's lifetime.
type Stats = httpretry.Stats

// Client talks to one Authomize tenant and (for data calls) one app.
type Client struct {
	base      *url.URL
	appID     string
	batchSize int
	maxBody   int
	loop      *httpretry.Loop
	pacer     *pacer.Pacer // nil when unpaced
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
	c := &Client{base: base, appID: opts.AppID, batchSize: opts.BatchSize, maxBody: opts.MaxBodyBytes, pacer: opts.Pacer}
	if c.batchSize <= 0 {
		c.batchSize = DefaultBatchSize
	}
	c.batchSize = min(c.batchSize, MaxItemsPerRequest)
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodyBytes
	}
	c.maxBody = min(c.maxBody, HardMaxBodyBytes)
	l := &httpretry.Loop{
		Policy:      policy(opts.Token, address(opts.BaseURLSetting, base.String())),
		MaxAttempts: opts.MaxAttempts,
		Backoff:     httpretry.Backoff{Base: opts.BaseBackoff, Max: opts.MaxRetryWait},
		OnRequest:   opts.OnRequest,
	}
	if opts.Pacer != nil {
		l.Pace = opts.Pacer.Attempt
	}
	if l.MaxAttempts <= 0 {
		l.MaxAttempts = DefaultMaxAttempts
	}
	if l.Backoff.Base <= 0 {
		l.Backoff.Base = DefaultBaseBackoff
	}
	if l.Backoff.Max <= 0 {
		l.Backoff.Max = DefaultMaxRetryWait
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
	l.HTTP = &hc
	c.loop = l
	return c, nil
}

// Stats returns the cumulative counters.
func (c *Client) Stats() Stats { return c.loop.Stats() }

// Pacing is the state of Options.Pacer: the rate it settled at, its estimate of the
// tenant's limit, the 429s and pauses. It covers every client sharing the pacer. ok is
// false, and the snapshot zero, when the client has no pacer.
func (c *Client) Pacing() (s pacer.Snapshot, ok bool) {
	if c.pacer == nil {
		return pacer.Snapshot{}, false
	}
	return c.pacer.Snapshot(), true
}

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

// do runs a call with retries (see policy) and decodes a 2xx JSON answer into out (if
// non-nil).
func (c *Client) do(ctx context.Context, cl call, out any) error {
	// cl.path is already escaped (app ids go through url.PathEscape), so join strings
	// rather than round-tripping through url.URL.Path.
	target := c.base.String() + cl.path
	if cl.query != nil {
		target += "?" + cl.query.Encode()
	}
	req := httpretry.Request{Method: cl.method, Endpoint: cl.endpoint, URL: target, Body: cl.body,
		Idempotent: cl.idempotent, Stream: cl.stream}
	if out != nil {
		req.Decode = func(_ http.Header, data []byte) error { return json.Unmarshal(data, out) }
	}
	return c.loop.Do(ctx, req)
}

// address names where the base URL is configured and what it is, for errors that say the
// host cannot be reached.
func address(setting, baseURL string) string {
	if setting == "" {
		setting = "the Authomize base URL"
	}
	return fmt.Sprintf("%s (%q)", setting, baseURL)
}
