package activities_test

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"jcsync/activities"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/testenv"
	"jcsync/internal/transform"
)

// phaseBeats collects the composite checkpoints a Phase activity records.
type phaseBeats struct {
	mu  sync.Mutex
	cps []activities.PhaseCheckpoint
	err error
}

func listenPhase(env *testsuite.TestActivityEnvironment) *phaseBeats {
	b := &phaseBeats{}
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var cp activities.PhaseCheckpoint
		err := details.Get(&cp)
		b.mu.Lock()
		defer b.mu.Unlock()
		if err != nil && b.err == nil {
			b.err = err
		}
		b.cps = append(b.cps, cp)
	})
	return b
}

func (b *phaseBeats) last(t *testing.T) activities.PhaseCheckpoint {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil || len(b.cps) == 0 {
		t.Fatalf("no readable phase heartbeat (%d recorded): %v", len(b.cps), b.err)
	}
	return b.cps[len(b.cps)-1]
}

var usersAdmins = []string{activities.StageUsers, activities.StageAdmins}

// runPhase runs the Phase activity, which must succeed, and returns its result.
func runPhase(t *testing.T, env *testsuite.TestActivityEnvironment, a *activities.Activities, in activities.PhaseInput) activities.PhaseResult {
	t.Helper()
	v, err := env.ExecuteActivity(a.Phase, in)
	if err != nil {
		t.Fatal(err)
	}
	var r activities.PhaseResult
	if err := v.Get(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// The phase runs its stages at once and returns their results in the phase's order; its
// heartbeat is the composite checkpoint.
func TestPhaseHeartbeatCarriesEveryStage(t *testing.T) {
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 3, Users: 900, Groups: 3, Admins: 7, Apps: 1}))
	env, a := newActivityEnv(t, sims, false)
	beats := listenPhase(env)
	r := runPhase(t, env, a, activities.PhaseInput{Stages: usersAdmins, Stage: activities.StageInput{Integration: "acme"}})
	if len(r.Stages) != 2 || r.Stages[0].Stage != "users" || r.Stages[1].Stage != "admins" ||
		r.Stages[0].Counts.Read["users"] != 900 || r.Stages[1].Counts.Read["admins"] != 7 {
		t.Fatalf("phase result: %+v", r.Stages)
	}
	// The SDK throttles heartbeats: a short attempt sends its first composite (and, when it
	// fails, its last); how stages feed it is TestHeartbeatMuxComposesStages.
	if first := beats.cps[0]; first.Version != activities.PhaseCheckpointVersion || len(first.Stages) != 2 {
		t.Fatalf("first heartbeat: %+v", first)
	}
}

// A retried phase resumes each unfinished stage from its own checkpoint in the composite and
// runs no finished stage again.
func TestPhaseResumesFromCompositeCheckpoint(t *testing.T) {
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 3, Users: 750, Groups: 3, Admins: 5, Apps: 1}))
	env, a := newActivityEnv(t, sims, false)
	beats := listenPhase(env)
	var tail []string
	for _, u := range sims.Org.Users[290:298] {
		tail = append(tail, u.ID)
	}
	admins := activities.StageResult{Stage: "admins", Counts: activities.StageCounts{Read: map[string]int{"admins": 5}, Attempts: 1}}
	env.SetHeartbeatDetails(activities.PhaseCheckpoint{
		Version: activities.PhaseCheckpointVersion, Stages: usersAdmins, ProgressAttempt: 1,
		Running: map[string]activities.Checkpoint{"users": {
			Version: activities.CheckpointVersion, NextSkip: 297, Tail: tail, ProgressAttempt: 1,
			Counts: activities.StageCounts{Read: map[string]int{"users": 298}, Uploaded: map[string]int{"accounts": 298}, Attempts: 1},
		}},
		Done: map[string]activities.StageResult{"admins": admins},
	})
	r := runPhase(t, env, a, activities.PhaseInput{Stages: usersAdmins, Stage: activities.StageInput{Integration: "acme"}})
	if n := sims.JC.Counts().Endpoint("/api/users"); n != 0 {
		t.Fatalf("the finished admins stage ran again: %d requests", n)
	}
	for k := range sims.JC.Counts().Pages {
		if k.Endpoint == "/api/systemusers" && k.Skip < 297 {
			t.Fatalf("page at skip %d fetched although the users checkpoint is at 297", k.Skip)
		}
	}
	u := r.Stages[0]
	if u.Counts.Read["users"] != 750 || u.Counts.PagesResumed != 3 || r.Stages[1].Counts.Read["admins"] != 5 {
		t.Fatalf("resumed phase: users %+v admins %+v", u.Counts, r.Stages[1].Counts)
	}
	if first := beats.cps[0]; first.Done["admins"].Counts.Read["admins"] != 5 || first.Running["users"].NextSkip < 297 {
		t.Fatalf("the first heartbeat of the retry lost the composite it resumed from: %+v", first)
	}
}

