package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"jcsync/activities"
	"jcsync/internal/pacer"
)

var _ activities.PacingObserver = (*Metrics)(nil)

// pacers is a collector that reads every pacer of the worker when scraped: the rate each
// org is paced at, what the pacer estimates its limit to be, the in-flight limit and the
// 429s and pauses. Reading at scrape time keeps the figures exact without a goroutine that
// polls, and a pacer costs nothing between scrapes.
type pacers struct {
	mu   sync.Mutex
	list []labelledPacer

	rate, estimate, ceiling, inFlightLimit, inFlight *prometheus.Desc
	throttled, pauses, paused, requests              *prometheus.Desc
}

type labelledPacer struct {
	integration, api string
	p                *pacer.Pacer
}

func newPacers() *pacers {
	labels := []string{"integration", "api"}
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, labels, nil) }
	return &pacers{
		rate:          d("jcsync_pacer_rate", "Requests per second the pacer allows now (per JumpCloud org, per Authomize app)."),
		estimate:      d("jcsync_pacer_limit_estimate", "The server's limit as estimated at the last 429, req/s; 0 before any."),
		ceiling:       d("jcsync_pacer_ceiling", "The operator's ceiling on the rate, req/s (the pacer's default when none is set)."),
		inFlightLimit: d("jcsync_pacer_in_flight_limit", "Requests allowed in flight: rate × latency with headroom; stages fetch this many pages at once."),
		inFlight:      d("jcsync_pacer_in_flight", "Requests in flight or waiting for their slot."),
		throttled:     d("jcsync_pacer_throttled_total", "429 answers."),
		pauses:        d("jcsync_pacer_pauses_total", "Retry-After pauses, each holding back every request of the org or app."),
		paused:        d("jcsync_pacer_paused_seconds_total", "Time spent in Retry-After pauses."),
		requests:      d("jcsync_pacer_requests_total", "Requests the pacer let through."),
	}
}

func (c *pacers) add(integration, api string, p *pacer.Pacer) {
	c.mu.Lock()
	c.list = append(c.list, labelledPacer{integration, api, p})
	c.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (c *pacers) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.rate, c.estimate, c.ceiling, c.inFlightLimit, c.inFlight, c.throttled, c.pauses, c.paused, c.requests} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *pacers) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	list := append([]labelledPacer(nil), c.list...)
	c.mu.Unlock()
	for _, lp := range list {
		s := lp.p.Snapshot()
		g := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, lp.integration, lp.api)
		}
		n := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, lp.integration, lp.api)
		}
		g(c.rate, s.Rate)
		g(c.estimate, s.Estimate)
		g(c.ceiling, s.Max)
		g(c.inFlightLimit, float64(s.InFlightLimit))
		g(c.inFlight, float64(s.InFlight))
		n(c.throttled, float64(s.Throttled))
		n(c.pauses, float64(s.Pauses))
		n(c.paused, s.Paused.Seconds())
		n(c.requests, float64(s.Requests))
	}
}

// Pacer implements activities.PacingObserver: the pacer's figures are on /metrics from now on.
func (m *Metrics) Pacer(integration, api string, p *pacer.Pacer) { m.pacers.add(integration, api, p) }
