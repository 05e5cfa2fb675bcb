package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// ErrTypeNoTemporalClient is the error type of PauseSchedule on a worker built without a
// Temporal client (Activities.Temporal): a setup error of that worker, which no retry mends.
const ErrTypeNoTemporalClient = "NoTemporalClient"

// PauseScheduleInput names the schedule to pause and the note the pause carries.
type PauseScheduleInput struct {
	ScheduleID string `json:"scheduleId"`
	// Note is what the schedule shows as the reason it is paused (Web UI, `temporal schedule
	// describe`, `starter schedule show`): the run that failed and why.
	Note string `json:"note"`
}

// PauseSchedule pauses a schedule, so that its next runs wait for an operator instead of
// failing the same way again. Pausing a paused schedule only replaces its note, so a retry
// is harmless. A schedule that no longer exists is reported, not retried: there is nothing
// left to pause.
func (a *Activities) PauseSchedule(ctx context.Context, in PauseScheduleInput) error {
	if a.Temporal == nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"cannot pause schedule %s: this worker was started without a Temporal client (activities.Activities.Temporal)", in.ScheduleID),
			ErrTypeNoTemporalClient, nil)
	}
	err := a.Temporal.ScheduleClient().GetHandle(ctx, in.ScheduleID).Pause(ctx, client.SchedulePauseOptions{Note: in.Note})
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("pause schedule %s: it does not exist", in.ScheduleID), ErrTypeConfig, err)
	case err != nil:
		return fmt.Errorf("pause schedule %s: %w", in.ScheduleID, err)
	}
	a.logger(ctx).WithField("schedule", in.ScheduleID).Warn("schedule paused: " + in.Note)
	return nil
}
