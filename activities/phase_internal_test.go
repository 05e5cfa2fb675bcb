package activities

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// A stage that panics inside a phase fails the phase with a retryable error that names the
// stage and carries the stack; the worker (here, the test) goes on, and so does the other
// stage, whose work is kept for the retry.
func TestPhaseStagePanicIsAnError(t *testing.T) {
	adminsDone := make(chan struct{})
	a := &Activities{stageOverride: func(stage string) func(context.Context, StageInput) (StageResult, error) {
		if stage == StageUsers {
			return func(context.Context, StageInput) (StageResult, error) {
				panic("a bug in the users stage")
			}
		}
		return func(context.Context, StageInput) (StageResult, error) {
			close(adminsDone)
			return StageResult{Stage: stage}, nil
		}
	}}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a.Phase)
	_, err := env.ExecuteActivity(a.Phase, PhaseInput{Stages: []string{StageUsers, StageAdmins}})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.NonRetryable() {
		t.Fatalf("want a retryable application error, got %v", err)
	}
	if !strings.Contains(err.Error(), "users stage panicked") {
		t.Fatalf("the error does not name the stage that panicked: %v", err)
	}
	select {
	case <-adminsDone:
	default:
		t.Fatal("the admins stage did not run to its end beside the panicking one")
	}
}

// A stage with no checkpoint in its phase's composite (it failed before its first heartbeat)
// starts its count of attempts without progress where the phase's stands, so its first
// heartbeat cannot pass this attempt off as progress; with its own checkpoint it resumes
// that one.
func TestStageInPhaseStartsFromThePhaseProgress(t *testing.T) {
	mine := Checkpoint{Version: CheckpointVersion, NextSkip: 300, Tail: []string{"5c0000000000000000000300"}, ProgressAttempt: 2}
	ctx := withPhaseSlot(context.Background(), &phaseSlot{progressAttempt: 1, resume: map[string]Checkpoint{StageAdmins: mine}})
	s := &stageRun{name: StageUsers, attempt: 4, a: &Activities{}}
	s.resumeFrom(ctx)
	if s.cp.ProgressAttempt != 1 || s.cp.NextSkip != 0 {
		t.Fatalf("a stage without a checkpoint resumed with progress attempt %d and cursor %d; want 1 and 0", s.cp.ProgressAttempt, s.cp.NextSkip)
	}
	s = &stageRun{name: StageAdmins, attempt: 4, a: &Activities{}}
	s.resumeFrom(ctx)
	if s.cp.ProgressAttempt != 2 || s.cp.NextSkip != 300 {
		t.Fatalf("a stage with a checkpoint resumed with progress attempt %d and cursor %d; want 2 and 300", s.cp.ProgressAttempt, s.cp.NextSkip)
	}
}
