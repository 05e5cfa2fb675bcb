package metrics_test

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"jcsync/internal/config"
	"jcsync/internal/metrics"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// temporalServer is the dev server the package's end-to-end tests share.
var temporalServer testenv.SharedTemporal

func TestMain(m *testing.M) {
	code := m.Run()
	temporalServer.Stop()
	os.Exit(code)
}

// A sync that succeeds, then one that fails: the gauges show when the last success was and
// how the last sync ended, as Temporal recorded them. A new registry (a restarted worker)
// reads the same values back from Temporal at its first refresh, at the default interval.
func TestE2ESyncGaugesComeBackFromTemporal(t *testing.T) {
	tc := temporalServer.Get(t)
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 7, Users: 40, Groups: 4, Admins: 2, Apps: 3}))
	const name, queue = "gauges", "e2e-metrics-gauges"
	first, err := metrics.New()
	if err != nil {
		t.Fatal(err)
	}
	// The worker reports into the first registry, as the worker binary does.
	wc, err := client.NewClientFromExisting(tc.Client, client.Options{MetricsHandler: first.TemporalHandler()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wc.Close) // after the worker stops
	testenv.StartWorker(t, wc, queue, config.Integrations{name: sims.Integration(name, false)}, testenv.FastRetries)
	ctx, stopFirst := context.WithCancel(context.Background())
	defer stopFirst()
	readErrs := make(chan error, 100)
	// A short interval, so that this registry follows the syncs as they end; the restarted
	// one below runs at the default.
	go first.WatchSyncs(ctx, tc.Client, metrics.SyncWatch{Namespace: "default", Integrations: []string{name}, Interval: 200 * time.Millisecond,
		OnError: func(_ string, err error) {
			select {
			case readErrs <- err:
			default:
			}
		}})

	sync := func() (client.WorkflowRun, error) {
		run, err := tc.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: temporalnames.SyncID(name), TaskQueue: queue},
			temporalnames.SyncWorkflow, workflows.SyncInput{Integration: name, SweepMargin: time.Millisecond, HeartbeatTimeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("start sync: %v", err)
		}
		wctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		return run, run.Get(wctx, nil)
	}
	closeTime := func(run client.WorkflowRun) float64 {
		d, err := tc.Client.DescribeWorkflow(context.Background(), run.GetID(), run.GetRunID())
		if err != nil {
			t.Fatal(err)
		}
		return float64(d.RawResponse.GetWorkflowExecutionInfo().GetCloseTime().AsTime().UnixNano()) / 1e9
	}

	ok, err := sync()
	if err != nil {
		t.Fatalf("first sync: %v", err)
	}
	success := closeTime(ok)
	waitFor(t, first, readErrs, map[string]float64{
		`jcsync_sync_last_outcome{integration="gauges",outcome="swept"}`:    1,
		`jcsync_sync_last_success_timestamp_seconds{integration="gauges"}`:  success,
		`jcsync_sync_last_finished_timestamp_seconds{integration="gauges"}`: success,
		`jcsync_syncs_recent{integration="gauges",outcome="swept"}`:         1,
	})

	// The workflow's sweep decision is the connector's counter, and the SDK's metrics that
	// the dashboard queries are there under its names.
	body := scrapeOf(t, first)
	for _, want := range []string{
		`jcsync_sweeps_total{integration="gauges",outcome="swept",reason="none"} 1`,
		`temporal_activity_schedule_to_start_latency_seconds_bucket{`,
		`temporal_activity_execution_latency_seconds_bucket{activity_type="Phase"`,
		`temporal_workflow_task_execution_latency_seconds_bucket{`,
		`temporal_worker_task_slots_used{`,
		`temporal_worker_task_slots_available{`,
		`temporal_request{`,
		`temporal_workflow_completed{`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the worker's scrape lacks %s", want)
		}
	}
	if t.Failed() {
		t.Fatalf("scrape:\n%s", body)
	}

	sims.JC.SetAPIKey("jca_ROTATED_0123456789abcdef0123456789abcdef") // the worker's key is revoked
	bad, err := sync()
	if err == nil {
		t.Fatal("a sync with a revoked key succeeded")
	}
	failure := closeTime(bad)
	want := map[string]float64{
		`jcsync_sync_last_outcome{integration="gauges",outcome="failed"}`:   1,
		`jcsync_sync_last_finished_timestamp_seconds{integration="gauges"}`: failure,
		`jcsync_sync_last_success_timestamp_seconds{integration="gauges"}`:  success,
		`jcsync_syncs_recent{integration="gauges",outcome="swept"}`:         1,
		`jcsync_syncs_recent{integration="gauges",outcome="failed"}`:        1,
		`jcsync_sync_consecutive_unswept{integration="gauges"}`:             0,
		`jcsync_sync_running{integration="gauges"}`:                         0,
	}
	waitFor(t, first, readErrs, want)
	stopFirst()

	// The worker restarts: a new registry, nothing remembered, the default interval.
	restarted, err := metrics.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx2, stopRestarted := context.WithCancel(context.Background())
	defer stopRestarted()
	go restarted.WatchSyncs(ctx2, tc.Client, metrics.SyncWatch{Namespace: "default", Integrations: []string{name}, OnError: func(_ string, err error) {
		select {
		case readErrs <- err:
		default:
		}
	}})
	// The error count appears with the first read's gauges, in one step.
	waitFor(t, restarted, readErrs, map[string]float64{`jcsync_sync_status_refresh_errors_total{integration="gauges"}`: 0})
	// That first read (at once, not after the 30 s interval) shows it all.
	body = scrapeOf(t, restarted)
	if miss := mismatch(body, want); miss != "" {
		t.Fatalf("after the restart: %s\n%s", miss, grep(body, "jcsync_sync"))
	}
	stopRestarted()

	// A success older than the newest syncs the gauges look at is still found, by its own
	// query, by a worker that never saw it.
	var last client.WorkflowRun
	for range metrics.RecentSyncs {
		if last, err = sync(); err == nil {
			t.Fatal("a sync with a revoked key succeeded")
		}
	}
	third, err := metrics.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := waitListed(tc.Client, last); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := third.RefreshSyncs(context.Background(), tc.Client, "default", name); err != nil {
		t.Fatal(err)
	}
	t.Logf("one read of %d syncs, with the query for the older success: %s", metrics.RecentSyncs+2, time.Since(began).Round(time.Microsecond))
	began = time.Now()
	if err := third.RefreshSyncs(context.Background(), tc.Client, "default", name); err != nil {
		t.Fatal(err)
	}
	t.Logf("the next read (the success known, one query): %s", time.Since(began).Round(time.Microsecond))
	body = scrapeOf(t, third)
	if miss := mismatch(body, map[string]float64{
		`jcsync_sync_last_success_timestamp_seconds{integration="gauges"}`:  success,
		`jcsync_sync_last_finished_timestamp_seconds{integration="gauges"}`: closeTime(last),
		`jcsync_syncs_recent{integration="gauges",outcome="failed"}`:        metrics.RecentSyncs,
		`jcsync_syncs_recent{integration="gauges",outcome="swept"}`:         0,
	}); miss != "" {
		t.Fatalf("with the success beyond the newest %d syncs: %s\n%s", metrics.RecentSyncs, miss, grep(body, "jcsync_sync"))
	}
}

