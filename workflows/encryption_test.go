package workflows_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"jcsync/internal/codec"
	"jcsync/internal/config"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// TestE2EPayloadEncryption: with a keyring, what enters the history (input, results,
// heartbeat checkpoints, failure messages, the baseline memo) is encrypted, and the sync
// still works end to end, including the next sync reading the encrypted baseline.
func TestE2EPayloadEncryption(t *testing.T) {
	tc := devServer(t)
	spec, err := codec.GenerateKeySpec("k1")
	if err != nil {
		t.Fatal(err)
	}
	k, err := codec.ParseKeyring(spec)
	if err != nil {
		t.Fatal(err)
	}
	opts := client.Options{HostPort: tc.Server.FrontendHostPort()}
	codec.ClientOptions(k)(&opts)
	c, err := client.Dial(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 21, Users: 400, Groups: 20, Admins: 4, Apps: 6}))
	name := "encrypted"
	testenv.StartWorker(t, c, "e2e-encrypted", config.Integrations{name: sims.Integration(name, false)}, testenv.WithDataConverter(opts.DataConverter))

	start := func() client.WorkflowRun {
		run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
			ID: fmt.Sprintf("encrypted-%d", time.Now().UnixNano()), TaskQueue: temporalnames.IntegrationQueue("e2e-encrypted", name),
		}, temporalnames.SyncWorkflow, workflows.SyncInput{Integration: name,
			// The second sync follows the first within moments: at the default margin it would
			// wait two minutes before writing. That wait is TestE2ESyncNowAtTheDefaults'; this
			// test is about what the codec keeps out of the history.
			SweepMargin: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	first := start()
	var res workflows.SyncResult
	if err := first.Get(context.Background(), &res); err != nil {
		t.Fatalf("encrypted sync: %v", err)
	}
	if !res.Swept || res.Read["users"] != 400 {
		t.Fatalf("result through the codec: %+v", res)
	}
	if d := testenv.Diff(sims.Org.Expected(false), sims.AZ.Snapshot(testenv.AppID)); len(d) > 0 {
		t.Fatal(testenv.Summarize(d))
	}

	// A shrink beyond the threshold: the refusal proves the encrypted baseline was read.
	sims.JC.Update(func(o *jumpcloudsim.Org) {
		for i := 0; i < 200; i++ {
			o.RemoveUser(o.Users[0].ID)
		}
	})
	second := start()
	err = second.Get(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "sweep refused") {
		t.Fatalf("want the sweep refused against the encrypted baseline, got %v", err)
	}

	e := &e2e{t: t, tc: tc}
	for _, run := range []client.WorkflowRun{first, second} {
		raw := historyText(t, e.history(run))
		// The integration's name stays readable on purpose: it is the search attribute the Web
		// UI filters by, and search attributes are indexed by the server, never encoded.
		for _, clear := range []string{`"integration"`, "sweep refused", `"users"`, "earliestAccepted", "JumpCloud"} {
			if strings.Contains(raw, clear) {
				t.Fatalf("history of %s holds %q in clear text", run.GetID(), clear)
			}
		}
		if !strings.Contains(raw, "YmluYXJ5L2VuY3J5cHRlZA") { // base64 of "binary/encrypted"
			t.Fatalf("history of %s has no encrypted payload", run.GetID())
		}
	}
}
