package routing

import (
	"context"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"jcsync/internal/temporalnames"
)

// SeenWithin is how recently a worker must have polled a queue to count as holding it. An
// idle worker's poll waits up to about a minute on the server before it polls again, so a
// shorter window would report live workers as gone; Temporal itself forgets a poller after
// five minutes. The workflow-task pollers are the ones asked about: they keep polling while
// every activity slot of the worker is busy, when its activity pollers pause.
const SeenWithin = 2 * time.Minute

// Poller is a worker seen polling a task queue.
type Poller struct {
	Identity string    `json:"identity"`
	LastSeen time.Time `json:"lastSeen"`
}

// IntegrationHeld reports whether a worker that holds integration polled its queue (under
// base) within SeenWithin, and which workers did. A sync started on a queue nobody polls
// waits there until a worker holding the integration starts.
func IntegrationHeld(ctx context.Context, c client.Client, base, integration string) (bool, []Poller, error) {
	ps, err := Pollers(ctx, c, temporalnames.IntegrationQueue(base, integration), time.Now())
	if err != nil {
		return false, nil, err
	}
	return len(ps) > 0, ps, nil
}

// Pollers lists the workers that polled queue's workflow tasks within SeenWithin of now.
func Pollers(ctx context.Context, c client.Client, queue string, now time.Time) ([]Poller, error) {
	resp, err := c.DescribeTaskQueue(ctx, queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return nil, fmt.Errorf("describe task queue %s: %w", queue, err)
	}
	var ps []Poller
	for _, p := range resp.GetPollers() {
		seen := p.GetLastAccessTime().AsTime()
		if now.Sub(seen) <= SeenWithin {
			ps = append(ps, Poller{Identity: p.GetIdentity(), LastSeen: seen})
		}
	}
	return ps, nil
}

// Waiting is what a sync that waits for a worker says: to the operator (starter sync and
// status) and in the Web UI (the start's static details).
func Waiting(integration, queue string) string {
	return fmt.Sprintf("waiting for a worker that holds integration %s on task queue %s: no worker polled it in the last %s; the sync runs when a worker with %s in its configuration starts",
		integration, queue, SeenWithin, integration)
}
