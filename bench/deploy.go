package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"jcsync/internal/sim/control"
	"jcsync/internal/temporalnames"
	"jcsync/workflows"
)

// The deploy scenario: a rolling restart in the middle of a long phase. A sync runs at a rate
// that makes its phases last longer than the worker's stop timeout (30 s); part way, a new
// worker starts and the one running the phase gets SIGTERM, as a rolling update does. The
// phase hands over at its checkpoint; the figure is the time that costs against a clean sync
// of the same org.
var deployOrg = scenario{Name: "deploy", Users: 10000, Groups: 300, Admins: 25, Apps: 100, MaxGroupSize: 500, AvgGroupSize: 40,
	UserBindingsPerApp: 10, GroupBindingsPerApp: 3, Latency: 40 * time.Millisecond, RPS: 5, PageConcurrency: 4}

// deployAfter is how long into the sync the new worker starts and the old one is stopped.
const deployAfter = 30 * time.Second

// deployMargin is the syncs' sweep margin: back-to-back syncs would otherwise wait out the
// default margin after each other's writes, which is not what this scenario measures.
const deployMargin = time.Second

type deployReport struct {
	Org      scenario      `json:"org"`
	Clean    time.Duration `json:"clean"`
	Deployed time.Duration `json:"deployed"`
	Lost     time.Duration `json:"lost"`
	// Takeover is from the SIGTERM to the phase's next attempt starting on the new worker.
	Takeover time.Duration `json:"takeover"`
	Exited   time.Duration `json:"oldWorkerExited"` // from the SIGTERM
	Exact    bool          `json:"exact"`
}

// runDeploy syncs once to fill the app, then measures a clean sync and a sync during which
// the worker is replaced.
func runDeploy(ctx context.Context, o options) (report, error) {
	sc := deployOrg
	fmt.Fprintf(o.logw, "bench: running %s (%d users, %d groups, %d apps; %g req/s)\n", sc.Name, sc.Users, sc.Groups, sc.Apps, sc.RPS)
	st, err := startStack(ctx, o.bin, sc, o.logw)
	if err != nil {
		return nil, err
	}
	defer st.close()
	id := temporalnames.SyncID(benchIntegration)
	in := workflows.SyncInput{Integration: benchIntegration, SweepMargin: deployMargin}
	if _, _, err := st.measure(ctx, sc, id, in); err != nil {
		return nil, fmt.Errorf("first sync: %w", err)
	}
	clean, _, err := st.measure(ctx, sc, id, in)
	if err != nil {
		return nil, fmt.Errorf("clean sync: %w", err)
	}
	rep := &deployReport{Org: sc, Clean: clean.Wall}
	fmt.Fprintf(o.logw, "bench: %s: clean sync %s; again, replacing the worker %s in\n", sc.Name, clean.Wall.Round(time.Millisecond), deployAfter)
	if err := st.deployedSync(ctx, o, id, in, rep); err != nil {
		return rep, err
	}
	rep.Lost = rep.Deployed - rep.Clean
	return rep, nil
}

// deployedSync runs one sync and, deployAfter into it, starts a second worker and sends the
// first SIGTERM.
func (st *stack) deployedSync(ctx context.Context, o options, id string, in workflows.SyncInput, rep *deployReport) error {
	if err := postReset(st.ctl); err != nil {
		return err
	}
	began := time.Now()
	run, err := st.startSync(ctx, id, in)
	if err != nil {
		return err
	}
	var syncErr error
	ended := make(chan struct{})
	go func() {
		var res workflows.SyncResult
		syncErr = run.Get(ctx, &res)
		close(ended)
	}()
	select {
	case <-ended:
		return fmt.Errorf("the sync ended within %s, before the deploy (%v): nothing measured", deployAfter, syncErr)
	case <-time.After(deployAfter):
	}
	old := st.worker
	if _, err := st.startWorker(o.bin, st.restartArgs, st.restartEnv); err != nil {
		return err
	}
	// A rolling update waits for the new pod's readiness: here, its polls on the queue.
	if err := st.waitPollers(ctx, temporalnames.IntegrationQueue(st.queue, benchIntegration), 2); err != nil {
		return err
	}
	stopped := time.Now()
	if err := syscall.Kill(old.Process.Pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM to the old worker: %w", err)
	}
	go func() {
		<-exitOf(old)
		rep.Exited = time.Since(stopped)
	}()
	rep.Takeover = st.nextAttempt(ctx, run.GetID(), run.GetRunID(), stopped, ended)
	<-ended
	if syncErr != nil {
		return fmt.Errorf("the sync failed after the deploy: %w", syncErr)
	}
	rep.Deployed = time.Since(began)
	var verdict control.Verdict
	if err := getJSON(st.ctl+"/verify", &verdict); err != nil {
		return err
	}
	rep.Exact = verdict.Exact
	if !verdict.Exact {
		return fmt.Errorf("after the deploy, the Authomize snapshot is not exactly the org (%d differences: %v)", verdict.Differences, verdict.Sample)
	}
	return nil
}

// waitPollers waits until n workers poll queue for activities.
func (st *stack) waitPollers(ctx context.Context, queue string, n int) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		d, err := st.client.DescribeTaskQueue(ctx, queue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		if err == nil && len(d.GetPollers()) >= n {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("the new worker never polled " + queue)
}

// nextAttempt waits for the running phase's next attempt to start after since, and returns how
// long after since it did; 0 when the sync ended first.
func (st *stack) nextAttempt(ctx context.Context, id, runID string, since time.Time, ended <-chan struct{}) time.Duration {
	var attempt int32
	for {
		desc, err := st.client.DescribeWorkflow(ctx, id, runID)
		if err == nil {
			for _, pa := range desc.RawResponse.GetPendingActivities() {
				if attempt == 0 {
					attempt = pa.GetAttempt()
				}
				if pa.GetAttempt() > attempt && pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED {
					return pa.GetLastStartedTime().AsTime().Sub(since)
				}
			}
		}
		select {
		case <-ended:
			return 0
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (r *deployReport) print(w io.Writer) {
	fmt.Fprintf(w, "scenario deploy: %s; latency %s; rate limit %g req/s; at %s a new worker starts and the one running the phase gets SIGTERM\n",
		orgText(r.Org), r.Org.Latency, r.Org.RPS, deployAfter)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  clean sync\t%s\n", r.Clean.Round(100*time.Millisecond))
	fmt.Fprintf(tw, "  sync with the worker replaced\t%s\n", r.Deployed.Round(100*time.Millisecond))
	fmt.Fprintf(tw, "  time lost\t%s\n", r.Lost.Round(100*time.Millisecond))
	fmt.Fprintf(tw, "  SIGTERM → the phase's next attempt on the new worker\t%s\n", r.Takeover.Round(10*time.Millisecond))
	fmt.Fprintf(tw, "  SIGTERM → the old worker exited\t%s\n", r.Exited.Round(10*time.Millisecond))
	fmt.Fprintf(tw, "  Authomize snapshot exact\t%v\n", r.Exact)
	tw.Flush()
	fmt.Fprintf(w, "  target: a few seconds lost (the heartbeat timeout, 30 s, is what a phase cut short without hand-over costs)\n\n")
}
