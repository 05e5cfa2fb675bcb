package progress

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"

	"jcsync/activities"
	"jcsync/workflows"
)

// The live counts of a running phase's stage join the finished stages' in the totals and the
// progress line; other pending activities (the sweep) add nothing.
func TestOverlayHeartbeats(t *testing.T) {
	payloads, err := converter.GetDefaultDataConverter().ToPayloads(activities.PhaseCheckpoint{
		Version: activities.PhaseCheckpointVersion, Stages: []string{"apps"},
		Running: map[string]activities.Checkpoint{"apps": {
			Version: activities.CheckpointVersion, NextSkip: 300,
			Counts: activities.StageCounts{Read: map[string]int{"apps": 300}, Uploaded: map[string]int{"assets": 300}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	v := View{Status: "Running", Stages: []Stage{
		{Stage: "users", Status: workflows.StatusDone, Counts: activities.StageCounts{Read: map[string]int{"users": 7}}},
		{Stage: "groups", Status: workflows.StatusPending},
	}}
	overlayHeartbeats(&v, []*workflowpb.PendingActivityInfo{
		{ActivityType: &commonpb.ActivityType{Name: activities.ActivityPhase}, HeartbeatDetails: payloads, Attempt: 2,
			LastFailure: &failurepb.Failure{Message: "stage apps: jumpcloud: 503"}},
		{ActivityType: &commonpb.ActivityType{Name: activities.ActivitySweep}},
	}, converter.GetDefaultDataConverter())
	if len(v.Stages) != 3 || v.Stages[2].Stage != "apps" {
		t.Fatalf("the phase's stage must appear: %+v", v.Stages)
	}
	a := v.Stages[2]
	if !a.Live || a.Status != workflows.StatusRunning || a.Counts.Read["apps"] != 300 || a.Attempt != 2 || a.LastError != "stage apps: jumpcloud: 503" {
		t.Fatalf("apps stage: %+v", a)
	}
	read, uploaded := v.Totals()
	if read != 307 || uploaded != 300 || v.Done() != 1 {
		t.Fatalf("totals %d %d done %d", read, uploaded, v.Done())
	}
	line := Line(v, true)
	for _, want := range []string{"[######", "1/3 stages", "307 read", "apps 300 (attempt 2)"} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q lacks %q", line, want)
		}
	}
}

func TestRenderer(t *testing.T) {
	v := View{Integration: "acme", Phase: "entities", Status: "Running", Stages: []Stage{{Stage: "users", Status: workflows.StatusRunning}}}
	var plain bytes.Buffer
	r := NewRendererTTY(&plain, false)
	r.Show(v)
	r.Show(v) // unchanged: not repeated
	v.Stages[0].Counts.Read = map[string]int{"users": 10}
	r.Show(v)
	r.Finish()
	if n := strings.Count(plain.String(), "\n"); n != 2 || strings.Contains(plain.String(), "\r") {
		t.Fatalf("plain output:\n%q", plain.String())
	}
	var tty bytes.Buffer
	r = NewRendererTTY(&tty, true)
	r.Show(v)
	r.Finish()
	if !strings.HasPrefix(tty.String(), "\r\033[K[") || !strings.HasSuffix(tty.String(), "\n") {
		t.Fatalf("tty output: %q", tty.String())
	}
	// Below the line, one bar per started stage, with its count.
	if !strings.Contains(tty.String(), "\nusers ") || !strings.Contains(tty.String(), " 10 / ") {
		t.Fatalf("tty output has no bar for the users stage: %q", tty.String())
	}
	if IsTerminal(&tty) {
		t.Fatal("a buffer is not a terminal")
	}
}

func TestPrintSummary(t *testing.T) {
	r := &workflows.SyncResult{
		Integration: "acme", Read: map[string]int{"users": 2000, "groups": 40}, Uploaded: map[string]int{"users": 2000, "groups": 40},
		Skipped: map[string]int{"ldap": 2}, Rejected: map[string]int{"accounts": 1}, JumpCloudRequests: 60, JumpCloudRetries: 1, AuthomizeRequests: 12, PagesResumed: 3,
		Swept: true, SweepCutoff: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Duration: 1500 * time.Millisecond,
		Stages:   []activities.StageResult{{Stage: "users", Duration: time.Second}},
		Warnings: []string{"owner not found"},
	}
	var text bytes.Buffer
	if err := PrintSummary(&text, r, FormatText); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Sync of acme finished in 1.5s", "users", "2000", "skipped: ldap 2", "rejected by Authomize: accounts 1", "JumpCloud 60 (1 retries)", "pages resumed 3", "2026-01-02T03:04:05Z", "warning: owner not found"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := PrintSummary(&js, r, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var back workflows.SyncResult
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Read["users"] != 2000 {
		t.Fatalf("json: %v %+v", err, back)
	}
	if PrintSummary(&js, nil, FormatText) == nil {
		t.Fatal("nil result accepted")
	}
}

func TestQueryHint(t *testing.T) {
	if !strings.Contains(queryHint(fmt.Errorf("query: %w", context.DeadlineExceeded)), "worker") {
		t.Fatal("a timed-out query should hint at the worker")
	}
}
