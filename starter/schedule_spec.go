package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"jcsync/internal/temporalnames"
	"jcsync/workflows"
)

// The schedule itself: its spec, policies and action as the flags build them, and how they
// read back.

// overlapPolicies maps --overlap values to Temporal's policies.
var overlapPolicies = map[string]enumspb.ScheduleOverlapPolicy{
	"skip":            enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	"buffer-one":      enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
	"buffer-all":      enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL,
	"cancel-other":    enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER,
	"terminate-other": enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER,
	"allow-all":       enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
}

// overlapRefused reports a policy a schedule of syncs must not have. cancel-other and
// terminate-other end the running scheduled run when the next one is due, and a scheduled
// run's sync is its child (the hand-over to jcsync-<name>), which its end cancels: a sync
// that takes longer than the interval would be stopped every time and never sweep.
func overlapRefused(p enumspb.ScheduleOverlapPolicy) bool {
	return p == enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER || p == enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER
}

// overlapRefusedWhy says why, for messages.
const overlapRefusedWhy = "it would cancel the running sync when the next run is due, so a sync that takes longer than the interval would never finish (skip, the default, lets it finish and skips the runs due meanwhile)"

func overlapName(p enumspb.ScheduleOverlapPolicy) string {
	for k, v := range overlapPolicies {
		if v == p {
			return k
		}
	}
	return "skip" // unspecified means skip
}

