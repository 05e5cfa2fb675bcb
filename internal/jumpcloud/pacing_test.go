package jumpcloud_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"jcsync/internal/jumpcloud"
	"jcsync/internal/pacer"
	"jcsync/internal/pacer/pacertest"
)

// usersHandler serves /api/systemusers: total users, pages by limit and skip.
func usersHandler(total int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		skip, _ := strconv.Atoi(r.URL.Query().Get("skip"))
		results := []map[string]string{}
		for i := skip; i < min(skip+limit, total); i++ {
			results = append(results, map[string]string{"_id": fmt.Sprintf("u%05d", i), "email": fmt.Sprintf("u%d@example.com", i)})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"totalCount": total, "results": results})
	})
}

// pacedClient is a JumpCloud client with a fresh pacer, against srv.
func pacedClient(t *testing.T, url string, onRequest func(jumpcloud.RequestInfo)) (*jumpcloud.Client, *pacer.Pacer) {
	t.Helper()
	p, err := pacer.New(pacer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, jumpcloud.Options{BaseURL: url, APIKey: key, Pacer: p, PageSize: 10,
		BaseBackoff: 10 * time.Millisecond, MaxRetryWait: 5 * time.Second, OnRequest: onRequest})
	return c, p
}

// readPages reads pages 0..pages-1 of the users with workers concurrent callers.
func readPages(ctx context.Context, c *jumpcloud.Client, pages, workers int) error {
	var next atomic.Int64
	errs := make(chan error, workers)
	for range workers {
		go func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= pages {
					errs <- nil
					return
				}
				p, err := c.SystemUsersPage(ctx, i*c.PageSize())
				if err == nil && len(p.Items) != c.PageSize() {
					err = fmt.Errorf("page %d has %d users", i, len(p.Items))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var first error
	for range workers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// pauseChecker records, for every 429 the client saw, when the client had it and until when
// the pacer paused; check then asserts that the server saw no request inside the pauses.
type pauseChecker struct {
	c      func() *jumpcloud.Client
	mu     sync.Mutex
	pauses [][2]time.Time
}

func (pc *pauseChecker) onRequest(info jumpcloud.RequestInfo) {
	if info.Status != http.StatusTooManyRequests {
		return
	}
	s, _ := pc.c().Pacing()
	pc.mu.Lock()
	pc.pauses = append(pc.pauses, [2]time.Time{time.Now(), s.PausedUntil})
	pc.mu.Unlock()
}

// check asserts each pause held every request back. A request whose ticket came before the
// 429 may still be on its way when the pause starts, so the window starts a generous
// 300 ms in.
func (pc *pauseChecker) check(t *testing.T, srv *pacertest.Server) int {
	t.Helper()
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for _, p := range pc.pauses {
		if p[1].IsZero() {
			t.Errorf("a 429 with Retry-After at %v left the pacer unpaused", p[0].Format(time.StampMilli))
			continue
		}
		from, to := p[0].Add(300*time.Millisecond), p[1].Add(-50*time.Millisecond)
		if n := srv.Between(from, to); n > 0 {
			t.Errorf("the server saw %d requests in [%v, %v) while paused", n, from.Format(time.StampMilli), to.Format(time.StampMilli))
		}
	}
	return len(pc.pauses)
}

// TestPacerUnderHiddenLimit reads a few hundred pages with eight callers from a server that
// accepts 20 req/s (burst 2) 40 ms away, and tells nobody: the pacer must find the rate
// without losing a request to the 429s.
func TestPacerUnderHiddenLimit(t *testing.T) {
	const limit, pages, workers = 20.0, 240, 8
	for _, retryAfter := range []string{"1", ""} {
		t.Run("Retry-After="+retryAfter, func(t *testing.T) {
			t.Parallel()
			srv := pacertest.New(pacertest.Limit{Rate: limit, Burst: 2, Latency: 40 * time.Millisecond, RetryAfter: retryAfter},
				usersHandler(pages*10))
			hs := httptest.NewServer(srv)
			defer hs.Close()
			var c *jumpcloud.Client
			pc := &pauseChecker{c: func() *jumpcloud.Client { return c }}
			var seen429 atomic.Int64
			c, _ = pacedClient(t, hs.URL, func(info jumpcloud.RequestInfo) {
				if info.Status == http.StatusTooManyRequests {
					seen429.Add(1)
					if retryAfter != "" {
						pc.onRequest(info)
					}
				}
			})
			start := time.Now()
			if err := readPages(context.Background(), c, pages, workers); err != nil {
				t.Fatal(err)
			}
			elapsed := time.Since(start)
			requests, throttled := srv.Counts()
			s, ok := c.Pacing()
			if !ok {
				t.Fatal("Pacing: no pacer")
			}
			share := float64(throttled) / float64(requests)
			achieved := float64(pages) / elapsed.Seconds()
			t.Logf("%d requests, %d throttled (%.1f %%), %.1f req/s achieved = %.2f of the limit; pacer: %v, estimate %.1f",
				requests, throttled, 100*share, achieved, achieved/limit, s, s.Estimate)
			if requests != pages+throttled {
				t.Errorf("%d requests for %d pages and %d 429s", requests, pages, throttled)
			}
			if share > 0.03 {
				t.Errorf("429 share %.1f %% > 3 %%", 100*share)
			}
			if achieved < limit/2 {
				t.Errorf("achieved %.1f req/s, under half the limit %v", achieved, limit)
			}
			if int(s.Throttled) != throttled || int(seen429.Load()) != throttled || int(c.Stats().RateLimited) != throttled {
				t.Errorf("429s: server %d, pacer %d, OnRequest %d, Stats %d", throttled, s.Throttled, seen429.Load(), c.Stats().RateLimited)
			}
			if s.InFlight != 0 || s.Waiting != 0 {
				t.Errorf("in flight %d, waiting %d at the end", s.InFlight, s.Waiting)
			}
			if retryAfter != "" {
				pc.check(t, srv)
			}
		})
	}
}

// TestRetryAfterPausesTheOrg: one 429 with Retry-After: 1 holds back every other caller of
// the client, not only the one that got it.
func TestRetryAfterPausesTheOrg(t *testing.T) {
	const pages, workers = 60, 8
	srv := pacertest.New(pacertest.Limit{Latency: 20 * time.Millisecond, RetryAfter: "1", Refuse: func(n int) bool { return n == 12 }},
		usersHandler(pages*10))
	hs := httptest.NewServer(srv)
	defer hs.Close()
	var c *jumpcloud.Client
	pc := &pauseChecker{c: func() *jumpcloud.Client { return c }}
	c, _ = pacedClient(t, hs.URL, pc.onRequest)
	if err := readPages(context.Background(), c, pages, workers); err != nil {
		t.Fatal(err)
	}
	if n := pc.check(t, srv); n != 1 {
		t.Fatalf("%d 429s seen, want 1", n)
	}
	at, until := pc.pauses[0][0], pc.pauses[0][1]
	if until.Sub(at) < 500*time.Millisecond {
		t.Errorf("paused until %v, only %v after the 429", until.Format(time.StampMilli), until.Sub(at))
	}
	if srv.Between(time.Time{}, at) < 12 || srv.Between(until, time.Now()) == 0 {
		t.Errorf("requests before the pause %d, after %d", srv.Between(time.Time{}, at), srv.Between(until, time.Now()))
	}
	s, _ := c.Pacing()
	if s.Pauses != 1 || s.Throttled != 1 || s.InFlight != 0 {
		t.Errorf("pacer: %d pauses, %d throttled, %d in flight", s.Pauses, s.Throttled, s.InFlight)
	}
}

// TestPacerNoLeakedSlots: failures of every kind and callers that give up leave no ticket
// out.
func TestPacerNoLeakedSlots(t *testing.T) {
	var n atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch k := n.Add(1) % 5; {
		case strings.Contains(r.URL.Path, "slow"):
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case k == 0:
			w.WriteHeader(http.StatusInternalServerError)
		case k == 1:
			w.WriteHeader(http.StatusNotFound)
		case k == 2:
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				_ = conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			}
		case k == 3:
			fmt.Fprint(w, `{"totalCount": 1, "results": [`) // cut short
		default:
			usersHandler(10).ServeHTTP(w, r)
		}
	}))
	defer hs.Close()
	p, err := pacer.New(pacer.Options{Initial: 200})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, jumpcloud.Options{BaseURL: hs.URL, APIKey: key, Pacer: p, PageSize: 10, MaxAttempts: 2,
		BaseBackoff: time.Millisecond, MaxRetryWait: 5 * time.Millisecond})
	slow := newClient(t, jumpcloud.Options{BaseURL: hs.URL + "/slow", APIKey: key, Pacer: p, MaxAttempts: 1})
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			var err error
			if i%4 == 0 {
				_, err = slow.SystemUsersPage(ctx, 0) // cancelled on the wire or while queued
			} else {
				_, err = c.SystemUsersPage(context.Background(), 0)
			}
			if err != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	s, _ := c.Pacing()
	t.Logf("%d of 16 calls failed; pacer: %v, %d succeeded, %d failed", failed.Load(), s, s.Succeeded, s.Failed)
	if failed.Load() < 4 {
		t.Errorf("only %d calls failed: the cancelled ones at least should", failed.Load())
	}
	if s.InFlight != 0 || s.Waiting != 0 {
		t.Errorf("in flight %d, waiting %d after every call returned", s.InFlight, s.Waiting)
	}
	if s.Succeeded+s.Throttled+s.Failed != s.Requests {
		t.Errorf("%d tickets, %d outcomes", s.Requests, s.Succeeded+s.Throttled+s.Failed)
	}
	if _, err := slow.SystemUsersPage(canceled(), 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call: %v", err)
	}
	if s, _ := c.Pacing(); s.InFlight != 0 {
		t.Errorf("in flight %d after a cancelled call", s.InFlight)
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestPacerOptions(t *testing.T) {
	p, err := pacer.New(pacer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []jumpcloud.Options{
		{APIKey: key, Pacer: p, RPS: 5},
		{APIKey: key, Pacer: p, Burst: 5},
		{APIKey: key, Pacer: p, Limiter: rate.NewLimiter(5, 1)},
	} {
		if _, err := jumpcloud.New(o); err == nil || !jumpcloud.IsPermanent(err) || !strings.Contains(err.Error(), "Pacer") {
			t.Errorf("New with a pacer and a fixed rate: %v", err)
		}
	}
	if s, ok := newClient(t, jumpcloud.Options{APIKey: key}).Pacing(); ok || s != (pacer.Snapshot{}) {
		t.Errorf("Pacing without a pacer: %v %v", s, ok)
	}
}
