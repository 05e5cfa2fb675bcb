package authomize

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jcsync/internal/pacer"
	"jcsync/internal/pacer/pacertest"
)

// acceptUploads answers every upload as accepted.
var acceptUploads = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Authorization") != testToken {
		http.Error(w, `{"detail":"unexpected request"}`, http.StatusBadRequest)
		return
	}
	fmt.Fprint(w, `{"acceptedTimestamp":"2024-01-10T08:46:49.123456+00:00","numberOfAcceptedEntities":1}`)
})

// TestPacedUploads: uploads from four callers against a tenant that accepts 20 req/s and
// answers 429 with Retry-After: 1 beyond it. Every item arrives, few requests are refused,
// and each Retry-After holds back every caller.
func TestPacedUploads(t *testing.T) {
	const limit, callers, perCaller = 20.0, 4, 50 // one item per request
	srv := pacertest.New(pacertest.Limit{Rate: limit, Burst: 2, Latency: 40 * time.Millisecond, RetryAfter: "1"}, acceptUploads)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	p, err := pacer.New(pacer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var pauses [][2]time.Time // when a 429 came, and until when the pacer paused
	var c *Client
	c, err = New(Options{BaseURL: hs.URL, Token: testToken, AppID: "app1", BatchSize: 1, Pacer: p,
		BaseBackoff: 10 * time.Millisecond, MaxRetryWait: 5 * time.Second,
		OnRequest: func(info RequestInfo) {
			if info.Status == http.StatusTooManyRequests {
				s, _ := c.Pacing()
				mu.Lock()
				pauses = append(pauses, [2]time.Time{time.Now(), s.PausedUntil})
				mu.Unlock()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var accepted atomic.Int64
	start := time.Now()
	for i := range callers {
		users := make([]User, perCaller)
		for j := range users {
			users[j] = User{UniqueID: fmt.Sprintf("u%d-%d", i, j)}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.UploadUsers(context.Background(), users)
			if err != nil {
				t.Error(err)
			}
			accepted.Add(int64(res.Accepted))
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	requests, throttled := srv.Counts()
	s, _ := c.Pacing()
	share := float64(throttled) / float64(requests)
	achieved := float64(callers*perCaller) / elapsed.Seconds()
	t.Logf("%d requests, %d throttled (%.1f %%), %.1f req/s achieved = %.2f of the limit; pacer: %v",
		requests, throttled, 100*share, achieved, achieved/limit, s)
	if accepted.Load() != callers*perCaller || requests != callers*perCaller+throttled {
		t.Errorf("%d accepted of %d, in %d requests with %d 429s", accepted.Load(), callers*perCaller, requests, throttled)
	}
	if share > 0.03 {
		t.Errorf("429 share %.1f %% > 3 %%", 100*share)
	}
	if achieved < limit/2 {
		t.Errorf("achieved %.1f req/s, under half the limit %v", achieved, limit)
	}
	if int(s.Throttled) != throttled || len(pauses) != throttled || int(c.Stats().RateLimited) != throttled {
		t.Errorf("429s: server %d, pacer %d, OnRequest %d, Stats %d", throttled, s.Throttled, len(pauses), c.Stats().RateLimited)
	}
	if s.InFlight != 0 {
		t.Errorf("%d in flight at the end", s.InFlight)
	}
	for _, ps := range pauses {
		// A request whose ticket came before the 429 may still be on its way: 300 ms of grace.
		from, to := ps[0].Add(300*time.Millisecond), ps[1].Add(-50*time.Millisecond)
		if ps[1].IsZero() {
			t.Errorf("a 429 with Retry-After left the pacer unpaused")
		} else if n := srv.Between(from, to); n > 0 {
			t.Errorf("the server saw %d requests in [%v, %v) while paused", n, from.Format(time.StampMilli), to.Format(time.StampMilli))
		}
	}
}

// TestPacedCreateAppRetried: a 429 to a request that is not idempotent is still retried
// after the pause, and a cancelled upload leaves no ticket out.
func TestPacedCreateAppRetried(t *testing.T) {
	srv := pacertest.New(pacertest.Limit{RetryAfter: "1", Refuse: func(n int) bool { return n == 1 }},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"id":"app9","name":"x"}`)
		}))
	hs := httptest.NewServer(srv)
	defer hs.Close()
	p, err := pacer.New(pacer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{BaseURL: hs.URL, Token: testToken, Pacer: p, BaseBackoff: time.Hour, MaxRetryWait: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// An hour of backoff would stall the test: the retry of the 429 waits for the pacer's
	// pause of one second only.
	app, err := c.CreateApp(context.Background(), "x")
	if err != nil || app.ID != "app9" {
		t.Fatalf("CreateApp: %+v, %v", app, err)
	}
	arr := srv.Arrivals()
	if len(arr) != 2 || arr[1].At.Sub(arr[0].At) < 900*time.Millisecond {
		t.Fatalf("arrivals %+v: want the retry a second after the 429", arr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.UploadUsers(ctx, []User{{UniqueID: "u"}}); err == nil {
		t.Fatal("cancelled upload succeeded")
	}
	if s, _ := c.Pacing(); s.InFlight != 0 || s.Pauses != 1 || s.Throttled != 1 {
		t.Fatalf("pacer: %v, %d in flight", s, s.InFlight)
	}
}
