package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"jcsync/activities"
	"jcsync/internal/sim/control"
	"jcsync/internal/temporalnames"
	"jcsync/workflows"
)

// The fleet scenario: several worker processes on one task queue sync one org whose limit
// none of them is told. Each worker paces the org on its own, and a sync's phases may run on
// different workers; what JumpCloud sees is the sum, so the figures come from the
// simulator's per-second arrival counts, not from any one worker.
const (
	fleetWorkers = 3
	fleetLimit   = 20.0
	// fleetHeadroom is how far above the limit a second may go before it counts as an
	// overrun: the server's burst (a tenth of the limit) lets a second exceed it.
	fleetHeadroom = 1.10
	// fleetHeartbeat is the killed sync's heartbeat timeout: how soon a survivor takes over
	// the phase of the killed worker (production's default is 30 s).
	fleetHeartbeat = 5 * time.Second
)

// fleetReport is the fleet scenario's figures: a clean sync, then one whose worker dies.
type fleetReport struct {
	Org     scenario `json:"org"`
	Workers int      `json:"workers"`
	Limit   float64  `json:"limit"`
	figures
	Rate     rateFigures   `json:"rate"`
	Bound    time.Duration `json:"bound"`
	Ratio    float64       `json:"ratio"`
	Share429 float64       `json:"share429"`
	Kill     *killFigures  `json:"kill,omitempty"`
}

// rateFigures condense the simulator's per-second arrival counts.
type rateFigures struct {
	Seconds     int   `json:"seconds"`
	MaxSecond   int64 `json:"maxSecond"`
	SecondsOver int   `json:"secondsOver"` // seconds above limit × fleetHeadroom
}

// killFigures is the sync during which the worker running a phase was killed.
type killFigures struct {
	Stage     string        `json:"stage"` // the stage furthest along at the kill
	At        int           `json:"at"`    // what it had committed (items, or parents of a fan-out)
	Total     int           `json:"total"` // its list's length
	Wall      time.Duration `json:"wall"`
	Requests  int64         `json:"requests"`
	Minimum   int           `json:"minimum"`
	Refetched int           `json:"pagesRefetched"`
	Attempts  int           `json:"attempts"`     // of the killed stage
	Resumed   int           `json:"pagesResumed"` // of the killed stage
	Status429 int64         `json:"status429"`
	Rate      rateFigures   `json:"rate"`
	Exact     bool          `json:"exact"`
}

// runFleet syncs the org on three workers, then syncs it again and kills the worker that
// runs the busiest phase once, half way through one of its stages.
func runFleet(ctx context.Context, o options) (report, error) {
	sc := o.org
	sc.Name = "fleet"
	sc.RPS, sc.Unknown, sc.Latency, sc.PageConcurrency, sc.Workers = fleetLimit, true, pacingLatency, 0, fleetWorkers
	fmt.Fprintf(o.logw, "bench: running %s (%d users, %d groups, %d apps; %d workers, JumpCloud's hidden limit %g req/s)\n",
		sc.Name, sc.Users, sc.Groups, sc.Apps, sc.Workers, sc.RPS)
	st, err := startStack(ctx, o.bin, sc, o.logw)
	if err != nil {
		return nil, err
	}
	defer st.close()
	id := temporalnames.SyncID(benchIntegration)
	row, _, err := st.measure(ctx, sc, id, workflows.SyncInput{Integration: benchIntegration})
	if err != nil {
		return nil, err
	}
	rep := &fleetReport{Org: sc, Workers: sc.Workers, Limit: sc.RPS, figures: row}
	if rep.Rate, err = st.rate(sc.RPS); err != nil {
		return nil, err
	}
	rep.Bound = time.Duration(float64(row.MinRequests) / sc.RPS * float64(time.Second))
	rep.Ratio = float64(row.Wall) / float64(rep.Bound)
	rep.Share429 = float64(row.Status429) / float64(max(1, row.JumpCloudRequests))

	fmt.Fprintf(o.logw, "bench: %s: again, killing the worker that runs a phase half way through a stage\n", sc.Name)
	rep.Kill, err = st.killedSync(ctx, id, workflows.SyncInput{Integration: benchIntegration, HeartbeatTimeout: fleetHeartbeat}, sc.RPS)
	return rep, err
}

// rate reads the simulator's arrivals per second since the last reset.
func (st *stack) rate(limit float64) (rateFigures, error) {
	var arr map[string]int64
	if err := getJSON(st.ctl+"/arrivals", &arr); err != nil {
		return rateFigures{}, err
	}
	r := rateFigures{Seconds: len(arr)}
	for _, n := range arr {
		r.MaxSecond = max(r.MaxSecond, n)
		if float64(n) > limit*fleetHeadroom {
			r.SecondsOver++
		}
	}
	return r, nil
}

