package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"jcsync/activities"
)

// ValidateWorkflowName is the registered name of ValidateWorkflow.
const ValidateWorkflowName = "ValidateWorkflow"

// ValidateWorkflow checks an integration's credentials through a worker (which holds the
// secrets) without syncing anything.
func ValidateWorkflow(ctx workflow.Context, integration string) (*activities.ValidateResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3,
			NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
		},
	})
	var r activities.ValidateResult
	if err := workflow.ExecuteActivity(ctx, acts.Validate, activities.ValidateInput{Integration: integration}).Get(ctx, &r); err != nil {
		return nil, fmt.Errorf("validate credentials: %w", err)
	}
	return &r, nil
}
