package jumpcloudsim

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"jcsync/internal/sim/faults"
)

// Faults injects failures at random, reproducibly for one Seed. Each rate is a probability
// per request in [0, 1]; Rate5xx answers 502, 503 or 504, and a 429 carries Retry-After: 1
// for the Rate429RetryAfter fraction of them, as JumpCloud's gateway sometimes sends it and
// sometimes does not.
type Faults = faults.Random

// Special statuses for FailNext and FailFrom.
const (
	FailReset     = faults.Reset     // close the connection without answering
	FailTruncated = faults.Truncated // send a 200 whose body stops half way
)

// knobs are the run-time switches outside the fault engine, guarded by their own mutex so
// they can change while requests are served.
type knobs struct {
	mu sync.Mutex
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
func (s *Server) SetLatency(d time.Duration) { s.faults.SetLatency(d) }

// SetRateLimit answers 429 {"message":"Too Many Requests"} beyond rps (burst), with
// Retry-After: 1 when retryAfter. rps <= 0 removes the limit.
func (s *Server) SetRateLimit(rps float64, burst int, retryAfter bool) {
	s.faults.SetRateLimit(rps, burst, retryAfter)
}

// Limit is the shape of JumpCloud's rate limit: token bucket or fixed window, its burst, and
// the share of 429s that carry Retry-After.
type Limit = faults.Limit

// SetLimit sets the shape of the rate limit (see Limit); RPS <= 0 removes it.
func (s *Server) SetLimit(l Limit) { s.faults.SetLimit(l) }

// SetFaults replaces the random faults.
func (s *Server) SetFaults(f Faults) { s.faults.SetRandom(f) }

// FailNext fails the next n requests whose path starts with pathPrefix with status
// (FailReset = connection reset, FailTruncated = truncated JSON body).
func (s *Server) FailNext(pathPrefix string, n int, status int) {
	s.faults.FailNext(pathPrefix, n, status, nil)
}

// FailFrom lets the first afterN requests matching pathPrefix through and fails every later
// one with status until ClearFaults: a JumpCloud that breaks mid-sync.
func (s *Server) FailFrom(pathPrefix string, afterN int, status int) {
	s.faults.FailFrom(pathPrefix, afterN, status)
}

// ClearFaults removes random faults, FailNext/FailFrom rules and body rewrites (latency,
// the rate limit and a key set by SetAPIKey stay).
func (s *Server) ClearFaults() {
	s.faults.Clear()
	s.k.mu.Lock()
	defer s.k.mu.Unlock()
	s.k.rewrites = nil
}
