package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"jcsync/internal/codec"
	"jcsync/internal/temporalnames"
	"jcsync/routing"
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
	pollQueue(t, temporalnames.IntegrationQueue(testTaskQueue, name))
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
	if !strings.Contains(out, "task queue: syncs start on "+queue+" (was "+testTaskQueue+")") {
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
	if _, err := applyScheduleFlags(&s, changed, scheduleFlags{phaseDeadline: 6 * time.Hour}, scheduleTarget{integration: "acme", baseQueue: temporalnames.TaskQueue}); err != nil {
		t.Fatal(err)
	}
	in, _ := actionInput(t, a)
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

// actionInput reads the sync options of a schedule's action as a sync would receive them,
// and the JSON object they are.
func actionInput(t *testing.T, a *client.ScheduleWorkflowAction) (workflows.SyncInput, map[string]json.RawMessage) {
	t.Helper()
	if len(a.Args) != 1 {
		t.Fatalf("the action has %d arguments", len(a.Args))
	}
	p, ok := a.Args[0].(*commonpb.Payload)
	if !ok {
		var err error
		if p, err = converter.GetDefaultDataConverter().ToPayload(a.Args[0]); err != nil {
			t.Fatal(err)
		}
	}
	var in workflows.SyncInput
	var raw map[string]json.RawMessage
	if err := converter.GetDefaultDataConverter().FromPayload(p, &in); err != nil {
		t.Fatal(err)
	}
	if err := converter.GetDefaultDataConverter().FromPayload(p, &raw); err != nil {
		t.Fatal(err)
	}
	return in, raw
}

// Each flag that sets a sync option names the option's JSON field: a wrong name would write
// a field the sync never reads, and leave the real one as it was.
func TestScheduleOptionFlagsNameTheirField(t *testing.T) {
	set := scheduleFlags{dryRun: true, sweepMargin: time.Minute, maxRejected: 1, phaseDeadline: time.Hour, pauseOnFailure: true}
	for _, o := range syncOptionFlags {
		var in workflows.SyncInput
		o.apply(&in, set)
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(b, &fields); err != nil {
			t.Fatal(err)
		}
		if _, ok := fields[o.key]; !ok || len(fields) != 2 { // the option and the integration
			t.Errorf("--%s sets %s, not %q", o.flag, b, o.key)
		}
	}
}

// Time zones, cron expressions, catch-up windows and margins that Temporal would refuse, or
// that would do nothing, are refused before anything is sent, with the reason.
func TestScheduleRefusesBadTiming(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--time-zone", "Mars/Olympus_Mons", "--cron", "0 2 * * *"}, "not an IANA time zone name"},
		{[]string{"--time-zone", "europe/berlin", "--cron", "0 2 * * *"}, "not an IANA time zone name"},
		{[]string{"--time-zone", "Local", "--cron", "0 2 * * *"}, "Local is this machine's zone"},
		{[]string{"--time-zone", "Europe/Berlin", "--every", "6h"}, "--time-zone applies to --cron"},
		{[]string{"--cron", "CRON_TZ=Europe/Berlin 0 2 * * *"}, "give the time zone with --time-zone"},
		{[]string{"--cron", "@every 6h"}, "give an interval with --every"},
		{[]string{"--catchup-window", "5s"}, "want at least 10s"},
		{[]string{"--catchup-window", "-1m"}, "want at least 10s"},
		{[]string{"--sweep-margin", "0s"}, "--sweep-margin 0s: want more than 0"},
		{[]string{"--sweep-margin", "-2m"}, "want more than 0"},
	} {
		for _, action := range []string{"create", "update"} {
			args := append([]string{"schedule", action, "--integration", "acme"}, c.args...)
			var out, errb bytes.Buffer
			if code := run(context.Background(), args, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), c.want) {
				t.Errorf("%v: exit %d, want %d and %q:\n%s", args, code, exitUsage, c.want, errb.String())
			}
		}
	}
}

