// Package jumpcloud is the JumpCloud API client used by the sync activities: typed models,
// paging in one place, retries with backoff, a per-org rate limiter and typed errors.
package jumpcloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"jcsync/internal/httpretry"
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
	Limiter      *rate.Limiter
	MaxAttempts  int           // per request, including the first; default 6
	BaseBackoff  time.Duration // first backoff ceiling, doubled per attempt; default 500 ms
	MaxRetryWait time.Duration // cap on any single wait, Retry-After included; default 60 s
	PageSize     int           // default and max MaxPageSize
	OnRequest    func(RequestInfo)
	// ServiceAccount, in place of APIKey, authenticates with its OAuth bearer token.
	ServiceAccount *ServiceAccount
}

// String keeps the key out of any %v / %+v of the options.
func (o Options) String() string {
	return fmt.Sprintf("jumpcloud.Options{BaseURL:%q OrgID:%q APIKey:[REDACTED]}", o.BaseURL, o.OrgID)
}

// GoString keeps the key out of %#v as well.
func (o Options) GoString() string { return o.String() }

// RequestInfo describes one HTTP attempt, for metrics and logs. It carries no secrets.
type RequestInfo struct {
	Method   string
	Endpoint string // templated path, e.g. /api/v2/usergroups/{id}/members
	Status   int    // 0 on a transport error (including a truncated body)
	Attempt  int    // 1 for the first try
	Duration time.Duration
	Err      error
}

// Stats are cumulative request counters of a Client.
type Stats struct {
	Requests    int64 // HTTP attempts made
	Retries     int64 // attempts that were followed by another one
	RateLimited int64 // 429 answers
}

// Client talks to one JumpCloud organization. It is safe for concurrent use.
type Client struct {
	baseURL     string // scheme://host[/prefix], no trailing slash
	key         string
	orgID       string
	hc          *http.Client
	lim         *rate.Limiter
	maxAttempts int
	backoff     httpretry.Backoff
	pageSize    int
	onRequest   func(RequestInfo)
	// sleep waits between attempts; tests replace it to observe the chosen waits.
	sleep func(ctx context.Context, d time.Duration) error

	requests, retries, rateLimited atomic.Int64
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
	c := &Client{
		baseURL:     strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"),
		key:         opts.APIKey,
		orgID:       opts.OrgID,
		lim:         opts.Limiter,
		maxAttempts: opts.MaxAttempts,
		backoff:     httpretry.Backoff{Base: opts.BaseBackoff, Max: opts.MaxRetryWait},
		pageSize:    opts.PageSize,
		onRequest:   opts.OnRequest,
		sleep:       httpretry.Sleep,
	}
	if c.lim == nil {
		rps := opts.RPS
		if rps <= 0 {
			rps = 10
		}
		burst := opts.Burst
		if burst <= 0 {
			burst = max(1, int(rps))
		}
		c.lim = rate.NewLimiter(rate.Limit(rps), burst)
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = 6
	}
	if c.backoff.Base <= 0 {
		c.backoff.Base = 500 * time.Millisecond
	}
	if c.backoff.Max <= 0 {
		c.backoff.Max = 60 * time.Second
	}
	if c.pageSize <= 0 || c.pageSize > MaxPageSize {
		c.pageSize = MaxPageSize
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
	c.hc = &hc
	return c, nil
}

// String keeps the key out of any %v of the client.
func (c *Client) String() string { return fmt.Sprintf("jumpcloud.Client{%s}", c.baseURL) }

// PageSize is the limit the client sends on list requests.
func (c *Client) PageSize() int { return c.pageSize }

// Stats returns the cumulative counters.
func (c *Client) Stats() Stats {
	return Stats{Requests: c.requests.Load(), Retries: c.retries.Load(), RateLimited: c.rateLimited.Load()}
}

// Validate checks the key, the org header and user-read permission with the cheapest call.
func (c *Client) Validate(ctx context.Context) error {
	q := url.Values{"limit": {"1"}, "fields": {"_id"}}
	var env struct {
		TotalCount *int `json:"totalCount"`
	}
	err := c.get(ctx, "/api/systemusers", "/api/systemusers", q, func(_ http.Header, data []byte) error {
		return json.Unmarshal(data, &env)
	})
	if err != nil {
		return fmt.Errorf("validate jumpcloud credentials: %w", err)
	}
	return nil
}

// get performs a GET with retries and hands the 2xx body to decode.
func (c *Client) get(ctx context.Context, endpoint, path string, q url.Values, decode func(http.Header, []byte) error) error {
	return c.do(ctx, http.MethodGet, endpoint, path, q, nil, decode)
}

// do runs one logical request: rate limiter, attempt, classification, backoff, repeat.
//
// Malformed JSON: a 2xx body that is not valid JSON (a *json.SyntaxError, typically a body cut
// short by a dropped connection or a proxy's error page) is retried like a transport error,
// bounded by MaxAttempts, because a second read usually succeeds. A body that is valid JSON of
// the wrong shape (a list that is not a list, more records than the page's limit) is
// permanent: JumpCloud would answer the same again, so it fails at once. One record of the
// wrong shape is no error at all: the page skips and counts it (see Page.Skipped).
//
// Statuses: 429 and 500/502/503/504 are retried with the same backoff (Retry-After when the
// answer carries one), counted in Stats.Retries; every other status fails at once.
func (c *Client) do(ctx context.Context, method, endpoint, path string, q url.Values, body []byte, decode func(http.Header, []byte) error) error {
	target := c.baseURL + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	for attempt := 1; ; attempt++ {
		if err := c.lim.Wait(ctx); err != nil {
			return c.waitErr(ctx, method, endpoint, err)
		}
		start := time.Now()
		status, hdr, data, err := c.once(ctx, method, target, body)
		c.requests.Add(1)

		var (
			result     error
			retryable  bool
			retryAfter string // of a status answer; transport and decode failures have none
			infoCode   = status
		)
		switch {
		case err != nil:
			infoCode = 0
			if ctx.Err() != nil {
				result = c.reqErr(method, endpoint, "send request", ctx.Err(), false)
				break
			}
			op := "send request"
			if status != 0 {
				op = "read response"
			}
			permanent := errors.Is(err, ErrRedirectRefused) || errors.Is(err, ErrBodyTooLarge)
			result = c.reqErr(method, endpoint, op, err, permanent)
			retryable = !permanent && httpretry.Transient(err)
		case status >= 200 && status < 300:
			if decode != nil {
				if derr := decode(hdr, data); derr != nil {
					var syn *json.SyntaxError
					retryable = errors.As(derr, &syn) || errors.Is(derr, io.ErrUnexpectedEOF)
					result = c.reqErr(method, endpoint, "decode response", derr, !retryable)
				}
			}
		default:
			result = c.apiError(method, endpoint, status, data)
			if status == http.StatusTooManyRequests {
				c.rateLimited.Add(1)
			}
			retryable = retryableStatus(status)
			retryAfter = hdr.Get("Retry-After")
		}
		if c.onRequest != nil {
			c.onRequest(RequestInfo{Method: method, Endpoint: endpoint, Status: infoCode, Attempt: attempt, Duration: time.Since(start), Err: result})
		}
		if result == nil || !retryable || attempt >= c.maxAttempts || ctx.Err() != nil {
			return result
		}
		c.retries.Add(1)
		if err := c.sleep(ctx, c.backoff.Wait(attempt, retryAfter, time.Now())); err != nil {
			return c.waitErr(ctx, method, endpoint, err)
		}
	}
}

// once makes a single HTTP attempt and reads the whole (bounded) body. A non-zero status
// with an error means the headers arrived but the body did not.
func (c *Client) once(ctx context.Context, method, target string, body []byte) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("build request: %w", err)
	}
	if c.key != "" {
		req.Header.Set("x-api-key", c.key)
	}
	if c.orgID != "" {
		req.Header.Set("x-org-id", c.orgID)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "jcsync")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	// A body announced beyond the limit is refused before any of it is read.
	if resp.ContentLength > MaxBodyBytes {
		return resp.StatusCode, resp.Header, nil, fmt.Errorf("%w: %d bytes announced, more than %d", ErrBodyTooLarge, resp.ContentLength, MaxBodyBytes)
	}
	data, over, err := httpretry.ReadLimited(resp.Body, MaxBodyBytes)
	if err != nil {
		return resp.StatusCode, resp.Header, nil, err
	}
	if over {
		return resp.StatusCode, resp.Header, nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, MaxBodyBytes)
	}
	return resp.StatusCode, resp.Header, data, nil
}

