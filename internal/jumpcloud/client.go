// Package jumpcloud is the JumpCloud API client used by the sync activities: typed models,
// paging in one place, retries with backoff, per-org pacing (adaptive, or a fixed rate
// limiter) and typed errors.
package jumpcloud

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"jcsync/internal/httpretry"
	"jcsync/internal/pacer"
)

// Base URLs of JumpCloud's data centres.
const (
	DefaultBaseURL = "https://console.jumpcloud.com"
	EUBaseURL      = "https://console.eu.jumpcloud.com"
)

// MaxPageSize is the largest limit JumpCloud accepts on list endpoints (it answers 400 above it).
const MaxPageSize = 100

// MaxBodyBytes bounds a response body. The biggest legitimate page (100 users with every
// field) is far below it; anything larger is a broken proxy or server, and reading it whole
// would risk the worker's memory.
const MaxBodyBytes = 32 << 20

// Options configures a Client. Zero values take the documented defaults.
type Options struct {
	BaseURL string // default DefaultBaseURL; EUBaseURL for the EU data centre
	APIKey  string // required unless ServiceAccount is set; never logged or put in an error
	OrgID   string // sent as x-org-id when set (multi-tenant admins need it)
	// HTTPClient is copied, never mutated; default: a client with a 30 s timeout.
	HTTPClient *http.Client
	RPS        float64 // default 10
	Burst      int     // default max(1, RPS)
	// Limiter, when set, replaces RPS/Burst so several clients of one org share one budget.
	Limiter *rate.Limiter
	// Pacer, when set, paces the requests adaptively instead of at a fixed rate: it learns
	// the org's limit from the 429s, and a Retry-After holds back every request it paces.
	// Every client of one org shares one Pacer. It replaces RPS, Burst and Limiter, which
	// must then be unset (New refuses the mix rather than guess which one was meant); an
	// operator's ceiling goes into the pacer's Max. Client.Pacing reports what it saw.
	Pacer        *pacer.Pacer
	MaxAttempts  int           // per request, including the first; default 6
	BaseBackoff  time.Duration // first backoff ceiling, doubled per attempt; default 500 ms
	MaxRetryWait time.Duration // cap on any single wait, Retry-After included; default 60 s
	PageSize     int           // default and max MaxPageSize
	OnRequest    func(RequestInfo)
	// ServiceAccount, in place of APIKey, authenticates with its OAuth bearer token.
	ServiceAccount *ServiceAccount
	// BaseURLSetting names the setting that holds BaseURL (JUMPCLOUD_BASE_URL, or a field of
	// the config file): a request that cannot reach the host says to check it.
	BaseURLSetting string
	// InsightsBaseURL is the Directory Insights host. Default: the API host of the console
	// in BaseURL (DefaultInsightsBaseURL, or EUInsightsBaseURL for EUBaseURL), or BaseURL
	// itself when that is not a JumpCloud console (a proxy or a simulator).
	InsightsBaseURL string
	// InsightsBaseURLSetting names the setting that holds InsightsBaseURL
	// (JUMPCLOUD_INSIGHTS_BASE_URL, or a field of the config file), for errors that say the
	// host cannot be reached.
	InsightsBaseURLSetting string
}

// String keeps the key out of any %v / %+v of the options.
func (o Options) String() string {
	return fmt.Sprintf("jumpcloud.Options{BaseURL:%q OrgID:%q APIKey:[REDACTED]}", o.BaseURL, o.OrgID)
}

// GoString keeps the key out of %#v as well.
func (o Options) GoString() string { return o.String() }

// RequestInfo describes one HTTP attempt, for metrics and logs.
type RequestInfo = httpretry.RequestInfo

// Stats are cumulative request counters of a Client.
type Stats = httpretry.Stats

// Client talks to one JumpCloud organization. It is safe for concurrent use.
type Client struct {
	baseURL string // scheme://host[/prefix], no trailing slash
	// insightsURL is the Directory Insights host, in the same form.
	insightsURL string
	// insightsAddress names insightsURL and its setting, for unreachable-host errors.
	insightsAddress string
	pageSize        int
	key             string // empty for a service account, whose token the transport adds
	orgID           string
	loop            *httpretry.Loop
	pacer           *pacer.Pacer // nil when paced at a fixed rate
}

