package workflows

import (
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"jcsync/activities"
	"jcsync/internal/temporalnames"
)

// runAsIntegration runs the sync as a child under the integration's own workflow id
// (temporalnames.SyncID), which Temporal lets only one open workflow hold. When a sync of the
// integration is already running (a manual one while the schedule fires, say), this one does
// nothing and says which workflow is syncing.
//
// With console (changeConsole), it first checks the credentials itself, so that the sync it
// starts carries a static summary and details naming the JumpCloud org and the Authomize app:
// whoever started this run (a schedule, the Web UI) knows only the integration's name, and
// the worker's configuration is the only place that knows the rest. It also sets the outcome
// search attributes and current details of this run when the sync ends.
func runAsIntegration(ctx workflow.Context, in SyncInput, console bool) (*SyncResult, error) {
	id := temporalnames.SyncID(in.Integration)
	if !console {
		if err := setIntegration(ctx, in); err != nil {
			return nil, err
		}
	}
	end := func(r *SyncResult, err error) (*SyncResult, error) {
		if console && !searchAttributesMissing(err) {
			o := outcomeOf(r, err)
			var read map[string]int
			if r != nil {
				read = r.Read
			}
			upsertOutcome(ctx, o, read)
			workflow.SetCurrentDetails(ctx, handOverDetails(id, o, r, err))
		}
		return r, err
	}
	opts := workflow.ChildWorkflowOptions{
		WorkflowID: id,
		// Cancelling or terminating this workflow cancels the sync it started.
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}
	if console {
		workflow.SetCurrentDetails(ctx, "**Phase: validate** — checking the credentials before starting the sync as workflow `"+id+"`")
		var v activities.ValidateResult
		p := &Progress{console: true, heartbeat: in.HeartbeatTimeout}
		if err := workflow.ExecuteActivity(p.short(ctx, 3, summaryValidate), activities.ActivityValidate, activities.ValidateInput{Integration: in.Integration}).Get(ctx, &v); err != nil {
			return end(nil, fmt.Errorf("validate credentials: %w", err))
		}
		if err := setIntegration(ctx, in); err != nil {
			return end(nil, err)
		}
		opts.StaticSummary, opts.StaticDetails = Summary(in, &v), Details(in, &v)
		workflow.SetCurrentDetails(ctx, fmt.Sprintf("**Running as workflow `%s`**: its page shows the live progress. %s", id, Summary(in, &v)))
	}
	f := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, opts), SyncWorkflow, in)
	if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			msg := fmt.Sprintf("not run: another sync of %q is running as workflow %s; this one did nothing", in.Integration, id)
			workflow.GetLogger(ctx).Info(msg)
			return end(&SyncResult{Integration: in.Integration, DryRun: in.DryRun, NotRun: msg, Warnings: []string{msg},
				StartedAt: workflow.Now(ctx), FinishedAt: workflow.Now(ctx)}, nil)
		}
		return end(nil, fmt.Errorf("start the sync as workflow %s: %w", id, err))
	}
	var r SyncResult
	if err := f.Get(ctx, &r); err != nil {
		return end(nil, fmt.Errorf("sync %s: %w", id, err))
	}
	r.RanAs = id
	return end(&r, nil)
}

// handOverDetails is the final current details of a run that handed over to the sync's own
// workflow.
func handOverDetails(id, outcome string, r *SyncResult, err error) string {
	switch {
	case err != nil:
		return fmt.Sprintf("**Outcome: %s.** %s", outcome, clip(err.Error(), 500))
	case r.NotRun != "":
		return fmt.Sprintf("**Outcome: %s.** %s", outcome, r.NotRun)
	}
	return fmt.Sprintf("**Outcome: %s.** Synced as workflow `%s`: read %s; its page has the details.", outcome, id, countsLine(r.Read, "users", "groups", "apps"))
}
