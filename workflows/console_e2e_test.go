package workflows_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// TestE2ELiveDetailsAddNoEvents syncs orgs of 2,000 and 20,000 users and reads the current
// details during the large one. The details are redrawn at each stage and phase and never
// add an event: both histories must hold the same events apart from workflow tasks (whose
// number depends on whether the parallel stages end in the same task), and the same number
// within that slack. A sync that recorded anything per page (a signal, a marker, an upsert)
// would have about 180 more events for 20,000 users: 200 users pages instead of 20.
func TestE2ELiveDetailsAddNoEvents(t *testing.T) {
	type run struct {
		total, nonTask int
		kinds          map[enumspb.EventType]int
	}
	runs := map[int]run{}
	for _, users := range []int{2000, 20000} {
		t.Run(fmt.Sprint(users), func(t *testing.T) {
			e := newE2E(t, jumpcloudsim.GenConfig{Seed: 5, Users: users, Groups: 40, Admins: 10, Apps: 10}, false, nil)
			r := e.start(workflows.SyncInput{})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			var mid string
			if users == 20000 {
				mid = waitDetails(ctx, t, e, r.GetID(), r.GetRunID(), func(d string) bool {
					return strings.Contains(d, "- **users**: done") && strings.Contains(d, "running since")
				})
				t.Logf("current details during the sync:\n%s", mid)
				for _, want := range []string{"**Phase: ", "read 20,000 users in ", "JumpCloud org `", "`starter status --integration " + e.name + "`"} {
					if !strings.Contains(mid, want) {
						t.Errorf("current details during the sync lack %q", want)
					}
				}
			}
			var res workflows.SyncResult
			if err := r.Get(ctx, &res); err != nil {
				t.Fatal(err)
			}
			final, err := testenv.CurrentDetails(ctx, e.tc.Client, r.GetID(), r.GetRunID())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(final, "**Outcome: swept.**") || !strings.Contains(final, fmt.Sprintf("read %s users", commas(users))) {
				t.Errorf("final current details:\n%s", final)
			}
			if users == 20000 {
				t.Logf("final current details:\n%s", final)
			}
			con, err := testenv.ReadConsole(ctx, e.tc.Client, r.GetID(), r.GetRunID())
			if err != nil {
				t.Fatal(err)
			}
			if con.Outcome != temporalnames.OutcomeSwept || con.Users != int64(users) {
				t.Errorf("search attributes: %+v", con)
			}
			q := temporalnames.IntegrationQuery(e.name, temporalnames.SearchAttrOutcome+" = 'swept'", fmt.Sprintf("%s = %d", temporalnames.SearchAttrUsers, users))
			if err := testenv.WaitListed(ctx, e.tc.Client, q, r.GetID()); err != nil {
				t.Fatal(err)
			}
			events := e.history(r)
			rr := run{total: len(events), kinds: map[enumspb.EventType]int{}}
			for _, ev := range events {
				if !isWorkflowTask(ev) {
					rr.nonTask++
					rr.kinds[ev.GetEventType()]++
				}
			}
			runs[users] = rr
			t.Logf("%d users: %d history events, %d of them not workflow tasks", users, rr.total, rr.nonTask)
		})
	}
	small, large := runs[2000], runs[20000]
	if small.total == 0 || large.total == 0 {
		t.Fatal("a sync did not run")
	}
	if large.nonTask != small.nonTask || fmt.Sprint(large.kinds) != fmt.Sprint(small.kinds) {
		t.Fatalf("the 20,000-user sync has other events than the 2,000-user one:\n%v\n%v", large.kinds, small.kinds)
	}
	if d := large.total - small.total; d > 6 || d < -6 {
		t.Fatalf("%d history events for 20,000 users, %d for 2,000", large.total, small.total)
	}
}

func isWorkflowTask(ev *historypb.HistoryEvent) bool {
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
		return true
	}
	return false
}

// waitDetails polls a run's current details until ok accepts them.
func waitDetails(ctx context.Context, t *testing.T, e *e2e, id, runID string, ok func(string) bool) string {
	t.Helper()
	var last string
	for {
		d, err := testenv.CurrentDetails(ctx, e.tc.Client, id, runID)
		if err == nil {
			last = d
			if ok(d) {
				return d
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the current details never showed what was awaited; last:\n%s", last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
