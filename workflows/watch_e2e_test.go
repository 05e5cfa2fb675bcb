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
		suspended, deleted = o.Users[1].ID, o.Users[2].ID
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
