package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// A worker that starts holding an integration with a schedule starts its change watcher, on
// the integration's task queue, and says so.
func TestWorkerStartsTheWatcherOfAScheduledIntegration(t *testing.T) {
	cli := temporalCLI(t)
	hostPort := "127.0.0.1:" + strconv.Itoa(freePort(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{ExistingPath: cli, ClientOptions: &client.Options{HostPort: hostPort}, LogLevel: "warn"})
	if err != nil {
		t.Fatalf("dev server: %v", err)
	}
	defer srv.Stop()
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 9, Users: 10}))
	c := srv.Client()
	name := "default"
	if _, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: temporalnames.ScheduleID(name), Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 24 * time.Hour}}},
		Action: &client.ScheduleWorkflowAction{ID: temporalnames.SyncID(name), Workflow: temporalnames.SyncWorkflow,
			TaskQueue: temporalnames.IntegrationQueue(temporalnames.TaskQueue, name), Args: []any{workflows.SyncInput{Integration: name}}},
	}); err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{"JUMPCLOUD_API_KEY": testenv.APIKey, "JUMPCLOUD_BASE_URL": sims.JCURL,
		"AUTHOMIZE_TOKEN": testenv.Token, "AUTHOMIZE_BASE_URL": sims.AZURL, "AUTHOMIZE_APP_ID": testenv.AppID})
	var logs syncBuffer
	wctx, stop := context.WithCancel(ctx)
	done := make(chan int, 1)
	go func() {
		done <- run(wctx, []string{"--temporal-address", hostPort, "--metrics-address", "", "--log-format", "json"}, env, &logs)
	}()
	defer func() {
		stop()
		<-done
	}()
	for !strings.Contains(logs.String(), "change watcher running") {
		if ctx.Err() != nil {
			t.Fatalf("the worker started no watcher; logs:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	d, err := c.DescribeWorkflow(ctx, temporalnames.WatchID(name), "")
	if err != nil {
		t.Fatal(err)
	}
	if q := d.RawResponse.GetExecutionConfig().GetTaskQueue().GetName(); q != temporalnames.IntegrationQueue(temporalnames.TaskQueue, name) {
		t.Errorf("the watcher runs on %q, want the integration's queue", q)
	}
}
