package metrics

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"jcsync/internal/temporalnames"
)

// DefaultSyncWatchInterval is how often WatchSyncs reads each integration's syncs: well
// inside a Prometheus scrape and alert cycle, at one small list query per integration.
const DefaultSyncWatchInterval = 30 * time.Second

// RecentSyncs is how many of an integration's newest finished syncs the gauges look at.
const RecentSyncs = 20

// Outcomes of finished syncs besides temporalnames' (which a sync sets itself, as
// JCSyncOutcome): a run that ended without setting one.
const (
	OutcomeCanceled   = "canceled"   // cancelled before it set an outcome
	OutcomeTerminated = "terminated" // terminated (by an operator, or a reset)
	OutcomeUnknown    = "unknown"    // completed without an outcome (a sync of an older version)
)

// standardOutcomes always have a jcsync_syncs_recent series, 0 when none of the recent syncs
// ended so, so that a rule or a panel over them never meets a missing series.
var standardOutcomes = []string{temporalnames.OutcomeSwept, temporalnames.OutcomeSweepSkipped,
	temporalnames.OutcomeRefused, temporalnames.OutcomeFailed, temporalnames.OutcomeDryRun, temporalnames.OutcomeNotRun}

// successOutcomes are the outcomes of a sync that uploaded the org: swept, or complete with
// the sweep skipped (the data is fresh; what JumpCloud dropped stays until the next sweep).
var successOutcomes = []string{temporalnames.OutcomeSwept, temporalnames.OutcomeSweepSkipped}

