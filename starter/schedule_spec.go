package main

import (
	"context"
	"encoding/json"
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
	"jcsync/routing"
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

// Catch-up windows. Temporal takes a run the server missed (it was down, or overloaded) when
// it comes back, as long as the run is no more than the catch-up window late. Its default is
// a year, which the connector never wants: a schedule back from an outage would start runs
// long overdue, one after another under buffer-all.
const (
	// cronCatchupWindow is the default window of a --cron schedule. A cron names times of
	// day on purpose (a night, off hours): a run more than an hour late waits for its next
	// time instead of landing in the middle of the day. An hour covers a server restart or
	// upgrade, which takes minutes.
	cronCatchupWindow = time.Hour
	// minCatchupWindow is the least Temporal accepts.
	minCatchupWindow = 10 * time.Second
	// minDefaultCatchupWindow keeps the default of a very short --every above Temporal's
	// least with room to spare.
	minDefaultCatchupWindow = time.Minute
	// temporalCatchupWindow is what Temporal gives a schedule created without a window.
	temporalCatchupWindow = 365 * 24 * time.Hour
)

// defaultCatchupWindow is the catch-up window of a spec when none is given. For --every it is
// the interval: a schedule back from an outage of any length then finds exactly one missed
// time inside the window (the last one), so it starts one sync at once, never a backlog. For
// --cron it is cronCatchupWindow.
func defaultCatchupWindow(spec *client.ScheduleSpec) time.Duration {
	if spec == nil || len(spec.Intervals) == 0 {
		return cronCatchupWindow
	}
	w := spec.Intervals[0].Every
	for _, iv := range spec.Intervals[1:] {
		w = min(w, iv.Every)
	}
	return max(w, minDefaultCatchupWindow)
}

// typedCronMark starts the comment that keeps a cron expression as the operator typed it.
// Temporal turns a cron expression into a calendar spec, which reads back as
// "0 0 0-23/6 1-31 1-12 0-6"; the text after a '#' in the expression becomes the calendar's
// comment, so the typed expression travels with the calendar it made. A memo beside the spec
// would go stale when the spec is edited elsewhere (the Web UI, the temporal CLI), and the
// SDK's schedule update cannot rewrite a schedule's memo at all.
const typedCronMark = "as typed: "

// cronExpression is what the schedule is given for a cron expression typed as typed.
func cronExpression(typed string) string {
	typed = strings.TrimSpace(typed)
	expr := typed
	if i := strings.IndexByte(typed, '#'); i >= 0 {
		expr = strings.TrimSpace(typed[:i])
	}
	return expr + " # " + typedCronMark + typed
}

// typedCron is the cron expression a calendar was made from, as typed, when the starter made it.
func typedCron(c client.ScheduleCalendarSpec) (string, bool) {
	return strings.CutPrefix(c.Comment, typedCronMark)
}

// scheduleTarget is what the flags of a schedule action apply to besides the schedule.
type scheduleTarget struct {
	integration string
	// baseQueue is --task-queue, the workers' base task queue; baseGiven says it was given
	// on the command line (create always counts as given).
	baseQueue string
	baseGiven bool
	// dc decodes the input of an existing schedule (nil: the default converter).
	dc converter.DataConverter
}

// appliedSchedule is what applyScheduleFlags made of a schedule.
type appliedSchedule struct {
	// input is the sync options the schedule's runs get.
	input workflows.SyncInput
	// queue is the task queue its syncs start on; baseQueue the workers' base queue.
	queue, baseQueue string
	// notes are changes made besides the flags given: settings of older schedules brought up
	// to date. The operator is told of each.
	notes []string
}

// scheduleCreate creates the schedule the flags describe, once checkWorkers finds a worker
// holding the integration (or is told to go on without one).
func scheduleCreate(ctx context.Context, s *scheduleRun) (*appliedSchedule, error) {
	sched := client.Schedule{
		Action: &client.ScheduleWorkflowAction{
			// The schedule appends the start time to this id, so scheduled runs never
			// collide with the id of a manual sync.
			ID:                    temporalnames.SyncID(s.c.integration),
			Workflow:              temporalnames.SyncWorkflow,
			TypedSearchAttributes: temporalnames.IntegrationAttributes(s.c.integration),
		},
		Spec:   &client.ScheduleSpec{},
		Policy: &client.SchedulePolicies{},
		State:  &client.ScheduleState{},
	}
	all := func(string) bool { return true }
	f := s.f
	if f.every == 0 && f.cron == "" {
		f.every = defaultEvery
	}
	applied, err := applyScheduleFlags(&sched, all, f, scheduleTarget{integration: s.c.integration, baseQueue: s.c.temporal.TaskQueue, baseGiven: true, dc: s.c.dataConverter})
	if err != nil {
		return nil, err
	}
	if err := checkWorkers(ctx, s.tc, applied.baseQueue, applied.queue, s.c.integration, s.f.allowNoWorker, s.stderr); err != nil {
		return nil, err
	}
	if sched.State.Note == "" {
		// The schedule's page in the Web UI shows its note: say what it syncs.
		sched.State.Note = scheduleNote(applied.input)
	}
	_, err = s.sc.Create(ctx, client.ScheduleOptions{
		ID:            s.id,
		Spec:          *sched.Spec,
		Action:        sched.Action,
		Overlap:       sched.Policy.Overlap,
		CatchupWindow: sched.Policy.CatchupWindow,
		Note:          sched.State.Note,
	})
	if err != nil {
		return nil, fmt.Errorf("create schedule %s: %w", s.id, err)
	}
	// The change watcher follows the schedule: it starts with it (a worker holding the
	// integration would start it too, at its next start).
	if _, err := routing.StartWatcher(ctx, s.tc, applied.baseQueue, s.c.integration); err != nil {
		fmt.Fprintf(s.stderr, "warning: %v; a worker holding %s starts it when it starts\n", err, s.c.integration)
	}
	return applied, nil
}

// defaultEvery is the interval of a schedule created without --every or --cron.
const defaultEvery = 6 * time.Hour

// applyScheduleFlags changes what the operator asked for and nothing else; changed tells
// which flags were given. The exceptions, each reported in the result's notes, bring a
// schedule made by an older starter up to date: its syncs move to the integration's task
// queue, Temporal's pause-on-failure policy becomes the sync's own, and Temporal's year-long
// catch-up window becomes the default.
func applyScheduleFlags(s *client.Schedule, changed func(string) bool, f scheduleFlags, t scheduleTarget) (*appliedSchedule, error) {
	if s.Spec == nil {
		s.Spec = &client.ScheduleSpec{}
	}
	if s.Policy == nil {
		s.Policy = &client.SchedulePolicies{}
	}
	if s.State == nil {
		s.State = &client.ScheduleState{}
	}
	a, ok := s.Action.(*client.ScheduleWorkflowAction)
	if !ok {
		return nil, fmt.Errorf("the schedule's action is not a workflow: recreate it with `starter schedule delete` and `starter schedule create`")
	}
	out := &appliedSchedule{}
	if err := applyTiming(s, changed, f, out); err != nil {
		return nil, err
	}
	if changed("overlap") {
		s.Policy.Overlap = overlapPolicies[f.overlap]
	}
	if changed("note") {
		s.State.Note = f.note
	}

	opts, err := readSyncOptions(a, t.integration, t.dc)
	if err != nil {
		return nil, err
	}
	for _, o := range syncOptionFlags {
		if changed(o.flag) {
			if err := opts.set(o.key, func(in *workflows.SyncInput) { o.apply(in, f) }); err != nil {
				return nil, err
			}
		}
	}
	// Temporal's pause-on-failure pauses on any failure, a short JumpCloud outage during the
	// credential check included. The sync pauses its own schedule instead, only for failures
	// that last (SyncInput.PauseOnFailure); a schedule that had the policy keeps the intent.
	if s.Policy.PauseOnFailure {
		s.Policy.PauseOnFailure = false
		if !changed("pause-on-failure") {
			if err := opts.set(pauseOnFailureKey, func(in *workflows.SyncInput) { in.PauseOnFailure = true }); err != nil {
				return nil, err
			}
			out.notes = append(out.notes, "pause on failure: was Temporal's policy, which pauses on any failure; now the sync pauses the schedule only for failures that last (a rejected credential, the configuration)")
		}
	}
	if opts.in.Integration != t.integration {
		if err := opts.set("integration", func(in *workflows.SyncInput) { in.Integration = t.integration }); err != nil {
			return nil, err
		}
	}
	a.Args = []any{opts.raw}
	// The static summary and details the Web UI shows on each run the schedule starts. Like
	// the starter, a schedule does not know the org and app of the worker's configuration:
	// the run it starts checks the credentials and hands the sync it starts a summary that
	// names them.
	a.StaticSummary = "scheduled · " + workflows.Summary(opts.in, nil)
	a.StaticDetails = workflows.Details(opts.in, nil)
	out.input = opts.in

	out.queue, out.baseQueue = actionQueue(a.TaskQueue, t)
	if a.TaskQueue != "" && a.TaskQueue != out.queue {
		out.notes = append(out.notes, fmt.Sprintf("task queue: syncs start on %s (was %s), which only the workers holding %s poll", out.queue, a.TaskQueue, t.integration))
	}
	a.TaskQueue = out.queue
	return out, nil
}

// applyTiming changes the spec (every or cron, time zone, jitter) and the catch-up window.
func applyTiming(s *client.Schedule, changed func(string) bool, f scheduleFlags, out *appliedSchedule) error {
	oldDefault := defaultCatchupWindow(s.Spec)
	timing := changed("every") || changed("cron") || f.every != 0 || f.cron != ""
	if timing {
		// One way of timing at a time: the new one replaces the old.
		s.Spec.Intervals, s.Spec.CronExpressions, s.Spec.Calendars = nil, nil, nil
		if f.cron != "" {
			s.Spec.CronExpressions = []string{cronExpression(f.cron)}
		} else if f.every > 0 {
			s.Spec.Intervals = []client.ScheduleIntervalSpec{{Every: f.every}}
		}
	}
	if changed("time-zone") {
		s.Spec.TimeZoneName = f.timeZone
	}
	if len(s.Spec.Intervals) > 0 && s.Spec.TimeZoneName != "" {
		// An interval counts from the Unix epoch: a time zone would change nothing, and
		// showing one would suggest it does.
		if changed("time-zone") && f.timeZone != "" {
			return fmt.Errorf("--time-zone %s applies to --cron schedules; this one runs --every %s, which counts from the Unix epoch and has no time zone", f.timeZone, s.Spec.Intervals[0].Every)
		}
		out.notes = append(out.notes, fmt.Sprintf("time zone: %s dropped, as a schedule that runs --every has none", s.Spec.TimeZoneName))
		s.Spec.TimeZoneName = ""
	}
	if changed("jitter") {
		s.Spec.Jitter = f.jitter
	}

	w := s.Policy.CatchupWindow
	switch {
	case changed("catchup-window") && f.catchupWindow > 0:
		w = f.catchupWindow
	case changed("catchup-window"):
		w = defaultCatchupWindow(s.Spec)
	case w == 0 || w == temporalCatchupWindow:
		w = defaultCatchupWindow(s.Spec)
		out.notes = append(out.notes, fmt.Sprintf("catch-up window: was Temporal's default of a year, now %s", w))
	case timing && w == oldDefault:
		// A window left at its default follows the timing it was derived from.
		w = defaultCatchupWindow(s.Spec)
	}
	s.Policy.CatchupWindow = w
	return nil
}

// actionQueue is the task queue a schedule's syncs start on: the integration's own queue
// (temporalnames.IntegrationQueue) under the base queue given, or else under the base queue
// the schedule already uses, so an update given no --task-queue keeps it.
func actionQueue(current string, t scheduleTarget) (queue, base string) {
	switch {
	case t.baseGiven || current == "":
		base = t.baseQueue
	case strings.HasSuffix(current, "/"+t.integration):
		base = strings.TrimSuffix(current, "/"+t.integration)
	default:
		// A schedule made before syncs had a queue per integration: its queue is the base.
		base = current
	}
	return temporalnames.IntegrationQueue(base, t.integration), base
}

// syncOptionFlags are the flags that set the sync options of the schedule's runs: the flag,
// the option's JSON name in workflows.SyncInput, and how the flag sets it.
var syncOptionFlags = []struct {
	flag, key string
	apply     func(*workflows.SyncInput, scheduleFlags)
}{
	{"dry-run", "dryRun", func(in *workflows.SyncInput, f scheduleFlags) { in.DryRun = f.dryRun }},
	{"sweep-margin", "sweepMargin", func(in *workflows.SyncInput, f scheduleFlags) { in.SweepMargin = f.sweepMargin }},
	{"max-rejected", "maxRejected", func(in *workflows.SyncInput, f scheduleFlags) { in.MaxRejected = f.maxRejected }},
	{"phase-deadline", "phaseDeadline", func(in *workflows.SyncInput, f scheduleFlags) { in.PhaseDeadline = f.phaseDeadline }},
	{"pause-on-failure", pauseOnFailureKey, func(in *workflows.SyncInput, f scheduleFlags) { in.PauseOnFailure = f.pauseOnFailure }},
}

const pauseOnFailureKey = "pauseOnFailure"

// syncOptions are the sync options a schedule's action gives its runs, kept as the JSON
// object the schedule holds: an update changes the options it is given and carries every
// other field over as it was, those this starter does not know (set by a newer version)
// included. in is the typed reading of raw.
type syncOptions struct {
	raw map[string]json.RawMessage
	in  workflows.SyncInput
}

// readSyncOptions reads the options of a's runs: as an existing schedule holds them (an
// encoded payload, decoded with dc), or fresh for integration.
func readSyncOptions(a *client.ScheduleWorkflowAction, integration string, dc converter.DataConverter) (*syncOptions, error) {
	o := &syncOptions{raw: map[string]json.RawMessage{}, in: workflows.SyncInput{Integration: integration}}
	if len(a.Args) == 0 {
		return o, o.set("integration", func(*workflows.SyncInput) {})
	}
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	p, ok := a.Args[0].(*commonpb.Payload)
	if !ok {
		// Options set in this process (not read from Temporal): read them as Temporal would.
		var err error
		if p, err = converter.GetDefaultDataConverter().ToPayload(a.Args[0]); err != nil {
			return nil, fmt.Errorf("encode the schedule's sync options: %w", err)
		}
	}
	if err := dc.FromPayload(p, &o.raw); err != nil {
		return nil, fmt.Errorf("read the schedule's sync options (to keep those not given): %w", err)
	}
	if err := dc.FromPayload(p, &o.in); err != nil {
		return nil, fmt.Errorf("read the schedule's sync options (to keep those not given): %w", err)
	}
	if o.raw == nil {
		o.raw = map[string]json.RawMessage{}
	}
	return o, nil
}

// set changes the option named key (its JSON name) as apply changes the typed input.
func (o *syncOptions) set(key string, apply func(*workflows.SyncInput)) error {
	apply(&o.in)
	b, err := json.Marshal(o.in)
	if err != nil {
		return fmt.Errorf("encode the sync options: %w", err)
	}
	var fresh map[string]json.RawMessage
	if err := json.Unmarshal(b, &fresh); err != nil {
		return fmt.Errorf("encode the sync options: %w", err)
	}
	if v, ok := fresh[key]; ok {
		o.raw[key] = v
	} else {
		// The option is at its zero value, which the input leaves out.
		delete(o.raw, key)
	}
	return nil
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
