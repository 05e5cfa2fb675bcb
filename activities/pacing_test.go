package activities

import (
	"context"
	"sync"
	"testing"
	"time"

	"jcsync/internal/config"
	"jcsync/internal/pacer"
)

// stepClock is a pacer.Clock for one goroutine: Sleep moves the time instead of waiting.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.advance(d)
	return nil
}

func (c *stepClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(max(d, 0))
	c.mu.Unlock()
}

// Every stage of an integration shares one pacer (their sum stays under the org's limit, and
// a Retry-After holds them all back); separate integrations have their own, so one throttled
// org never slows another. The configured rate is the ceiling, not the rate: the
// integration's, else the worker's, else the pacer's default.
func TestPacerIsPerIntegrationWithCeiling(t *testing.T) {
	a := &Activities{MaxRPS: 50}
	acme := config.Integration{Name: "acme", JumpCloud: config.JumpCloud{BaseURL: "https://console.jumpcloud.com"}}
	other := config.Integration{Name: "other", JumpCloud: config.JumpCloud{BaseURL: "https://console.jumpcloud.com", RPS: 5}}
	pacerOf := func(in config.Integration) *pacer.Pacer {
		t.Helper()
		p, err := a.orgPacer(in)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if first, second := pacerOf(acme), pacerOf(acme); first != second {
		t.Fatal("two stages of one integration got different pacers")
	}
	if pacerOf(acme) == pacerOf(other) {
		t.Fatal("two integrations share a pacer")
	}
	if got := pacerOf(acme).Snapshot().Max; got != 50 {
		t.Fatalf("worker ceiling %v, want 50", got)
	}
	if got := pacerOf(other).Snapshot().Max; got != 5 {
		t.Fatalf("integration ceiling %v, want 5", got)
	}
	// The rate starts at the pacer's safe initial rate, within the ceiling, and is found.
	if got := pacerOf(acme).Rate(); got != pacer.DefaultInitial {
		t.Fatalf("initial rate %v, want %v", got, pacer.DefaultInitial)
	}
	if got := pacerOf(other).Rate(); got != 5 {
		t.Fatalf("initial rate %v above the ceiling 5", got)
	}
	for _, w := range []*Activities{{}, {DefaultRPS: 20}} {
		p, err := w.orgPacer(acme)
		if err != nil {
			t.Fatal(err)
		}
		want := w.DefaultRPS
		if want == 0 {
			want = pacer.DefaultMax
		}
		if got := p.Snapshot().Max; got != want {
			t.Fatalf("worker %+v: ceiling %v, want %v", w, got, want)
		}
	}

	// Uploads into one Authomize app share a pacer too.
	acme.Authomize = config.Authomize{BaseURL: "https://api.authomize.com", AppID: "app-1"}
	other.Authomize = config.Authomize{BaseURL: "https://api.authomize.com", AppID: "app-2"}
	t1, _ := a.tenantPacer(acme)
	t2, _ := a.tenantPacer(acme)
	t3, _ := a.tenantPacer(other)
	if t1 != t2 || t1 == t3 || t1 == pacerOf(acme) {
		t.Fatal("Authomize pacers must be one per app, apart from JumpCloud's")
	}
}

// The stage's page concurrency follows the org pacer's in-flight limit, within the
// configured cap, and is read again as the limit moves.
func TestPageConcurrencyFollowsInFlightLimit(t *testing.T) {
	clock := &stepClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	a := &Activities{PageConcurrency: 100, PacerClock: clock}
	in := config.Integration{Name: "acme"}
	p, err := a.orgPacer(in)
	if err != nil {
		t.Fatal(err)
	}
	s := &stageRun{a: a, jp: p}
	if got, want := s.concurrency(), pacer.DefaultMinInFlight; got != want {
		t.Fatalf("before any answer: concurrency %d, want the pacer's floor %d", got, want)
	}
	// Every answer takes 100 ms. The pacer's in-flight limit grows with its rate × latency
	// (Little's law), and the stage follows it.
	ctx := context.Background()
	var seen []int
	for range 40 {
		tk, err := p.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		clock.advance(100 * time.Millisecond)
		tk.Succeeded()
		if lim := p.InFlightLimit(); s.concurrency() != lim {
			t.Fatalf("concurrency %d, pacer's in-flight limit %d", s.concurrency(), lim)
		}
		seen = append(seen, s.concurrency())
	}
	if last := seen[len(seen)-1]; last <= seen[0] || last < 3 {
		t.Fatalf("concurrency over the run %v: want it to grow with the pacer's in-flight limit", seen)
	}
	// The configured page concurrency caps it.
	a.PageConcurrency = seen[len(seen)-1] - 1
	if got := s.concurrency(); got != a.PageConcurrency {
		t.Fatalf("concurrency %d, want the cap %d (in-flight limit %d)", got, a.PageConcurrency, p.InFlightLimit())
	}
}

// The fetch gate admits callers in order up to its limit, read at each admission, and a
// caller whose context ends gives up its place.
func TestFetchGate(t *testing.T) {
	limit := 2
	var mu sync.Mutex
	g := &fetchGate{limit: func() int { mu.Lock(); defer mu.Unlock(); return limit }}
	ctx := context.Background()
	for range 2 {
		if err := g.acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan int, 3)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if g.acquire(ctx) == nil {
				got <- i
			}
		}()
		waitGate(t, g, i+1)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := g.acquire(cctx); err == nil {
		t.Fatal("acquire with a done context succeeded")
	}
	g.release() // one slot: the first waiter
	if i := <-got; i != 0 {
		t.Fatalf("waiter %d admitted first", i)
	}
	mu.Lock()
	limit = 4 // the limit grew: the next release admits both others
	mu.Unlock()
	g.release()
	wg.Wait()
	if g.inUse != 3 || len(g.waiters) != 0 {
		t.Fatalf("in use %d, waiting %d; want 3 and 0", g.inUse, len(g.waiters))
	}
}

func waitGate(t *testing.T, g *fetchGate, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g.mu.Lock()
		k := len(g.waiters)
		g.mu.Unlock()
		if k == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters, want %d", k, n)
		}
		time.Sleep(time.Millisecond)
	}
}
