package jumpcloudsim

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Faults injects failures at random, reproducibly for one Seed. Each rate is a probability
// per request in [0, 1].
type Faults struct {
	Rate429 float64 // 429 Too Many Requests (without Retry-After unless Rate429RetryAfter)
	// Rate429RetryAfter is the fraction of the random 429s above that carry Retry-After: 1,
	// as JumpCloud's gateway sometimes sends and sometimes does not.
	Rate429RetryAfter float64
	Rate5xx           float64 // 502, 503 or 504
	Rate500           float64 // 500 Internal Server Error
	RateReset         float64 // connection reset before any response
	RateSlow          float64 // answer only after Slow
	RateTruncated     float64 // 200 with a body cut in half (connection closed mid-body)
	RateMalformed     float64 // 200 with a body that is not valid JSON
	Slow              time.Duration
	Seed              int64
}

// Special statuses for FailNext and FailFrom.
const (
	FailReset     = 0  // close the connection without answering
	FailTruncated = -1 // send a 200 whose body stops half way
)

type failRule struct {
	prefix    string
	remaining int // FailNext: failures left
	from      bool
	after     int // FailFrom: matching requests let through first
	seen      int
	status    int
}

// knobs are the run-time switches; all guarded by their own mutex so they can change while
// requests are served.
type knobs struct {
	mu         sync.Mutex
	latency    time.Duration
	limiter    *rate.Limiter
	retryAfter bool
	faults     Faults
	faultRand  *rand.Rand
	rules      []*failRule
	// apiKey, when keySet, replaces Options.APIKey: a key revoked or rotated while serving.
	apiKey   string
	keySet   bool
	rewrites []rewriteRule
}

// rewriteRule replaces the 2xx bodies of requests whose path starts with prefix.
type rewriteRule struct {
	prefix string
	fn     func(r *http.Request, body []byte) []byte
}

// SetAPIKey changes the one accepted key while the server runs, as when an administrator
// revokes or rotates a key between syncs. An empty key makes every request unauthorized.
func (s *Server) SetAPIKey(key string) {
	s.k.mu.Lock()
	defer s.k.mu.Unlock()
	s.k.apiKey, s.k.keySet = key, true
}

func (s *Server) acceptedKey() string {
	s.k.mu.Lock()
	defer s.k.mu.Unlock()
	if s.k.keySet {
		return s.k.apiKey
	}
	return s.opts.APIKey
}

// RewriteBodies hands every successful (2xx) response body of a request whose path starts
// with pathPrefix to fn and serves what fn returns instead, byte for byte. Tests use it to
// serve records the typed org cannot hold: wrong types, nulls, duplicate ids, broken JSON.
// Pages whose body was rewritten are still counted in Counts().Pages. ClearFaults removes
// every rewrite.
func (s *Server) RewriteBodies(pathPrefix string, fn func(r *http.Request, body []byte) []byte) {
	s.k.mu.Lock()
	defer s.k.mu.Unlock()
	s.k.rewrites = append(s.k.rewrites, rewriteRule{prefix: pathPrefix, fn: fn})
}

func (s *Server) rewrite(r *http.Request, status int, body []byte) []byte {
	if status < 200 || status > 299 {
		return body
	}
	s.k.mu.Lock()
	var fns []func(*http.Request, []byte) []byte
	for _, rw := range s.k.rewrites {
		if strings.HasPrefix(r.URL.Path, rw.prefix) {
			fns = append(fns, rw.fn)
		}
	}
	s.k.mu.Unlock()
	for _, fn := range fns {
		body = fn(r, body)
	}
	return body
}

// SetLatency delays every response by d.
func (s *Server) SetLatency(d time.Duration) {
	s.k.mu.Lock()
	defer s.k.mu.Unlock()
	s.k.latency = d
}

// SetRateLimit answers 429 {"message":"Too Many Requests"} beyond rps (burst), with
// Retry-After: 1 when retryAfter. rps <= 0 removes the limit.
func (s *Server) SetRateLimit(rps float64, burst int, retryAfter bool) {
	s.k.mu.Lock()
	defer s.k.mu.Unlock()
	if rps <= 0 {
		s.k.limiter = nil
		return
	}
	s.k.limiter = rate.NewLimiter(rate.Limit(rps), max(1, burst))
	s.k.retryAfter = retryAfter
}

// SetFaults replaces the random faults.
func (s *Server) SetFaults(f Faults) {
	s.k.mu.Lock()
	defer s.k.mu.Unlock()
	s.k.faults = f
	s.k.faultRand = rand.New(rand.NewPCG(uint64(f.Seed), uint64(f.Seed)^0xfa017))
}

// FailNext fails the next n requests whose path starts with pathPrefix with status
// (FailReset = connection reset, FailTruncated = truncated JSON body).
func (s *Server) FailNext(pathPrefix string, n int, status int) {
	s.k.mu.Lock()
	defer s.k.mu.Unlock()
	s.k.rules = append(s.k.rules, &failRule{prefix: pathPrefix, remaining: n, status: status})
}

// FailFrom lets the first afterN requests matching pathPrefix through and fails every later
// one with status until ClearFaults: a JumpCloud that breaks mid-sync.
func (s *Server) FailFrom(pathPrefix string, afterN int, status int) {
	s.k.mu.Lock()
	defer s.k.mu.Unlock()
	s.k.rules = append(s.k.rules, &failRule{prefix: pathPrefix, from: true, after: afterN, status: status})
}

