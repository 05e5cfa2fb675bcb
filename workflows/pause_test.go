package workflows

import (
	"context"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"jcsync/activities"
	"jcsync/internal/temporalnames"
)

// pauses records the PauseSchedule calls of a harness.
type pauses struct {
	calls []activities.PauseScheduleInput
}

func (p *pauses) mock() any {
	return func(ctx context.Context, in activities.PauseScheduleInput) error {
		p.calls = append(p.calls, in)
		return nil
	}
}

func credentialsRefused(ctx context.Context, in activities.ValidateInput) (activities.ValidateResult, error) {
	return activities.ValidateResult{}, temporal.NewNonRetryableApplicationError("JumpCloud rejected the API key", activities.ErrTypeCredentials, nil)
}

func stalled(ctx context.Context, in activities.StageInput) (activities.StageResult, error) {
	return activities.StageResult{}, temporal.NewNonRetryableApplicationError("no progress in 10 attempts: jumpcloud: 503", activities.ErrTypeStalled, nil)
}

// A sync asked to pause its schedule does so when it fails for a reason that lasts (a refused
// credential, here in the middle of the admins stage), with a note naming the run and the
// cause; a stage that gave up after an outage, a sync not asked to, and a sync that succeeds
// leave the schedule alone.
func TestLastingFailurePausesTheSchedule(t *testing.T) {
	adminsRefused := func(ctx context.Context, in activities.StageInput) (activities.StageResult, error) {
		return activities.StageResult{}, temporal.NewNonRetryableApplicationError("jumpcloud: 401", activities.ErrTypeCredentials, nil)
	}
	for _, tc := range []struct {
		name      string
		overrides map[string]any
		pause     bool
		wantPause bool
	}{
		{"credential refused in a stage", map[string]any{"Admins": adminsRefused}, true, true},
		{"credential refused at the check", map[string]any{"Validate": credentialsRefused}, true, true},
		{"stalled after an outage", map[string]any{"Groups": stalled}, true, false},
		{"not asked to", map[string]any{"Validate": credentialsRefused}, false, false},
		{"success", nil, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p pauses
			overrides := map[string]any{"PauseSchedule": p.mock()}
			for k, v := range tc.overrides {
				overrides[k] = v
			}
			h := newHarness(t, overrides)
			h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme", PauseOnFailure: tc.pause})
			err := h.env.GetWorkflowError()
			if (err == nil) != (tc.name == "success") {
				t.Fatalf("workflow error: %v", err)
			}
			if !tc.wantPause {
				if len(p.calls) != 0 {
					t.Fatalf("paused the schedule: %+v", p.calls)
				}
				return
			}
			if len(p.calls) != 1 {
				t.Fatalf("want one pause, got %+v", p.calls)
			}
			c := p.calls[0]
			if c.ScheduleID != temporalnames.ScheduleID("acme") || !strings.Contains(c.Note, temporalnames.SyncID("acme")) ||
				!strings.Contains(c.Note, activities.ErrTypeCredentials) || !strings.Contains(c.Note, "starter schedule unpause --integration acme") {
				t.Fatalf("pause: %+v", c)
			}
		})
	}
}

// A scheduled run hands over to the sync's own workflow: it pauses the schedule once, for a
// lasting failure of the sync as well as of its own credential check, and the sync it
// started does not pause it again.
func TestScheduledRunPausesOnceForItsSync(t *testing.T) {
	for _, tc := range []struct {
		name      string
		overrides map[string]any
		wantPause bool
	}{
		{"credential refused at the hand-over's check", map[string]any{"Validate": credentialsRefused}, true},
		{"the sync's stage refused", map[string]any{"Users": func(ctx context.Context, in activities.StageInput) (activities.StageResult, error) {
			return activities.StageResult{}, temporal.NewNonRetryableApplicationError("authomize: app not found", activities.ErrTypeCredentials, nil)
		}}, true},
		{"the sync stalled", map[string]any{"Apps": stalled}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p pauses
			overrides := map[string]any{"PauseSchedule": p.mock()}
			for k, v := range tc.overrides {
				overrides[k] = v
			}
			h := newHarness(t, overrides)
			const scheduled = "jcsync-acme-2026-12-03T10:00:00Z"
			h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: scheduled})
			h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme", PauseOnFailure: true})
			if err := h.env.GetWorkflowError(); err == nil {
				t.Fatal("the scheduled run succeeded")
			}
			switch {
			case !tc.wantPause && len(p.calls) != 0:
				t.Fatalf("paused the schedule: %+v", p.calls)
			case tc.wantPause && (len(p.calls) != 1 || !strings.Contains(p.calls[0].Note, scheduled)):
				t.Fatalf("want one pause naming the scheduled run, got %+v", p.calls)
			}
		})
	}
}

// Timeouts pass; so do sweep refusals and errors of one request. The list of failures that
// last is the one written down.
func TestOnlyLastingFailuresPause(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{temporal.NewNonRetryableApplicationError("x", activities.ErrTypeCredentials, nil), true},
		{temporal.NewNonRetryableApplicationError("x", activities.ErrTypeConfig, nil), true},
		{temporal.NewNonRetryableApplicationError("x", activities.ErrTypeOrgMismatch, nil), true},
		{temporal.NewNonRetryableApplicationError("x", activities.ErrTypeSweepRefused, nil), false},
		{temporal.NewNonRetryableApplicationError("x", activities.ErrTypePermanentAPI, nil), false},
		{temporal.NewNonRetryableApplicationError("x", activities.ErrTypeStalled, nil), false},
		{temporal.NewApplicationError("x", "TransientAPIError"), false},
		{temporal.NewTimeoutError(0, temporal.NewNonRetryableApplicationError("x", activities.ErrTypeCredentials, nil)), false},
		{nil, false},
	} {
		if got := lastingFailure(tc.err) != nil; got != tc.want {
			t.Errorf("lastingFailure(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
