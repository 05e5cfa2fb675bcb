package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"jcsync/internal/temporalnames"
	"jcsync/workflows"
)

const scheduleExamples = `  starter schedule create --integration acme --every 6h --jitter 5m
  starter schedule create --integration acme --cron "0 */6 * * *" --pause-on-failure
  starter schedule update --integration acme --every 12h
  starter schedule describe --integration acme
  starter schedule list
  starter schedule pause --integration acme --note "JumpCloud maintenance"
  starter schedule unpause --integration acme
  starter schedule trigger --integration acme          # one sync now, by the schedule's rules
  starter schedule delete --integration acme
`

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

type scheduleFlags struct {
	every          time.Duration
	cron           string
	jitter         time.Duration
	pauseOnFailure bool
	overlap        string
	note           string
	dryRun         bool
	sweepMargin    time.Duration
}

// scheduleAction is one action of `starter schedule`.
type scheduleAction struct {
	name, summary string
	// integration, timing and note say which flags the action takes besides the common ones.
	integration, timing, note bool
	// do performs the action and prints its outcome; an error is printed by cmdSchedule.
	do func(ctx context.Context, s *scheduleRun) (int, error)
}

// scheduleRun is what an action works with.
type scheduleRun struct {
	c              *common
	f              scheduleFlags
	changed        func(flag string) bool
	sc             client.ScheduleClient
	h              client.ScheduleHandle
	id             string
	stdout, stderr io.Writer
}

// done prints a one-line outcome.
func (s *scheduleRun) done(format string, args ...any) (int, error) {
	fmt.Fprintf(s.stdout, format+"\n", args...)
	return exitOK, nil
}

var scheduleActions = []scheduleAction{
	{name: "create", integration: true, timing: true, note: true,
		summary: "Creates the schedule that syncs an integration every --every (or by --cron). Default: every 6h,\noverlap skip (a sync still running makes the next one skip).",
		do: func(ctx context.Context, s *scheduleRun) (int, error) {
			if err := scheduleCreate(ctx, s.sc, s.c, s.f, s.id); err != nil {
				return 0, err
			}
			return s.done("created schedule %s", s.id)
		}},
	{name: "update", integration: true, timing: true, note: true,
		summary: "Changes the flags given (others stay as they are).",
		do: func(ctx context.Context, s *scheduleRun) (int, error) {
			err := s.h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				sched := in.Description.Schedule
				applyScheduleFlags(&sched, s.changed, s.f)
				return &client.ScheduleUpdate{Schedule: &sched}, nil
			}})
			if err != nil {
				return 0, err
			}
			return s.done("updated schedule %s", s.id)
		}},
	{name: "describe", integration: true,
		summary: "Shows the schedule's spec, state, recent and next runs.",
		do: func(ctx context.Context, s *scheduleRun) (int, error) {
			d, err := s.h.Describe(ctx)
			if err != nil {
				return 0, err
			}
			return printSchedule(s.stdout, s.stderr, s.c, s.id, d), nil
		}},
	{name: "list",
		summary: "Lists every sync schedule.",
		do: func(ctx context.Context, s *scheduleRun) (int, error) {
			return scheduleList(ctx, s.sc, s.c, s.stdout, s.stderr), nil
		}},
	{name: "pause", integration: true, note: true,
		summary: "Pauses the schedule (running syncs go on).",
		do: func(ctx context.Context, s *scheduleRun) (int, error) {
			if err := s.h.Pause(ctx, client.SchedulePauseOptions{Note: noteOr(s.f.note, "paused with starter")}); err != nil {
				return 0, err
			}
			return s.done("paused schedule %s", s.id)
		}},
	{name: "unpause", integration: true, note: true,
		summary: "Resumes the schedule.",
		do: func(ctx context.Context, s *scheduleRun) (int, error) {
			if err := s.h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: noteOr(s.f.note, "unpaused with starter")}); err != nil {
				return 0, err
			}
			return s.done("unpaused schedule %s", s.id)
		}},
	{name: "trigger", integration: true,
		summary: "Starts one sync now, as the schedule would (its overlap policy applies).",
		do: func(ctx context.Context, s *scheduleRun) (int, error) {
			if err := s.h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
				return 0, err
			}
			return s.done("triggered schedule %s: watch it with `starter status --integration %s`", s.id, s.c.integration)
		}},
	{name: "delete", integration: true,
		summary: "Deletes the schedule (running syncs go on).",
		do: func(ctx context.Context, s *scheduleRun) (int, error) {
			if err := s.h.Delete(ctx); err != nil {
				return 0, err
			}
			return s.done("deleted schedule %s", s.id)
		}},
}

// scheduleActionNames is "create|update|...", for messages.
func scheduleActionNames() string {
	names := make([]string, len(scheduleActions))
	for i, a := range scheduleActions {
		names[i] = a.name
	}
	return strings.Join(names, "|")
}