// overlapNames is the --overlap values a schedule may take.
func overlapNames() string {
	names := make([]string, 0, len(overlapPolicies))
	for k, p := range overlapPolicies {
		if !overlapRefused(p) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// refusedOverlapNames is the --overlap values refused, for the flag's help.
func refusedOverlapNames() []string {
	var names []string
	for k, p := range overlapPolicies {
		if overlapRefused(p) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names
}

func scheduleCreate(ctx context.Context, sc client.ScheduleClient, c *common, f scheduleFlags, id string) error {
	s := client.Schedule{
		Action: &client.ScheduleWorkflowAction{
			// The schedule appends the start time to this id, so scheduled runs never
			// collide with the id of a manual sync.
			ID:       temporalnames.SyncID(c.integration),
			Workflow: temporalnames.SyncWorkflow,
			// Only workers that hold the integration poll its queue.
			TaskQueue:             temporalnames.IntegrationQueue(c.temporal.TaskQueue, c.integration),
			TypedSearchAttributes: temporalnames.IntegrationAttributes(c.integration),
		},
		Spec:   &client.ScheduleSpec{},
		Policy: &client.SchedulePolicies{},
		State:  &client.ScheduleState{},
	}
	all := func(string) bool { return true }
	if f.every == 0 && f.cron == "" {
		f.every = 6 * time.Hour
	}
	if err := applyScheduleFlags(&s, all, f, c.dataConverter); err != nil {
		return err
	}
	in := s.Action.(*client.ScheduleWorkflowAction).Args[0].(workflows.SyncInput)
	if s.State.Note == "" {
		// The schedule's page in the Web UI shows its note: say what it syncs.
		s.State.Note = scheduleNote(in)
	}
	_, err := sc.Create(ctx, client.ScheduleOptions{
		ID:             id,
		Spec:           *s.Spec,
		Action:         s.Action,
		Overlap:        s.Policy.Overlap,
		PauseOnFailure: s.Policy.PauseOnFailure,
		Note:           s.State.Note,
	})
	if err != nil {
		return fmt.Errorf("create schedule %s: %w", id, err)
	}
	return nil
}

// routeAction moves a schedule's action from the base task queue, where schedules created
// before routing start their syncs, to the integration's queue; it reports whether it did.
// An action on any other queue is the operator's choice and stays.
func routeAction(s *client.Schedule, base, integration string) bool {
	a, ok := s.Action.(*client.ScheduleWorkflowAction)
	if !ok || a.TaskQueue != base {
		return false
	}
	a.TaskQueue = temporalnames.IntegrationQueue(base, integration)
	return true
}

// applyScheduleFlags changes what the operator asked for; changed tells which flags were set.
// dc decodes the input of an existing schedule (nil: the default converter), so that the
// options not given keep their values.
func applyScheduleFlags(s *client.Schedule, changed func(string) bool, f scheduleFlags, dc converter.DataConverter) error {
	if s.Spec == nil {
		s.Spec = &client.ScheduleSpec{}
	}
	if s.Policy == nil {
		s.Policy = &client.SchedulePolicies{}
	}
	if s.State == nil {
		s.State = &client.ScheduleState{}
	}
	if changed("every") || changed("cron") || f.every != 0 || f.cron != "" {
		// One way of timing at a time: the new one replaces the old.
		s.Spec.Intervals, s.Spec.CronExpressions, s.Spec.Calendars = nil, nil, nil
		if f.cron != "" {
			s.Spec.CronExpressions = []string{f.cron}
		} else if f.every > 0 {
			s.Spec.Intervals = []client.ScheduleIntervalSpec{{Every: f.every}}
		}
	}
	if changed("jitter") {
		s.Spec.Jitter = f.jitter
	}
	if changed("overlap") {
		s.Policy.Overlap = overlapPolicies[f.overlap]
	}
	if changed("pause-on-failure") {
		s.Policy.PauseOnFailure = f.pauseOnFailure
	}
	if changed("note") {
		s.State.Note = f.note
	}
	if changed("dry-run") || changed("sweep-margin") || changed("max-rejected") || changed("phase-deadline") {
		a, ok := s.Action.(*client.ScheduleWorkflowAction)
		if !ok {
			return fmt.Errorf("the schedule's action is not a workflow: recreate it with `starter schedule delete` and `starter schedule create`")
		}
		in, err := scheduleInput(a, dc)
		if err != nil {
			return err
		}
		if changed("dry-run") {
			in.DryRun = f.dryRun
		}
		if changed("sweep-margin") {
			in.SweepMargin = f.sweepMargin
		}
		if changed("max-rejected") {
			in.MaxRejected = f.maxRejected
		}
		if changed("phase-deadline") {
			in.PhaseDeadline = f.phaseDeadline
		}
		setScheduleInput(a, in)
	}
	return nil
}

// scheduleInput is the input a schedule's action gives its syncs: as set by this process,
// or as an existing schedule holds it (an encoded payload, decoded with dc).
func scheduleInput(a *client.ScheduleWorkflowAction, dc converter.DataConverter) (workflows.SyncInput, error) {
	in := workflows.SyncInput{Integration: temporalnames.IntegrationOf(a.ID)}
	if len(a.Args) == 0 {
		return in, nil
	}
	switch arg := a.Args[0].(type) {
	case workflows.SyncInput:
		return arg, nil
	case *commonpb.Payload:
		if dc == nil {
			dc = converter.GetDefaultDataConverter()
		}
		var held workflows.SyncInput
		if err := dc.FromPayload(arg, &held); err != nil {
			return in, fmt.Errorf("read the schedule's sync options (to keep those not given): %w", err)
		}
		if held.Integration == "" {
			held.Integration = in.Integration
		}
		return held, nil
	}
	return in, fmt.Errorf("the schedule's sync options are of an unknown type %T: recreate the schedule", a.Args[0])
}

// setScheduleInput makes in the input of the schedule's syncs, with the static summary and
// details the Web UI shows on each run the schedule starts. Like the starter, a schedule
// does not know the org and app of the worker's configuration: the run it starts checks the
// credentials and hands the sync it starts a summary that names them.
func setScheduleInput(a *client.ScheduleWorkflowAction, in workflows.SyncInput) {
	a.Args = []any{in}
	a.StaticSummary = "scheduled · " + workflows.Summary(in, nil)
	a.StaticDetails = workflows.Details(in, nil)
}

// scheduleNote is the note a new schedule carries: what it syncs.
func scheduleNote(in workflows.SyncInput) string {
	what := "syncs"
	if in.DryRun {
		what = "dry-runs (writes nothing)"
	}
	return fmt.Sprintf("%s JumpCloud → Authomize for integration %s (the org and app of the worker's configuration); created with starter", what, in.Integration)
}

// calendarString renders a calendar spec like a cron line: "sec min hour dom month dow".
func calendarString(c client.ScheduleCalendarSpec) string {
	field := func(rs []client.ScheduleRange, all string) string {
		if len(rs) == 0 {
			return all
		}
		var parts []string
		for _, r := range rs {
			p := strconv.Itoa(r.Start)
			if r.End > r.Start {
				p += "-" + strconv.Itoa(r.End)
			}
			if r.Step > 1 {
				p += "/" + strconv.Itoa(r.Step)
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, ",")
	}
	return strings.Join([]string{
		field(c.Second, "0"), field(c.Minute, "0"), field(c.Hour, "0"),
		field(c.DayOfMonth, "*"), field(c.Month, "*"), field(c.DayOfWeek, "*"),
	}, " ")
}
