package pacer

import (
	"context"
	"fmt"
	"time"
)

// Wait blocks until a request may be sent: an in-flight slot is free, no Retry-After pause
// is running and the request's slot at the current rate has come. It returns ctx's error
// (wrapped, errors.Is works) if ctx ends first, having released whatever it had taken.
func (p *Pacer) Wait(ctx context.Context) (*Ticket, error) {
	if err := p.acquire(ctx); err != nil {
		return nil, fmt.Errorf("%w: waiting for an in-flight slot: %w", ErrNoTicket, err)
	}
	t, err := p.pace(ctx)
	if err != nil {
		p.mu.Lock()
		p.releaseLocked()
		p.mu.Unlock()
		return nil, fmt.Errorf("%w: waiting for the rate: %w", ErrNoTicket, err)
	}
	return t, nil
}

// acquire takes an in-flight slot, queueing in order behind earlier callers.
func (p *Pacer) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	p.adjustLocked(p.clock.Now())
	if len(p.waiters) == 0 && p.inFlight < p.limit {
		p.inFlight++
		p.mu.Unlock()
		return nil
	}
	w := &waiter{ch: make(chan struct{})}
	p.waiters = append(p.waiters, w)
	p.mu.Unlock()
	if p.parked != nil {
		p.parked()
	}
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		defer p.mu.Unlock()
		if w.granted {
			p.releaseLocked() // handed over as ctx ended: give it to the next caller
		} else {
			for i, o := range p.waiters {
				if o == w {
					p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
					break
				}
			}
		}
		return ctx.Err()
	}
}

// pace waits for the request's slot at the current rate (slots are 1/rate apart, with no
// burst: a burst on our side is exactly what a strict server answers with 429s) and for
// any pause to end. A cut or a pause after the slot was reserved voids it and the caller
// reserves again, so a pause holds back every caller, not only those who arrive after it.
func (p *Pacer) pace(ctx context.Context) (*Ticket, error) {
	for {
		p.mu.Lock()
		now := p.clock.Now()
		p.adjustLocked(now)
		slot := latest(now, p.next, p.pauseUntil)
		gen := p.gen
		p.next = slot.Add(p.interval())
		if !slot.After(now) {
			t := p.sendLocked(now)
			p.mu.Unlock()
			return t, nil
		}
		reservedNext := p.next
		p.mu.Unlock()

		if err := p.clock.Sleep(ctx, slot.Sub(now)); err != nil {
			p.mu.Lock()
			if p.gen == gen && p.next.Equal(reservedNext) {
				p.next = slot // the last reservation: give the slot back
			}
			p.mu.Unlock()
			return nil, err
		}
		p.mu.Lock()
		if p.gen == gen {
			t := p.sendLocked(p.clock.Now())
			p.mu.Unlock()
			return t, nil
		}
		p.mu.Unlock()
	}
}

func (p *Pacer) sendLocked(now time.Time) *Ticket {
	if p.requests == 0 {
		p.firstSend = now
	}
	p.requests++
	p.tickSent++
	p.sentOut++
	p.lastSend = now
	return &Ticket{p: p, sent: now, rate: p.rate}
}

// Succeeded records an accepted request.
func (t *Ticket) Succeeded() { t.finish(outcomeOK, 0) }

// Throttled records a 429. retryAfter is the server's Retry-After (0 when absent): it
// pauses every request of the pacer until it has passed, capped at Options.MaxPause.
func (t *Ticket) Throttled(retryAfter time.Duration) { t.finish(outcomeThrottled, retryAfter) }

// Failed records an outcome that says nothing about the rate: a transport error, a 5xx, a
// request given up before it was sent. Its latency is not sampled.
func (t *Ticket) Failed() { t.finish(outcomeFailed, 0) }

type outcome int

const (
	outcomeOK outcome = iota
	outcomeThrottled
	outcomeFailed
)

func (t *Ticket) finish(o outcome, retryAfter time.Duration) {
	if t == nil || !t.done.CompareAndSwap(false, true) {
		return
	}
	p := t.p
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	p.sentOut--
	p.inFlight--
	switch o {
	case outcomeOK:
		p.succeeded++
		lat := now.Sub(t.sent)
		if p.latency == 0 {
			p.latency = lat
		} else {
			p.latency += time.Duration(float64(lat-p.latency) * latencyWeight)
		}
	case outcomeThrottled:
		p.throttled++
		p.tickThrottled = true
		if retryAfter > 0 {
			p.retryAfters++
			p.pauseLocked(now, min(retryAfter, p.maxPause))
		}
	case outcomeFailed:
		p.failed++
	}
	if o != outcomeFailed {
		p.recent[p.recentN%recentSize] = completion{sent: t.sent, rate: t.rate, ok: o == outcomeOK}
		p.recentN++
	}
	switch {
	case p.ev != nil && t.sent.Before(p.ev.at):
		p.ev.outstanding--
		if o != outcomeFailed && !t.sent.Before(p.ev.from) {
			p.ev.add(t.rate, o == outcomeOK)
		}
		if p.ev.outstanding <= 0 {
			p.closeEventLocked(now)
		}
	case o == outcomeThrottled && !t.sent.Before(p.lastCut):
		if p.ev != nil {
			p.closeEventLocked(now) // sent after the cut, yet refused: a new event
		}
		p.openEventLocked(now, t)
	}
	p.adjustLocked(now)
	p.grantLocked()
}

// releaseLocked gives an in-flight slot back, to the next queued caller if any.
func (p *Pacer) releaseLocked() {
	p.inFlight--
	p.grantLocked()
}

// grantLocked hands free in-flight slots to queued callers, first come first served.
func (p *Pacer) grantLocked() {
	for len(p.waiters) > 0 && p.inFlight < p.limit {
		w := p.waiters[0]
		p.waiters = p.waiters[1:]
		w.granted = true
		p.inFlight++
		close(w.ch)
	}
}