// pollQueue starts a plain worker on queue (what a worker holding an integration does) and
// returns once Temporal lists it among the queue's pollers.
func pollQueue(t *testing.T, queue string) {
	t.Helper()
	w := worker.New(env.client, queue, worker.Options{})
	w.RegisterActivityWithOptions(func(context.Context) error { return nil }, activity.RegisterOptions{Name: "Noop"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	waitPollers(t, queue)
}

// waitPollers waits until Temporal lists a poller of queue.
func waitPollers(t *testing.T, queue string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		n, err := pollingWorkers(ctx, env.client, queue)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no poller of %s listed", queue)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// scheduleSettings is every setting of a schedule that an update may change, by name: the
// spec, the policies, the state, the action's queue and each field of its sync options.
func scheduleSettings(t *testing.T, integration string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := env.client.ScheduleClient().GetHandle(ctx, temporalnames.ScheduleID(integration)).Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sp, p, st := d.Schedule.Spec, d.Schedule.Policy, d.Schedule.State
	got := map[string]string{
		"timeZone": sp.TimeZoneName, "jitter": sp.Jitter.String(), "catchupWindow": p.CatchupWindow.String(),
		"overlap": overlapName(p.Overlap), "policyPauseOnFailure": fmt.Sprint(p.PauseOnFailure),
		"note": st.Note, "paused": fmt.Sprint(st.Paused),
	}
	for _, iv := range sp.Intervals {
		got["every"] += iv.Every.String()
	}
	for _, c := range sp.Calendars {
		typed, _ := typedCron(c)
		got["cron"] += typed
	}
	a := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	got["taskQueue"] = a.TaskQueue
	_, raw := actionInput(t, a)
	for k, v := range raw {
		got["input."+k] = string(v)
	}
	return got
}

// An update changes exactly the settings it is given and keeps every other one, for each
// kind of setting: timing, time zone, jitter, catch-up window, overlap, note, and each sync
// option; the sync options it has no flag for (shrink, heartbeat, attempts) and a field this
// starter does not know (set by a newer version) are carried over untouched.
func TestScheduleUpdateChangesOnlyWhatIsGiven(t *testing.T) {
	need(t)
	const name = "keeper"
	queue := temporalnames.IntegrationQueue(testTaskQueue, name)
	pollQueue(t, queue)
	full := map[string]any{
		"integration": name, "dryRun": true, "sweepMargin": 3 * time.Minute, "maxRejected": 4, "phaseDeadline": 20 * time.Hour,
		"pauseOnFailure": true, "maxShrinkPercent": 35, "allowShrink": true, "allowEmpty": true, "allowOrgChange": true,
		"heartbeatTimeout": 45 * time.Second, "stageAttempts": 7, "retryInterval": 5 * time.Second, "futureOption": "kept",
	}
	create := func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		h, err := env.client.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID: temporalnames.ScheduleID(name),
			Spec: client.ScheduleSpec{CronExpressions: []string{cronExpression("0 2 * * *")}, TimeZoneName: "Europe/Berlin",
				Jitter: 3 * time.Minute},
			Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE, CatchupWindow: 20 * time.Minute,
			Paused: true, Note: "the note",
			Action: &client.ScheduleWorkflowAction{ID: temporalnames.SyncID(name), Workflow: temporalnames.SyncWorkflow, TaskQueue: queue,
				Args: []any{full}},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.Delete(context.Background()) })
	}
	for _, c := range []struct {
		name  string
		args  []string
		delta map[string]string // "" deletes the setting
	}{
		{"every", []string{"--every", "2h"}, map[string]string{"every": "2h0m0s", "cron": "", "timeZone": ""}},
		{"cron", []string{"--cron", "30 3 * * 1-5"}, map[string]string{"cron": "30 3 * * 1-5"}},
		{"time zone", []string{"--time-zone", "America/New_York"}, map[string]string{"timeZone": "America/New_York"}},
		{"jitter", []string{"--jitter", "0s"}, map[string]string{"jitter": "0s"}},
		{"catch-up window", []string{"--catchup-window", "45m"}, map[string]string{"catchupWindow": "45m0s"}},
		{"overlap", []string{"--overlap", "skip"}, map[string]string{"overlap": "skip"}},
		{"note", []string{"--note", "another note"}, map[string]string{"note": "another note"}},
		{"dry run", []string{"--dry-run=false"}, map[string]string{"input.dryRun": ""}},
		{"sweep margin", []string{"--sweep-margin", "7m"}, map[string]string{"input.sweepMargin": "420000000000"}},
		{"max rejected", []string{"--max-rejected", "9"}, map[string]string{"input.maxRejected": "9"}},
		{"phase deadline", []string{"--phase-deadline", "12h"}, map[string]string{"input.phaseDeadline": "43200000000000"}},
		{"pause on failure", []string{"--pause-on-failure=false"}, map[string]string{"input.pauseOnFailure": ""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			create(t)
			want := scheduleSettings(t, name)
			for k, v := range c.delta {
				if v == "" {
					delete(want, k)
				} else {
					want[k] = v
				}
			}
			code, out, errs := starter(t, append([]string{"schedule", "update", "--integration", name}, c.args...)...)
			if code != exitOK {
				t.Fatalf("update %v: %d\n%s\n%s", c.args, code, out, errs)
			}
			got := scheduleSettings(t, name)
			for k := range mergeKeys(want, got) {
				if want[k] != got[k] {
					t.Errorf("update %v: %s is %q, want %q", c.args, k, got[k], want[k])
				}
			}
		})
	}
}

