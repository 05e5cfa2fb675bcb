package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"jcsync/activities"
	"jcsync/internal/temporalnames"
)

// stageMocks names the mock of each stage in a harness: tests override a stage by this name,
// and find when it ran by it in the recorder.
var stageMocks = map[string]string{
	activities.StageUsers:  "Users",
	activities.StageAdmins: "Admins",
	activities.StageGroups: "Groups",
	activities.StageApps:   "Apps",
}

func isStageMock(name string) bool {
	for _, m := range stageMocks {
		if m == name {
			return true
		}
	}
	return false
}

// phaseOfMocks is a Phase activity that runs the mocked stage activities of its stages, one
// after the other, noting each in rec as if it ran on its own, and fails the way Phase does:
// with the stage's error type, naming the stage, the finished stages in its details.
func phaseOfMocks(rec *recorder, mocks map[string]any) func(context.Context, activities.PhaseInput) (activities.PhaseResult, error) {
	return func(ctx context.Context, in activities.PhaseInput) (activities.PhaseResult, error) {
		var res activities.PhaseResult
		for _, stage := range in.Stages {
			name := stageMocks[stage]
			rec.add(name)
			run, ok := mocks[name].(func(context.Context, activities.StageInput) (activities.StageResult, error))
			if !ok {
				return res, fmt.Errorf("no mock of stage activity %s", name)
			}
			r, err := run(ctx, in.Stage)
			if err != nil {
				detail := activities.PhaseFailure{Stage: stage, Done: res.Stages}
				var appErr *temporal.ApplicationError
				if !errors.As(err, &appErr) {
					return res, fmt.Errorf("stage %s: %w", stage, err)
				}
				return activities.PhaseResult{}, temporal.NewApplicationErrorWithOptions(
					fmt.Sprintf("stage %s: %s", stage, appErr.Message()), appErr.Type(),
					temporal.ApplicationErrorOptions{NonRetryable: appErr.NonRetryable(), Details: []any{detail}})
			}
			res.Stages = append(res.Stages, r)
		}
		return res, nil
	}
}

// A phase that fails shows, per stage, what its error detail says: the stage that finished
// done with its result, the failing one failed, the later phases skipped.
func TestFailedPhaseShowsEachStage(t *testing.T) {
	h := newHarness(t, map[string]any{"Admins": func(ctx context.Context, in activities.StageInput) (activities.StageResult, error) {
		return activities.StageResult{}, temporal.NewNonRetryableApplicationError("jumpcloud: 403", activities.ErrTypeCredentials, nil)
	}})
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme"})
	err := h.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "phase users+admins") || !strings.Contains(err.Error(), "stage admins: jumpcloud: 403") {
		t.Fatalf("want the phase's error naming the stage, got %v", err)
	}
	p := h.progress(t)
	want := map[string]string{"users": StatusDone, "admins": StatusFailed, "groups": StatusSkipped, "apps": StatusSkipped}
	for _, s := range p.Stages {
		if s.Status != want[s.Stage] || (s.Stage == "users" && s.Result == nil) {
			t.Fatalf("stage %s: %+v", s.Stage, s)
		}
	}
}

// progress is the answer of the progress query.
func (h *harness) progress(t *testing.T) Progress {
	t.Helper()
	v, err := h.env.QueryWorkflow(temporalnames.ProgressQuery)
	if err != nil {
		t.Fatal(err)
	}
	var p Progress
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	return p
}
