package chaos

import (
	"context"
	"fmt"
	"go.temporal.io/api/workflowservice/v1"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"jcsync/activities"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// killOrg is big enough that a sync takes several seconds, so kills land inside stages
// rather than between syncs, with several parent pages of groups and apps so those stages
// have checkpoints to resume from.
func killOrg(seed int64) *jumpcloudsim.Org {
	return jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: seed, Users: 8000, Groups: 300, Admins: 12, Apps: 50, AvgGroupSize: 20})
}

// slowSims serves org with a little latency on both sides, as real APIs have. The figures
// keep one parent page of groups (100 groups and their members) well under the 3 s
// heartbeat timeout: the stages heartbeat only when their checkpoint advances, and a
// slower page would time out a live worker (see TestSlowParentPageKeepsHeartbeating).
func slowSims(t *testing.T, org *jumpcloudsim.Org) *testenv.Sims {
	sims := testenv.StartSims(t, org)
	sims.JC.SetLatency(5 * time.Millisecond)
	sims.AZ.SetLatency(5 * time.Millisecond)
	return sims
}

// killHeartbeat is how soon a dead worker's stage is retried in these tests.
const killHeartbeat = 3 * time.Second

func expected(sims *testenv.Sims) jumpcloudsim.Expected {
	var exp jumpcloudsim.Expected
	sims.JC.View(func(o *jumpcloudsim.Org) { exp = o.Expected(false) })
	return exp
}

func requireExact(t *testing.T, sims *testenv.Sims, exp jumpcloudsim.Expected) {
	t.Helper()
	if d := testenv.Diff(exp, sims.AZ.Snapshot(testenv.AppID)); len(d) > 0 {
		t.Fatalf("Authomize's snapshot differs from the org: %s", testenv.Summarize(d))
	}
}

// checkpointsAt returns the stages running right now whose checkpoint has passed at least
// one page (NextSkip > 0): a retry of such a stage must resume, not start over.
func checkpointsAt(t *testing.T, c client.Client, run client.WorkflowRun) map[string]activities.Checkpoint {
	t.Helper()
	out := map[string]activities.Checkpoint{}
	d, err := describe(c, run.GetID(), run.GetRunID())
	if err != nil {
		return out
	}
	scanText(t, "description of "+run.GetID(), protoText(d))
	for _, pa := range d.GetPendingActivities() {
		if len(pa.GetHeartbeatDetails().GetPayloads()) == 0 {
			continue
		}
		if pa.GetActivityType().GetName() == activities.ActivityPhase {
			maps.Copy(out, phaseCheckpoints(t, pa))
			continue
		}
		var cp activities.Checkpoint
		if err := converter.GetDefaultDataConverter().FromPayloads(pa.GetHeartbeatDetails(), &cp); err != nil {
			t.Errorf("heartbeat details of %s do not decode as a Checkpoint: %v", pa.GetActivityType().GetName(), err)
			continue
		}
		if cp.NextSkip > 0 {
			out[strings.ToLower(pa.GetActivityType().GetName())] = cp
		}
	}
	return out
}

func refetchedPages(c jumpcloudsim.Counts) int {
	n := 0
	for _, v := range c.Pages {
		if v > 1 {
			n += int(v - 1)
		}
	}
	return n
}

func stageResult(res *workflows.SyncResult, stage string) (activities.StageResult, bool) {
	for _, s := range res.Stages {
		if s.Stage == stage {
			return s, true
		}
	}
	return activities.StageResult{}, false
}

