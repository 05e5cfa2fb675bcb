package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"jcsync/activities"
	"jcsync/internal/sim/control"
	"jcsync/internal/temporalnames"
	"jcsync/workflows"
)

// The crash scenario: the worker running a sync's phase is SIGKILLed mid-stage and a new
// worker process is started at once, as a container runtime restarts a crashed container,
// with the production heartbeat timeout (30 s). What a kill costs is the sync's wall time
// beyond a clean sync's of the same org, on the same stack, divided by the kills.
const (
	crashLimit = 50.0
	crashKills = 2
	// crashIdentity is the worker's host identity: a restarted container keeps its pod's.
	crashIdentity = "bench-crash-pod"
)

// crashTarget is the most sync time a kill may cost.
const crashTarget = 5 * time.Second

// crashVariant is one way of restarting: under the same identity (the crashed worker's
// successor takes its phase over), or under another (as before the takeover: the phase
// waits for its heartbeat timeout); with the org's limit given as a ceiling or found.
type crashVariant struct {
	Name          string          `json:"name"`
	Unknown       bool            `json:"unknownLimit"`
	OtherIdentity bool            `json:"otherIdentity"`
	Clean         time.Duration   `json:"cleanWall"`
	Killed        time.Duration   `json:"killedWall"`
	Kills         int             `json:"kills"`
	LostPerKill   time.Duration   `json:"lostPerKill"`
	Resumed       []time.Duration `json:"resumedAfter"` // from each kill to the next attempt's start
	Stages        []string        `json:"stagesKilled"`
	Requests      int64           `json:"jumpcloudRequests"`
	Minimum       int             `json:"minRequests"`
	Status429     int64           `json:"status429"`
	Exact         bool            `json:"exact"`
}

type crashReport struct {
	Org      scenario       `json:"org"`
	Limit    float64        `json:"limit"`
	Variants []crashVariant `json:"variants"`
}

// runCrash measures each variant on a stack of its own.
func runCrash(ctx context.Context, o options) (report, error) {
	rep := &crashReport{Org: o.org, Limit: crashLimit}
	for _, v := range []crashVariant{
		{Name: "same identity, limit given"},
		{Name: "same identity, limit found", Unknown: true},
		{Name: "another identity, limit given", OtherIdentity: true},
	} {
		got, err := runCrashVariant(ctx, o, v)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", v.Name, err)
		}
		rep.Variants = append(rep.Variants, got)
	}
	return rep, nil
}

// runCrashVariant syncs the org once (its first sync), then once clean and once with
// crashKills kills, and compares the two.
func runCrashVariant(ctx context.Context, o options, v crashVariant) (crashVariant, error) {
	sc := o.org
	sc.Name = "crash"
	sc.RPS, sc.Unknown, sc.Latency, sc.PageConcurrency, sc.Workers, sc.WorkerIdentity = crashLimit, v.Unknown, pacingLatency, 0, 1, crashIdentity
	fmt.Fprintf(o.logw, "bench: running crash, %s (%d users, %d groups, %d apps; JumpCloud's limit %g req/s)\n", v.Name, sc.Users, sc.Groups, sc.Apps, sc.RPS)
	st, err := startStack(ctx, o.bin, sc, o.logw)
	if err != nil {
		return v, err
	}
	defer st.close()
	id := temporalnames.SyncID(benchIntegration)
	// The syncs follow each other within seconds: the default 2-minute sweep margin would
	// make each wait for the previous one's, and bury the kills' cost in that wait.
	in := workflows.SyncInput{Integration: benchIntegration, SweepMargin: time.Second}
	if _, _, err := st.measure(ctx, sc, id, in); err != nil {
		return v, fmt.Errorf("first sync: %w", err)
	}
	clean, _, err := st.measure(ctx, sc, id, in)
	if err != nil {
		return v, fmt.Errorf("clean sync: %w", err)
	}
	v.Clean = clean.Wall
	if err := st.crashedSync(ctx, o.bin, id, in, &v); err != nil {
		return v, err
	}
	if v.Kills > 0 {
		v.LostPerKill = (v.Killed - v.Clean) / time.Duration(v.Kills)
	}
	return v, nil
}

