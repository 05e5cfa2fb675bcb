package workflows

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"jcsync/activities"
)

// A phase retries without limit while it makes progress, so its deadline is what ends a
// phase that never does: by default two days over all its attempts.
func TestPhaseDeadlineDefaultsToTwoDays(t *testing.T) {
	in := SyncInput{Integration: "acme"}.withDefaults()
	if in.PhaseDeadline != 48*time.Hour {
		t.Fatalf("default phase deadline %s, want 48h", in.PhaseDeadline)
	}
	if got := stageOptions(in).ScheduleToCloseTimeout; got != 48*time.Hour {
		t.Fatalf("phase schedule-to-close %s, want 48h", got)
	}
	in = SyncInput{Integration: "acme", PhaseDeadline: 6 * time.Hour}.withDefaults()
	if got := stageOptions(in).ScheduleToCloseTimeout; got != 6*time.Hour {
		t.Fatalf("phase schedule-to-close %s, want the input's 6h", got)
	}
}

// A phase that never returns fails the sync with a timeout once its deadline passes, and
// nothing after it runs.
func TestPhaseThatNeverEndsFailsAtItsDeadline(t *testing.T) {
	h := newHarness(t, map[string]any{activities.ActivityPhase: func(ctx context.Context, in activities.PhaseInput) (activities.PhaseResult, error) {
		<-ctx.Done()
		return activities.PhaseResult{}, ctx.Err()
	}})
	h.env.SetTestTimeout(30 * time.Second)
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme", PhaseDeadline: time.Second})
	err := h.env.GetWorkflowError()
	var timeout *temporal.TimeoutError
	if err == nil || !errors.As(err, &timeout) {
		t.Fatalf("want the phase's timeout, got %v", err)
	}
	if !strings.Contains(err.Error(), "users+admins") {
		t.Fatalf("the error should name the phase: %v", err)
	}
	if h.rec.index("Sweep") >= 0 || h.rec.index("Groups") >= 0 {
		t.Fatalf("ran past a phase that timed out: %v", h.rec.calls)
	}
}

// A phase that fails on every attempt (while making progress each time, so that the stage's
// own stall limit would not stop it) is retried until its deadline, then the sync fails. The
// test environment skips the waits between attempts (2 s, 4 s, 8 s … up to a minute) and
// caps an unlimited retry policy at 10 attempts of its own, so the deadline here is shorter
// than those 10 attempts take: it must end the phase first.
func TestPhaseRetriedForeverEndsAtItsDeadline(t *testing.T) {
	var attempts atomic.Int32
	h := newHarness(t, map[string]any{activities.ActivityPhase: func(ctx context.Context, in activities.PhaseInput) (activities.PhaseResult, error) {
		attempts.Add(1)
		return activities.PhaseResult{}, errors.New("jumpcloud: 503")
	}})
	start := h.env.Now()
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme", PhaseDeadline: 2 * time.Minute})
	err := h.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "jumpcloud: 503") {
		t.Fatalf("want the phase's last error, got %v", err)
	}
	elapsed := h.env.Now().Sub(start)
	if n := attempts.Load(); n < 2 || n >= 10 || elapsed > 2*time.Minute {
		t.Fatalf("%d attempts over %s: want the retries to stop at the 2m deadline", n, elapsed)
	}
	if h.rec.index("Sweep") >= 0 {
		t.Fatalf("swept after a failed phase: %v", h.rec.calls)
	}
}