// A stage that fails with a retryable error lets the other finish; the attempt's error is
// retryable and names the stage, its last heartbeat keeps the finished stage's result and
// the failed stage's checkpoint, and the next attempt finishes the failed stage alone.
func TestPhaseRetryRunsOnlyTheUnfinishedStage(t *testing.T) {
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 4, Users: 1500, Groups: 3, Admins: 6, Apps: 1}))
	env, a := newActivityEnv(t, sims, false)
	a.PageConcurrency = 1
	beats := listenPhase(env)
	sims.JC.FailFrom("/api/systemusers", 5, 503)
	in := activities.PhaseInput{Stages: usersAdmins, Stage: activities.StageInput{Integration: "acme"}}
	_, err := env.ExecuteActivity(a.Phase, in)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.NonRetryable() {
		t.Fatalf("want a retryable application error, got %v", err)
	}
	var detail activities.PhaseFailure
	if err := appErr.Details(&detail); err != nil || detail.Stage != "users" || len(detail.Done) != 1 || detail.Done[0].Stage != "admins" {
		t.Fatalf("failure detail %+v (%v)", detail, err)
	}
	cp := beats.last(t)
	if _, ok := cp.Done["admins"]; !ok || cp.Running["users"].NextSkip == 0 || cp.LastError == "" {
		t.Fatalf("last heartbeat of the failed attempt: %+v", cp)
	}
	adminReqs := sims.JC.Counts().Endpoint("/api/users")

	sims.JC.ClearFaults()
	env2, a2 := newActivityEnv(t, sims, false)
	env2.SetHeartbeatDetails(cp)
	r := runPhase(t, env2, a2, in)
	if n := sims.JC.Counts().Endpoint("/api/users"); n != adminReqs {
		t.Fatalf("the admins stage ran again on retry: %d requests, %d before", n, adminReqs)
	}
	if r.Stages[0].Counts.Read["users"] != 1500 || r.Stages[0].Counts.Attempts != 2 || r.Stages[0].Counts.PagesResumed == 0 {
		t.Fatalf("users after the retry: %+v", r.Stages[0].Counts)
	}
	if got := len(sims.AZ.Snapshot(testenv.AppID).Users); got != 1500+6 {
		t.Fatalf("%d accounts in Authomize, want 1506", got)
	}
}

// A final error (here an unknown integration) is non-retryable.
func TestPhaseFinalErrorIsNotRetried(t *testing.T) {
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 4, Users: 10, Groups: 1, Admins: 1, Apps: 1}))
	env, a := newActivityEnv(t, sims, false)
	_, err := env.ExecuteActivity(a.Phase, activities.PhaseInput{Stages: usersAdmins, Stage: activities.StageInput{Integration: "nope"}})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != activities.ErrTypeConfig {
		t.Fatalf("want a non-retryable configuration error, got %v", err)
	}
}

// With the app owner a directory user, the admins stage names it as the owner of the console
// asset and the admin roles only after the users stage, beside it, has uploaded its account:
// a first sync leaves no asset or role without its owner.
func TestPhaseSendsTheOwnerAfterItsAccount(t *testing.T) {
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 11, Users: 600, Groups: 2, Admins: 5, Apps: 1})
	sims := testenv.StartSims(t, org)
	sims.JC.SetLatency(5 * time.Millisecond) // every users page then takes longer than the whole admins stage would
	env, a := newActivityEnv(t, sims, false)
	owner := transform.UserAccountID(org.Users[len(org.Users)-1].ID) // on the users stage's last page
	r := runPhase(t, env, a, activities.PhaseInput{Stages: usersAdmins, Stage: activities.StageInput{Integration: "acme", OwnerID: owner}})
	for _, s := range r.Stages {
		if s.Counts.InvalidReferences != 0 {
			t.Fatalf("the %s stage sent %d invalid references", s.Stage, s.Counts.InvalidReferences)
		}
	}
	if r.Stages[1].Counts.Read["admins"] != 5 {
		t.Fatalf("admins stage: %+v", r.Stages[1].Counts)
	}
	snap := sims.AZ.Snapshot(testenv.AppID)
	var asset struct{ Owner string }
	if err := json.Unmarshal(snap.Assets[transform.ConsoleAssetID], &asset); err != nil || asset.Owner != owner {
		t.Fatalf("console asset owner %q, want %q (%v)", asset.Owner, owner, err)
	}
}
