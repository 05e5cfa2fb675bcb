package routing_test

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"jcsync/activities"
	"jcsync/internal/config"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
	"jcsync/routing"
	"jcsync/workflows"
)

var temporalServer testenv.SharedTemporal

func TestMain(m *testing.M) {
	code := m.Run()
	temporalServer.Stop()
	os.Exit(code)
}

// smallOrg is the smallest org that still exercises every phase: syncs of a second or so.
func smallOrg(seed int64) *jumpcloudsim.Org {
	return jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: seed, Users: 20, Groups: 2, Admins: 1, Apps: 1})
}

// process starts the workers of one worker process holding integrations, under base, with
// an identity of its own that the histories record on every task it takes.
func process(t *testing.T, c client.Client, base, identity string, integrations config.Integrations) {
	t.Helper()
	testenv.StartWorkerWith(t, c, base, integrations, nil, worker.Options{Identity: identity})
}

// takenBy lists the identities of the workers that took the run's workflow and activity
// tasks, with how many each took.
func takenBy(t *testing.T, c client.Client, id, runID string) map[string]int {
	t.Helper()
	by := map[string]int{}
	it := c.GetWorkflowHistory(context.Background(), id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", id, err)
		}
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			by[e.GetWorkflowTaskStartedEventAttributes().GetIdentity()]++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			by[e.GetActivityTaskStartedEventAttributes().GetIdentity()]++
		}
	}
	return by
}

// TestTwoWorkersEachRunOnlyTheirIntegrations: two worker processes on one namespace and one
// base queue, holding different integrations. Ten syncs of each, started in random order
// (those of one integration one after another, as one sync of an integration runs at a time),
// all succeed, and every workflow and activity task of each was taken by the process that
// holds its integration. With one shared queue, about half of them failed with "unknown
// integration".
func TestTwoWorkersEachRunOnlyTheirIntegrations(t *testing.T) {
	tc := temporalServer.Get(t)
	const base = "route-two-workers"
	holders := map[string]string{"alpha": "process-a", "beta": "process-b"}
	sims := map[string]*testenv.Sims{}
	for i, name := range []string{"alpha", "beta"} {
		sims[name] = testenv.StartSims(t, smallOrg(int64(90+i)))
		process(t, tc.Client, base, holders[name], config.Integrations{name: sims[name].Integration(name, false)})
	}

	var order []string
	for range 10 {
		order = append(order, "alpha", "beta")
	}
	rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	t.Logf("start order: %v", order)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	last := map[string]client.WorkflowRun{}
	var runs []client.WorkflowRun
	for _, name := range order {
		if prev := last[name]; prev != nil {
			if err := prev.Get(ctx, nil); err != nil {
				t.Fatalf("sync of %s (run %s): %v", name, prev.GetRunID(), err)
			}
		}
		run, err := tc.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: temporalnames.SyncID(name), TaskQueue: temporalnames.IntegrationQueue(base, name),
		}, temporalnames.SyncWorkflow, workflows.SyncInput{Integration: name, SweepMargin: time.Millisecond})
		if err != nil {
			t.Fatalf("start sync of %s: %v", name, err)
		}
		last[name] = run
		runs = append(runs, run)
	}
	for _, run := range runs {
		var res workflows.SyncResult
		if err := run.Get(ctx, &res); err != nil {
			t.Fatalf("sync %s (run %s): %v", run.GetID(), run.GetRunID(), err)
		}
		name := res.Integration
		by := takenBy(t, tc.Client, run.GetID(), run.GetRunID())
		if len(by) != 1 || by[holders[name]] == 0 {
			t.Fatalf("the tasks of a sync of %s were taken by %v; only %s holds it", name, by, holders[name])
		}
	}
	for name, s := range sims {
		var exp jumpcloudsim.Expected
		s.JC.View(func(o *jumpcloudsim.Org) { exp = o.Expected(false) })
		if d := testenv.Diff(exp, s.AZ.Snapshot(testenv.AppID)); len(d) > 0 {
			t.Fatalf("%s: Authomize's snapshot differs from the org: %s", name, testenv.Summarize(d))
		}
	}
	t.Logf("%d syncs, each run only by the process that holds its integration", len(runs))
}

