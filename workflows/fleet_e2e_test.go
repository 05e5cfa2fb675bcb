package workflows_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"jcsync/internal/config"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// fleetRPS is the org's limit in TestE2EFleetKeepsOneRatePerOrg, on both sides: the
// simulator answers 429 above it, and each worker's per-org rate ceiling is set to it, so
// that the only way to exceed it is two workers pacing the same org.
const fleetRPS = 20

// TestE2EFleetKeepsOneRatePerOrg runs one sync on two workers of one activity slot each: with
// one activity per stage, users and admins would run on both workers at once and send the
// org twice its rate. With one activity per phase, no second carries more than the limit
// (and a tenth, for a request at each edge of a second).
func TestE2EFleetKeepsOneRatePerOrg(t *testing.T) {
	tc := devServer(t)
	// Admins as many as users: both lists take seconds to read at the org's rate, so a
	// per-stage run would read them side by side, on two workers.
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 61, Users: 5000, Groups: 10, Admins: 5000, Apps: 5}))
	sims.JC.SetRateLimit(fleetRPS, 2, true)
	name, queue := "fleet-one-rate", "e2e-fleet-one-rate"
	integ := sims.Integration(name, false)
	integ.JumpCloud.RPS = fleetRPS
	for range 2 {
		testenv.StartWorkerWith(t, tc.Client, queue, config.Integrations{name: integ}, nil,
			worker.Options{MaxConcurrentActivityExecutionSize: 1})
	}
	run := startFleetSync(t, tc.Client, queue, name)
	var res workflows.SyncResult
	if err := run.Get(context.Background(), &res); err != nil {
		t.Fatalf("sync: %v", err)
	}
	requireExactSims(t, sims)
	perSecond := sims.JC.ArrivalsPerSecond()
	var seconds []int64
	var peak int64
	for s, n := range perSecond {
		seconds = append(seconds, s)
		peak = max(peak, n)
	}
	slices.Sort(seconds)
	var hist []int64
	for _, s := range seconds {
		hist = append(hist, perSecond[s])
	}
	c := sims.JC.Counts()
	t.Logf("%d JumpCloud requests in %d s, %d answered 429; requests per second: %v; peak %d (limit %d)",
		c.Total, len(seconds), c.ByStatus[http.StatusTooManyRequests], hist, peak, fleetRPS)
	if limit := int64(fleetRPS * 11 / 10); peak > limit {
		t.Fatalf("a second carried %d requests to the org, above its limit of %d (+10%%): %v", peak, fleetRPS, hist)
	}
}

// TestE2EManyIntegrations starts the syncs of five integrations (five orgs, five apps) at
// once on two workers. One org is slow and throttled; every sync must end exact, and the
// others must not wait for the slow one.
func TestE2EManyIntegrations(t *testing.T) {
	tc := devServer(t)
	const n = 5
	queue := "e2e-many-integrations"
	integrations := config.Integrations{}
	sims := make([]*testenv.Sims, n)
	names := make([]string, n)
	for i := range n {
		users := 1500
		if i == 0 {
			users = 3000
		}
		sims[i] = testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: int64(70 + i), Users: users, Groups: 30, Admins: 5, Apps: 10}))
		names[i] = fmt.Sprintf("fleet-org-%d", i)
		integ := sims[i].Integration(names[i], false)
		if i == 0 {
			sims[i].JC.SetLatency(20 * time.Millisecond)
			sims[i].JC.SetRateLimit(30, 2, true)
			integ.JumpCloud.RPS = 30
		}
		integrations[names[i]] = integ
	}
	for range 2 {
		testenv.StartWorkerWith(t, tc.Client, queue, integrations, nil, worker.Options{MaxConcurrentActivityExecutionSize: 3})
	}
	started := time.Now()
	walls := make([]time.Duration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		run := startFleetSync(t, tc.Client, queue, names[i])
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = run.Get(context.Background(), nil)
			walls[i] = time.Since(started)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("sync of %s: %v", names[i], errs[i])
		}
		requireExactSims(t, sims[i])
		t.Logf("%s: wall %s, %d JumpCloud requests", names[i], walls[i].Round(time.Millisecond), sims[i].JC.Counts().Total)
	}
	for i := 1; i < n; i++ {
		if walls[i] >= walls[0] {
			t.Errorf("%s (%s) waited for the slow, throttled org (%s)", names[i], walls[i].Round(time.Millisecond), walls[0].Round(time.Millisecond))
		}
	}
}

func startFleetSync(t *testing.T, c client.Client, queue, name string) client.WorkflowRun {
	t.Helper()
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: temporalnames.SyncID(name), TaskQueue: temporalnames.IntegrationQueue(queue, name)},
		temporalnames.SyncWorkflow, workflows.SyncInput{Integration: name, HeartbeatTimeout: 5 * time.Second, SweepMargin: time.Millisecond})
	if err != nil {
		t.Fatalf("start sync of %s: %v", name, err)
	}
	return run
}

func requireExactSims(t *testing.T, sims *testenv.Sims) {
	t.Helper()
	var exp jumpcloudsim.Expected
	sims.JC.View(func(o *jumpcloudsim.Org) { exp = o.Expected(false) })
	if d := testenv.Diff(exp, sims.AZ.Snapshot(testenv.AppID)); len(d) > 0 {
		t.Fatalf("Authomize's snapshot differs from the org: %s", testenv.Summarize(d))
	}
}
