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
	every := activity.GetInfo(ctx).HeartbeatTimeout / 3
	if every <= 0 {
		return func() {}
	}
	return onTimer(ctx, min(every, time.Second), func() { activity.RecordHeartbeat(ctx) })
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
