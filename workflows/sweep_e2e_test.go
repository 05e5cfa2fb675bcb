package workflows_test

// End-to-end tests of the sweep, the one step that deletes: it must never delete what still
// exists in JumpCloud, and it must still run on an org that changes while it is read.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"jcsync/activities"
	"jcsync/internal/config"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/sim/authomizesim"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/sim/simcheck"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
	"jcsync/internal/transform"
	"jcsync/workflows"
)

// requireNothingMissing fails when Authomize lacks anything of want.
func (e *e2e) requireNothingMissing(want jumpcloudsim.Expected, what string) {
	e.t.Helper()
	if m := simcheck.Missing(want, e.sims.AZ.Snapshot(testenv.AppID)); len(m) > 0 {
		e.t.Fatalf("%s: Authomize lacks what exists in JumpCloud: %s", what, testenv.Summarize(m))
	}
}

// deleteClosedRuns removes every closed run of the integration from Temporal, as retention
// would, and waits until visibility no longer lists them.
func (e *e2e) deleteClosedRuns() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q := temporalnames.IntegrationQuery(e.name, temporalnames.IsClosed)
	for {
		resp, err := e.tc.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q})
		if err != nil {
			e.t.Fatal(err)
		}
		if len(resp.GetExecutions()) == 0 {
			return
		}
		for _, ex := range resp.GetExecutions() {
			_, err := e.tc.Client.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
				Namespace:         "default",
				WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: ex.GetExecution().GetWorkflowId(), RunId: ex.GetExecution().GetRunId()},
			})
			var nf *serviceerror.NotFound
			if err != nil && !errors.As(err, &nf) {
				e.t.Fatal(err)
			}
		}
		select {
		case <-ctx.Done():
			e.t.Fatal("closed runs still listed after deletion")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// The shrink guard's baseline lives in Authomize, next to the data: deleting every closed
// run from Temporal (what retention does after a day) does not turn the guard off.
func TestE2EBaselineSurvivesTheLossOfEveryClosedRun(t *testing.T) {
	e := newE2E(t, jumpcloudsim.GenConfig{Seed: 31, Users: 600, Groups: 20, Admins: 3, Apps: 8}, false, nil)
	if res, _, err := e.sync(workflows.SyncInput{}); err != nil || !res.Swept {
		t.Fatalf("first sync: swept=%v err=%v", res.Swept, err)
	}
	e.deleteClosedRuns()
	before := e.expected(false)
	e.sims.JC.Update(func(o *jumpcloudsim.Org) {
		for range 300 {
			o.RemoveUser(o.Users[len(o.Users)-1].ID)
		}
	})
	_, _, err := e.sync(workflows.SyncInput{})
	if err == nil || !strings.Contains(err.Error(), "sweep refused") || !strings.Contains(err.Error(), "users 600 → 300") {
		t.Fatalf("want the sweep refused for the shrink, got %v", err)
	}
	e.requireNothingMissing(before, "after a refused sweep")
}

// With no baseline record in an app that holds data (it was deleted, or an older connector
// wrote the data), the sweep is refused with the way out; the operator's --allow-shrink
// sweeps once and records a baseline, and the next sync needs no flag.
func TestE2ENoBaselineInAFullAppRefusesUntilConfirmed(t *testing.T) {
	e := newE2E(t, jumpcloudsim.GenConfig{Seed: 32, Users: 300, Groups: 10, Admins: 2, Apps: 4}, false, nil)
	if _, _, err := e.sync(workflows.SyncInput{}); err != nil {
		t.Fatalf("first sync into an empty app needs no flag: %v", err)
	}
	e.deleteClosedRuns() // the memo of an earlier version is gone too
	if !e.sims.AZ.DeleteRecord(testenv.AppID, authomizesim.KindAssets, transform.BaselineAssetID) {
		t.Fatal("no baseline record after a complete sync")
	}
	_, _, err := e.sync(workflows.SyncInput{})
	if err == nil || !strings.Contains(err.Error(), "already holds data") || !strings.Contains(err.Error(), "--allow-shrink") {
		t.Fatalf("want a refusal that says how to proceed, got %v", err)
	}
	if res, _, err := e.sync(workflows.SyncInput{AllowShrink: true}); err != nil || !res.Swept {
		t.Fatalf("confirmed sync: swept=%v err=%v", res.Swept, err)
	}
	if res, _, err := e.sync(workflows.SyncInput{}); err != nil || !res.Swept || !strings.Contains(res.Baseline, "authomize") {
		t.Fatalf("next sync: swept=%v baseline=%q err=%v", res.Swept, res.Baseline, err)
	}
	e.requireExact(e.expected(false))
}

// An upload answer without acceptedTimestamp leaves the run without a cutoff it can trust:
// no sweep, a warning. An Authomize that stamps records up to 500 ms before the time it
// returns is covered by the margin: nothing that exists goes missing, sync after sync.
func TestE2ETimestampsTheSweepCanTrust(t *testing.T) {
	e := newE2E(t, jumpcloudsim.GenConfig{Seed: 33, Users: 800, Groups: 30, Admins: 3, Apps: 10}, false, nil)
	e.sims.AZ.OmitAcceptedTimestamp(authomizesim.KindUsers)
	res, _, err := e.sync(workflows.SyncInput{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Swept || !strings.Contains(res.SweepSkipped, "acceptedTimestamp") || !strings.Contains(strings.Join(res.Warnings, "\n"), "sweep skipped") {
		t.Fatalf("swept=%v skipped=%q warnings=%v", res.Swept, res.SweepSkipped, res.Warnings)
	}
	e.requireNothingMissing(e.expected(false), "after a skipped sweep")

	e.sims.AZ.OmitAcceptedTimestamp()
	e.sims.AZ.SetStampSkew(500 * time.Millisecond)
	for i := range 4 {
		e.sims.JC.Update(func(o *jumpcloudsim.Org) { o.RemoveUser(o.Users[i].ID) })
		res, _, err := e.sync(workflows.SyncInput{SweepMargin: time.Second})
		if err != nil || !res.Swept {
			t.Fatalf("sync %d: swept=%v err=%v", i, res.Swept, err)
		}
		e.requireNothingMissing(e.expected(false), fmt.Sprintf("sync %d with skewed stamps", i))
	}
}

// Authomize rejects most memberships as invalid references: the sweep would delete the last
// sync's good memberships, so it is refused and they stay.
func TestE2ERejectedRelationsRefuseTheSweep(t *testing.T) {
	e := newE2E(t, jumpcloudsim.GenConfig{Seed: 34, Users: 500, Groups: 25, Admins: 3, Apps: 6}, false, nil)
	if _, _, err := e.sync(workflows.SyncInput{}); err != nil {
		t.Fatal(err)
	}
	before := e.expected(false)
	e.sims.AZ.RejectRelations(authomizesim.KindAccountAssociations, 0.8)
	_, _, err := e.sync(workflows.SyncInput{})
	if err == nil || !strings.Contains(err.Error(), "did not accept") || !strings.Contains(err.Error(), "memberships") {
		t.Fatalf("want the sweep refused for rejected memberships, got %v", err)
	}
	e.requireNothingMissing(before, "after rejected memberships")
}

// Authomize refuses a few accounts it was sent (a validation the connector did not
// foresee): their earlier copies were not refreshed and still exist in JumpCloud, so the
// sweep is refused. Nothing that exists goes missing, not even the user deleted in
// JumpCloud meanwhile (nothing at all is deleted); the result, the outcome search attribute
// and the current details say why. With a tolerance, the next sync sweeps.
func TestE2ERejectedAccountsRefuseTheSweep(t *testing.T) {
	e := newE2E(t, jumpcloudsim.GenConfig{Seed: 37, Users: 400, Groups: 15, Admins: 3, Apps: 5}, false, nil)
	if _, _, err := e.sync(workflows.SyncInput{}); err != nil {
		t.Fatal(err)
	}
	before := e.expected(false)
	var gone string
	e.sims.JC.Update(func(o *jumpcloudsim.Org) {
		gone = o.Users[len(o.Users)-1].ID
		o.RemoveUser(gone)
	})
	e.sims.AZ.RejectEntities(authomizesim.KindUsers, 0.01)
	_, run, err := e.sync(workflows.SyncInput{})
	var appErr *temporal.ApplicationError
	if err == nil || !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeSweepRefused ||
		!strings.Contains(err.Error(), "did not accept") || !strings.Contains(err.Error(), "accounts sent") {
		t.Fatalf("want the sweep refused for rejected accounts, got %v", err)
	}
	var refused workflows.SyncResult
	if err := appErr.Details(&refused); err != nil || refused.Rejected["accounts"] == 0 || refused.Rejected["accounts"] > 20 {
		t.Fatalf("the refusal's result: %v, rejected %v", err, refused.Rejected)
	}
	e.requireNothingMissing(before, "after rejected accounts")
	if _, ok := e.sims.AZ.ModifiedAt(testenv.AppID, authomizesim.KindUsers, gone); !ok {
		t.Fatal("a refused sweep deleted the account of a user removed from JumpCloud")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := testenv.ReadConsole(ctx, e.tc.Client, run.GetID(), run.GetRunID())
	if err != nil || c.Outcome != temporalnames.OutcomeRefused {
		t.Fatalf("outcome %q, want %q (%v)", c.Outcome, temporalnames.OutcomeRefused, err)
	}
	details, err := testenv.CurrentDetails(ctx, e.tc.Client, run.GetID(), run.GetRunID())
	if err != nil || !strings.Contains(details, "Rejected by Authomize") || !strings.Contains(details, "accounts") {
		t.Fatalf("current details: %v\n%s", err, details)
	}

	res, _, err := e.sync(workflows.SyncInput{MaxRejected: 50})
	if err != nil || !res.Swept || res.Rejected["accounts"] != refused.Rejected["accounts"] {
		t.Fatalf("with --max-rejected 50: swept=%v rejected=%v err=%v", res.Swept, res.Rejected, err)
	}
	if _, ok := e.sims.AZ.ModifiedAt(testenv.AppID, authomizesim.KindUsers, gone); ok {
		t.Fatal("the tolerated sync swept nothing")
	}
}

// JumpCloud changes while every sync reads it: users, groups, memberships and bindings are
// created and deleted, deletions in the first pages of each list. After each sync, every
// object that existed from its start to its end is in Authomize, and the sweep still runs.
func TestE2EChurnNeverLosesWhatExistsAndStillSweeps(t *testing.T) {
	// At 40 requests/s a sync reads for a few seconds, so pages of one list are read apart
	// and many changes land between them: without its repairs the read misses users.
	paced := func(a *activities.Activities) {
		for name, in := range a.Integrations {
			in.JumpCloud.RPS = 40
			a.Integrations[name] = in
		}
	}
	e := newE2E(t, jumpcloudsim.GenConfig{Seed: 35, Users: 3000, Groups: 60, Admins: 4, Apps: 20}, true, paced)
	e.sims.JC.SetLatency(10 * time.Millisecond)
	churn := e.sims.JC.StartChurn(jumpcloudsim.ChurnOptions{Every: 40 * time.Millisecond, Seed: 35, MaxGroupMembers: 30})
	const syncs = 10
	swept, repairs, changes := 0, 0, 0
	for i := range syncs {
		before, n0 := e.expected(true), churn.Changes()
		res, _, err := e.sync(workflows.SyncInput{})
		if err != nil {
			churn.Stop()
			t.Fatalf("sync %d: %v", i, err)
		}
		after, n1 := e.expected(true), churn.Changes()
		if n1 == n0 {
			t.Fatalf("sync %d saw no change: the test does not churn", i)
		}
		// Only what was never touched during the sync must be there; the log is cumulative,
		// which only makes the stable set smaller.
		stable := churn.Log().Stable(before, after)
		e.requireNothingMissing(stable, fmt.Sprintf("sync %d", i))
		changes += n1 - n0
		repairs += res.RepairReads
		if res.Swept {
			swept++
		} else {
			t.Logf("sync %d did not sweep: %s", i, res.SweepSkipped)
		}
	}
	churn.Stop()
	t.Logf("churn: %d changes over %d syncs, %d swept, %d repair reads", changes, syncs, swept, repairs)
	if swept < syncs-1 {
		t.Fatalf("the sweep ran in %d of %d syncs; a changing org must still be swept", swept, syncs)
	}
	if _, _, err := e.sync(workflows.SyncInput{}); err != nil {
		t.Fatal(err)
	}
	e.requireExact(e.expected(true))
}

// Two syncs of one integration never run at once, whoever starts them: a scheduled run that
// finds a manual sync running does nothing and names it, and a manual start while a
// scheduled sync runs is refused by Temporal (the starter says so).
func TestE2EOneSyncOfAnIntegrationAtATime(t *testing.T) {
	e := newE2E(t, jumpcloudsim.GenConfig{Seed: 36, Users: 1500, Groups: 40, Admins: 3, Apps: 10}, false, nil)
	e.sims.JC.SetLatency(200 * time.Millisecond) // syncs of a few seconds, to overlap them
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sched, err := e.tc.Client.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:     "sched-" + e.name,
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}},
		Paused: true,
		Action: &client.ScheduleWorkflowAction{
			ID: temporalnames.SyncID(e.name), Workflow: temporalnames.SyncWorkflow, TaskQueue: temporalnames.IntegrationQueue(e.queue, e.name),
			Args: []any{workflows.SyncInput{Integration: e.name, SweepMargin: time.Millisecond}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sched.Delete(context.Background()) }()
	scheduledRun := func() client.WorkflowRun {
		before, _ := sched.Describe(ctx)
		if err := sched.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
			t.Fatal(err)
		}
		for {
			d, err := sched.Describe(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(d.Info.RecentActions); n > len(before.Info.RecentActions) {
				r := d.Info.RecentActions[n-1].StartWorkflowResult
				return e.tc.Client.GetWorkflow(ctx, r.WorkflowID, r.FirstExecutionRunID)
			}
			select {
			case <-ctx.Done():
				t.Fatal("the schedule started nothing")
			case <-time.After(100 * time.Millisecond):
			}
		}
	}

	// A manual sync runs; the schedule fires meanwhile.
	manual := e.start(workflows.SyncInput{})
	var scheduled workflows.SyncResult
	if err := scheduledRun().Get(ctx, &scheduled); err != nil {
		t.Fatal(err)
	}
	if scheduled.NotRun == "" || !strings.Contains(scheduled.NotRun, temporalnames.SyncID(e.name)) || scheduled.Swept {
		t.Fatalf("the scheduled run during a manual sync: %+v", scheduled)
	}
	if err := manual.Get(ctx, nil); err != nil {
		t.Fatalf("the manual sync: %v", err)
	}

	// The schedule's sync runs; a manual start meanwhile is refused.
	run := scheduledRun()
	for {
		d, err := e.tc.Client.DescribeWorkflow(ctx, temporalnames.SyncID(e.name), "")
		if err == nil && d.RawResponse.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err = e.tc.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: temporalnames.SyncID(e.name), TaskQueue: temporalnames.IntegrationQueue(e.queue, e.name),
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL, WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, temporalnames.SyncWorkflow, workflows.SyncInput{Integration: e.name})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if !errors.As(err, &started) {
		t.Fatalf("a manual start during the scheduled sync: %v", err)
	}
	var res workflows.SyncResult
	if err := run.Get(ctx, &res); err != nil || res.RanAs != temporalnames.SyncID(e.name) || !res.Swept {
		t.Fatalf("the scheduled sync: %+v %v", res, err)
	}
	e.requireExact(e.expected(false))
}

// "Sync now" after an offboarding, with every default an operator gets (the 2-minute sweep
// margin, the 30 s heartbeat timeout): a second sync started 5 s after the first removes
// every object that left JumpCloud in between: accounts, role assignments, groups,
// memberships, apps and bindings. It waits before its first write until its cutoff lies
// after the first sync's last write, and says so.
func TestE2ESyncNowAtTheDefaults(t *testing.T) {
	e := newE2E(t, jumpcloudsim.GenConfig{Seed: 55, Users: 400, Groups: 20, Admins: 4, Apps: 10}, false, nil)
	run := e.startAsOperator(workflows.SyncInput{})
	var first workflows.SyncResult
	if err := run.Get(context.Background(), &first); err != nil || !first.Swept || first.SweepWait != 0 {
		t.Fatalf("first sync: swept=%v wait=%s err=%v", first.Swept, first.SweepWait, err)
	}
	e.requireExact(e.expected(false))

	var gone int
	e.sims.JC.Update(func(o *jumpcloudsim.Org) {
		for i := 0; i < 30; i++ {
			o.RemoveUser(o.Users[i*11].ID)
		}
		// The two smallest groups: the shrink check guards memberships too.
		groups := slices.Clone(o.Groups)
		slices.SortFunc(groups, func(a, b jumpcloud.UserGroup) int { return len(o.Members[a.ID]) - len(o.Members[b.ID]) })
		o.RemoveGroup(groups[0].ID)
		o.RemoveGroup(groups[1].ID)
		o.RemoveApp(o.Apps[3].ID)
		o.RemoveAdmin(o.Admins[1].ID)
		for gid, members := range o.Members {
			if len(members) > 3 {
				o.RemoveMember(gid, members[1])
				break
			}
		}
		for appID, users := range o.AppUsers {
			if len(users) > 0 {
				o.UnbindUser(appID, users[0])
				break
			}
		}
		gone = 30 + 2 + 1 + 1
	})
	time.Sleep(5 * time.Second)
	before := e.sims.AZ.Snapshot(testenv.AppID)
	run = e.startAsOperator(workflows.SyncInput{})
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	var second workflows.SyncResult
	if err := run.Get(ctx, &second); err != nil {
		t.Fatalf("second sync: %v", err)
	}
	stale := testenv.Diff(e.expected(false), before)
	t.Logf("sync now, 5 s after the last: waited %s, %d objects had left JumpCloud (%d differences with Authomize before it)",
		second.SweepWait.Round(time.Second), gone, len(stale))
	if len(stale) == 0 {
		t.Fatal("the org change left nothing stale in Authomize: the test proves nothing")
	}
	if !second.Swept || second.SweepWait <= 0 || second.EarlierWrites.IsZero() || !second.SweepCutoff.After(second.EarlierWrites) {
		t.Fatalf("second sync: swept=%v wait=%s cutoff=%s earlier writes=%s: its cutoff must pass the first sync's last write",
			second.Swept, second.SweepWait, second.SweepCutoff, second.EarlierWrites)
	}
	e.requireExact(e.expected(false))
}

// Two deployments, each with one integration, both pointed at one Authomize app (both left
// at the app name "default", say). The sweep is app-wide: the second org's sync would delete
// the first org's records. It is refused before it writes anything, naming both orgs; the
// first org's data stays exact, and its own next sync still sweeps.
func TestE2ETwoOrgsOnOneAppAreRefusedAtTheSweep(t *testing.T) {
	a := newE2E(t, jumpcloudsim.GenConfig{Seed: 61, Users: 300, Groups: 10, Admins: 2, Apps: 4}, false, nil)
	if res, _, err := a.sync(workflows.SyncInput{}); err != nil || !res.Swept {
		t.Fatalf("first org's sync: swept=%v err=%v", res.Swept, err)
	}
	other := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 62, Users: 250, Groups: 8, Admins: 2, Apps: 3}))
	integ := other.Integration(a.name+"-b", false)
	integ.Authomize = a.sims.Integration(a.name, false).Authomize // the first org's app
	b := &e2e{t: t, tc: a.tc, sims: a.sims, queue: a.queue + "-b", name: integ.Name}
	testenv.StartWorker(t, a.tc.Client, b.queue, config.Integrations{integ.Name: integ}, nil)

	_, _, err := b.sync(workflows.SyncInput{})
	if err == nil || !strings.Contains(err.Error(), "sweep refused") || !strings.Contains(err.Error(), a.sims.Org.ID) ||
		!strings.Contains(err.Error(), other.Org.ID) || !strings.Contains(err.Error(), "--allow-org-change") {
		t.Fatalf("want the second org refused, naming both orgs and the way out; got %v", err)
	}
	if d := testenv.Diff(a.expected(false), a.sims.AZ.Snapshot(testenv.AppID)); len(d) > 0 {
		t.Fatalf("the refused sync changed the first org's app (nothing of the second org may be written): %s", testenv.Summarize(d))
	}
	if res, _, err := a.sync(workflows.SyncInput{}); err != nil || !res.Swept {
		t.Fatalf("the first org's next sync: swept=%v err=%v", res.Swept, err)
	}
	a.requireExact(a.expected(false))
}
