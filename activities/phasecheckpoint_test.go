package activities

import (
	"context"
	"strings"
	"sync"
	"testing"
)

// Stages record their checkpoints from their own goroutines: the composite keeps each
// stage's latest, takes the phase's progress from any stage, and a checkpoint arriving after
// its stage finished does not bring the stage back.
func TestHeartbeatMuxComposesStages(t *testing.T) {
	var mu sync.Mutex
	var recorded []PhaseCheckpoint
	m := newHeartbeatMux(context.Background(), PhaseCheckpoint{Version: PhaseCheckpointVersion, Stages: []string{"users", "admins"}}, 3)
	m.record = func(_ context.Context, details ...any) {
		mu.Lock()
		defer mu.Unlock()
		recorded = append(recorded, details[0].(PhaseCheckpoint))
	}
	ctx := withPhaseSlot(context.Background(), &phaseSlot{mux: m})
	users, admins := heartbeatRecorder(ctx, "users"), heartbeatRecorder(ctx, "admins")
	var wg sync.WaitGroup
	for _, rec := range []func(context.Context, ...any){users, admins} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				rec(ctx, Checkpoint{Version: CheckpointVersion, NextSkip: i, ProgressAttempt: 2})
			}
		}()
	}
	wg.Wait()
	last := recorded[len(recorded)-1]
	if last.Running["users"].NextSkip != 499 || last.Running["admins"].NextSkip != 499 || last.ProgressAttempt != 2 {
		t.Fatalf("composite after both stages: %+v", last)
	}
	users(ctx, Checkpoint{Version: CheckpointVersion, NextSkip: 600, ProgressAttempt: 3})
	if p := m.snapshot().ProgressAttempt; p != 3 {
		t.Fatalf("progress of one stage is the phase's: %d", p)
	}
	m.done(StageResult{Stage: "admins"})
	admins(ctx, Checkpoint{Version: CheckpointVersion, NextSkip: 700}) // the finished stage's timer, late
	cp := m.snapshot()
	if _, ok := cp.Running["admins"]; ok || cp.Done["admins"].Stage != "admins" || cp.Running["users"].NextSkip != 600 {
		t.Fatalf("composite after admins finished: %+v", cp)
	}
	// A recorded composite is a copy: later changes do not reach it.
	before := len(recorded[len(recorded)-1].Done)
	m.done(StageResult{Stage: "users"})
	if len(recorded[len(recorded)-2].Done) != before {
		t.Fatal("a recorded composite changed after it was recorded")
	}
}

// A stage inside a phase resumes from the composite only; a stage on its own from its own
// heartbeat details.
func TestPriorCheckpointInsideAPhase(t *testing.T) {
	slot := &phaseSlot{resume: map[string]Checkpoint{
		"users":  {Version: CheckpointVersion, NextSkip: 99},
		"admins": {Version: CheckpointVersion + 1, NextSkip: 5},
	}}
	ctx := withPhaseSlot(context.Background(), slot)
	if cp, ok := priorCheckpoint(ctx, "users"); !ok || cp.NextSkip != 99 {
		t.Fatalf("users: %+v %v", cp, ok)
	}
	if _, ok := priorCheckpoint(ctx, "admins"); ok {
		t.Fatal("a checkpoint of another version was trusted")
	}
	if _, ok := priorCheckpoint(ctx, "groups"); ok {
		t.Fatal("a stage without a checkpoint resumed")
	}
}

// The phase is stalled only when no stage advanced in the budget of attempts in a row.
func TestPhaseStalledCountsAnyStagesProgress(t *testing.T) {
	in := PhaseInput{Stages: []string{"users", "admins"}, Stage: StageInput{StallAttempts: 3}}
	cp := PhaseCheckpoint{ProgressAttempt: 4, LastError: "stage admins: 503"}
	if err := phaseStalled(in, cp, 6); err != nil {
		t.Fatalf("two attempts without progress stalled a budget of three: %v", err)
	}
	err := phaseStalled(in, cp, 7)
	if err == nil || !strings.Contains(err.Error(), "phase users+admins made no progress in 3 attempts in a row (the setting is 3); the last error: stage admins: 503") {
		t.Fatalf("stall: %v", err)
	}
}

// A stage resumed inside a phase works on its own copy of its checkpoint: the composite the
// phase heartbeats keeps what the earlier attempt left until the stage records a new one,
// however the stage's counts and finished parents move meanwhile.
func TestResumedStageSharesNoMapWithTheComposite(t *testing.T) {
	prior := Checkpoint{
		Version: CheckpointVersion, NextSkip: 100, Tail: []string{"g99"}, ProgressAttempt: 1,
		Done:   map[string]int{"g150": 100},
		Counts: StageCounts{Read: map[string]int{"groups": 100, "members": 900}, Uploaded: map[string]int{"memberships": 900}},
	}
	m := newHeartbeatMux(context.Background(), PhaseCheckpoint{Version: PhaseCheckpointVersion,
		Stages: []string{"groups"}, Running: map[string]Checkpoint{"groups": prior}}, 2)
	m.record = func(context.Context, ...any) {}
	ctx := withPhaseSlot(context.Background(), &phaseSlot{mux: m, resume: map[string]Checkpoint{"groups": prior}})
	s := &stageRun{name: "groups", a: &Activities{}, attempt: 2, pending: map[string]*tally{}}
	s.resumeFrom(ctx)

	s.cp.Counts.Read["members"] += 40
	s.cp.Counts.Uploaded["memberships"] += 40
	s.cp.Done["g160"] = 100
	delete(s.cp.Done, "g150")
	s.cp.Tail[0] = "g199"

	got := m.snapshot().Running["groups"]
	if got.Counts.Read["members"] != 900 || got.Counts.Uploaded["memberships"] != 900 ||
		len(got.Done) != 1 || got.Done["g150"] != 100 || got.Tail[0] != "g99" {
		t.Fatalf("the composite moved with the live stage: %+v", got)
	}
}
