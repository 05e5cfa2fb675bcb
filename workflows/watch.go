package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"jcsync/activities"
	"jcsync/internal/temporalnames"
)

// WatchInput starts or continues an integration's change watcher. State is what the
// previous run of the watcher (before its continue-as-new) left; zero for a new watcher.
type WatchInput struct {
	Integration string     `json:"integration"`
	State       WatchState `json:"state,omitzero"`
	// PollsPerRun is the polls one run makes before it continues as new; 0 takes
	// watchRunPolls. It is carried to the next run.
	PollsPerRun int `json:"pollsPerRun,omitempty"`
}

// WatchState is the whole state of a watcher: its cursor, the sync it owes, what it did.
// It is the watcher's input across continue-as-new, so it must stay small and decodable by
// the next build.
type WatchState struct {
	Status string `json:"status"` // an activities.Watch* state, or "starting"
	Reason string `json:"reason,omitempty"`
	// ReadUntil and Seen are the cursor: the time events were read up to, and the events
	// within the overlap already applied.
	ReadUntil   time.Time              `json:"readUntil,omitzero"`
	Seen        []activities.SeenEvent `json:"seen,omitempty"`
	AliveAt     time.Time              `json:"aliveAt,omitzero"`
	NewestEvent time.Time              `json:"newestEvent,omitzero"`
	// A full sync is owed (PendingSync) for changes up to PendingAfter: a sync that started
	// after it and completed covers them.
	PendingSync   bool      `json:"pendingSync,omitempty"`
	PendingReason string    `json:"pendingReason,omitempty"`
	PendingAfter  time.Time `json:"pendingAfter,omitzero"`
	// Triggered are the last full syncs the watcher started, newest last.
	Triggered []TriggeredSync `json:"triggered,omitempty"`
	// Recent are the last changes applied, newest last.
	Recent []activities.AppliedChange `json:"recent,omitempty"`
	// Totals since the watcher started.
	Polls        int64         `json:"polls"`
	EventsSeen   int64         `json:"eventsSeen"`
	Applied      int64         `json:"applied"`
	LastPollAt   time.Time     `json:"lastPollAt,omitzero"`
	PollInterval time.Duration `json:"pollInterval,omitempty"`
	SyncInterval time.Duration `json:"syncInterval,omitempty"`
	DryRun       bool          `json:"dryRun,omitempty"`
}

// TriggeredSync is a full sync the watcher started.
type TriggeredSync struct {
	RunID     string    `json:"runId"`
	StartedAt time.Time `json:"startedAt"`
	Reason    string    `json:"reason"`
}

// How much of its past a watcher keeps in its state.
const (
	keepRecent    = 10
	keepTriggered = 5
	// watchRunPolls is the polls one run of the watcher makes before it continues as new:
	// about 40 events each, so a run's history stays near 2,500 events, and a new build
	// takes the watcher over within this many polls (half an hour at the default interval).
	watchRunPolls = 60
)

