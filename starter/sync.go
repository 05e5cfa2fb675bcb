package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"jcsync/internal/progress"
	"jcsync/internal/temporalnames"
	"jcsync/routing"
	"jcsync/workflows"
)

const syncExamples = `  starter sync --integration acme
  starter sync --integration acme --wait                 # live progress, then the summary
  starter sync --integration acme --dry-run --wait -o json
  starter sync --integration acme --allow-shrink --wait  # after a planned mass offboarding
`

func cmdSync(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c common
	var dryRun, wait, allowShrink, allowEmpty, allowOrgChange bool
	var every, margin, phaseDeadline time.Duration
	var maxRejected int
	fs := newFlags("sync", "Starts a sync of one integration. Only one sync of an integration runs at a time: if one is\nrunning, this says so instead of starting another. Exits 0 only when the sync succeeded\n(or, without --wait, was started).", syncExamples, &c, stderr)
	addIntegration(fs, &c)
	fs.BoolVar(&dryRun, "dry-run", false, "read and transform everything, upload and delete nothing")
	fs.BoolVar(&wait, "wait", false, "watch the sync's progress and print its summary")
	fs.BoolVar(&allowShrink, "allow-shrink", false, "sweep even if JumpCloud returned far less than the last successful sync")
	fs.BoolVar(&allowEmpty, "allow-empty", false, "sweep even if JumpCloud returned no users at all")
	fs.BoolVar(&allowOrgChange, "allow-org-change", false, "sync into an Authomize app that holds another JumpCloud org's data, and sweep that org's records (a deliberate move)")
	fs.DurationVar(&every, "refresh", time.Second, "how often --wait refreshes the progress")
	fs.DurationVar(&margin, "sweep-margin", 0, "how far before the sync's first Authomize write the sweep's cutoff lies (default 2m)")
	fs.IntVar(&maxRejected, "max-rejected", 0, maxRejectedUsage)
	fs.DurationVar(&phaseDeadline, "phase-deadline", 0, phaseDeadlineUsage)
	addOutput(fs, &c)
	addUIURL(fs, &c)
	if code, done := parse(fs, args, &c, stderr); done {
		return code
	}
	if maxRejected < 0 {
		fmt.Fprintln(stderr, "starter sync: --max-rejected must not be negative")
		return exitUsage
	}
	if phaseDeadline < 0 {
		fmt.Fprintln(stderr, "starter sync: --phase-deadline must not be negative")
		return exitUsage
	}
	tc, err := dial(ctx, &c, stderr)
	if err != nil {
		return fail(stderr, "sync", err)
	}
	defer tc.Close()
	if err := requireSearchAttributes(ctx, tc, &c, "sync", stderr); err != nil {
		return fail(stderr, "sync", err)
	}

	in := workflows.SyncInput{Integration: c.integration, DryRun: dryRun, AllowShrink: allowShrink, AllowEmpty: allowEmpty, AllowOrgChange: allowOrgChange,
		SweepMargin: margin, MaxRejected: maxRejected, PhaseDeadline: phaseDeadline}
	id := temporalnames.SyncID(c.integration)
	// A scheduled sync runs under another workflow id; look for it too, so a manual sync
	// never runs alongside it.
	if other, err := runningSync(ctx, tc, c.integration); err == nil && other != nil {
		fmt.Fprintf(stderr, "a sync of %s is already running: %s, watch it with `starter status --integration %s`\n", c.integration, other.GetExecution().GetWorkflowId(), c.integration)
		return exitFailed
	}
	queue := temporalnames.IntegrationQueue(c.temporal.TaskQueue, c.integration)
	details := workflows.Details(in, nil)
	waiting := waitingFor(ctx, tc, &c, stderr)
	if waiting != "" {
		// Fixed at the start, so the Web UI shows why the run has not begun; once a worker
		// takes it, its current details say what it does.
		details = "**" + waiting + "** (when this sync was started)\n\n" + details
	}
	wr, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id,
		// Only workers that hold the integration poll its queue.
		TaskQueue:                queue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		// Temporal itself refuses a second open sync of the id; without this the client would
		// quietly return the running one.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		// Set at start (the workflow sets it too) so `status` finds the sync at once.
		TypedSearchAttributes: temporalnames.IntegrationAttributes(c.integration),
		// What the Web UI shows at the top of the run and in the list. The starter does not
		// read the worker's configuration (the worker holds the secrets and the org ids, and
		// operators run the starter from anywhere), so it names the integration and the
		// options it was given; the sync names its JumpCloud org and Authomize app in its
		// current details once its credential check has seen them. (Runs started elsewhere
		// check first and give the sync they hand over to both: see runAsIntegration.)
		StaticSummary: workflows.Summary(in, nil),
		StaticDetails: details,
	}, temporalnames.SyncWorkflow, in)
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			fmt.Fprintf(stderr, "a sync of %s is already running: %s, watch it with `starter status --integration %s`\n", c.integration, id, c.integration)
			return exitFailed
		}
		return fail(stderr, "sync", fmt.Errorf("start the sync of %s: %w%s", c.integration, err, searchAttrHint(err)))
	}
	link := webLink(c.uiURL, c.temporal.Namespace, wr.GetID(), wr.GetRunID())
	if !wait {
		if c.output == "json" {
			out := map[string]string{"workflowId": wr.GetID(), "runId": wr.GetRunID(), "url": link, "taskQueue": queue}
			if waiting != "" {
				out["waiting"] = waiting
			}
			return writeJSON(stdout, stderr, out)
		}
		fmt.Fprintf(stdout, "started sync of %s: %s (run %s)\nwatch it: starter status --integration %s\n%s\n", c.integration, wr.GetID(), wr.GetRunID(), c.integration, link)
		return exitOK
	}
	fmt.Fprintf(stderr, "sync of %s started: %s\n", c.integration, link)
	r := progress.NewRenderer(stderr)
	_, werr := progressOf(tc, &c).Watch(ctx, wr.GetID(), wr.GetRunID(), every, r.Show)
	r.Finish()
	if werr != nil {
		return fail(stderr, "sync", fmt.Errorf("watch the sync (it goes on; see `starter status`): %w", werr))
	}
	var res workflows.SyncResult
	if err := wr.Get(ctx, &res); err != nil {
		fmt.Fprintf(stderr, "sync of %s failed: %s\n%s\n", c.integration, failureMessage(err), link)
		return exitFailed
	}
	if err := progress.PrintSummary(stdout, &res, c.output); err != nil {
		return fail(stderr, "sync", err)
	}
	if c.output != "json" {
		fmt.Fprintln(stdout, link)
	}
	return exitOK
}