// SyncLister is the part of client.Client WatchSyncs uses.
type SyncLister interface {
	ListWorkflow(ctx context.Context, request *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
}

// SyncWatch says what WatchSyncs reads.
type SyncWatch struct {
	Namespace    string
	Integrations []string
	// Interval between two reads of every integration; 0 is DefaultSyncWatchInterval.
	Interval time.Duration
	// OnError, when set, hears of a read that failed (the gauges keep their last values,
	// and jcsync_sync_status_refresh_errors_total counts it).
	OnError func(integration string, err error)
}

// WatchSyncs keeps the per-integration sync gauges (jcsync_sync_*) current from Temporal's
// visibility until ctx ends: at once, then every interval. The gauges come from Temporal,
// not from this process, so they hold across worker restarts and agree between workers
// that hold the same integration.
func (m *Metrics) WatchSyncs(ctx context.Context, c SyncLister, w SyncWatch) {
	interval := w.Interval
	if interval <= 0 {
		interval = DefaultSyncWatchInterval
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		for _, name := range w.Integrations {
			if err := m.RefreshSyncs(ctx, c, w.Namespace, name); err != nil && ctx.Err() == nil && w.OnError != nil {
				w.OnError(name, err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// refreshTimeout bounds one integration's read, so a slow visibility store delays the
// others by no more than this.
const refreshTimeout = 10 * time.Second

// RefreshSyncs reads one integration's syncs and sets its gauges. The read is one list
// query for the newest syncs, plus one for the last successful sync when none of the newest
// succeeded, older ones exist, and this process has not seen a success yet.
func (m *Metrics) RefreshSyncs(ctx context.Context, c SyncLister, namespace, integration string) error {
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	err := m.refreshSyncs(ctx, c, namespace, integration)
	if err != nil {
		m.syncs.failed(integration)
		return fmt.Errorf("sync status of integration %q from Temporal's visibility (namespace %s): %w", integration, namespace, err)
	}
	return nil
}

func (m *Metrics) refreshSyncs(ctx context.Context, c SyncLister, namespace, integration string) error {
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: namespace,
		// One open run at most (the id allows one), then the newest finished ones.
		PageSize: RecentSyncs + 1,
		Query:    temporalnames.SyncRunsQuery(integration),
	})
	if err != nil {
		return fmt.Errorf("list the newest syncs: %w", err)
	}
	s := summarize(resp.GetExecutions())
	// Older runs exist only when the page is not the last one; a new integration, or one
	// with fewer syncs than a page, costs no second query.
	older := len(resp.GetNextPageToken()) > 0
	if s.lastSuccess.IsZero() && older && !m.syncs.knowsSuccess(integration) {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: namespace,
			PageSize:  1,
			Query:     temporalnames.SyncRunsQuery(integration, temporalnames.OutcomeIn(successOutcomes...), temporalnames.IsCompleted),
		})
		if err != nil {
			return fmt.Errorf("find the last successful sync: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			if t := e.GetCloseTime().AsTime(); e.GetCloseTime() != nil && t.After(s.lastSuccess) {
				s.lastSuccess = t
			}
		}
	}
	m.syncs.set(integration, s, time.Now())
	return nil
}

// syncSummary is what the gauges say of one integration.
type syncSummary struct {
	running      bool
	lastFinished time.Time // zero: no finished sync in sight
	lastOutcome  string
	lastSuccess  time.Time // zero: none in sight
	recent       map[string]int
	unswept      int // sweeps refused or skipped in a row, newest first
}

// summarize reads the newest runs of an integration's sync: whether one runs, how the last
// finished one ended and when, the last successful one, the outcomes of the finished ones,
// and how many of the newest that reached the sweep were refused or skipped in a row (the
// failed, dry and not-run ones in between are passed over: they did not try to sweep).
func summarize(execs []*workflowpb.WorkflowExecutionInfo) syncSummary {
	s := syncSummary{recent: map[string]int{}}
	var finished []*workflowpb.WorkflowExecutionInfo
	for _, e := range execs {
		if e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING || e.GetCloseTime() == nil {
			s.running = true
			continue
		}
		finished = append(finished, e)
	}
	// Visibility lists the newest first already; sorting makes it a rule, not a hope.
	sort.SliceStable(finished, func(i, j int) bool {
		return finished[i].GetCloseTime().AsTime().After(finished[j].GetCloseTime().AsTime())
	})
	if len(finished) > RecentSyncs {
		finished = finished[:RecentSyncs]
	}
	streakOver := false
	for i, e := range finished {
		outcome, closed := outcomeOf(e), e.GetCloseTime().AsTime()
		if i == 0 {
			s.lastFinished, s.lastOutcome = closed, outcome
		}
		s.recent[outcome]++
		if s.lastSuccess.IsZero() && e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED && slices.Contains(successOutcomes, outcome) {
			s.lastSuccess = closed
		}
		switch {
		case streakOver:
		case outcome == temporalnames.OutcomeRefused || outcome == temporalnames.OutcomeSweepSkipped:
			s.unswept++
		case outcome == temporalnames.OutcomeSwept:
			streakOver = true
		}
	}
	return s
}

// outcomeOf is the outcome a finished sync set (JCSyncOutcome), or, when it set none, what
// its status says.
func outcomeOf(e *workflowpb.WorkflowExecutionInfo) string {
	if p := e.GetSearchAttributes().GetIndexedFields()[temporalnames.SearchAttrOutcome]; p != nil {
		if o := keyword(p); o != "" {
			return o
		}
	}
	switch e.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return temporalnames.OutcomeFailed
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return OutcomeCanceled
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return OutcomeTerminated
	}
	return OutcomeUnknown
}

// keyword decodes a Keyword search attribute. Search attributes are plain JSON payloads,
// never encrypted, so the default converter reads them.
func keyword(p *commonpb.Payload) string {
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		return ""
	}
	return s
}

// syncStatus holds every watched integration's summary and exports it when scraped.
type syncStatus struct {
	mu    sync.Mutex
	state map[string]*integrationSyncs

	running, lastFinished, lastOutcome, lastSuccess, recent, unswept *prometheus.Desc
	refreshed, refreshErrors                                         *prometheus.Desc
}

type integrationSyncs struct {
	summary   syncSummary
	refreshed time.Time // zero: never read
	errors    int
}