// WatchWorkflow is an integration's change watcher (docs/change-driven-syncs.md): it polls
// JumpCloud's Directory Insights for directory changes, applies the targeted ones (a user
// created, changed, suspended or deleted; a member or binding added) within a poll, and
// starts a full sync, at most one per interval, for what only a sweep removes (a member,
// binding, group or app removed) and for gaps. It follows the integration's schedule: it
// waits while the schedule is paused, writes nothing under a dry-run schedule, and ends when
// the schedule is deleted or watching is turned off. A credential that may not read
// Directory Insights ends it, degraded, once.
//
// It runs pinned, like the syncs, and continues as new every watchRunPolls polls with the
// AutoUpgrade behaviour: each run starts on the current build and holds only its cursor.
func WatchWorkflow(ctx workflow.Context, in WatchInput) (*WatchState, error) {
	if in.Integration == "" {
		return nil, errNoIntegration()
	}
	st := in.State
	if st.Status == "" {
		st.Status = "starting"
	}
	if err := workflow.SetQueryHandler(ctx, temporalnames.WatchQuery, func() (WatchState, error) { return st, nil }); err != nil {
		return nil, fmt.Errorf("register the watch query: %w", err)
	}
	publishWatch(ctx, in.Integration, &st)
	pollCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    defaultHeartbeat,
		Summary:             "read the Directory Insights events since the cursor and apply the targeted updates",
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
		},
	})
	runPolls := in.PollsPerRun
	if runPolls <= 0 {
		runPolls = watchRunPolls
	}
	for polls := 0; polls < runPolls && !workflow.GetInfo(ctx).GetContinueAsNewSuggested(); polls++ {
		var r activities.WatchPollResult
		err := workflow.ExecuteActivity(pollCtx, activities.ActivityWatchPoll, activities.WatchPollInput{
			Integration: in.Integration, ReadUntil: st.ReadUntil, Seen: st.Seen, AliveAt: st.AliveAt,
		}).Get(ctx, &r)
		if err != nil {
			st.Status, st.Reason = "failed", err.Error()
			publishWatch(ctx, in.Integration, &st)
			return &st, fmt.Errorf("change watcher of %s: %w", in.Integration, err)
		}
		st.record(workflow.Now(ctx), r)
		if r.State == activities.WatchStopped || r.State == activities.WatchDegraded {
			if r.State == activities.WatchDegraded {
				workflow.GetLogger(ctx).Warn("change watcher degraded to schedule-only", "integration", in.Integration, "reason", r.Reason)
			}
			publishWatch(ctx, in.Integration, &st)
			return &st, nil
		}
		if st.syncDue(workflow.Now(ctx), r) {
			triggerSync(ctx, in.Integration, &st, r)
		}
		publishWatch(ctx, in.Integration, &st)
		if err := workflow.Sleep(ctx, st.PollInterval); err != nil {
			return &st, err
		}
	}
	next := workflow.WithWorkflowTaskQueue(ctx, workflow.GetInfo(ctx).TaskQueueName)
	return nil, workflow.NewContinueAsNewErrorWithOptions(next, workflow.ContinueAsNewErrorOptions{
		InitialVersioningBehavior: workflow.ContinueAsNewVersioningBehaviorAutoUpgrade,
	}, temporalnames.WatchWorkflow, WatchInput{Integration: in.Integration, State: st, PollsPerRun: in.PollsPerRun})
}

// record folds one poll into the state.
func (st *WatchState) record(now time.Time, r activities.WatchPollResult) {
	st.Status, st.Reason = r.State, r.Reason
	st.Polls++
	st.LastPollAt = now
	st.PollInterval, st.SyncInterval, st.DryRun = r.PollInterval, r.SyncInterval, r.DryRun
	if st.PollInterval <= 0 {
		st.PollInterval = 30 * time.Second
	}
	if r.State == activities.WatchWatching || r.State == activities.WatchDeferred {
		st.AliveAt = r.PolledAt
	}
	if r.State == activities.WatchWatching {
		st.ReadUntil, st.Seen = r.ReadUntil, r.Seen
		st.EventsSeen += int64(r.Events)
		if r.NewestEvent.After(st.NewestEvent) {
			st.NewestEvent = r.NewestEvent
		}
		for _, c := range r.Applied {
			if !c.DoneAt.IsZero() {
				st.Applied++
			}
		}
		st.Recent = append(st.Recent, r.Applied...)
		if n := len(st.Recent); n > keepRecent {
			st.Recent = st.Recent[n-keepRecent:]
		}
	}
	if r.FullSync {
		st.PendingSync, st.PendingReason = true, r.FullSyncReason
		if r.FullSyncAfter.After(st.PendingAfter) {
			st.PendingAfter = r.FullSyncAfter
		}
	}
	if s := r.LastSync; st.PendingSync && s != nil && !s.Running && s.StartedAt.After(st.PendingAfter) {
		// A sync that started after every owed change and ended covers them; one that
		// failed leaves them to the next scheduled sync rather than to a retry every interval.
		st.PendingSync, st.PendingReason = false, ""
	}
}