// phaseDeadlineUsage is the help of --phase-deadline, on sync and on schedule create/update.
const phaseDeadlineUsage = "the longest a phase (users+admins, groups, apps) may take over all its attempts before the sync fails (default 48h)"

// maxRejectedUsage is the help of --max-rejected, on sync and on schedule create/update.
const maxRejectedUsage = "sweep even if Authomize did not accept up to this many of the items sent (default 0: any rejection refuses the sweep, which would delete the earlier copies of the rejected records)"

// runningSync finds a running sync of an integration (manual or scheduled), if any.
func runningSync(ctx context.Context, tc client.Client, integration string) (*workflowExecutionInfo, error) {
	list, err := listSyncs(ctx, tc, integration, 1, temporalnames.IsRunning)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return list[0], nil
}

// waitingFor says, when no running worker holds the integration, that the sync will wait
// for one (on stderr, so -o json stays one document), and returns that sentence; "" when a
// worker holds it. A failed check is reported and treated as held: it must not stop a sync.
func waitingFor(ctx context.Context, tc client.Client, c *common, stderr io.Writer) string {
	held, _, err := routing.IntegrationHeld(ctx, tc, c.temporal.TaskQueue, c.integration)
	if err != nil {
		fmt.Fprintf(stderr, "could not tell whether a worker holds %s: %v\n", c.integration, err)
		return ""
	}
	if held {
		return ""
	}
	msg := routing.Waiting(c.integration, temporalnames.IntegrationQueue(c.temporal.TaskQueue, c.integration))
	fmt.Fprintln(stderr, msg)
	return msg
}

// searchAttrHint explains a start Temporal refused over a search attribute, when the check
// before it could not list them.
func searchAttrHint(err error) string {
	var inv *serviceerror.InvalidArgument
	if errors.As(err, &inv) && strings.Contains(strings.ToLower(inv.Error()), "search attribute") {
		return " (the namespace lacks the connector's search attributes: a worker creates them at start on a self-hosted server; on Temporal Cloud add them with tcld or the Cloud UI, see docs/search-attributes.md)"
	}
	return ""
}
