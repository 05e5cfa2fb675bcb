package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"jcsync/activities"
	"jcsync/internal/config"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// scheduleOnce creates the integration's schedule (every day, so it never fires by itself
// during the test) with Temporal's own pause-on-failure off, triggers it once and returns the
// run it started and that run's error. The schedule is deleted when the test ends.
func scheduleOnce(t *testing.T, ctx context.Context, c client.Client, queue string, in workflows.SyncInput) (client.ScheduleHandle, client.WorkflowRun, error) {
	t.Helper()
	h, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:   temporalnames.ScheduleID(in.Integration),
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 24 * time.Hour}}},
		Action: &client.ScheduleWorkflowAction{
			ID: temporalnames.SyncID(in.Integration), Workflow: temporalnames.SyncWorkflow, TaskQueue: queue, Args: []any{in},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Delete(context.Background()) })
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		d, err := h.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Info.RecentActions) > 0 {
			started := d.Info.RecentActions[0].StartWorkflowResult
			run := c.GetWorkflow(ctx, started.WorkflowID, started.FirstExecutionRunID)
			return h, run, run.Get(ctx, nil)
		}
		select {
		case <-ctx.Done():
			t.Fatal("the trigger started no run")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func paused(t *testing.T, ctx context.Context, h client.ScheduleHandle) (bool, string) {
	t.Helper()
	d, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return d.Schedule.State.Paused, d.Schedule.State.Note
}

// A schedule whose runs pause it on failures that last, on a real dev server: a rejected
// JumpCloud key pauses it, with a note that names the run and the cause; JumpCloud failing
// with 503 until the groups stage gives up does not; nor does a rejected key on a schedule
// that did not ask for it (the default). The failed scheduled runs are listed as failed once.
func TestE2EScheduleSyncPausesOnlyOnFailuresThatLast(t *testing.T) {
	tc := devServer(t)
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 91, Users: 300, Groups: 12, Admins: 2, Apps: 3}))
	const queue = "e2e-pause"
	badKey := func(name string) config.Integration {
		in := sims.Integration(name, false)
		in.JumpCloud.APIKey = "jca_REVOKED_0123456789abcdef0123456789abcdef"
		return in
	}
	testenv.StartWorker(t, tc.Client, queue, config.Integrations{
		"pausebadkey": badKey("pausebadkey"), "pausedefault": badKey("pausedefault"), "pauseoutage": sims.Integration("pauseoutage", false),
	}, testenv.FastRetries)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	h, run, err := scheduleOnce(t, ctx, tc.Client, queue, workflows.SyncInput{Integration: "pausebadkey", PauseOnFailure: true})
	if err == nil || !strings.Contains(err.Error(), "JumpCloud rejected the API key") {
		t.Fatalf("want the rejected key, got %v", err)
	}
	if p, note := paused(t, ctx, h); !p || !strings.Contains(note, run.GetID()) || !strings.Contains(note, activities.ErrTypeCredentials) ||
		!strings.Contains(note, "starter schedule unpause --integration pausebadkey") {
		t.Fatalf("a rejected key: paused=%v note %q", p, note)
	} else {
		t.Logf("paused: %s", note)
	}
	// No sync ran: the scheduled run is the one record of the failure.
	failed := temporalnames.IntegrationQuery("pausebadkey", temporalnames.SearchAttrOutcome+" = '"+temporalnames.OutcomeFailed+"'")
	if err := testenv.WaitListed(ctx, tc.Client, failed, run.GetID()); err != nil {
		t.Fatal(err)
	}

	h, _, err = scheduleOnce(t, ctx, tc.Client, queue, workflows.SyncInput{Integration: "pausedefault"})
	if err == nil {
		t.Fatal("a rejected key succeeded")
	}
	if p, note := paused(t, ctx, h); p {
		t.Fatalf("a schedule that did not ask to pause was paused: %q", note)
	}

	sims.JC.FailFrom("/api/v2/usergroups", 0, 503)
	defer sims.JC.ClearFaults()
	h, run, err = scheduleOnce(t, ctx, tc.Client, queue, workflows.SyncInput{
		Integration: "pauseoutage", PauseOnFailure: true, StageAttempts: 2, RetryInterval: 10 * time.Millisecond, SweepMargin: time.Millisecond,
	})
	if err == nil || !strings.Contains(err.Error(), activities.ErrTypeStalled) {
		t.Fatalf("want the groups stage to give up, got %v", err)
	}
	if p, note := paused(t, ctx, h); p {
		t.Fatalf("an outage paused the schedule: %q", note)
	}
	// The sync ran and carries the outcome; the scheduled run that handed over to it does not.
	failed = temporalnames.IntegrationQuery("pauseoutage", temporalnames.SearchAttrOutcome+" = '"+temporalnames.OutcomeFailed+"'")
	if err := testenv.WaitListed(ctx, tc.Client, failed, temporalnames.SyncID("pauseoutage")); err != nil {
		t.Fatal(err)
	}
	con, err := testenv.ReadConsole(ctx, tc.Client, run.GetID(), run.GetRunID())
	if err != nil || con.HasOutcome {
		t.Fatalf("the scheduled run that handed over carries an outcome: %+v %v", con, err)
	}
	// So a query for the syncs that did not sweep counts the sync once, without its hand-over.
	notSwept := temporalnames.IntegrationQuery("pauseoutage", temporalnames.SearchAttrOutcome+" != '"+temporalnames.OutcomeSwept+"'")
	list, err := tc.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: notSwept})
	if err != nil || len(list.GetExecutions()) != 1 || list.GetExecutions()[0].GetExecution().GetWorkflowId() != temporalnames.SyncID("pauseoutage") {
		t.Fatalf("%s lists %v (%v), want the sync alone", notSwept, list.GetExecutions(), err)
	}
}
