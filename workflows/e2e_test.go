package workflows_test

// End-to-end tests: a real Temporal dev server, a real worker (in process, with the
// production registration) and both simulators. They check what Authomize ends up holding
// against what the generated org says a correct sync must produce.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"jcsync/activities"
	"jcsync/internal/config"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/sim/simcheck"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// temporalServer is the package's shared dev server.
var temporalServer testenv.SharedTemporal

func TestMain(m *testing.M) {
	code := m.Run()
	temporalServer.Stop()
	os.Exit(code)
}

// devServer returns the package's shared dev server, started on first use.
func devServer(t *testing.T) *testenv.Temporal {
	t.Helper()
	return temporalServer.Get(t)
}

type e2e struct {
	t     *testing.T
	tc    *testenv.Temporal
	sims  *testenv.Sims
	queue string
	name  string
}

func newE2E(t *testing.T, cfg jumpcloudsim.GenConfig, identities bool, tune func(*activities.Activities)) *e2e {
	tc := devServer(t)
	sims := testenv.StartSims(t, jumpcloudsim.Generate(cfg))
	name := strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	queue := "e2e-" + name
	testenv.StartWorker(t, tc.Client, queue, config.Integrations{name: sims.Integration(name, identities)}, tune)
	return &e2e{t: t, tc: tc, sims: sims, queue: queue, name: name}
}

func (e *e2e) start(in workflows.SyncInput) client.WorkflowRun {
	e.t.Helper()
	if in.HeartbeatTimeout == 0 {
		in.HeartbeatTimeout = 5 * time.Second
	}
	if in.SweepMargin == 0 {
		// Syncs here follow each other within milliseconds: the default margin would make
		// every sync after the first wait for it. TestE2ESyncNowAtTheDefaults runs with it.
		in.SweepMargin = time.Millisecond
	}
	return e.startAsOperator(in)
}

// startAsOperator starts a sync as `starter sync` does: every setting not given is the
// default an operator gets.
func (e *e2e) startAsOperator(in workflows.SyncInput) client.WorkflowRun {
	e.t.Helper()
	in.Integration = e.name
	run, err := e.tc.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID:        temporalnames.SyncID(e.name),
		TaskQueue: temporalnames.IntegrationQueue(e.queue, e.name),
	}, temporalnames.SyncWorkflow, in)
	if err != nil {
		e.t.Fatalf("start sync: %v", err)
	}
	return run
}

func (e *e2e) sync(in workflows.SyncInput) (*workflows.SyncResult, client.WorkflowRun, error) {
	e.t.Helper()
	run := e.start(in)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var res workflows.SyncResult
	err := run.Get(ctx, &res)
	return &res, run, err
}

func (e *e2e) expected(identities bool) jumpcloudsim.Expected {
	var exp jumpcloudsim.Expected
	e.sims.JC.Update(func(o *jumpcloudsim.Org) { exp = o.Expected(identities) })
	return exp
}

func (e *e2e) requireExact(exp jumpcloudsim.Expected) {
	e.t.Helper()
	if d := testenv.Diff(exp, e.sims.AZ.Snapshot(testenv.AppID)); len(d) > 0 {
		e.t.Fatalf("Authomize's snapshot differs from the org: %s", testenv.Summarize(d))
	}
}

func (e *e2e) history(run client.WorkflowRun) []*historypb.HistoryEvent {
	e.t.Helper()
	var events []*historypb.HistoryEvent
	it := e.tc.Client.GetWorkflowHistory(context.Background(), run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			e.t.Fatalf("read history: %v", err)
		}
		events = append(events, ev)
	}
	return events
}

