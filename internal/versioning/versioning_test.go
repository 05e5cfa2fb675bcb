package versioning_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"jcsync/internal/config"
	"jcsync/internal/testenv"
	"jcsync/internal/versioning"
)

var server testenv.SharedTemporal

func TestMain(m *testing.M) {
	code := m.Run()
	server.Stop()
	os.Exit(code)
}

// startBuild starts a versioned worker of build on queue whose one workflow, "whichBuild",
// answers with the build that ran it: where a new run is routed shows in its result.
func startBuild(t *testing.T, c client.Client, d config.Deployment, queue string) worker.Worker {
	t.Helper()
	w := worker.New(c, queue, worker.Options{DeploymentOptions: versioning.DeploymentOptions(d)})
	build := d.BuildID
	w.RegisterWorkflowWithOptions(func(workflow.Context) (string, error) { return build, nil },
		workflow.RegisterOptions{Name: "whichBuild", VersioningBehavior: workflow.VersioningBehaviorPinned})
	if err := w.Start(); err != nil {
		t.Fatalf("start worker of build %s: %v", build, err)
	}
	t.Cleanup(w.Stop)
	return w
}

func settle(t *testing.T, c client.Client, d config.Deployment, queue string) versioning.Decision {
	t.Helper()
	dec, err := versioning.Settle(context.Background(), c, d, []string{queue}, versioning.Settings{})
	if err != nil {
		t.Fatalf("settle build %s (promote %v): %v", d.BuildID, d.Promote, err)
	}
	return dec
}

// runsOn starts a new run on queue and returns the build that ran it.
func runsOn(t *testing.T, c client.Client, queue string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, "whichBuild")
	if err != nil {
		t.Fatal(err)
	}
	var build string
	if err := run.Get(ctx, &build); err != nil {
		t.Fatalf("run on %s: %v", queue, err)
	}
	return build
}

// TestSettleRule walks the rule through an upgrade and a rollback: the first build becomes
// current by itself; a second build waits for promotion; promoted, it takes the new runs;
// the first build restarted with promotion asked for does not take them back; after a
// rollback by hand, the second build restarted does not undo it; a managed deployment is
// left to its manager.
func TestSettleRule(t *testing.T) {
	tc := server.Get(t)
	const queue = "versioning-rule"
	a := config.Deployment{Name: "rule", BuildID: "build-a"}
	b := config.Deployment{Name: "rule", BuildID: "build-b"}

	startBuild(t, tc.Client, a, queue)
	if dec := settle(t, tc.Client, a, queue); dec.Action != versioning.BecameCurrent || dec.Current != a.BuildID {
		t.Fatalf("first build: %+v, want it current because the deployment had none", dec)
	}
	if got := runsOn(t, tc.Client, queue); got != a.BuildID {
		t.Fatalf("a new run ran on %q, want the current build %s", got, a.BuildID)
	}
	if dec := settle(t, tc.Client, a, queue); dec.Action != versioning.AlreadyCurrent {
		t.Fatalf("the current build again: %+v", dec)
	}

	startBuild(t, tc.Client, b, queue)
	if dec := settle(t, tc.Client, b, queue); dec.Action != versioning.LeftCurrent || dec.Current != a.BuildID {
		t.Fatalf("second build without promotion: %+v, want it left aside", dec)
	}
	if got := runsOn(t, tc.Client, queue); got != a.BuildID {
		t.Fatalf("a new run ran on %q before the promotion, want %s", got, a.BuildID)
	}

	b.Promote = true
	if dec := settle(t, tc.Client, b, queue); dec.Action != versioning.Promoted || dec.Current != b.BuildID || dec.Previous != a.BuildID {
		t.Fatalf("second build promoted: %+v", dec)
	}
	if got := runsOn(t, tc.Client, queue); got != b.BuildID {
		t.Fatalf("a new run ran on %q after the promotion, want %s", got, b.BuildID)
	}

	// The old build's worker restarts with the promotion still in its settings (a pod of
	// the old Deployment rescheduled while it drains): the newer build stays current.
	a.Promote = true
	startBuild(t, tc.Client, a, queue)
	if dec := settle(t, tc.Client, a, queue); dec.Action != versioning.RefusedOlder || dec.Current != b.BuildID {
		t.Fatalf("old build restarted with --promote: %+v, want it refused", dec)
	}
	if got := runsOn(t, tc.Client, queue); got != b.BuildID {
		t.Fatalf("a new run ran on %q after the old build restarted, want %s", got, b.BuildID)
	}

	// A deliberate rollback to A: B's workers restarting with promotion still set do not
	// undo it, although B is the newer build.
	// (The server's deployment workflow may fail a task under concurrent registrations; an
	// operator would run the command again.)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := tc.Client.WorkerDeploymentClient().GetHandle("rule").SetCurrentVersion(context.Background(),
			client.WorkerDeploymentSetCurrentVersionOptions{BuildID: a.BuildID})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("roll back to %s: %v", a.BuildID, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	startBuild(t, tc.Client, b, queue)
	if dec := settle(t, tc.Client, b, queue); dec.Action != versioning.RefusedDemoted || dec.Current != a.BuildID {
		t.Fatalf("the build rolled back from, restarted with --promote: %+v, want it refused", dec)
	}
	if got := runsOn(t, tc.Client, queue); got != a.BuildID {
		t.Fatalf("a new run ran on %q after the rollback, want %s", got, a.BuildID)
	}

	// A deployment with a manager (the Worker Controller) is left alone, even by a new
	// build asked to promote itself.
	if _, err := tc.Client.WorkerDeploymentClient().GetHandle("rule").SetManagerIdentity(context.Background(),
		client.WorkerDeploymentSetManagerIdentityOptions{ManagerIdentity: "controller"}); err != nil {
		t.Fatal(err)
	}
	c := config.Deployment{Name: "rule", BuildID: "build-c", Promote: true}
	startBuild(t, tc.Client, c, queue)
	if dec := settle(t, tc.Client, c, queue); dec.Action != versioning.Managed || dec.Current != a.BuildID {
		t.Fatalf("a new build in a managed deployment: %+v, want routing left to the manager", dec)
	}
}

