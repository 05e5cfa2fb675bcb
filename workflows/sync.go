// Package workflows holds SyncWorkflow: the business process of one sync of a JumpCloud org
// into an Authomize app. Deterministic orchestration only; every piece of I/O is an activity.
package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"jcsync/activities"
)

// Names shared by the worker, the starter and the Web UI.
const (
	// TaskQueue is the default task queue of the workers.
	TaskQueue = "jcsync"
	// ProgressQuery returns a sync's Progress while it runs (and after).
	ProgressQuery = "progress"
	// WorkflowName is the registered name of SyncWorkflow.
	WorkflowName = "SyncWorkflow"
)

// WorkflowID is the stable workflow id of an integration's manual syncs: starting a second
// sync while one runs finds the running one instead of running twice.
func WorkflowID(integration string) string { return "jcsync-" + integration }

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
	// HeartbeatTimeout is how soon a stage on a dead worker is retried elsewhere. Default 30s.
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
}

// MinShrinkItems keeps the shrink check from refusing small orgs over a handful of items.
const MinShrinkItems = 10

func (in SyncInput) withDefaults() SyncInput {
	if in.MaxShrinkPercent <= 0 {
		in.MaxShrinkPercent = 20
	}
	if in.HeartbeatTimeout <= 0 {
		in.HeartbeatTimeout = 30 * time.Second
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
	return in
}

// Stage statuses in Progress.
const (
	StatusPending   = "pending"
	StatusRunning   = "running"
	StatusDone      = "done"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
	StatusSkipped   = "skipped"
)

// StageProgress is one stage as the progress query shows it.
type StageProgress struct {
	Stage    string                  `json:"stage"`
	Status   string                  `json:"status"`
	Result   *activities.StageResult `json:"result,omitempty"`
	Error    string                  `json:"error,omitempty"`
	Started  time.Time               `json:"started,omitempty"`
	Finished time.Time               `json:"finished,omitempty"`
}

// Progress is the answer of the progress query. Counts of running stages live in their
// heartbeat checkpoints (see the starter's progress view, which merges both).
type Progress struct {
	Integration string          `json:"integration"`
	DryRun      bool            `json:"dryRun,omitempty"`
	Phase       string          `json:"phase"`
	Stages      []StageProgress `json:"stages"`
	Started     time.Time       `json:"started"`
}

// SyncResult is the summary of a finished sync.
type SyncResult struct {
	Integration string                   `json:"integration"`
	DryRun      bool                     `json:"dryRun,omitempty"`
	Stages      []activities.StageResult `json:"stages"`
	// Read counts JumpCloud objects by kind; Uploaded counts what Authomize accepted (or, in a
	// dry run, what would have been sent) by kind.
	Read     map[string]int `json:"read"`
	Uploaded map[string]int `json:"uploaded"`
	Skipped  map[string]int `json:"skipped,omitempty"`
	Adjusted map[string]int `json:"adjusted,omitempty"`

	JumpCloudRequests int `json:"jumpcloudRequests"`
	JumpCloudRetries  int `json:"jumpcloudRetries"`
	AuthomizeRequests int `json:"authomizeRequests"`
	AuthomizeRetries  int `json:"authomizeRetries"`
	PagesResumed      int `json:"pagesResumed"`
	InvalidReferences int `json:"invalidReferences,omitempty"`

	// ListsChanged counts JumpCloud lists that changed while they were read, RepairReads the
	// pages read again to keep those reads complete, and Unstable the lists that still could
	// not be proven complete (the sweep is then skipped).
	ListsChanged int      `json:"listsChanged,omitempty"`
	RepairReads  int      `json:"repairReads,omitempty"`
	Unstable     []string `json:"unstable,omitempty"`
	// NoTimestamp counts Authomize answers without an acceptedTimestamp.
	NoTimestamp int `json:"noTimestamp,omitempty"`
	// Unreadable counts objects that exist in JumpCloud but whose records did not decode
	// (skipped and counted); UnreadableNamed names the first few. The sweep waits for them.
	Unreadable      int      `json:"unreadable,omitempty"`
	UnreadableNamed []string `json:"unreadableNamed,omitempty"`

	Swept       bool      `json:"swept"`
	SweepCutoff time.Time `json:"sweepCutoff,omitempty"`
	// SweepSkipped says why a complete sync did not sweep (empty when it swept, or in a dry
	// run).
	SweepSkipped string `json:"sweepSkipped,omitempty"`
	// Baseline says what the shrink check compared with.
	Baseline string `json:"baseline,omitempty"`
	// NotRun is set when this workflow did not sync because another sync of the integration
	// was running; RanAs names the workflow that synced when this one handed over to it.
	NotRun     string    `json:"notRun,omitempty"`
	RanAs      string    `json:"ranAs,omitempty"`
	Warnings   []string  `json:"warnings,omitempty"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	// Duration is the wall time of the sync.
	Duration time.Duration `json:"duration"`
}

// acts is only used to name activity methods; the worker registers the real value.
var acts *activities.Activities

func stageActivity(stage string) any {
	switch stage {
	case activities.StageUsers:
		return acts.Users
	case activities.StageAdmins:
		return acts.Admins
	case activities.StageGroups:
		return acts.Groups
	case activities.StageApps:
		return acts.Apps
	}
	panic("unknown stage " + stage)
}

// changeSafeSweep versions SyncWorkflow's safe sweep: the baseline kept in Authomize, the
// cutoff margin, relations gating the sweep, lists repaired rather than given up on, and one
// sync of an integration at a time. Histories without its marker replay through syncLegacy.
const changeSafeSweep = "safe-sweep"

// SyncWorkflow keeps one Authomize app in step with one JumpCloud org:
// validate → baseline → users+admins → groups (and members) → apps (and bindings) → sweep
// → new baseline → result.
func SyncWorkflow(ctx workflow.Context, in SyncInput) (*SyncResult, error) {
	if workflow.GetVersion(ctx, changeSafeSweep, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return syncLegacy(ctx, in)
	}
	in = in.withDefaults()
	if in.Integration == "" {
		return nil, temporal.NewNonRetryableApplicationError("sync input names no integration", activities.ErrTypeConfig, nil)
	}
	// Two syncs of one integration at once would sweep each other's records. Temporal runs
	// one workflow per id at a time, so every sync runs under the integration's own id:
	// one started under another (by a schedule, or from the Web UI) hands over to it.
	if workflow.GetInfo(ctx).WorkflowExecution.ID != WorkflowID(in.Integration) {
		return runAsIntegration(ctx, in)
	}
	return runSync(ctx, in)
}

// runSync is one sync of the integration, under its own workflow id.
func runSync(ctx workflow.Context, in SyncInput) (*SyncResult, error) {
	log := workflow.GetLogger(ctx)
	started := workflow.Now(ctx)
	progress := &Progress{Integration: in.Integration, DryRun: in.DryRun, Phase: "validate", Started: started}
	for _, s := range activities.Stages() {
		progress.Stages = append(progress.Stages, StageProgress{Stage: s, Status: StatusPending})
	}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (*Progress, error) { return progress, nil }); err != nil {
		return nil, fmt.Errorf("register progress query: %w", err)
	}
	// The search attribute lets the Web UI filter by integration; whoever started the
	// workflow need not remember to set it.
	if err := workflow.UpsertTypedSearchAttributes(ctx, activities.SearchAttribute.ValueSet(in.Integration)); err != nil {
		return nil, fmt.Errorf("set search attribute: %w", err)
	}
	failed := func(err error) (*SyncResult, error) {
		progress.Phase = StatusFailed
		return nil, err
	}

	// 1. Validate: a bad credential fails the sync in seconds, before anything is written.
	vctx := workflow.WithActivityOptions(ctx, shortActivity(3))
	var v activities.ValidateResult
	if err := workflow.ExecuteActivity(vctx, acts.Validate, activities.ValidateInput{Integration: in.Integration}).Get(ctx, &v); err != nil {
		return failed(fmt.Errorf("validate credentials: %w", err))
	}

	// 2. Baseline: what the last complete sync read, kept in the Authomize app. A failed
	// read is not "no baseline": it is remembered, and the sweep refused.
	var base activities.SweepBaseline
	var baseErr error
	if !in.DryRun {
		progress.Phase = "baseline"
		if baseErr = workflow.ExecuteActivity(vctx, acts.ReadBaseline, in.Integration).Get(ctx, &base); baseErr != nil {
			log.Warn("no baseline for the sweep's shrink check", "error", baseErr)
		}
	}

	// 3. The stages, phase by phase: Authomize checks references when relations arrive, so
	// users and admins come first, then groups with their members, then apps with their
	// bindings.
	stageIn := activities.StageInput{Integration: in.Integration, DryRun: in.DryRun, OwnerID: v.OwnerID, StallAttempts: in.StageAttempts, RetryInterval: in.RetryInterval, SafeSweep: true}
	sctx := workflow.WithActivityOptions(ctx, stageOptions(in))
	result := &SyncResult{Integration: in.Integration, DryRun: in.DryRun, StartedAt: started, Warnings: v.Warnings}
	for _, phase := range activities.Phases {
		progress.Phase = strings.Join(phase, "+")
		if err := runStages(sctx, progress, stageIn, phase, result); err != nil {
			return failed(err)
		}
	}
	summarize(result)
	if in.DryRun {
		progress.Phase = StatusDone
		return finish(ctx, result), nil
	}

	// 4. Sweep, only when it cannot delete what still exists; then the counts of this
	// complete sync become the next one's baseline.
	progress.Phase = "sweep"
	if err := sweep(ctx, in, base, baseErr, result); err != nil {
		return failed(err)
	}
	// A run whose sweep was only skipped (a list that kept changing, an answer without a
	// timestamp) passed every check of its read too: its counts are a baseline as good.
	if result.Swept || result.SweepSkipped != "" {
		rec := activities.RecordBaselineInput{Integration: in.Integration, Counts: baselineCounts(result.Read), SyncedAt: started}
		rctx := workflow.WithActivityOptions(ctx, shortActivity(10))
		if err := workflow.ExecuteActivity(rctx, acts.RecordBaseline, rec).Get(ctx, nil); err != nil {
			// A previous record was rewritten at the start and survives: the next sync
			// compares with it. Without one, the next sync finds none in a full app.
			next := "the next sync compares with the previous one"
			if !base.Found {
				next = "the next sync finds none and refuses its sweep until it is run once with --allow-shrink"
			}
			result.Warnings = append(result.Warnings, fmt.Sprintf("the new baseline could not be recorded (%v): %s", err, next))
		}
	}
	progress.Phase = StatusDone
	return finish(ctx, result), nil
}

// shortActivity is the options of the short activities (validate, baseline, sweep).
func shortActivity(attempts int32) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			MaximumAttempts: attempts, NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
		},
	}
}

// stageOptions is the options of the stages. Start-to-close bounds one attempt of a stage
// of the largest org; the heartbeat timeout is what detects a dead worker, within seconds.
func stageOptions(in SyncInput) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 12 * time.Hour,
		HeartbeatTimeout:    in.HeartbeatTimeout,
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

// runStages runs stages in parallel. The first failure cancels the others: the sync will not
// sweep anyway, and a fast failure is what the operator needs.
func runStages(ctx workflow.Context, progress *Progress, in activities.StageInput, stages []string, result *SyncResult) error {
	cctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	sel := workflow.NewSelector(ctx)
	var firstErr error
	results := map[string]activities.StageResult{}
	for _, stage := range stages {
		sp := stageProgress(progress, stage)
		sp.Status, sp.Started = StatusRunning, workflow.Now(ctx)
		f := workflow.ExecuteActivity(cctx, stageActivity(stage), in)
		sel.AddFuture(f, func(f workflow.Future) {
			var r activities.StageResult
			err := f.Get(ctx, &r)
			sp.Finished = workflow.Now(ctx)
			switch {
			case err == nil:
				sp.Status, sp.Result = StatusDone, &r
				results[stage] = r
			case firstErr != nil && isCancel(err):
				sp.Status = StatusCancelled
			default:
				sp.Status, sp.Error = StatusFailed, err.Error()
				if firstErr == nil {
					firstErr = fmt.Errorf("stage %s: %w", stage, err)
					cancel()
				}
			}
		})
	}
	for range stages {
		sel.Select(ctx)
	}
	if firstErr != nil {
		for i := range progress.Stages {
			if progress.Stages[i].Status == StatusPending {
				progress.Stages[i].Status = StatusSkipped
			}
		}
		return firstErr
	}
	for _, stage := range stages {
		result.Stages = append(result.Stages, results[stage])
	}
	return nil
}

func isCancel(err error) bool {
	var c *temporal.CanceledError
	return errors.As(err, &c)
}

func stageProgress(p *Progress, stage string) *StageProgress {
	for i := range p.Stages {
		if p.Stages[i].Stage == stage {
			return &p.Stages[i]
		}
	}
	p.Stages = append(p.Stages, StageProgress{Stage: stage})
	return &p.Stages[len(p.Stages)-1]
}

// summarize adds up the stages' counts.
func summarize(r *SyncResult) {
	r.Read, r.Uploaded = map[string]int{}, map[string]int{}
	for _, s := range r.Stages {
		c := s.Counts
		addAll(r.Read, c.Read)
		addAll(r.Uploaded, c.Uploaded)
		if len(c.Report.Skipped) > 0 {
			if r.Skipped == nil {
				r.Skipped = map[string]int{}
			}
			addAll(r.Skipped, c.Report.Skipped)
		}
		if len(c.Report.Adjusted) > 0 {
			if r.Adjusted == nil {
				r.Adjusted = map[string]int{}
			}
			addAll(r.Adjusted, c.Report.Adjusted)
		}
		r.JumpCloudRequests += c.JumpCloudRequests
		r.JumpCloudRetries += c.JumpCloudRetries
		r.AuthomizeRequests += c.AuthomizeRequests
		r.AuthomizeRetries += c.AuthomizeRetries
		r.PagesResumed += c.PagesResumed
		r.InvalidReferences += c.InvalidReferences
		r.ListsChanged += c.ListsChanged
		r.RepairReads += c.RepairReads
		r.NoTimestamp += c.NoTimestamp
		r.Unstable = append(r.Unstable, c.Unstable...)
		r.Unreadable += c.Unreadable
		r.UnreadableNamed = append(r.UnreadableNamed, c.UnreadableNamed...)
		r.Warnings = append(r.Warnings, s.Warnings...)
	}
}

func addAll(dst, src map[string]int) {
	for k, v := range src {
		dst[k] += v
	}
}

func earliestAccepted(stages []activities.StageResult) time.Time {
	var t time.Time
	for _, s := range stages {
		e := s.Counts.EarliestAccepted
		if !e.IsZero() && (t.IsZero() || e.Before(t)) {
			t = e
		}
	}
	return t
}

// shrinkKinds are the counts compared with the last successful sync before sweeping.
var shrinkKinds = []string{"users", "groups", "apps", "members", "admins", "bindings"}

// uploadChecks pair what a stage read with what it uploaded of it: if the transform or
// Authomize dropped most of a list, the sweep would delete the rest from Authomize.
var uploadChecks = []struct{ stage, read, uploaded string }{
	{activities.StageUsers, "users", "accounts"},
	{activities.StageGroups, "groups", "groupings"},
	{activities.StageApps, "apps", "assets"},
}

// unstableLists gathers what the stages saw change while they read.
func unstableLists(stages []activities.StageResult) []string {
	var out []string
	for _, s := range stages {
		out = append(out, s.Counts.Unstable...)
	}
	return out
}

func finish(ctx workflow.Context, r *SyncResult) *SyncResult {
	r.FinishedAt = workflow.Now(ctx)
	r.Duration = r.FinishedAt.Sub(r.StartedAt)
	return r
}
