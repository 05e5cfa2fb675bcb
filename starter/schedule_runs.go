package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"jcsync/internal/temporalnames"
	"jcsync/workflows"
)

// recentRun is one run a schedule started, and how it went.
type recentRun struct {
	WorkflowID  string    `json:"workflowId"`
	RunID       string    `json:"runId"`
	ScheduledAt time.Time `json:"scheduledAt"`
	// Status is the run's own (Running, Completed, Failed, ...).
	Status string `json:"status"`
	// Outcome is the JCSyncOutcome of the sync the run handed over to (swept, failed, ...),
	// or the run's own, or else its status in words: running, completed, failed, ...
	Outcome string `json:"outcome"`
	// RanAs is the workflow id of the sync the run handed over to, when it did.
	RanAs string `json:"ranAs,omitempty"`
}

// recentRunOf finds how a scheduled run went. A scheduled run checks the credentials and
// hands the sync over to a child under the integration's own workflow id
// (temporalnames.SyncID), and the sync records its outcome on itself; so the outcome is read
// from that child (found in the run's history, which names the child's run), then from the
// run itself, and else it is the status. A run that found another sync running started no
// child: its result says not-run.
func recentRunOf(ctx context.Context, tc client.Client, workflowID, runID string) recentRun {
	r := recentRun{WorkflowID: workflowID, RunID: runID}
	described, err := tc.DescribeWorkflow(ctx, workflowID, runID)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			r.Outcome = "gone (past the namespace's retention)"
		} else {
			r.Outcome = "unknown (" + err.Error() + ")"
		}
		return r
	}
	desc := described.RawResponse
	info := desc.GetWorkflowExecutionInfo()
	r.Status = info.GetStatus().String()
	own := outcomeAttribute(info.GetSearchAttributes())

	child, err := handedOverTo(ctx, tc, desc, workflowID, runID)
	if err == nil && child != nil {
		r.RanAs = child.GetWorkflowId()
		if cd, err := tc.DescribeWorkflow(ctx, child.GetWorkflowId(), child.GetRunId()); err == nil {
			ci := cd.RawResponse.GetWorkflowExecutionInfo()
			if o := outcomeAttribute(ci.GetSearchAttributes()); o != "" {
				r.Outcome = o
				return r
			}
			if own == "" {
				r.Outcome = statusWord(ci.GetStatus())
				return r
			}
		}
	}
	switch {
	case own != "":
		r.Outcome = own
	case info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED && notRun(ctx, tc, workflowID, runID):
		r.Outcome = temporalnames.OutcomeNotRun
	default:
		r.Outcome = statusWord(info.GetStatus())
	}
	return r
}

// handedOverTo is the sync a scheduled run started as its child, if any: while the run is
// open, its pending child; after, the child its history records.
func handedOverTo(ctx context.Context, tc client.Client, desc *workflowservice.DescribeWorkflowExecutionResponse, workflowID, runID string) (*commonpb.WorkflowExecution, error) {
	if pending := desc.GetPendingChildren(); len(pending) > 0 {
		return &commonpb.WorkflowExecution{WorkflowId: pending[0].GetWorkflowId(), RunId: pending[0].GetRunId()}, nil
	}
	it := tc.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("read the history of %s: %w", workflowID, err)
		}
		if a := ev.GetChildWorkflowExecutionStartedEventAttributes(); a != nil {
			return a.GetWorkflowExecution(), nil
		}
	}
	return nil, nil
}

// notRun reports whether a completed run did not sync because another sync of the
// integration was running.
func notRun(ctx context.Context, tc client.Client, workflowID, runID string) bool {
	var res workflows.SyncResult
	if err := tc.GetWorkflow(ctx, workflowID, runID).Get(ctx, &res); err != nil {
		return false
	}
	return res.NotRun != ""
}

// outcomeAttribute is the JCSyncOutcome search attribute among attrs, or "".
func outcomeAttribute(attrs *commonpb.SearchAttributes) string {
	p := attrs.GetIndexedFields()[temporalnames.SearchAttrOutcome]
	if p == nil {
		return ""
	}
	var o string
	// Search attributes are never encrypted: the default converter reads them.
	if err := converter.GetDefaultDataConverter().FromPayload(p, &o); err != nil {
		return ""
	}
	return o
}

// statusWord is a workflow status as a word like the outcomes: running, failed, timed-out.
func statusWord(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "timed-out"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return "continued-as-new"
	}
	return strings.ToLower(s.String())
}