func mergeKeys(a, b map[string]string) map[string]bool {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// A schedule made by an older starter runs its syncs on the base task queue, pauses on any
// failure by Temporal's policy and has Temporal's year-long catch-up window. Any update brings
// it up to date and says so: the integration's queue, pause only on failures that last (the
// sync's option), the default window; the options it had stay.
func TestScheduleUpdateConvertsAnOlderSchedule(t *testing.T) {
	need(t)
	const name = "older"
	pollQueue(t, temporalnames.IntegrationQueue(testTaskQueue, name))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := env.client.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:             temporalnames.ScheduleID(name),
		Spec:           client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 4 * time.Hour}}},
		Paused:         true,
		PauseOnFailure: true,
		Action: &client.ScheduleWorkflowAction{ID: temporalnames.SyncID(name), Workflow: temporalnames.SyncWorkflow, TaskQueue: testTaskQueue,
			Args: []any{workflows.SyncInput{Integration: name, SweepMargin: 3 * time.Minute}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = h.Delete(context.Background()) }()
	before := scheduleSettings(t, name)
	if before["catchupWindow"] != "8760h0m0s" || before["policyPauseOnFailure"] != "true" {
		t.Fatalf("the older schedule is not as Temporal makes it: %v", before)
	}

	code, out, errs := starter(t, "schedule", "update", "--integration", name, "--jitter", "1m")
	if code != exitOK {
		t.Fatalf("update: %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"syncs start on task queue " + testTaskQueue + "/" + name, "(was " + testTaskQueue + ")",
		"was Temporal's policy, which pauses on any failure", "was Temporal's default of a year, now 4h0m0s"} {
		if !strings.Contains(out, want) {
			t.Errorf("the update does not say %q:\n%s", want, out)
		}
	}
	got := scheduleSettings(t, name)
	want := map[string]string{"taskQueue": temporalnames.IntegrationQueue(testTaskQueue, name), "policyPauseOnFailure": "false",
		"input.pauseOnFailure": "true", "input.sweepMargin": "180000000000", "catchupWindow": "4h0m0s", "jitter": "1m0s", "every": "4h0m0s"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("after the update %s is %q, want %q", k, got[k], v)
		}
	}
	code, out, _ = starter(t, "schedule", "describe", "--integration", name)
	if code != exitOK || !strings.Contains(out, "pause on failure: yes, for failures that last") || !strings.Contains(out, "sync options:     sweep margin 3m0s") {
		t.Errorf("describe after the update: %d\n%s", code, out)
	}

	// Turned off, it is off everywhere; the next update has nothing to convert.
	if code, out, errs = starter(t, "schedule", "update", "--integration", name, "--pause-on-failure=false"); code != exitOK || strings.Contains(out, "was Temporal's") {
		t.Fatalf("update --pause-on-failure=false: %d\n%s\n%s", code, out, errs)
	}
	if got := scheduleSettings(t, name); got["input.pauseOnFailure"] != "" || got["policyPauseOnFailure"] != "false" {
		t.Errorf("after --pause-on-failure=false: %v", got)
	}
}

