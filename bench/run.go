package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	"jcsync/internal/sim/control"
	"jcsync/internal/temporalnames"
	"jcsync/workflows"
)

// runScenario runs one scenario end to end and returns its figures. It fails when the sync fails or
// Authomize's snapshot is not exactly the org.
func runScenario(ctx context.Context, binDir string, sc scenario, logw io.Writer) (figures, error) {
	st, err := startStack(ctx, binDir, sc, logw)
	if err != nil {
		return figures{}, err
	}
	defer st.close()
	// The sync runs under the integration's own id, as `starter sync` starts it. A run under
	// another id (a schedule's) hands over to that id after a credential check of its own:
	// one JumpCloud request more than the minimum the benchmark holds the sync to.
	id := temporalnames.SyncID(benchIntegration)
	row, _, err := st.measure(ctx, sc, id, workflows.SyncInput{Integration: benchIntegration})
	return row, err
}

// runChurn runs a churn scenario: one sync of the still org (measured as runScenario measures it),
// then sc.ChurnSyncs syncs back to back while the org changes once every sc.ChurnEvery. After
// each, everything that existed throughout it and was never touched must be in Authomize;
// the run fails when anything is missing, and returns the syncs so far with that error.
func runChurn(ctx context.Context, binDir string, sc scenario, logw io.Writer) (figures, error) {
	st, err := startStack(ctx, binDir, sc, logw)
	if err != nil {
		return figures{}, err
	}
	defer st.close()
	// Every sync runs under the integration's own id, as production's do, so none hands over
	// to a child; the syncs follow each other closely, and the default 2-minute sweep margin
	// would defer each one's deletions to a later sync.
	id := temporalnames.SyncID(benchIntegration)
	in := workflows.SyncInput{Integration: benchIntegration, SweepMargin: time.Second}

	if err := post(st.ctl+"/window/begin", http.StatusNoContent, nil); err != nil {
		return figures{}, err
	}
	row, res, err := st.measure(ctx, sc, id, in)
	if err != nil {
		return row, fmt.Errorf("the sync of the still org: %w", err)
	}
	var chk control.WindowCheck
	if err := getJSON(st.ctl+"/window/check", &chk); err != nil {
		return row, err
	}
	rep := &churnReport{Every: sc.ChurnEvery, Still: churnSync(res, row.JumpCloudRequests, chk, row.Wall)}
	row.Churn = rep

	start := fmt.Sprintf("%s/churn/start?every=%s&seed=%d", st.ctl, url.QueryEscape(sc.ChurnEvery.String()), benchSeed)
	if err := post(start, http.StatusNoContent, nil); err != nil {
		return row, err
	}
	for i := range sc.ChurnSyncs {
		fmt.Fprintf(logw, "bench: %s: sync %d of %d while the org changes\n", sc.Name, i+1, sc.ChurnSyncs)
		c, err := st.churnedSync(ctx, id, in)
		if err != nil {
			return row, fmt.Errorf("sync %d of the changing org: %w", i+1, err)
		}
		rep.Syncs = append(rep.Syncs, c)
	}
	if err := post(st.ctl+"/churn/stop", http.StatusOK, &rep.Changes); err != nil {
		return row, err
	}
	if s := rep.summary(); s.Missing > 0 {
		return row, fmt.Errorf("%d objects that existed throughout their sync are missing from Authomize", s.Missing)
	}
	return row, nil
}

