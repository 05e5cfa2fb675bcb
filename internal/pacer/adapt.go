package pacer

import (
	"math"
	"time"
)

// The adaptation: congestion events and the cuts they cause, pauses, and the raises of each
// adjustment interval.

// add counts one answered request sent in the event's window.
func (e *event) add(rate float64, ok bool) {
	e.n++
	e.rateSum += rate
	if ok {
		e.ok++
	}
}

// pauseLocked holds every request back for d from now. Overlapping pauses extend one
// another; the time counted is the union.
func (p *Pacer) pauseLocked(now time.Time, d time.Duration) {
	until := now.Add(d)
	if !until.After(p.pauseUntil) {
		return
	}
	if !now.Before(p.pauseUntil) {
		p.pauses++
		p.paused += d
	} else {
		p.paused += until.Sub(p.pauseUntil)
	}
	p.pauseUntil = until
	// The server's budget refills during the pause: start afresh after it, with no backlog.
	p.next = until
	p.gen++
}

// openEventLocked starts a congestion event on the first 429 of a request sent after the
// last cut, and cuts at once so the requests that follow stop adding to the burst; the
// estimate refines the cut when every request already sent has been answered.
func (p *Pacer) openEventLocked(now time.Time, t *Ticket) {
	p.congestions++
	cut := backoff
	if p.slowStart {
		cut = slowStartCut
	}
	p.setRateLocked(min(p.rate, t.rate*cut))
	p.lastCut = now
	ev := &event{from: t.sent, at: now, outstanding: p.sentOut, rate: t.rate, slowStart: p.slowStart}
	n := min(p.recentN, recentSize)
	for i := 0; i < n; i++ { // answers already in, the refused one included
		c := p.recent[(p.recentN-1-i)%recentSize]
		if !c.sent.Before(ev.from) && c.sent.Before(ev.at) {
			ev.add(c.rate, c.ok)
		}
	}
	p.ev = ev
	p.slowStart = false
	if ev.outstanding <= 0 {
		p.closeEventLocked(now)
	}
}

// closeEventLocked settles the rate once the event's requests are all answered.
//
// While a server refuses some requests, the ones it still accepts come at the rate it
// refills its budget: its limit. So the estimate is the number of requests sent in the
// event's window that were accepted, divided by the window's length. A limiter refilling
// at its limit accepts floor or floor+1 requests in a window, so half a request is taken
// off to centre the count; with at least minSamples accepted the estimate is trusted and
// the rate goes to settle times it.
//
// With fewer (low rates, short latency) the estimate is the refused request's rate: in
// congestion avoidance the rate grew gently, so it is just above the limit, and the rate
// goes to backoff times it. In slow start the rate may have doubled past the limit more
// than once before the server's burst ran out, so the few samples still give the estimate,
// bounded by minShare and slowStartGuess of the refused rate; it is only a guess, and the
// rate probes faster (probeUnsure) until the next event measures again.
func (p *Pacer) closeEventLocked(now time.Time) {
	ev := p.ev
	p.ev = nil
	w := ev.at.Sub(ev.from).Seconds()
	// The accepted requests measure the server's limit only if the window was sent at the
	// pacing rate: a caller that sent less (it had less to send, or its machine was busy and
	// its requests went out in clumps) was refused for a burst, and its accepted rate is its
	// own, below the limit. Then the refused rate stands in, as with too few samples, unsure.
	// Only a window in which the rate would have sent a few requests can tell.
	unpaced := w > 0 && ev.rate*w >= pacedSamples && float64(ev.n) < paced*ev.rate*w
	est, share, sure := ev.rate, backoff, !ev.slowStart && !unpaced
	if ev.slowStart {
		est = ev.rate * slowStartGuess
		if ev.n >= 2 && w > 0 && !unpaced {
			est = min(max(float64(ev.ok)/w, ev.rate*minShare), est)
		}
	} else if refused := ev.n - ev.ok; p.slowGuess && p.retryAfters > 0 && refused >= 2 && 2*ev.ok <= ev.n {
		// The first event after slow start's, and most of its window refused: the rate is
		// not just above the limit, as a gentle climb would leave it, but well past it
		// (slow start's guess was high: a burst or a window's fresh budget hid the limit).
		// A tenth off per event, each with its 429s and pause, would take many events to
		// come down; slow start's own cut does it in one, and probes fast from there. Only
		// once: later, a window limiter refuses most of an event's window whatever the rate.
		// Only when the server sends Retry-After, whose pauses make each event cost a
		// second; without it a 429 costs a retry, and a window limiter's edges would cut
		// far too deep.
		est, sure = ev.rate*slowStartGuess, false
	}
	p.slowGuess = ev.slowStart
	if ev.ok >= minSamples && w > 0 && !unpaced {
		// Accepted requests per second of the window; half a request off centres the
		// count, which a limiter refilling at its limit makes floor or floor+1.
		est = min(float64(ev.n)/w, (float64(ev.ok)-0.5)/w)
		share, sure = settle, true
	}
	p.estimate = p.clamp(est)
	p.sure = sure
	if ev.slowStart && p.burst == 0 {
		// What the server accepted from the first send to the refused one beyond its limit
		// over that time: the burst it had in store (a full bucket, or a window's budget).
		accepted := float64(p.succeeded) - float64(ev.ok) // answers of the requests before the window
		p.burst = max(0, int(math.Round(accepted-p.estimate*ev.from.Sub(p.firstSend).Seconds())))
	}
	p.setRateLocked(share * est)
	p.lastCut, p.learnedAt = now, now
	p.tickStart, p.tickSent, p.tickThrottled = now, 0, false
}

