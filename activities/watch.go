package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"jcsync/internal/config"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/temporalnames"
)

// Activity names of the change watcher (workflows.WatchWorkflow).
const (
	// ActivityWatchPoll reads the Directory Insights events since the watcher's cursor and
	// applies the targeted updates they call for.
	ActivityWatchPoll = "WatchPoll"
	// ActivityStartTriggeredSync starts a full sync of the integration for changes that
	// only a sweep can remove.
	ActivityStartTriggeredSync = "StartTriggeredSync"
)

// WatchOverlap is how far back each poll reads before the time the previous poll read up
// to. Directory Insights ingests events seconds to minutes after their timestamp; an event
// that arrives within the overlap is still found (and applied once: ids already applied are
// remembered), one ingested later than this is left to the next full sync. A watcher that
// was down longer than the overlap cannot know what it missed: it starts a full sync.
const WatchOverlap = 10 * time.Minute

// WatchStates of a poll (WatchPollResult.State).
const (
	WatchWatching = "watching" // events read and applied
	WatchDeferred = "deferred" // a full sync of the integration runs: nothing written, cursor kept
	WatchPaused   = "paused"   // the schedule is paused: nothing read
	WatchStopped  = "stopped"  // the schedule is gone or watching is off: the watcher ends
	WatchDegraded = "degraded" // the credential may not read Directory Insights: schedule-only
)

// Kinds of changes the watcher applies or hands to a full sync (AppliedChange.Kind).
const (
	ChangeUserUpsert    = "user"            // created or changed: re-read and uploaded
	ChangeUserDeleted   = "user-deleted"    // gone from JumpCloud: its account PATCHed to Deleted
	ChangeGroup         = "group"           // created or changed: re-read and uploaded
	ChangeMembersAdded  = "members-added"   // the group's members re-read and uploaded
	ChangeApp           = "app"             // created or changed: re-read and uploaded
	ChangeBindingsAdded = "bindings-added"  // the app's bindings re-read and uploaded
	ChangeRemoval       = "removal"         // only a full sync's sweep removes it
	ChangeAdmin         = "admin"           // administrators are read whole by a full sync
	ChangeUnknown       = "unknown-changed" // a directory event of a type not known: a full sync reads it
)

// SeenEvent is an event the watcher applied, kept while it lies within the overlap so that
// the next poll, which reads it again, does not apply it twice.
type SeenEvent struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
}

// WatchPollInput is the watcher's state that one poll reads and moves on.
type WatchPollInput struct {
	Integration string `json:"integration"`
	// ReadUntil is the time the last poll read events up to (the worker's clock); zero
	// before the first poll, which starts reading at the time it runs.
	ReadUntil time.Time   `json:"readUntil"`
	Seen      []SeenEvent `json:"seen,omitempty"`
	// AliveAt is when the last poll that watched (read the events, or deferred to a running
	// sync) began; zero before the first. A watcher that did not watch for longer than the
	// overlap (no worker, a paused schedule) has a gap.
	AliveAt time.Time `json:"aliveAt,omitzero"`
}

// AppliedChange is one change the poll applied (or, for a removal, handed to a full sync).
type AppliedChange struct {
	Kind    string    `json:"kind"`
	ID      string    `json:"id"`      // the JumpCloud id of the user, group or app
	EventAt time.Time `json:"eventAt"` // the event's timestamp: when the change happened
	DoneAt  time.Time `json:"doneAt"`  // when Authomize accepted the update
	DryRun  bool      `json:"dryRun,omitempty"`
}

// WatchPollResult is what one poll did, and the settings the watcher runs by.
type WatchPollResult struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	// PolledAt is when the poll began (the worker's clock).
	PolledAt time.Time `json:"polledAt"`
	// ReadUntil and Seen are the state for the next poll.
	ReadUntil time.Time   `json:"readUntil"`
	Seen      []SeenEvent `json:"seen,omitempty"`
	// NewestEvent is the timestamp of the newest directory change read so far.
	NewestEvent time.Time       `json:"newestEvent,omitzero"`
	Events      int             `json:"events"` // directory changes read for the first time
	Noise       int             `json:"noise"`  // other events (logins, other services) left aside
	Applied     []AppliedChange `json:"applied,omitempty"`
	// FullSync asks for a full sync of the integration: a change only a sweep removes (at
	// FullSyncAfter, the newest such change: a sync that started later covers it) or a gap.
	FullSync       bool      `json:"fullSync,omitempty"`
	FullSyncReason string    `json:"fullSyncReason,omitempty"`
	FullSyncAfter  time.Time `json:"fullSyncAfter,omitzero"`
	// LastSync is the integration's newest full sync (jcsync-<integration>), if any.
	LastSync *SyncRun `json:"lastSync,omitempty"`
	// Requests is the JumpCloud requests this poll made.
	Requests int  `json:"requests"`
	DryRun   bool `json:"dryRun,omitempty"`
	// The watcher's settings (config.Watch), read on every poll.
	PollInterval time.Duration `json:"pollInterval"`
	SyncInterval time.Duration `json:"syncInterval"`
	// Schedule is the schedule's sync input, as the schedule holds it: a triggered sync runs
	// with it (dry run and all).
	Schedule json.RawMessage `json:"schedule,omitempty"`
}

