package activities

import (
	"context"
	"fmt"
	"sync"
	"time"

	"jcsync/internal/pacer"
)

// StagePacing is the pace a stage ran at, for the sync's summary: what the org's and the
// Authomize app's pacers had settled at when it ended.
type StagePacing struct {
	JumpCloud PacingSummary `json:"jumpcloud"`
	Authomize PacingSummary `json:"authomize"`
}

// PacingSummary is one pacer as a stage saw it. Rate, Estimate, Ceiling and InFlightLimit
// are the pacer's (shared by every stage of the org) when the stage ended; Throttled counts
// the 429s of this stage's own requests over all its attempts; Pauses and Paused are the
// Retry-After pauses of the pacer while this attempt ran, whichever stage's request drew them.
type PacingSummary struct {
	// Start is the pacer's rate when the stage started: on a worker that had not paced the
	// org yet, the rate learned by an earlier phase or sync (OrgPacing), else the pacer's
	// first rate (pacer.DefaultInitial).
	Start         float64       `json:"start,omitempty"`
	Rate          float64       `json:"rate"`
	Estimate      float64       `json:"estimate,omitempty"`
	Ceiling       float64       `json:"ceiling"`
	InFlightLimit int           `json:"inFlightLimit"`
	Throttled     int           `json:"throttled,omitempty"`
	Pauses        int64         `json:"pauses,omitempty"`
	Paused        time.Duration `json:"paused,omitempty"`
}

// String reads e.g. "47.5 req/s from 45.0 (limit ≈ 50.2, ceiling 1000), 8 in flight, 12 × 429, 3 pauses (3s)".
func (p PacingSummary) String() string {
	s := fmt.Sprintf("%.1f req/s", p.Rate)
	if p.Start > 0 {
		s += fmt.Sprintf(" from %.1f", p.Start)
	}
	if p.Estimate > 0 {
		s += fmt.Sprintf(" (limit ≈ %.1f, ceiling %g)", p.Estimate, p.Ceiling)
	} else {
		s += fmt.Sprintf(" (no 429 seen, ceiling %g)", p.Ceiling)
	}
	s += fmt.Sprintf(", %d in flight, %d × 429", p.InFlightLimit, p.Throttled)
	if p.Pauses > 0 {
		s += fmt.Sprintf(", %d pauses (%s)", p.Pauses, p.Paused.Round(time.Millisecond))
	}
	return s
}

func summarise(now, before pacer.Snapshot, throttled int) PacingSummary {
	return PacingSummary{
		Start: before.Rate, Rate: now.Rate, Estimate: now.Estimate, Ceiling: now.Max, InFlightLimit: now.InFlightLimit,
		Throttled: throttled, Pauses: now.Pauses - before.Pauses, Paused: now.Paused - before.Paused,
	}
}

// pacing is the stage's StagePacing. Callers hold mu (the counts are read).
func (s *stageRun) pacing() *StagePacing {
	if s.jp == nil || s.ap == nil {
		return nil
	}
	c := s.cp.Counts
	return &StagePacing{
		JumpCloud: summarise(s.jp.Snapshot(), s.jp0, c.JumpCloudThrottled),
		Authomize: summarise(s.ap.Snapshot(), s.ap0, c.AuthomizeThrottled),
	}
}

// fetchGate is a semaphore whose size is read again at every admission (limit): the stage's
// fetch slots follow the org pacer's in-flight limit as it changes. Callers are admitted in
// the order they arrive, so the earliest pages of a read, which hold its window back, are
// fetched first.
type fetchGate struct {
	limit   func() int
	mu      sync.Mutex
	inUse   int
	waiters []*gateWaiter
}

type gateWaiter struct {
	ch      chan struct{}
	granted bool // set under the gate's lock when the slot is handed over
}

// acquire takes a slot, or returns ctx's error having taken none.
func (g *fetchGate) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g.mu.Lock()
	if len(g.waiters) == 0 && g.inUse < g.limit() {
		g.inUse++
		g.mu.Unlock()
		return nil
	}
	w := &gateWaiter{ch: make(chan struct{})}
	g.waiters = append(g.waiters, w)
	g.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		if w.granted {
			g.inUse-- // handed over as ctx ended: pass it on
			g.grantLocked()
		} else {
			for i, o := range g.waiters {
				if o == w {
					g.waiters = append(g.waiters[:i], g.waiters[i+1:]...)
					break
				}
			}
		}
		return ctx.Err()
	}
}

// release gives a slot back. A limit that grew meanwhile admits more than one waiter; one
// that shrank admits none until the slots in use fall below it. A limit never falls below
// one while a slot is in use, so a waiter is always woken by some release.
func (g *fetchGate) release() {
	g.mu.Lock()
	g.inUse--
	g.grantLocked()
	g.mu.Unlock()
}

func (g *fetchGate) grantLocked() {
	for len(g.waiters) > 0 && g.inUse < g.limit() {
		w := g.waiters[0]
		g.waiters = g.waiters[1:]
		w.granted = true
		g.inUse++
		close(w.ch)
	}
}
