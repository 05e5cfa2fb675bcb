package routing

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"jcsync/internal/temporalnames"
)

// Repointed is a schedule whose action moved from the base task queue to its integration's.
type Repointed struct {
	Schedule, From, To string
}

// RepointSchedules moves the schedules of the given integrations whose action still starts
// its syncs on the base task queue (as schedules created before routing do) onto the
// integration's queue. Those runs would be handed over anyway (workflows.HandOverSync); this
// saves the hop and makes `schedule describe` and the Web UI name the queue that runs them.
// A schedule that is missing, or names another queue, is left as it is. Every worker that
// holds an integration does this at start; the second finds nothing to do.
func RepointSchedules(ctx context.Context, c client.Client, base string, integrations []string) ([]Repointed, error) {
	var done []Repointed
	var errs []error
	for _, name := range integrations {
		id, to := temporalnames.ScheduleID(name), temporalnames.IntegrationQueue(base, name)
		moved := false
		err := c.ScheduleClient().GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
			DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				s := in.Description.Schedule
				a, ok := s.Action.(*client.ScheduleWorkflowAction)
				if !ok || a.TaskQueue != base {
					return nil, temporal.ErrSkipScheduleUpdate
				}
				a.TaskQueue, moved = to, true
				return &client.ScheduleUpdate{Schedule: &s}, nil
			},
		})
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
		case err != nil:
			errs = append(errs, fmt.Errorf("move schedule %s to task queue %s: %w", id, to, err))
		case moved:
			done = append(done, Repointed{Schedule: id, From: base, To: to})
		}
	}
	return done, errors.Join(errs...)
}