// crashedSync runs one sync, from counters reset, and each time a stage it has not killed
// yet is half done (or, for a list of unknown length, has committed some of it), SIGKILLs
// the worker and starts another at once; then it waits for the next attempt to start.
func (st *stack) crashedSync(ctx context.Context, binDir, id string, in workflows.SyncInput, v *crashVariant) error {
	if err := postReset(st.ctl); err != nil {
		return err
	}
	began := time.Now()
	run, err := st.startSync(ctx, id, in)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- run.Get(ctx, nil) }()
	for v.Kills < crashKills {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("the sync failed: %w", err)
			}
			return fmt.Errorf("the sync ended after %d kills of %d: make the org larger", v.Kills, crashKills)
		case <-time.After(50 * time.Millisecond):
		}
		stage, attempt, activityID, ok, err := st.halfDoneStage(ctx, run, v.Stages)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		w := st.worker
		if err := syscall.Kill(w.Process.Pid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("kill the worker: %w", err)
		}
		killed := time.Now()
		<-exitOf(w)
		env := st.restartEnv
		if v.OtherIdentity {
			env = append(slices.Clone(env), fmt.Sprintf("JCSYNC_WORKER_IDENTITY=%s-%d", crashIdentity, v.Kills+1))
		}
		st.workers = slices.DeleteFunc(st.workers, func(c *exec.Cmd) bool { return c == w })
		st.worker = nil
		nw, err := st.startWorker(binDir, st.restartArgs, env)
		if err != nil {
			return err
		}
		st.worker = nw
		v.Kills++
		v.Stages = append(v.Stages, stage)
		resumed, err := st.waitRetry(ctx, run, activityID, attempt, killed)
		if err != nil {
			return err
		}
		v.Resumed = append(v.Resumed, resumed)
	}
	if err := <-done; err != nil {
		return fmt.Errorf("the sync failed after the kills: %w", err)
	}
	v.Killed = time.Since(began)
	var counts control.Counts
	if err := getJSON(st.ctl+"/counts", &counts); err != nil {
		return err
	}
	var verdict control.Verdict
	if err := getJSON(st.ctl+"/verify", &verdict); err != nil {
		return err
	}
	v.Requests, v.Status429, v.Exact = counts.JumpCloudTotal, counts.JumpCloudByStatus[429], verdict.Exact
	for _, n := range verdict.MinRequests {
		v.Minimum += n
	}
	if !v.Exact {
		return fmt.Errorf("after the kills, the Authomize snapshot is not exactly the org (%d differences: %v)", verdict.Differences, verdict.Sample)
	}
	return nil
}

// halfDoneStage finds a started phase with a stage not in killed that is half done.
func (st *stack) halfDoneStage(ctx context.Context, run client.WorkflowRun, killed []string) (stage string, attempt int32, activityID string, ok bool, err error) {
	desc, err := st.client.DescribeWorkflow(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return "", 0, "", false, fmt.Errorf("describe the sync: %w", err)
	}
	for _, pa := range desc.RawResponse.GetPendingActivities() {
		if pa.GetActivityType().GetName() != activities.ActivityPhase || pa.GetState() != enumspb.PENDING_ACTIVITY_STATE_STARTED {
			continue
		}
		cp, found := activities.ReadPhaseCheckpoint(pa.GetHeartbeatDetails(), converter.GetDefaultDataConverter())
		if !found {
			continue
		}
		for s, c := range cp.Running {
			done := max(c.NextSkip, len(c.Done))
			if slices.Contains(killed, s) || done == 0 || (c.Total > 0 && (2*done < c.Total || done >= c.Total)) {
				continue
			}
			return s, pa.GetAttempt(), pa.GetActivityId(), true, nil
		}
	}
	return "", 0, "", false, nil
}

// waitRetry waits until the killed phase runs its next attempt, and returns how long after
// the kill that was.
func (st *stack) waitRetry(ctx context.Context, run client.WorkflowRun, activityID string, attempt int32, killed time.Time) (time.Duration, error) {
	for time.Since(killed) < 2*time.Minute {
		desc, err := st.client.DescribeWorkflow(ctx, run.GetID(), run.GetRunID())
		if err != nil {
			return 0, fmt.Errorf("describe the sync: %w", err)
		}
		if desc.RawResponse.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return time.Since(killed), nil
		}
		retried := true
		for _, pa := range desc.RawResponse.GetPendingActivities() {
			if pa.GetActivityId() == activityID && (pa.GetAttempt() == attempt || pa.GetState() != enumspb.PENDING_ACTIVITY_STATE_STARTED) {
				retried = false
			}
		}
		if retried {
			return time.Since(killed), nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, fmt.Errorf("the killed phase was not retried within 2 minutes")
}

func (r *crashReport) print(w io.Writer) {
	fmt.Fprintf(w, "scenario crash: %s; latency %s; one worker, SIGKILLed mid-phase %d times and restarted at once; JumpCloud's limit %g req/s; heartbeat timeout 30 s\n",
		orgText(r.Org), pacingLatency, crashKills, r.Limit)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  restart\tclean sync\twith kills\tstages killed\tnext attempt after each kill\tlost per kill\t429s\texact\t\n")
	for _, v := range r.Variants {
		var resumed []string
		for _, d := range v.Resumed {
			resumed = append(resumed, d.Round(10*time.Millisecond).String())
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%d\t%v\t\n", v.Name, v.Clean.Round(100*time.Millisecond), v.Killed.Round(100*time.Millisecond),
			strings.Join(v.Stages, ", "), strings.Join(resumed, ", "), v.LostPerKill.Round(100*time.Millisecond), v.Status429, v.Exact)
	}
	tw.Flush()
	fmt.Fprintf(w, "  target: a kill restarted at once under the same identity costs ≤ %s\n\n", crashTarget)
}
