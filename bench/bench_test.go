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
	bin := binDir(t)
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
	bin := binDir(t)
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

// binDir is the directory of the binaries the benchmark starts: ../bin, which `make test`
// builds first, or JCSYNC_BENCH_BIN.
func binDir(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("JCSYNC_BENCH_BIN")
	if bin == "" {
		bin = "../bin"
	}
	bin, _ = filepath.Abs(bin)
	for _, b := range []string{"temporal", "worker", "sim"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Fatalf("%s is missing from %s: run `make build tools` (make test does)", b, bin)
		}
	}
	return bin
}

// TestUnknownLimitScenario runs unknown-limit on the small org against one hidden limit: the
// worker, given no rate, finds it with few 429s, and the report says so. The wall time is
// not checked here (the machine may be busy); make bench reports it.
func TestUnknownLimitScenario(t *testing.T) {
	o := options{bin: binDir(t), logw: io.Discard, org: small, limits: []float64{100}}
	r, err := runUnknownLimit(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	rep := r.(*unknownLimitReport)
	if len(rep.Rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rep.Rows))
	}
	row := rep.Rows[0]
	if !row.Exact || row.MinRequests == 0 || row.Bound <= 0 || row.Ratio <= 0 {
		t.Fatalf("figures %+v", row)
	}
	// A sync this small is mostly slow start, whose one overshoot costs the requests in
	// flight when the server's burst runs out: at most what the pacer lets fly at twice the
	// limit (slow start doubles past it once), 2 × limit × latency × 1.5 headroom, plus one.
	// Beyond that, the target share of the large org.
	p := row.Pacing.JumpCloud
	overshoot := 2*o.limits[0]*pacingLatency.Seconds()*1.5 + 1
	if allowed := targetShare429*float64(row.JumpCloudRequests) + overshoot; float64(row.Status429) > allowed {
		t.Fatalf("%d 429s of %d requests (%.1f %%; allowed %.1f): the pacer overran the hidden limit",
			row.Status429, row.JumpCloudRequests, 100*row.Share429, allowed)
	}
	if p.Rate <= 0 || p.Ceiling < 1000 {
		t.Fatalf("JumpCloud pace %+v: want a found rate and no ceiling from the worker", p)
	}
	var out strings.Builder
	r.print(&out)
	if !strings.Contains(out.String(), "scenario unknown-limit") {
		t.Fatalf("report:\n%s", out.String())
	}
	t.Log("\n" + out.String())
}
