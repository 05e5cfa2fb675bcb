package workflows

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"jcsync/activities"
)

// syncLegacy is SyncWorkflow as it ran before changeSafeSweep: syncs started by earlier
// workers replay and finish through it, command for command. Do not change what it does.
// (Its Sweep activity now applies the safety margin itself; see activities.SweepInput.)
func syncLegacy(ctx workflow.Context, in SyncInput) (*SyncResult, error) {
	in = in.withDefaults()
	if in.Integration == "" {
		return nil, temporal.NewNonRetryableApplicationError("sync input names no integration", activities.ErrTypeConfig, nil)
	}
	log := workflow.GetLogger(ctx)
	started := workflow.Now(ctx)
	progress := &Progress{Integration: in.Integration, DryRun: in.DryRun, Phase: "validate", Started: started}
	for _, s := range activities.Stages() {
		progress.Stages = append(progress.Stages, StageProgress{Stage: s, Status: StatusPending})
	}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (*Progress, error) { return progress, nil }); err != nil {
		return nil, fmt.Errorf("register progress query: %w", err)
	}
	// The search attribute lets the Web UI filter by integration and the next sync find this
	// one; whoever started the workflow (starter, schedule) need not remember to set it.
	if err := workflow.UpsertTypedSearchAttributes(ctx, activities.SearchAttribute.ValueSet(in.Integration)); err != nil {
		return nil, fmt.Errorf("set search attribute: %w", err)
	}

	// 1. Validate: a bad credential fails the sync in seconds, before anything is written.
	vctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3,
			NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
		},
	})
	var v activities.ValidateResult
	if err := workflow.ExecuteActivity(vctx, acts.Validate, activities.ValidateInput{Integration: in.Integration}).Get(ctx, &v); err != nil {
		progress.Phase = StatusFailed
		return nil, fmt.Errorf("validate credentials: %w", err)
	}
	var baseline activities.Baseline
	var baselineErr error
	if !in.DryRun {
		// A failed lookup is not "no previous sync": the shrink check would be off. It is
		// remembered, and the sweep is refused unless the operator allows a shrink.
		baselineErr = workflow.ExecuteActivity(vctx, acts.LastSuccessfulSync, in.Integration).Get(ctx, &baseline)
		if baselineErr != nil {
			log.Warn("no baseline for the sweep's shrink check", "error", baselineErr)
		}
	}

	stageIn := activities.StageInput{Integration: in.Integration, DryRun: in.DryRun, OwnerID: v.OwnerID}
	sctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// Start-to-close bounds one attempt of a stage of the largest org; the heartbeat
		// timeout is what detects a dead worker, within seconds.
		StartToCloseTimeout: 12 * time.Hour,
		HeartbeatTimeout:    in.HeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        2 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        int32(in.StageAttempts),
			NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
		},
	})
	result := &SyncResult{Integration: in.Integration, DryRun: in.DryRun, StartedAt: started, Warnings: v.Warnings}

	// 2. The stages, phase by phase: Authomize checks references when relations arrive, so
	// users and admins come first, then groups with their members, then apps with their
	// bindings.
	for _, phase := range activities.Phases {
		progress.Phase = strings.Join(phase, "+")
		if err := runStages(sctx, progress, stageIn, phase, result); err != nil {
			progress.Phase = StatusFailed
			return nil, err
		}
	}
	summarize(result)

	// 4. Sweep: only after every stage succeeded, and only when the read looks sane.
	if in.DryRun {
		progress.Phase = StatusDone
		return finish(ctx, result), nil
	}
	progress.Phase = "sweep"
	if err := legacySweepAllowed(in, baseline, baselineErr, result); err != nil {
		progress.Phase = StatusFailed
		return nil, err
	}
	cutoff := earliestAccepted(result.Stages)
	unstable := unstableLists(result.Stages)
	switch {
	case len(unstable) > 0:
		// Offsets shifted while a list was read: an item may have been skipped, and the
		// sweep would delete it. Everything read was uploaded; the next sync sweeps.
		result.Warnings = append(result.Warnings, fmt.Sprintf(
			"JumpCloud changed while it was read (%s): the sweep is skipped this time so nothing that still exists is deleted; the next sync removes what is gone",
			strings.Join(unstable, "; ")))
	case cutoff.IsZero():
		result.Warnings = append(result.Warnings, "Authomize returned no acceptedTimestamp: sweep skipped")
	default:
		wctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 10 * time.Minute,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
				MaximumAttempts: 10, NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
			},
		})
		if err := workflow.ExecuteActivity(wctx, acts.Sweep, activities.SweepInput{Integration: in.Integration, Cutoff: cutoff}).Get(ctx, nil); err != nil {
			progress.Phase = StatusFailed
			return nil, fmt.Errorf("sweep: %w", err)
		}
		result.Swept, result.SweepCutoff = true, cutoff
	}
	// The counts of a complete sync are the next sync's baseline for the shrink check.
	if result.Swept {
		if err := workflow.UpsertMemo(ctx, map[string]any{activities.MemoCounts: result.Read}); err != nil {
			log.Warn("could not record the baseline counts", "error", err)
		}
	}
	progress.Phase = StatusDone
	return finish(ctx, result), nil
}

// legacySweepAllowed is the sweep check of syncLegacy. It refuses a sweep that would most likely delete good data: JumpCloud returned no
// users (a wrong org, a key that sees nothing), most of what was read could not be uploaded,
// a kind shrank sharply since the last successful sync, or that sync could not be looked up.
// The operator can allow an empty org or a shrink explicitly.
func legacySweepAllowed(in SyncInput, base activities.Baseline, baseErr error, r *SyncResult) error {
	refuse := func(msg string) error {
		return temporal.NewNonRetryableApplicationError("sweep refused: "+msg+"; nothing was deleted", activities.ErrTypeSweepRefused, nil)
	}
	if r.Read["users"] == 0 && !in.AllowEmpty {
		return refuse("JumpCloud returned no users, so the sweep would empty the Authomize app. Check the key's org, or run with --allow-empty if the org really is empty")
	}
	for _, c := range uploadChecks {
		for _, s := range r.Stages {
			if s.Stage != c.stage {
				continue
			}
			read, up := s.Counts.Read[c.read], s.Counts.Uploaded[c.uploaded]
			if lost := read - up; lost > MinShrinkItems && lost*100 > read*in.MaxShrinkPercent {
				return refuse(fmt.Sprintf("only %d of the %d %s read from JumpCloud were uploaded (see the skipped counts)", up, read, c.read))
			}
		}
	}
	if in.AllowShrink {
		return nil
	}
	if baseErr != nil {
		return refuse(fmt.Sprintf("the last successful sync could not be looked up (%v), so a shrink could not be ruled out. Run with --allow-shrink to sweep anyway", baseErr))
	}
	if !base.Found {
		return nil
	}
	var problems []string
	for _, k := range shrinkKinds {
		before, now := base.Counts[k], r.Read[k]
		lost := before - now
		if lost > MinShrinkItems && lost*100 > before*in.MaxShrinkPercent {
			problems = append(problems, fmt.Sprintf("%s %d → %d (-%d%%)", k, before, now, lost*100/before))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return refuse(fmt.Sprintf("JumpCloud returned far less than the last successful sync (%v, limit %d%%). If this is expected, run with --allow-shrink",
		problems, in.MaxShrinkPercent))
}
