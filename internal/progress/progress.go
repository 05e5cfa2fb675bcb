// Package progress shows a sync's live progress on the operator's side: the workflow's
// progress query says which stages run, and the heartbeat checkpoints of the running stages
// (from DescribeWorkflowExecution) carry their live counts. It also prints a finished sync's
// summary, as text or JSON.
package progress

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"jcsync/activities"
	"jcsync/internal/temporalnames"
	"jcsync/workflows"
)

// Stage is one stage as the operator sees it.
type Stage struct {
	Stage  string `json:"stage"`
	Status string `json:"status"`
	// Counts are the finished stage's result or, while it runs, its last heartbeat.
	Counts activities.StageCounts `json:"counts"`
	Live   bool                   `json:"live,omitempty"`
	// Total is the size of the stage's list when it started, from its checkpoint (0: unknown).
	Total   int   `json:"total,omitempty"`
	Attempt int32 `json:"attempt,omitempty"`
	// LastError is the failure of the previous attempt of a running stage, or the error
	// of a failed stage.
	LastError string `json:"lastError,omitempty"`
}

// View is a snapshot of one sync.
type View struct {
	WorkflowID  string    `json:"workflowId"`
	RunID       string    `json:"runId"`
	Status      string    `json:"status"` // Running, Completed, Failed, ...
	Integration string    `json:"integration,omitempty"`
	Phase       string    `json:"phase,omitempty"`
	DryRun      bool      `json:"dryRun,omitempty"`
	Started     time.Time `json:"started"`
	Closed      time.Time `json:"closed,omitempty"`
	Stages      []Stage   `json:"stages,omitempty"`
	// QueryError says why the progress query did not answer (e.g. no worker is running).
	QueryError string `json:"queryError,omitempty"`
}

// Running reports whether the sync has not finished.
func (v View) Running() bool { return v.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING.String() }

// Totals adds up the read and uploaded counts over every stage.
func (v View) Totals() (read, uploaded int) {
	for _, s := range v.Stages {
		for _, n := range s.Counts.Read {
			read += n
		}
		for _, n := range s.Counts.Uploaded {
			uploaded += n
		}
	}
	return read, uploaded
}

// Done counts finished stages.
func (v View) Done() int {
	n := 0
	for _, s := range v.Stages {
		if s.Status == workflows.StatusDone {
			n++
		}
	}
	return n
}

// queryTimeout bounds the progress query: without a worker a query never answers, and a
// status command must still show what the server knows.
const queryTimeout = 5 * time.Second

// Source reads syncs from Temporal.
type Source struct {
	Temporal client.Client
	// DataConverter decodes the stages' heartbeat checkpoints. It must be the converter the
	// client was built with (the SDK's client does not expose it), or checkpoints of a
	// process with payload encryption would be unreadable. Nil means the default.
	DataConverter converter.DataConverter
	// NoQuery skips the progress query, for a sync known to wait for a worker: no worker
	// would answer it, and Fetch would wait out queryTimeout for nothing.
	NoQuery bool
}

// Fetch snapshots one run of workflowID ("" for the latest).
func (src Source) Fetch(ctx context.Context, workflowID, runID string) (View, error) {
	c := src.Temporal
	d, err := c.DescribeWorkflow(ctx, workflowID, runID)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return View{}, fmt.Errorf("no sync with workflow id %s: %w", workflowID, err)
		}
		return View{}, fmt.Errorf("describe workflow %s: %w", workflowID, err)
	}
	// The raw response carries the pending activities' heartbeat details.
	desc := d.RawResponse
	info := desc.GetWorkflowExecutionInfo()
	v := View{
		WorkflowID: workflowID,
		RunID:      info.GetExecution().GetRunId(),
		Status:     info.GetStatus().String(),
		Started:    info.GetStartTime().AsTime(),
	}
	if info.GetCloseTime() != nil {
		v.Closed = info.GetCloseTime().AsTime()
	}
	if !src.NoQuery {
		src.query(ctx, &v)
	}
	dc := src.DataConverter
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	overlayHeartbeats(&v, desc.GetPendingActivities(), dc)
	return v, nil
}

// query puts the sync's own account of its progress into v.
func (src Source) query(ctx context.Context, v *View) {
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	var p workflows.Progress
	resp, err := src.Temporal.QueryWorkflow(qctx, v.WorkflowID, v.RunID, temporalnames.ProgressQuery)
	if err == nil {
		err = resp.Get(&p)
	}
	if err != nil {
		v.QueryError = queryHint(err)
		return
	}
	v.Integration, v.Phase, v.DryRun = p.Integration, p.Phase, p.DryRun
	for _, sp := range p.Stages {
		s := Stage{Stage: sp.Stage, Status: sp.Status, LastError: sp.Error}
		if sp.Result != nil {
			s.Counts = sp.Result.Counts
		}
		v.Stages = append(v.Stages, s)
	}
}

func queryHint(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "the progress query did not answer: is a worker running on the task queue?"
	}
	return "progress query: " + err.Error()
}

// overlayHeartbeats puts the live counts of running stages into v: each stage of a pending
// Phase activity (phase.go), from its last checkpoint decoded with dc.
func overlayHeartbeats(v *View, pending []*pendingActivity, dc converter.DataConverter) {
	for _, pa := range pending {
		if pa.GetActivityType().GetName() == activities.ActivityPhase {
			overlayPhase(v, pa, dc)
		}
	}
}

func findStage(v *View, stage string) *Stage {
	for i := range v.Stages {
		if v.Stages[i].Stage == stage {
			return &v.Stages[i]
		}
	}
	v.Stages = append(v.Stages, Stage{Stage: stage})
	return &v.Stages[len(v.Stages)-1]
}

// Watch calls show with a fresh View every interval until the sync closes or ctx ends, and
// returns the last View.
func (src Source) Watch(ctx context.Context, workflowID, runID string, every time.Duration, show func(View)) (View, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		v, err := src.Fetch(ctx, workflowID, runID)
		if err != nil {
			return v, err
		}
		show(v)
		if !v.Running() {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-t.C:
		}
	}
}
