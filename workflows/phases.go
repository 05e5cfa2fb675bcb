package workflows

import (
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"jcsync/activities"
)

// stages runs the phases of one sync, with the activity options of ctx, and gathers the
// stages' results into the sync's result. Each phase is one activity (activities.ActivityPhase):
// every JumpCloud request of a phase then leaves from one worker, whose per-org rate is the
// only one pacing the org.
type stages struct {
	ctx      workflow.Context
	progress *Progress
	result   *SyncResult
	in       activities.StageInput
	// pacing is what the last phase learned of the org's JumpCloud limit: the next phase
	// starts from it, on whichever worker runs it, and the run's memo keeps it for the next
	// sync (see keepPacing).
	pacing *activities.OrgPacing
}

func newStages(ctx workflow.Context, p *Progress, r *SyncResult, in activities.StageInput) *stages {
	return &stages{ctx: ctx, progress: p, result: r, in: in}
}

// phaseSummaries are the summaries of the Phase activities that run more than one stage; a
// phase of one stage takes its stage's summary (stageSummaries).
var phaseSummaries = map[string]string{
	"users+admins": "users+admins: reading and uploading JumpCloud users, and console administrators and their roles",
}

func phaseSummary(phase []string) string {
	if len(phase) == 1 {
		return stageSummaries[phase[0]]
	}
	if s, ok := phaseSummaries[strings.Join(phase, "+")]; ok {
		return s
	}
	var parts []string
	for _, stage := range phase {
		parts = append(parts, stageSummaries[stage])
	}
	return strings.Join(parts, "; ")
}

// run runs one phase as one Phase activity, its stages at once inside it. The workflow
// sees the phase end, not each stage: a stage shows running until its phase ends (its live
// counts, and whether it finished, are in the phase's heartbeat checkpoint), then done with
// its result. A failed phase names its stage; stages that finished before stay done, the
// others show cancelled.
func (s *stages) run(phase ...string) error {
	ctx, p := s.ctx, s.progress
	name := strings.Join(phase, "+")
	for _, stage := range phase {
		sp := p.stage(stage)
		sp.Status, sp.Started = StatusRunning, workflow.Now(ctx)
	}
	p.enter(name)
	in := s.in
	// What the phases before left out: no relation may point at a record not uploaded.
	in.Earlier = activities.DroppedOf(s.result.Stages)
	var r activities.PhaseResult
	err := workflow.ExecuteActivity(withSummary(ctx, phaseSummary(phase)), activities.ActivityPhase,
		activities.PhaseInput{Stages: phase, Stage: in, Pacing: s.pacing}).Get(ctx, &r)
	now := workflow.Now(ctx)
	if err != nil {
		var failure activities.PhaseFailure
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.HasDetails() {
			_ = appErr.Details(&failure) // without details, every stage shows failed
		}
		s.keepPacing(failure.Pacing)
		done := map[string]activities.StageResult{}
		for _, r := range failure.Done {
			done[r.Stage] = r
		}
		for _, stage := range phase {
			sp := p.stage(stage)
			sp.Finished = now
			if r, ok := done[stage]; ok {
				sp.Status, sp.Result = StatusDone, &r
			} else if failure.Stage != "" && failure.Stage != stage {
				sp.Status = StatusCancelled
			} else {
				sp.Status, sp.Error = StatusFailed, err.Error()
			}
		}
		for i := range p.Stages {
			if p.Stages[i].Status == StatusPending {
				p.Stages[i].Status = StatusSkipped
			}
		}
		p.publish()
		return fmt.Errorf("phase %s: %w", name, err)
	}
	s.keepPacing(r.Pacing)
	if len(r.Stages) != len(phase) {
		return fmt.Errorf("phase %s: %d stage results for %d stages", name, len(r.Stages), len(phase))
	}
	for i, stage := range phase {
		sp := p.stage(stage)
		res := r.Stages[i]
		sp.Status, sp.Result, sp.Finished = StatusDone, &res, now
		s.result.Stages = append(s.result.Stages, res)
	}
	p.publish()
	return nil
}

// keepPacing records what a phase learned of the org's limit: in the workflow, for the next
// phase, and in the run's memo (activities.MemoPacing), where the next sync's first phase
// finds it through visibility. Temporal keeps it, not the customer's Authomize app, and
// reading it costs no JumpCloud request. A memo that cannot be written only loses the start.
func (s *stages) keepPacing(p *activities.OrgPacing) {
	if p == nil {
		return
	}
	s.pacing = p
	if err := workflow.UpsertMemo(s.ctx, map[string]any{activities.MemoPacing: p}); err != nil {
		workflow.GetLogger(s.ctx).Warn("the org's learned JumpCloud rate was not kept in the memo", "error", err)
	}
}
