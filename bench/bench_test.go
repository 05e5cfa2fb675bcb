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

// TestFleetScenario runs fleet on the small org: three workers share the hidden limit (no
// second above it by more than the server's burst allows), the sync is exact, and the sync
// whose phase worker was killed mid-stage still ends exact, resuming from the checkpoint.
// The 429 share of so short a sync is mostly its pacers' first overshoot, so it is bounded
// as in TestUnknownLimitScenario, per worker.
func TestFleetScenario(t *testing.T) {
	o := options{bin: binDir(t), logw: io.Discard, org: small}
	r, err := runFleet(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	rep := r.(*fleetReport)
	if !rep.Exact || rep.MinRequests == 0 || rep.Ratio <= 0 || rep.Rate.Seconds == 0 {
		t.Fatalf("figures %+v", rep.figures)
	}
	if rep.Rate.SecondsOver > 0 {
		t.Fatalf("%d seconds above %g req/s (most %d): the workers together overran the limit", rep.Rate.SecondsOver, fleetLimit*fleetHeadroom, rep.Rate.MaxSecond)
	}
	overshoot := fleetWorkers * (2*fleetLimit*pacingLatency.Seconds()*1.5 + 1)
	if allowed := targetShare429*float64(rep.JumpCloudRequests) + overshoot; float64(rep.Status429) > allowed {
		t.Fatalf("%d 429s of %d requests (allowed %.1f)", rep.Status429, rep.JumpCloudRequests, allowed)
	}
	k := rep.Kill
	if k == nil || !k.Exact || k.Stage == "" || k.Attempts < 2 {
		t.Fatalf("kill %+v: want an exact sync whose killed stage ran a second attempt", k)
	}
	if k.Rate.SecondsOver > 0 {
		t.Fatalf("after the kill, %d seconds above the limit (most %d)", k.Rate.SecondsOver, k.Rate.MaxSecond)
	}
	var out strings.Builder
	r.print(&out)
	t.Log("\n" + out.String())
}

// TestManyOrgsScenario runs many-orgs with three small orgs: every sync is exact, no org got
// more than its limit (plus the burst) in any second, and the report names the extremes.
// The ratio to the sync alone is not checked here (the machine may be busy); make bench
// reports it.
func TestManyOrgsScenario(t *testing.T) {
	o := options{bin: binDir(t), logw: io.Discard, orgs: 3, orgUsers: 300}
	r, err := runManyOrgs(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	rep := r.(*manyOrgsReport)
	if len(rep.Syncs) != o.orgs || !rep.Single.Exact || rep.Total <= 0 || rep.Ratio <= 0 {
		t.Fatalf("report %+v", rep)
	}
	for _, s := range append([]orgSync{rep.Single}, rep.Syncs...) {
		if !s.Exact || s.Requests < int64(s.Minimum) || s.Minimum == 0 {
			t.Fatalf("%s: %+v", s.Name, s)
		}
		if s.Rate.SecondsOver > 0 {
			t.Fatalf("%s: %d seconds above %g req/s (most %d)", s.Name, s.Rate.SecondsOver, manyOrgsLimit*fleetHeadroom, s.Rate.MaxSecond)
		}
	}
	var out strings.Builder
	r.print(&out)
	for _, want := range []string{"slowest org", "fastest org", "3 of 3"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("report lacks %q:\n%s", want, out.String())
		}
	}
	t.Log("\n" + out.String())
}
