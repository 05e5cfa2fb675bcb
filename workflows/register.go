package workflows

import (
	"go.temporal.io/sdk/workflow"

	"jcsync/activities"
	"jcsync/internal/temporalnames"
)

// Registry is what a worker offers to register workflows and activities (worker.Worker and
// the SDK's test environments satisfy it).
type Registry interface {
	WorkflowRegistry
	activities.Registry
}

// WorkflowRegistry is what registering the workflows needs (workers and replayers have it).
type WorkflowRegistry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// Register registers the sync, validate and watch workflows and every activity.
func Register(r Registry, a *activities.Activities) {
	RegisterWorkflows(r)
	activities.Register(r, a)
}

// RegisterWorkflows registers the workflows under their stable names, pinned: on a
// versioned worker each run finishes on the build that started it, so a change to a
// workflow never meets a history written by other code (docs/upgrades.md). Workers without
// versioning ignore the behaviour.
func RegisterWorkflows(r WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(SyncWorkflow, workflow.RegisterOptions{Name: temporalnames.SyncWorkflow, VersioningBehavior: workflow.VersioningBehaviorPinned})
	r.RegisterWorkflowWithOptions(ValidateWorkflow, workflow.RegisterOptions{Name: temporalnames.ValidateWorkflow, VersioningBehavior: workflow.VersioningBehaviorPinned})
	// The watcher runs pinned too; it moves to the current build when it continues as new.
	r.RegisterWorkflowWithOptions(WatchWorkflow, workflow.RegisterOptions{Name: temporalnames.WatchWorkflow, VersioningBehavior: workflow.VersioningBehaviorPinned})
}
