package workflows_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"jcsync/activities"
	"jcsync/internal/config"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// TestE2ESyncWithoutSearchAttributesFailsAtOnce: a namespace without the connector's search
// attributes, and a worker already polling (started before they were removed, or one that
// could not list them). A sync started as the Web UI starts one (no search attributes, under
// the integration's own id or under another that hands over) must fail at its credential
// check with the commands to run, and never fail a workflow task: a task that upserted a
// missing attribute would be retried for ever.
func TestE2ESyncWithoutSearchAttributesFailsAtOnce(t *testing.T) {
	tc, err := testenv.StartBareTemporal(testenv.TemporalCLI(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Stop()
	addr := tc.Server.FrontendHostPort()
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 3, Users: 20}))
	const queue = "no-search-attributes"
	testenv.StartWorker(t, tc.Client, queue, config.Integrations{"acme": sims.Integration("acme", false)},
		func(a *activities.Activities) { a.TemporalAddress = addr })

	for _, id := range []string{temporalnames.SyncID("acme"), "started-in-the-web-ui"} {
		t.Run(id, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			run, err := tc.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue},
				temporalnames.SyncWorkflow, workflows.SyncInput{Integration: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			err = run.Get(ctx, nil)
			appErr := applicationError(err, activities.ErrTypeSearchAttributes)
			if appErr == nil {
				t.Fatalf("want the sync to fail with %s, got %v", activities.ErrTypeSearchAttributes, err)
			}
			for _, want := range []string{
				`Temporal namespace "default" lacks the connector's search attributes`,
				"temporal operator search-attribute create --address " + addr + " --namespace default --name JCSyncIntegration --type Keyword",
				"temporal operator search-attribute create --address " + addr + " --namespace default --name JCSyncUsers --type Int",
			} {
				if !strings.Contains(appErr.Message(), want) {
					t.Errorf("the failure lacks %q:\n%s", want, appErr.Message())
				}
			}
			it := tc.Client.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					t.Fatal(err)
				}
				switch ev.GetEventType() {
				case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
					t.Errorf("a workflow task failed: %v", ev.GetWorkflowTaskFailedEventAttributes())
				case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
					for name := range ev.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields() {
						if _, ours := temporalnames.SearchAttributeTypes[name]; ours {
							t.Errorf("the sync upserted %s", name)
						}
					}
				}
			}
		})
	}
}

// applicationError is the application error of type typ in err's chain (the workflow wraps
// the activity's), or nil.
func applicationError(err error, typ string) *temporal.ApplicationError {
	for err != nil {
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) {
			return nil
		}
		if appErr.Type() == typ {
			return appErr
		}
		err = appErr.Unwrap()
	}
	return nil
}
