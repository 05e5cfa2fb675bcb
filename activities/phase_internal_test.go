package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
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

// stopTestStage stands for a stage that commits a page (when progress is set) and then
// waits on JumpCloud until its context ends.
func stopTestStage(progress bool, started chan<- struct{}) func(context.Context, StageInput) (StageResult, error) {
	return func(ctx context.Context, _ StageInput) (StageResult, error) {
		if progress {
			heartbeatRecorder(ctx, StageUsers)(ctx, Checkpoint{Version: CheckpointVersion, NextSkip: 300, ProgressAttempt: 1})
		}
		started <- struct{}{}
		<-ctx.Done()
		return StageResult{}, fmt.Errorf("read users: %w", ctx.Err())
	}
}

// When the worker begins to stop, a phase cancels its stages and returns at once with a
// retryable WorkerStopping error and a short retry delay, its last heartbeat carrying every
// stage's latest checkpoint. An attempt that made no progress moves ProgressAttempt on by
// one, so it does not count against the budget of attempts without progress; one that made
// progress keeps it at this attempt.
func TestPhaseHandsOverWhenTheWorkerStops(t *testing.T) {
	for _, progress := range []bool{true, false} {
		t.Run(fmt.Sprintf("progress=%v", progress), func(t *testing.T) {
			started := make(chan struct{}, 2)
			a := &Activities{stageOverride: func(stage string) func(context.Context, StageInput) (StageResult, error) {
				if stage == StageUsers {
					return stopTestStage(progress, started)
				}
				return func(ctx context.Context, _ StageInput) (StageResult, error) {
					started <- struct{}{}
					<-ctx.Done()
					return StageResult{}, ctx.Err()
				}
			}}
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			env.RegisterActivity(a.Phase)
			stop := make(chan struct{})
			env.SetWorkerStopChannel(stop)
			var mu sync.Mutex
			var last PhaseCheckpoint
			env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
				mu.Lock()
				defer mu.Unlock()
				if err := details.Get(&last); err != nil {
					t.Errorf("heartbeat: %v", err)
				}
			})
			var stopped time.Time
			go func() {
				<-started
				<-started
				stopped = time.Now()
				close(stop)
			}()
			_, err := env.ExecuteActivity(a.Phase, PhaseInput{Stages: []string{StageUsers, StageAdmins}})
			took := time.Since(stopped)
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.NonRetryable() || appErr.Type() != ErrTypeWorkerStopping {
				t.Fatalf("want a retryable %s error, got %v", ErrTypeWorkerStopping, err)
			}
			if d := appErr.NextRetryDelay(); d <= 0 || d > time.Second {
				t.Errorf("retry delay %s: want a short one", d)
			}
			if took > 5*time.Second {
				t.Errorf("the phase returned %s after the worker's stop", took)
			}
			mu.Lock()
			defer mu.Unlock()
			if last.Version != PhaseCheckpointVersion || last.ProgressAttempt != 1 {
				t.Errorf("last heartbeat %+v: want ProgressAttempt 1 (this attempt)", last)
			}
			if progress && last.Running[StageUsers].NextSkip != 300 {
				t.Errorf("the last heartbeat lost the users checkpoint: %+v", last.Running)
			}
			if last.LastError != "" {
				t.Errorf("a worker's stop was recorded as the phase's last error: %q", last.LastError)
			}
		})
	}
}

// Attempts cut short by the worker's stop never add up to a stalled phase, however many in
// a row; the attempts without progress between them still do.
func TestWorkerStopsAreNotStalls(t *testing.T) {
	in := PhaseInput{Stages: []string{StageUsers}, Stage: StageInput{StallAttempts: 3}}
	cp := PhaseCheckpoint{Version: PhaseCheckpointVersion, Stages: in.Stages, ProgressAttempt: 1}
	attempt := 1
	next := func(stop bool) error {
		attempt++
		if err := phaseStalled(in, cp, attempt-1); err != nil {
			return err
		}
		mux := &heartbeatMux{cp: cp, attempt: attempt, record: func(context.Context, ...any) {}, actx: context.Background()}
		if stop {
			cp = mux.stopped()
			return nil
		}
		cp.ProgressAttempt, cp.LastError = mux.failed("503"), "503"
		return phaseStalled(in, cp, attempt)
	}
	for range 20 {
		if err := next(true); err != nil {
			t.Fatalf("attempt %d, after worker stops only: %v", attempt, err)
		}
	}
	for i, stop := range []bool{false, true, false, true} {
		if err := next(stop); err != nil {
			t.Fatalf("attempt %d (step %d) stalled: %v", attempt, i, err)
		}
	}
	if err := next(false); err == nil {
		t.Fatalf("attempt %d: the third failure without progress did not stall the phase", attempt)
	}
}