// waitListed waits until visibility lists run as closed.
func waitListed(c client.Client, run client.WorkflowRun) error {
	q := temporalnames.SyncRunsQuery(temporalnames.IntegrationOf(run.GetID()), temporalnames.IsClosed, "RunId = '"+run.GetRunID()+"'")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return testenv.WaitListed(ctx, c, q, run.GetID())
}

// gauge reads one series' value from a scrape.
func gauge(body, series string) (float64, bool) {
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// mismatch names the first series of want the scrape lacks or shows with another value.
// Times match to the millisecond: visibility keeps microseconds, the history nanoseconds.
func mismatch(body string, want map[string]float64) string {
	for series, w := range want {
		got, ok := gauge(body, series)
		if !ok {
			return series + " is missing"
		}
		if math.Abs(got-w) > 1e-3 {
			return fmt.Sprintf("%s = %f, want %f", series, got, w)
		}
	}
	return ""
}

func scrapeOf(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// waitFor scrapes m until it shows every line of want; visibility follows a workflow after a
// moment, so the gauges do too. A failed read of Temporal fails the test.
func waitFor(t *testing.T, m *metrics.Metrics, readErrs <-chan error, want map[string]float64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		body := scrapeOf(t, m)
		missing := mismatch(body, want)
		if missing == "" {
			return
		}
		select {
		case err := <-readErrs:
			t.Fatalf("reading the syncs from Temporal: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scrape never showed what Temporal holds: %s\n%s", missing, grep(body, "jcsync_sync"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func grep(body, prefix string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return fmt.Sprint(strings.Join(out, "\n"))
}
