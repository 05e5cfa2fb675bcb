package workflows_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"jcsync/activities"
	"jcsync/internal/config"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/sim/authomizesim"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
	"jcsync/routing"
	"jcsync/workflows"
)

// changeTarget is how soon a change must reach Authomize, from the event's timestamp.
const changeTarget = 2 * time.Minute

// insightsLag is the ingestion delay the simulator applies in these tests, as the target
// assumes.
const insightsLag = 5 * time.Second

// watchEnv is an integration with a schedule and its change watcher, on a dev server with
// the simulators, after one full sync.
type watchEnv struct {
	t       *testing.T
	c       client.Client
	sims    *testenv.Sims
	name    string
	queue   string
	integ   config.Integration
	workers routing.Workers
	tune    func(*activities.Activities)
}

// newWatchEnv syncs a small org once, creates the schedule (daily: it never fires during
// the test) with input, and starts the watcher as `starter schedule create` does. watch
// sets the watcher's settings; the zero value is the operator's defaults.
func newWatchEnv(t *testing.T, seed int64, watch config.Watch, in workflows.SyncInput, tune func(*activities.Activities)) *watchEnv {
	t.Helper()
	tc := devServer(t)
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: seed, Users: 40, Groups: 4, Admins: 2, Apps: 3}))
	sims.JC.SetInsightsLag(insightsLag)
	name := strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	w := &watchEnv{t: t, c: tc.Client, sims: sims, name: name, queue: "e2e-" + name, tune: tune}
	w.integ = sims.Integration(name, true)
	w.integ.Watch = watch
	w.startWorker()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	first, err := tc.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: temporalnames.SyncID(name), TaskQueue: temporalnames.IntegrationQueue(w.queue, name)},
		temporalnames.SyncWorkflow, workflows.SyncInput{Integration: name, SweepMargin: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Get(ctx, nil); err != nil {
		t.Fatalf("first sync: %v", err)
	}
	in.Integration = name
	h, err := tc.Client.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:   temporalnames.ScheduleID(name),
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 24 * time.Hour}}},
		Action: &client.ScheduleWorkflowAction{
			ID: temporalnames.SyncID(name), Workflow: temporalnames.SyncWorkflow, TaskQueue: temporalnames.IntegrationQueue(w.queue, name), Args: []any{in},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = h.Delete(context.Background())
		_ = tc.Client.TerminateWorkflow(context.Background(), temporalnames.WatchID(name), "", "test over")
	})
	if ok, err := routing.StartWatcher(ctx, tc.Client, w.queue, name); err != nil || !ok {
		t.Fatalf("start the watcher: %v (schedule found: %v)", err, ok)
	}
	return w
}

func (w *watchEnv) startWorker() {
	w.workers = testenv.StartWorker(w.t, w.c, w.queue, config.Integrations{w.name: w.integ}, w.tune)
}

// state queries the running watcher, or reads the result of the one that ended.
func (w *watchEnv) state() (workflows.WatchState, bool) {
	w.t.Helper()
	var st workflows.WatchState
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := w.c.DescribeWorkflow(ctx, temporalnames.WatchID(w.name), "")
	if err != nil {
		w.t.Fatal(err)
	}
	if d.Status.String() != "Running" {
		if err := w.c.GetWorkflow(ctx, temporalnames.WatchID(w.name), "").Get(ctx, &st); err != nil {
			w.t.Fatalf("watcher ended with an error: %v", err)
		}
		return st, false
	}
	v, err := w.c.QueryWorkflow(ctx, temporalnames.WatchID(w.name), "", temporalnames.WatchQuery)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := v.Get(&st); err != nil {
		w.t.Fatal(err)
	}
	return st, true
}

