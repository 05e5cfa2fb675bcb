package workflows

import (
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"jcsync/activities"
)

// stages runs the stage activities of one sync, with the activity options of ctx, and
// gathers their results into the sync's result.
type stages struct {
	ctx      workflow.Context
	progress *Progress
	result   *SyncResult
	in       activities.StageInput
}

func newStages(ctx workflow.Context, p *Progress, r *SyncResult, in activities.StageInput) *stages {
	return &stages{ctx: ctx, progress: p, result: r, in: in}
}

// run runs one phase: its stages in parallel. The first failure cancels the others: the
// sync will not sweep anyway, and a fast failure is what the operator needs.
func (s *stages) run(phase ...string) error {
	ctx, p := s.ctx, s.progress
	cctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	sel := workflow.NewSelector(ctx)
	var firstErr error
	results := map[string]activities.StageResult{}
	for _, stage := range phase {
		sp := p.stage(stage)
		sp.Status, sp.Started = StatusRunning, workflow.Now(ctx)
		f := workflow.ExecuteActivity(p.withSummary(cctx, stageSummaries[stage]), activities.StageActivity[stage], s.in)
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
			p.publish()
		})
	}
	p.enter(strings.Join(phase, "+"))
	for range phase {
		sel.Select(ctx)
	}
	if firstErr != nil {
		for i := range p.Stages {
			if p.Stages[i].Status == StatusPending {
				p.Stages[i].Status = StatusSkipped
			}
		}
		return firstErr
	}
	for _, stage := range phase {
		s.result.Stages = append(s.result.Stages, results[stage])
	}
	return nil
}

func isCancel(err error) bool {
	var c *temporal.CanceledError
	return errors.As(err, &c)
}
