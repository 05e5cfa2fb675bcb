package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"jcsync/activities"
)

// watchMetrics are the change watcher's: events seen, changes applied, how long a change
// took to reach Authomize, and whether the watcher is degraded to schedule-only.
type watchMetrics struct {
	events   *prometheus.CounterVec
	applied  *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	degraded *prometheus.GaugeVec
}

func newWatchMetrics() *watchMetrics {
	return &watchMetrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jcsync_watch_events_total",
			Help: "Directory Insights events the change watcher read for the first time, by integration and class (change: a directory change it acts on; noise: logins and the like).",
		}, []string{"integration", "class"}),
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jcsync_watch_changes_total",
			Help: "Changes the watcher handled, by integration and kind; kinds removal, user-deleted and admin also ask for a full sync.",
		}, []string{"integration", "kind"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "jcsync_watch_change_latency_seconds",
			Help:    "From a change's event timestamp in JumpCloud to Authomize accepting its targeted update, by integration and kind.",
			Buckets: []float64{1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600},
		}, []string{"integration", "kind"}),
		degraded: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "jcsync_watch_degraded",
			Help: "1 when the integration's watcher stopped because the credential may not read Directory Insights: its changes wait for the scheduled syncs.",
		}, []string{"integration"}),
	}
}

func (w *watchMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{w.events, w.applied, w.latency, w.degraded}
}

var _ activities.WatchObserver = (*Metrics)(nil)

// WatchPolled implements activities.WatchObserver.
func (m *Metrics) WatchPolled(integration string, r activities.WatchPollResult) {
	w := m.watch
	if r.Events > 0 {
		w.events.WithLabelValues(integration, "change").Add(float64(r.Events))
	}
	if r.Noise > 0 {
		w.events.WithLabelValues(integration, "noise").Add(float64(r.Noise))
	}
	for _, c := range r.Applied {
		w.applied.WithLabelValues(integration, c.Kind).Inc()
		if !c.DoneAt.IsZero() && !c.DryRun {
			w.latency.WithLabelValues(integration, c.Kind).Observe(c.DoneAt.Sub(c.EventAt).Seconds())
		}
	}
	deg := 0.0
	if r.State == activities.WatchDegraded {
		deg = 1
	}
	w.degraded.WithLabelValues(integration).Set(deg)
}