// waitFor polls cond until it holds, failing after limit; it returns how long it took.
func (w *watchEnv) waitFor(what string, since time.Time, limit time.Duration, cond func(authomizesim.Snapshot) bool) time.Duration {
	w.t.Helper()
	for {
		if cond(w.sims.AZ.Snapshot(testenv.AppID)) {
			return time.Since(since)
		}
		if time.Since(since) > limit {
			st, _ := w.state()
			w.t.Fatalf("%s: not in Authomize %s after the change; watcher: %+v", what, limit, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mutate changes the org as an administrator would, and returns when: the event's timestamp.
func (w *watchEnv) mutate(fn func(o *jumpcloudsim.Org)) time.Time {
	at := time.Now()
	w.sims.JC.Update(fn)
	return at
}

func userStatus(snap authomizesim.Snapshot, id string) string {
	var u struct {
		Status string `json:"status"`
	}
	raw, ok := snap.Users[id]
	if !ok {
		return ""
	}
	_ = json.Unmarshal(raw, &u)
	return u.Status
}

func hasPermission(snap authomizesim.Snapshot, userID, appID string) bool {
	for k := range snap.Permissions {
		if k[1] == userID && k[3] == appID {
			return true
		}
	}
	return false
}

// activeUsers returns the ids of n active, unsuspended users.
func activeUsers(o *jumpcloudsim.Org, n int) []string {
	var ids []string
	for _, u := range o.Users {
		if len(ids) < n && u.State == jumpcloud.StateActivated && !u.Suspended {
			ids = append(ids, u.ID)
		}
	}
	return ids
}

// firstOf returns the first user, group and app of the org, and a member of the group.
func firstOf(o *jumpcloudsim.Org) (group, member, app string) {
	for _, g := range o.Groups {
		if ms := o.Members[g.ID]; len(ms) > 0 {
			return g.ID, ms[0], o.Apps[0].ID
		}
	}
	return "", "", o.Apps[0].ID
}

// Every targeted change reaches Authomize within its target, measured from the event's
// timestamp with a 5 s ingestion lag, and without a full sync: a user suspended, deleted
// and created; a member and an app binding added. Then a member and a binding removed reach
// it through one full sync the watcher starts, debounced: both removals, one sync.
func TestE2EWatcherAppliesChangesWithinTheirTarget(t *testing.T) {
	w := newWatchEnv(t, 301, config.Watch{PollInterval: "1s", SyncInterval: "10s"}, workflows.SyncInput{SweepMargin: time.Millisecond}, nil)
	var suspended, deleted, group, member, app string
	w.sims.JC.Update(func(o *jumpcloudsim.Org) {
		ids := activeUsers(o, 2)
		suspended, deleted = ids[0], ids[1]
		group, member, app = firstOf(o)
	})
	created := w.sims.Org.NewID()

	type change struct {
		what string
		at   time.Time
		done func(authomizesim.Snapshot) bool
	}
	changes := []change{
		{"user suspended", w.mutate(func(o *jumpcloudsim.Org) { o.SuspendUser(suspended) }),
			func(s authomizesim.Snapshot) bool { return userStatus(s, suspended) == "Suspended" }},
		{"user deleted", w.mutate(func(o *jumpcloudsim.Org) { o.RemoveUser(deleted) }),
			func(s authomizesim.Snapshot) bool { st := userStatus(s, deleted); return st == "Deleted" || st == "" }},
		{"user created", w.mutate(func(o *jumpcloudsim.Org) {
			o.AddUser(jumpcloud.SystemUser{ID: created, Username: "new.hire", Email: "new.hire@example.com", State: jumpcloud.StateActivated, Activated: true})
		}), func(s authomizesim.Snapshot) bool { return userStatus(s, created) != "" }},
		{"member added", w.mutate(func(o *jumpcloudsim.Org) { o.AddMember(group, created) }),
			func(s authomizesim.Snapshot) bool { _, ok := s.Memberships[[2]string{created, group}]; return ok }},
		{"binding added", w.mutate(func(o *jumpcloudsim.Org) { o.BindUser(app, created) }),
			func(s authomizesim.Snapshot) bool { return hasPermission(s, created, app) }},
	}
	for _, c := range changes {
		took := w.waitFor(c.what, c.at, changeTarget, c.done)
		t.Logf("%s: in Authomize %s after the event", c.what, took.Round(100*time.Millisecond))
	}
	// The deletion asked for a full sync (its grants go only by sweep); the targeted ones
	// needed none: every full sync started so far is the watcher's, for the deletion.
	st, _ := w.state()
	if st.Applied < 5 {
		t.Errorf("the watcher applied %d changes, want at least 5: %+v", st.Applied, st.Recent)
	}

	// Removals: only a sweep removes them. Two at once cost one full sync.
	w.waitIdle()
	st, _ = w.state()
	before := len(st.Triggered)
	removedAt := w.mutate(func(o *jumpcloudsim.Org) {
		o.RemoveMember(group, member)
		o.UnbindUser(app, created)
	})
	took := w.waitFor("member and binding removed", removedAt, changeTarget+time.Minute, func(s authomizesim.Snapshot) bool {
		_, still := s.Memberships[[2]string{member, group}]
		return !still && !hasPermission(s, created, app)
	})
	t.Logf("member and binding removed: gone from Authomize %s after the event", took.Round(100*time.Millisecond))
	w.waitIdle()
	st, _ = w.state()
	if n := len(st.Triggered) - before; n != 1 {
		t.Errorf("the two removals started %d full syncs, want 1: %+v", n, st.Triggered)
	}
}

// waitIdle waits until the watcher owes no full sync and none runs.
func (w *watchEnv) waitIdle() {
	w.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		st, _ := w.state()
		d, err := w.c.DescribeWorkflow(context.Background(), temporalnames.SyncID(w.name), "")
		if err != nil {
			w.t.Fatal(err)
		}
		if !st.PendingSync && d.Status.String() != "Running" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	w.t.Fatal("the watcher's full sync did not end")
}

// At the watcher's defaults, as an operator runs it (a 30 s poll): an idle org costs at
// most 4 JumpCloud requests a minute, logins and other noise included, and a suspension
// still reaches Authomize within its target.
func TestE2EWatcherAtItsDefaults(t *testing.T) {
	w := newWatchEnv(t, 302, config.Watch{}, workflows.SyncInput{}, nil)
	w.waitPolled(1)
	w.sims.JC.AddNoiseEvents(200)
	w.sims.JC.ResetCounts()
	rest := time.Now()
	time.Sleep(70 * time.Second)
	n, elapsed := w.sims.JC.Counts().Total, time.Since(rest)
	budget := int64(4 * elapsed.Minutes())
	t.Logf("at rest: %d JumpCloud requests in %s (%.1f a minute)", n, elapsed.Round(time.Second), float64(n)/elapsed.Minutes())
	if n > budget || n == 0 {
		t.Errorf("at rest the watcher made %d JumpCloud requests in %s: want between 1 and %d", n, elapsed.Round(time.Second), budget)
	}
	var user string
	w.sims.JC.Update(func(o *jumpcloudsim.Org) { user = activeUsers(o, 1)[0] })
	at := w.mutate(func(o *jumpcloudsim.Org) { o.SuspendUser(user) })
	took := w.waitFor("user suspended", at, changeTarget, func(s authomizesim.Snapshot) bool { return userStatus(s, user) == "Suspended" })
	t.Logf("user suspended at the default poll interval: in Authomize %s after the event", took.Round(100*time.Millisecond))
	// The watcher counts the poll once its activity has returned, a moment after the write.
	st, _ := w.state()
	for deadline := time.Now().Add(30 * time.Second); st.EventsSeen == 0 && time.Now().Before(deadline); st, _ = w.state() {
		time.Sleep(200 * time.Millisecond)
	}
	if st.EventsSeen != 1 {
		t.Errorf("the watcher counted %d changes, want 1 (the 200 noise events left aside)", st.EventsSeen)
	}
}

// waitPolled waits until the watcher has polled n times.
func (w *watchEnv) waitPolled(n int64) workflows.WatchState {
	w.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, running := w.state()
		if st.Polls >= n || !running {
			return st
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("the watcher polled %d times, want %d: %+v", st.Polls, n, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A worker stopped while the watcher runs loses nothing: the changes made while no worker
// ran reach Authomize once one starts again, from the cursor Temporal kept.
func TestE2EWatcherWorkerStoppedLosesNothing(t *testing.T) {
	w := newWatchEnv(t, 303, config.Watch{PollInterval: "1s", SyncInterval: "10s"}, workflows.SyncInput{SweepMargin: time.Millisecond}, nil)
	w.waitPolled(2)
	w.workers.Stop()
	var a, b string
	w.sims.JC.Update(func(o *jumpcloudsim.Org) { ids := activeUsers(o, 2); a, b = ids[0], ids[1] })
	at := w.mutate(func(o *jumpcloudsim.Org) {
		o.SuspendUser(a)
		o.UpdateUser(b, func(u *jumpcloud.SystemUser) { u.Department = "Moved while no worker ran" })
	})
	time.Sleep(3 * time.Second)
	w.startWorker()
	w.waitFor("changes made while no worker ran", at, changeTarget, func(s authomizesim.Snapshot) bool {
		return userStatus(s, a) == "Suspended" && strings.Contains(string(s.Users[b]), "Moved while no worker ran")
	})
}

// The events route failing for a while (503 beyond the client's retries) falls back to a
// full sync, started by the watcher; once the route answers again, changes flow as before.
func TestE2EWatcherEventsRouteFailingFallsBackToAFullSync(t *testing.T) {
	w := newWatchEnv(t, 304, config.Watch{PollInterval: "1s", SyncInterval: "10s"}, workflows.SyncInput{SweepMargin: time.Millisecond}, testenv.FastRetries)
	w.waitPolled(1)
	w.sims.JC.SetInsightsFault(503, 8*time.Second)
	var member, group string
	w.sims.JC.Update(func(o *jumpcloudsim.Org) { group, member, _ = firstOf(o) })
	// A removal the watcher cannot see while the route fails: the full sync removes it.
	at := w.mutate(func(o *jumpcloudsim.Org) { o.RemoveMember(group, member) })
	took := w.waitFor("member removed while the events route failed", at, changeTarget, func(s authomizesim.Snapshot) bool {
		_, still := s.Memberships[[2]string{member, group}]
		return !still
	})
	t.Logf("removal while the events route failed: gone from Authomize %s later", took.Round(100*time.Millisecond))
	st, _ := w.state()
	if len(st.Triggered) == 0 || !strings.Contains(st.Triggered[0].Reason, "could not be read") {
		t.Fatalf("the watcher started no full sync for the failing route: %+v", st.Triggered)
	}
	var user string
	w.sims.JC.Update(func(o *jumpcloudsim.Org) { user = activeUsers(o, 1)[0] })
	at = w.mutate(func(o *jumpcloudsim.Org) { o.SuspendUser(user) })
	w.waitFor("user suspended after the route recovered", at, changeTarget, func(s authomizesim.Snapshot) bool { return userStatus(s, user) == "Suspended" })
}

// A credential without access to Directory Insights degrades the watcher once: it ends,
// degraded, after one request to the route, and `starter validate`'s check warns.
func TestE2EWatcherCredentialWithoutAccessDegradesOnce(t *testing.T) {
	tc := devServer(t)
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 305, Users: 20, Groups: 2, Admins: 1, Apps: 1}))
	sims.JC.SetInsightsForbidden(true)
	name := "watchdegraded"
	queue := "e2e-" + name
	integ := sims.Integration(name, false)
	integ.Watch = config.Watch{PollInterval: "1s"}
	testenv.StartWorker(t, tc.Client, queue, config.Integrations{name: integ}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := tc.Client.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:     temporalnames.ScheduleID(name),
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 24 * time.Hour}}},
		Action: &client.ScheduleWorkflowAction{ID: temporalnames.SyncID(name), Workflow: temporalnames.SyncWorkflow, TaskQueue: temporalnames.IntegrationQueue(queue, name), Args: []any{workflows.SyncInput{Integration: name}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Delete(context.Background()) })
	if _, err := routing.StartWatcher(ctx, tc.Client, queue, name); err != nil {
		t.Fatal(err)
	}
	var st workflows.WatchState
	if err := tc.Client.GetWorkflow(ctx, temporalnames.WatchID(name), "").Get(ctx, &st); err != nil {
		t.Fatalf("the watcher ended with an error: %v", err)
	}
	if st.Status != activities.WatchDegraded || !strings.Contains(st.Reason, "Directory Insights") {
		t.Fatalf("watcher ended %q (%s), want degraded", st.Status, st.Reason)
	}
	time.Sleep(3 * time.Second) // three polls' worth: none comes
	if n := sims.JC.Counts().Insights; n != 1 {
		t.Errorf("the events route was asked %d times, want once", n)
	}
	run, err := tc.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: temporalnames.ValidateID(name, time.Now()), TaskQueue: temporalnames.IntegrationQueue(queue, name)}, temporalnames.ValidateWorkflow, name)
	if err != nil {
		t.Fatal(err)
	}
	var v activities.ValidateResult
	if err := run.Get(ctx, &v); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(v.Warnings, "\n"), "may not read Directory Insights") {
		t.Errorf("validate gave no warning about Directory Insights: %q", v.Warnings)
	}
}

