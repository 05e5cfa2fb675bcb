package progress

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"jcsync/activities"
	"jcsync/workflows"
)

// A dry run sends nothing: wherever its counts are shown they are what it would upload.
func TestDryRunSaysWouldUpload(t *testing.T) {
	v := View{Integration: "acme", Phase: workflows.StatusDone, Status: "Completed", DryRun: true, Stages: []Stage{
		{Stage: "users", Status: workflows.StatusDone, Counts: activities.StageCounts{Read: map[string]int{"users": 2000}, Uploaded: map[string]int{"accounts": 2010}}},
	}}
	if line, want := Line(v, false), "acme: done, 1/1 stages, 2000 read, 2010 would upload"; line != want {
		t.Errorf("line = %q, want %q", line, want)
	}
	v.DryRun = false
	if line, want := Line(v, false), "acme: done, 1/1 stages, 2000 read, 2010 uploaded"; line != want {
		t.Errorf("line of a sync = %q, want %q", line, want)
	}

	r := &workflows.SyncResult{
		Integration: "acme", DryRun: true, Read: map[string]int{"users": 2000}, Uploaded: map[string]int{"accounts": 2010},
		Stages: []activities.StageResult{{Stage: "users", Duration: 1234567 * time.Microsecond}}, Duration: 14654321 * time.Microsecond,
	}
	var text bytes.Buffer
	if err := PrintSummary(&text, r, FormatText); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	if !strings.Contains(out, "Dry run of acme finished in 14.654s") || !strings.Contains(out, "kind  read  would upload") || strings.Contains(out, "uploaded") {
		t.Errorf("dry run summary:\n%s", out)
	}

	var js bytes.Buffer
	if err := PrintSummary(&js, r, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if up, ok := got["uploaded"].(map[string]any); !ok || len(up) != 0 {
		t.Errorf("a dry run's uploaded must be empty: %v\n%s", got["uploaded"], js.String())
	}
	if would, _ := got["wouldUpload"].(map[string]any); would["accounts"] != 2010.0 {
		t.Errorf("wouldUpload = %v\n%s", got["wouldUpload"], js.String())
	}
	if got["durationSeconds"] != 14.654 || got["duration"] != float64(r.Duration) || got["dryRun"] != true {
		t.Errorf("durations: %v, %v\n%s", got["durationSeconds"], got["duration"], js.String())
	}
	stages, _ := got["stages"].([]any)
	if len(stages) != 1 || stages[0].(map[string]any)["durationSeconds"] != 1.235 || stages[0].(map[string]any)["stage"] != "users" {
		t.Errorf("stages: %v", got["stages"])
	}
	// A consumer of the workflow's own result type still reads everything else.
	var back workflows.SyncResult
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Read["users"] != 2000 || back.Duration != r.Duration || !back.DryRun || len(back.Stages) != 1 {
		t.Fatalf("decoded as a SyncResult: %v %+v", err, back)
	}
}

// A sync's JSON keeps "uploaded" as it was, has no "wouldUpload", and adds the seconds.
func TestSyncJSONKeepsUploaded(t *testing.T) {
	r := &workflows.SyncResult{Integration: "acme", Read: map[string]int{"users": 3}, Uploaded: map[string]int{"accounts": 3},
		Duration: 2 * time.Second, SweepWait: 1500 * time.Millisecond, Swept: true}
	var js bytes.Buffer
	if err := PrintSummary(&js, r, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var back workflows.SyncResult
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Uploaded["accounts"] != 3 || back.SweepWait != r.SweepWait {
		t.Fatalf("%v %+v", err, back)
	}
	s := js.String()
	if strings.Contains(s, "wouldUpload") || !strings.Contains(s, `"durationSeconds": 2,`) || !strings.Contains(s, `"sweepWaitSeconds": 1.5`) {
		t.Fatalf("sync json:\n%s", s)
	}
	text := bytes.Buffer{}
	if err := PrintSummary(&text, r, FormatText); err != nil || !strings.Contains(text.String(), "kind  read  uploaded") {
		t.Fatalf("%v\n%s", err, text.String())
	}
}
