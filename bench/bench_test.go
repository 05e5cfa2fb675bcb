package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSmallScenario runs the benchmark end to end on a small org (real dev server, worker and
// simulator processes) and checks what the benchmark itself checks before it reports: the
// snapshot is exact and the sync made exactly the minimum JumpCloud requests.
func TestSmallScenario(t *testing.T) {
	bin, _ := filepath.Abs("../bin")
	for _, b := range []string{"temporal", "worker", "sim"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Fatalf("%s is missing from %s: run `make build tools` (make test does)", b, bin)
		}
	}
	sc, _ := find("small")
	row, err := runScenario(context.Background(), bin, sc, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !row.Exact {
		t.Fatal("the benchmark reported a sync whose snapshot is not exact")
	}
	if row.JumpCloudRequests != int64(row.MinRequests) {
		t.Fatalf("%d JumpCloud requests, the minimum is %d", row.JumpCloudRequests, row.MinRequests)
	}
	if row.Status429*100 > row.JumpCloudRequests {
		t.Fatalf("%d 429s for %d requests: the worker overruns the rate it was given", row.Status429, row.JumpCloudRequests)
	}
	if row.HistoryEvents == 0 || row.WorkerPeakRSSMB == 0 {
		t.Fatalf("missing figures: %+v", row)
	}
	t.Logf("small: %d requests, wall %s, peak RSS %.1f MB, %d history events", row.JumpCloudRequests, row.Wall, row.WorkerPeakRSSMB, row.HistoryEvents)
}

// TestChurnScenario runs a short churn run on the small org: the still sync is exact, the
// syncs of the changing org see changes, lose nothing that existed throughout them, and sweep.
func TestChurnScenario(t *testing.T) {
	bin, _ := filepath.Abs("../bin")
	for _, b := range []string{"temporal", "worker", "sim"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Fatalf("%s is missing from %s: run `make build tools` (make test does)", b, bin)
		}
	}
	small, _ := find("small")
	sc := withChurn(small, "small-churn", 3, 100*time.Millisecond)
	row, err := runChurn(context.Background(), bin, sc, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	rep := row.Churn
	if !row.Exact || rep == nil || len(rep.Syncs) != sc.ChurnSyncs {
		t.Fatalf("exact %v, report %+v: want an exact still sync and %d syncs of the changing org", row.Exact, rep, sc.ChurnSyncs)
	}
	s := rep.summary()
	if s.Changes == 0 || rep.Changes.Total < s.Changes || s.Stable == 0 {
		t.Fatalf("summary %+v, churn %+v: the org did not change during the syncs, or nothing was checked", s, rep.Changes)
	}
	if s.Missing != 0 {
		t.Fatalf("%d stable objects missing", s.Missing)
	}
	if s.Swept < s.Syncs-1 {
		t.Fatalf("the sweep ran in %d of %d syncs", s.Swept, s.Syncs)
	}
	var out strings.Builder
	printFigures(&out, sc, row)
	t.Log("\n" + out.String())
}