// What a user gets without timing flags: every 6h, a catch-up window of the interval, overlap
// skip, no pause on failure, syncs on the integration's queue. And with a cron in a time zone:
// the expression shown as typed with its zone, the first run at 02:00 in that zone, a
// one-hour window, and pause on failure as the sync's option, not Temporal's policy.
func TestScheduleCreateDefaultsAndCron(t *testing.T) {
	need(t)
	const name = "fresh"
	pollQueue(t, temporalnames.IntegrationQueue(testTaskQueue, name))
	code, out, errs := starter(t, "schedule", "create", "--integration", name)
	if code != exitOK || !strings.Contains(out, "created schedule jcsync-fresh: syncs start on task queue "+testTaskQueue+"/fresh") {
		t.Fatalf("create: %d\n%s\n%s", code, out, errs)
	}
	got := scheduleSettings(t, name)
	want := map[string]string{"every": "6h0m0s", "catchupWindow": "6h0m0s", "overlap": "skip", "policyPauseOnFailure": "false",
		"taskQueue": temporalnames.IntegrationQueue(testTaskQueue, name), "timeZone": "", "input.integration": `"fresh"`}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("default schedule: %s is %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["input.pauseOnFailure"]; ok {
		t.Errorf("pause on failure is on by default: %v", got)
	}
	if code, out, _ = starter(t, "schedule", "delete", "--integration", name); code != exitOK {
		t.Fatalf("delete: %s", out)
	}

	const cron = "0 2 * * *  # nightly"
	code, out, errs = starter(t, "schedule", "create", "--integration", name, "--cron", cron, "--time-zone", "Europe/Berlin", "--pause-on-failure")
	if code != exitOK {
		t.Fatalf("create with cron: %d\n%s\n%s", code, out, errs)
	}
	defer starter(t, "schedule", "delete", "--integration", name)
	got = scheduleSettings(t, name)
	if got["cron"] != "0 2 * * *  # nightly" || got["timeZone"] != "Europe/Berlin" || got["catchupWindow"] != "1h0m0s" ||
		got["input.pauseOnFailure"] != "true" || got["policyPauseOnFailure"] != "false" {
		t.Errorf("cron schedule: %v", got)
	}
	code, out, _ = starter(t, "schedule", "describe", "--integration", name, "-o", "json")
	var d scheduleJSON
	if err := json.Unmarshal([]byte(out), &d); code != exitOK || err != nil {
		t.Fatalf("describe -o json: %d %v\n%s", code, err, out)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Next) == 0 {
		t.Fatalf("no next run: %s", out)
	}
	if next := d.Next[0].In(berlin); next.Hour() != 2 || next.Minute() != 0 {
		t.Errorf("the next run is at %s, want 02:00 in Berlin", next)
	}
	if len(d.Cron) != 1 || d.Cron[0] != cron || d.TimeZone != "Europe/Berlin" || d.CatchupWindow != "1h0m0s" || !d.PauseOnFailure || d.PauseOnAnyFailure {
		t.Errorf("describe -o json: %+v", d)
	}
	_, out, _ = starter(t, "schedule", "describe", "--integration", name)
	for _, w := range []string{"cron:             0 2 * * *  # nightly (Europe/Berlin)", "catch-up window:  1h0m0s", "workers:          1 poll " + testTaskQueue + "/fresh"} {
		if !strings.Contains(out, w) {
			t.Errorf("describe lacks %q:\n%s", w, out)
		}
	}
}

