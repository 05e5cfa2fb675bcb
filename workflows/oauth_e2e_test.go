package workflows_test

// End-to-end tests of syncs that authenticate with a JumpCloud service account (OAuth 2.0
// client credentials) in place of an administrator's API key.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"jcsync/activities"
	"jcsync/internal/config"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/sim/simcheck"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

const (
	e2eClientID = "svc-e2e-7a6b5c4d3e2f"
	e2eSecret   = "jcs_E2E_secret_00112233445566778899aabb"
)

// newServiceAccountE2E is newE2E with the integration authenticating as a service account
// whose tokens live lifetime. The worker's activities are returned for their token counters.
func newServiceAccountE2E(t *testing.T, cfg jumpcloudsim.GenConfig, lifetime time.Duration, mod func(*config.Integration)) (*e2e, *activities.Activities) {
	tc := devServer(t)
	sims := testenv.StartSims(t, jumpcloudsim.Generate(cfg))
	sims.JC.AddServiceAccount(e2eClientID, e2eSecret)
	sims.JC.SetTokenLifetime(lifetime)
	name := strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	in := sims.Integration(name, false)
	in.JumpCloud.APIKey = ""
	in.JumpCloud.ClientID, in.JumpCloud.ClientSecret = e2eClientID, e2eSecret
	in.JumpCloud.TokenURL = sims.JCURL + jumpcloudsim.TokenPath
	if mod != nil {
		mod(&in)
	}
	var acts *activities.Activities
	queue := "e2e-" + name
	testenv.StartWorker(t, tc.Client, queue, config.Integrations{name: in}, func(a *activities.Activities) {
		testenv.FastRetries(a)
		acts = a
	})
	return &e2e{t: t, tc: tc, sims: sims, queue: queue, name: name}, acts
}

// requireNoCredentials fails when text holds the client secret or any token the simulator
// issued.
func requireNoCredentials(t *testing.T, jc *jumpcloudsim.Server, where, text string) {
	t.Helper()
	if strings.Contains(text, e2eSecret) {
		t.Fatalf("%s holds the client secret", where)
	}
	for _, tok := range jc.IssuedTokens() {
		if strings.Contains(text, tok) {
			t.Fatalf("%s holds an access token", where)
		}
	}
}

// TestE2EServiceAccountTokensRefreshDuringASync: a sync several token lifetimes long renews
// its token before each expires, shares it across stages, and ends with the exact snapshot.
func TestE2EServiceAccountTokensRefreshDuringASync(t *testing.T) {
	const lifetime = time.Second
	// 40 requests a second make the sync's ~150 requests last several token lifetimes.
	e, acts := newServiceAccountE2E(t, jumpcloudsim.GenConfig{Seed: 21, Users: 1500, Groups: 80, Admins: 6, Apps: 20}, lifetime,
		func(in *config.Integration) { in.JumpCloud.RPS = 40 })
	started := time.Now()
	res, run, err := e.sync(workflows.SyncInput{})
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	took := time.Since(started)
	e.requireExact(e.expected(false))
	if !res.Swept {
		t.Fatalf("the sync did not sweep: %+v", res)
	}
	sim := e.sims.JC.TokenStats()
	cli, _ := activities.ServiceAccountStats(acts, e.name)
	t.Logf("service-account sync: %s with %s tokens: simulator issued %d tokens (%d token requests refused), %d API requests with a valid token, %d with an expired one; the worker fetched %d tokens and dropped %d on a 401; %d JumpCloud requests",
		took.Round(time.Millisecond), lifetime, sim.Issued, sim.Refused, sim.BearerOK, sim.BearerExpired, cli.Fetches, cli.Rejected, res.JumpCloudRequests)
	if want := int64(took / lifetime); sim.Issued < 3 || sim.Issued < want/2 {
		t.Fatalf("%d tokens for a %s sync with %s tokens: not refreshed", sim.Issued, took, lifetime)
	}
	// One token source per integration: tokens are not fetched per stage or per request.
	if sim.Issued > int64(2*took/lifetime)+2 {
		t.Fatalf("%d tokens in %s: more than one source fetches them", sim.Issued, took)
	}
	if cli.Fetches != sim.Issued || sim.Refused != 0 {
		t.Fatalf("worker fetched %d, simulator issued %d (refused %d)", cli.Fetches, sim.Issued, sim.Refused)
	}
	requireNoCredentials(t, e.sims.JC, "the workflow history", historyText(t, e.history(run)))
}

