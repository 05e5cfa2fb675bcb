package pacer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// bucket is the server's hidden limit, modelled on the JumpCloud simulator: a token bucket
// refilled at limit per second holding up to burst tokens (the simulator's default burst is
// a tenth of the limit, at least one), checked when the request arrives; a request finding
// no token is answered 429 with Retry-After: 1.
type bucket struct {
	limit  float64
	burst  float64
	tokens float64
	last   time.Time
	// window makes it a fixed one-second window of limit requests instead.
	window   bool
	windowAt time.Time
}

func newBucket(limit float64, now time.Time) *bucket {
	b := max(1, float64(int(limit/10)))
	return &bucket{limit: limit, burst: b, tokens: b, last: now}
}

func (b *bucket) allow(now time.Time) bool {
	if b.window {
		if w := now.Truncate(time.Second); !w.Equal(b.windowAt) {
			b.windowAt, b.tokens = w, b.limit
		}
		if b.tokens >= 1 {
			b.tokens--
			return true
		}
		return false
	}
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.limit)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// simConfig is one simulated sync: items fetched by callers in parallel, each retried
// through the pacer until the server accepts it.
type simConfig struct {
	limit      float64 // server's hidden limit, req/s; 0: none
	retryAfter time.Duration
	latency    time.Duration
	callers    int
	items      int
	opts       Options
	// refuse answers 429 to this share of the requests whatever the rate (a faulty server,
	// not a limit), drawn from a seeded source so that runs repeat.
	refuse float64
	// burst, when set, replaces the bucket's burst; window makes the server a fixed
	// one-second window; raEvery, when set, puts retryAfter on only every raEvery-th 429
	// (-1: on none).
	burst   float64
	window  bool
	raEvery int
	// seed, when set, is what the pacer starts from (Pacer.Seed) instead of DefaultInitial.
	seed *State
}

type simResult struct {
	wall      time.Duration
	requests  int
	throttled int
	sends     []time.Time // send time of every request, in order
	snap      Snapshot
	state     State         // what the pacer learned, at the end
	converged time.Duration // time of the last congestion event (the rate has settled since)
}

