package metrics

import (
	"context"
	"strings"
	"testing"
	"time"

	"jcsync/activities"
	"jcsync/internal/pacer"
)

// The pacers the worker creates are read at every scrape: rate, ceiling, in-flight limit,
// and the 429s and pauses, labelled by integration and API.
func TestPacersAreScraped(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	p, err := pacer.New(pacer.Options{Max: 50})
	if err != nil {
		t.Fatal(err)
	}
	m.Pacer("acme", activities.APIJumpCloud, p)
	ctx := context.Background()
	ok, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ok.Succeeded()
	refused, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	refused.Throttled(time.Millisecond)

	body := scrape(t, m.Handler())
	for _, want := range []string{
		`jcsync_pacer_rate{api="jumpcloud",integration="acme"} `,
		`jcsync_pacer_ceiling{api="jumpcloud",integration="acme"} 50`,
		`jcsync_pacer_in_flight_limit{api="jumpcloud",integration="acme"} `,
		`jcsync_pacer_limit_estimate{api="jumpcloud",integration="acme"} `,
		`jcsync_pacer_throttled_total{api="jumpcloud",integration="acme"} 1`,
		`jcsync_pacer_pauses_total{api="jumpcloud",integration="acme"} 1`,
		`jcsync_pacer_paused_seconds_total{api="jumpcloud",integration="acme"} 0.001`,
		`jcsync_pacer_requests_total{api="jumpcloud",integration="acme"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", body)
	}
}
