package activities

import (
	"context"
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
	every = min(every, time.Second)
	done := make(chan struct{})
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
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}
