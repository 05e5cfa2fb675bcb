package httpretry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// recTicket records the outcomes a ticket is given; only the first counts.
type recTicket struct {
	mu       *sync.Mutex
	outcomes *[]string
	done     bool
}

func (t *recTicket) finish(o string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.done {
		t.done = true
		*t.outcomes = append(*t.outcomes, o)
	}
}

func (t *recTicket) Succeeded()                 { t.finish("ok") }
func (t *recTicket) Throttled(ra time.Duration) { t.finish("429/" + ra.String()) }
func (t *recTicket) Failed()                    { t.finish("failed") }

// pacedLoop is testLoop with a Pace that records each ticket's outcome and a Sleep that
// records each wait instead of waiting.
func pacedLoop(t *testing.T, answer func(n int, w http.ResponseWriter)) (*Loop, string, func() ([]string, []time.Duration, int)) {
	t.Helper()
	l, url, _ := testLoop(t, answer)
	var mu sync.Mutex
	var outcomes []string
	var sleeps []time.Duration
	tickets := 0
	l.Backoff = Backoff{Base: 100 * time.Millisecond, Max: 10 * time.Second}
	l.Pace = func(context.Context) (Ticket, error) {
		mu.Lock()
		defer mu.Unlock()
		tickets++
		return &recTicket{mu: &mu, outcomes: &outcomes}, nil
	}
	l.Sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		sleeps = append(sleeps, d)
		return nil
	}
	return l, url, func() ([]string, []time.Duration, int) {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), outcomes...), append([]time.Duration(nil), sleeps...), tickets
	}
}

// TestLoopPaceOutcomes: every attempt takes a ticket and gives it the outcome; a 429 with
// Retry-After is left to the pacer's pause, one without keeps the backoff.
func TestLoopPaceOutcomes(t *testing.T) {
	answers := func(steps ...string) func(int, http.ResponseWriter) {
		return func(n int, w http.ResponseWriter) {
			switch s := steps[min(n, len(steps))-1]; {
			case s == "cut":
				w.Header().Set("Content-Length", "50")
				fmt.Fprint(w, "short")
			case strings.HasPrefix(s, "429 "):
				w.Header().Set("Retry-After", strings.TrimPrefix(s, "429 "))
				w.WriteHeader(http.StatusTooManyRequests)
			default:
				var code int
				fmt.Sscan(s, &code)
				w.WriteHeader(code)
			}
		}
	}
	for _, tc := range []struct {
		name     string
		answer   func(int, http.ResponseWriter)
		outcomes []string
		sleeps   int // backoff sleeps taken
		fails    bool
	}{
		{name: "success", answer: answers("200"), outcomes: []string{"ok"}},
		{name: "404 is not congestion", answer: answers("404"), outcomes: []string{"ok"}, fails: true},
		{name: "429 with Retry-After pauses instead of sleeping", answer: answers("429 2", "200"),
			outcomes: []string{"429/2s", "ok"}},
		{name: "Retry-After capped at Backoff.Max", answer: answers("429 3600", "200"),
			outcomes: []string{"429/10s", "ok"}},
		{name: "429 without Retry-After keeps the backoff", answer: answers("429", "200"),
			outcomes: []string{"429/0s", "ok"}, sleeps: 1},
		{name: "Retry-After 0 is no pause", answer: answers("429 0", "200"),
			outcomes: []string{"429/0s", "ok"}, sleeps: 1},
		{name: "5xx fails and keeps the backoff", answer: answers("503", "500", "200"),
			outcomes: []string{"failed", "failed", "ok"}, sleeps: 2},
		{name: "body cut short fails", answer: answers("cut", "200"), outcomes: []string{"failed", "ok"}, sleeps: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, url, got := pacedLoop(t, tc.answer)
			err := l.Do(context.Background(), Request{Method: http.MethodGet, Endpoint: "/x", URL: url, Idempotent: true})
			if (err != nil) != tc.fails {
				t.Fatalf("err %v", err)
			}
			outcomes, sleeps, tickets := got()
			if strings.Join(outcomes, " ") != strings.Join(tc.outcomes, " ") || tickets != len(tc.outcomes) || len(sleeps) != tc.sleeps {
				t.Fatalf("outcomes %v of %d tickets, sleeps %v; want %v, %d sleeps", outcomes, tickets, sleeps, tc.outcomes, tc.sleeps)
			}
		})
	}
}

// TestLoopPaceTransportAndPanic: a transport failure fails the ticket, and so does a panic
// during the attempt, which must not keep the ticket's slot.
func TestLoopPaceTransportAndPanic(t *testing.T) {
	l, url, got := pacedLoop(t, func(int, http.ResponseWriter) {})
	l.MaxAttempts = 1
	if err := l.Do(context.Background(), Request{Method: http.MethodGet, Endpoint: "/x", URL: "http://127.0.0.1:1/x", Idempotent: true}); err == nil {
		t.Fatal("no error from a closed port")
	}
	l.Policy.Prepare = func(*http.Request) { panic("prepare") }
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		_ = l.Do(context.Background(), Request{Method: http.MethodGet, Endpoint: "/x", URL: url})
	}()
	if outcomes, _, tickets := got(); strings.Join(outcomes, " ") != "failed failed" || tickets != 2 {
		t.Fatalf("outcomes %v of %d tickets", outcomes, tickets)
	}
}

// TestLoopPaceRefused: a pacer that gives no ticket ends the request before any attempt,
// with the wait's error.
func TestLoopPaceRefused(t *testing.T) {
	l, url, infos := testLoop(t, func(int, http.ResponseWriter) { t.Error("attempt made") })
	errNoTicket := errors.New("no ticket")
	l.Pace = func(context.Context) (Ticket, error) { return nil, errNoTicket }
	err := l.Do(context.Background(), Request{Method: http.MethodGet, Endpoint: "/x", URL: url, Idempotent: true})
	var re *RequestError
	if !errors.Is(err, errNoTicket) || !errors.As(err, &re) || re.Op != "wait" || len(*infos) != 0 {
		t.Fatalf("err %v, %d attempts", err, len(*infos))
	}
}
