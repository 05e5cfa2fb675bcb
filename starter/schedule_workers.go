package main

import (
	"context"
	"fmt"
	"io"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// Which workers hold an integration. A worker polls the task queue of each integration it
// holds (temporalnames.IntegrationQueue), and Temporal remembers a queue's pollers for a few
// minutes after their last poll, so the pollers of that queue are the workers that hold the
// integration now, or did until moments ago.

// pollingWorkers is how many workers (by identity) poll queue for workflow or activity tasks.
func pollingWorkers(ctx context.Context, tc client.Client, queue string) (int, error) {
	ids := map[string]bool{}
	for _, kind := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
		resp, err := tc.DescribeTaskQueue(ctx, queue, kind)
		if err != nil {
			return 0, fmt.Errorf("ask Temporal which workers poll task queue %s: %w", queue, err)
		}
		for _, p := range resp.GetPollers() {
			ids[p.GetIdentity()] = true
		}
	}
	return len(ids), nil
}

// checkWorkers refuses a schedule whose syncs no worker would run: queue is the integration's
// task queue, base the workers' base queue. When workers poll base but none polls queue, the
// name is most likely wrong (or the workers' configuration lacks it); when none polls either,
// no worker runs at all, which is how a fresh install starts. Either way the schedule is set
// only with allow, and then the warning goes to warn: its runs wait in the queue until a
// worker that holds the integration starts.
func checkWorkers(ctx context.Context, tc client.Client, base, queue, integration string, allow bool, warn io.Writer) error {
	held, err := pollingWorkers(ctx, tc, queue)
	if err != nil || held > 0 {
		return err
	}
	running, err := pollingWorkers(ctx, tc, base)
	if err != nil {
		return err
	}
	var problem string
	if running > 0 {
		problem = fmt.Sprintf("no running worker holds integration %q: %d worker(s) poll task queue %s, none polls %s. Check the name against the workers' integrations file", integration, running, base, queue)
	} else {
		problem = fmt.Sprintf("no worker is running: none polls task queue %s or %s", base, queue)
	}
	if !allow {
		return fmt.Errorf("%s. To set the schedule before its workers run (a fresh install), give --allow-no-worker: its runs then wait until a worker holding %s starts", problem, integration)
	}
	fmt.Fprintf(warn, "warning: %s; the schedule's runs wait in the queue until a worker holding %s starts\n", problem, integration)
	return nil
}
