// Package pacer paces the requests a client sends to one rate-limited account of an API
// (a JumpCloud org, an Authomize tenant) when the API does not publish its limit. It learns
// the limit from the 429 answers: it starts at a safe rate, doubles it while the server
// keeps up, cuts it when the server refuses, estimates the server's limit from how many
// requests it still accepted while it was refusing some, and settles just below that,
// probing slowly for more. A Retry-After pauses every request of the pacer. It also sizes
// how many requests may be in flight so that a slow server does not starve the rate.
//
// Every request goes through Wait, which returns a Ticket; the ticket must be given the
// request's outcome exactly once (Succeeded, Throttled or Failed). Later calls are no-ops,
// so `defer t.Failed()` right after Wait guarantees the slot comes back whatever happens,
// while an explicit Succeeded or Throttled before it records the real outcome.
//
// Nothing here knows about a particular API: the caller decides what a 429 is and parses
// Retry-After.
package pacer

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	// DefaultInitial is the first rate. It is the fixed rate the connector used before it
	// adapted, which no JumpCloud org has refused, so the first second is safe; slow start
	// reaches 200 req/s from it in about a second.
	DefaultInitial = 10.0
	// DefaultMin is the floor: cuts never go below one request a second, so a sync keeps
	// moving even after a run of 429s (the pauses of Retry-After still apply on top).
	DefaultMin = 1.0
	// DefaultMax is the ceiling when the operator sets none: far above any API's limit for
	// one account, it only keeps an unthrottled server from sending the rate to infinity.
	DefaultMax = 1000.0
	// DefaultMinInFlight and DefaultMaxInFlight bound the in-flight limit. Two keeps one
	// request on the wire while the next waits for its slot; 64 bounds what a slow server
	// can make the pacer hold open (connections, memory for the answers).
	DefaultMinInFlight = 2
	DefaultMaxInFlight = 64
	// DefaultMaxPause caps one Retry-After: a server asking for more than a minute is broken
	// or hostile, and the sync's own timeouts are the better judge of giving up.
	DefaultMaxPause = 60 * time.Second
)

