package workflows

import (
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"jcsync/internal/temporalnames"
)

// runAsIntegration runs the sync as a child under the integration's own workflow id
// (temporalnames.SyncID), which Temporal lets only one open workflow hold. When a sync of the
// integration is already running (a manual one while the schedule fires, say), this one does
// nothing and says which workflow is syncing.
func runAsIntegration(ctx workflow.Context, in SyncInput) (*SyncResult, error) {
	id := temporalnames.SyncID(in.Integration)
	if err := workflow.UpsertTypedSearchAttributes(ctx, temporalnames.IntegrationKey.ValueSet(in.Integration)); err != nil {
		return nil, fmt.Errorf("set search attribute: %w", err)
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: id,
		// Cancelling or terminating this workflow cancels the sync it started.
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	})
	f := workflow.ExecuteChildWorkflow(cctx, SyncWorkflow, in)
	if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			msg := fmt.Sprintf("not run: another sync of %q is running as workflow %s; this one did nothing", in.Integration, id)
			workflow.GetLogger(ctx).Info(msg)
			return &SyncResult{Integration: in.Integration, DryRun: in.DryRun, NotRun: msg, Warnings: []string{msg},
				StartedAt: workflow.Now(ctx), FinishedAt: workflow.Now(ctx)}, nil
		}
		return nil, fmt.Errorf("start the sync as workflow %s: %w", id, err)
	}
	var r SyncResult
	if err := f.Get(ctx, &r); err != nil {
		return nil, fmt.Errorf("sync %s: %w", id, err)
	}
	r.RanAs = id
	return &r, nil
}
