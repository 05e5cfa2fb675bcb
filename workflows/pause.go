package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"jcsync/activities"
	"jcsync/internal/temporalnames"
)

// LastingFailureTypes are the error types of failures that will not pass by themselves: every
// later run of the schedule would fail the same way until someone changes the credentials,
// the configuration or the app. A scheduled run (SyncInput.PauseOnFailure) that fails with one
// of them pauses its schedule.
//   - activities.ErrTypeCredentials: JumpCloud or Authomize refused the key, token or service
//     account, or the Authomize app does not exist.
//   - activities.ErrTypeConfig: the integration is not configured on the worker, or its
//     configuration cannot work (no app id, a client that cannot be built).
//   - activities.ErrTypeOrgMismatch: the Authomize app holds another JumpCloud org's data.
//
// Everything else leaves the schedule running: timeouts, outages and retries exhausted
// (StageStalled, TransientAPIError) pass; a PermanentAPIError concerns one request of one
// list, which the next run may not make; a refused sweep (shrink, rejected items, no
// baseline) uploaded everything it read and is judged again by the next run, whose outcome
// the operator sees in the list.
var LastingFailureTypes = []string{activities.ErrTypeCredentials, activities.ErrTypeConfig, activities.ErrTypeOrgMismatch}

// lastingFailure is the application error in err's chain whose type is a failure that
// lasts, nil when there is none. The chain is walked whole: a sync's failure reaches the run
// that handed over to it wrapped in errors of its own (the child's, the phase's), which the
// failure converter turns into application errors of other types. A timeout is never a
// failure that lasts, whatever failure it carries as its cause.
func lastingFailure(err error) *temporal.ApplicationError {
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch x := e.(type) {
		case *temporal.TimeoutError:
			return nil
		case *temporal.ApplicationError:
			if slices.Contains(LastingFailureTypes, x.Type()) {
				return x
			}
		}
	}
	return nil
}

// pauseIfLasting pauses the integration's schedule when the run was asked to
// (in.PauseOnFailure) and err is a failure that lasts, with a note naming this run and the
// reason. A pause that fails is logged: the run still fails with err, and the next
// scheduled run tries again.
func pauseIfLasting(ctx workflow.Context, in SyncInput, err error) {
	cause := lastingFailure(err)
	if !in.PauseOnFailure || cause == nil || in.Integration == "" {
		return
	}
	info := workflow.GetInfo(ctx)
	pause := activities.PauseScheduleInput{
		ScheduleID: temporalnames.ScheduleID(in.Integration),
		Note: clip(fmt.Sprintf("paused by workflow %s (run %s) at %s, which failed with %s: %s. Fix the cause, then `starter schedule unpause --integration %s`",
			info.WorkflowExecution.ID, info.WorkflowExecution.RunID, workflow.Now(ctx).UTC().Format(time.RFC3339), cause.Type(), cause.Message(), in.Integration), 1000),
	}
	actx := workflow.WithActivityOptions(ctx, shortActivity(5, in.HeartbeatTimeout))
	actx = withSummary(actx, summaryPause)
	if perr := workflow.ExecuteActivity(actx, activities.ActivityPauseSchedule, pause).Get(ctx, nil); perr != nil {
		workflow.GetLogger(ctx).Error("could not pause the schedule after a failure that lasts", "schedule", pause.ScheduleID, "error", perr)
	}
}