// Tuning. The targets: over a whole sync of about 2,000 requests against servers whose
// hidden limit is between 5 and 200 req/s (token bucket, burst a tenth of the rate,
// Retry-After: 1 on every 429, 40 ms latency), the average rate is at least 0.8 of the
// limit, probing included, and at most 3 % of requests get a 429. The tests in this package
// check these figures; the reasoning behind each constant is beside it.
const (
	// minTick is the shortest adjustment interval: the rate changes at most this often.
	// 100 ms is a few round trips at typical latency, so the answers to the requests sent
	// at a rate arrive within the interval that judges that rate. Slow start doubles at
	// most every slowStartTick.
	minTick = 100 * time.Millisecond
	// slowStartTick is the shortest interval between two doublings of slow start. A server
	// with a burst hides its limit until the burst is spent, which takes burst ÷ (rate −
	// limit): doubling every minTick, a bucket holding a second's requests is spent only
	// once the rate is seven times the limit or more, and every request in flight at that
	// rate is refused at once (24 429s at once at 50 req/s, 40 ms). A quarter second keeps
	// that overshoot near three times, and still reaches 50 req/s from 10 in about 0.6 s,
	// 200 req/s in about 1.1 s.
	slowStartTick = 250 * time.Millisecond
	// tickSends stretches the interval at low rates to at least this many requests, so a
	// rate is never raised on the evidence of one request (at 10 req/s: 400 ms).
	tickSends = 3
	// saturation: the rate is raised only when the caller used at least this share of it
	// during the interval; a caller that sends less has nothing to learn from a higher rate,
	// and raising it anyway would let it climb without limit and overshoot later.
	saturation = 0.8
	// slowStartCut is the immediate cut on the first 429 of slow start: the rate doubled
	// at most once since the last rate that passed a whole interval, so half is a rate the
	// server recently accepted. The estimate below replaces it once the answers are in.
	slowStartCut = 0.5
	// slowStartGuess is the estimate after a slow-start event without enough samples: the
	// limit lies between half the refused rate (the last rate that passed an interval) and
	// the refused rate; √½ is the middle of that range on a log scale.
	slowStartGuess = 0.7071
	// backoff is the share of the estimate the rate is cut to when the estimate is the
	// refused request's rate (too few samples), which overstates the limit by what the rate
	// grew while the server's burst drained: 0.9 lands below the limit for growth of up to
	// a tenth, and loses only a tenth of the rate.
	backoff = 0.9
	// settle is the share of the estimate the rate goes to when the estimate is measured,
	// and the share it climbs back to quickly after a cut: 0.95 absorbs the error of one
	// request in the estimate's window (a twelfth at 200 req/s and 40 ms) most of the time,
	// and the bursts a real network adds. Beyond it only probe raises the rate.
	settle = 0.95
	// approach is the time constant with which the rate climbs back towards the estimated
	// limit after a cut: most of the way in a few seconds, so a cut that was too deep costs
	// little, and slowly near the limit, where a 429 is likely.
	approach = 1500 * time.Millisecond
	// probe is how fast the rate creeps beyond the estimate, as a share of it per second:
	// 0.5 %/s finds a raised limit within a minute, while a server whose limit has not moved
	// sees the next 429 only every 20 s or so, which keeps the pauses of Retry-After under
	// a tenth of the time at 5 req/s.
	probe = 0.005
	// probeUnsure replaces probe after an estimate that is a guess (slow start overshot
	// without leaving enough samples, or callers did not keep up with the pacing): 5 %/s
	// finds a limit twice the guess in about 15 s; the next event is estimated from a
	// gentle climb and is trusted.
	probeUnsure = 0.05
	// minShare bounds a slow-start estimate from too few samples from below: a quarter of
	// the refused rate undoes the worst overshoot of slow start (two doublings past the
	// limit before the server's burst ran out).
	minShare = 0.25
	// paced is the share of the pacing rate at which the requests of an event's window must
	// have been sent for their accepted rate to stand for the server's limit. Half leaves room
	// for the error of counting a few requests in a short window, and catches what matters:
	// a caller sending a fraction of its rate, whose estimate would pin the rate far below
	// the limit, to be raised only by the slow probe of a sure estimate.
	paced = 0.5
	// pacedSamples is how many requests the pacing rate must have put in an event's window
	// for paced to be judged: with three, sending one (the refused request alone) is a clear
	// shortfall, since the pacer spaces requests evenly and a caller that keeps up sends
	// every one of them.
	pacedSamples = 3
	// minSamples is how many requests the server must have accepted in an event's window
	// for their rate to be trusted as its limit: with six, the error of one request is
	// under a tenth. With fewer (low rates, short latency) the rate of the refused request
	// stands in.
	minSamples = 6
	// headroom multiplies Little's law (rate × latency) for the in-flight limit: requests
	// waiting for their slot hold one too, and latency varies; 1.5 plus one keeps the rate,
	// not the in-flight limit, the binding constraint.
	headroom = 1.5
	// latencyWeight is the weight of a new sample in the latency average: about the last
	// ten answers count, quick enough to follow a server that slows down.
	latencyWeight = 0.2
	// recentSize is how many completions are remembered for the estimate: enough to cover
	// every request in flight when a 429 arrives (DefaultMaxInFlight and then some).
	recentSize = 256
)

// Options configures a Pacer. Zero values take the defaults.
type Options struct {
	Initial float64 // first rate, req/s; default DefaultInitial, kept within [Min, Max]
	Min     float64 // floor, req/s; default DefaultMin
	// Max is the ceiling, req/s: the pacer never exceeds it even when the server would take
	// more. An operator's configured rate belongs here. Default DefaultMax.
	Max         float64
	MinInFlight int           // default DefaultMinInFlight
	MaxInFlight int           // default DefaultMaxInFlight
	MaxPause    time.Duration // cap on one Retry-After; default DefaultMaxPause
	Clock       Clock         // default RealClock
}