func simulate(t *testing.T, cfg simConfig) simResult {
	t.Helper()
	clk := newFakeClock()
	cfg.opts.Clock = clk
	p, err := New(cfg.opts)
	if err != nil {
		t.Fatal(err)
	}
	p.parked = clk.notify
	clk.blocked = p.waiting
	if cfg.seed != nil && !p.Seed(*cfg.seed) {
		t.Fatalf("the pacer refused the seed %+v", *cfg.seed)
	}
	start := clk.Now()
	var (
		mu     sync.Mutex
		srv    = newBucket(cfg.limit, start)
		nth429 int
		next   int
		res    simResult
		events int64
		rnd    = rand.New(rand.NewPCG(7, 11))
	)
	if cfg.burst > 0 {
		srv.burst, srv.tokens = cfg.burst, cfg.burst
	}
	srv.window = cfg.window
	clk.run(cfg.callers, func(int) {
		ctx := context.Background()
		for {
			mu.Lock()
			if next >= cfg.items {
				mu.Unlock()
				return
			}
			next++
			mu.Unlock()
			for {
				tk, err := p.Wait(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				now := clk.Now()
				mu.Lock()
				ok := cfg.limit <= 0 || srv.allow(now)
				if cfg.refuse > 0 && rnd.Float64() < cfg.refuse {
					ok = false
				}
				res.requests++
				res.sends = append(res.sends, now)
				mu.Unlock()
				if err := clk.Sleep(ctx, cfg.latency); err != nil {
					t.Error(err)
					return
				}
				if ok {
					tk.Succeeded()
					break
				}
				mu.Lock()
				res.throttled++
				nth429++
				ra := cfg.retryAfter
				if cfg.raEvery < 0 || (cfg.raEvery > 0 && nth429%cfg.raEvery != 0) {
					ra = 0
				}
				mu.Unlock()
				tk.Throttled(ra)
				if s := p.Snapshot(); s.Congestions != events {
					mu.Lock()
					if s.Congestions > events {
						events = s.Congestions
						res.converged = clk.Now().Sub(start)
					}
					mu.Unlock()
				}
			}
		}
	})
	res.wall = clk.Now().Sub(start)
	res.snap = p.Snapshot()
	res.state = p.State()
	return res
}

// TestConvergesBelowHiddenLimit runs syncs of 2,000 items against servers with hidden
// limits from 5 to 200 req/s and checks that the pacer converges below the limit (at most
// 3 % of requests throttled, the rate over the second half of the sync at most the limit)
// and above half of it (average over the whole sync, probing included). The log gives the
// figures; the tuning targets an average of at least 0.8 of the limit.
func TestConvergesBelowHiddenLimit(t *testing.T) {
	for _, limit := range []float64{5, 20, 50, 200} {
		t.Run(fmt.Sprintf("limit=%v", limit), func(t *testing.T) {
			r := simulate(t, simConfig{limit: limit, retryAfter: time.Second, latency: 40 * time.Millisecond,
				callers: 32, items: 2000})
			avg := float64(2000) / r.wall.Seconds()
			share := float64(r.throttled) / float64(r.requests)
			half := r.sends[0].Add(r.wall / 2)
			late := 0
			for _, at := range r.sends {
				if !at.Before(half) {
					late++
				}
			}
			lateRate := float64(late) / (r.wall / 2).Seconds()
			t.Logf("limit %v req/s: average %.1f req/s = %.2f of the limit; %d of %d requests throttled (%.2f %%); "+
				"%d events, %d pauses (%s); second half %.1f req/s; last event at %s of %s; rate at the end %.1f req/s "+
				"(estimate %.1f), in-flight limit %d",
				limit, avg, avg/limit, r.throttled, r.requests, 100*share, r.snap.Congestions, r.snap.Pauses,
				r.snap.Paused, lateRate, r.converged.Round(time.Millisecond), r.wall.Round(time.Millisecond),
				r.snap.Rate, r.snap.Estimate, r.snap.InFlightLimit)
			if share > 0.03 {
				t.Errorf("%.2f %% of requests throttled, want at most 3 %%", 100*share)
			}
			if avg < limit/2 {
				t.Errorf("average %.1f req/s, want above half the limit %v", avg, limit)
			}
			if lateRate > limit {
				t.Errorf("second half at %.1f req/s, above the limit %v", lateRate, limit)
			}
		})
	}
}

// TestRetryAfterPausesEveryCaller: one 429 with Retry-After holds back callers that were
// already waiting and callers that come later, until the pause has passed.
func TestRetryAfterPausesEveryCaller(t *testing.T) {
	clk := newFakeClock()
	p, err := New(Options{Initial: 100, Clock: clk, MinInFlight: 8})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Two callers reserve their slots (10 ms and 20 ms ahead) before the 429 arrives.
	got := make(chan time.Time, 3)
	var wg sync.WaitGroup
	waitAndReport := func() {
		defer wg.Done()
		tk, err := p.Wait(ctx)
		if err != nil {
			t.Error(err)
			return
		}
		got <- clk.Now()
		tk.Succeeded()
	}
	wg.Add(2)
	go waitAndReport()
	go waitAndReport()
	waitFor(t, func() bool { return clk.sleeping() == 2 })

	pauseStart := clk.Now()
	first.Throttled(5 * time.Second)
	if s := p.Snapshot(); !s.PausedUntil.Equal(pauseStart.Add(5*time.Second)) || s.Pauses != 1 {
		t.Fatalf("snapshot after Retry-After: %+v", s)
	}
	wg.Add(1)
	go waitAndReport() // arrives during the pause
	waitFor(t, func() bool { return clk.sleeping() == 3 })

	// Step through the pause: at each step every caller must have gone back to sleep.
	for clk.Now().Before(pauseStart.Add(5*time.Second - 10*time.Millisecond)) {
		clk.Advance(10 * time.Millisecond)
		waitFor(t, func() bool { return clk.sleeping() == 3 })
		select {
		case at := <-got:
			t.Fatalf("a caller proceeded at %s, during the pause", at.Sub(pauseStart))
		default:
		}
	}
	clk.Advance(time.Second)
	wg.Wait()
	close(got)
	n := 0
	for at := range got {
		n++
		if at.Before(pauseStart.Add(5 * time.Second)) {
			t.Errorf("a caller proceeded at %s, before the pause ended", at.Sub(pauseStart))
		}
	}
	if n != 3 {
		t.Errorf("%d callers proceeded, want 3", n)
	}
}

// TestSimulatedRetryAfterHoldsEveryone checks the same in a whole simulated sync: no
// request is sent while a pause runs.
func TestSimulatedRetryAfterHoldsEveryone(t *testing.T) {
	r := simulate(t, simConfig{limit: 50, retryAfter: 2 * time.Second, latency: 40 * time.Millisecond, callers: 16, items: 500})
	if r.snap.Pauses == 0 {
		t.Fatal("no pause happened")
	}
	// Find gaps of at least the pause: there must be one per pause, and no request inside.
	gaps := 0
	for i := 1; i < len(r.sends); i++ {
		if r.sends[i].Sub(r.sends[i-1]) >= 2*time.Second-time.Millisecond {
			gaps++
		}
	}
	if int64(gaps) != r.snap.Pauses {
		t.Errorf("%d silent gaps of 2 s for %d pauses", gaps, r.snap.Pauses)
	}
}

// TestCeilingCapsRate: with no server limit the rate stops at the ceiling.
func TestCeilingCapsRate(t *testing.T) {
	r := simulate(t, simConfig{latency: 40 * time.Millisecond, callers: 32, items: 2000, opts: Options{Max: 30}})
	avg := 2000 / r.wall.Seconds()
	if r.snap.Rate != 30 {
		t.Errorf("rate %.1f, want the ceiling 30", r.snap.Rate)
	}
	if avg > 30.01 || avg < 28 {
		t.Errorf("average %.2f req/s, want just under the ceiling 30", avg)
	}
	for i := 1; i < len(r.sends); i++ {
		if d := r.sends[i].Sub(r.sends[i-1]); d < time.Second/30-time.Microsecond {
			t.Fatalf("requests %d and %d %s apart, closer than the ceiling allows", i-1, i, d)
		}
	}
}

// TestInFlightFollowsLatency: against a server with no limit, the in-flight limit grows
// with latency (Little's law), and when it is the binding constraint the sync takes
// requests × latency ÷ in-flight limit.
func TestInFlightFollowsLatency(t *testing.T) {
	limits := map[time.Duration]int{}
	for _, lat := range []time.Duration{10 * time.Millisecond, 200 * time.Millisecond} {
		r := simulate(t, simConfig{latency: lat, callers: 64, items: 1000, opts: Options{Max: 50}})
		limits[lat] = r.snap.InFlightLimit
		// 50 req/s × latency × headroom 1.5, plus one.
		want := int(50*lat.Seconds()*headroom+0.999) + 1
		if r.snap.InFlightLimit != max(want, DefaultMinInFlight) {
			t.Errorf("latency %s: in-flight limit %d, want %d", lat, r.snap.InFlightLimit, want)
		}
		if avg := 1000 / r.wall.Seconds(); avg < 45 {
			t.Errorf("latency %s: average %.1f req/s, want close to the ceiling 50", lat, avg)
		}
	}
	if limits[200*time.Millisecond] <= limits[10*time.Millisecond] {
		t.Errorf("in-flight limit did not grow with latency: %v", limits)
	}

	// A latency-bound sync: the in-flight cap, not the rate, sets the pace.
	r := simulate(t, simConfig{latency: 100 * time.Millisecond, callers: 64, items: 2000, opts: Options{MaxInFlight: 8}})
	want := time.Duration(2000/8) * 100 * time.Millisecond
	t.Logf("latency-bound: %d requests, 100 ms, 8 in flight: %s (ideal %s)", r.requests, r.wall, want)
	if r.wall < want || r.wall > want*11/10 {
		t.Errorf("wall %s, want about requests × latency ÷ concurrency = %s", r.wall, want)
	}
}

// TestCancelWhileWaiting: a caller whose context ends while it waits, for an in-flight slot
// or for its rate slot, gets ctx's error at once and leaves the pacer as it found it.
func TestCancelWhileWaiting(t *testing.T) {
	clk := newFakeClock()
	p, err := New(Options{Initial: 1, Min: 1, MinInFlight: 2, MaxInFlight: 2, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	bg := context.Background()
	a, err := p.Wait(bg) // slot now
	if err != nil {
		t.Fatal(err)
	}

	// Waiting for the rate slot (one second away).
	ctx, cancel := context.WithCancel(bg)
	errc := make(chan error, 1)
	go func() { _, err := p.Wait(ctx); errc <- err }()
	waitFor(t, func() bool { return clk.sleeping() == 1 })
	// A third caller queues for an in-flight slot (both are taken).
	ctx3, cancel3 := context.WithCancel(bg)
	errc3 := make(chan error, 1)
	go func() { _, err := p.Wait(ctx3); errc3 <- err }()
	waitFor(t, func() bool { return p.waiting() == 1 })

	cancel3()
	if err := <-errc3; !errors.Is(err, context.Canceled) {
		t.Fatalf("queued caller: %v, want context.Canceled", err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("pacing caller: %v, want context.Canceled", err)
	}
	s := p.Snapshot()
	if s.InFlight != 1 || s.Waiting != 0 || s.Requests != 1 {
		t.Fatalf("after cancellations: in flight %d, waiting %d, requests %d; want 1, 0, 1", s.InFlight, s.Waiting, s.Requests)
	}
	// The cancelled caller's slot was given back: the next one is still one second after a.
	errc4 := make(chan error, 1)
	go func() {
		tk, err := p.Wait(bg)
		if err == nil {
			tk.Succeeded()
		}
		errc4 <- err
	}()
	waitFor(t, func() bool { return clk.sleeping() == 1 })
	clk.Advance(time.Second)
	if err := <-errc4; err != nil {
		t.Fatal(err)
	}
	a.Succeeded()
	a.Failed() // a second outcome is ignored
	if s := p.Snapshot(); s.InFlight != 0 || s.Succeeded != 2 || s.Failed != 0 {
		t.Fatalf("end: %+v", s)
	}
	// An already-cancelled context takes nothing.
	if _, err := p.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: %v", err)
	}
	if s := p.Snapshot(); s.InFlight != 0 || s.Requests != 2 {
		t.Fatalf("after a cancelled Wait: %+v", s)
	}
}

// TestOneEventPerBurst: the 429s of requests that were in flight together cut the rate once.
func TestOneEventPerBurst(t *testing.T) {
	clk := newFakeClock()
	p, err := New(Options{Initial: 100, Clock: clk, MinInFlight: 10})
	if err != nil {
		t.Fatal(err)
	}
	var tks []*Ticket
	for range 10 {
		tk, err := p.Wait(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		tks = append(tks, tk)
		clk.Advance(10 * time.Millisecond)
	}
	for _, tk := range tks {
		tk.Throttled(0)
	}
	s := p.Snapshot()
	if s.Congestions != 1 || s.Throttled != 10 {
		t.Fatalf("10 throttled answers of one burst: %d events, %d throttled", s.Congestions, s.Throttled)
	}
	// Ten refused of ten sent: nothing accepted to measure, so the cut is the slow-start
	// guess, well below the 100 req/s of the burst.
	if s.Rate >= 100 {
		t.Fatalf("rate %.1f after the event, want a cut", s.Rate)
	}
}

func TestNewRejectsInconsistentOptions(t *testing.T) {
	for _, o := range []Options{{Min: 10, Max: 5}, {Max: -1}, {MinInFlight: 9, MaxInFlight: 3}, {MaxPause: -time.Second}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	p, err := New(Options{Initial: 500, Max: 40})
	if err != nil {
		t.Fatal(err)
	}
	if r := p.Rate(); r != 40 {
		t.Errorf("initial above the ceiling: rate %v, want 40", r)
	}
}

// waitFor polls cond for up to five seconds of real time: goroutines reach their blocking
// point asynchronously.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// TestRandomRefusalsKeepTheFloor: a server that refuses a share of the requests whatever
// the rate (faults, not a limit) looks like a limit that keeps falling. The pacer cannot tell
// the two apart from one event, so each event cuts the rate further, towards the floor, and
// every request still goes through: slow, never stuck, never below the floor. (With 20 %
// refused, 260 items end at the floor of 1 req/s after about a minute and a half.)
func TestRandomRefusalsKeepTheFloor(t *testing.T) {
	r := simulate(t, simConfig{refuse: 0.2, latency: time.Millisecond, callers: 8, items: 100})
	t.Logf("%d requests, %d throttled, wall %s, rate at the end %.1f req/s", r.requests, r.throttled, r.wall, r.snap.Rate)
	if r.requests-r.throttled != 100 {
		t.Fatalf("%d accepted of 100 items", r.requests-r.throttled)
	}
	if r.snap.Rate < DefaultMin {
		t.Fatalf("rate %.2f below the floor %v", r.snap.Rate, DefaultMin)
	}
}

// TestRefusedWhileSendingLittle: a 429 in a window in which the caller sent far less than
// its rate (it had little to send, or its busy machine sent in clumps) says the server
// refused a burst, not that its limit is the caller's own send rate: the cut is the usual
// guess from the refused rate, unsure, not a measured estimate that would pin the rate low.
func TestRefusedWhileSendingLittle(t *testing.T) {
	clk := newFakeClock()
	p, err := New(Options{Initial: 200, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := p.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(40 * time.Millisecond) // 200 req/s would have sent 8 in this window; 1 went
	tk.Throttled(0)
	s := p.Snapshot()
	if want := 200 * slowStartGuess; s.Estimate < want*0.99 || s.Estimate > want*1.01 {
		t.Fatalf("estimate %.1f, want the slow-start guess %.1f from the refused rate", s.Estimate, want)
	}
	if s.Rate < 100 || p.sure {
		t.Fatalf("rate %.1f (sure %v): a lone refused request pinned the rate low", s.Rate, p.sure)
	}
}
