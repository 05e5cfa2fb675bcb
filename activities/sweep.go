package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"jcsync/internal/counts"
	"jcsync/internal/temporalnames"
)

// MemoCounts is the memo key under which a successful sync of an earlier connector version
// (before the baseline moved into the Authomize app) left its counts.
const MemoCounts = "jcsync.counts"

// Baseline is what the last successful sync of an integration read from JumpCloud.
type Baseline struct {
	Found      bool          `json:"found"`
	WorkflowID string        `json:"workflowId,omitempty"`
	RunID      string        `json:"runId,omitempty"`
	ClosedAt   time.Time     `json:"closedAt,omitempty"`
	Counts     counts.Counts `json:"counts,omitempty"`
}

// lastSuccessfulSync finds the integration's last completed sync through Temporal's
// visibility store and reads the counts it left in its memo: the baseline of a connector
// version that kept it there, which ReadBaseline moves into the Authomize app.
func (a *Activities) lastSuccessfulSync(ctx context.Context, integration string) (Baseline, error) {
	if a.Temporal == nil {
		return Baseline{}, nil
	}
	q := temporalnames.IntegrationQuery(integration, temporalnames.IsCompleted)
	resp, err := a.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, PageSize: 20})
	if err != nil {
		return Baseline{}, fmt.Errorf("find the last successful sync of %q: %w", integration, err)
	}
	dc := a.DataConverter
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	var best Baseline
	for _, ex := range resp.GetExecutions() {
		p, ok := ex.GetMemo().GetFields()[MemoCounts]
		if !ok {
			continue
		}
		closed := ex.GetCloseTime().AsTime()
		if best.Found && !closed.After(best.ClosedAt) {
			continue
		}
		var c counts.Counts
		if err := dc.FromPayload(p, &c); err != nil {
			return Baseline{}, fmt.Errorf("read the counts of the last successful sync %s: %w", ex.GetExecution().GetWorkflowId(), err)
		}
		best = Baseline{Found: true, WorkflowID: ex.GetExecution().GetWorkflowId(), RunID: ex.GetExecution().GetRunId(), ClosedAt: closed, Counts: c}
	}
	return best, nil
}

// DefaultSweepMargin is how far before the run's first acceptedTimestamp the sweep's cutoff
// lies. Authomize may stamp a record a moment before it computes the acceptedTimestamp it
// returns, or store coarser times; a record written by this run must never fall before the
// cutoff. What the margin costs is that records last written by a sync that ended less than
// the margin before this one started are removed one sync later.
const DefaultSweepMargin = 2 * time.Minute

// SweepInput says what to delete: every record of the app last modified before Cutoff.
type SweepInput struct {
	Integration string `json:"integration"`
	// Cutoff is already the run's first acceptedTimestamp less the sweep margin.
	Cutoff time.Time `json:"cutoff"`
}

// Sweep deletes from Authomize what this run did not re-send. The workflow calls it only
// after every stage succeeded and the safety checks passed.
func (a *Activities) Sweep(ctx context.Context, in SweepInput) error {
	defer stayAlive(ctx)()
	if in.Cutoff.IsZero() {
		return temporal.NewNonRetryableApplicationError("sweep without a cutoff would delete every record of the app; refused", ErrTypeSweepRefused, nil)
	}
	az, err := a.authomizeOf(in.Integration)
	if err != nil {
		return err
	}
	if err := az.DeleteData(ctx, in.Cutoff); err != nil {
		return classify(fmt.Errorf("sweep records modified before %s: %w", in.Cutoff.Format(time.RFC3339Nano), err))
	}
	a.logger(ctx).WithFields(map[string]any{"integration": in.Integration, "cutoff": in.Cutoff}).Info("sweep done")
	return nil
}