// TestE2EFullSyncThenChanges syncs a generated org of 5,000 users, then changes the org and
// syncs again: both times Authomize must hold exactly the org, removed things gone.
func TestE2EFullSyncThenChanges(t *testing.T) {
	e := newE2E(t, jumpcloudsim.GenConfig{Seed: 42, Users: 5000, Groups: 300, Admins: 25, Apps: 100}, true, nil)
	started := time.Now()
	res, run, err := e.sync(workflows.SyncInput{})
	if err != nil {
		t.Fatalf("first sync: %v", err)
	}
	wall := time.Since(started)
	e.requireExact(e.expected(true))
	if !res.Swept || res.Read["users"] != 5000 || res.Read["groups"] != 300 || res.Read["apps"] != 100 {
		t.Fatalf("first sync result: swept=%v read=%v", res.Swept, res.Read)
	}
	events := e.history(run)
	t.Logf("5,000-user sync: %d history events, wall %s, %d JumpCloud requests, %d Authomize requests",
		len(events), wall.Round(time.Millisecond), res.JumpCloudRequests, res.AuthomizeRequests)

	// No page data and no secret in the history: scan it for every email and both secrets.
	raw := historyText(t, events)
	for _, secret := range []string{testenv.APIKey, testenv.Token} {
		if strings.Contains(raw, secret) {
			t.Fatal("a secret is in the workflow history")
		}
	}
	var emails []string
	e.sims.JC.Update(func(o *jumpcloudsim.Org) {
		for _, u := range o.Users {
			if u.Email != "" {
				emails = append(emails, u.Email)
			}
		}
		for _, a := range o.Admins {
			emails = append(emails, a.Email)
		}
	})
	for _, em := range emails {
		if strings.Contains(raw, em) {
			t.Fatalf("email %q is in the workflow history", em)
		}
	}
	if strings.Contains(raw, "PRIVATE KEY") {
		t.Fatal("SAML key material is in the workflow history")
	}
	// SAML keys and certificates never reach Authomize.
	snap := e.sims.AZ.Snapshot(testenv.AppID)
	for id, a := range snap.Assets {
		if strings.Contains(string(a), "PRIVATE KEY") || strings.Contains(string(a), "BEGIN CERTIFICATE") {
			t.Fatalf("asset %s carries SAML key material", id)
		}
	}

	// Change the org: add and remove users, groups, memberships and bindings.
	e.sims.JC.Update(func(o *jumpcloudsim.Org) {
		for i := 0; i < 40; i++ {
			o.RemoveUser(o.Users[i*7].ID)
		}
		for i := 0; i < 25; i++ {
			o.AddUser(jumpcloudUser(i))
		}
		o.RemoveGroup(o.Groups[3].ID)
		o.RemoveGroup(o.Groups[10].ID)
		g := o.AddGroup(jumpcloudGroup("added group"))
		o.AddMember(g, o.Users[0].ID)
		o.AddMember(g, o.Users[1].ID)
		for gid, members := range o.Members {
			if len(members) > 2 {
				o.RemoveMember(gid, members[0])
				break
			}
		}
		for appID, users := range o.AppUsers {
			if len(users) > 0 {
				o.UnbindUser(appID, users[0])
				break
			}
		}
		for appID, groups := range o.AppGroups {
			if len(groups) > 0 {
				o.UnbindGroup(appID, groups[0])
				break
			}
		}
		o.BindUser(o.Apps[0].ID, o.Users[5].ID)
		o.BindGroup(o.Apps[1].ID, g)
	})
	if _, _, err := e.sync(workflows.SyncInput{}); err != nil {
		t.Fatalf("second sync: %v", err)
	}
	e.requireExact(e.expected(true))
}

