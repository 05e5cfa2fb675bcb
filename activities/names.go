package activities

import "go.temporal.io/sdk/activity"

// Activity names: what the worker registers each activity under, and the activity types that
// workflow histories record. Running syncs replay against them, so none may change.
const (
	ActivityValidate           = "Validate"
	ActivityReadBaseline       = "ReadBaseline"
	ActivityRecordBaseline     = "RecordBaseline"
	ActivityLastSuccessfulSync = "LastSuccessfulSync"
	ActivitySweep              = "Sweep"
	ActivityUsers              = "Users"
	ActivityAdmins             = "Admins"
	ActivityGroups             = "Groups"
	ActivityApps               = "Apps"
	// ActivityPhase runs every stage of one phase in one activity (see Phase).
	ActivityPhase = "Phase"
)

// StageActivity names the activity that runs each stage on its own, as syncs started before
// one activity ran each phase (ActivityPhase) do.
var StageActivity = map[string]string{
	StageUsers:  ActivityUsers,
	StageAdmins: ActivityAdmins,
	StageGroups: ActivityGroups,
	StageApps:   ActivityApps,
}

// StageOfActivity is the stage an activity type runs, or "" for an activity that is no stage.
func StageOfActivity(activityType string) string {
	for stage, name := range StageActivity {
		if name == activityType {
			return stage
		}
	}
	return ""
}

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
		{ActivityLastSuccessfulSync, a.LastSuccessfulSync},
		{ActivitySweep, a.Sweep},
		{ActivityUsers, a.Users},
		{ActivityAdmins, a.Admins},
		{ActivityGroups, a.Groups},
		{ActivityApps, a.Apps},
		{ActivityPhase, a.Phase},
	} {
		r.RegisterActivityWithOptions(act.fn, activity.RegisterOptions{Name: act.name})
	}
}

// RegisterChecks registers the credential check alone, for the worker of an integration's
// checks queue (temporalnames.ChecksQueue).
func RegisterChecks(r Registry, a *Activities) {
	r.RegisterActivityWithOptions(a.Validate, activity.RegisterOptions{Name: ActivityValidate})
}