// SyncRun is the newest run under an integration's SyncID.
type SyncRun struct {
	RunID     string    `json:"runId"`
	Running   bool      `json:"running"`
	Completed bool      `json:"completed"` // closed without failure
	StartedAt time.Time `json:"startedAt"`
}

// WatchObserver is an Observer that also hears of each poll of a change watcher (metrics:
// events seen, changes applied and their latency, degradation).
type WatchObserver interface {
	WatchPolled(integration string, r WatchPollResult)
}

// WatchPoll is one poll of the change watcher:
//  1. It follows the schedule (gone → stopped; paused → paused; its dry run → write nothing)
//     and the worker's settings (watching off → stopped). These cost no JumpCloud request.
//  2. While a full sync of the integration runs, it defers: the sync is the one writer of
//     the integration, and the events wait under the cursor until it ends.
//  3. It reads the events since the cursor less the overlap (one request at rest), applies
//     the targeted updates (re-reading each record from JumpCloud) and reports the changes
//     only a full sync can apply.
//
// A failure of the events route that outlasts the client's retries is reported as a gap,
// not an error: the watcher starts a full sync for it. A 401/403 there degrades the watcher.
func (a *Activities) WatchPoll(ctx context.Context, in WatchPollInput) (WatchPollResult, error) {
	defer stayAlive(ctx)()
	r, err := a.watchPoll(ctx, in)
	if wo, ok := a.Observer.(WatchObserver); ok && err == nil {
		wo.WatchPolled(in.Integration, r)
	}
	return r, err
}