// Snapshot is the state of a Pacer at one moment, for metrics and summaries.
type Snapshot struct {
	Rate          float64       // current rate, req/s
	Min, Max      float64       // floor and ceiling, req/s
	Estimate      float64       // limit estimated at the last congestion event, req/s; 0 before one
	SlowStart     bool          // still doubling: no 429 seen yet
	InFlightLimit int           // requests allowed in flight
	InFlight      int           // tickets out: waiting for their slot or sent and not yet done
	Waiting       int           // callers queued for an in-flight slot
	Latency       time.Duration // average latency of successful requests
	PausedUntil   time.Time     // end of the current Retry-After pause; zero when not paused
	Requests      int64         // tickets handed out (requests sent)
	Succeeded     int64
	Throttled     int64 // 429 answers
	Failed        int64 // other failures, and tickets given up unsent
	Congestions   int64 // congestion events (429s of requests in flight together count once)
	Pauses        int64 // Retry-After pauses started
	Paused        time.Duration
}

// String summarises the snapshot, e.g. for a sync's log line.
func (s Snapshot) String() string {
	return fmt.Sprintf("%.1f req/s, %d in flight max, %d requests, %d throttled (%d events), %d pauses (%s)",
		s.Rate, s.InFlightLimit, s.Requests, s.Throttled, s.Congestions, s.Pauses, s.Paused.Round(time.Millisecond))
}

// Pacer paces the requests of one account. It is safe for concurrent use; every client
// talking to the same account must share one Pacer, or each would learn the limit alone
// and together they would exceed it.
type Pacer struct {
	clock                    Clock
	min, max                 float64
	minInFlight, maxInFlight int
	maxPause                 time.Duration
	parked                   func() // test hook: a caller queued for an in-flight slot
	mu                       sync.Mutex
	rate                     float64
	slowStart                bool
	estimate                 float64   // limit estimated at the last event; 0 before one
	sure                     bool      // the estimate came from enough samples or from a gentle climb
	next                     time.Time // earliest start of the next reserved slot
	lastSend                 time.Time
	gen                      uint64 // bumped by cuts and pauses: reservations made before are void
	pauseUntil               time.Time
	inFlight, limit          int
	sentOut                  int // tickets sent and not yet done
	waiters                  []*waiter
	latency                  time.Duration
	tickStart                time.Time
	tickSent                 int
	tickThrottled            bool
	lastCut                  time.Time // 429s of requests sent before it belong to an earlier event
	slowGuess                bool      // the estimate is slow start's guess: no event since
	ev                       *event
	recent                   [recentSize]completion
	recentN                  int
	requests, succeeded      int64
	throttled, failed        int64
	congestions, pauses      int64
	paused                   time.Duration
	retryAfters              int64 // 429s that carried Retry-After
	// What a seed (State) brought of the limiter's earlier 429s, and the burst measured by
	// the first slow-start event (or seeded).
	seenThrottled, seenRetryAfter int64
	burst                         int
	firstSend                     time.Time
	// learnedAt is when the pacer last learned of the limit: a congestion event settled, a
	// raise of the rate, or a seed (the state's time). Zero while it knows only its start.
	learnedAt time.Time
	origin    string // names this pacer in its State
}

type waiter struct {
	ch      chan struct{}
	granted bool // set under the pacer's lock when the slot is handed over
}

// completion is one answered request, remembered for the estimate of the next event.
type completion struct {
	sent time.Time
	rate float64
	ok   bool
}

// event is a congestion event: the 429s of requests sent before the cut it caused are one
// event. Its window is from the send of the first refused request to the arrival of its
// answer: the server refused that request because its budget was spent, and every request
// sent in the window met the same empty budget, so the share it accepted, times the rate
// they were sent at, is the rate at which the server refills it: its limit.
type event struct {
	from, at    time.Time
	outstanding int     // requests sent before at and not yet answered
	n, ok       int     // requests sent in [from, at) that were answered, and accepted
	rateSum     float64 // sum of the rates they were sent at
	rate        float64 // rate the refused request was sent at
	slowStart   bool
}