// TestSettleFleetPromotesTogether starts a new build as several workers at once, each asked
// to promote: they race on the deployment's conflict token, and all end with the build
// current, without an error.
func TestSettleFleetPromotesTogether(t *testing.T) {
	tc := server.Get(t)
	const queue = "versioning-fleet"
	old := config.Deployment{Name: "fleet", BuildID: "v1"}
	startBuild(t, tc.Client, old, queue)
	settle(t, tc.Client, old, queue)

	next := config.Deployment{Name: "fleet", BuildID: "v2", Promote: true}
	const workers = 3
	decisions := make([]versioning.Decision, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		startBuild(t, tc.Client, next, queue)
		wg.Add(1)
		go func() {
			defer wg.Done()
			decisions[i], errs[i] = versioning.Settle(context.Background(), tc.Client, next, []string{queue}, versioning.Settings{})
		}()
	}
	wg.Wait()
	promoted := 0
	for i := range workers {
		if errs[i] != nil {
			t.Fatalf("worker %d: %v", i, errs[i])
		}
		if decisions[i].Current != next.BuildID {
			t.Errorf("worker %d: %+v, want %s current", i, decisions[i], next.BuildID)
		}
		if decisions[i].Action == versioning.Promoted {
			promoted++
		}
	}
	if promoted == 0 {
		t.Errorf("no worker reports the promotion: %+v", decisions)
	}
	if got := runsOn(t, tc.Client, queue); got != next.BuildID {
		t.Fatalf("a new run ran on %q, want %s", got, next.BuildID)
	}
}

// TestCheckSupportedWithoutWorkerDeployments: on a server whose worker deployments are off,
// the worker stops at start with a message that names the way out, instead of polling.
func TestCheckSupportedWithoutWorkerDeployments(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: testenv.TemporalCLI(t),
		LogLevel:     "error",
		ExtraArgs:    []string{"--dynamic-config-value", "system.enableDeploymentVersions=false"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	c := srv.Client()
	defer c.Close()
	err = versioning.CheckSupported(ctx, c, config.Deployment{Name: config.DefaultDeploymentName, BuildID: "x"})
	if !errors.Is(err, versioning.ErrNoWorkerDeployments) {
		t.Fatalf("CheckSupported = %v, want ErrNoWorkerDeployments", err)
	}
	for _, want := range []string{"--unversioned", config.EnvUnversioned, "docs/upgrades.md"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the message does not name %s: %v", want, err)
		}
	}
	// On a server that has them, a deployment no worker has joined yet is no error.
	if err := versioning.CheckSupported(ctx, server.Get(t).Client, config.Deployment{Name: "nobody-yet", BuildID: "x"}); err != nil {
		t.Fatalf("an unknown deployment on a server with worker deployments: %v", err)
	}
}

// TestRunStartedBeforeTheFirstWorker: a sync started while no worker polls its queue (the
// starter run before the first deploy, a queue of a new integration) waits on the queue,
// and the first versioned build to become current runs it.
func TestRunStartedBeforeTheFirstWorker(t *testing.T) {
	tc := server.Get(t)
	const queue = "versioning-early"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := tc.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, "whichBuild")
	if err != nil {
		t.Fatal(err)
	}
	d := config.Deployment{Name: "early", BuildID: "first"}
	startBuild(t, tc.Client, d, queue)
	settle(t, tc.Client, d, queue)
	var build string
	if err := run.Get(ctx, &build); err != nil || build != d.BuildID {
		t.Fatalf("the run started before any worker: %q, %v; want it run on %s", build, err, d.BuildID)
	}
}