// syncDue reports whether the owed full sync may start now: none runs, the schedule is
// neither paused nor gone, and the last one the watcher started is an interval old.
func (st *WatchState) syncDue(now time.Time, r activities.WatchPollResult) bool {
	if !st.PendingSync || r.State == activities.WatchPaused || (r.LastSync != nil && r.LastSync.Running) {
		return false
	}
	if n := len(st.Triggered); n > 0 && now.Sub(st.Triggered[n-1].StartedAt) < st.SyncInterval {
		return false
	}
	return true
}

// triggerSync starts the owed full sync. A start that fails is logged: the next poll tries
// again.
func triggerSync(ctx workflow.Context, integration string, st *WatchState, r activities.WatchPollResult) {
	actx := workflow.WithActivityOptions(ctx, shortActivity(5, defaultHeartbeat))
	actx = withSummary(actx, "start a full sync: "+clip(st.PendingReason, 200))
	var res activities.StartTriggeredSyncResult
	err := workflow.ExecuteActivity(actx, activities.ActivityStartTriggeredSync, activities.StartTriggeredSyncInput{
		Integration: integration, Schedule: r.Schedule, Reason: st.PendingReason,
	}).Get(ctx, &res)
	if err != nil {
		workflow.GetLogger(ctx).Error("change watcher could not start a full sync", "integration", integration, "error", err)
		return
	}
	if !res.Started {
		return // a sync started meanwhile: the next poll defers to it
	}
	st.Triggered = append(st.Triggered, TriggeredSync{RunID: res.RunID, StartedAt: workflow.Now(ctx), Reason: st.PendingReason})
	if n := len(st.Triggered); n > keepTriggered {
		st.Triggered = st.Triggered[n-keepTriggered:]
	}
}

// publishWatch redraws the watcher's current details (Web UI): its state, cursor and lag,
// the last changes applied and the syncs it started. Ids and counts only.
func publishWatch(ctx workflow.Context, integration string, st *WatchState) {
	now := workflow.Now(ctx)
	var b strings.Builder
	fmt.Fprintf(&b, "**Change watcher of %s: %s**", integration, st.Status)
	if st.Reason != "" {
		fmt.Fprintf(&b, ": %s", st.Reason)
	}
	b.WriteString("\n\n")
	if st.DryRun {
		b.WriteString("The schedule is a dry run: changes are read, nothing is written.\n\n")
	}
	if !st.ReadUntil.IsZero() {
		fmt.Fprintf(&b, "Cursor: events read up to %s (lag %s); newest change %s; poll every %s.\n\n",
			clock(st.ReadUntil), roundDuration(now.Sub(st.ReadUntil)), clockOrNone(st.NewestEvent), st.PollInterval)
	}
	fmt.Fprintf(&b, "Polls %d · changes read %d · applied %d\n", st.Polls, st.EventsSeen, st.Applied)
	if st.PendingSync {
		fmt.Fprintf(&b, "\nA full sync is owed: %s\n", st.PendingReason)
	}
	if len(st.Recent) > 0 {
		b.WriteString("\nLast changes:\n")
		for _, c := range st.Recent {
			if c.DoneAt.IsZero() {
				fmt.Fprintf(&b, "- %s `%s` at %s: left to a full sync\n", c.Kind, c.ID, clock(c.EventAt))
			} else {
				fmt.Fprintf(&b, "- %s `%s` at %s: in Authomize %s later\n", c.Kind, c.ID, clock(c.EventAt), roundDuration(c.DoneAt.Sub(c.EventAt)))
			}
		}
	}
	if len(st.Triggered) > 0 {
		b.WriteString("\nFull syncs started:\n")
		for _, s := range st.Triggered {
			fmt.Fprintf(&b, "- %s (run `%s`): %s\n", clock(s.StartedAt), s.RunID, clip(s.Reason, 200))
		}
	}
	workflow.SetCurrentDetails(ctx, b.String())
}

func clockOrNone(t time.Time) string {
	if t.IsZero() {
		return "none yet"
	}
	return clock(t)
}