// The watcher follows the schedule: under a dry-run schedule it writes nothing; while the
// schedule is paused it reads nothing; once the schedule is deleted it ends.
func TestE2EWatcherFollowsTheSchedule(t *testing.T) {
	w := newWatchEnv(t, 306, config.Watch{PollInterval: "1s", SyncInterval: "10s"}, workflows.SyncInput{DryRun: true}, nil)
	var user string
	w.sims.JC.Update(func(o *jumpcloudsim.Org) { user = activeUsers(o, 1)[0] })
	w.mutate(func(o *jumpcloudsim.Org) { o.SuspendUser(user) })
	for {
		st := w.waitPolled(1)
		if len(st.Recent) > 0 {
			if !st.Recent[0].DryRun || st.Recent[0].ID != user {
				t.Fatalf("under a dry-run schedule the watcher applied %+v", st.Recent)
			}
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := userStatus(w.sims.AZ.Snapshot(testenv.AppID), user); got == "Suspended" {
		t.Fatal("a dry-run schedule's watcher wrote the suspension to Authomize")
	}

	h := w.c.ScheduleClient().GetHandle(context.Background(), temporalnames.ScheduleID(w.name))
	if err := h.Pause(context.Background(), client.SchedulePauseOptions{Note: "test"}); err != nil {
		t.Fatal(err)
	}
	for st, _ := w.state(); st.Status != activities.WatchPaused; st, _ = w.state() {
		time.Sleep(100 * time.Millisecond)
	}
	w.sims.JC.ResetCounts()
	time.Sleep(3 * time.Second)
	if n := w.sims.JC.Counts().Insights; n != 0 {
		t.Errorf("a paused schedule's watcher read the events %d times", n)
	}

	if err := h.Delete(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var st workflows.WatchState
	if err := w.c.GetWorkflow(ctx, temporalnames.WatchID(w.name), "").Get(ctx, &st); err != nil {
		t.Fatal(err)
	}
	if st.Status != activities.WatchStopped {
		t.Errorf("after the schedule was deleted the watcher ended %q, want stopped", st.Status)
	}
}

// The watcher continues as new (on the current build) with its cursor and totals: changes
// made across the hand-over are applied once.
func TestE2EWatcherContinuesAsNewWithItsCursor(t *testing.T) {
	w := newWatchEnv(t, 307, config.Watch{PollInterval: "1s", SyncInterval: "10s"}, workflows.SyncInput{SweepMargin: time.Millisecond}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Replace the watcher with one that continues as new every 3 polls.
	if err := w.c.TerminateWorkflow(ctx, temporalnames.WatchID(w.name), "", "test: shorter runs"); err != nil {
		t.Fatal(err)
	}
	first, err := w.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: temporalnames.WatchID(w.name), TaskQueue: temporalnames.IntegrationQueue(w.queue, w.name)},
		temporalnames.WatchWorkflow, workflows.WatchInput{Integration: w.name, PollsPerRun: 3})
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	w.sims.JC.Update(func(o *jumpcloudsim.Org) { users = activeUsers(o, 4) })
	for _, u := range users {
		at := w.mutate(func(o *jumpcloudsim.Org) { o.SuspendUser(u) })
		w.waitFor("user suspended", at, changeTarget, func(s authomizesim.Snapshot) bool { return userStatus(s, u) == "Suspended" })
		time.Sleep(2 * time.Second)
	}
	d, err := w.c.DescribeWorkflow(ctx, temporalnames.WatchID(w.name), "")
	if err != nil {
		t.Fatal(err)
	}
	if d.WorkflowExecution.RunID == first.GetRunID() {
		t.Fatal("the watcher did not continue as new")
	}
	st, _ := w.state()
	if st.Applied != int64(len(users)) {
		t.Errorf("across its runs the watcher applied %d changes, want %d (each once): %+v", st.Applied, len(users), st.Recent)
	}
}

// An event ingested late, after the watcher's cursor has passed its timestamp, is still
// applied: each poll reads the overlap again.
func TestE2EWatcherAppliesAnEventIngestedLate(t *testing.T) {
	w := newWatchEnv(t, 308, config.Watch{PollInterval: "1s", SyncInterval: "10s"}, workflows.SyncInput{SweepMargin: time.Millisecond}, nil)
	var user string
	w.sims.JC.Update(func(o *jumpcloudsim.Org) { user = activeUsers(o, 1)[0] })
	w.sims.JC.HoldInsightsEvents(1)
	at := w.mutate(func(o *jumpcloudsim.Org) { o.SuspendUser(user) })
	// Polls read past the change's timestamp while its event is held back.
	for st := w.waitPolled(1); !st.ReadUntil.After(at.Add(insightsLag + 2*time.Second)); st, _ = w.state() {
		time.Sleep(200 * time.Millisecond)
	}
	if userStatus(w.sims.AZ.Snapshot(testenv.AppID), user) == "Suspended" {
		t.Fatal("the suspension reached Authomize before its event was ingested")
	}
	w.sims.JC.ReleaseInsightsEvents()
	took := w.waitFor("user suspended, its event ingested late", at, changeTarget, func(s authomizesim.Snapshot) bool { return userStatus(s, user) == "Suspended" })
	t.Logf("late event: in Authomize %s after the change", took.Round(100*time.Millisecond))
}