// watchPoll is WatchPoll but for the observer.
func (a *Activities) watchPoll(ctx context.Context, in WatchPollInput) (out WatchPollResult, err error) {
	now := time.Now()
	out = WatchPollResult{ReadUntil: in.ReadUntil, Seen: in.Seen, PolledAt: now}
	integ, err := a.integration(in.Integration)
	if err != nil {
		return out, err
	}
	settings, err := integ.Watch.Settings(integ)
	if err != nil {
		return out, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeConfig, nil)
	}
	out.PollInterval, out.SyncInterval = settings.PollInterval, settings.SyncInterval
	if settings.Off {
		out.State, out.Reason = WatchStopped, "watching is turned off in the worker's configuration"
		return out, nil
	}
	if a.Temporal == nil {
		return out, temporal.NewNonRetryableApplicationError("the change watcher needs the worker's Temporal client (activities.Activities.Temporal)", ErrTypeNoTemporalClient, nil)
	}
	sched, err := a.scheduleOf(ctx, in.Integration)
	if err != nil {
		return out, err
	}
	switch {
	case !sched.exists:
		out.State, out.Reason = WatchStopped, "the integration's schedule "+temporalnames.ScheduleID(in.Integration)+" does not exist"
		return out, nil
	case sched.paused:
		out.State, out.Reason = WatchPaused, "the schedule is paused"
		return out, nil
	}
	out.Schedule, out.DryRun = sched.input, sched.dryRun

	before, err := a.lastSync(ctx, in.Integration)
	if err != nil {
		return out, err
	}
	out.LastSync = before
	if before != nil && before.Running {
		out.State, out.Reason = WatchDeferred, "a full sync of the integration is running"
		return out, nil
	}

	jc, err := a.jumpCloud(integ)
	if err != nil {
		return out, err
	}
	stats0 := jc.Stats()
	defer func() { out.Requests = int(jc.Stats().Requests - stats0.Requests) }()
	from := in.ReadUntil.Add(-WatchOverlap)
	switch {
	case in.ReadUntil.IsZero():
		// The first poll: what happened before the watcher started is the schedule's.
		from = now.Add(-WatchOverlap)
	case !in.AliveAt.IsZero() && now.Sub(in.AliveAt) > WatchOverlap:
		// Not watching for longer than the overlap (no worker ran, the schedule was
		// paused): rather than re-read every record the backlog names, one full sync
		// covers the gap, and reading goes on from the overlap. A watcher that deferred
		// to a long sync was watching: it reads on from its cursor, so what changed
		// during that sync is applied.
		out.FullSync, out.FullSyncReason, out.FullSyncAfter = true, fmt.Sprintf("the watcher did not watch for %s, longer than its overlap of %s", now.Sub(in.AliveAt).Round(time.Second), WatchOverlap), now
		from = now.Add(-WatchOverlap)
	}
	events, err := readEvents(ctx, jc, from, now)
	switch {
	case errors.Is(err, jumpcloud.ErrInsightsForbidden):
		out.State = WatchDegraded
		out.Reason = fmt.Sprintf("the JumpCloud credential may not read Directory Insights (%v): changes reach Authomize with the scheduled syncs only; give the credential access to Directory Insights, then restart a worker that holds the integration: it starts the watcher again", err)
		return out, nil
	case err != nil && ctx.Err() != nil:
		return out, err
	case err != nil:
		a.logger(ctx).WithError(err).Warn("change watcher: the Directory Insights events could not be read; a full sync covers what they held")
		out.State = WatchWatching
		out.FullSync, out.FullSyncReason, out.FullSyncAfter = true, "the Directory Insights events could not be read: "+err.Error(), now
		return out, nil
	}

	plan := planChanges(events, in.Seen, from)
	out.Events, out.Noise, out.NewestEvent = plan.fresh, plan.noise, plan.newest
	if plan.removalAt.After(out.FullSyncAfter) {
		out.FullSync, out.FullSyncAfter = true, plan.removalAt
		if out.FullSyncReason == "" {
			out.FullSyncReason = plan.removalReason
		}
	}
	applied, err := a.applyChanges(ctx, integ, jc, plan, sched.dryRun)
	if err != nil {
		return out, classify(fmt.Errorf("change watcher: apply %d changes: %w", plan.changes(), err))
	}
	// A full sync that started while these writes ran may have read a record before this
	// poll re-read it and written it before this poll did: keep the cursor, so that the
	// same events are applied again, with fresh reads, once that sync ends.
	after, err := a.lastSync(ctx, in.Integration)
	if err != nil {
		return out, err
	}
	if after != nil && (before == nil || after.RunID != before.RunID) {
		out.LastSync = after
		out.State, out.Reason = WatchDeferred, "a full sync started while the changes were applied: they are applied again after it"
		return out, nil
	}
	out.State, out.Applied = WatchWatching, applied
	out.ReadUntil, out.Seen = now, plan.seen
	return out, nil
}

// readEvents reads every page of directory events from from to to.
func readEvents(ctx context.Context, jc *jumpcloud.Client, from, to time.Time) ([]jumpcloud.InsightsEvent, error) {
	var all []jumpcloud.InsightsEvent
	q := jumpcloud.InsightsQuery{StartTime: from, EndTime: to, Services: []string{"directory"}}
	for {
		p, err := jc.InsightsEvents(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("read Directory Insights events since %s: %w", from.UTC().Format(time.RFC3339), err)
		}
		all = append(all, p.Events...)
		if len(p.SearchAfter) == 0 || len(p.Events) == 0 {
			return all, nil
		}
		q.SearchAfter = p.SearchAfter
	}
}

// schedule is what the watcher follows of the integration's schedule.
type schedule struct {
	exists, paused, dryRun bool
	input                  json.RawMessage
}

// scheduleOf describes the integration's schedule.
func (a *Activities) scheduleOf(ctx context.Context, integration string) (schedule, error) {
	d, err := a.Temporal.ScheduleClient().GetHandle(ctx, temporalnames.ScheduleID(integration)).Describe(ctx)
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return schedule{}, nil
	case err != nil:
		return schedule{}, fmt.Errorf("describe schedule %s: %w", temporalnames.ScheduleID(integration), err)
	}
	s := schedule{exists: true, paused: d.Schedule.State != nil && d.Schedule.State.Paused}
	act, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || len(act.Args) == 0 {
		return s, nil
	}
	dc := a.DataConverter
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	p, ok := act.Args[0].(*commonpb.Payload)
	if !ok {
		return s, nil
	}
	if err := dc.FromPayload(p, &s.input); err != nil {
		return s, fmt.Errorf("decode the action of schedule %s: %w", temporalnames.ScheduleID(integration), err)
	}
	var opts struct {
		DryRun bool `json:"dryRun"`
	}
	if err := json.Unmarshal(s.input, &opts); err != nil {
		return s, fmt.Errorf("read the action of schedule %s: %w", temporalnames.ScheduleID(integration), err)
	}
	s.dryRun = opts.DryRun
	return s, nil
}

