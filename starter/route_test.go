package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"

	"jcsync/activities"
	"jcsync/internal/config"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
	"jcsync/routing"
	"jcsync/workflows"
)

// A sync of an integration no running worker holds waits on its queue, and says so: `sync`
// when it starts it, the Web UI in the run's static details, `status` (text and JSON) while
// it waits. A worker that holds the integration then runs it, and status no longer reports
// it waiting.
func TestSyncWaitsForAWorkerThatHoldsItsIntegration(t *testing.T) {
	need(t)
	const name = "lonely"
	queue := temporalnames.IntegrationQueue(testTaskQueue, name)
	want := "waiting for a worker that holds integration " + name + " on task queue " + queue
	code, out, errs := starter(t, "sync", "--integration", name)
	if code != 0 || !strings.Contains(errs, want) {
		t.Fatalf("sync of an integration no worker holds: %d\n%s\n%s", code, out, errs)
	}
	defer env.client.TerminateWorkflow(context.Background(), temporalnames.SyncID(name), "", "test done")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	con, err := testenv.ReadConsole(ctx, env.client, temporalnames.SyncID(name), "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(con.Details, want) {
		t.Errorf("the Web UI's details of the waiting sync do not say it waits:\n%s", con.Details)
	}

	// status finds the sync through visibility, which follows the start after a moment.
	for {
		code, out, errs = starter(t, "status", "--integration", name)
		if code == 0 && strings.Contains(out, "sync of "+name+": Running") {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("status never listed the waiting sync: %d\n%s\n%s", code, out, errs)
		case <-time.After(200 * time.Millisecond):
		}
	}
	if !strings.Contains(out, want) {
		t.Fatalf("status of the waiting sync does not say it waits:\n%s", out)
	}
	code, out, _ = starter(t, "status", "--integration", name, "-o", "json")
	var st statusJSON
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || !strings.Contains(st.Waiting, want) {
		t.Fatalf("status -o json of the waiting sync: %d %v\n%s", code, err, out)
	}

	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 31, Users: 20, Groups: 2, Admins: 1, Apps: 1}))
	ws, err := routing.New(env.client, testTaskQueue, &activities.Activities{
		Integrations: config.Integrations{name: sims.Integration(name, false)}, Temporal: env.client, DefaultRPS: 1000,
	}, func(routing.Carries) worker.Options { return worker.Options{WorkerStopTimeout: 5 * time.Second} })
	if err == nil {
		err = ws.Start()
	}
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Stop()
	workerStarted := time.Now()
	var res workflows.SyncResult
	if err := env.client.GetWorkflow(ctx, temporalnames.SyncID(name), "").Get(ctx, &res); err != nil {
		t.Fatalf("the sync, once a worker holds its integration: %v", err)
	}
	t.Logf("the waiting sync ended %s after a worker holding %s started", time.Since(workerStarted).Round(time.Millisecond), name)
	if res.Read["users"] != 20 || !res.Swept {
		t.Fatalf("the sync, once a worker holds its integration: %+v", res)
	}
	code, out, errs = starter(t, "status", "--integration", name)
	if code != 0 || strings.Contains(out, "waiting for a worker") || !strings.Contains(out, "sync of "+name+": Completed") {
		t.Fatalf("status after the sync ran: %d\n%s\n%s", code, out, errs)
	}
}
