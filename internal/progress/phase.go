package progress

import (
	"go.temporal.io/sdk/converter"

	"jcsync/activities"
	"jcsync/workflows"
)

// overlayPhase puts the live state of each stage of a pending Phase activity into v, from its
// composite checkpoint: a running stage's counts from its own checkpoint, a finished stage's
// result (the workflow learns of it only when the whole phase ends). Before the phase's first
// heartbeat, the progress query already shows its stages running.
func overlayPhase(v *View, pa *pendingActivity, dc converter.DataConverter) {
	cp, ok := activities.ReadPhaseCheckpoint(pa.GetHeartbeatDetails(), dc)
	if !ok {
		return // no heartbeat yet, or an unreadable one: that only costs the live counts
	}
	var lastError string
	if f := pa.GetLastFailure(); f != nil {
		lastError = f.GetMessage()
	}
	for _, stage := range cp.Stages {
		s := findStage(v, stage)
		if r, done := cp.Done[stage]; done {
			s.Status, s.Counts, s.Live = workflows.StatusDone, r.Counts, false
			continue
		}
		s.Attempt, s.LastError = pa.GetAttempt(), lastError
		if s.Status == "" || s.Status == workflows.StatusPending {
			s.Status = workflows.StatusRunning
		}
		if scp, ok := cp.Running[stage]; ok && scp.Version == activities.CheckpointVersion {
			s.Counts, s.Live = scp.Counts, true
			if scp.Total > 0 {
				s.Total = scp.Total
			}
		}
	}
}