// New validates opts and builds a Client.
func New(opts Options) (*Client, error) {
	if strings.TrimSpace(opts.APIKey) == "" && opts.ServiceAccount == nil {
		return nil, &configError{"APIKey is empty"}
	}
	// A key with control characters could split headers; refuse it before it reaches the wire.
	if strings.ContainsAny(opts.APIKey, "\r\n\x00") {
		return nil, &configError{"APIKey contains control characters"}
	}
	base := opts.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.User != nil {
		return nil, &configError{fmt.Sprintf("BaseURL %q is not an absolute http(s) URL", httpretry.Scrub(base, opts.APIKey))}
	}
	if opts.Pacer != nil && (opts.Limiter != nil || opts.RPS != 0 || opts.Burst != 0) {
		return nil, &configError{"Pacer excludes Limiter, RPS and Burst: the pacer sets the rate (its Max is the ceiling)"}
	}
	lim := opts.Limiter
	if lim == nil && opts.Pacer == nil {
		rps := opts.RPS
		if rps <= 0 {
			rps = 10
		}
		burst := opts.Burst
		if burst <= 0 {
			burst = max(1, int(rps))
		}
		lim = rate.NewLimiter(rate.Limit(rps), burst)
	}
	c := &Client{baseURL: strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), pageSize: opts.PageSize, key: opts.APIKey, orgID: opts.OrgID, pacer: opts.Pacer}
	if c.insightsURL, err = parseInsightsBase(InsightsBaseURLFor(opts.InsightsBaseURL, c.baseURL)); err != nil {
		return nil, err
	}
	insightsSetting := opts.InsightsBaseURLSetting
	if insightsSetting == "" {
		insightsSetting = "the Directory Insights base URL"
	}
	if opts.InsightsBaseURL == "" {
		insightsSetting += ", unset: derived from the JumpCloud base URL"
	}
	c.insightsAddress = fmt.Sprintf("%s (%q)", insightsSetting, c.insightsURL)
	if c.pageSize <= 0 || c.pageSize > MaxPageSize {
		c.pageSize = MaxPageSize
	}
	l := &httpretry.Loop{
		Policy:      policy(opts.APIKey, opts.OrgID, address(opts.BaseURLSetting, c.baseURL)),
		MaxAttempts: opts.MaxAttempts,
		Backoff:     httpretry.Backoff{Base: opts.BaseBackoff, Max: opts.MaxRetryWait},
		OnRequest:   opts.OnRequest,
	}
	if opts.Pacer != nil {
		l.Pace = opts.Pacer.Attempt
	} else {
		l.Throttle = lim.Wait
	}
	if l.MaxAttempts <= 0 {
		l.MaxAttempts = 6
	}
	if l.Backoff.Base <= 0 {
		l.Backoff.Base = 500 * time.Millisecond
	}
	if l.Backoff.Max <= 0 {
		l.Backoff.Max = 60 * time.Second
	}
	var hc http.Client
	if opts.HTTPClient != nil {
		hc = *opts.HTTPClient // a copy: the caller's client keeps its own redirect policy
	} else {
		hc = http.Client{Timeout: 30 * time.Second}
	}
	hc.CheckRedirect = httpretry.SameHostRedirects(func(r httpretry.Refusal) error {
		return fmt.Errorf("%w (%s to %s)", ErrRedirectRefused, r.From.Host, r.To.Host)
	}, hc.CheckRedirect)
	if opts.ServiceAccount != nil {
		hc.Transport = withServiceAccount(opts.ServiceAccount, hc.Transport)
	}
	l.HTTP = &hc
	c.loop = l
	return c, nil
}

// String keeps the key out of any %v of the client.
func (c *Client) String() string { return fmt.Sprintf("jumpcloud.Client{%s}", c.baseURL) }

// PageSize is the limit the client sends on list requests.
func (c *Client) PageSize() int { return c.pageSize }

// Stats returns the cumulative counters.
func (c *Client) Stats() Stats { return c.loop.Stats() }

// Pacing is the state of Options.Pacer: the rate it settled at, its estimate of the org's
// limit, the 429s and pauses. It covers every client sharing the pacer. ok is false, and
// the snapshot zero, when the client has no pacer.
func (c *Client) Pacing() (s pacer.Snapshot, ok bool) {
	if c.pacer == nil {
		return pacer.Snapshot{}, false
	}
	return c.pacer.Snapshot(), true
}

// Validate checks the key, the org header and user-read permission with the cheapest call.
func (c *Client) Validate(ctx context.Context) error {
	_, err := c.ValidateOrg(ctx)
	return err
}

// ValidateOrg is Validate that also returns the id of the organization the credential reads
// (the first user's "organization"; empty for an org without users). It is no secret: the
// sync's summary in the Web UI names it.
func (c *Client) ValidateOrg(ctx context.Context) (string, error) {
	q := url.Values{"limit": {"1"}, "fields": {"_id organization"}}
	var env struct {
		TotalCount *int `json:"totalCount"`
		Results    []struct {
			Organization string `json:"organization"`
		} `json:"results"`
	}
	err := c.get(ctx, "/api/systemusers", "/api/systemusers", q, func(_ http.Header, data []byte) error {
		return json.Unmarshal(data, &env)
	})
	if err != nil {
		return "", fmt.Errorf("check the JumpCloud connection and credential: %w", err)
	}
	if len(env.Results) == 0 {
		return "", nil
	}
	return env.Results[0].Organization, nil
}

// get performs a GET with retries (see policy) and hands the 2xx body to decode.
func (c *Client) get(ctx context.Context, endpoint, path string, q url.Values, decode func(http.Header, []byte) error) error {
	target := c.baseURL + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	return c.loop.Do(ctx, httpretry.Request{Method: http.MethodGet, Endpoint: endpoint, URL: target, Idempotent: true, Decode: decode})
}

// address names where the base URL is configured and what it is, for errors that say the
// host cannot be reached.
func address(setting, baseURL string) string {
	if setting == "" {
		setting = "the JumpCloud base URL"
	}
	return fmt.Sprintf("%s (%q)", setting, baseURL)
}
