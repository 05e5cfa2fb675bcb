package metrics

import (
	"strings"
	"testing"
	"time"

	"jcsync/activities"
)

// A poll's events, changes and latencies become the watcher's series; a degraded poll sets
// the gauge, and dry-run changes count without a latency (nothing reached Authomize).
func TestWatchMetrics(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m.WatchPolled("acme", activities.WatchPollResult{State: activities.WatchWatching, Events: 2, Noise: 5, Applied: []activities.AppliedChange{
		{Kind: activities.ChangeUserUpsert, ID: "u1", EventAt: now.Add(-7 * time.Second), DoneAt: now},
		{Kind: activities.ChangeUserUpsert, ID: "u2", EventAt: now.Add(-3 * time.Second), DoneAt: now, DryRun: true},
		{Kind: activities.ChangeRemoval, ID: "e1", EventAt: now.Add(-3 * time.Second)},
	}})
	m.WatchPolled("other", activities.WatchPollResult{State: activities.WatchDegraded})
	body := scrape(t, m.Handler())
	for _, want := range []string{
		`jcsync_watch_events_total{class="change",integration="acme"} 2`,
		`jcsync_watch_events_total{class="noise",integration="acme"} 5`,
		`jcsync_watch_changes_total{integration="acme",kind="user"} 2`,
		`jcsync_watch_changes_total{integration="acme",kind="removal"} 1`,
		`jcsync_watch_change_latency_seconds_count{integration="acme",kind="user"} 1`,
		`jcsync_watch_change_latency_seconds_bucket{integration="acme",kind="user",le="5"} 0`,
		`jcsync_watch_change_latency_seconds_bucket{integration="acme",kind="user",le="10"} 1`,
		`jcsync_watch_degraded{integration="acme"} 0`,
		`jcsync_watch_degraded{integration="other"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
