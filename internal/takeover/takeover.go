package takeover

import (
	"context"
	"errors"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// ErrTypeWorkerRestarted is the type of the failure with which a restarted worker process
// ends an attempt its dead predecessor on the same host left running. It is retryable and
// retried at once: the next attempt resumes from the dead attempt's last heartbeat.
const ErrTypeWorkerRestarted = "WorkerRestarted"

// DefaultRetryDelay is how soon a taken-over attempt is retried: at once, in effect.
const DefaultRetryDelay = 200 * time.Millisecond

// DefaultMargin is how close to its heartbeat timeout an attempt is left alone: Temporal
// retries it by itself within that time, and failing it so late could, on a slow network,
// land on the retry that followed the timeout, which another worker may already run.
const DefaultMargin = 3 * time.Second

// Version is a worker deployment version; the zero Version is an unversioned worker.
type Version struct {
	Deployment string
	BuildID    string
}

// Config says who takes over what.
type Config struct {
	Client    client.Client
	Namespace string
	// Self is this process's identity: attempts of an earlier process of Self.Host are taken.
	Self Identity
	// Version is this worker's deployment version: only the runs pinned to it are touched,
	// the ones whose activities this build may run. Zero for an unversioned worker, which
	// touches only unversioned runs.
	Version Version
	// FailureConverter encodes the failure as every other failure of the namespace is
	// (encrypted messages with payload encryption on); nil is Temporal's default.
	FailureConverter converter.FailureConverter
	RetryDelay       time.Duration // DefaultRetryDelay when zero
	Margin           time.Duration // DefaultMargin when zero
	Now              func() time.Time
}

// Outcome is what was decided about one pending attempt last run under this host.
type Outcome struct {
	WorkflowID   string
	RunID        string
	ActivityID   string
	ActivityType string
	Attempt      int32
	// Predecessor is the identity of the process that ran the attempt.
	Predecessor string
	// Failed is true when the attempt was failed; Skipped says why it was not.
	Failed  bool
	Skipped string
}

// Run describes each workflow of workflowIDs that is running (the integrations' syncs) and
// fails every started attempt of its activities that an earlier process of this host left
// running. Workflows that do not exist or have ended are passed over. It returns what it
// decided about every attempt of this host's earlier processes, and the errors met, each of
// which leaves one workflow's attempts to their heartbeat timeout.
func Run(ctx context.Context, cfg Config, workflowIDs []string) ([]Outcome, error) {
	if cfg.FailureConverter == nil {
		cfg.FailureConverter = temporal.GetDefaultFailureConverter()
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = DefaultRetryDelay
	}
	if cfg.Margin <= 0 {
		cfg.Margin = DefaultMargin
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var out []Outcome
	var errs []error
	for _, id := range workflowIDs {
		desc, err := cfg.Client.DescribeWorkflow(ctx, id, "")
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("describe workflow %s: %w", id, err))
			continue
		}
		d := desc.RawResponse
		info := d.GetWorkflowExecutionInfo()
		if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			continue
		}
		runs := RunsOn(info.GetVersioningInfo(), cfg.Version)
		unstuck := false
		for _, pa := range d.GetPendingActivities() {
			prev, ok := Parse(pa.GetLastWorkerIdentity())
			if !ok || !cfg.Self.Predecessor(prev) {
				continue
			}
			o := Outcome{WorkflowID: id, RunID: info.GetExecution().GetRunId(), ActivityID: pa.GetActivityId(),
				ActivityType: pa.GetActivityType().GetName(), Attempt: pa.GetAttempt(), Predecessor: pa.GetLastWorkerIdentity()}
			if !runs {
				o.Skipped = "the run is not pinned to this worker's build, so this worker may not run it"
			} else {
				o.Skipped = skipReason(pa, cfg.Now(), cfg.Margin)
			}
			if o.Skipped == "" && !unstuck {
				// Without it the run's next workflow task waits 5 s more; the takeover
				// itself goes on.
				if err := resetSticky(ctx, cfg, o); err != nil {
					errs = append(errs, err)
				}
				unstuck = true
			}
			if o.Skipped == "" {
				switch err := fail(ctx, cfg, o, pa); {
				case errors.As(err, &notFound):
					o.Skipped = "the attempt ended before it was failed"
				case err != nil:
					o.Skipped = "failing it failed"
					errs = append(errs, err)
				default:
					o.Failed = true
				}
			}
			out = append(out, o)
		}
	}
	return out, errors.Join(errs...)
}

