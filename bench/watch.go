package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"

	"jcsync/activities"
	"jcsync/internal/sim/control"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/temporalnames"
	"jcsync/routing"
	"jcsync/workflows"
)

// The watch scenario: an org with a schedule and its change watcher at the default poll
// interval, as an operator runs it. It measures the idle JumpCloud request rate, then makes
// each kind of change through the simulator's admin endpoint and times its way to Authomize
// from the event's timestamp (the simulator serves events after its 5 s ingestion lag).
// Targeted changes are timed to Authomize accepting their update (the watcher's record);
// removals to the end of the full sync the watcher starts for them. The watcher's sync
// interval is set to watchSyncInterval so that the removals do not wait 10 minutes each.
const (
	watchRest         = 2 * time.Minute
	watchSyncInterval = "1m"
	watchSamples      = 3 // changes of each targeted kind
)

// watchKinds are the targeted kinds timed; watchRemovals need a full sync.
var (
	watchKinds    = []string{jumpcloudsim.ChangeSuspendUser, jumpcloudsim.ChangeDeleteUser, jumpcloudsim.ChangeCreateUser, jumpcloudsim.ChangeAddMember, jumpcloudsim.ChangeBindUser}
	watchRemovals = []string{jumpcloudsim.ChangeRemoveMember, jumpcloudsim.ChangeUnbindUser}
)

// watchRow is the figures of one kind of change.
type watchRow struct {
	Kind     string          `json:"kind"`
	Latency  []time.Duration `json:"latency"`
	Requests []int64         `json:"requests"` // JumpCloud requests the change cost, polls of the events left out
}

type watchReport struct {
	Org          scenario   `json:"org"`
	Integrations int        `json:"integrations"`
	RestPerMin   float64    `json:"restRequestsPerMinute"` // per integration
	Rows         []watchRow `json:"rows"`
}

// watchTarget is one integration of the stack: its admin endpoint and name.
type watchTarget struct {
	name, ctl string
}

// runWatch runs the scenario on the large org, one integration.
func runWatch(ctx context.Context, o options) (report, error) {
	sc := large
	sc.Name = "watch"
	fmt.Fprintf(o.logw, "bench: running watch (%d users, %g req/s, %s latency)\n", sc.Users, sc.RPS, sc.Latency)
	st, err := startStack(ctx, o.bin, sc, o.logw, "JCSYNC_WATCH_SYNC_INTERVAL="+watchSyncInterval)
	if err != nil {
		return nil, err
	}
	defer st.close()
	return measureWatch(ctx, o.logw, st.client, st.queue, sc, []watchTarget{{name: benchIntegration, ctl: st.ctl}})
}

// runWatchMany runs the scenario on o.orgs integrations of o.orgUsers users each, every
// org its own simulator, all held by one worker: the changes are made in every org at once.
func runWatchMany(ctx context.Context, o options) (report, error) {
	sc := manyOrg(o.orgUsers)
	sc.Name, sc.Latency, sc.RPS, sc.Unknown = "watch-many", large.Latency, large.RPS, false
	fmt.Fprintf(o.logw, "bench: running watch-many (%d orgs of %d users on one worker)\n", o.orgs, sc.Users)
	st, err := startOrgStackWith(ctx, o.bin, sc, o.orgs, 1, map[string]any{"sync_interval": watchSyncInterval}, o.logw)
	if err != nil {
		return nil, err
	}
	defer st.close()
	var ts []watchTarget
	for i, name := range st.names {
		ts = append(ts, watchTarget{name: name, ctl: st.ctls[i]})
	}
	return measureWatch(ctx, o.logw, st.client, st.queue, sc, ts)
}

// measureWatch syncs every integration once, gives each a schedule and its watcher, and
// measures.
func measureWatch(ctx context.Context, logw io.Writer, c client.Client, queue string, sc scenario, ts []watchTarget) (report, error) {
	rep := &watchReport{Org: sc, Integrations: len(ts)}
	err := forEach(ts, func(t watchTarget) error {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: temporalnames.SyncID(t.name), TaskQueue: temporalnames.IntegrationQueue(queue, t.name)},
			temporalnames.SyncWorkflow, workflows.SyncInput{Integration: t.name})
		if err != nil {
			return err
		}
		if err := run.Get(ctx, nil); err != nil {
			return fmt.Errorf("the first sync of %s: %w", t.name, err)
		}
		if _, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID:   temporalnames.ScheduleID(t.name),
			Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 6 * time.Hour}}},
			Action: &client.ScheduleWorkflowAction{ID: temporalnames.SyncID(t.name), Workflow: temporalnames.SyncWorkflow,
				TaskQueue: temporalnames.IntegrationQueue(queue, t.name), Args: []any{workflows.SyncInput{Integration: t.name, PauseOnFailure: true}}},
		}); err != nil {
			return fmt.Errorf("schedule of %s: %w", t.name, err)
		}
		_, err = routing.StartWatcher(ctx, c, queue, t.name)
		return err
	})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logw, "bench: watch: first syncs done, watchers started; %s at rest\n", watchRest)
	time.Sleep(35 * time.Second) // every watcher past its first poll
	if err := forEach(ts, func(t watchTarget) error { return postReset(t.ctl) }); err != nil {
		return nil, err
	}
	time.Sleep(watchRest)
	var rest int64
	for _, t := range ts {
		var n control.Counts
		if err := getJSON(t.ctl+"/counts", &n); err != nil {
			return nil, err
		}
		rest += n.JumpCloudTotal
	}
	rep.RestPerMin = float64(rest) / float64(len(ts)) / watchRest.Minutes()

	kinds := append(slices.Clone(watchKinds), watchRemovals...)
	rows := map[string]*watchRow{}
	var mu sync.Mutex
	for _, kind := range kinds {
		samples := watchSamples
		if slices.Contains(watchRemovals, kind) {
			samples = 1
		}
		for range samples {
			fmt.Fprintf(logw, "bench: watch: %s\n", kind)
			err := forEach(ts, func(t watchTarget) error {
				lat, req, err := timeChange(ctx, c, t, kind)
				if err != nil {
					return fmt.Errorf("%s in %s: %w", kind, t.name, err)
				}
				mu.Lock()
				defer mu.Unlock()
				r := rows[kind]
				if r == nil {
					r = &watchRow{Kind: kind}
					rows[kind] = r
				}
				r.Latency, r.Requests = append(r.Latency, lat), append(r.Requests, req)
				return nil
			})
			if err != nil {
				return rep, err
			}
		}
	}
	for _, k := range kinds {
		rep.Rows = append(rep.Rows, *rows[k])
	}
	return rep, nil
}

