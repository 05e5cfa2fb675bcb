// Package workflows holds SyncWorkflow: the business process of one sync of a JumpCloud org
// into an Authomize app. Deterministic orchestration only; every piece of I/O is an activity.
package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"jcsync/activities"
	"jcsync/internal/temporalnames"
)

// SyncInput names an integration and the options of one sync. Never a secret.
type SyncInput struct {
	Integration string `json:"integration"`
	// DryRun reads and transforms everything and reports what would be uploaded; nothing is
	// written to Authomize and nothing is swept.
	DryRun bool `json:"dryRun,omitempty"`
	// MaxShrinkPercent refuses the sweep when users, groups, apps or memberships shrank by
	// more than this (and by more than MinShrinkItems) since the last successful sync.
	// Default 20.
	MaxShrinkPercent int `json:"maxShrinkPercent,omitempty"`
	// AllowShrink lets the sweep run whatever the shrink.
	AllowShrink bool `json:"allowShrink,omitempty"`
	// AllowEmpty lets the sweep run when JumpCloud returned no users at all.
	AllowEmpty bool `json:"allowEmpty,omitempty"`
	// AllowOrgChange lets a sync of one JumpCloud org run into an Authomize app whose
	// baseline names another: a deliberate move of the app to a new org, whose sweep then
	// removes the old org's records.
	AllowOrgChange bool `json:"allowOrgChange,omitempty"`
	// HeartbeatTimeout is how soon an activity on a dead worker (a phase, or one of the short
	// activities: validate, baseline, sweep) is retried elsewhere. Default 30s.
	HeartbeatTimeout time.Duration `json:"heartbeatTimeout,omitempty"`
	// StageAttempts fails a stage after this many attempts in a row without progress (no
	// page committed); attempts that advance do not use it up, so a sync of hours survives
	// any number of scattered failures and worker deploys. Default 10.
	StageAttempts int `json:"stageAttempts,omitempty"`
	// RetryInterval is the wait before a failed stage attempt is retried. It doubles with
	// each attempt in a row without progress, up to a minute, and starts over after an
	// attempt that made progress. Default 2s.
	RetryInterval time.Duration `json:"retryInterval,omitempty"`
	// SweepMargin moves the sweep's cutoff back from the run's first acceptedTimestamp, so
	// that nothing this run wrote can fall before it. Default activities.DefaultSweepMargin.
	SweepMargin time.Duration `json:"sweepMargin,omitempty"`
	// MaxRejected lets the sweep run when Authomize did not accept at most this many of the
	// items the run sent, over every kind (sent less numberOfAcceptedEntities).
	// The connector validates what it sends, so any rejection is an anomaly, and the sweep
	// deletes the earlier copy of each rejected record although it exists in JumpCloud.
	// Default 0: any rejection refuses the sweep.
	MaxRejected int `json:"maxRejected,omitempty"`
	// PhaseDeadline bounds each phase, all of its attempts together (its schedule-to-close
	// timeout). A phase retries without limit while it makes progress, so without it a
	// phase that never ends, or fails forever a little further each time, would hold the
	// sync (and its schedule's next runs) open for good. Default 48h: a phase of the
	// largest org takes hours, and a day of outage on either side is still survived.
	PhaseDeadline time.Duration `json:"phaseDeadline,omitempty"`
	// PauseOnFailure pauses the integration's schedule (temporalnames.ScheduleID) when the
	// sync fails for a reason that will not pass by itself (a rejected credential, a
	// configuration error, a refused org); transient failures (an outage, a timeout) leave
	// it running. Set by the schedule's action, never by a manual sync.
	PauseOnFailure bool `json:"pauseOnFailure,omitempty"`
}

// defaultHeartbeat is how soon, by default, an activity on a dead worker is retried elsewhere.
const defaultHeartbeat = 30 * time.Second

// DefaultPhaseDeadline is how long, by default, a phase may take over all its attempts.
const DefaultPhaseDeadline = 48 * time.Hour

// MinShrinkItems keeps the shrink check from refusing small orgs over a handful of items.
const MinShrinkItems = 10

func (in SyncInput) withDefaults() SyncInput {
	if in.MaxShrinkPercent <= 0 {
		in.MaxShrinkPercent = 20
	}
	if in.HeartbeatTimeout <= 0 {
		in.HeartbeatTimeout = defaultHeartbeat
	}
	if in.StageAttempts <= 0 {
		in.StageAttempts = 10
	}
	if in.SweepMargin <= 0 {
		in.SweepMargin = activities.DefaultSweepMargin
	}
	if in.RetryInterval <= 0 {
		in.RetryInterval = 2 * time.Second
	}
	if in.PhaseDeadline <= 0 {
		in.PhaseDeadline = DefaultPhaseDeadline
	}
	return in
}