// TestRunsStartedOnTheBaseQueueAreHandedOver: what was started on the base queue, as a
// starter or a schedule of the single-queue layout, or the Web UI, did, runs on the
// integration's queue, only on the worker that holds it, under the same workflow id: a
// sync under the integration's own id, a scheduled run under another id (which hands over
// to the integration's id), and a credential check.
func TestRunsStartedOnTheBaseQueueAreHandedOver(t *testing.T) {
	tc := temporalServer.Get(t)
	const base = "route-base"
	s := testenv.StartSims(t, smallOrg(93))
	process(t, tc.Client, base, "process-gamma", config.Integrations{"gamma": s.Integration("gamma", false)})
	process(t, tc.Client, base, "process-other", config.Integrations{"other": testenv.StartSims(t, smallOrg(94)).Integration("other", false)})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	queue := temporalnames.IntegrationQueue(base, "gamma")

	for _, id := range []string{temporalnames.SyncID("gamma"), "jcsync-gamma-scheduled"} {
		run, err := tc.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: id, TaskQueue: base, TypedSearchAttributes: temporalnames.IntegrationAttributes("gamma"),
		}, temporalnames.SyncWorkflow, workflows.SyncInput{Integration: "gamma", SweepMargin: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		// Get follows the run into the one it continues as, and the handle with it.
		firstRunID := run.GetRunID()
		var res workflows.SyncResult
		if err := run.Get(ctx, &res); err != nil {
			t.Fatalf("%s started on the base queue: %v", id, err)
		}
		first, err := tc.Client.DescribeWorkflow(ctx, id, firstRunID)
		if err != nil {
			t.Fatal(err)
		}
		fi := first.RawResponse.GetWorkflowExecutionInfo()
		if st := fi.GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
			t.Fatalf("%s: the run on the base queue ended %v, want continued-as-new", id, st)
		}
		t.Logf("%s: handed over %s after its start, in %d events", id,
			fi.GetCloseTime().AsTime().Sub(fi.GetStartTime().AsTime()).Round(time.Millisecond), fi.GetHistoryLength())
		latest, err := tc.Client.DescribeWorkflow(ctx, id, "")
		if err != nil {
			t.Fatal(err)
		}
		info := latest.RawResponse.GetWorkflowExecutionInfo()
		if info.GetTaskQueue() != queue || info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			t.Fatalf("%s: the run after the hand-over is on %q, %v; want %q, completed", id, info.GetTaskQueue(), info.GetStatus(), queue)
		}
		// The hand-over keeps the search attribute the starter set, so the integration's
		// list in the Web UI and `starter status` still find the run.
		if v := info.GetSearchAttributes().GetIndexedFields()[temporalnames.SearchAttrIntegration]; v == nil {
			t.Fatalf("%s: the run after the hand-over lost %s", id, temporalnames.SearchAttrIntegration)
		}
		by := takenBy(t, tc.Client, id, info.GetExecution().GetRunId())
		if len(by) != 1 || by["process-gamma"] == 0 {
			t.Fatalf("%s: the tasks after the hand-over were taken by %v, want process-gamma only", id, by)
		}
		if id != temporalnames.SyncID("gamma") && res.RanAs != temporalnames.SyncID("gamma") {
			t.Fatalf("%s: ran as %q, want the integration's own id", id, res.RanAs)
		}
		// The run on the base queue took workflow tasks only: no activity of any integration.
		for who := range takenBy(t, tc.Client, id, firstRunID) {
			t.Logf("%s: the hand-over on the base queue was taken by %s", id, who)
		}
		assertNoActivities(t, tc.Client, id, firstRunID)
	}

	check, err := tc.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "route-check-gamma", TaskQueue: base},
		temporalnames.ValidateWorkflow, "gamma")
	if err != nil {
		t.Fatal(err)
	}
	var v activities.ValidateResult
	if err := check.Get(ctx, &v); err != nil {
		t.Fatalf("check started on the base queue: %v", err)
	}
	if v.AppID != testenv.AppID {
		t.Fatalf("check after the hand-over: %+v", v)
	}
}

func assertNoActivities(t *testing.T, c client.Client, id, runID string) {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if isActivityEvent(e) {
			t.Fatalf("%s: the run on the base queue scheduled an activity: %v", id, e.GetEventType())
		}
	}
}

func isActivityEvent(e *historypb.HistoryEvent) bool {
	return e.GetActivityTaskScheduledEventAttributes() != nil || e.GetActivityTaskStartedEventAttributes() != nil
}

// TestIntegrationHeld: an integration is held while a worker that holds it polls, and not
// before; the pollers named are that worker's.
func TestIntegrationHeld(t *testing.T) {
	tc := temporalServer.Get(t)
	const base = "route-held"
	ctx := context.Background()
	held, ps, err := routing.IntegrationHeld(ctx, tc.Client, base, "delta")
	if err != nil || held || len(ps) != 0 {
		t.Fatalf("before any worker: held %v, pollers %v, err %v", held, ps, err)
	}
	process(t, tc.Client, base, "process-delta", config.Integrations{"delta": testenv.StartSims(t, smallOrg(95)).Integration("delta", false)})
	deadline := time.Now().Add(time.Minute)
	for !held && time.Now().Before(deadline) {
		// A worker's first poll reaches the server a moment after it starts.
		time.Sleep(100 * time.Millisecond)
		if held, ps, err = routing.IntegrationHeld(ctx, tc.Client, base, "delta"); err != nil {
			t.Fatal(err)
		}
	}
	if !held || len(ps) == 0 || ps[0].Identity != "process-delta" {
		t.Fatalf("with a worker holding delta: held %v, pollers %+v", held, ps)
	}
	if held, _, err := routing.IntegrationHeld(ctx, tc.Client, base, "epsilon"); err != nil || held {
		t.Fatalf("epsilon, which no worker holds: held %v, err %v", held, err)
	}
}

