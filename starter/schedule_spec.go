package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

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

func overlapName(p enumspb.ScheduleOverlapPolicy) string {
	for k, v := range overlapPolicies {
		if v == p {
			return k
		}
	}
	return "skip" // unspecified means skip
}

func overlapNames() string {
	names := make([]string, 0, len(overlapPolicies))
	for k := range overlapPolicies {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func scheduleCreate(ctx context.Context, sc client.ScheduleClient, c *common, f scheduleFlags, id string) error {
	in := workflows.SyncInput{Integration: c.integration, DryRun: f.dryRun, SweepMargin: f.sweepMargin}
	s := client.Schedule{
		Action: &client.ScheduleWorkflowAction{
			// The schedule appends the start time to this id, so scheduled runs never
			// collide with the id of a manual sync.
			ID:                    temporalnames.SyncID(c.integration),
			Workflow:              temporalnames.SyncWorkflow,
			TaskQueue:             c.temporal.TaskQueue,
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
	applyScheduleFlags(&s, all, f)
	setScheduleInput(s.Action.(*client.ScheduleWorkflowAction), in)
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

// applyScheduleFlags changes what the operator asked for; changed tells which flags were set.
func applyScheduleFlags(s *client.Schedule, changed func(string) bool, f scheduleFlags) {
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
	if changed("dry-run") {
		if a, ok := s.Action.(*client.ScheduleWorkflowAction); ok {
			setScheduleInput(a, workflows.SyncInput{Integration: temporalnames.IntegrationOf(a.ID), DryRun: f.dryRun, SweepMargin: f.sweepMargin})
		}
	}
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
