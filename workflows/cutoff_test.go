package workflows

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"jcsync/activities"
	"jcsync/internal/counts"
)

// authomizeClock stands in for Authomize's clock in the mocked baseline activity: the sync
// reads the time of each rewrite of the record from it, as from an acceptedTimestamp.
type authomizeClock struct {
	mu       sync.Mutex
	rewrites []time.Time
	next     func(call int) time.Time
}

func (c *authomizeClock) readBaseline(base activities.SweepBaseline) func(ctx context.Context, name string) (activities.SweepBaseline, error) {
	return func(ctx context.Context, name string) (activities.SweepBaseline, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		b := base
		b.Refreshed = c.next(len(c.rewrites))
		c.rewrites = append(c.rewrites, b.Refreshed)
		return b, nil
	}
}

func sweepAnything(ctx context.Context, in activities.SweepInput) error { return nil }

// A sync started seconds after another ("sync now"): its first write lies 5 s after the
// previous sync's last one, so a cutoff 2 minutes before it would spare everything that
// sync wrote, stale or not. It waits on a timer until the margin has passed, rewrites the
// record, and sweeps with a cutoff after the previous sync's last write.
func TestSyncSoonAfterAnotherWaitsUntilItsCutoffPassesTheLastWrite(t *testing.T) {
	last := accepted.Add(-time.Hour)
	clock := &authomizeClock{next: func(call int) time.Time {
		if call == 0 {
			return last.Add(5 * time.Second)
		}
		return last.Add(5*time.Second + activities.DefaultSweepMargin) // after the wait
	}}
	base := activities.SweepBaseline{Found: true, Source: activities.BaselineFromAuthomize, Counts: counts.Counts{"users": 100}, LastWrite: last, OrgID: "org1"}
	var cutoff time.Time
	overrides := map[string]any{
		"ReadBaseline": clock.readBaseline(base),
		"Validate": func(ctx context.Context, in activities.ValidateInput) (activities.ValidateResult, error) {
			return activities.ValidateResult{Integration: in.Integration, OrgID: "org1"}, nil
		},
		"Sweep": func(ctx context.Context, in activities.SweepInput) error { cutoff = in.Cutoff; return nil },
	}
	for i, stage := range stageOrder {
		at := last.Add(3*time.Minute + time.Duration(i)*time.Second) // written after the wait
		overrides[stageMocks[stage]] = func(ctx context.Context, in activities.StageInput) (activities.StageResult, error) {
			return stageOK(stage, map[string]int{stage: 100}, at), nil
		}
	}
	h := newHarness(t, overrides)
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme"})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var res SyncResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(clock.rewrites) != 2 {
		t.Fatalf("want the record rewritten once more after the wait, got %d rewrites", len(clock.rewrites))
	}
	if want := activities.DefaultSweepMargin - 5*time.Second + waitSlack; res.SweepWait != want {
		t.Fatalf("waited %s, want %s", res.SweepWait, want)
	}
	if !res.Swept || !cutoff.After(last) || !res.EarlierWrites.Equal(last) {
		t.Fatalf("swept=%v cutoff=%s, want a cutoff after the previous sync's last write %s (earlierWrites %s)", res.Swept, cutoff, last, res.EarlierWrites)
	}
}

// A scheduled sync hours after the last one does not wait; nor does a first sync.
func TestSyncLongAfterAnotherDoesNotWait(t *testing.T) {
	last := accepted.Add(-6 * time.Hour)
	clock := &authomizeClock{next: func(int) time.Time { return accepted.Add(-time.Second) }}
	h := newHarness(t, map[string]any{"Sweep": sweepAnything, "ReadBaseline": clock.readBaseline(activities.SweepBaseline{
		Found: true, Source: activities.BaselineFromAuthomize, Counts: counts.Counts{"users": 100}, LastWrite: last})})
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme"})
	var res SyncResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(clock.rewrites) != 1 || res.SweepWait != 0 || !res.Swept {
		t.Fatalf("rewrites=%d wait=%s swept=%v: a sync hours after the last must not wait", len(clock.rewrites), res.SweepWait, res.Swept)
	}
}

// After a sync that started writing and never recorded its end (it failed, or its sweep
// was refused), nothing bounds what it wrote but this run's own first write: the run
// waits the whole margin from there.
func TestSyncAfterAFailedOneWaitsTheWholeMargin(t *testing.T) {
	first := accepted.Add(-time.Hour)
	clock := &authomizeClock{next: func(call int) time.Time {
		return first.Add(time.Duration(call) * (activities.DefaultSweepMargin + waitSlack))
	}}
	h := newHarness(t, map[string]any{"Sweep": sweepAnything, "ReadBaseline": clock.readBaseline(activities.SweepBaseline{
		Found: true, Source: activities.BaselineFromAuthomize, Counts: counts.Counts{"users": 100},
		LastWrite: first.Add(-3 * time.Hour), OtherWriting: true})})
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme"})
	var res SyncResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if want := activities.DefaultSweepMargin + waitSlack; res.SweepWait != want || !res.EarlierWrites.Equal(first) {
		t.Fatalf("waited %s after a sync that did not record its end, want %s (earlier writes %s)", res.SweepWait, want, res.EarlierWrites)
	}
}

// An app that holds another org's data is refused before anything is written; the
// operator's flag moves it.
func TestSyncOfAnotherOrgIsRefusedBeforeWriting(t *testing.T) {
	base := activities.SweepBaseline{Found: true, Source: activities.BaselineFromAuthomize, Counts: counts.Counts{"users": 100},
		LastWrite: accepted.Add(-time.Hour), OrgID: "org-a", RecordIntegration: "eu"}
	clock := &authomizeClock{next: func(int) time.Time { return accepted.Add(-time.Second) }}
	overrides := map[string]any{
		"ReadBaseline": clock.readBaseline(base),
		"Validate": func(ctx context.Context, in activities.ValidateInput) (activities.ValidateResult, error) {
			return activities.ValidateResult{Integration: in.Integration, OrgID: "org-b", AppID: "app1"}, nil
		},
	}
	h := newHarness(t, overrides)
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme"})
	err := h.env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if err == nil || !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeOrgMismatch ||
		!strings.Contains(err.Error(), "org-a") || !strings.Contains(err.Error(), "org-b") || !strings.Contains(err.Error(), "--allow-org-change") {
		t.Fatalf("want a refusal naming both orgs and the way out, got %v", err)
	}
	for _, s := range stageOrder {
		if h.rec.index(stageMocks[s]) >= 0 || h.rec.index(activities.ActivityPhase) >= 0 {
			t.Fatalf("a stage ran after the refusal: %v", h.rec.calls)
		}
	}
	var rec activities.RecordBaselineInput
	overrides["Sweep"] = sweepAnything
	overrides["RecordBaseline"] = func(ctx context.Context, in activities.RecordBaselineInput) error { rec = in; return nil }
	h = newHarness(t, overrides)
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme", AllowOrgChange: true})
	var res SyncResult
	if err := h.env.GetWorkflowResult(&res); err != nil || !res.Swept {
		t.Fatalf("a deliberate move: swept=%v err=%v", res.Swept, err)
	}
	if rec.OrgID != "org-b" {
		t.Fatalf("the new baseline names org %q, want the new org", rec.OrgID)
	}
}
