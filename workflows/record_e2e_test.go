package workflows_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"jcsync/activities"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// TestRecordHistories records the histories TestReplaySyncHistories replays, from real runs
// on the dev server, one of each shape a sync takes, and lists them in
// workflows.HistoryIndex. It writes testdata only when asked to, after a change to the
// workflow: JCSYNC_RECORD_HISTORIES=1 (see workflows.Rerecord).
func TestRecordHistories(t *testing.T) {
	if os.Getenv("JCSYNC_RECORD_HISTORIES") == "" {
		t.Skip("records the replay histories into testdata; run with JCSYNC_RECORD_HISTORIES=1 after changing the workflow")
	}
	e := newE2E(t, jumpcloudsim.GenConfig{Seed: 81, Users: 1500, Groups: 30, Admins: 4, Apps: 8}, false, testenv.FastRetries)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	var index []workflows.RecordedHistory
	record := func(file, what string, run client.WorkflowRun) {
		t.Helper()
		writeHistory(t, e.history(run), "testdata/"+file)
		index = append(index, workflows.RecordedHistory{File: file, WorkflowID: run.GetID(), What: what})
		t.Logf("recorded %s: %s", file, what)
	}
	wait := func(run client.WorkflowRun) (*workflows.SyncResult, error) {
		var res workflows.SyncResult
		err := run.Get(ctx, &res)
		return &res, err
	}

	// A first sync into an empty app: validate, baseline, three phases, sweep, new baseline.
	res, run, err := e.sync(workflows.SyncInput{})
	if err != nil || !res.Swept {
		t.Fatalf("plain sync: swept=%v %v", res.Swept, err)
	}
	record("sync.history.json", "a plain sync that sweeps", run)

	res, run, err = e.sync(workflows.SyncInput{DryRun: true})
	if err != nil || !res.DryRun {
		t.Fatalf("dry run: %v", err)
	}
	record("dry_run.history.json", "a dry run: no baseline, no sweep", run)

	// JumpCloud answers 503 from the 8th users request on: the phase's attempt fails and is
	// retried from its checkpoint.
	e.sims.JC.FailFrom("/api/systemusers", 8, 503)
	run = e.start(workflows.SyncInput{})
	waitForRetry(t, e.tc.Client, run, activities.StageUsers)
	e.sims.JC.ClearFaults()
	if res, err = wait(run); err != nil || !res.Swept {
		t.Fatalf("retried sync: swept=%v %v", res.Swept, err)
	}
	record("phase_retried.history.json", "a sync whose users+admins phase failed an attempt and was retried", run)

	// Right after the last one, with a 5 s margin: it waits on a timer before it writes.
	res, run, err = e.sync(workflows.SyncInput{SweepMargin: 5 * time.Second})
	if err != nil || res.SweepWait <= 0 {
		t.Fatalf("sync now: waited %s, %v", res.SweepWait, err)
	}
	record("sync_now.history.json", "a sync started right after another, which waits before writing", run)

	// Started as a schedule or the Web UI starts one: it checks the credentials and hands over
	// to the integration's own workflow.
	in := workflows.SyncInput{Integration: e.name, SweepMargin: time.Millisecond, HeartbeatTimeout: 5 * time.Second}
	run, err = e.tc.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: temporalnames.SyncID(e.name) + "-scheduled", TaskQueue: e.queue}, temporalnames.SyncWorkflow, in)
	if err != nil {
		t.Fatal(err)
	}
	if res, err = wait(run); err != nil || res.RanAs != temporalnames.SyncID(e.name) {
		t.Fatalf("hand-over: ran as %q, %v", res.RanAs, err)
	}
	record("handover.history.json", "a scheduled run that hands over to the integration's own workflow", run)

	// The change watcher of a scheduled integration, one run of two polls that applies a
	// suspension and continues as new.
	wh, err := e.tc.Client.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: temporalnames.ScheduleID(e.name), Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 24 * time.Hour}}},
		Action: &client.ScheduleWorkflowAction{ID: temporalnames.SyncID(e.name), Workflow: temporalnames.SyncWorkflow, TaskQueue: e.queue, Args: []any{in}},
	})
	if err != nil {
		t.Fatal(err)
	}
	watch, err := e.tc.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: temporalnames.WatchID(e.name), TaskQueue: temporalnames.IntegrationQueue(e.queue, e.name)},
		temporalnames.WatchWorkflow, workflows.WatchInput{Integration: e.name, PollsPerRun: 2})
	if err != nil {
		t.Fatal(err)
	}
	e.sims.JC.Update(func(o *jumpcloudsim.Org) { o.SuspendUser(activeUsers(o, 1)[0]) })
	for {
		d, err := e.tc.Client.DescribeWorkflow(ctx, watch.GetID(), "")
		if err != nil {
			t.Fatal(err)
		}
		if d.WorkflowExecution.RunID != watch.GetRunID() {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	record("watch.history.json", "a change watcher's run: two polls after a user is suspended, then continue-as-new", watch)
	_ = e.tc.Client.TerminateWorkflow(ctx, watch.GetID(), "", "recorded")
	if err := wh.Delete(ctx); err != nil {
		t.Fatal(err)
	}

	// Two fifths of the users leave: the sweep is refused.
	e.sims.JC.Update(func(o *jumpcloudsim.Org) {
		for i := 0; i < 600; i++ {
			o.RemoveUser(o.Users[0].ID)
		}
	})
	if _, run, err = e.sync(workflows.SyncInput{}); err == nil || !strings.Contains(err.Error(), "sweep refused") {
		t.Fatalf("want a refused sweep, got %v", err)
	}
	record("refused.history.json", "a sync whose sweep is refused (a sharp shrink)", run)

	// The key is rotated in JumpCloud but not in the worker's configuration.
	e.sims.JC.SetAPIKey("jca_ROTATED_0123456789abcdef0123456789abcdef")
	if _, run, err = e.sync(workflows.SyncInput{}); err == nil || !strings.Contains(err.Error(), activities.ErrTypeCredentials) {
		t.Fatalf("want a credential failure, got %v", err)
	}
	record("failed_credentials.history.json", "a sync that fails its credential check", run)

	// The same, started by the integration's schedule with PauseOnFailure: it pauses it.
	h, err := e.tc.Client.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: temporalnames.ScheduleID(e.name), Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 24 * time.Hour}}}, Paused: true,
		Action: &client.ScheduleWorkflowAction{ID: temporalnames.SyncID(e.name), Workflow: temporalnames.SyncWorkflow, TaskQueue: e.queue, Args: []any{in}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = h.Delete(context.Background()) }()
	in.PauseOnFailure = true
	run, err = e.tc.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: temporalnames.SyncID(e.name) + "-paused", TaskQueue: e.queue}, temporalnames.SyncWorkflow, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err = wait(run); err == nil {
		t.Fatal("want a credential failure of the scheduled run")
	}
	record("handover_paused.history.json", "a scheduled run whose credential check fails, which pauses its schedule", run)

	b, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(workflows.HistoryIndex, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
