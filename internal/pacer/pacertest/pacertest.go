// Package pacertest puts an API handler behind a hidden rate limit, for the tests of paced
// clients: a token bucket that answers 429 when it is empty, a latency on every answer, and
// a record of every request's arrival.
package pacertest

import (
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limit is what the server enforces. Zero values take the defaults.
type Limit struct {
	// Rate is the limit, req/s; 0 accepts every request (Refuse still applies).
	Rate float64
	// Burst is the bucket's size; default a tenth of Rate, at least one.
	Burst int
	// Latency delays every answer, accepted or refused, as a server far away would.
	Latency time.Duration
	// RetryAfter is the Retry-After header of a 429; "" sends none.
	RetryAfter string
	// Refuse, when set, answers 429 to the request it names (1-based, in order of arrival)
	// whatever the bucket holds.
	Refuse func(n int) bool
}

// Arrival is one request as the server saw it.
type Arrival struct {
	At        time.Time
	Throttled bool
}

// Server serves next behind the limit. It is an http.Handler; wrap it in an httptest.Server.
type Server struct {
	limit    Limit
	next     http.Handler
	bucket   *rate.Limiter
	mu       sync.Mutex
	arrivals []Arrival
}

// New puts next behind l.
func New(l Limit, next http.Handler) *Server {
	s := &Server{limit: l, next: next}
	if l.Rate > 0 {
		burst := l.Burst
		if burst <= 0 {
			burst = max(1, int(l.Rate/10))
		}
		s.bucket = rate.NewLimiter(rate.Limit(l.Rate), burst)
	}
	return s
}

// ServeHTTP judges the request at its arrival and answers after the latency.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	now := time.Now()
	n := len(s.arrivals) + 1
	refused := (s.limit.Refuse != nil && s.limit.Refuse(n)) || (s.bucket != nil && !s.bucket.AllowN(now, 1))
	s.arrivals = append(s.arrivals, Arrival{At: now, Throttled: refused})
	s.mu.Unlock()
	if s.limit.Latency > 0 {
		time.Sleep(s.limit.Latency)
	}
	if refused {
		if s.limit.RetryAfter != "" {
			w.Header().Set("Retry-After", s.limit.RetryAfter)
		}
		http.Error(w, `{"message":"Too Many Requests"}`, http.StatusTooManyRequests)
		return
	}
	s.next.ServeHTTP(w, r)
}

// Arrivals returns every request so far, in order of arrival.
func (s *Server) Arrivals() []Arrival {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Arrival(nil), s.arrivals...)
}

// Counts returns how many requests arrived and how many of them got a 429.
func (s *Server) Counts() (requests, throttled int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.arrivals {
		if a.Throttled {
			throttled++
		}
	}
	return len(s.arrivals), throttled
}

// Between counts the requests that arrived in [from, to).
func (s *Server) Between(from, to time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.arrivals {
		if !a.At.Before(from) && a.At.Before(to) {
			n++
		}
	}
	return n
}