func (c *Client) reqErr(method, endpoint, op string, err error, permanent bool) *RequestError {
	err = withoutQuery(err)
	return &RequestError{Method: method, Endpoint: endpoint, Op: op, Err: err, Permanent: permanent, msg: httpretry.Scrub(err.Error(), c.key)}
}

// withoutQuery drops the query string from the URL that net/http puts in transport errors:
// a filter such as email:$eq:<address> would otherwise carry personal data into logs and
// workflow histories. The endpoint template already says what was called.
func withoutQuery(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	u, perr := url.Parse(ue.URL)
	if perr != nil || u.RawQuery == "" {
		return err
	}
	u.RawQuery = ""
	return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
}

// waitErr reports a wait cut short by ctx (or a limiter that cannot fit in ctx's deadline).
func (c *Client) waitErr(ctx context.Context, method, endpoint string, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return c.reqErr(method, endpoint, "wait", err, false)
}

// apiError builds an *APIError from a non-2xx answer, preferring JumpCloud's "message".
func (c *Client) apiError(method, endpoint string, status int, data []byte) *APIError {
	var body struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	msg := ""
	if json.Unmarshal(data, &body) == nil {
		msg = body.Message
		if msg == "" {
			msg = body.Error
		}
	}
	if msg == "" {
		msg = strings.TrimSpace(string(data))
	}
	// JumpCloud prefixes messages with the status text ("Unauthorized: ..."); Error() already
	// says it, so drop the repetition.
	msg = strings.TrimPrefix(msg, http.StatusText(status)+": ")
	msg = httpretry.Scrub(msg, c.key)
	msg = truncateRunes(msg, 200)
	return &APIError{Status: status, Method: method, Endpoint: endpoint, Message: msg}
}

// truncateRunes keeps at most n bytes of s without splitting a UTF-8 sequence.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
