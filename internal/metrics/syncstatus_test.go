package metrics

import (
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"jcsync/internal/temporalnames"
)

var t0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

// run is a sync as visibility lists it: closed at t0 + hours (never, when running), with
// outcome as its JCSyncOutcome ("" for none).
func run(t *testing.T, status enumspb.WorkflowExecutionStatus, hours int, outcome string) *workflowpb.WorkflowExecutionInfo {
	t.Helper()
	e := &workflowpb.WorkflowExecutionInfo{Status: status, StartTime: timestamppb.New(t0.Add(time.Duration(hours)*time.Hour - time.Minute))}
	if status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		e.CloseTime = timestamppb.New(t0.Add(time.Duration(hours) * time.Hour))
	}
	if outcome != "" {
		p, err := converter.GetDefaultDataConverter().ToPayload(outcome)
		if err != nil {
			t.Fatal(err)
		}
		e.SearchAttributes = &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{temporalnames.SearchAttrOutcome: p}}
	}
	return e
}

const (
	running    = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	completed  = enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	failed     = enumspb.WORKFLOW_EXECUTION_STATUS_FAILED
	terminated = enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED
	timedOut   = enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT
)

func TestSummarizeSyncs(t *testing.T) {
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	for _, tc := range []struct {
		name        string
		runs        []*workflowpb.WorkflowExecutionInfo
		running     bool
		lastOutcome string
		lastAt      time.Time
		lastSuccess time.Time
		unswept     int
		recent      map[string]int
	}{
		{
			name:        "a failure after a success, one running",
			runs:        []*workflowpb.WorkflowExecutionInfo{run(t, running, 0, ""), run(t, failed, 5, "failed"), run(t, completed, 4, "swept")},
			running:     true,
			lastOutcome: "failed", lastAt: at(5), lastSuccess: at(4),
			recent: map[string]int{"failed": 1, "swept": 1},
		},
		{
			// Failed, dry and not-run syncs did not try to sweep: the streak passes over
			// them, and ends at the newest sync that swept.
			name: "refused and skipped sweeps in a row",
			runs: []*workflowpb.WorkflowExecutionInfo{run(t, failed, 9, "refused"), run(t, failed, 8, "failed"), run(t, completed, 7, "dry-run"),
				run(t, completed, 6, "sweep-skipped"), run(t, completed, 5, "swept"), run(t, failed, 4, "refused")},
			lastOutcome: "refused", lastAt: at(9), lastSuccess: at(6), unswept: 2,
			recent: map[string]int{"refused": 2, "failed": 1, "dry-run": 1, "sweep-skipped": 1, "swept": 1},
		},
		{
			// Visibility's order is not trusted: the newest by close time is the last one.
			name:        "out of order",
			runs:        []*workflowpb.WorkflowExecutionInfo{run(t, completed, 1, "swept"), run(t, failed, 3, "refused"), run(t, completed, 2, "swept")},
			lastOutcome: "refused", lastAt: at(3), lastSuccess: at(2), unswept: 1,
			recent: map[string]int{"refused": 1, "swept": 2},
		},
		{
			name:        "ended without an outcome",
			runs:        []*workflowpb.WorkflowExecutionInfo{run(t, terminated, 4, ""), run(t, timedOut, 3, ""), run(t, completed, 2, "")},
			lastOutcome: "terminated", lastAt: at(4),
			recent: map[string]int{"terminated": 1, "failed": 1, "unknown": 1},
		},
		{
			// A dry run completes but uploads nothing: it is no success.
			name:        "only dry runs",
			runs:        []*workflowpb.WorkflowExecutionInfo{run(t, completed, 2, "dry-run")},
			lastOutcome: "dry-run", lastAt: at(2),
			recent: map[string]int{"dry-run": 1},
		},
		{name: "none", recent: map[string]int{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := summarize(tc.runs)
			if s.running != tc.running || s.lastOutcome != tc.lastOutcome || !s.lastFinished.Equal(tc.lastAt) ||
				!s.lastSuccess.Equal(tc.lastSuccess) || s.unswept != tc.unswept {
				t.Errorf("got running=%v last=%s at %s success=%s unswept=%d", s.running, s.lastOutcome, s.lastFinished, s.lastSuccess, s.unswept)
			}
			if len(s.recent) != len(tc.recent) {
				t.Errorf("recent %v, want %v", s.recent, tc.recent)
			}
			for o, n := range tc.recent {
				if s.recent[o] != n {
					t.Errorf("recent %v, want %v", s.recent, tc.recent)
				}
			}
		})
	}
}

// Only the newest RecentSyncs finished syncs count, however many the page holds.
func TestSummarizeCountsTheNewestOnly(t *testing.T) {
	var runs []*workflowpb.WorkflowExecutionInfo
	for h := 0; h < RecentSyncs+5; h++ {
		outcome := "swept"
		if h < 5 {
			outcome = "failed" // the oldest five
		}
		runs = append(runs, run(t, completed, h, outcome))
	}
	s := summarize(runs)
	if s.recent["swept"] != RecentSyncs || s.recent["failed"] != 0 {
		t.Fatalf("recent %v: want the %d newest, all swept", s.recent, RecentSyncs)
	}
}

// The gauges say nothing of an integration before its first read, keep a success that has
// left the newest syncs, and give every standard outcome a series.
func TestSyncGaugesOfAnIntegration(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	m.syncs.failed("acme")
	body := scrape(t, m.Handler())
	if !strings.Contains(body, `jcsync_sync_status_refresh_errors_total{integration="acme"} 1`) ||
		strings.Contains(body, `jcsync_sync_running{`) {
		t.Fatalf("before a first read: only the error count\n%s", body)
	}
	m.syncs.set("acme", summarize([]*workflowpb.WorkflowExecutionInfo{run(t, completed, 1, "swept")}), t0.Add(2*time.Hour))
	m.syncs.set("acme", summarize([]*workflowpb.WorkflowExecutionInfo{run(t, failed, 3, "refused"), run(t, failed, 2, "failed")}), t0.Add(4*time.Hour))
	body = scrape(t, m.Handler())
	for _, want := range []string{
		`jcsync_sync_last_success_timestamp_seconds{integration="acme"} 1.7961156e+09`,
		`jcsync_sync_last_finished_timestamp_seconds{integration="acme"} 1.7961228e+09`,
		`jcsync_sync_last_outcome{integration="acme",outcome="refused"} 1`,
		`jcsync_sync_consecutive_unswept{integration="acme"} 1`,
		`jcsync_sync_running{integration="acme"} 0`,
		`jcsync_syncs_recent{integration="acme",outcome="failed"} 1`,
		`jcsync_syncs_recent{integration="acme",outcome="swept"} 0`,
		`jcsync_syncs_recent{integration="acme",outcome="not-run"} 0`,
		`jcsync_sync_status_refresh_timestamp_seconds{integration="acme"} 1.7961264e+09`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	if strings.Count(body, "jcsync_sync_last_outcome{") != 1 {
		t.Errorf("one last outcome per integration:\n%s", body)
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", body)
	}
}
