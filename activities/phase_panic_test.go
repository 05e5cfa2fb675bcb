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
				var m map[string]int
				m["boom"]++ // a nil map: the kind of bug that panics
				return StageResult{}, nil
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
