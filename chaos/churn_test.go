package chaos

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/sim/simcheck"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// TestChurnWithWorkerKilled: JumpCloud changes all the time (users, groups, memberships and
// bindings created and deleted, deletions in the first pages of each list) while syncs read
// it, and the worker process is SIGKILLed in the middle of a stage of every sync. A
// retried stage resumes from a checkpoint that was taken while the org moved, so what it
// knew of the list must survive the crash. After each sync everything that existed from its
// start to its end is in Authomize, and the sweep still runs.
// JCSYNC_CHAOS_CHURN_SYNCS sets the number of syncs (default 10).
func TestChurnWithWorkerKilled(t *testing.T) {
	tc := devServer(t)
	syncs := envInt("JCSYNC_CHAOS_CHURN_SYNCS", 10)
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 77, Users: 2500, Groups: 60, Admins: 6, Apps: 20, AvgGroupSize: 20})
	sims := slowSims(t, org)
	name := "churn-kill"
	queue := "chaos-" + name
	// At 60 requests/s a sync reads for several seconds: kills land inside stages, and many
	// changes land between the pages of one list.
	opts := procOptions{temporal: tc.Server.FrontendHostPort(), queue: queue, in: sims.Integration(name, false), rps: 60}
	w := startWorkerProc(t, opts)
	churn := sims.JC.StartChurn(jumpcloudsim.ChurnOptions{Every: 50 * time.Millisecond, Seed: 77, MaxGroupMembers: 30})
	defer churn.Stop()

	swept, kills, resumed := 0, 0, 0
	for i := range syncs {
		var before jumpcloudsim.Expected
		sims.JC.View(func(o *jumpcloudsim.Org) { before = o.Expected(false) })
		run := startSync(t, tc.Client, queue, workflows.SyncInput{Integration: name, HeartbeatTimeout: killHeartbeat})
		// Kill the worker once a stage has committed a page: mid-stage, with a checkpoint.
		deadline := time.Now().Add(30 * time.Second)
		for len(checkpointsAt(t, tc.Client, run)) == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		w.signal(syscall.SIGKILL)
		kills++
		w = startWorkerProc(t, opts)
		res, err := waitSync(t, tc.Client, run, 4*time.Minute)
		if err != nil {
			t.Fatalf("sync %d after a kill: %v", i, err)
		}
		var after jumpcloudsim.Expected
		sims.JC.View(func(o *jumpcloudsim.Org) { after = o.Expected(false) })
		stable := churn.Log().Stable(before, after)
		if m := simcheck.Missing(stable, sims.AZ.Snapshot(testenv.AppID)); len(m) > 0 {
			t.Fatalf("sync %d: Authomize lacks what existed for the whole sync: %s", i, testenv.Summarize(m))
		}
		resumed += res.PagesResumed
		if res.Swept {
			swept++
		} else {
			t.Logf("sync %d did not sweep: %s", i, res.SweepSkipped)
		}
	}
	log := churn.Stop()
	t.Logf("%d syncs, %d kills, %d changes (%v), %d swept, %d pages resumed", syncs, kills, log.Total, log.ByKind, swept, resumed)
	if swept < syncs-1 {
		t.Fatalf("the sweep ran in %d of %d syncs", swept, syncs)
	}
	run := startSync(t, tc.Client, queue, workflows.SyncInput{Integration: name, HeartbeatTimeout: killHeartbeat})
	if _, err := waitSync(t, tc.Client, run, 4*time.Minute); err != nil {
		t.Fatal(fmt.Errorf("the sync at rest: %w", err))
	}
	requireExact(t, sims, expected(sims))
}