// TestWorkerKilledAtRandom kills the only worker process with SIGKILL 1-3 times at random
// points of a sync, starting a new process after each kill. The sync must finish exact,
// and every stage that had a checkpoint when its worker died must resume from it.
// JCSYNC_CHAOS_TRIALS sets the number of trials (default 3), JCSYNC_CHAOS_SEED the seed.
func TestWorkerKilledAtRandom(t *testing.T) {
	tc := devServer(t)
	trials := envInt("JCSYNC_CHAOS_TRIALS", 3)
	seed := int64(envInt("JCSYNC_CHAOS_SEED", int(time.Now().UnixNano()%1_000_000)))
	t.Logf("%d trials, seed %d (JCSYNC_CHAOS_SEED=%d repeats the kill times)", trials, seed, seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0xc4a05))
	for i := range trials {
		kills := 1 + rng.IntN(3)
		var delays []time.Duration
		for range kills {
			delays = append(delays, 300*time.Millisecond+time.Duration(rng.Int64N(int64(2500*time.Millisecond))))
		}
		format := []string{"text", "json"}[i%2]
		t.Run(fmt.Sprintf("trial%02d", i), func(t *testing.T) {
			sum.with(func(s *summary) { s.trialsRun++ })
			killTrial(t, tc, int64(1000+i), format, delays)
			if !t.Failed() {
				sum.with(func(s *summary) { s.trialsPassed++ })
			}
		})
	}
}

