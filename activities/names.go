package activities

import "go.temporal.io/sdk/activity"

// Activity names: what the worker registers each activity under, and the activity types that
// workflow histories record. A run stays on the build that started it (Worker Versioning,
// pinned), so a name may go once no build that schedules it runs; none may be renamed.
const (
	ActivityValidate       = "Validate"
	ActivityReadBaseline   = "ReadBaseline"
	ActivityRecordBaseline = "RecordBaseline"
	ActivitySweep          = "Sweep"
	// ActivityPhase runs every stage of one phase in one activity (see Phase).
	ActivityPhase = "Phase"
	// ActivityPauseSchedule pauses an integration's schedule after a failure that lasts.
	ActivityPauseSchedule = "PauseSchedule"
)

// Registry is what registering activities needs (workers and the SDK's test environments).
type Registry interface {
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

// Register registers every activity of a under its name.
func Register(r Registry, a *Activities) {
	for _, act := range []struct {
		name string
		fn   any
	}{
		{ActivityValidate, a.Validate},
		{ActivityReadBaseline, a.ReadBaseline},
		{ActivityRecordBaseline, a.RecordBaseline},
		{ActivitySweep, a.Sweep},
		{ActivityPhase, a.Phase},
		{ActivityPauseSchedule, a.PauseSchedule},
		{ActivityWatchPoll, a.WatchPoll},
		{ActivityStartTriggeredSync, a.StartTriggeredSync},
	} {
		r.RegisterActivityWithOptions(act.fn, activity.RegisterOptions{Name: act.name})
	}
}

// RegisterChecks registers the credential check alone, for the worker of an integration's
// checks queue (temporalnames.ChecksQueue).
func RegisterChecks(r Registry, a *Activities) {
	r.RegisterActivityWithOptions(a.Validate, activity.RegisterOptions{Name: ActivityValidate})
}
