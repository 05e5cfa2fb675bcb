package workflows_test

import (
	"fmt"
	"slices"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"

	"jcsync/activities"
	"jcsync/internal/jumpcloud"
)

func jumpcloudUser(i int) jumpcloud.SystemUser {
	return jumpcloud.SystemUser{
		Username: fmt.Sprintf("added.user%d", i), Email: fmt.Sprintf("added.user%d@example.org", i),
		Firstname: "Added", Lastname: fmt.Sprintf("User %d", i), State: jumpcloud.StateActivated, Activated: true,
	}
}

func jumpcloudGroup(name string) jumpcloud.UserGroup {
	return jumpcloud.UserGroup{Name: name, MembershipMethod: "STATIC"}
}

// runsStage reports whether the pending activity pa is the Phase activity whose checkpoint
// lists stage.
func runsStage(pa *workflowpb.PendingActivityInfo, stage string) bool {
	if pa.GetActivityType().GetName() != activities.ActivityPhase {
		return false
	}
	cp, ok := activities.ReadPhaseCheckpoint(pa.GetHeartbeatDetails(), converter.GetDefaultDataConverter())
	return ok && slices.Contains(cp.Stages, stage)
}
