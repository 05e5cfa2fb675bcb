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
)

type scheduleJSON struct {
	ID             string      `json:"id"`
	Every          []string    `json:"every,omitempty"`
	Cron           []string    `json:"cron,omitempty"`
	Calendar       []string    `json:"calendar,omitempty"`
	Jitter         string      `json:"jitter,omitempty"`
	Overlap        string      `json:"overlap"`
	PauseOnFailure bool        `json:"pauseOnFailure"`
	Paused         bool        `json:"paused"`
	Note           string      `json:"note,omitempty"`
	TaskQueue      string      `json:"taskQueue,omitempty"`
	Actions        int         `json:"actions"`
	Skipped        int         `json:"skippedOverlap"`
	Running        []string    `json:"running,omitempty"`
	Recent         []string    `json:"recent,omitempty"`
	Next           []time.Time `json:"next,omitempty"`
}

func printSchedule(stdout, stderr io.Writer, c *common, id string, d *client.ScheduleDescription) int {
	out := scheduleJSON{ID: id, Actions: d.Info.NumActions, Skipped: d.Info.NumActionsSkippedOverlap, Next: d.Info.NextActionTimes}
	if sp := d.Schedule.Spec; sp != nil {
		for _, iv := range sp.Intervals {
			out.Every = append(out.Every, iv.Every.String())
		}
		out.Cron = sp.CronExpressions
		// The server turns cron expressions into calendar specs; show those in cron's order.
		for _, cal := range sp.Calendars {
			out.Calendar = append(out.Calendar, calendarString(cal))
		}
		if sp.Jitter > 0 {
			out.Jitter = sp.Jitter.String()
		}
	}
	if p := d.Schedule.Policy; p != nil {
		out.Overlap, out.PauseOnFailure = overlapName(p.Overlap), p.PauseOnFailure
	}
	if st := d.Schedule.State; st != nil {
		out.Paused, out.Note = st.Paused, st.Note
	}
	if a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction); ok {
		out.TaskQueue = a.TaskQueue
	}
	for _, r := range d.Info.RunningWorkflows {
		out.Running = append(out.Running, r.WorkflowID)
	}
	for _, r := range d.Info.RecentActions {
		if r.StartWorkflowResult != nil {
			out.Recent = append(out.Recent, r.StartWorkflowResult.WorkflowID)
		}
	}
	if c.output == "json" {
		return writeJSON(stdout, stderr, out)
	}
	fmt.Fprintf(stdout, "schedule %s\n", id)
	switch {
	case len(out.Every) > 0:
		fmt.Fprintf(stdout, "  every:            %s\n", strings.Join(out.Every, ", "))
	case len(out.Cron) > 0:
		fmt.Fprintf(stdout, "  cron:             %s\n", strings.Join(out.Cron, ", "))
	case len(out.Calendar) > 0:
		fmt.Fprintf(stdout, "  calendar:         %s\n", strings.Join(out.Calendar, "; "))
	}
	if out.Jitter != "" {
		fmt.Fprintf(stdout, "  jitter:           %s\n", out.Jitter)
	}
	fmt.Fprintf(stdout, "  overlap:          %s\n  pause on failure: %v\n  paused:           %v\n", out.Overlap, out.PauseOnFailure, out.Paused)
	if out.Note != "" {
		fmt.Fprintf(stdout, "  note:             %s\n", out.Note)
	}
	if out.TaskQueue != "" {
		fmt.Fprintf(stdout, "  task queue:       %s\n", out.TaskQueue)
	}
	fmt.Fprintf(stdout, "  syncs started:    %d (skipped for overlap: %d)\n", out.Actions, out.Skipped)
	for _, r := range out.Running {
		fmt.Fprintf(stdout, "  running:          %s\n", r)
	}
	for _, r := range out.Recent {
		fmt.Fprintf(stdout, "  recent:           %s\n", r)
	}
	for _, t := range out.Next {
		fmt.Fprintf(stdout, "  next:             %s\n", t.Local().Format(time.RFC3339))
	}
	return exitOK
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
