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
// workers replay and finish through it, command for command. Do not change what it does;
// what it shares with SyncWorkflow (startProgress, stages, validateOptions) must keep issuing
// the same commands for both. (Its Sweep activity now applies the safety margin itself; see
// activities.SweepInput.)
func syncLegacy(ctx workflow.Context, in SyncInput) (*SyncResult, error) {
	in = in.withDefaults()
	if in.Integration == "" {
		return nil, errNoIntegration()
	}
	p, err := startProgress(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := setIntegration(ctx, in); err != nil {
		return nil, err
	}

	// 1. Validate: a bad credential fails the sync in seconds, before anything is written.
	vctx := workflow.WithActivityOptions(ctx, validateOptions())
	var v activities.ValidateResult
	if err := workflow.ExecuteActivity(vctx, activities.ActivityValidate, activities.ValidateInput{Integration: in.Integration}).Get(ctx, &v); err != nil {
		return p.fail(fmt.Errorf("validate credentials: %w", err))
	}
	var baseline activities.Baseline
	var baselineErr error
	if !in.DryRun {
		// A failed lookup is not "no previous sync": the shrink check would be off. It is
		// remembered, and the sweep is refused unless the operator allows a shrink.
		baselineErr = workflow.ExecuteActivity(vctx, activities.ActivityLastSuccessfulSync, in.Integration).Get(ctx, &baseline)
		if baselineErr != nil {
			workflow.GetLogger(ctx).Warn("no baseline for the sweep's shrink check", "error", baselineErr)
		}
	}

	// 2. The stages, phase by phase, in the order of SyncWorkflow.
	r := &SyncResult{Integration: in.Integration, DryRun: in.DryRun, StartedAt: p.Started, Warnings: v.Warnings}
	stages := newStages(workflow.WithActivityOptions(ctx, legacyStageOptions(in)), p, r,
		activities.StageInput{Integration: in.Integration, DryRun: in.DryRun, OwnerID: v.OwnerID})
	for _, phase := range [][]string{{activities.StageUsers, activities.StageAdmins}, {activities.StageGroups}, {activities.StageApps}} {
		if err := stages.run(phase...); err != nil {
			return p.fail(err)
		}
	}
	summarize(r)
	if in.DryRun {
		return p.done(ctx, r)
	}

	// 3. Sweep: only after every stage succeeded, and only when the read looks sane.
	p.Phase = "sweep"
	if err := legacySweep(ctx, in, baseline, baselineErr, r); err != nil {
		return p.fail(err)
	}
	// The counts of a complete sync are the next sync's baseline for the shrink check.
	if r.Swept {
		if err := workflow.UpsertMemo(ctx, map[string]any{activities.MemoCounts: r.Read}); err != nil {
			workflow.GetLogger(ctx).Warn("could not record the baseline counts", "error", err)
		}
	}
	return p.done(ctx, r)
}

// legacyStageOptions is the stages' options in syncLegacy. Start-to-close bounds one attempt
// of a stage of the largest org; the heartbeat timeout is what detects a dead worker, within
// seconds. It stands apart from stageOptions so that no change there reaches the legacy runs.
func legacyStageOptions(in SyncInput) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 12 * time.Hour,
		HeartbeatTimeout:    in.HeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        2 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        int32(in.StageAttempts),
			NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
		},
	}
}

// legacySweep is the sweep of syncLegacy: refused when the read looks wrong, skipped with a
// warning when a list changed while it was read or no upload carried a timestamp.
func legacySweep(ctx workflow.Context, in SyncInput, baseline activities.Baseline, baselineErr error, r *SyncResult) error {
	if err := legacySweepAllowed(in, baseline, baselineErr, r); err != nil {
		return err
	}
	cutoff := earliestAccepted(r.Stages)
	unstable := unstableLists(r.Stages)
	switch {
	case len(unstable) > 0:
		// Offsets shifted while a list was read: an item may have been skipped, and the
		// sweep would delete it. Everything read was uploaded; the next sync sweeps.
		r.Warnings = append(r.Warnings, fmt.Sprintf(
			"JumpCloud changed while it was read (%s): the sweep is skipped this time so nothing that still exists is deleted; the next sync removes what is gone",
			strings.Join(unstable, "; ")))
		return nil
	case cutoff.IsZero():
		r.Warnings = append(r.Warnings, "Authomize returned no acceptedTimestamp: sweep skipped")
		return nil
	}
	wctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			MaximumAttempts: 10, NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
		},
	})
	if err := workflow.ExecuteActivity(wctx, activities.ActivitySweep, activities.SweepInput{Integration: in.Integration, Cutoff: cutoff}).Get(ctx, nil); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	r.Swept, r.SweepCutoff = true, cutoff
	return nil
}

// unstableLists gathers what the stages saw change while they read.
func unstableLists(stages []activities.StageResult) []string {
	var out []string
	for _, s := range stages {
		out = append(out, s.Counts.Unstable...)
	}
	return out
}

// legacySweepAllowed is the sweep check of syncLegacy. It refuses a sweep that would most
// likely delete good data: JumpCloud returned no users (a wrong org, a key that sees
// nothing), most of what was read could not be uploaded, a kind shrank sharply since the
// last successful sync, or that sync could not be looked up.
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
