package activities_test

import (
	"testing"

	"jcsync/activities"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/testenv"
)

// A checkpoint whose tail holds no readable id cannot say where the committed count stops:
// the stage starts over rather than risk counting some users twice.
func TestCheckpointWithoutAReadableTailStartsOver(t *testing.T) {
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 3, Users: 450, Groups: 2, Admins: 1, Apps: 1}))
	env, a := newActivityEnv(t, sims, false)
	env.SetHeartbeatDetails(activities.Checkpoint{
		Version:  activities.CheckpointVersion,
		NextSkip: 297, Tail: make([]string, 8),
		Counts: activities.StageCounts{Read: map[string]int{"users": 298}, Uploaded: map[string]int{"accounts": 298}, Attempts: 1},
	})
	v, err := env.ExecuteActivity(a.Users, activities.StageInput{Integration: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	var r activities.StageResult
	if err := v.Get(&r); err != nil {
		t.Fatal(err)
	}
	if r.Counts.Read["users"] != 450 || r.Counts.Uploaded["accounts"] != 450 {
		t.Fatalf("read %v uploaded %v; want 450 each, counted once", r.Counts.Read, r.Counts.Uploaded)
	}
}