func cmdSchedule(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	sub := scheduleActionNames()
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintf(stdout, "Usage: starter schedule %s [flags]\n\nManages the schedule that syncs an integration periodically (id jcsync-<name>).\n\nExamples:\n%s\nRun 'starter schedule <action> --help' for the flags.\n", sub, scheduleExamples)
			return exitOK
		}
		fmt.Fprintf(stderr, "starter schedule: want an action: %s\n", sub)
		return exitUsage
	}
	var action *scheduleAction
	for i := range scheduleActions {
		if scheduleActions[i].name == args[0] {
			action = &scheduleActions[i]
		}
	}
	if action == nil {
		fmt.Fprintf(stderr, "starter schedule: unknown action %q: want %s\n", args[0], sub)
		return exitUsage
	}
	s := &scheduleRun{c: &common{}, stdout: stdout, stderr: stderr}
	fs := newFlags("schedule "+action.name, action.summary, scheduleExamples, s.c, stderr)
	addScheduleFlags(fs, action, s)
	if code, done := parse(fs, args[1:], s.c, stderr); done {
		return code
	}
	if code, ok := checkScheduleFlags(s.f, stderr); !ok {
		return code
	}
	tc, err := dial(ctx, s.c, stderr)
	if err != nil {
		return fail(stderr, "schedule", err)
	}
	defer tc.Close()
	s.changed, s.sc, s.id = fs.Changed, tc.ScheduleClient(), temporalnames.ScheduleID(s.c.integration)
	s.h = s.sc.GetHandle(ctx, s.id)
	code, err := action.do(ctx, s)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			err = fmt.Errorf("no schedule %s (create it with `starter schedule create --integration %s`)", s.id, s.c.integration)
		}
		var exists *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.Is(err, temporal.ErrScheduleAlreadyRunning) || errors.As(err, &exists) {
			err = fmt.Errorf("schedule %s already exists: change it with `starter schedule update --integration %s`", s.id, s.c.integration)
		}
		return fail(stderr, "schedule "+action.name, err)
	}
	return code
}

// addScheduleFlags adds the flags action takes.
func addScheduleFlags(fs *pflag.FlagSet, action *scheduleAction, s *scheduleRun) {
	f := &s.f
	if action.integration {
		addIntegration(fs, s.c)
	}
	if action.timing {
		fs.DurationVar(&f.every, "every", 0, "interval between syncs, e.g. 6h (default 6h when --cron is not given)")
		fs.StringVar(&f.cron, "cron", "", `cron expression instead of --every, e.g. "0 */6 * * *"`)
		fs.DurationVar(&f.jitter, "jitter", 0, "random delay up to this much, so many integrations do not start at once")
		fs.BoolVar(&f.pauseOnFailure, "pause-on-failure", false, "pause the schedule when a sync fails")
		fs.StringVar(&f.overlap, "overlap", "skip", "what to do when the previous sync still runs: "+overlapNames())
		fs.BoolVar(&f.dryRun, "dry-run", false, "scheduled syncs are dry runs")
		fs.DurationVar(&f.sweepMargin, "sweep-margin", 0, "how far before its first Authomize write each sync's sweep cutoff lies (default 2m)")
	}
	if action.note {
		fs.StringVar(&f.note, "note", "", "note kept with the schedule (why it was paused, ...)")
	}
	addOutput(fs, s.c)
}

// checkScheduleFlags reports flags that contradict each other; ok is false when the command
// should end with code.
func checkScheduleFlags(f scheduleFlags, stderr io.Writer) (code int, ok bool) {
	if f.every != 0 && f.cron != "" {
		fmt.Fprintln(stderr, "starter schedule: give --every or --cron, not both")
		return exitUsage, false
	}
	if _, known := overlapPolicies[f.overlap]; f.overlap != "" && !known {
		fmt.Fprintf(stderr, "starter schedule: --overlap %q: want one of %s\n", f.overlap, overlapNames())
		return exitUsage, false
	}
	if f.every < 0 || f.jitter < 0 {
		fmt.Fprintln(stderr, "starter schedule: --every and --jitter must not be negative")
		return exitUsage, false
	}
	return 0, true
}

func noteOr(note, def string) string {
	if note != "" {
		return note
	}
	return def
}

func scheduleCreate(ctx context.Context, sc client.ScheduleClient, c *common, f scheduleFlags, id string) error {
	s := client.Schedule{
		Action: &client.ScheduleWorkflowAction{
			// The schedule appends the start time to this id, so scheduled runs never
			// collide with the id of a manual sync.
			ID:                    temporalnames.SyncID(c.integration),
			Workflow:              temporalnames.SyncWorkflow,
			Args:                  []any{workflows.SyncInput{Integration: c.integration, DryRun: f.dryRun, SweepMargin: f.sweepMargin}},
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
			in := workflows.SyncInput{Integration: temporalnames.IntegrationOf(a.ID), DryRun: f.dryRun, SweepMargin: f.sweepMargin}
			a.Args = []any{in}
		}
	}
}

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
