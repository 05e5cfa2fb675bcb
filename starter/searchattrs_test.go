package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"

	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
)

// TestStarterRefusesWithoutSearchAttributes runs the starter against a dev server started
// without the connector's search attributes: sync, schedule create and schedule update each
// refuse at once with the commands that create them, and nothing is started or scheduled.
func TestStarterRefusesWithoutSearchAttributes(t *testing.T) {
	if env.skip != "" {
		t.Fatal(env.skip)
	}
	tc, err := testenv.StartBareTemporal(testenv.TemporalCLI(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Stop()
	addr := tc.Server.FrontendHostPort()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, c := range []struct {
		name string // how the starter names the command in its messages
		args []string
	}{
		{"sync", []string{"sync", "--integration", "acme"}},
		{"schedule create", []string{"schedule", "create", "--integration", "acme", "--every", "1h"}},
		{"schedule update", []string{"schedule", "update", "--integration", "acme", "--every", "2h"}},
	} {
		args := append(c.args, "--temporal-address", addr)
		var out, errb bytes.Buffer
		code := run(ctx, args, &out, &errb)
		cmd := c.name
		if code != exitFailed {
			t.Errorf("%v: exit %d, want %d\n%s%s", args, code, exitFailed, out.String(), errb.String())
		}
		for _, want := range []string{
			"starter " + cmd + `: Temporal namespace "default" lacks the connector's search attributes`,
			"\n  temporal operator search-attribute create --address " + addr + " --namespace default --name JCSyncIntegration --type Keyword\n",
			"\n  temporal operator search-attribute create --address " + addr + " --namespace default --name JCSyncOutcome --type Keyword\n",
			"\n  temporal operator search-attribute create --address " + addr + " --namespace default --name JCSyncUsers --type Int\n",
		} {
			if !strings.Contains(errb.String(), want) {
				t.Errorf("%v: stderr lacks %q:\n%s", args, want, errb.String())
			}
		}
	}
	var notFound *serviceerror.NotFound
	if _, err := tc.Client.DescribeWorkflow(ctx, temporalnames.SyncID("acme"), ""); !errors.As(err, &notFound) {
		t.Errorf("a sync was started: %v", err)
	}
	if _, err := tc.Client.ScheduleClient().GetHandle(ctx, temporalnames.ScheduleID("acme")).Describe(ctx); !errors.As(err, &notFound) {
		t.Errorf("a schedule was created: %v", err)
	}
}