// killedSync runs one sync under id, from counters reset, and SIGKILLs the worker of the
// first phase whose checkpoint shows a stage half done (or, for a list of unknown length,
// some of it committed). It fails when the sync ends before
// that, fails, or is not exact.
func (st *stack) killedSync(ctx context.Context, id string, in workflows.SyncInput, limit float64) (*killFigures, error) {
	if err := postReset(st.ctl); err != nil {
		return nil, err
	}
	began := time.Now()
	run, err := st.startSync(ctx, id, in)
	if err != nil {
		return nil, err
	}
	k := &killFigures{}
	done := make(chan error, 1)
	var res workflows.SyncResult
	go func() { done <- run.Get(ctx, &res) }()
	killed := false
	for !killed {
		select {
		case err := <-done:
			if err != nil {
				return nil, fmt.Errorf("sync failed before the kill: %w", err)
			}
			return nil, fmt.Errorf("the sync ended in %s before any stage was half done: nothing to kill", time.Since(began).Round(time.Millisecond))
		case <-time.After(50 * time.Millisecond):
		}
		if killed, err = st.killPhaseWorker(ctx, run, k); err != nil {
			return nil, err
		}
	}
	if err := <-done; err != nil {
		return nil, fmt.Errorf("the surviving workers did not finish the sync: %w", err)
	}
	k.Wall = time.Since(began)
	for _, r := range res.Stages {
		if r.Stage == k.Stage {
			k.Attempts, k.Resumed = r.Counts.Attempts, r.Counts.PagesResumed
		}
	}
	var counts control.Counts
	if err := getJSON(st.ctl+"/counts", &counts); err != nil {
		return k, err
	}
	var verdict control.Verdict
	if err := getJSON(st.ctl+"/verify", &verdict); err != nil {
		return k, err
	}
	k.Requests, k.Refetched, k.Status429, k.Exact = counts.JumpCloudTotal, counts.JumpCloudRefetched, counts.JumpCloudByStatus[429], verdict.Exact
	for _, n := range verdict.MinRequests {
		k.Minimum += n
	}
	if k.Rate, err = st.rate(limit); err != nil {
		return k, err
	}
	if !k.Exact {
		return k, fmt.Errorf("after the kill, the Authomize snapshot is not exactly the org (%d differences: %v)", verdict.Differences, verdict.Sample)
	}
	return k, nil
}

// killPhaseWorker looks at the sync's pending phase: once one of its stages has committed
// half its list, it SIGKILLs the worker that last reported the phase (Temporal names it by
// the SDK's default identity, "pid@host") and records where the stage stood.
func (st *stack) killPhaseWorker(ctx context.Context, run client.WorkflowRun, k *killFigures) (bool, error) {
	desc, err := st.client.DescribeWorkflow(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return false, fmt.Errorf("describe the sync: %w", err)
	}
	for _, pa := range desc.RawResponse.GetPendingActivities() {
		if pa.GetActivityType().GetName() != activities.ActivityPhase {
			continue
		}
		cp, ok := activities.ReadPhaseCheckpoint(pa.GetHeartbeatDetails(), converter.GetDefaultDataConverter())
		if !ok {
			continue
		}
		stages := make([]string, 0, len(cp.Running))
		for s := range cp.Running {
			stages = append(stages, s)
		}
		sort.Strings(stages)
		for _, s := range stages {
			// A list stage's progress is its offset; a fan-out stage's (members, bindings) is
			// the parents it finished as well. Half way when the length is known; otherwise
			// once it has committed anything.
			c := cp.Running[s]
			done := max(c.NextSkip, len(c.Done))
			if done == 0 || (c.Total > 0 && (2*done < c.Total || done >= c.Total)) {
				continue
			}
			for _, w := range st.workers {
				if !strings.HasPrefix(pa.GetLastWorkerIdentity(), strconv.Itoa(w.Process.Pid)+"@") {
					continue
				}
				if err := syscall.Kill(w.Process.Pid, syscall.SIGKILL); err != nil {
					return false, fmt.Errorf("kill worker %d: %w", w.Process.Pid, err)
				}
				k.Stage, k.At, k.Total = s, done, c.Total
				return true, nil
			}
		}
	}
	return false, nil
}

func (r *fleetReport) print(w io.Writer) {
	fmt.Fprintf(w, "scenario fleet: %s; latency %s; %d workers on one task queue; JumpCloud's limit %g req/s, hidden from the workers\n",
		orgText(r.Org), r.Org.Latency, r.Workers, r.Limit)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  JumpCloud requests (minimum)\t%d (%d)\n", r.JumpCloudRequests, r.MinRequests)
	fmt.Fprintf(tw, "  most requests in any second (all workers)\t%d\n", r.Rate.MaxSecond)
	fmt.Fprintf(tw, "  seconds above %g req/s\t%d of %d\n", r.Limit*fleetHeadroom, r.Rate.SecondsOver, r.Rate.Seconds)
	fmt.Fprintf(tw, "  429s received\t%d (%.2f %%)\t%s\n", r.Status429, 100*r.Share429, verdict(r.Share429 <= targetShare429))
	fmt.Fprintf(tw, "  wall time\t%s\n", r.Wall.Round(100*time.Millisecond))
	fmt.Fprintf(tw, "  minimum ÷ limit\t%s\n", r.Bound.Round(100*time.Millisecond))
	fmt.Fprintf(tw, "  wall ÷ bound\t%.3f\n", r.Ratio)
	fmt.Fprintf(tw, "  Authomize snapshot exact\t%v\n", r.Exact)
	if k := r.Kill; k != nil {
		fmt.Fprintf(tw, "  then, SIGKILL of the worker running stage %s at %d of %d:\n", k.Stage, k.At, k.Total)
		fmt.Fprintf(tw, "    JumpCloud requests (minimum)\t%d (%d)\n", k.Requests, k.Minimum)
		fmt.Fprintf(tw, "    pages fetched twice\t%d\n", k.Refetched)
		fmt.Fprintf(tw, "    %s: attempts, pages resumed from the checkpoint\t%d, %d\n", k.Stage, k.Attempts, k.Resumed)
		fmt.Fprintf(tw, "    429s; most requests in any second\t%d; %d\n", k.Status429, k.Rate.MaxSecond)
		fmt.Fprintf(tw, "    wall time (heartbeat timeout %s)\t%s\n", fleetHeartbeat, k.Wall.Round(100*time.Millisecond))
		fmt.Fprintf(tw, "    Authomize snapshot exact\t%v\n", k.Exact)
	}
	tw.Flush()
	fmt.Fprintf(w, "  targets: 429 share ≤ %.0f %%, no second above the limit + %.0f %%\n\n", 100*targetShare429, 100*(fleetHeadroom-1))
}