// ClearFaults removes random faults, FailNext/FailFrom rules and body rewrites (latency,
// the rate limit and a key set by SetAPIKey stay).
func (s *Server) ClearFaults() {
	s.k.mu.Lock()
	defer s.k.mu.Unlock()
	s.k.faults = Faults{}
	s.k.rules = nil
	s.k.rewrites = nil
}

// fault is what to do to one request before it is served.
type fault struct {
	status    int  // HTTP status to answer (0 = none)
	reset     bool // drop the connection
	truncate  bool
	malformed bool
	slow      time.Duration
	limited   bool // answered by the rate limiter
	retryHdr  bool
}

// decide picks the request's fault: deterministic rules first, then the rate limiter, then
// random faults.
func (s *Server) decide(r *http.Request) (fault, time.Duration) {
	s.k.mu.Lock()
	defer s.k.mu.Unlock()
	var f fault
	latency := s.k.latency
	applied := false
	for _, rule := range s.k.rules {
		if !strings.HasPrefix(r.URL.Path, rule.prefix) {
			continue
		}
		fire := false
		if rule.from {
			rule.seen++
			fire = rule.seen > rule.after
		} else if rule.remaining > 0 {
			rule.remaining--
			fire = true
		}
		if fire && !applied {
			applied = true
			f = statusFault(rule.status)
		}
	}
	if applied {
		return f, latency
	}
	if s.k.limiter != nil && !s.k.limiter.Allow() {
		return fault{status: http.StatusTooManyRequests, limited: true, retryHdr: s.k.retryAfter}, latency
	}
	fs := s.k.faults
	if s.k.faultRand == nil {
		return f, latency
	}
	roll := func(p float64) bool { return p > 0 && s.k.faultRand.Float64() < p }
	switch {
	case roll(fs.Rate429):
		f.status = http.StatusTooManyRequests
		f.retryHdr = roll(fs.Rate429RetryAfter)
	case roll(fs.Rate5xx):
		f.status = []int{502, 503, 504}[s.k.faultRand.IntN(3)]
	case roll(fs.Rate500):
		f.status = http.StatusInternalServerError
	case roll(fs.RateReset):
		f.reset = true
	case roll(fs.RateTruncated):
		f.truncate = true
	case roll(fs.RateMalformed):
		f.malformed = true
	}
	if roll(fs.RateSlow) {
		f.slow = fs.Slow
	}
	return f, latency
}

func statusFault(status int) fault {
	switch status {
	case FailReset:
		return fault{reset: true}
	case FailTruncated:
		return fault{truncate: true}
	}
	return fault{status: status}
}

// sleepReq waits d unless the client goes away first.
func sleepReq(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// resetConn drops the connection without a response; with SO_LINGER 0 the client sees a
// reset rather than a clean close.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// PageKey identifies one page of one list: endpoint template, path id and skip.
type PageKey struct {
	Endpoint string
	ID       string
	Skip     int
	// Query holds the other parameters that select what a page holds (limit, sort, filter,
	// targets), so two different reads at the same offset are not taken for a refetch.
	Query string
}

// EndpointStatus is an endpoint template with an answered status.
type EndpointStatus struct {
	Endpoint string
	Status   int
}

// Counts are request counters since the start or the last ResetCounts. Status 0 stands for
// a dropped connection.
type Counts struct {
	Total            int64
	ByEndpoint       map[string]int64
	ByStatus         map[int]int64
	ByEndpointStatus map[EndpointStatus]int64
	// Pages counts successful (2xx) list responses per page, so a test can see which pages
	// were fetched more than once.
	Pages map[PageKey]int64
}

// Refetched is the number of pages served successfully more than once.
func (c Counts) Refetched() int {
	n := 0
	for _, v := range c.Pages {
		if v > 1 {
			n++
		}
	}
	return n
}

// PagesServed is the total of successful list responses.
func (c Counts) PagesServed() int64 {
	var n int64
	for _, v := range c.Pages {
		n += v
	}
	return n
}

// Endpoint is the number of requests to one endpoint template.
func (c Counts) Endpoint(tmpl string) int64 { return c.ByEndpoint[tmpl] }

type counters struct {
	mu sync.Mutex
	c  Counts
}

func newCounts() Counts {
	return Counts{ByEndpoint: map[string]int64{}, ByStatus: map[int]int64{},
		ByEndpointStatus: map[EndpointStatus]int64{}, Pages: map[PageKey]int64{}}
}

func (cs *counters) record(tmpl string, status int) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.c.Total++
	cs.c.ByEndpoint[tmpl]++
	cs.c.ByStatus[status]++
	cs.c.ByEndpointStatus[EndpointStatus{tmpl, status}]++
}

func (cs *counters) page(k PageKey) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.c.Pages[k]++
}

// Counts returns a copy of the counters.
func (s *Server) Counts() Counts {
	s.cnt.mu.Lock()
	defer s.cnt.mu.Unlock()
	out := newCounts()
	out.Total = s.cnt.c.Total
	for k, v := range s.cnt.c.ByEndpoint {
		out.ByEndpoint[k] = v
	}
	for k, v := range s.cnt.c.ByStatus {
		out.ByStatus[k] = v
	}
	for k, v := range s.cnt.c.ByEndpointStatus {
		out.ByEndpointStatus[k] = v
	}
	for k, v := range s.cnt.c.Pages {
		out.Pages[k] = v
	}
	return out
}

// ResetCounts zeroes the counters.
func (s *Server) ResetCounts() {
	s.cnt.mu.Lock()
	defer s.cnt.mu.Unlock()
	s.cnt.c = newCounts()
}