// TestE2EFaultsMidStageResume injects faults into JumpCloud mid-stage that exhaust an
// attempt of the users stage; the retried attempt resumes from its checkpoint.
func TestE2EFaultsMidStageResume(t *testing.T) {
	e := newE2E(t, jumpcloudsim.GenConfig{Seed: 7, Users: 4000, Groups: 60, Admins: 10, Apps: 20}, false, testenv.FastRetries)
	// From the 15th users page on, JumpCloud answers 503 until the stage's first attempt fails.
	e.sims.JC.FailFrom("/api/systemusers", 15, 503)
	run := e.start(workflows.SyncInput{})
	waitForRetry(t, e.tc.Client, run, activities.StageUsers)
	e.sims.JC.ClearFaults()
	var res workflows.SyncResult
	if err := run.Get(context.Background(), &res); err != nil {
		t.Fatalf("sync after faults: %v", err)
	}
	e.requireExact(e.expected(false))
	refetched := 0
	for k, n := range e.sims.JC.Counts().Pages {
		if k.Endpoint == "/api/systemusers" && n > 1 {
			refetched += int(n - 1)
		}
	}
	var users activities.StageResult
	for _, s := range res.Stages {
		if s.Stage == activities.StageUsers {
			users = s
		}
	}
	t.Logf("faults: users stage took %d attempts, %d pages resumed from the checkpoint, %d pages fetched more than once",
		users.Counts.Attempts, users.Counts.PagesResumed, refetched)
	if users.Counts.Attempts < 2 || users.Counts.PagesResumed == 0 {
		t.Fatalf("the users stage did not resume from a checkpoint: %+v", users.Counts)
	}
	// Pages read again by the retry are counted once: the shrink check relies on it.
	if res.Read["users"] != 4000 || users.Counts.Uploaded["accounts"] != 4000 {
		t.Fatalf("read %d users and uploaded %d accounts of 4000 after a resume", res.Read["users"], users.Counts.Uploaded["accounts"])
	}
	// Pages refetched are at most the pages in flight when the attempt failed.
	if refetched > 2*8 {
		t.Fatalf("%d pages refetched, more than the pages in flight", refetched)
	}
}

// TestE2EPermanentFailureKeepsSnapshot: a run that fails permanently halfway never sweeps,
// so what the previous sync stored stays, even for users JumpCloud no longer has.
func TestE2EPermanentFailureKeepsSnapshot(t *testing.T) {
	e := newE2E(t, jumpcloudsim.GenConfig{Seed: 9, Users: 600, Groups: 40, Admins: 5, Apps: 10}, false, testenv.FastRetries)
	if _, _, err := e.sync(workflows.SyncInput{}); err != nil {
		t.Fatalf("first sync: %v", err)
	}
	before := e.expected(false)
	e.requireExact(before)
	e.sims.JC.Update(func(o *jumpcloudsim.Org) {
		for i := 0; i < 20; i++ {
			o.RemoveUser(o.Users[i].ID)
		}
	})
	// Group member reads fail with a permanent error after a few groups.
	e.sims.JC.FailFrom("/api/v2/usergroups/", 5, 400)
	_, _, err := e.sync(workflows.SyncInput{})
	if err == nil || !strings.Contains(err.Error(), "stage groups") {
		t.Fatalf("want the groups stage to fail, got %v", err)
	}
	e.requireExact(before)
}

// TestE2EBadKeyFailsFast: a wrong JumpCloud key fails the sync in seconds with a message
// that names the key, and nothing is uploaded.
func TestE2EBadKeyFailsFast(t *testing.T) {
	tc := devServer(t)
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 1, Users: 50, Groups: 5, Admins: 2, Apps: 3}))
	in := sims.Integration("badkey", false)
	in.JumpCloud.APIKey = "jca_wrong"
	testenv.StartWorker(t, tc.Client, "e2e-badkey", config.Integrations{"badkey": in}, nil)
	started := time.Now()
	run, err := tc.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: fmt.Sprintf("badkey-%d", time.Now().UnixNano()), TaskQueue: temporalnames.IntegrationQueue("e2e-badkey", "badkey"),
	}, temporalnames.SyncWorkflow, workflows.SyncInput{Integration: "badkey"})
	if err != nil {
		t.Fatal(err)
	}
	err = run.Get(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "JumpCloud rejected the API key") {
		t.Fatalf("want a bad-key error, got %v", err)
	}
	if strings.Contains(err.Error(), "jca_wrong") {
		t.Fatal("the error carries the key")
	}
	t.Logf("bad JumpCloud key failed after %s", time.Since(started).Round(time.Millisecond))
	snap := sims.AZ.Snapshot(testenv.AppID)
	if len(snap.Users)+len(snap.Groupings)+len(snap.Assets) != 0 {
		t.Fatal("something was uploaded after a failed validation")
	}
}

