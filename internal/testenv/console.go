package testenv

import (
	"context"
	"fmt"
	"time"

	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"jcsync/internal/temporalnames"
)

// Console is what the Web UI shows of a run: its static summary and details (the user
// metadata of DescribeWorkflowExecution) and its outcome search attributes.
type Console struct {
	Summary, Details string
	Outcome          string
	HasOutcome       bool
	Users            int64
}

// ReadConsole describes a run as the Web UI does.
func ReadConsole(ctx context.Context, c client.Client, id, runID string) (Console, error) {
	d, err := c.DescribeWorkflow(ctx, id, runID)
	if err != nil {
		return Console{}, fmt.Errorf("describe %s: %w", id, err)
	}
	var out Console
	if out.Summary, err = d.GetStaticSummary(); err != nil {
		return out, fmt.Errorf("static summary of %s: %w", id, err)
	}
	if out.Details, err = d.GetStaticDetails(); err != nil {
		return out, fmt.Errorf("static details of %s: %w", id, err)
	}
	sa := d.TypedSearchAttributes
	out.Outcome, out.HasOutcome = sa.GetKeyword(temporalnames.OutcomeKey)
	out.Users, _ = sa.GetInt64(temporalnames.UsersKey)
	return out, nil
}

// CurrentDetails asks a run for its current details through the SDK's metadata query, as the
// Web UI does.
func CurrentDetails(ctx context.Context, c client.Client, id, runID string) (string, error) {
	resp, err := c.QueryWorkflow(ctx, id, runID, temporalnames.MetadataQuery)
	if err != nil {
		return "", fmt.Errorf("metadata query of %s: %w", id, err)
	}
	var md sdkpb.WorkflowMetadata
	if err := resp.Get(&md); err != nil {
		return "", fmt.Errorf("decode the metadata of %s: %w", id, err)
	}
	return md.GetCurrentDetails(), nil
}

// WaitListed waits until the visibility query lists the workflow id (visibility follows the
// workflow after a moment).
func WaitListed(ctx context.Context, c client.Client, query, id string) error {
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err == nil {
			for _, e := range resp.GetExecutions() {
				if e.GetExecution().GetWorkflowId() == id {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s is not listed by %q (last error: %v)", id, query, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
