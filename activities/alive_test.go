package activities

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// slowShortActivity stands for validate, baseline or sweep waiting on a slow answer.
func slowShortActivity(ctx context.Context) error {
	defer stayAlive(ctx)()
	time.Sleep(1200 * time.Millisecond)
	return nil
}

func runSlowShort(t *testing.T, heartbeatTimeout time.Duration) int64 {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivityWithOptions(slowShortActivity, activity.RegisterOptions{Name: "slowShort"})
	var beats atomic.Int64
	env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) { beats.Add(1) })
	env.ExecuteWorkflow(func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, HeartbeatTimeout: heartbeatTimeout})
		return workflow.ExecuteActivity(ctx, "slowShort").Get(ctx, nil)
	})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("heartbeat timeout %s: %v", heartbeatTimeout, err)
	}
	return beats.Load()
}

// A short activity given a heartbeat timeout heartbeats while it waits, so a dead worker is
// noticed within that timeout; one scheduled without (an older run's) sends none.
func TestShortActivitiesStayAlive(t *testing.T) {
	if n := runSlowShort(t, 600*time.Millisecond); n < 2 {
		t.Errorf("heartbeat timeout 600ms: %d heartbeats in 1.2 s of waiting, want a few (every 200ms)", n)
	}
	if n := runSlowShort(t, 0); n != 0 {
		t.Errorf("no heartbeat timeout: %d heartbeats, want none", n)
	}
}
