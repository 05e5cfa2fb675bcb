package workflows

import (
	"reflect"
	"sort"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/workflow"

	"jcsync/activities"
)

type names struct{ workflows, activities []string }

func (n *names) RegisterWorkflowWithOptions(_ any, o workflow.RegisterOptions) {
	n.workflows = append(n.workflows, o.Name)
}

func (n *names) RegisterActivityWithOptions(_ any, o activity.RegisterOptions) {
	n.activities = append(n.activities, o.Name)
}

// stageMethods run the stages inside the Phase activity; none is an activity of its own.
var stageMethods = map[string]bool{"Users": true, "Admins": true, "Groups": true, "Apps": true}

// Every exported method of Activities but the stages is registered under its method name:
// the activity type that workflow histories record.
func TestEveryActivityIsRegisteredUnderItsMethodName(t *testing.T) {
	var got names
	Register(&got, &activities.Activities{})
	var want []string
	typ := reflect.TypeOf(&activities.Activities{})
	for i := 0; i < typ.NumMethod(); i++ {
		if name := typ.Method(i).Name; !stageMethods[name] {
			want = append(want, name)
		}
	}
	sort.Strings(got.activities)
	sort.Strings(want)
	if !reflect.DeepEqual(got.activities, want) {
		t.Fatalf("registered %v, methods %v", got.activities, want)
	}
	if !reflect.DeepEqual(got.workflows, []string{"SyncWorkflow", "ValidateWorkflow", "WatchWorkflow"}) {
		t.Fatalf("workflows registered as %v", got.workflows)
	}
}