// TestRepointSchedules: a schedule of the single-queue layout (its action on the base queue)
// moves to its integration's queue; one on another queue, and a missing one, are left alone;
// a second pass finds nothing to do.
func TestRepointSchedules(t *testing.T) {
	tc := temporalServer.Get(t)
	const base = "route-schedules"
	ctx := context.Background()
	create := func(name, queue string) client.ScheduleHandle {
		h, err := tc.Client.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID:     temporalnames.ScheduleID(name),
			Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}},
			Paused: true,
			Action: &client.ScheduleWorkflowAction{
				ID: temporalnames.SyncID(name), Workflow: temporalnames.SyncWorkflow, TaskQueue: queue,
				Args: []any{workflows.SyncInput{Integration: name, SweepMargin: 3 * time.Minute}},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.Delete(context.Background()) })
		return h
	}
	old := create("zeta", base)
	mine := create("eta", "somewhere-else")
	moved, err := routing.RepointSchedules(ctx, tc.Client, base, []string{"zeta", "eta", "theta"})
	if err != nil {
		t.Fatal(err)
	}
	want := routing.Repointed{Schedule: temporalnames.ScheduleID("zeta"), From: base, To: temporalnames.IntegrationQueue(base, "zeta")}
	if len(moved) != 1 || moved[0] != want {
		t.Fatalf("moved %+v, want only %+v", moved, want)
	}
	queueOf := func(h client.ScheduleHandle) string {
		d, err := h.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return d.Schedule.Action.(*client.ScheduleWorkflowAction).TaskQueue
	}
	if q := queueOf(old); q != want.To {
		t.Fatalf("zeta's action is on %q, want %q", q, want.To)
	}
	if q := queueOf(mine); q != "somewhere-else" {
		t.Fatalf("eta's action, on a queue of the operator's choice, moved to %q", q)
	}
	if again, err := routing.RepointSchedules(ctx, tc.Client, base, []string{"zeta", "eta"}); err != nil || len(again) != 0 {
		t.Fatalf("a second pass moved %+v (err %v)", again, err)
	}
	// The update keeps the action's input as it was.
	d, err := old.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var in workflows.SyncInput
	if err := converter.GetDefaultDataConverter().FromPayload(d.Schedule.Action.(*client.ScheduleWorkflowAction).Args[0].(*commonpb.Payload), &in); err != nil {
		t.Fatal(err)
	}
	if in.Integration != "zeta" || in.SweepMargin != 3*time.Minute {
		t.Fatalf("zeta's sync options after the move: %+v", in)
	}
}

// checkOn runs the credential check of integration on queue, as the sync's workflow does.
func checkOn(ctx workflow.Context, queue, integration string) (*activities.ValidateResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{TaskQueue: queue, StartToCloseTimeout: time.Minute})
	var r activities.ValidateResult
	err := workflow.ExecuteActivity(ctx, activities.ActivityValidate, activities.ValidateInput{Integration: integration}).Get(ctx, &r)
	return &r, err
}

// TestEachQueueCarriesOnlyItsTasks: the checks queue is served, by the worker holding the
// integration only, and polled for activities only; the base queue is polled for workflow
// tasks only, so no activity of an integration is ever taken from it.
func TestEachQueueCarriesOnlyItsTasks(t *testing.T) {
	tc := temporalServer.Get(t)
	const base = "route-queues"
	process(t, tc.Client, base, "process-kappa", config.Integrations{"kappa": testenv.StartSims(t, smallOrg(96)).Integration("kappa", false)})
	process(t, tc.Client, base, "process-lambda", config.Integrations{"lambda": testenv.StartSims(t, smallOrg(97)).Integration("lambda", false)})
	driver := worker.New(tc.Client, "route-queues-driver", worker.Options{})
	driver.RegisterWorkflow(checkOn)
	if err := driver.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(driver.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	checks := temporalnames.ChecksQueue(temporalnames.IntegrationQueue(base, "kappa"))
	run, err := tc.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "route-queues-driver"}, checkOn, checks, "kappa")
	if err != nil {
		t.Fatal(err)
	}
	var v activities.ValidateResult
	if err := run.Get(ctx, &v); err != nil || v.AppID != testenv.AppID {
		t.Fatalf("the check on %s: %+v, %v", checks, v, err)
	}
	it := tc.Client.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := e.GetActivityTaskStartedEventAttributes(); a != nil && a.GetIdentity() != "process-kappa" {
			t.Fatalf("the check of kappa was taken by %s", a.GetIdentity())
		}
	}
	for _, q := range []struct {
		queue string
		kind  enumspb.TaskQueueType
	}{
		{checks, enumspb.TASK_QUEUE_TYPE_WORKFLOW},
		{base, enumspb.TASK_QUEUE_TYPE_ACTIVITY},
	} {
		resp, err := tc.Client.DescribeTaskQueue(ctx, q.queue, q.kind)
		if err != nil {
			t.Fatal(err)
		}
		if ps := resp.GetPollers(); len(ps) > 0 {
			t.Errorf("%s is polled for %v tasks by %v", q.queue, q.kind, ps)
		}
	}
}