func newSyncStatus() *syncStatus {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, append([]string{"integration"}, labels...), nil)
	}
	return &syncStatus{
		state: map[string]*integrationSyncs{},
		running: d("jcsync_sync_running",
			"1 while a sync of the integration runs (under its workflow id jcsync-<integration>), else 0; from Temporal."),
		lastFinished: d("jcsync_sync_last_finished_timestamp_seconds",
			"When the integration's newest finished sync closed, Unix seconds; from Temporal."),
		lastOutcome: d("jcsync_sync_last_outcome",
			"1 for the outcome of the integration's newest finished sync (swept, sweep-skipped, refused, failed, dry-run, not-run; canceled, terminated or unknown when it set none); from Temporal.",
			"outcome"),
		lastSuccess: d("jcsync_sync_last_success_timestamp_seconds",
			"When the integration's newest successful sync (swept or sweep-skipped) closed, Unix seconds; absent when Temporal holds none (its retention bounds how far back that looks)."),
		recent: d("jcsync_syncs_recent",
			fmt.Sprintf("Of the integration's %d newest finished syncs, how many ended with each outcome; from Temporal.", RecentSyncs),
			"outcome"),
		unswept: d("jcsync_sync_consecutive_unswept",
			"Sweeps refused or skipped in a row by the integration's newest syncs that reached the sweep (failed, dry-run and not-run syncs are passed over); 0 when the newest such sync swept."),
		refreshed: d("jcsync_sync_status_refresh_timestamp_seconds",
			"When this worker last read the integration's syncs from Temporal, Unix seconds: how current the jcsync_sync_* gauges are."),
		refreshErrors: d("jcsync_sync_status_refresh_errors_total",
			"Reads of the integration's syncs from Temporal that failed (the gauges keep their last values)."),
	}
}

// knowsSuccess says whether a successful sync of the integration was seen before.
func (c *syncStatus) knowsSuccess(integration string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.state[integration]
	return st != nil && !st.summary.lastSuccess.IsZero()
}

// set records a fresh summary. A success seen earlier stays when the newest syncs hold none:
// it did happen, even once it has left the page.
func (c *syncStatus) set(integration string, s syncSummary, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.entry(integration)
	if s.lastSuccess.Before(st.summary.lastSuccess) {
		s.lastSuccess = st.summary.lastSuccess
	}
	st.summary, st.refreshed = s, at
}

func (c *syncStatus) failed(integration string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entry(integration).errors++
}

// entry is the integration's state, created on first use. Callers hold mu.
func (c *syncStatus) entry(integration string) *integrationSyncs {
	st := c.state[integration]
	if st == nil {
		st = &integrationSyncs{}
		c.state[integration] = st
	}
	return st
}

// Describe implements prometheus.Collector.
func (c *syncStatus) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.running, c.lastFinished, c.lastOutcome, c.lastSuccess, c.recent, c.unswept, c.refreshed, c.refreshErrors} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *syncStatus) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seconds := func(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
	for name, st := range c.state {
		gauge := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{name}, labels...)...)
		}
		ch <- prometheus.MustNewConstMetric(c.refreshErrors, prometheus.CounterValue, float64(st.errors), name)
		if st.refreshed.IsZero() {
			continue // nothing read yet: no gauge rather than a made-up zero
		}
		s := st.summary
		gauge(c.refreshed, seconds(st.refreshed))
		running := 0.0
		if s.running {
			running = 1
		}
		gauge(c.running, running)
		gauge(c.unswept, float64(s.unswept))
		for _, o := range standardOutcomes {
			gauge(c.recent, float64(s.recent[o]), o)
		}
		for o, n := range s.recent {
			if !slices.Contains(standardOutcomes, o) {
				gauge(c.recent, float64(n), o)
			}
		}
		if !s.lastFinished.IsZero() {
			gauge(c.lastFinished, seconds(s.lastFinished))
			gauge(c.lastOutcome, 1, s.lastOutcome)
		}
		if !s.lastSuccess.IsZero() {
			gauge(c.lastSuccess, seconds(s.lastSuccess))
		}
	}
}