// measure runs one sync of a still org under id, from counters reset, and returns its
// figures. It fails when the sync fails or Authomize's snapshot is not exactly the org.
func (st *stack) measure(ctx context.Context, sc scenario, id string, in workflows.SyncInput) (figures, workflows.SyncResult, error) {
	var res workflows.SyncResult
	if err := postReset(st.ctl); err != nil {
		return figures{}, res, err
	}
	began := time.Now()
	run, err := st.startSync(ctx, id, in)
	if err != nil {
		return figures{}, res, err
	}
	cpuDone := make(chan error, 1)
	if profileDir != "" {
		go func() {
			cpuDone <- fetch(st.pprofURL+"/profile?seconds=30", filepath.Join(profileDir, sc.Name+"-cpu.pprof"))
		}()
	}
	wctx, cancel := st.whileWorkersRun(ctx)
	defer cancel()
	if err := run.Get(wctx, &res); err != nil {
		return figures{}, res, fmt.Errorf("sync failed: %w", errors.Join(err, context.Cause(wctx)))
	}
	wall := time.Since(began)
	if profileDir != "" {
		if err := fetch(st.pprofURL+"/heap", filepath.Join(profileDir, sc.Name+"-heap.pprof")); err != nil {
			fmt.Fprintf(st.logw, "bench: heap profile: %v\n", err)
		}
		if err := <-cpuDone; err != nil {
			fmt.Fprintf(st.logw, "bench: CPU profile: %v\n", err)
		}
	}
	peak, cpu := procStats(st.worker.Process.Pid)

	var counts control.Counts
	if err := getJSON(st.ctl+"/counts", &counts); err != nil {
		return figures{}, res, err
	}
	var verdict control.Verdict
	if err := getJSON(st.ctl+"/verify", &verdict); err != nil {
		return figures{}, res, err
	}
	row := figures{
		Scenario: sc.Name, Exact: verdict.Exact, JumpCloudRequests: counts.JumpCloudTotal,
		ByEndpoint: counts.JumpCloudByEndpoint, AuthomizeRequests: counts.AuthomizeTotal,
		Status429: counts.JumpCloudByStatus[429], Wall: wall, WorkerPeakRSSMB: peak, WorkerCPU: cpu,
		PagesRefetched: counts.JumpCloudRefetched,
	}
	for _, n := range verdict.MinRequests {
		row.MinRequests += n
	}
	if sc.RPS > 0 {
		row.LowerBound = time.Duration(float64(row.JumpCloudRequests-1) / sc.RPS * float64(time.Second))
	}
	var longest time.Duration
	for _, r := range res.Stages {
		if r.Pacing != nil {
			fmt.Fprintf(st.logw, "bench: %s: stage %s took %s; JumpCloud %s; Authomize %s\n", sc.Name, r.Stage,
				r.Duration.Round(time.Millisecond), r.Pacing.JumpCloud, r.Pacing.Authomize)
		}
		if r.Pacing != nil && row.Start == 0 {
			row.Start = r.Pacing.JumpCloud.Start
		}
		if r.Pacing != nil && r.Duration >= longest {
			longest, row.Pacing = r.Duration, *r.Pacing
		}
	}
	row.HistoryEvents, err = historyEvents(ctx, st.client, run)
	if err != nil {
		return row, res, err
	}
	if !verdict.Exact {
		return row, res, fmt.Errorf("the Authomize snapshot is not exactly the org (%d differences: %v): no figure reported", verdict.Differences, verdict.Sample)
	}
	return row, res, nil
}

// churnedSync runs one sync of the changing org under id, from counters reset, inside a
// window of the admin endpoint, and checks Authomize against what was stable throughout it.
func (st *stack) churnedSync(ctx context.Context, id string, in workflows.SyncInput) (syncFigures, error) {
	if err := postReset(st.ctl); err != nil {
		return syncFigures{}, err
	}
	if err := post(st.ctl+"/window/begin", http.StatusNoContent, nil); err != nil {
		return syncFigures{}, err
	}
	began := time.Now()
	run, err := st.startSync(ctx, id, in)
	if err != nil {
		return syncFigures{}, err
	}
	var res workflows.SyncResult
	wctx, cancel := st.whileWorkersRun(ctx)
	defer cancel()
	if err := run.Get(wctx, &res); err != nil {
		return syncFigures{}, fmt.Errorf("sync failed: %w", errors.Join(err, context.Cause(wctx)))
	}
	wall := time.Since(began)
	if res.NotRun != "" {
		return syncFigures{}, fmt.Errorf("the sync did not run: %s", res.NotRun)
	}
	var counts control.Counts
	if err := getJSON(st.ctl+"/counts", &counts); err != nil {
		return syncFigures{}, err
	}
	var chk control.WindowCheck
	if err := getJSON(st.ctl+"/window/check", &chk); err != nil {
		return syncFigures{}, err
	}
	return churnSync(res, counts.JumpCloudTotal, chk, wall), nil
}

func churnSync(res workflows.SyncResult, requests int64, chk control.WindowCheck, wall time.Duration) syncFigures {
	c := syncFigures{
		JumpCloudRequests: requests, Swept: res.Swept, SweepSkipped: res.SweepSkipped,
		RepairReads: res.RepairReads, ListsChanged: res.ListsChanged, Wall: wall,
		Changes: chk.Changes, Missing: chk.Missing, Sample: chk.Sample,
	}
	for _, n := range chk.Stable {
		c.Stable += n
	}
	return c
}
