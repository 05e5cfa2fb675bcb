package workflows

import (
	"testing"

	"go.temporal.io/sdk/worker"
)

// TestReplaySyncHistory replays the committed history of a real 5,000-user sync (exported by
// TestE2EFullSyncThenChanges with UPDATE_HISTORY=1). A change to SyncWorkflow that would
// make running syncs non-deterministic fails here; such a change needs workflow.GetVersion.
func TestReplaySyncHistory(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	RegisterWorkflows(r)
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, "testdata/sync_history.json"); err != nil {
		t.Fatalf("replay of testdata/sync_history.json: %v", err)
	}
}
