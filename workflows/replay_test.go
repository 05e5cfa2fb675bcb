package workflows

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Replay tests: histories of real syncs on a dev server, of every shape the workflow takes
// (recorded by TestRecordHistories), must replay against today's SyncWorkflow. A run stays on
// the build that started it (Worker Versioning, pinned), so a change to the workflow never
// meets a history of an earlier build and needs no workflow.GetVersion; what this test catches
// is a change nobody meant to make to the commands a sync issues.

// HistoryIndex is the file that lists the recorded histories (TestRecordHistories writes it).
const HistoryIndex = "testdata/histories.json"

// RecordedHistory is one entry of HistoryIndex: a history file of testdata, the workflow id it
// ran under (a sync's id decides whether it runs or hands over, so replay needs it), and the
// shape of run it shows.
type RecordedHistory struct {
	File       string `json:"file"`
	WorkflowID string `json:"workflowId"`
	What       string `json:"what"`
}

// Rerecord says how to re-record the histories.
const Rerecord = "JCSYNC_RECORD_HISTORIES=1 go test -count=1 -run TestRecordHistories ./workflows/"

func TestReplaySyncHistories(t *testing.T) {
	b, err := os.ReadFile(HistoryIndex)
	if err != nil {
		t.Fatalf("no recorded histories (%v): record them with %s", err, Rerecord)
	}
	var index []RecordedHistory
	if err := json.Unmarshal(b, &index); err != nil {
		t.Fatalf("%s: %v", HistoryIndex, err)
	}
	files, err := filepath.Glob("testdata/*.history.json")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, h := range index {
		listed[filepath.Join("testdata", h.File)] = true
	}
	for _, f := range files {
		if !listed[f] {
			t.Errorf("%s is not listed in %s, so it is never replayed: re-record with %s", f, HistoryIndex, Rerecord)
		}
	}
	if len(index) == 0 {
		t.Fatalf("%s lists no history: record them with %s", HistoryIndex, Rerecord)
	}
	for _, h := range index {
		path := filepath.Join("testdata", h.File)
		f, err := os.Open(path)
		if err != nil {
			t.Errorf("%s (%s): %v", path, h.What, err)
			continue
		}
		hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		r := worker.NewWorkflowReplayer()
		RegisterWorkflows(r)
		opts := worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{ID: h.WorkflowID}}
		if err := r.ReplayWorkflowHistoryWithOptions(nil, hist, opts); err != nil {
			t.Errorf("replay of %s (%s): %v\n\n"+
				"SyncWorkflow no longer issues the commands this history recorded: the workflow changed. "+
				"Runs are pinned to the build that started them (Worker Versioning), so runs of an earlier build "+
				"finish on that build and never replay this code; no workflow.GetVersion is needed. "+
				"If the change is meant, re-record the histories and commit them:\n  %s", path, h.What, err, Rerecord)
		}
	}
}