// TestE2EServiceAccountRevokedMidSyncStopsWithoutSweeping: an administrator deletes the
// secret while a sync reads; the sync fails with the credential error and sweeps nothing.
func TestE2EServiceAccountRevokedMidSyncStopsWithoutSweeping(t *testing.T) {
	e, _ := newServiceAccountE2E(t, jumpcloudsim.GenConfig{Seed: 22, Users: 1200, Groups: 60, Admins: 5, Apps: 15}, time.Hour, nil)
	if _, _, err := e.sync(workflows.SyncInput{}); err != nil {
		t.Fatalf("first sync: %v", err)
	}
	before := e.expected(false)
	e.requireExact(before)
	// Users leave JumpCloud: a sweep would delete them from Authomize.
	e.sims.JC.Update(func(o *jumpcloudsim.Org) {
		for i := range 30 {
			o.RemoveUser(o.Users[i*11].ID)
		}
		for i := range 5 {
			o.AddUser(jumpcloudUser(i))
		}
	})
	e.sims.JC.SetLatency(20 * time.Millisecond)
	e.sims.JC.ResetCounts()
	e.sims.AZ.ResetCounts()
	run := e.start(workflows.SyncInput{})
	deadline := time.Now().Add(time.Minute)
	for e.sims.JC.Counts().Total < 40 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	e.sims.JC.RevokeSecret(e2eClientID)
	revoked := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := run.Get(ctx, nil)
	if err == nil {
		t.Fatal("the sync succeeded after its secret was revoked")
	}
	msg := err.Error()
	if !strings.Contains(msg, "invalid_client") || !strings.Contains(msg, "InvalidCredentials") {
		t.Fatalf("want the credential error, got %v", err)
	}
	t.Logf("revoked after %d JumpCloud requests; the sync failed %s later: %s", e.sims.JC.Counts().Total, time.Since(revoked).Round(time.Millisecond), msg)
	requireNoCredentials(t, e.sims.JC, "the error", msg)
	// Nothing swept: everything the first sync stored is still there (the leavers too).
	if m := simcheck.Missing(before, e.sims.AZ.Snapshot(testenv.AppID)); len(m) > 0 {
		t.Fatalf("a revoked sync deleted data: %s", testenv.Summarize(m))
	}
	if n := e.sims.AZ.Counts().Requests("DELETE /v2/apps/{appId}/data"); n != 0 {
		t.Fatalf("%d deletions after a revocation", n)
	}
	requireNoCredentials(t, e.sims.JC, "the workflow history", historyText(t, e.history(run)))
}

// TestE2EServiceAccountMistakesFailFast: a wrong client id, a wrong secret, and both kinds of
// credential fail the sync in seconds, each with its own message, and upload nothing.
func TestE2EServiceAccountMistakesFailFast(t *testing.T) {
	for _, tc := range []struct {
		label string
		mod   func(*config.Integration)
		want  string
	}{
		{"wrong-client-id", func(in *config.Integration) { in.JumpCloud.ClientID = "svc-does-not-exist" },
			`"svc-does-not-exist") names an existing service account`},
		{"wrong-secret", func(in *config.Integration) { in.JumpCloud.ClientSecret = "jcs_WRONG_0000" },
			"the client secret does not match"},
		{"both-kinds", func(in *config.Integration) { in.JumpCloud.APIKey = testenv.APIKey },
			"both a JumpCloud API key and a service account are set: remove JUMPCLOUD_API_KEY (api_key) to use the service account"},
	} {
		t.Run(tc.label, func(t *testing.T) {
			e, _ := newServiceAccountE2E(t, jumpcloudsim.GenConfig{Seed: 23, Users: 50, Groups: 4, Admins: 2, Apps: 3}, time.Hour, tc.mod)
			started := time.Now()
			run, err := e.tc.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
				ID: fmt.Sprintf("%s-%d", e.name, time.Now().UnixNano()), TaskQueue: temporalnames.IntegrationQueue(e.queue, e.name),
			}, temporalnames.SyncWorkflow, workflows.SyncInput{Integration: e.name})
			if err != nil {
				t.Fatal(err)
			}
			err = run.Get(context.Background(), nil)
			took := time.Since(started)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want %q, got %v", tc.want, err)
			}
			if strings.Contains(err.Error(), "jcs_WRONG_0000") {
				t.Fatal("the error carries the wrong secret")
			}
			requireNoCredentials(t, e.sims.JC, "the error", err.Error())
			t.Logf("%s failed after %s: %v", tc.label, took.Round(time.Millisecond), err)
			if took > 10*time.Second {
				t.Fatalf("took %s", took)
			}
			snap := e.sims.AZ.Snapshot(testenv.AppID)
			if len(snap.Users)+len(snap.Groupings)+len(snap.Assets) != 0 {
				t.Fatal("something was uploaded after a failed validation")
			}
		})
	}
}