// timeChange makes one change of kind in t's org and waits until it is in Authomize: its
// latency from the event's timestamp, and the JumpCloud requests it cost.
func timeChange(ctx context.Context, c client.Client, t watchTarget, kind string) (time.Duration, int64, error) {
	before, err := watchState(ctx, c, t.name)
	if err != nil {
		return 0, 0, err
	}
	if err := postReset(t.ctl); err != nil {
		return 0, 0, err
	}
	var ch jumpcloudsim.Change
	if err := post(t.ctl+"/change?kind="+kind, http.StatusOK, &ch); err != nil {
		return 0, 0, err
	}
	deadline := time.Now().Add(20 * time.Minute)
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		st, err := watchState(ctx, c, t.name)
		if err != nil {
			return 0, 0, err
		}
		done, ok, err := changeDone(ctx, c, t.name, kind, ch, before, st)
		if err != nil {
			return 0, 0, err
		}
		if !ok {
			continue
		}
		var n control.Counts
		if err := getJSON(t.ctl+"/counts", &n); err != nil {
			return 0, 0, err
		}
		req := n.JumpCloudTotal
		for ep, k := range n.JumpCloudByEndpoint {
			if strings.Contains(ep, "/insights/") {
				req -= k
			}
		}
		return done.Sub(ch.At), req, nil
	}
	return 0, 0, errors.New("not in Authomize after 20 minutes")
}

// changeDone is when change ch reached Authomize: the watcher's record of its targeted
// update, or the end of a full sync the watcher started after it.
func changeDone(ctx context.Context, c client.Client, name, kind string, ch jumpcloudsim.Change, before, st workflows.WatchState) (time.Time, bool, error) {
	if slices.Contains(watchRemovals, kind) {
		if len(st.Triggered) == len(before.Triggered) && (len(st.Triggered) == 0 || st.Triggered[len(st.Triggered)-1].RunID == lastRun(before)) {
			return time.Time{}, false, nil
		}
		run := st.Triggered[len(st.Triggered)-1]
		d, err := c.DescribeWorkflow(ctx, temporalnames.SyncID(name), run.RunID)
		if err != nil {
			return time.Time{}, false, err
		}
		closed := d.RawResponse.GetWorkflowExecutionInfo().GetCloseTime()
		if closed == nil {
			return time.Time{}, false, nil
		}
		return closed.AsTime(), true, nil
	}
	want := ch.ID
	if kind == jumpcloudsim.ChangeAddMember || kind == jumpcloudsim.ChangeBindUser {
		want = ch.Target
	}
	for _, a := range st.Recent {
		if a.ID == want && !a.DoneAt.IsZero() && !a.EventAt.Before(ch.At.Add(-time.Millisecond)) && a.Kind != activities.ChangeRemoval {
			return a.DoneAt, true, nil
		}
	}
	return time.Time{}, false, nil
}

func lastRun(st workflows.WatchState) string {
	if len(st.Triggered) == 0 {
		return ""
	}
	return st.Triggered[len(st.Triggered)-1].RunID
}

// watchState queries an integration's watcher.
func watchState(ctx context.Context, c client.Client, name string) (workflows.WatchState, error) {
	var st workflows.WatchState
	v, err := c.QueryWorkflow(ctx, temporalnames.WatchID(name), "", temporalnames.WatchQuery)
	if err != nil {
		return st, fmt.Errorf("query the watcher of %s: %w", name, err)
	}
	return st, v.Get(&st)
}

// forEach runs fn for every target at once and joins the errors.
func forEach(ts []watchTarget, fn func(watchTarget) error) error {
	errs := make([]error, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(t)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (r *watchReport) print(w io.Writer) {
	fmt.Fprintf(w, "watch: %d integration(s) of %d users on one worker, %s latency, %g req/s; poll 30 s (default), sync interval %s\n",
		r.Integrations, r.Org.Users, r.Org.Latency, r.Org.RPS, watchSyncInterval)
	fmt.Fprintf(w, "at rest: %.1f JumpCloud requests a minute per integration\n", r.RestPerMin)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "change\tsamples\tmedian\tmax\tJumpCloud requests (median, max)")
	for _, row := range r.Rows {
		lat := slices.Clone(row.Latency)
		slices.Sort(lat)
		req := slices.Clone(row.Requests)
		slices.Sort(req)
		if len(lat) == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d, %d\n", row.Kind, len(lat), lat[len(lat)/2].Round(100*time.Millisecond), lat[len(lat)-1].Round(100*time.Millisecond), req[len(req)/2], req[len(req)-1])
	}
	tw.Flush()
	fmt.Fprintln(w)
}
