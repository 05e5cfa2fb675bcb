package chaos

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"jcsync/activities"
	"jcsync/internal/config"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// TestNoSecretsAnywhere runs worker processes at debug level, in both log formats, through
// a good sync, syncs that fail on a wrong key and a wrong token, a graceful stop and a
// SIGQUIT goroutine dump mid-sync, and scans every log, /metrics page, error and workflow
// history (the histories are scanned by startSync's cleanup) for the secrets.
func TestNoSecretsAnywhere(t *testing.T) {
	tc := devServer(t)
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 17, Users: 1500, Groups: 60, Admins: 6, Apps: 12})
			sims := testenv.StartSims(t, org)
			good := sims.Integration("secrets-"+format, false)
			opts := procOptions{temporal: tc.Server.FrontendHostPort(), queue: "chaos-secrets-" + format, in: good, logFormat: format}
			w := startWorkerProc(t, opts)
			run := startSync(t, tc.Client, opts.queue, workflows.SyncInput{Integration: good.Name, HeartbeatTimeout: killHeartbeat})
			if _, err := waitSync(t, tc.Client, run, 2*time.Minute); err != nil {
				t.Fatalf("good sync: %v", err)
			}
			requireExact(t, sims, expected(sims))
			scanText(t, "metrics after a good sync ("+format+")", w.scrapeMetrics(t))
			debugLine := map[string]string{"text": "level=debug", "json": `"level":"debug"`}[format]
			if !strings.Contains(w.out.String(), debugLine) {
				t.Fatalf("the worker log has no debug lines: the scan would prove little\n%.1000s", w.out.String())
			}

			for _, bad := range []struct {
				label string
				mod   func(*config.Integration)
			}{
				{"wrong-key", func(in *config.Integration) { in.JumpCloud.APIKey = wrongKey }},
				{"wrong-token", func(in *config.Integration) { in.Authomize.Token = wrongToken }},
			} {
				in := good
				in.Name = good.Name + "-" + bad.label
				bad.mod(&in)
				bo := procOptions{temporal: opts.temporal, queue: opts.queue + "-" + bad.label, in: in, logFormat: format}
				bw := startWorkerProc(t, bo)
				run := startSync(t, tc.Client, bo.queue, workflows.SyncInput{Integration: in.Name, HeartbeatTimeout: killHeartbeat})
				_, err := waitSync(t, tc.Client, run, time.Minute)
				if err == nil {
					t.Fatalf("%s: the sync succeeded", bad.label)
				}
				scanText(t, "error of the "+bad.label+" sync", err.Error())
				scanText(t, "metrics after the "+bad.label+" sync ("+format+")", bw.scrapeMetrics(t))
				// A graceful stop logs too; the cleanup scans the whole log.
				bw.signal(syscall.SIGTERM)
			}

			// A goroutine dump mid-sync: stacks of running activities hold the clients.
			sims.JC.SetLatency(30 * time.Millisecond)
			sims.AZ.ResetCounts()
			run = startSync(t, tc.Client, opts.queue, workflows.SyncInput{Integration: good.Name, HeartbeatTimeout: killHeartbeat})
			deadline := time.Now().Add(time.Minute)
			for len(checkpointsAt(t, tc.Client, run)) == 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			w.signal(syscall.SIGQUIT)
			dump := w.out.String()
			if !strings.Contains(dump, "SIGQUIT") || !strings.Contains(dump, "goroutine ") {
				t.Fatalf("SIGQUIT did not dump the goroutines:\n%.2000s", dump[max(0, len(dump)-2000):])
			}
			if !strings.Contains(dump, "jcsync/internal/") {
				t.Errorf("the dump shows no connector code running: the scan of a mid-sync dump proved little")
			}
			scanText(t, "SIGQUIT goroutine dump ("+format+")", dump)
			sims.JC.SetLatency(0)
			w2 := startWorkerProc(t, opts)
			res, err := waitSync(t, tc.Client, run, 2*time.Minute)
			if err != nil {
				t.Fatalf("the sync after the dump: %v", err)
			}
			requireExact(t, sims, expected(sims))
			scanText(t, "metrics after a resumed sync ("+format+")", w2.scrapeMetrics(t))
			t.Logf("%s: the sync survived the dump with %d pages resumed", format, res.PagesResumed)
		})
	}
}

// TestSlowParentPageKeepsHeartbeating documents a product bug (see the report): a stage
// heartbeats only when its checkpoint advances, and the groups and apps stages advance it
// only after a whole parent page (100 groups or apps and all their child pages). When that
// takes longer than the heartbeat timeout, Temporal declares a live worker dead, retries
// the stage from the same checkpoint, and a sync of a large org can fail after
// StageAttempts such retries. Stages therefore heartbeat on a timer as well.
func TestSlowParentPageKeepsHeartbeating(t *testing.T) {
	tc := devServer(t)
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 3, Users: 500, Groups: 150, Admins: 3, Apps: 4, AvgGroupSize: 20}))
	sims.AZ.SetLatency(60 * time.Millisecond) // 100 groups × one upload each ≈ 1.5 s at 4 in flight, beyond 1 s
	name := "slow-parent"
	testenv.StartWorker(t, tc.Client, "chaos-"+name, config.Integrations{name: sims.Integration(name, false)},
		func(a *activities.Activities) { a.PageConcurrency = 4 })
	run := startSync(t, tc.Client, "chaos-"+name, workflows.SyncInput{Integration: name, HeartbeatTimeout: time.Second, StageAttempts: 3})
	res, err := waitSync(t, tc.Client, run, 3*time.Minute)
	if err != nil {
		t.Fatalf("a live worker was declared dead: %v", err)
	}
	if r, _ := stageResult(res, activities.StageGroups); r.Counts.Attempts != 1 {
		t.Fatalf("the groups stage took %d attempts on a live worker", r.Counts.Attempts)
	}
}