// skipReason says why a pending attempt of an earlier process of this host is left alone, or
// is empty when it is to be failed.
func skipReason(pa *workflowpb.PendingActivityInfo, now time.Time, margin time.Duration) string {
	if pa.GetState() != enumspb.PENDING_ACTIVITY_STATE_STARTED {
		return "no attempt is running (" + pa.GetState().String() + ")"
	}
	if pa.GetPaused() {
		return "the activity is paused"
	}
	hb := pa.GetActivityOptions().GetHeartbeatTimeout().AsDuration()
	if hb <= 0 {
		return ""
	}
	last := pa.GetLastStartedTime().AsTime()
	if t := pa.GetLastHeartbeatTime(); t != nil && t.AsTime().After(last) {
		last = t.AsTime()
	}
	if left := last.Add(hb).Sub(now); left < margin {
		return fmt.Sprintf("its heartbeat timeout runs out in %s: Temporal retries it then", left.Round(time.Millisecond))
	}
	return ""
}

// resetSticky sends the run's next workflow task to its task queue rather than to the dead
// process's sticky queue, where it would wait for the sticky schedule-to-start timeout (5 s)
// before Temporal gave up on that queue: measured, about 5 s more per kill after the phase's
// takeover. A live worker that held the run in its cache only replays its history once.
func resetSticky(ctx context.Context, cfg Config, o Outcome) error {
	_, err := cfg.Client.WorkflowService().ResetStickyTaskQueue(ctx, &workflowservice.ResetStickyTaskQueueRequest{
		Namespace: cfg.Namespace,
		Execution: &commonpb.WorkflowExecution{WorkflowId: o.WorkflowID, RunId: o.RunID},
	})
	if err != nil {
		return fmt.Errorf("reset the sticky task queue of workflow %s: %w", o.WorkflowID, err)
	}
	return nil
}

// fail ends the attempt with ErrTypeWorkerRestarted. It sends the attempt's last heartbeat
// (the checkpoint the next attempt resumes from) back with the failure: Server 1.29 keeps it
// for a failure without details too, but that is not a documented promise.
func fail(ctx context.Context, cfg Config, o Outcome, pa *workflowpb.PendingActivityInfo) error {
	cause := temporal.NewApplicationErrorWithOptions(fmt.Sprintf(
		"the worker process %s that ran attempt %d died (killed, out of memory or crashed); %s, the next process of host %s, failed the attempt so that the next one resumes from its checkpoint at once",
		o.Predecessor, o.Attempt, cfg.Self, cfg.Self.Host), ErrTypeWorkerRestarted,
		temporal.ApplicationErrorOptions{NextRetryDelay: cfg.RetryDelay, Category: temporal.ApplicationErrorCategoryBenign})
	_, err := cfg.Client.WorkflowService().RespondActivityTaskFailedById(ctx, &workflowservice.RespondActivityTaskFailedByIdRequest{
		Namespace:            cfg.Namespace,
		WorkflowId:           o.WorkflowID,
		RunId:                o.RunID,
		ActivityId:           o.ActivityID,
		Failure:              cfg.FailureConverter.ErrorToFailure(cause),
		Identity:             cfg.Self.String(),
		LastHeartbeatDetails: pa.GetHeartbeatDetails(),
	})
	if err != nil {
		return fmt.Errorf("fail attempt %d of activity %s (%s) of workflow %s: %w", o.Attempt, o.ActivityID, o.ActivityType, o.WorkflowID, err)
	}
	return nil
}

// RunsOn reports whether a worker of version v may take over a run's attempts: the run is
// pinned to v, or both are unversioned. A run pinned to another build has its activities
// dispatched to that build's workers only, and is left to them.
func RunsOn(vi *workflowpb.WorkflowExecutionVersioningInfo, v Version) bool {
	pinned := pinnedVersion(vi)
	if v == (Version{}) {
		return pinned == nil && vi.GetBehavior() == enumspb.VERSIONING_BEHAVIOR_UNSPECIFIED
	}
	return pinned != nil && pinned.GetDeploymentName() == v.Deployment && pinned.GetBuildId() == v.BuildID
}

// pinnedVersion is the version a run is pinned to, by an override or by its own behaviour;
// nil when it is not pinned.
func pinnedVersion(vi *workflowpb.WorkflowExecutionVersioningInfo) *deploymentpb.WorkerDeploymentVersion {
	if p := vi.GetVersioningOverride().GetPinned(); p != nil {
		return p.GetVersion()
	}
	if vi.GetVersioningOverride().GetAutoUpgrade() {
		return nil
	}
	if vi.GetBehavior() == enumspb.VERSIONING_BEHAVIOR_PINNED {
		return vi.GetDeploymentVersion()
	}
	return nil
}
