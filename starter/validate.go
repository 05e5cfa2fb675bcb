package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"jcsync/activities"
	"jcsync/internal/temporalnames"
)

const validateExamples = `  starter validate --integration acme
  starter validate --integration acme -o json
`

func cmdValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c common
	var timeout time.Duration
	fs := newFlags("validate", "Checks an integration's JumpCloud API key and org, Authomize token and app id, through a\nworker (which holds the secrets). Nothing is read in bulk, uploaded or deleted.", validateExamples, &c, stderr)
	addIntegration(fs, &c)
	addOutput(fs, &c)
	fs.DurationVar(&timeout, "timeout", 3*time.Minute, "give up after this long (e.g. when no worker is running)")
	if code, done := parse(fs, args, &c, stderr); done {
		return code
	}
	tc, err := dial(ctx, &c, stderr)
	if err != nil {
		return fail(stderr, "validate", err)
	}
	defer tc.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	queue := temporalnames.IntegrationQueue(c.temporal.TaskQueue, c.integration)
	waitingFor(ctx, tc, &c, stderr)
	wr, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		// Unique per check: validations are cheap and may run alongside a sync.
		ID: temporalnames.ValidateID(c.integration, time.Now()),
		// A worker holding the integration takes it from there; the check itself runs on the
		// integration's checks queue.
		TaskQueue:                queue,
		WorkflowExecutionTimeout: timeout,
	}, temporalnames.ValidateWorkflow, c.integration)
	if err != nil {
		return fail(stderr, "validate", fmt.Errorf("start the check of %s: %w", c.integration, err))
	}
	var res activities.ValidateResult
	if err := wr.Get(ctx, &res); err != nil {
		msg := failureMessage(err)
		if ctx.Err() != nil {
			msg = "no answer within " + timeout.String() + ": is a worker with " + c.integration + " in its configuration running on task queue " + c.temporal.TaskQueue + "? (it polls " + queue + ")"
		}
		if c.output == "json" {
			writeJSON(stdout, stderr, map[string]any{"integration": c.integration, "ok": false, "error": msg})
		} else {
			fmt.Fprintf(stderr, "integration %s: check failed: %s\n", c.integration, msg)
		}
		return exitFailed
	}
	if c.output == "json" {
		return writeJSON(stdout, stderr, map[string]any{"integration": c.integration, "ok": true, "result": res})
	}
	fmt.Fprintf(stdout, "integration %s: credentials OK\n  %s", c.integration, credentialAccepted(res.Credential))
	if len(res.AdminRoles) > 0 {
		fmt.Fprintf(stdout, "; its administrator holds %s", strings.Join(res.AdminRoles, ", "))
	}
	fmt.Fprintf(stdout, "\n  Authomize: token accepted")
	if res.Tenant != "" {
		fmt.Fprintf(stdout, " (tenant %s)", res.Tenant)
	}
	fmt.Fprintf(stdout, "\n  Authomize app: %s", res.AppID)
	if res.AppName != "" {
		fmt.Fprintf(stdout, " (%s)", res.AppName)
	}
	fmt.Fprintln(stdout)
	if res.OwnerID != "" {
		fmt.Fprintf(stdout, "  owner: JumpCloud account %s\n", res.OwnerID)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stdout, "  warning: %s\n", w)
	}
	return exitOK
}
