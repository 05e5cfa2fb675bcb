package workflows_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"jcsync/activities"
	"jcsync/internal/config"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// flakyUsers serves the users list through jc, answering 503 to the requests fail says.
func flakyUsers(t *testing.T, jc http.Handler, fail func(n int, skip string) bool) string {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/systemusers" && r.URL.Query().Get("limit") == "100" {
			mu.Lock()
			n++
			bad := fail(n, r.URL.Query().Get("skip"))
			mu.Unlock()
			if bad {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(`{"message":"Service Unavailable"}`))
				return
			}
		}
		jc.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// runSync runs SyncWorkflow in the SDK's test environment (retries without waiting) with the
// real activities against the simulators.
func runSync(t *testing.T, sims *testenv.Sims, jcURL string, in workflows.SyncInput) (*workflows.SyncResult, error) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	integ := sims.Integration("acme", false)
	integ.JumpCloud.BaseURL = jcURL
	log := logrus.New()
	log.SetLevel(logrus.ErrorLevel)
	a := &activities.Activities{Integrations: config.Integrations{"acme": integ}, Log: log, PageConcurrency: 1}
	testenv.FastRetries(a)
	workflows.Register(env, a)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: temporalnames.SyncID("acme")})
	in.Integration = "acme"
	env.ExecuteWorkflow(temporalnames.SyncWorkflow, in)
	if err := env.GetWorkflowError(); err != nil {
		return nil, err
	}
	var res workflows.SyncResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return &res, nil
}

func usersStage(res *workflows.SyncResult) activities.StageResult {
	for _, s := range res.Stages {
		if s.Stage == activities.StageUsers {
			return s
		}
	}
	return activities.StageResult{}
}

// A stage that fails on every attempt but commits a page each time is never given up on:
// the budget counts attempts without progress, not attempts. On the real server: the SDK's
// test environment caps unlimited retries.
func TestStageThatProgressesIsRetriedPastItsBudget(t *testing.T) {
	tc := devServer(t)
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 51, Users: 3200, Groups: 3, Admins: 1, Apps: 1}))
	// After each page that was served, the next two requests (the client's two tries of the
	// next page) fail: every attempt commits one page, then fails.
	failNext := 0
	url := flakyUsers(t, sims.JC, func(n int, skip string) bool {
		if failNext > 0 {
			failNext--
			return true
		}
		if skip != "0" || n > 2 {
			failNext = 2
		}
		return false
	})
	integ := sims.Integration("progress", false)
	integ.JumpCloud.BaseURL = url
	testenv.StartWorker(t, tc.Client, "e2e-progress", config.Integrations{"progress": integ}, func(a *activities.Activities) {
		testenv.FastRetries(a)
		a.PageConcurrency = 1
	})
	run, err := tc.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: temporalnames.SyncID("progress"), TaskQueue: temporalnames.IntegrationQueue("e2e-progress", "progress")},
		temporalnames.SyncWorkflow, workflows.SyncInput{Integration: "progress", StageAttempts: 5, RetryInterval: 10 * time.Millisecond, SweepMargin: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.SyncResult
	if err := run.Get(context.Background(), &res); err != nil {
		t.Fatalf("a stage that progressed on every attempt failed: %v", err)
	}
	users := usersStage(&res)
	if users.Counts.Attempts < 30 || res.Read["users"] != 3200 {
		t.Fatalf("attempts %d, read %d; want 30+ attempts and every user", users.Counts.Attempts, res.Read["users"])
	}
	t.Logf("users stage: %d attempts, %d pages resumed", users.Counts.Attempts, users.Counts.PagesResumed)
}

// A stage that makes no progress fails after the setting's number of attempts in a row,
// with the last error.
func TestStageWithoutProgressFailsWithTheLastError(t *testing.T) {
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 52, Users: 1000, Groups: 3, Admins: 1, Apps: 1}))
	url := flakyUsers(t, sims.JC, func(n int, skip string) bool { return skip == "297" })
	_, err := runSync(t, sims, url, workflows.SyncInput{StageAttempts: 5})
	if err == nil {
		t.Fatal("a stage stuck on one page succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "made no progress in 5 attempts in a row") || !strings.Contains(msg, "503") || !strings.Contains(msg, "stage users") {
		t.Fatalf("want the stall with the last error, got %v", err)
	}
}
