package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"jcsync/internal/progress"
	"jcsync/internal/temporalnames"
	"jcsync/routing"
	"jcsync/workflows"
)

const statusExamples = `  starter status --integration acme
  starter status --integration acme -o json
  starter status --integration acme --ui-url https://temporal.example.com
`

type workflowExecutionInfo = workflowpb.WorkflowExecutionInfo

// listSyncs lists an integration's syncs that meet the conditions and, by search attribute,
// newest first.
func listSyncs(ctx context.Context, tc client.Client, integration string, limit int, and ...string) ([]*workflowExecutionInfo, error) {
	q := temporalnames.IntegrationQuery(integration, append([]string{temporalnames.IsSync}, and...)...)
	resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, PageSize: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("list syncs of %s: %w", integration, err)
	}
	return resp.GetExecutions(), nil
}

// latestSync is the running sync if any, else the most recently started one.
func latestSync(ctx context.Context, tc client.Client, integration string) (*workflowExecutionInfo, error) {
	if running, err := runningSync(ctx, tc, integration); err != nil || running != nil {
		return running, err
	}
	list, err := listSyncs(ctx, tc, integration, 20)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	latest := list[0]
	for _, e := range list[1:] {
		if e.GetStartTime().AsTime().After(latest.GetStartTime().AsTime()) {
			latest = e
		}
	}
	return latest, nil
}

type statusJSON struct {
	progress.View
	URL string `json:"url"`
	// Result is the summary as `sync --wait -o json` prints it (a dry run's counts under
	// wouldUpload, durations also in seconds).
	Result *progress.Result `json:"result,omitempty"`
	Error  string           `json:"error,omitempty"`
	// Watcher is the integration's change watcher, when it has one.
	Watcher *watcherStatus `json:"watcher,omitempty"`
	// Waiting says that no running worker polls the queue of a running sync: it waits there
	// until a worker holding its integration starts.
	Waiting string `json:"waiting,omitempty"`
}

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c common
	fs := newFlags("status", "Shows the running sync of an integration, or its last one: live progress while it runs,\nthe summary or the error once it ended, and its page in the Temporal Web UI.", statusExamples, &c, stderr)
	addIntegration(fs, &c)
	addOutput(fs, &c)
	addUIURL(fs, &c)
	if code, done := parse(fs, args, &c, stderr); done {
		return code
	}
	tc, err := dial(ctx, &c, stderr)
	if err != nil {
		return fail(stderr, "status", err)
	}
	defer tc.Close()
	e, err := latestSync(ctx, tc, c.integration)
	if err != nil {
		return fail(stderr, "status", err)
	}
	if e == nil {
		fmt.Fprintf(stderr, "no sync of %s found (start one with `starter sync --integration %s`)\n", c.integration, c.integration)
		return exitFailed
	}
	id, runID := e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId()
	var waiting string
	if e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		waiting = waitingOn(ctx, tc, c.integration, e.GetTaskQueue(), stderr)
	}
	src := progressOf(tc, &c)
	src.NoQuery = waiting != ""
	v, err := src.Fetch(ctx, id, runID)
	if err != nil {
		return fail(stderr, "status", err)
	}
	out := statusJSON{View: v, URL: webLink(c.uiURL, c.temporal.Namespace, id, runID)}
	if v.Running() {
		out.Waiting = waiting
	}
	if !v.Running() {
		var res workflows.SyncResult
		if err := tc.GetWorkflow(ctx, id, runID).Get(ctx, &res); err != nil {
			out.Error = failureMessage(err)
		} else {
			out.Result = progress.ResultJSON(&res)
		}
	}
	if out.Watcher, err = describeWatcher(ctx, tc, c.integration); err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
	}
	if c.output == "json" {
		return writeJSON(stdout, stderr, out)
	}
	fmt.Fprintf(stdout, "sync of %s: %s\nworkflow %s, run %s, started %s\n", c.integration, v.Status, id, runID, v.Started.Local().Format("2006-01-02 15:04:05"))
	if p := e.GetParentExecution(); p != nil {
		// Syncs a schedule (or the Web UI) starts run under the integration's own id, as a
		// child of the workflow that was started.
		fmt.Fprintf(stdout, "started by workflow %s\n", p.GetWorkflowId())
	}
	if out.Waiting != "" {
		fmt.Fprintln(stdout, out.Waiting)
	}
	switch {
	case v.Running():
		fmt.Fprintln(stdout, progress.Line(v, false))
	case out.Result != nil:
		fmt.Fprintln(stdout)
		if err := progress.PrintSummary(stdout, out.Result.SyncResult, "text"); err != nil {
			return fail(stderr, "status", err)
		}
		fmt.Fprintln(stdout)
	default:
		fmt.Fprintf(stdout, "error: %s\n", out.Error)
	}
	fmt.Fprintln(stdout, out.URL)
	printWatcher(stdout, c.integration, out.Watcher)
	if out.Error != "" {
		return exitFailed
	}
	return exitOK
}

// waitingOn is the sentence of a running sync that no worker takes: no worker polled the
// task queue it runs on (its integration's) within routing.SeenWithin. "" when one did, or
// when that cannot be told (reported on stderr).
func waitingOn(ctx context.Context, tc client.Client, integration, queue string, stderr io.Writer) string {
	ps, err := routing.Pollers(ctx, tc, queue, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "could not tell whether a worker holds %s: %v\n", integration, err)
		return ""
	}
	if len(ps) > 0 {
		return ""
	}
	return routing.Waiting(integration, queue)
}

func writeJSON(stdout, stderr io.Writer, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fail(stderr, "output", err)
	}
	return exitOK
}