func killTrial(t *testing.T, tc *testenv.Temporal, orgSeed int64, format string, delays []time.Duration) {
	sims := slowSims(t, killOrg(orgSeed))
	name := "kill-" + strconv.FormatInt(orgSeed, 10)
	queue := "chaos-" + name
	opts := procOptions{temporal: tc.Server.FrontendHostPort(), queue: queue, in: sims.Integration(name, false), logFormat: format}
	w := startWorkerProc(t, opts)
	started := time.Now()
	run := startSync(t, tc.Client, queue, workflows.SyncInput{Integration: name, HeartbeatTimeout: killHeartbeat})
	done := make(chan struct{})
	go func() {
		_ = run.Get(context.Background(), nil)
		close(done)
	}()

	hit := map[string]activities.Checkpoint{} // stages that had a checkpoint at a kill
	kills := 0
	for _, d := range delays {
		select {
		case <-done:
		case <-time.After(d):
		}
		if isClosed(done) {
			break
		}
		for stage, cp := range checkpointsAt(t, tc.Client, run) {
			hit[stage] = cp
		}
		w.signal(syscall.SIGKILL)
		kills++
		t.Logf("killed the worker %s into the sync (stages with a checkpoint: %v)", time.Since(started).Round(time.Millisecond), stageNames(hit))
		w = startWorkerProc(t, opts)
	}
	res, err := waitSync(t, tc.Client, run, 4*time.Minute)
	if err != nil {
		t.Fatalf("sync after %d kills: %v", kills, err)
	}
	requireExact(t, sims, expected(sims))
	refetched := refetchedPages(sims.JC.Counts())
	sum.with(func(s *summary) { s.kills += kills; s.refetched += refetched })
	t.Logf("%d kills, sync took %s, %d pages resumed, %d JumpCloud pages fetched more than once",
		kills, time.Since(started).Round(time.Millisecond), res.PagesResumed, refetched)
	for stage := range hit {
		r, ok := stageResult(res, stage)
		if !ok {
			t.Errorf("no result for stage %s", stage)
			continue
		}
		// A stage can finish on the dying worker between the look and the kill; only a
		// stage that was really retried must show the resume.
		if r.Counts.Attempts > 1 && r.Counts.PagesResumed == 0 {
			t.Errorf("stage %s had a checkpoint when its worker died and took %d attempts, but resumed no page: %+v",
				stage, r.Counts.Attempts, r.Counts)
		}
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func stageNames(m map[string]activities.Checkpoint) []string { return sortedKeys(m) }

// TestTwoWorkersOneKilled: two worker processes share the task queue; the one running a
// stage is killed and not replaced. The survivor must finish the sync.
func TestTwoWorkersOneKilled(t *testing.T) {
	tc, sims, workers, run := twoWorkersSync(t, 77, "two-workers")

	// Wait until a stage has made progress on some worker, then kill that worker.
	var victim *workerProc
	var stage string
	deadline := time.Now().Add(time.Minute)
	for victim == nil && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		d, err := describe(tc.Client, run.GetID(), run.GetRunID())
		if err != nil {
			t.Fatal(err)
		}
		for _, pa := range d.GetPendingActivities() {
			if len(pa.GetHeartbeatDetails().GetPayloads()) == 0 {
				continue
			}
			for _, w := range workers {
				if strings.HasPrefix(pa.GetLastWorkerIdentity(), w.identity()) {
					victim, stage = w, strings.ToLower(pa.GetActivityType().GetName())
					if pa.GetActivityType().GetName() == activities.ActivityPhase {
						// Like a stage activity with a heartbeat: any stage running in it.
						cp, _ := activities.ReadPhaseCheckpoint(pa.GetHeartbeatDetails(), converter.GetDefaultDataConverter())
						if stage = mostAdvanced(cp.Running); stage == "" {
							victim = nil
						}
					}
				}
			}
		}
	}
	if victim == nil {
		t.Fatal("no stage made progress within a minute")
	}
	victim.signal(syscall.SIGKILL)
	sum.with(func(s *summary) { s.kills++ })
	res, err := waitSync(t, tc.Client, run, 3*time.Minute)
	if err != nil {
		t.Fatalf("the surviving worker did not finish the sync: %v", err)
	}
	requireExact(t, sims, expected(sims))
	r, _ := stageResult(res, stage)
	refetched := refetchedPages(sims.JC.Counts())
	sum.with(func(s *summary) { s.refetched += refetched })
	t.Logf("killed the worker running %s; the other finished: %s took %d attempts, %d pages resumed, %d pages refetched",
		stage, stage, r.Counts.Attempts, r.Counts.PagesResumed, refetched)
	if r.Counts.Attempts < 2 {
		t.Errorf("stage %s was not retried after its worker was killed (attempts %d): the kill proved nothing", stage, r.Counts.Attempts)
	}
}

// TestTemporalRestartMidSync stops the Temporal server (SQLite-backed, fixed port) in the
// middle of a sync and starts it again on the same port and file: the sync must finish.
func TestTemporalRestartMidSync(t *testing.T) {
	cli := testenv.TemporalCLI(t)
	hostPort, err := testenv.FreeHostPort()
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "temporal.db")
	tp, err := testenv.StartTemporalAt(cli, hostPort, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tp.Stop)
	sims := slowSims(t, killOrg(88))
	name := "restart"
	opts := procOptions{temporal: hostPort, queue: "chaos-" + name, in: sims.Integration(name, false)}
	startWorkerProc(t, opts)
	run := startSync(t, tp.Client, opts.queue, workflows.SyncInput{Integration: name, HeartbeatTimeout: killHeartbeat})

	// Stop while a stage is running, not before the sync got going.
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if len(checkpointsAt(t, tp.Client, run)) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	stopped := time.Now()
	if err := tp.StopServer(); err != nil {
		t.Fatalf("stop the server: %v", err)
	}
	time.Sleep(3 * time.Second)
	if err := tp.StartServer(); err != nil {
		t.Fatalf("restart the server: %v", err)
	}
	t.Logf("Temporal was down for %s", time.Since(stopped).Round(time.Millisecond))
	if fi, err := os.Stat(db); err != nil || fi.Size() == 0 {
		t.Fatalf("the SQLite file is missing: %v", err)
	}
	res, err := waitSync(t, tp.Client, run, 4*time.Minute)
	if err != nil {
		t.Fatalf("sync across a server restart: %v", err)
	}
	requireExact(t, sims, expected(sims))
	t.Logf("sync finished across the restart: %d pages resumed, %d JumpCloud retries", res.PagesResumed, res.JumpCloudRetries)
}

// describe returns the server's full description of a run (pending activities with their
// heartbeat details included).
func describe(c client.Client, id, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	d, err := c.DescribeWorkflow(context.Background(), id, runID)
	if err != nil {
		return nil, err
	}
	return d.RawResponse, nil
}