// setRateLocked changes the rate. Reservations made at the old rate are void either way:
// after a cut they would send too fast, after a raise they would hold callers back for
// the rest of the interval that judges the new rate. The next slot follows the last send
// at the new spacing.
func (p *Pacer) setRateLocked(r float64) {
	r = p.clamp(r)
	if r == p.rate {
		return
	}
	p.rate = r
	p.gen++
	p.next = latest(p.lastSend.Add(p.interval()), p.pauseUntil)
}

// adjustLocked ends the adjustment interval when it is due: it raises the rate if the
// interval had no 429, no open event and no pause, and the caller used the rate; then it
// sizes the in-flight limit. Slow start doubles; afterwards the rate approaches the
// estimate exponentially (time constant approach) and creeps beyond it at probe per second.
func (p *Pacer) adjustLocked(now time.Time) {
	elapsed := now.Sub(p.tickStart)
	tick := max(minTick, time.Duration(tickSends*float64(time.Second)/p.rate))
	if p.slowStart {
		tick = max(tick, slowStartTick)
	}
	if elapsed < tick {
		return
	}
	// One request of slack: at low rates an interval holds only a few slots.
	used := float64(p.tickSent+1) >= saturation*p.rate*elapsed.Seconds()
	if used && !p.tickThrottled && p.ev == nil && !p.tickStart.Before(p.pauseUntil) {
		if p.slowStart {
			p.setRateLocked(2 * p.rate)
		} else {
			dt := elapsed.Seconds()
			r := p.rate
			if target := p.estimate * settle; r < target {
				r += (target - r) * min(1, dt/approach.Seconds())
			}
			rate := probe
			if !p.sure {
				rate = probeUnsure
			}
			r += rate * max(p.estimate, p.rate) * dt
			p.setRateLocked(r)
		}
		p.learnedAt = now
	}
	p.tickStart, p.tickSent, p.tickThrottled = now, 0, false
	p.limit = p.inFlightLimit()
	p.grantLocked()
}

// inFlightLimit is Little's law with headroom: rate × latency requests are on the wire
// when the rate is kept; before any latency is known, the floor.
func (p *Pacer) inFlightLimit() int {
	n := int(math.Ceil(p.rate*p.latency.Seconds()*headroom)) + 1
	return min(max(n, p.minInFlight), p.maxInFlight)
}
