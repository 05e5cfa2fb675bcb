package takeover

import (
	"context"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"jcsync/internal/testenv"
)

// holdWorkflow runs holdActivity and returns what its last attempt resumed from.
func holdWorkflow(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour, HeartbeatTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second},
	})
	var resumed string
	err := workflow.ExecuteActivity(ctx, holdActivity).Get(ctx, &resumed)
	return resumed, err
}

// holdActivity records a checkpoint and then holds its attempt, as a phase whose worker has
// died looks to Temporal; a later attempt returns the checkpoint it resumed from.
func holdActivity(ctx context.Context) (string, error) {
	if activity.GetInfo(ctx).Attempt > 1 {
		var cp string
		if err := activity.GetHeartbeatDetails(ctx, &cp); err != nil {
			return "", err
		}
		return cp, nil
	}
	activity.RecordHeartbeat(ctx, "checkpoint-7")
	<-ctx.Done()
	return "", ctx.Err()
}

// TestRunFailsOnlyThePredecessorsAttempts runs against a real dev server: an attempt held
// under this host with another start token is failed with ErrTypeWorkerRestarted and retried
// from its checkpoint; one of another host is never touched; a run this worker's build may
// not run is left alone.
func TestRunFailsOnlyThePredecessorsAttempts(t *testing.T) {
	tp, err := testenv.StartTemporal(testenv.TemporalCLI(t), "")
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Stop()
	c := tp.Client
	self := Identity{PID: 2, Host: "pod-a", Token: "new"}
	dead := Identity{PID: 1, Host: "pod-a", Token: "old"}
	other := Identity{PID: 1, Host: "pod-b", Token: "old"}
	for queue, id := range map[string]Identity{"q-dead": dead, "q-other": other} {
		w := worker.New(c, queue, worker.Options{Identity: id.String()})
		w.RegisterWorkflow(holdWorkflow)
		w.RegisterActivity(holdActivity)
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := func(id, queue string) client.WorkflowRun {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, holdWorkflow)
		if err != nil {
			t.Fatal(err)
		}
		// Held, with its checkpoint recorded.
		for {
			d, err := c.DescribeWorkflow(ctx, id, "")
			if err != nil {
				t.Fatal(err)
			}
			if pas := d.RawResponse.GetPendingActivities(); len(pas) == 1 && len(pas[0].GetHeartbeatDetails().GetPayloads()) > 0 {
				return run
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	deadRun, otherRun := start("wf-dead", "q-dead"), start("wf-other", "q-other")
	ids := []string{"wf-dead", "wf-other", "wf-missing"}

	// A versioned worker leaves these unversioned runs alone: it cannot tell they are its to run.
	out, err := Run(ctx, Config{Client: c, Namespace: "default", Self: self, Version: Version{Deployment: "jcsync", BuildID: "b1"}}, ids)
	if err != nil || len(out) != 1 || out[0].Failed || out[0].WorkflowID != "wf-dead" || out[0].Skipped == "" {
		t.Fatalf("versioned worker: %+v, %v; want the predecessor's attempt seen and skipped", out, err)
	}

	out, err = Run(ctx, Config{Client: c, Namespace: "default", Self: self}, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || !out[0].Failed || out[0].WorkflowID != "wf-dead" || out[0].Predecessor != dead.String() {
		t.Fatalf("outcomes %+v: want the predecessor's attempt failed, and nothing else", out)
	}
	var resumed string
	if err := deadRun.Get(ctx, &resumed); err != nil || resumed != "checkpoint-7" {
		t.Fatalf("the retry resumed from %q (%v), want the dead attempt's checkpoint", resumed, err)
	}
	it := c.GetWorkflowHistory(ctx, "wf-dead", "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := e.GetActivityTaskStartedEventAttributes(); a != nil {
			f := a.GetLastFailure()
			if a.GetAttempt() != 2 || f.GetApplicationFailureInfo().GetType() != ErrTypeWorkerRestarted || !strings.Contains(f.GetMessage(), self.String()) {
				t.Errorf("the last attempt is %d after %q (%s); want 2, after %s sent by %s", a.GetAttempt(),
					f.GetApplicationFailureInfo().GetType(), f.GetMessage(), ErrTypeWorkerRestarted, self)
			}
		}
	}

	d, err := c.DescribeWorkflow(ctx, "wf-other", otherRun.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	pas := d.RawResponse.GetPendingActivities()
	if len(pas) != 1 || pas[0].GetAttempt() != 1 || pas[0].GetLastFailure() != nil || pas[0].GetState() != enumspb.PENDING_ACTIVITY_STATE_STARTED {
		t.Errorf("the attempt of another host was touched: %v", pas)
	}
}
