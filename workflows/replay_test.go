package workflows

import (
	"os"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"jcsync/internal/temporalnames"
)

// Replay tests: committed histories of real 5,000-user syncs (exported by
// TestE2EFullSyncThenChanges with UPDATE_HISTORY=1) must replay against today's SyncWorkflow.
// A change that would make running syncs non-deterministic fails here; such a change needs
// workflow.GetVersion, and a new history beside the old ones.
var histories = []struct{ path, what, workflowID string }{
	// Before changeSafeSweep: replays through syncLegacy.
	{"testdata/sync_history.json", "the sync before the safe sweep", "jcsync-teste2efullsyncthenchanges-1"},
	// With changeSafeSweep: baseline in Authomize, margin, repaired reads. A sync's own
	// workflow id decides whether it runs or hands over, so replay needs the original.
	{"testdata/sync_history_safe_sweep.json", "the safe-sweep sync", temporalnames.SyncID("teste2efullsyncthenchanges")},
	// With changeConsole: activity summaries, current details, outcome search attributes.
	{"testdata/sync_history_console.json", "the sync with the console", temporalnames.SyncID("teste2efullsyncthenchanges")},
	// With changeOneWorkerPerPhase: one Phase activity per phase, one composite checkpoint.
	{"testdata/sync_history_one_worker_per_phase.json", "the sync with one activity per phase", temporalnames.SyncID("teste2efullsyncthenchanges")},
	// With changeSweepSecondPass: the baseline names its org and bounds the last write; a
	// sync soon after another waits (a timer, then the record rewritten) before writing.
	{"testdata/sync_history_second_pass.json", "the sync with the sweep's second pass", temporalnames.SyncID("teste2efullsyncthenchanges")},
	{"testdata/sync_history_sync_now.json", "a sync started 5 s after another, which waits", temporalnames.SyncID("teste2esyncnowatthedefaults")},
}

func TestReplaySyncHistories(t *testing.T) {
	for _, h := range histories {
		f, err := os.Open(h.path)
		if err != nil {
			t.Fatal(err)
		}
		hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", h.path, err)
		}
		r := worker.NewWorkflowReplayer()
		RegisterWorkflows(r)
		opts := worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{ID: h.workflowID}}
		if err := r.ReplayWorkflowHistoryWithOptions(nil, hist, opts); err != nil {
			t.Errorf("replay of %s (%s): %v", h.path, h.what, err)
		}
	}
}
