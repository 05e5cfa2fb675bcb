package routing

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"jcsync/internal/temporalnames"
	"jcsync/workflows"
)

// StartWatcher makes sure the change watcher of an integration that has a schedule runs, on
// the integration's task queue: it starts one, or finds the one running (the watcher's id
// makes them one). ok is false when the integration has no schedule: the watcher follows
// the schedule and would end at once.
// Every worker that holds the integration does this at start, and `starter schedule create`
// after creating the schedule; the watcher's id makes them one.
func StartWatcher(ctx context.Context, c client.Client, base, integration string) (ok bool, err error) {
	_, err = c.ScheduleClient().GetHandle(ctx, temporalnames.ScheduleID(integration)).Describe(ctx)
	if err != nil {
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			return false, nil
		}
		return false, fmt.Errorf("describe schedule %s: %w", temporalnames.ScheduleID(integration), err)
	}
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       temporalnames.WatchID(integration),
		TaskQueue:                temporalnames.IntegrationQueue(base, integration),
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    temporalnames.IntegrationAttributes(integration),
		StaticSummary:            "Change watcher of " + integration,
		StaticDetails:            "Applies JumpCloud's Directory Insights changes to Authomize between the scheduled syncs, and starts a full sync for removals (docs/change-driven-syncs.md).",
	}, temporalnames.WatchWorkflow, workflows.WatchInput{Integration: integration})
	if err != nil {
		return false, fmt.Errorf("start the change watcher of %s: %w", integration, err)
	}
	return true, nil
}
