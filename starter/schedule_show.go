package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"jcsync/internal/temporalnames"
	"jcsync/workflows"
)

type scheduleJSON struct {
	ID    string   `json:"id"`
	Every []string `json:"every,omitempty"`
	// Cron is each cron expression as typed; Calendar each calendar made some other way
	// (the Web UI, the temporal CLI), rendered like a cron line with seconds.
	Cron          []string `json:"cron,omitempty"`
	Calendar      []string `json:"calendar,omitempty"`
	TimeZone      string   `json:"timeZone,omitempty"`
	Jitter        string   `json:"jitter,omitempty"`
	CatchupWindow string   `json:"catchupWindow"`
	Overlap       string   `json:"overlap"`
	// PauseOnFailure: the sync pauses the schedule when it fails for a reason that lasts.
	// PauseOnAnyFailure: Temporal's policy pauses it on any failure (a schedule made by an
	// older starter; `schedule update` converts it).
	PauseOnFailure    bool                 `json:"pauseOnFailure"`
	PauseOnAnyFailure bool                 `json:"pauseOnAnyFailure,omitempty"`
	Paused            bool                 `json:"paused"`
	Note              string               `json:"note,omitempty"`
	TaskQueue         string               `json:"taskQueue,omitempty"`
	Workers           *int                 `json:"workers,omitempty"`
	Options           *workflows.SyncInput `json:"options,omitempty"`
	Actions           int                  `json:"actions"`
	Skipped           int                  `json:"skippedOverlap"`
	MissedCatchup     int                  `json:"missedCatchupWindow"`
	Running           []string             `json:"running,omitempty"`
	Recent            []recentRun          `json:"recent,omitempty"`
	Next              []time.Time          `json:"next,omitempty"`
}