// waitForRetry waits until the Phase activity of run that runs stage failed an attempt and
// is retrying.
func waitForRetry(t *testing.T, c client.Client, run client.WorkflowRun, stage string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		desc, err := c.DescribeWorkflow(context.Background(), run.GetID(), run.GetRunID())
		if err != nil {
			t.Fatal(err)
		}
		d := desc.RawResponse
		for _, pa := range d.GetPendingActivities() {
			if runsStage(pa, stage) && pa.GetAttempt() >= 2 {
				return
			}
		}
		if d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Fatalf("the sync ended before the phase of %s was retried", stage)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the phase of %s was never retried", stage)
}

func historyText(t *testing.T, events []*historypb.HistoryEvent) string {
	t.Helper()
	s, err := testenv.HistoryText(events)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeHistory(t *testing.T, events []*historypb.HistoryEvent, path string) {
	t.Helper()
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: events})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(errors.Join(errors.New("write history"), err))
	}
}

// TestE2EHistoryIsBoundedWhateverTheOrgSize: history length depends on the number of stages,
// not on the org. (Workflow-task events vary a little with timing, so the check is a bound.)
// JCSYNC_LARGE_USERS=50000 adds a larger org for the figures.
func TestE2EHistoryIsBoundedWhateverTheOrgSize(t *testing.T) {
	sizes := []int{20, 2000}
	if n := os.Getenv("JCSYNC_LARGE_USERS"); n != "" {
		var users int
		fmt.Sscan(n, &users)
		sizes = append(sizes, users)
	}
	const bound = 80
	for _, users := range sizes {
		t.Run(fmt.Sprint(users), func(t *testing.T) {
			groups, apps := max(3, users/17), max(2, users/50)
			e := newE2E(t, jumpcloudsim.GenConfig{Seed: int64(users), Users: users, Groups: groups, Admins: 25, Apps: apps}, true, nil)
			started := time.Now()
			res, run, err := e.sync(workflows.SyncInput{})
			if err != nil {
				t.Fatal(err)
			}
			events := len(e.history(run))
			t.Logf("%d users, %d groups, %d apps: %d history events, wall %s, %d JumpCloud requests",
				users, groups, apps, events, time.Since(started).Round(time.Millisecond), res.JumpCloudRequests)
			if events > bound {
				t.Fatalf("%d history events for %d users: more than %d", events, users, bound)
			}
		})
	}
}

// TestE2ERequestsAreTheMinimum: a sync reads every JumpCloud list once, at 100 a page, with
// no trailing empty page and no per-item lookup.
func TestE2ERequestsAreTheMinimum(t *testing.T) {
	e := newE2E(t, jumpcloudsim.GenConfig{Seed: 77, Users: 1234, Groups: 150, Admins: 12, Apps: 30, MaxGroupSize: 400, AvgGroupSize: 40}, false, nil)
	if _, _, err := e.sync(workflows.SyncInput{}); err != nil {
		t.Fatal(err)
	}
	e.requireExact(e.expected(false))
	var want map[string]int
	e.sims.JC.View(func(o *jumpcloudsim.Org) { want = simcheck.MinRequests(o) })
	got := e.sims.JC.Counts()
	for endpoint, n := range want {
		if int(got.ByEndpoint[endpoint]) != n {
			t.Errorf("%s: %d requests, the minimum is %d", endpoint, got.ByEndpoint[endpoint], n)
		}
	}
	if int(got.Total) != simcheck.Total(want) {
		t.Fatalf("%d JumpCloud requests in all, the minimum is %d (by endpoint: %v)", got.Total, simcheck.Total(want), got.ByEndpoint)
	}
	t.Logf("%d JumpCloud requests, exactly the minimum", got.Total)
}
