package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// workflowCounter is a counter a workflow records through workflow.GetMetricsHandler. The
// SDK's handler would export it as an OpenTelemetry up-down counter: a Prometheus gauge
// without help text, labelled with every tag of the workflow's handler (namespace, task
// queue, workflow type, worker type …). Routed here it is a counter with its help text and
// only its own labels, like every other metric of the connector.
type workflowCounter struct {
	vec    *prometheus.CounterVec
	labels []string
}

// newWorkflowCounters are the counters workflows record, under the name the workflow code
// uses (the exported name adds _total).
func newWorkflowCounters() map[string]workflowCounter {
	counter := func(name, help string, labels ...string) workflowCounter {
		return workflowCounter{
			vec:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: name + "_total", Help: help}, labels),
			labels: labels,
		}
	}
	return map[string]workflowCounter{
		"jcsync_sweeps": counter("jcsync_sweeps",
			"Sweep decisions by integration, outcome (swept, skipped, refused) and reason (none, empty, not-uploaded, rejected, baseline, shrink, unstable, unreadable, timestamp); counted once, by the worker that ran the decision.",
			"integration", "outcome", "reason"),
	}
}

// routingHandler is the worker's client.MetricsHandler: the SDK's own metrics go to the
// OpenTelemetry handler unchanged (names and labels as Temporal's dashboards expect); a
// counter of the connector's that workflowCounters knows goes to its Prometheus counter,
// with only its own labels taken from the tags. The SDK wraps it for workflows so that a
// replay records nothing, so a counter counts each decision once.
type routingHandler struct {
	sdk  client.MetricsHandler
	own  map[string]workflowCounter
	tags map[string]string
}

// WithTags implements client.MetricsHandler.
func (h routingHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return routingHandler{sdk: h.sdk.WithTags(tags), own: h.own, tags: merged}
}

// Counter implements client.MetricsHandler.
func (h routingHandler) Counter(name string) client.MetricsCounter {
	if c, ok := h.own[name]; ok {
		values := make([]string, len(c.labels))
		for i, l := range c.labels {
			values[i] = h.tags[l]
		}
		counter := c.vec.WithLabelValues(values...)
		return counterFunc(func(d int64) {
			if d > 0 { // a counter only goes up; the SDK's contract says the same
				counter.Add(float64(d))
			}
		})
	}
	return h.sdk.Counter(name)
}

// Gauge implements client.MetricsHandler.
func (h routingHandler) Gauge(name string) client.MetricsGauge { return h.sdk.Gauge(name) }

// Timer implements client.MetricsHandler.
func (h routingHandler) Timer(name string) client.MetricsTimer { return h.sdk.Timer(name) }

// counterFunc is a client.MetricsCounter.
type counterFunc func(int64)

// Inc implements client.MetricsCounter.
func (f counterFunc) Inc(d int64) { f(d) }