func printSchedule(ctx context.Context, s *scheduleRun, d *client.ScheduleDescription) int {
	stdout, stderr := s.stdout, s.stderr
	out := scheduleJSON{ID: s.id, Actions: d.Info.NumActions, Skipped: d.Info.NumActionsSkippedOverlap,
		MissedCatchup: d.Info.NumActionsMissedCatchupWindow, Next: d.Info.NextActionTimes}
	if sp := d.Schedule.Spec; sp != nil {
		for _, iv := range sp.Intervals {
			out.Every = append(out.Every, iv.Every.String())
		}
		out.Cron = sp.CronExpressions
		for _, cal := range sp.Calendars {
			if typed, ok := typedCron(cal); ok {
				out.Cron = append(out.Cron, typed)
			} else {
				out.Calendar = append(out.Calendar, calendarString(cal))
			}
		}
		if len(sp.Intervals) == 0 {
			// Cron and calendar times are read in the spec's zone, UTC unless one is set.
			out.TimeZone = sp.TimeZoneName
			if out.TimeZone == "" {
				out.TimeZone = "UTC"
			}
		}
		if sp.Jitter > 0 {
			out.Jitter = sp.Jitter.String()
		}
	}
	if p := d.Schedule.Policy; p != nil {
		out.Overlap, out.PauseOnAnyFailure, out.CatchupWindow = overlapName(p.Overlap), p.PauseOnFailure, p.CatchupWindow.String()
	}
	if st := d.Schedule.State; st != nil {
		out.Paused, out.Note = st.Paused, st.Note
	}
	if a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction); ok {
		out.TaskQueue = a.TaskQueue
		if opts, err := readSyncOptions(a, s.c.integration, s.c.dataConverter); err != nil {
			fmt.Fprintf(stderr, "starter schedule describe: %v\n", withCodecHint(err))
		} else {
			out.Options, out.PauseOnFailure = &opts.in, opts.in.PauseOnFailure
		}
		if n, err := pollingWorkers(ctx, s.tc, a.TaskQueue); err != nil {
			fmt.Fprintf(stderr, "starter schedule describe: %v\n", err)
		} else {
			out.Workers = &n
		}
	}
	for _, r := range d.Info.RunningWorkflows {
		out.Running = append(out.Running, r.WorkflowID)
	}
	for _, r := range d.Info.RecentActions {
		if r.StartWorkflowResult != nil {
			run := recentRunOf(ctx, s.tc, r.StartWorkflowResult.WorkflowID, r.StartWorkflowResult.FirstExecutionRunID)
			run.ScheduledAt = r.ScheduleTime
			out.Recent = append(out.Recent, run)
		}
	}
	if s.c.output == "json" {
		return writeJSON(stdout, stderr, out)
	}
	// Times are shown in the zone the cron is read in, so 02:00 reads as 02:00; an interval
	// has no zone, and its times are shown in this machine's.
	zone := time.Local
	if out.TimeZone != "" {
		if loc, err := time.LoadLocation(out.TimeZone); err == nil {
			zone = loc
		}
	}
	line := func(label, format string, args ...any) {
		fmt.Fprintf(stdout, "  %-18s%s\n", label+":", fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(stdout, "schedule %s\n", s.id)
	switch {
	case len(out.Every) > 0:
		line("every", "%s", strings.Join(out.Every, ", "))
	case len(out.Cron) > 0:
		line("cron", "%s (%s)", strings.Join(out.Cron, "; "), out.TimeZone)
	}
	if len(out.Calendar) > 0 {
		line("calendar", "%s (%s; sec min hour day month weekday)", strings.Join(out.Calendar, "; "), out.TimeZone)
	}
	if out.Jitter != "" {
		line("jitter", "%s", out.Jitter)
	}
	line("catch-up window", "%s (a run missed by more, while Temporal was down, is dropped)", out.CatchupWindow)
	line("overlap", "%s", out.Overlap)
	switch {
	case out.PauseOnAnyFailure:
		line("pause on failure", "on any failure, by Temporal's policy (`starter schedule update --integration %s` makes it pause only for failures that last)", s.c.integration)
	case out.PauseOnFailure:
		line("pause on failure", "yes, for failures that last (a rejected credential, the configuration)")
	default:
		line("pause on failure", "no")
	}
	line("paused", "%v", out.Paused)
	if out.Note != "" {
		line("note", "%s", out.Note)
	}
	if out.Options != nil {
		if opts := syncOptionsText(*out.Options); len(opts) > 0 {
			line("sync options", "%s", strings.Join(opts, ", "))
		}
	}
	if out.TaskQueue != "" {
		line("task queue", "%s", out.TaskQueue)
	}
	switch {
	case out.Workers == nil:
	case *out.Workers == 0:
		line("workers", "none polls %s: runs wait until a worker holding %s starts", out.TaskQueue, s.c.integration)
	default:
		line("workers", "%d poll %s", *out.Workers, out.TaskQueue)
	}
	line("syncs started", "%d (skipped for overlap: %d, missed the catch-up window: %d)", out.Actions, out.Skipped, out.MissedCatchup)
	for _, r := range out.Running {
		line("running", "%s", r)
	}
	for _, r := range out.Recent {
		ran := ""
		if r.RanAs != "" {
			ran = ", synced as " + r.RanAs
		}
		line("recent", "%s %-13s %s%s", r.ScheduledAt.In(zone).Format(time.RFC3339), r.Outcome, r.WorkflowID, ran)
	}
	for _, t := range out.Next {
		line("next", "%s", t.In(zone).Format(time.RFC3339))
	}
	return exitOK
}

// syncOptionsText names the sync options of a schedule's runs that differ from a sync's
// defaults.
func syncOptionsText(in workflows.SyncInput) []string {
	var opts []string
	add := func(on bool, format string, args ...any) {
		if on {
			opts = append(opts, fmt.Sprintf(format, args...))
		}
	}
	add(in.DryRun, "dry run")
	add(in.SweepMargin > 0, "sweep margin %s", in.SweepMargin)
	add(in.MaxRejected > 0, "max rejected %d", in.MaxRejected)
	add(in.PhaseDeadline > 0, "phase deadline %s", in.PhaseDeadline)
	add(in.MaxShrinkPercent > 0, "max shrink %d%%", in.MaxShrinkPercent)
	add(in.AllowShrink, "allow shrink")
	add(in.AllowEmpty, "allow empty")
	add(in.AllowOrgChange, "allow org change")
	add(in.HeartbeatTimeout > 0, "heartbeat timeout %s", in.HeartbeatTimeout)
	add(in.StageAttempts > 0, "stage attempts %d", in.StageAttempts)
	add(in.RetryInterval > 0, "retry interval %s", in.RetryInterval)
	return opts
}

func scheduleList(ctx context.Context, sc client.ScheduleClient, c *common, stdout, stderr io.Writer) int {
	it, err := sc.List(ctx, client.ScheduleListOptions{PageSize: 100})
	if err != nil {
		return fail(stderr, "schedule list", err)
	}
	type entry struct {
		ID     string      `json:"id"`
		Paused bool        `json:"paused"`
		Note   string      `json:"note,omitempty"`
		Next   []time.Time `json:"next,omitempty"`
	}
	var out []entry
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return fail(stderr, "schedule list", err)
		}
		if e.WorkflowType.Name != temporalnames.SyncWorkflow {
			continue
		}
		out = append(out, entry{ID: e.ID, Paused: e.Paused, Note: e.Note, Next: e.NextActionTimes})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if c.output == "json" {
		if out == nil {
			out = []entry{}
		}
		return writeJSON(stdout, stderr, out)
	}
	if len(out) == 0 {
		fmt.Fprintln(stdout, "no sync schedules")
	}
	for _, e := range out {
		state := "active"
		if e.Paused {
			state = "paused"
		}
		next := ""
		if len(e.Next) > 0 {
			next = ", next " + e.Next[0].Local().Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "%s (%s%s)\n", e.ID, state, next)
	}
	return exitOK
}
