package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"jcsync/internal/config"
	"jcsync/internal/temporalnames"
	"jcsync/workflows"
)

// watched is an integration whose change watcher polls every second.
func watched(in config.Integration) config.Integration {
	in.Watch = config.Watch{PollInterval: "1s"}
	return in
}

// `schedule create` starts the change watcher; `status` shows it with its cursor while it
// runs, and as stopped once the schedule is deleted.
func TestStatusShowsTheWatcherTheScheduleStarted(t *testing.T) {
	need(t)
	if code, out, errs := starter(t, "schedule", "create", "--integration", "watched", "--every", "24h"); code != 0 {
		t.Fatalf("schedule create exited %d\n%s\n%s", code, out, errs)
	}
	t.Cleanup(func() { starter(t, "schedule", "delete", "--integration", "watched") })
	if code, out, errs := starter(t, "sync", "--integration", "watched", "--wait"); code != 0 {
		t.Fatalf("sync exited %d\n%s\n%s", code, out, errs)
	}
	waitWatcher(t, func(st workflows.WatchState) bool { return st.Polls > 0 && st.Status == "watching" })
	code, out, errs := starter(t, "status", "--integration", "watched")
	if code != 0 {
		t.Fatalf("status exited %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"change watcher jcsync-watch/watched: running, watching", "cursor: events read up to"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if code, out, errs := starter(t, "schedule", "delete", "--integration", "watched"); code != 0 {
		t.Fatalf("schedule delete exited %d\n%s\n%s", code, out, errs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := env.client.GetWorkflow(ctx, temporalnames.WatchID("watched"), "").Get(ctx, nil); err != nil {
		t.Fatalf("the watcher did not end with its schedule: %v", err)
	}
	_, out, _ = starter(t, "status", "--integration", "watched")
	if !strings.Contains(out, "change watcher jcsync-watch/watched: ended, stopped") {
		t.Errorf("status after the schedule's deletion:\n%s", out)
	}
}

// waitWatcher waits until the watcher's state meets cond.
func waitWatcher(t *testing.T, cond func(workflows.WatchState) bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		v, err := env.client.QueryWorkflow(ctx, temporalnames.WatchID("watched"), "", temporalnames.WatchQuery)
		cancel()
		var st workflows.WatchState
		if err == nil && v.Get(&st) == nil && cond(st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the watcher never got there: %+v (%v)", st, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
