package chaos

import (
	"strings"
	"syscall"
	"testing"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"jcsync/activities"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// phaseCheckpoints are the checkpoints in the composite of a pending Phase activity that a
// retry keeps: running stages past a page or with finished parents, and finished stages.
func phaseCheckpoints(t *testing.T, pa *workflowpb.PendingActivityInfo) map[string]activities.Checkpoint {
	t.Helper()
	out := map[string]activities.Checkpoint{}
	cp, ok := activities.ReadPhaseCheckpoint(pa.GetHeartbeatDetails(), converter.GetDefaultDataConverter())
	if !ok {
		t.Errorf("heartbeat details of a Phase activity do not decode as a PhaseCheckpoint")
		return out
	}
	// The SDK sends the composite at most once per throttle interval, and a short stage can
	// finish inside one: a finished stage of a phase still running is a checkpoint too (a
	// retry does not run it again), and so is a stage with finished parents.
	for stage, scp := range cp.Running {
		if scp.NextSkip > 0 || len(scp.Done) > 0 {
			out[stage] = scp
		}
	}
	for stage := range cp.Done {
		out[stage] = activities.Checkpoint{Version: activities.CheckpointVersion, Ended: true}
	}
	return out
}

// mostAdvanced is the stage whose checkpoint is furthest along ("" for none).
func mostAdvanced(cps map[string]activities.Checkpoint) string {
	best, at := "", -1
	for stage, cp := range cps {
		if cp.NextSkip > at {
			best, at = stage, cp.NextSkip
		}
	}
	return best
}

// TestPhaseWorkerKilled: two worker processes share the task queue; the one running the
// users+admins phase is killed once the users stage has committed pages, and not replaced.
// After the heartbeat timeout the survivor runs the phase again: the users stage resumes
// from its checkpoint in the composite, the admins stage (finished before the kill) does not
// run again, and the sync ends exact.
func TestPhaseWorkerKilled(t *testing.T) {
	tc, sims, workers, run := twoWorkersSync(t, 91, "phase-killed")

	at, _, atKill := phaseRunningPast(t, tc, run, workers, 2000)
	if at < 0 {
		t.Fatal("the users stage did not pass 2,000 users within a minute")
	}
	victim := workers[at]
	killed := time.Now()
	victim.signal(syscall.SIGKILL)
	sum.with(func(s *summary) { s.kills++ })
	res, err := waitSync(t, tc.Client, run, 3*time.Minute)
	if err != nil {
		t.Fatalf("the surviving worker did not finish the sync: %v", err)
	}
	requireExact(t, sims, expected(sims))
	users, _ := stageResult(res, "users")
	admins, _ := stageResult(res, "admins")
	c := sims.JC.Counts()
	refetched, total := refetchedPages(c), c.PagesServed()
	sum.with(func(s *summary) { s.refetched += refetched })
	_, adminsDone := atKill.Done["admins"]
	t.Logf("killed the worker running users+admins at users %d of %d (admins finished: %v); the survivor finished %s later: users %d attempts, %d pages resumed; %d of %d JumpCloud pages fetched again",
		atKill.Running["users"].NextSkip, atKill.Running["users"].Total, adminsDone, time.Since(killed).Round(time.Millisecond),
		users.Counts.Attempts, users.Counts.PagesResumed, refetched, total)
	if users.Counts.Attempts < 2 || users.Counts.PagesResumed < 20 {
		t.Errorf("the users stage did not resume from its checkpoint: %+v", users.Counts)
	}
	if adminsDone && admins.Counts.Attempts != 1 {
		t.Errorf("the admins stage finished before the kill but ran again: %d attempts", admins.Counts.Attempts)
	}
	if refetched*10 > int(total) {
		t.Errorf("%d of %d pages fetched again: the resume did not spare the pages before the checkpoint", refetched, total)
	}
}

// phaseRunningPast waits (a minute at most) until the users+admins phase runs on one of
// workers with its users stage past users committed, and returns that worker's index, the
// pending activity and its checkpoint; -1 when it never did.
func phaseRunningPast(t *testing.T, tc *testenv.Temporal, run client.WorkflowRun, workers []*workerProc, users int) (int, *workflowpb.PendingActivityInfo, activities.PhaseCheckpoint) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		d, err := describe(tc.Client, run.GetID(), run.GetRunID())
		if err != nil {
			t.Fatal(err)
		}
		for _, pa := range d.GetPendingActivities() {
			if pa.GetActivityType().GetName() != activities.ActivityPhase {
				continue
			}
			cp, ok := activities.ReadPhaseCheckpoint(pa.GetHeartbeatDetails(), converter.GetDefaultDataConverter())
			if !ok || cp.Running["users"].NextSkip < users {
				continue
			}
			for i, w := range workers {
				if strings.HasPrefix(pa.GetLastWorkerIdentity(), w.identity()) {
					return i, pa, cp
				}
			}
		}
	}
	return -1, nil, activities.PhaseCheckpoint{}
}

// twoWorkersSync starts two worker processes on one queue and a sync of killOrg(seed) on them,
// with the kill tests' short heartbeat timeout.
func twoWorkersSync(t *testing.T, seed int64, name string) (*testenv.Temporal, *testenv.Sims, []*workerProc, client.WorkflowRun) {
	t.Helper()
	return twoWorkersSyncWith(t, seed, name, workflows.SyncInput{Integration: name, HeartbeatTimeout: killHeartbeat})
}

// twoWorkersSyncWith is twoWorkersSync with the sync's input in full.
func twoWorkersSyncWith(t *testing.T, seed int64, name string, in workflows.SyncInput) (*testenv.Temporal, *testenv.Sims, []*workerProc, client.WorkflowRun) {
	t.Helper()
	tc := devServer(t)
	sims := slowSims(t, killOrg(seed))
	// 20 requests/s: the users stage then takes seconds, so that its checkpoints (one a
	// second) can be seen, and a worker killed, while it runs; at the usual 200 it can be
	// over before the first one shows.
	opts := procOptions{temporal: tc.Server.FrontendHostPort(), queue: "chaos-" + name, in: sims.Integration(name, false), rps: 20}
	workers := []*workerProc{startWorkerProc(t, opts), startWorkerProc(t, opts)}
	run := startSync(t, tc.Client, opts.queue, in)
	return tc, sims, workers, run
}
