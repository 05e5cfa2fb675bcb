package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"jcsync/activities"
	"jcsync/internal/temporalnames"
)

// ValidateWorkflow checks an integration's credentials through a worker (which holds the
// secrets) without syncing anything, and whether the change watcher can read Directory
// Insights (a warning when it cannot).
func ValidateWorkflow(ctx workflow.Context, integration string) (*activities.ValidateResult, error) {
	ctx = workflow.WithActivityOptions(ctx, validateOptions(ctx))
	var r activities.ValidateResult
	if err := workflow.ExecuteActivity(ctx, activities.ActivityValidate, activities.ValidateInput{Integration: integration, Insights: true}).Get(ctx, &r); err != nil {
		return nil, fmt.Errorf("validate credentials: %w", err)
	}
	return &r, nil
}

// validateOptions is the options of the credential check: a wrong credential fails within
// seconds, a flaky network gets three tries. It runs on the checks queue of the run's task
// queue, whose slots no hours-long phase holds.
func validateOptions(ctx workflow.Context) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		TaskQueue:           checksQueue(ctx),
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3,
			NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
		},
	}
}

// checksQueue is the task queue of the credential checks of the run ctx belongs to: the
// checks queue of its own task queue (temporalnames.ChecksQueue), which the workers that
// run its syncs also poll.
func checksQueue(ctx workflow.Context) string {
	return temporalnames.ChecksQueue(workflow.GetInfo(ctx).TaskQueueName)
}