// checkWorkers against a dev server: a queue no worker polls has no pollers, one a plain
// worker polls has; create refuses an integration no running worker holds (a typo) and a
// task queue no worker runs on at all (a fresh install) unless --allow-no-worker is given,
// which warns.
func TestScheduleWorkerCheck(t *testing.T) {
	need(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	held := temporalnames.IntegrationQueue(testTaskQueue, "held")
	if n, err := pollingWorkers(ctx, env.client, held); err != nil || n != 0 {
		t.Fatalf("pollers of a queue no worker polls: %d %v", n, err)
	}
	if err := checkWorkers(ctx, env.client, testTaskQueue, held, "held", false, io.Discard); err == nil || !strings.Contains(err.Error(), `no running worker holds integration "held"`) {
		t.Fatalf("check before a worker holds it: %v", err)
	}
	pollQueue(t, held)
	if err := checkWorkers(ctx, env.client, testTaskQueue, held, "held", false, io.Discard); err != nil {
		t.Fatalf("check with a worker polling %s: %v", held, err)
	}

	code, out, errs := starter(t, "schedule", "create", "--integration", "typo")
	if code != exitFailed || !strings.Contains(errs, `no running worker holds integration "typo"`) || !strings.Contains(errs, "--allow-no-worker") {
		t.Fatalf("create for an integration no worker holds: %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = starter(t, "schedule", "create", "--integration", "typo", "--allow-no-worker")
	if code != exitOK || !strings.Contains(errs, "warning: no running worker holds integration") {
		t.Fatalf("create --allow-no-worker: %d\n%s\n%s", code, out, errs)
	}
	defer starter(t, "schedule", "delete", "--integration", "typo")
	// An update is checked the same way.
	if code, out, errs = starter(t, "schedule", "update", "--integration", "typo", "--every", "3h"); code != exitFailed || !strings.Contains(errs, "no running worker holds") {
		t.Fatalf("update for an integration no worker holds: %d\n%s\n%s", code, out, errs)
	}

	const nobody = "no-worker-polls-this"
	code, out, errs = starter(t, "schedule", "create", "--integration", "first", "--task-queue", nobody)
	if code != exitFailed || !strings.Contains(errs, "no worker is running: none polls task queue "+nobody+" or "+nobody+"/first") {
		t.Fatalf("create with no worker at all: %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = starter(t, "schedule", "create", "--integration", "first", "--task-queue", nobody, "--allow-no-worker")
	if code != exitOK || !strings.Contains(errs, "warning: no worker is running") {
		t.Fatalf("create with no worker at all, --allow-no-worker: %d\n%s\n%s", code, out, errs)
	}
	starter(t, "schedule", "delete", "--integration", "first")
}

// A schedule set before its worker runs (a fresh install): the run it starts waits in the
// integration's queue, and describe says no worker polls it. Once a worker holding the
// integration starts, the run goes on; describe shows each run's outcome: not-run while
// another sync of the integration holds its workflow id, and then the outcome of the sync a
// run handed over to, with that sync's id.
func TestScheduleWaitsForItsWorker(t *testing.T) {
	need(t)
	const name = "late"
	queue := temporalnames.IntegrationQueue(testTaskQueue, name)
	code, out, errs := starter(t, "schedule", "create", "--integration", name, "--every", "24h", "--allow-no-worker")
	if code != exitOK {
		t.Fatalf("create: %d\n%s\n%s", code, out, errs)
	}
	defer starter(t, "schedule", "delete", "--integration", name)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var d scheduleJSON
	describe := func() {
		t.Helper()
		code, out, errs := starter(t, "schedule", "describe", "--integration", name, "-o", "json")
		d = scheduleJSON{}
		if err := json.Unmarshal([]byte(out), &d); code != exitOK || err != nil {
			t.Fatalf("describe: %d %v\n%s\n%s", code, err, out, errs)
		}
	}
	// trigger starts a run and returns it.
	trigger := func() recentRun {
		t.Helper()
		describe()
		before := len(d.Recent)
		if code, out, errs := starter(t, "schedule", "trigger", "--integration", name); code != exitOK {
			t.Fatalf("trigger: %d\n%s\n%s", code, out, errs)
		}
		for describe(); len(d.Recent) == before; describe() {
			select {
			case <-ctx.Done():
				t.Fatal("the trigger started no run")
			case <-time.After(200 * time.Millisecond):
			}
		}
		return d.Recent[len(d.Recent)-1]
	}
	wait := func(r recentRun) {
		t.Helper()
		var res workflows.SyncResult
		if err := env.client.GetWorkflow(ctx, r.WorkflowID, r.RunID).Get(ctx, &res); err != nil {
			t.Fatalf("run %s: %v", r.WorkflowID, err)
		}
		describe()
	}

	first := trigger()
	if d.Workers == nil || *d.Workers != 0 || first.Outcome != "running" || first.Status != "Running" || len(d.Running) != 1 {
		t.Fatalf("before a worker holds %s: %+v", name, d)
	}
	_, text, _ := starter(t, "schedule", "describe", "--integration", name)
	if !strings.Contains(text, "workers:          none polls "+queue+": runs wait until a worker holding late starts") {
		t.Errorf("describe without a worker:\n%s", text)
	}

	// Another sync holds the integration's workflow id (it waits on a queue no worker polls):
	// the run, once a worker takes it, hands over to nothing and says not-run.
	blocker, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: temporalnames.SyncID(name), TaskQueue: "nobody-polls-this"},
		temporalnames.SyncWorkflow, workflows.SyncInput{Integration: name})
	if err != nil {
		t.Fatal(err)
	}
	w, err := routing.New(env.client, testTaskQueue, env.acts, func(routing.Carries) worker.Options { return workerOptions() })
	if err == nil {
		err = w.Start()
	}
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	wait(first)
	if got := d.Recent[len(d.Recent)-1]; got.Outcome != temporalnames.OutcomeNotRun || got.RanAs != "" || got.Status != "Completed" {
		t.Errorf("a run that found another sync running: %+v", got)
	}
	if err := env.client.TerminateWorkflow(ctx, blocker.GetID(), blocker.GetRunID(), "test: let the schedule sync"); err != nil {
		t.Fatal(err)
	}

	second := trigger()
	wait(second)
	if got := d.Recent[len(d.Recent)-1]; got.Outcome != temporalnames.OutcomeSwept || got.RanAs != temporalnames.SyncID(name) || got.Status != "Completed" {
		t.Errorf("a run that synced: %+v", got)
	}
	if d.Workers == nil || *d.Workers == 0 {
		t.Errorf("describe with a worker polling %s: %+v", queue, d.Workers)
	}
	_, text, _ = starter(t, "schedule", "describe", "--integration", name)
	if !strings.Contains(text, "not-run") || !strings.Contains(text, "swept         "+second.WorkflowID+", synced as jcsync-late") {
		t.Errorf("describe after the syncs:\n%s", text)
	}
}

// With payload encryption on, the schedule's sync options are stored encrypted, and an update
// given the keyring keeps the options it is not given; one without the keyring is refused
// with the reason instead of overwriting them.
func TestScheduleUpdateKeepsEncryptedOptions(t *testing.T) {
	need(t)
	const name = "sealed"
	pollQueue(t, temporalnames.IntegrationQueue(testTaskQueue, name))
	spec, err := codec.GenerateKeySpec("k1")
	if err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keys, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	keyring, err := codec.ParseKeyring(spec)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := starter(t, "schedule", "create", "--integration", name, "--sweep-margin", "5m", "--codec-keys-file", keys)
	if code != exitOK {
		t.Fatalf("create: %d\n%s\n%s", code, out, errs)
	}
	defer starter(t, "schedule", "delete", "--integration", name)
	options := func() workflows.SyncInput {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// The raw description: the SDK's would decode the encrypted summary and fail.
		d, err := env.client.WorkflowService().DescribeSchedule(ctx, &workflowservice.DescribeScheduleRequest{Namespace: "default", ScheduleId: temporalnames.ScheduleID(name)})
		if err != nil {
			t.Fatal(err)
		}
		p := d.GetSchedule().GetAction().GetStartWorkflow().GetInput().GetPayloads()[0]
		if enc := string(p.GetMetadata()[converter.MetadataEncoding]); enc != codec.MetadataEncodingEncrypted {
			t.Fatalf("the sync options are stored as %s", enc)
		}
		var in workflows.SyncInput
		if err := codec.DataConverter(keyring).FromPayload(p, &in); err != nil {
			t.Fatal(err)
		}
		return in
	}
	if in := options(); in.SweepMargin != 5*time.Minute || in.DryRun {
		t.Fatalf("after create: %+v", in)
	}
	if code, out, errs = starter(t, "schedule", "update", "--integration", name, "--dry-run", "--codec-keys-file", keys); code != exitOK {
		t.Fatalf("update with the keyring: %d\n%s\n%s", code, out, errs)
	}
	if in := options(); in.SweepMargin != 5*time.Minute || !in.DryRun || in.Integration != name {
		t.Fatalf("after update --dry-run: %+v", in)
	}
	code, out, errs = starter(t, "schedule", "update", "--integration", name, "--max-rejected", "3")
	if code != exitFailed || !strings.Contains(errs, "encrypted: give the keyring the workers use, --codec-keys-file") {
		t.Fatalf("update without the keyring: %d\n%s\n%s", code, out, errs)
	}
	if in := options(); in.SweepMargin != 5*time.Minute || !in.DryRun || in.MaxRejected != 0 {
		t.Fatalf("after the refused update: %+v", in)
	}
}
