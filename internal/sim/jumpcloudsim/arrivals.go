package jumpcloudsim

import (
	"maps"
	"sync"
	"time"
)

// arrivals counts requests by the wall-clock second they arrived in, before any latency or
// fault: what a rate limit on JumpCloud's side sees.
type arrivals struct {
	mu     sync.Mutex
	counts map[int64]int64
}

func (a *arrivals) add(t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.counts == nil {
		a.counts = map[int64]int64{}
	}
	a.counts[t.Unix()]++
}

func (a *arrivals) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.counts = nil
}

// ArrivalsPerSecond returns the API requests (token requests aside) that arrived in each
// second, keyed by Unix second, since the start or the last ResetCounts.
func (s *Server) ArrivalsPerSecond() map[int64]int64 {
	s.arr.mu.Lock()
	defer s.arr.mu.Unlock()
	return maps.Clone(s.arr.counts)
}