// lastSync is the newest run under the integration's SyncID, nil when there is none.
func (a *Activities) lastSync(ctx context.Context, integration string) (*SyncRun, error) {
	desc, err := a.Temporal.DescribeWorkflow(ctx, temporalnames.SyncID(integration), "")
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("describe the sync %s: %w", temporalnames.SyncID(integration), err)
	}
	info := desc.RawResponse.GetWorkflowExecutionInfo()
	st := info.GetStatus()
	return &SyncRun{
		RunID:     info.GetExecution().GetRunId(),
		Running:   st == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		Completed: st == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
		StartedAt: info.GetStartTime().AsTime(),
	}, nil
}

// StartTriggeredSyncInput asks for a full sync of the integration, with the schedule's input.
type StartTriggeredSyncInput struct {
	Integration string          `json:"integration"`
	Schedule    json.RawMessage `json:"schedule,omitempty"`
	Reason      string          `json:"reason"`
}

// StartTriggeredSyncResult says whether a sync started, or which one was running.
type StartTriggeredSyncResult struct {
	Started   bool      `json:"started"`
	RunID     string    `json:"runId"`
	StartedAt time.Time `json:"startedAt"`
}

// StartTriggeredSync starts a full sync under the integration's SyncID, on the watcher's own
// task queue (the integration's), with the schedule's input. When a sync already holds the
// id, it starts nothing and says so: one sync of an integration at a time.
func (a *Activities) StartTriggeredSync(ctx context.Context, in StartTriggeredSyncInput) (StartTriggeredSyncResult, error) {
	if a.Temporal == nil {
		return StartTriggeredSyncResult{}, temporal.NewNonRetryableApplicationError("the change watcher needs the worker's Temporal client (activities.Activities.Temporal)", ErrTypeNoTemporalClient, nil)
	}
	input := in.Schedule
	if len(input) == 0 {
		input, _ = json.Marshal(map[string]string{"integration": in.Integration})
	}
	now := time.Now()
	run, err := a.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    temporalnames.SyncID(in.Integration),
		TaskQueue:             activity.GetInfo(ctx).TaskQueue,
		TypedSearchAttributes: temporalnames.IntegrationAttributes(in.Integration),
		StaticSummary:         "Sync " + in.Integration + ", started by the change watcher",
		StaticDetails:         "Started by the change watcher " + temporalnames.WatchID(in.Integration) + ": " + in.Reason,
	}, temporalnames.SyncWorkflow, input)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		return StartTriggeredSyncResult{RunID: started.RunId}, nil
	case err != nil:
		return StartTriggeredSyncResult{}, fmt.Errorf("start a full sync of %s: %w", in.Integration, err)
	}
	a.logger(ctx).WithField("run_id", run.GetRunID()).Info("change watcher started a full sync: " + in.Reason)
	return StartTriggeredSyncResult{Started: true, RunID: run.GetRunID(), StartedAt: now}, nil
}

// pruneSeen keeps the seen events at or after from.
func pruneSeen(seen []SeenEvent, from time.Time) []SeenEvent {
	return slices.DeleteFunc(slices.Clone(seen), func(s SeenEvent) bool { return s.At.Before(from) })
}

// InsightsWarning is the warning of a credential the change watcher cannot work with: one
// that may not read Directory Insights (a 401/403 on the events route), "" when it may or
// when watching is off. One JumpCloud request, for the last minute's events.
func InsightsWarning(ctx context.Context, a *Activities, integ config.Integration) string {
	if integ.Watch.Off {
		return ""
	}
	jc, err := a.jumpCloud(integ)
	if err != nil {
		return ""
	}
	now := time.Now()
	_, err = jc.InsightsEvents(ctx, jumpcloud.InsightsQuery{StartTime: now.Add(-time.Minute), EndTime: now, Services: []string{"directory"}, Limit: 1})
	switch {
	case errors.Is(err, jumpcloud.ErrInsightsForbidden):
		return fmt.Sprintf("the JumpCloud credential may not read Directory Insights (%v): the change watcher degrades to schedule-only, and changes reach Authomize with the scheduled syncs alone. Give it access, or turn watching off (watch.off) to silence this", err)
	case err != nil:
		return fmt.Sprintf("Directory Insights could not be read (%v): the change watcher starts a full sync when it cannot read the events", err)
	}
	return ""
}