// SyncWorkflow keeps one Authomize app in step with one JumpCloud org:
// validate → baseline → users+admins → groups (and members) → apps (and bindings) → sweep
// → new baseline → result.
//
// Runs are pinned to the build that started them (Worker Versioning), so a change here needs
// no workflow.GetVersion: re-record the histories in testdata instead (see replay_test.go).
func SyncWorkflow(ctx workflow.Context, in SyncInput) (*SyncResult, error) {
	in = in.withDefaults()
	if in.Integration == "" {
		return failNoIntegration(ctx, in)
	}
	// Two syncs of one integration at once would sweep each other's records. Temporal runs
	// one workflow per id at a time, so every sync runs under the integration's own id:
	// one started under another (by a schedule, or from the Web UI) hands over to it.
	if workflow.GetInfo(ctx).WorkflowExecution.ID != temporalnames.SyncID(in.Integration) {
		return runAsIntegration(ctx, in)
	}
	p, err := startProgress(ctx, in)
	if err != nil {
		return nil, err
	}

	// 1. Validate: a bad credential fails the sync in seconds, before anything is written.
	// It checks the namespace's search attributes too, so the first upsert comes after it.
	v, err := validate(ctx, p, in)
	if err != nil {
		return p.fail(err)
	}
	if err := setIntegration(ctx, in); err != nil {
		return p.fail(err)
	}

	// 2. Baseline: what the last complete sync read, kept in the Authomize app. The app must
	// hold this org's data, and this sync starts writing only once its sweep can remove
	// everything the earlier syncs wrote.
	r := &SyncResult{Integration: in.Integration, DryRun: in.DryRun, StartedAt: p.Started, Warnings: v.Warnings}
	base, baseErr := readBaseline(ctx, p, in)
	if baseErr == nil && base.Found {
		if err := checkOrg(in, base, v); err != nil {
			return p.fail(err)
		}
		base = waitPastEarlierWrites(ctx, p, in, base, r)
	}

	// 3. The stages, phase by phase: Authomize checks references when relations arrive, so a
	// relation goes up only after what it points at. Each stage uploads the relations of the
	// list it reads, so every JumpCloud list is read once.
	s := newStages(workflow.WithActivityOptions(ctx, stageOptions(in)), p, r, in.stageInput(v.OwnerID))
	for _, phase := range [][]string{
		{activities.StageUsers, activities.StageAdmins}, // and the admins' roles: they point at nothing else
		{activities.StageGroups},                        // and their members, who point at accounts
		{activities.StageApps},                          // and their bindings, to accounts and groupings
	} {
		if err := s.run(phase...); err != nil {
			return p.fail(err)
		}
	}
	summarize(r)
	if in.DryRun {
		return p.done(ctx, r)
	}

	// 4. Sweep, only when it cannot delete what still exists; then this complete sync's
	// counts become the next one's baseline.
	p.enter("sweep")
	if err := sweep(ctx, p, in, base, baseErr, r); err != nil {
		return p.fail(err)
	}
	recordBaseline(ctx, p, in, base, r)
	return p.done(ctx, r)
}

// failNoIntegration ends a sync whose input names no integration.
func failNoIntegration(ctx workflow.Context, in SyncInput) (*SyncResult, error) {
	upsertOutcome(ctx, temporalnames.OutcomeFailed, nil)
	err := errNoIntegration()
	pauseIfLasting(ctx, in, err)
	return nil, err
}

// validate checks the credentials; the result names the org and app the details show.
func validate(ctx workflow.Context, p *Progress, in SyncInput) (activities.ValidateResult, error) {
	p.enter("validate")
	var v activities.ValidateResult
	if err := workflow.ExecuteActivity(p.check(ctx), activities.ActivityValidate, activities.ValidateInput{Integration: in.Integration}).Get(ctx, &v); err != nil {
		return v, fmt.Errorf("validate credentials: %w", err)
	}
	p.validated = &v
	return v, nil
}

// readBaseline reads the baseline of the sweep's shrink check; a dry run needs none. A failed
// read is not "no baseline": its error is kept, and the sweep refused.
func readBaseline(ctx workflow.Context, p *Progress, in SyncInput) (activities.SweepBaseline, error) {
	var base activities.SweepBaseline
	if in.DryRun {
		return base, nil
	}
	p.enter("baseline")
	err := workflow.ExecuteActivity(p.short(ctx, 3, summaryBaseline), activities.ActivityReadBaseline, in.Integration).Get(ctx, &base)
	if err != nil {
		workflow.GetLogger(ctx).Warn("no baseline for the sweep's shrink check", "error", err)
	}
	return base, err
}

// stageInput is the input of every stage of the sync.
func (in SyncInput) stageInput(ownerID string) activities.StageInput {
	return activities.StageInput{
		Integration: in.Integration, DryRun: in.DryRun, OwnerID: ownerID,
		StallAttempts: in.StageAttempts, RetryInterval: in.RetryInterval,
	}
}

func errNoIntegration() error {
	return temporal.NewNonRetryableApplicationError("sync input names no integration", activities.ErrTypeConfig, nil)
}

// shortActivity is the options of the short activities (validate, baseline, sweep). They
// heartbeat on a timer (activities.stayAlive), so a worker that dies in one is noticed
// within heartbeat, not when the ten minutes run out.
func shortActivity(attempts int32, heartbeat time.Duration) workflow.ActivityOptions {
	if heartbeat <= 0 {
		heartbeat = defaultHeartbeat
	}
	return workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    heartbeat,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			MaximumAttempts: attempts, NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
		},
	}
}

// stageOptions is the options of the phases. Start-to-close bounds one attempt of a phase of
// the largest org; the heartbeat timeout is what detects a dead worker, within seconds;
// schedule-to-close (PhaseDeadline) bounds all attempts together, since their number is not.
func stageOptions(in SyncInput) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		ScheduleToCloseTimeout: in.PhaseDeadline,
		StartToCloseTimeout:    12 * time.Hour,
		HeartbeatTimeout:       in.HeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    in.RetryInterval,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			// No limit here: the stage itself gives up after StageAttempts attempts in a row
			// without progress (activities.ErrTypeStalled), which Temporal cannot count.
			MaximumAttempts:        0,
			NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
		},
	}
}
