package workflows_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"jcsync/activities"
	"jcsync/internal/config"
	"jcsync/internal/pacer"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// TestE2ELearnedRateSurvivesWorkerRestart syncs an org with a hidden limit on a worker with
// the defaults (no rate configured), stops that worker, and syncs the org again on a fresh
// one: the fresh worker's pacer starts at the rate the first sync learned, which Temporal
// kept in the first run's memo, instead of at pacer.DefaultInitial.
func TestE2ELearnedRateSurvivesWorkerRestart(t *testing.T) {
	tc := devServer(t)
	const limit = 40
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 83, Users: 4000, Groups: 30, Admins: 5, Apps: 10}))
	sims.JC.SetLatency(10 * time.Millisecond)
	sims.JC.SetLimit(jumpcloudsim.Limit{RPS: limit, Burst: limit, RetryAfter: 0.5})
	name, queue := "learned-rate", "e2e-learned-rate"
	integ := sims.Integration(name, false)
	integ.JumpCloud.RPS = 0 // no ceiling: the pacer's defaults, as a new user has them
	integrations := config.Integrations{name: integ}

	first := testenv.StartWorkerWith(t, tc.Client, queue, integrations, nil, worker.Options{})
	res1 := syncOnce(t, tc, queue, name)
	requireExactSims(t, sims)
	start1 := usersPacing(t, res1).Start
	if start1 != pacer.DefaultInitial {
		t.Fatalf("the first sync's pacer started at %.1f req/s, want the default %v", start1, pacer.DefaultInitial)
	}
	first.Stop()

	// What the first run kept, as the fresh worker will find it through visibility.
	learned := waitForPacingMemo(t, tc, name)
	if learned.Org != activities.OrgKey(integ) || learned.JumpCloud.Estimate <= 0 {
		t.Fatalf("the first run's pacing record %+v: want the org %q and the limit it met", learned, activities.OrgKey(integ))
	}
	want := 0.95 * min(learned.JumpCloud.Rate, learned.JumpCloud.Estimate)

	sims.JC.ResetCounts()
	testenv.StartWorkerWith(t, tc.Client, queue, integrations, nil, worker.Options{})
	res2 := syncOnce(t, tc, queue, name)
	requireExactSims(t, sims)
	p2 := usersPacing(t, res2)
	t.Logf("learned: %.1f req/s (limit ≈ %.1f, %d of %d 429s with Retry-After, burst ≈ %d, latency %s); "+
		"the fresh worker started at %.1f req/s and ended at %.1f; %d 429s in the second sync",
		learned.JumpCloud.Rate, learned.JumpCloud.Estimate, learned.JumpCloud.RetryAfter, learned.JumpCloud.Throttled,
		learned.JumpCloud.Burst, learned.JumpCloud.Latency, p2.Start, p2.Rate, sims.JC.Counts().ByStatus[http.StatusTooManyRequests])
	if p2.Start != want {
		t.Fatalf("the fresh worker's pacer started at %.1f req/s, want the learned %.1f", p2.Start, want)
	}
	if learned.JumpCloud.Throttled == 0 || learned.JumpCloud.RetryAfter == 0 || learned.JumpCloud.RetryAfter >= learned.JumpCloud.Throttled {
		t.Errorf("the record says %d of %d 429s carried Retry-After; the limiter sent it on half", learned.JumpCloud.RetryAfter, learned.JumpCloud.Throttled)
	}
}

func syncOnce(t *testing.T, tc *testenv.Temporal, queue, name string) workflows.SyncResult {
	t.Helper()
	run := startFleetSync(t, tc.Client, queue, name)
	var res workflows.SyncResult
	if err := run.Get(context.Background(), &res); err != nil {
		t.Fatalf("sync of %s: %v", name, err)
	}
	return res
}

// usersPacing is the JumpCloud pacing of the users stage, the first of the sync.
func usersPacing(t *testing.T, res workflows.SyncResult) activities.PacingSummary {
	t.Helper()
	for _, r := range res.Stages {
		if r.Stage == activities.StageUsers && r.Pacing != nil {
			return r.Pacing.JumpCloud
		}
	}
	t.Fatalf("no pacing in the users stage's result: %+v", res.Stages)
	return activities.PacingSummary{}
}

// waitForPacingMemo waits until visibility shows the integration's latest sync run with its
// pacing memo (visibility follows the run's close by a moment) and returns the record.
func waitForPacingMemo(t *testing.T, tc *testenv.Temporal, name string) activities.OrgPacing {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		resp, err := tc.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: temporalnames.SyncRunsQuery(name, temporalnames.IsClosed), PageSize: 1,
		})
		if err != nil {
			t.Fatalf("list the syncs of %s: %v", name, err)
		}
		if ex := resp.GetExecutions(); len(ex) == 1 {
			if p, ok := ex[0].GetMemo().GetFields()[activities.MemoPacing]; ok {
				var rec activities.OrgPacing
				if err := converter.GetDefaultDataConverter().FromPayload(p, &rec); err != nil {
					t.Fatalf("read the pacing memo: %v", err)
				}
				return rec
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("visibility never showed the pacing memo of %s's sync", name)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
