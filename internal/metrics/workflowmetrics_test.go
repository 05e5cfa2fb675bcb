package metrics

import (
	"strings"
	"testing"
)

// A counter a workflow records through its handler, which carries the SDK's tags, is the
// connector's counter: its help text, only its own labels, counted up. The SDK's own
// metrics keep their names and labels, without the exporter's scope labels.
func TestWorkflowCountersAreTheConnectorsOwn(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	// As workflow.GetMetricsHandler hands it to a workflow: the worker's tags first.
	wf := m.TemporalHandler().WithTags(map[string]string{
		"namespace": "default", "task_queue": "jcsync", "workflow_type": "SyncWorkflow", "worker_type": "WorkflowWorker", "client_name": "temporal-go",
	})
	sweeps := wf.WithTags(map[string]string{"integration": "acme", "outcome": "refused", "reason": "shrink"}).Counter("jcsync_sweeps")
	sweeps.Inc(1)
	sweeps.Inc(1)
	sweeps.Inc(-5) // never down
	wf.Counter("temporal_workflow_completed").Inc(1)

	body := scrape(t, m.Handler())
	for _, want := range []string{
		"# TYPE jcsync_sweeps_total counter",
		`jcsync_sweeps_total{integration="acme",outcome="refused",reason="shrink"} 2`,
		// The SDK's counters keep the names Temporal's dashboard for the OpenTelemetry
		// handler queries (no _total) and their labels.
		`temporal_workflow_completed{client_name="temporal-go",namespace="default",task_queue="jcsync",worker_type="WorkflowWorker",workflow_type="SyncWorkflow"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	if !strings.Contains(body, "# HELP jcsync_sweeps_total Sweep decisions") {
		t.Error("jcsync_sweeps_total has no help text")
	}
	for _, unwanted := range []string{"otel_scope_name", "target_info", "jcsync_sweeps{"} {
		if strings.Contains(body, unwanted) {
			t.Errorf("scrape has %s", unwanted)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", body)
	}
}
