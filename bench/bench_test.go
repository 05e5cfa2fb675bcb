package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
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
	row, err := Run(context.Background(), bin, sc, io.Discard)
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
