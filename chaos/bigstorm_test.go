package chaos

import (
	"syscall"
	"testing"
	"time"

	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/workflows"
)

// TestLongSyncUnderStormAndKills: a long sync of a large org while JumpCloud answers 5 % of
// requests with 500 and resets 2 % of connections, and the worker is SIGKILLed at a fixed
// interval, finishes exact. Stages retry by progress, so no number of kills or scattered
// failures exhausts them. JCSYNC_CHAOS_BIG_USERS sets the org (make chaos: 100,000 users, a
// kill every 20 s at 50 requests/s); make test runs a smaller one.
func TestLongSyncUnderStormAndKills(t *testing.T) {
	tc := devServer(t)
	users := envInt("JCSYNC_CHAOS_BIG_USERS", 6000)
	every, rps := 3*time.Second, 200
	if users >= 50000 {
		every, rps = 20*time.Second, 50
	}
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 100, Users: users, Groups: users / 100, Admins: 10, Apps: 100, AvgGroupSize: 40})
	sims := slowSims(t, org)
	name := "long-storm"
	queue := "chaos-" + name
	opts := procOptions{temporal: tc.Server.FrontendHostPort(), queue: queue, in: sims.Integration(name, false), rps: rps}
	w := startWorkerProc(t, opts)
	in := workflows.SyncInput{Integration: name, HeartbeatTimeout: killHeartbeat, StageAttempts: 5}

	// The same sync without faults, for the comparison.
	began := time.Now()
	if _, err := waitSync(t, tc.Client, startSync(t, tc.Client, queue, in), 30*time.Minute); err != nil {
		t.Fatalf("the sync without faults: %v", err)
	}
	clean := time.Since(began)
	requireExact(t, sims, expected(sims))

	sims.JC.ResetCounts()
	sims.JC.SetFaults(jumpcloudsim.Faults{Rate500: 0.05, RateReset: 0.02, Seed: 100})
	began = time.Now()
	run := startSync(t, tc.Client, queue, in)
	done := make(chan struct{})
	go func() { _ = run.Get(t.Context(), nil); close(done) }()
	kills := 0
	for !isClosed(done) {
		select {
		case <-done:
		case <-time.After(every):
			w.signal(syscall.SIGKILL)
			kills++
			w = startWorkerProc(t, opts)
		}
	}
	res, err := waitSync(t, tc.Client, run, 30*time.Minute)
	stormy := time.Since(began)
	sims.JC.ClearFaults()
	if err != nil {
		t.Fatalf("the sync under the storm and %d kills: %v", kills, err)
	}
	requireExact(t, sims, expected(sims))
	c := sims.JC.Counts()
	attempts := 0
	for _, s := range res.Stages {
		attempts += s.Counts.Attempts
	}
	t.Logf("%d users: %d kills (one every %s), %d 500s and %d resets injected, %d stage attempts for %d stages, %d JumpCloud retries, %d pages refetched, %d pages resumed; wall %s against %s without faults (%.2f×)",
		users, kills, every, c.ByStatus[500], c.ByStatus[jumpcloudsim.FailReset], attempts, len(res.Stages), res.JumpCloudRetries,
		refetchedPages(c), res.PagesResumed, stormy.Round(time.Second), clean.Round(time.Second), stormy.Seconds()/clean.Seconds())
	if c.ByStatus[500] == 0 || c.ByStatus[jumpcloudsim.FailReset] == 0 {
		t.Fatal("the storm injected nothing")
	}
}
