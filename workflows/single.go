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
// It first checks the credentials itself, so that the sync it starts carries a static summary
// and details naming the JumpCloud org and the Authomize app: whoever started this run (a
// schedule, the Web UI) knows only the integration's name, and the worker's configuration is
// the only place that knows the rest.
//
// Each sync is counted once in list queries: when the child ran, it carries the outcome and
// counts search attributes, and this run only the integration's (so it is still found by
// integration). When no sync ran (the credentials were refused, another sync was running,
// the child could not start), this run is the only record of the attempt and carries the
// outcome itself.
func runAsIntegration(ctx workflow.Context, in SyncInput) (*SyncResult, error) {
	id := temporalnames.SyncID(in.Integration)
	childRan, integrationSet := false, false
	end := func(r *SyncResult, err error) (*SyncResult, error) {
		o := outcomeOf(r, err)
		// A namespace without the search attributes takes no upsert: the workflow task
		// would fail again and again (the check's own error says what to create).
		if !childRan && !searchAttributesMissing(err) {
			if !integrationSet {
				_ = setIntegration(ctx, in)
			}
			upsertOutcomeOnly(ctx, o)
		}
		workflow.SetCurrentDetails(ctx, handOverDetails(id, o, r, err))
		pauseIfLasting(ctx, in, err)
		return r, err
	}
	opts := workflow.ChildWorkflowOptions{
		WorkflowID: id,
		// Cancelling or terminating this workflow cancels the sync it started.
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}
	workflow.SetCurrentDetails(ctx, "**Phase: validate** — checking the credentials before starting the sync as workflow `"+id+"`")
	var v activities.ValidateResult
	p := &Progress{heartbeat: in.HeartbeatTimeout}
	if err := workflow.ExecuteActivity(p.check(ctx), activities.ActivityValidate, activities.ValidateInput{Integration: in.Integration}).Get(ctx, &v); err != nil {
		return end(nil, fmt.Errorf("validate credentials: %w", err))
	}
	// The check also found the namespace's search attributes: the first upsert comes after it.
	if err := setIntegration(ctx, in); err != nil {
		return end(nil, err)
	}
	integrationSet = true
	opts.StaticSummary, opts.StaticDetails = Summary(in, &v), Details(in, &v)
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("**Running as workflow `%s`**: its page shows the live progress. %s", id, Summary(in, &v)))
	// This run pauses the schedule when the sync fails for good: it sees the child's failure
	// as well as its own, and one pause is enough.
	child := in
	child.PauseOnFailure = false
	f := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, opts), SyncWorkflow, child)
	if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			msg := fmt.Sprintf("not run: another sync of %q is running as workflow %s; this one did nothing", in.Integration, id)
			workflow.GetLogger(ctx).Info(msg)
			return end(&SyncResult{Integration: in.Integration, DryRun: in.DryRun, NotRun: msg, Warnings: []string{msg},
				StartedAt: workflow.Now(ctx), FinishedAt: workflow.Now(ctx)}, nil)
		}
		return end(nil, fmt.Errorf("start the sync as workflow %s: %w", id, err))
	}
	childRan = true
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
