package workflows

import (
	"go.temporal.io/sdk/workflow"

	"jcsync/activities"
	"jcsync/internal/temporalnames"
)

// Syncs and checks run on their integration's own task queue
// (temporalnames.IntegrationQueue), which only workers holding the integration poll. A run
// started on the base task queue (a schedule or a starter from before that routing, or the
// Web UI's "Start workflow" with the documented queue) would otherwise wait there for good,
// or land on a worker that does not hold its integration. So every worker also polls the
// base queue, for workflow tasks only, with these stand-ins registered under the real
// workflow names: each continues as new, with the same workflow id and input, on the
// integration's queue, before anything of the integration is read. Continue-as-new keeps the
// id, so a sync under temporalnames.SyncID still holds the one-sync-per-integration lock,
// and a client waiting on the run follows it to the new one.

// HandOverSync is registered as SyncWorkflow on the base task queue: it moves the sync to
// its integration's queue.
func HandOverSync(ctx workflow.Context, in SyncInput) (*SyncResult, error) {
	if in.Integration == "" {
		return nil, errNoIntegration()
	}
	ctx = workflow.WithWorkflowTaskQueue(ctx, integrationQueueFrom(ctx, in.Integration))
	return nil, workflow.NewContinueAsNewError(ctx, temporalnames.SyncWorkflow, in)
}

// HandOverValidate is registered as ValidateWorkflow on the base task queue: it moves the
// check to its integration's queue.
func HandOverValidate(ctx workflow.Context, integration string) (*activities.ValidateResult, error) {
	if integration == "" {
		return nil, errNoIntegration()
	}
	ctx = workflow.WithWorkflowTaskQueue(ctx, integrationQueueFrom(ctx, integration))
	return nil, workflow.NewContinueAsNewError(ctx, temporalnames.ValidateWorkflow, integration)
}

// integrationQueueFrom is the integration's queue under the base queue this run was started
// on.
func integrationQueueFrom(ctx workflow.Context, integration string) string {
	return temporalnames.IntegrationQueue(workflow.GetInfo(ctx).TaskQueueName, integration)
}

// RegisterHandOver registers the stand-ins under the workflow names, for the worker of the
// base task queue (never beside RegisterWorkflows on one worker).
func RegisterHandOver(r WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(HandOverSync, workflow.RegisterOptions{Name: temporalnames.SyncWorkflow})
	r.RegisterWorkflowWithOptions(HandOverValidate, workflow.RegisterOptions{Name: temporalnames.ValidateWorkflow})
}
