package faults

import (
	"net/http"
	"testing"
)

// TestRules: FailNext rules answer in the order they were added, each counting down only
// when it answers; a FailFrom rule counts every request it selects.
func TestRules(t *testing.T) {
	e := New(Suffix, Draws{})
	e.FailNext("/users", 1, http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}})
	e.FailNext("/users", 1, Reset, nil)
	e.FailFrom("/users", 2, Truncated)
	want := []Decision{
		{Status: 429, Header: http.Header{"Retry-After": {"1"}}},
		{Reset: true},
		{Truncate: true},
		{Truncate: true},
	}
	for i, w := range want {
		d := e.Decide("/v2/apps/a/users")
		if d.Status != w.Status || d.Reset != w.Reset || d.Truncate != w.Truncate || d.Header.Get("Retry-After") != w.Header.Get("Retry-After") {
			t.Fatalf("request %d: %+v, want %+v", i, d, w)
		}
	}
	if d := e.Decide("/v2/apps/a/groups"); d.Fails() || d.Truncate {
		t.Fatalf("unselected path: %+v", d)
	}
	e.Clear()
	if d := e.Decide("/v2/apps/a/users"); d.Fails() || d.Truncate {
		t.Fatalf("after Clear: %+v", d)
	}
}

// TestRandom: one seed gives one sequence; the rate limit answers before random faults.
func TestRandom(t *testing.T) {
	seq := func() []Decision {
		e := New(Prefix, Draws{Stream: func(int64) uint64 { return 1 }, Order: []Fault{Draw429, Draw5xx, DrawReset}, Codes5xx: []int{502}})
		e.SetRandom(Random{Rate429: 0.3, Rate5xx: 0.3, RateReset: 0.2, Seed: 9})
		var out []Decision
		for range 50 {
			out = append(out, e.Decide("/api"))
		}
		return out
	}
	a, b := seq(), seq()
	for i := range a {
		if a[i].Status != b[i].Status || a[i].Reset != b[i].Reset {
			t.Fatalf("request %d differs between runs of one seed: %+v, %+v", i, a[i], b[i])
		}
	}
	e := New(Prefix, Draws{})
	e.SetRateLimit(1, 1, true)
	e.Decide("/api")
	if d := e.Decide("/api"); d.Status != http.StatusTooManyRequests || !d.RetryAfter {
		t.Fatalf("over the limit: %+v", d)
	}
}
