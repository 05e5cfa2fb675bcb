package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"jcsync/activities"
	"jcsync/internal/counts"
	"jcsync/internal/temporalnames"
)

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

	// What the Web UI's current details and search attributes show.
	ctx          workflow.Context
	phaseStarted time.Time
	validated    *activities.ValidateResult
	outcome      string // set when the sync ended
	failedIn     string // the phase the sync failed in
	result       *SyncResult
	err          error
	heartbeat    time.Duration // the short activities' heartbeat timeout
	input        SyncInput     // what the sync was started with
	// waitUntil is when a waiting sync starts writing (phaseWait).
	waitUntil time.Time
	// rejected is what Authomize did not accept, by kind, once the sweep has looked at it,
	// and maxRejected the run's tolerance: the details show both.
	rejected    counts.Counts
	maxRejected int
}

// stageOrder is every stage, in the order a sync runs them: the progress query lists them
// all from the start.
var stageOrder = []string{activities.StageUsers, activities.StageAdmins, activities.StageGroups, activities.StageApps}

// startProgress answers the progress query from now on.
func startProgress(ctx workflow.Context, in SyncInput) (*Progress, error) {
	p := &Progress{Integration: in.Integration, DryRun: in.DryRun, Phase: "validate", Started: workflow.Now(ctx), ctx: ctx, heartbeat: in.HeartbeatTimeout, input: in}
	for _, s := range stageOrder {
		p.Stages = append(p.Stages, StageProgress{Stage: s, Status: StatusPending})
	}
	if err := workflow.SetQueryHandler(ctx, temporalnames.ProgressQuery, func() (*Progress, error) { return p, nil }); err != nil {
		return nil, fmt.Errorf("register progress query: %w", err)
	}
	return p, nil
}

// fail ends the sync with err, and pauses its schedule when the failure lasts and the run
// was asked to (SyncInput.PauseOnFailure).
func (p *Progress) fail(err error) (*SyncResult, error) {
	p.failedIn, p.Phase = p.Phase, StatusFailed
	p.end(nil, err)
	pauseIfLasting(p.ctx, p.input, err)
	return nil, err
}

// done ends the sync with r.
func (p *Progress) done(ctx workflow.Context, r *SyncResult) (*SyncResult, error) {
	p.Phase = StatusDone
	r.FinishedAt = workflow.Now(ctx)
	r.Duration = r.FinishedAt.Sub(r.StartedAt)
	p.end(r, nil)
	return r, nil
}

// stage is the progress of one stage.
func (p *Progress) stage(name string) *StageProgress {
	for i := range p.Stages {
		if p.Stages[i].Stage == name {
			return &p.Stages[i]
		}
	}
	p.Stages = append(p.Stages, StageProgress{Stage: name})
	return &p.Stages[len(p.Stages)-1]
}
