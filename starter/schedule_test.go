package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"jcsync/internal/temporalnames"
	"jcsync/workflows"
)

// cancel-other and terminate-other end the running scheduled run, and with it the sync it
// handed over to: a sync longer than the interval would never finish. Both are refused on
// create and update, before anything is sent to Temporal, with the accepted policies.
func TestScheduleRefusesCancellingOverlap(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{
		{"schedule", "create", "--integration", "acme", "--overlap", "cancel-other"},
		{"schedule", "create", "--integration", "acme", "--overlap", "terminate-other"},
		{"schedule", "update", "--integration", "acme", "--overlap", "cancel-other"},
		{"schedule", "update", "--integration", "acme", "--overlap", "terminate-other"},
	} {
		var out, errb bytes.Buffer
		code := run(ctx, args, &out, &errb)
		msg := errb.String()
		if code != exitUsage || !strings.Contains(msg, "is refused") || !strings.Contains(msg, "would cancel the running sync") ||
			!strings.Contains(msg, "buffer-one") || !strings.Contains(msg, "skip") || strings.Contains(msg, "want one of") {
			t.Errorf("%v: exit %d\n%s", args, code, msg)
		}
		if strings.Contains(strings.SplitN(msg, "Use one of", 2)[1], "cancel-other") {
			t.Errorf("%v: the accepted policies include a refused one: %s", args, msg)
		}
	}
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"sync", "--integration", "acme", "--max-rejected", "-1"}, &out, &errb); code != exitUsage {
		t.Errorf("sync --max-rejected -1: exit %d %s", code, errb.String())
	}
}

// A schedule created elsewhere with cancel-other is not kept so by an update: the operator
// is told to choose another policy, and an update that does keeps the sync options it does
// not change (the sweep margin) while it sets --max-rejected.
func TestScheduleUpdateRefusesAnExistingCancellingOverlap(t *testing.T) {
	need(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const name = "overlapping"
	id := temporalnames.ScheduleID(name)
	h, err := env.client.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:      id,
		Spec:    client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}},
		Paused:  true,
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER,
		Action: &client.ScheduleWorkflowAction{
			ID: temporalnames.SyncID(name), Workflow: temporalnames.SyncWorkflow, TaskQueue: testTaskQueue,
			Args: []any{workflows.SyncInput{Integration: name, SweepMargin: 3 * time.Minute}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = h.Delete(context.Background()) }()

	code, out, errs := starter(t, "schedule", "update", "--integration", name, "--every", "2h")
	if code != exitFailed || !strings.Contains(errs, "overlap policy cancel-other") || !strings.Contains(errs, "--overlap skip") {
		t.Fatalf("update keeping cancel-other: %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = starter(t, "schedule", "update", "--integration", name, "--overlap", "buffer-one", "--max-rejected", "5")
	if code != exitOK {
		t.Fatalf("update choosing buffer-one: %d\n%s\n%s", code, out, errs)
	}
	// The schedule was made before routing, on the base queue: the update moves it.
	queue := temporalnames.IntegrationQueue(testTaskQueue, name)
	if !strings.Contains(out, "its syncs now start on task queue "+queue) {
		t.Errorf("the update does not say the schedule moved to %s:\n%s", queue, out)
	}
	d, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p := d.Schedule.Policy.Overlap; p != enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE {
		t.Fatalf("overlap after the update: %v", p)
	}
	var in workflows.SyncInput
	a := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	if a.TaskQueue != queue {
		t.Fatalf("the schedule's action after the update is on %q, want %q", a.TaskQueue, queue)
	}
	if err := converter.GetDefaultDataConverter().FromPayload(a.Args[0].(*commonpb.Payload), &in); err != nil {
		t.Fatal(err)
	}
	if in.Integration != name || in.MaxRejected != 5 || in.SweepMargin != 3*time.Minute {
		t.Fatalf("the schedule's sync options after the update: %+v", in)
	}
}

// --phase-deadline reaches the schedule's sync options on create and update; an update that
// sets it keeps the options it is not given. A negative deadline is a usage error.
func TestSchedulePhaseDeadline(t *testing.T) {
	a := &client.ScheduleWorkflowAction{ID: temporalnames.SyncID("acme"), Workflow: temporalnames.SyncWorkflow,
		Args: []any{workflows.SyncInput{Integration: "acme", SweepMargin: 3 * time.Minute}}}
	s := client.Schedule{Action: a}
	changed := func(flag string) bool { return flag == "phase-deadline" }
	if err := applyScheduleFlags(&s, changed, scheduleFlags{phaseDeadline: 6 * time.Hour}, nil); err != nil {
		t.Fatal(err)
	}
	in := a.Args[0].(workflows.SyncInput)
	if in.PhaseDeadline != 6*time.Hour || in.SweepMargin != 3*time.Minute {
		t.Fatalf("sync options after --phase-deadline 6h: %+v", in)
	}
	if !strings.Contains(a.StaticDetails, "6h0m0s in all") {
		t.Fatalf("the details do not name the deadline:\n%s", a.StaticDetails)
	}

	ctx := context.Background()
	for _, args := range [][]string{
		{"sync", "--integration", "acme", "--phase-deadline", "-1h"},
		{"schedule", "create", "--integration", "acme", "--phase-deadline", "-1h"},
		{"schedule", "update", "--integration", "acme", "--phase-deadline", "-1h"},
	} {
		var out, errb bytes.Buffer
		if code := run(ctx, args, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "--phase-deadline") {
			t.Errorf("%v: exit %d %s", args, code, errb.String())
		}
	}
}