// Ticket is the right to send one request. Give it the outcome once, as soon as the answer
// (or the failure) is known.
type Ticket struct {
	p    *Pacer
	sent time.Time
	rate float64
	done atomic.Bool
}

// New builds a Pacer. It refuses inconsistent options.
func New(opts Options) (*Pacer, error) {
	p := &Pacer{
		clock: opts.Clock, min: opts.Min, max: opts.Max,
		minInFlight: opts.MinInFlight, maxInFlight: opts.MaxInFlight, maxPause: opts.MaxPause,
		slowStart: true, origin: newOrigin(),
	}
	if p.clock == nil {
		p.clock = RealClock{}
	}
	if p.min == 0 {
		p.min = DefaultMin
	}
	if p.max == 0 {
		p.max = DefaultMax
	}
	if p.minInFlight == 0 {
		p.minInFlight = DefaultMinInFlight
	}
	if p.maxInFlight == 0 {
		p.maxInFlight = DefaultMaxInFlight
	}
	if p.maxPause == 0 {
		p.maxPause = DefaultMaxPause
	}
	switch {
	case p.min < 0 || p.max < 0 || opts.Initial < 0 || math.IsNaN(p.min) || math.IsNaN(p.max) || math.IsNaN(opts.Initial) || math.IsInf(p.max, 0):
		return nil, fmt.Errorf("pacer: rates must be finite and positive (initial %v, min %v, max %v)", opts.Initial, p.min, p.max)
	case p.min > p.max:
		return nil, fmt.Errorf("pacer: floor %v req/s is above ceiling %v req/s", p.min, p.max)
	case p.minInFlight < 0 || p.maxInFlight < 0 || p.minInFlight > p.maxInFlight:
		return nil, fmt.Errorf("pacer: in-flight bounds %d..%d are inconsistent", p.minInFlight, p.maxInFlight)
	case p.maxPause < 0:
		return nil, fmt.Errorf("pacer: negative maximum pause %v", p.maxPause)
	}
	p.rate = opts.Initial
	if p.rate == 0 {
		p.rate = DefaultInitial
	}
	p.rate = p.clamp(p.rate)
	now := p.clock.Now()
	p.tickStart, p.next = now, now
	p.limit = p.inFlightLimit()
	return p, nil
}

// ErrNoTicket wraps the context's error when Wait gives up.
var ErrNoTicket = errors.New("pacer: no ticket")

func (p *Pacer) interval() time.Duration { return time.Duration(float64(time.Second) / p.rate) }

func (p *Pacer) clamp(r float64) float64 { return min(max(r, p.min), p.max) }

// Rate is the current rate, req/s.
func (p *Pacer) Rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rate
}

// InFlightLimit is how many requests may be in flight now: what a caller that fetches in
// parallel (pages of a list) should use as its concurrency. It changes with the rate and
// the latency, so read it again as work is handed out.
func (p *Pacer) InFlightLimit() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.adjustLocked(p.clock.Now())
	return p.limit
}

// Snapshot returns the current state.
func (p *Pacer) Snapshot() Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	s := Snapshot{
		Rate: p.rate, Min: p.min, Max: p.max, Estimate: p.estimate, SlowStart: p.slowStart,
		InFlightLimit: p.limit, InFlight: p.inFlight, Waiting: len(p.waiters), Latency: p.latency,
		Requests: p.requests, Succeeded: p.succeeded, Throttled: p.throttled, Failed: p.failed,
		Congestions: p.congestions, Pauses: p.pauses, Paused: p.paused,
	}
	if now.Before(p.pauseUntil) {
		s.PausedUntil = p.pauseUntil
	}
	return s
}

// waiting is the number of callers queued for an in-flight slot (for the fake clock of the
// tests, which advances time only when every caller is blocked).
func (p *Pacer) waiting() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.waiters)
}

func latest(t time.Time, ts ...time.Time) time.Time {
	for _, u := range ts {
		if u.After(t) {
			t = u
		}
	}
	return t
}
