package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
)

// stayAlive heartbeats on a timer until the returned func is called, for the short
// activities (validate, baseline, sweep) that have no checkpoint to report. Without it a
// worker that dies during one is noticed only when the start-to-close timeout (minutes)
// runs out; with it, within the heartbeat timeout the workflow gives them. An activity
// scheduled without a heartbeat timeout (older runs) gets no timer.
func stayAlive(ctx context.Context) func() {
	every := beatEvery(ctx)
	if every <= 0 {
		return func() {}
	}
	return onTimer(ctx, every, func() { activity.RecordHeartbeat(ctx) })
}

// beatEvery is how often an activity records a heartbeat: three times per heartbeat timeout,
// and at most a second apart (the worker's default cap on the SDK's heartbeat throttling), so
// live progress and a resumed attempt are never more than that behind. Zero without a
// heartbeat timeout.
func beatEvery(ctx context.Context) time.Duration {
	return min(activity.GetInfo(ctx).HeartbeatTimeout/3, time.Second)
}

// onTimer calls f every interval until ctx ends or the returned func is called (which may be
// called more than once).
func onTimer(ctx context.Context, every time.Duration, f func()) func() {
	done := make(chan struct{})
	var once sync.Once
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				f()
			}
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}
