package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"jcsync/internal/temporalnames"
	"jcsync/workflows"
)

// watcherStatus is what `starter status` says of an integration's change watcher.
type watcherStatus struct {
	WorkflowID string                `json:"workflowId"`
	Running    bool                  `json:"running"`
	State      *workflows.WatchState `json:"state,omitempty"`
	Error      string                `json:"error,omitempty"`
}

// describeWatcher reads the change watcher's state: by its query while it runs, from its
// result once it ended. nil when the integration never had one.
func describeWatcher(ctx context.Context, tc client.Client, integration string) (*watcherStatus, error) {
	id := temporalnames.WatchID(integration)
	d, err := tc.DescribeWorkflow(ctx, id, "")
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("describe the change watcher %s: %w", id, err)
	}
	ws := &watcherStatus{WorkflowID: id, Running: d.RawResponse.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}
	var st workflows.WatchState
	if ws.Running {
		v, err := tc.QueryWorkflow(ctx, id, "", temporalnames.WatchQuery)
		if err == nil {
			err = v.Get(&st)
		}
		if err != nil {
			ws.Error = "its state could not be read: " + err.Error()
			return ws, nil
		}
	} else if err := tc.GetWorkflow(ctx, id, "").Get(ctx, &st); err != nil {
		ws.Error = failureMessage(err)
		return ws, nil
	}
	ws.State = &st
	return ws, nil
}

// printWatcher writes the watcher's lines of `starter status`.
func printWatcher(w io.Writer, integration string, ws *watcherStatus) {
	if ws == nil {
		fmt.Fprintf(w, "change watcher: none (a worker holding %s starts it once the integration has a schedule)\n", integration)
		return
	}
	run := "ended"
	if ws.Running {
		run = "running"
	}
	if ws.State == nil {
		fmt.Fprintf(w, "change watcher %s: %s; %s\n", ws.WorkflowID, run, ws.Error)
		return
	}
	st := ws.State
	fmt.Fprintf(w, "change watcher %s: %s, %s", ws.WorkflowID, run, st.Status)
	if st.Reason != "" {
		fmt.Fprintf(w, " (%s)", st.Reason)
	}
	fmt.Fprintln(w)
	if !st.ReadUntil.IsZero() {
		fmt.Fprintf(w, "  cursor: events read up to %s (lag %s); %d polls, %d changes read, %d applied\n",
			st.ReadUntil.Local().Format("2006-01-02 15:04:05"), time.Since(st.ReadUntil).Round(time.Second), st.Polls, st.EventsSeen, st.Applied)
	}
	if st.PendingSync {
		fmt.Fprintf(w, "  a full sync is owed: %s\n", st.PendingReason)
	}
	for _, c := range st.Recent {
		if c.DoneAt.IsZero() {
			fmt.Fprintf(w, "  %s %s (%s): left to a full sync\n", c.Kind, c.ID, c.EventAt.Local().Format("15:04:05"))
		} else {
			fmt.Fprintf(w, "  %s %s (%s): in Authomize %s later\n", c.Kind, c.ID, c.EventAt.Local().Format("15:04:05"), c.DoneAt.Sub(c.EventAt).Round(100*time.Millisecond))
		}
	}
	for _, s := range st.Triggered {
		fmt.Fprintf(w, "  started full sync %s at %s: %s\n", s.RunID, s.StartedAt.Local().Format("15:04:05"), s.Reason)
	}
}
