package progress

import (
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"

	"jcsync/activities"
	"jcsync/workflows"
)

// A Phase activity's composite checkpoint shows each of its stages: the running one with its
// live counts and the phase's attempt, the finished one done with its result.
func TestOverlayPhaseHeartbeat(t *testing.T) {
	dc := converter.GetDefaultDataConverter()
	payloads, err := dc.ToPayloads(activities.PhaseCheckpoint{
		Version: activities.PhaseCheckpointVersion, Stages: []string{"users", "admins"},
		Running: map[string]activities.Checkpoint{"users": {
			Version: activities.CheckpointVersion, NextSkip: 400, Total: 1000,
			Counts: activities.StageCounts{Read: map[string]int{"users": 400}},
		}},
		Done: map[string]activities.StageResult{"admins": {Stage: "admins", Counts: activities.StageCounts{Read: map[string]int{"admins": 9}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	v := View{Status: "Running", Stages: []Stage{
		{Stage: "users", Status: workflows.StatusRunning},
		{Stage: "admins", Status: workflows.StatusRunning},
		{Stage: "groups", Status: workflows.StatusPending},
	}}
	overlayHeartbeats(&v, []*workflowpb.PendingActivityInfo{
		{ActivityType: &commonpb.ActivityType{Name: activities.ActivityPhase}, HeartbeatDetails: payloads, Attempt: 3,
			LastFailure: &failurepb.Failure{Message: "stage users: jumpcloud: 503"}},
	}, dc)
	u, a := v.Stages[0], v.Stages[1]
	if !u.Live || u.Counts.Read["users"] != 400 || u.Total != 1000 || u.Attempt != 3 || u.LastError != "stage users: jumpcloud: 503" {
		t.Fatalf("users: %+v", u)
	}
	if a.Status != workflows.StatusDone || a.Counts.Read["admins"] != 9 || a.Live {
		t.Fatalf("admins: %+v", a)
	}
	if v.Stages[2].Status != workflows.StatusPending || v.Done() != 1 {
		t.Fatalf("groups %+v, done %d", v.Stages[2], v.Done())
	}
	// A stage checkpoint under a Phase activity's name is not taken for a composite.
	stagePayloads, _ := dc.ToPayloads(activities.Checkpoint{Version: activities.CheckpointVersion, NextSkip: 5})
	w := View{Status: "Running"}
	overlayHeartbeats(&w, []*workflowpb.PendingActivityInfo{{ActivityType: &commonpb.ActivityType{Name: activities.ActivityPhase}, HeartbeatDetails: stagePayloads}}, dc)
	if len(w.Stages) != 0 {
		t.Fatalf("a stage checkpoint read as a phase's: %+v", w.Stages)
	}
}
