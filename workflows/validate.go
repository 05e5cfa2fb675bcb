package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"jcsync/activities"
)

// ValidateWorkflow checks an integration's credentials through a worker (which holds the
// secrets) without syncing anything.
func ValidateWorkflow(ctx workflow.Context, integration string) (*activities.ValidateResult, error) {
	ctx = workflow.WithActivityOptions(ctx, validateOptions())
	var r activities.ValidateResult
	if err := workflow.ExecuteActivity(ctx, activities.ActivityValidate, activities.ValidateInput{Integration: integration}).Get(ctx, &r); err != nil {
		return nil, fmt.Errorf("validate credentials: %w", err)
	}
	return &r, nil
}

// validateOptions is the options of the credential check: a wrong credential fails within
// seconds, a flaky network gets three tries.
func validateOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3,
			NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
		},
	}
}
