package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"

	"jcsync/activities"
	"jcsync/internal/sim/authomizesim"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/takeover"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// envWorkerIdentity is the worker's identity setting (worker/main.go).
const envWorkerIdentity = "JCSYNC_WORKER_IDENTITY"

// TestKilledWorkerRestartedTakesOver is a crash: the worker process running a sync's
// users+admins phase is SIGKILLed mid-stage and started again at once under the same host
// identity, with the default 30 s heartbeat timeout. The new process must fail the dead
// attempt itself (a WorkerRestarted failure sent by it, not a heartbeat timeout), the phase
// must resume from its checkpoint, and the snapshot must be exact. Beside it, a worker of
// another host identity runs a second integration's phase, which the restarted process also
// holds and describes: that attempt must never be touched.
func TestKilledWorkerRestartedTakesOver(t *testing.T) {
	tc := devServer(t)
	const (
		queue = "chaos-crash"
		xName = "crash-x" // the killed worker's sync
		yName = "crash-y" // the bystander's sync
		yApp  = "app-crash-y"
	)
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	hostA, hostB := "crash-host-a-"+stamp, "crash-host-b-"+stamp

	xSims := slowSims(t, killOrg(61))
	ySims := testenv.StartSimsWith(t, killOrg(62), jumpcloudsim.Options{}, authomizesim.Options{Apps: []string{yApp}})
	ySims.JC.SetLatency(5 * time.Millisecond)
	ySims.AZ.SetLatency(5 * time.Millisecond)
	yIn := ySims.Integration(yName, false)
	yIn.Authomize.AppID = yApp

	// The killed worker holds both integrations: X from the environment, Y from a file.
	cfg := filepath.Join(t.TempDir(), "integrations.json")
	b, _ := json.Marshal(map[string]any{"integrations": []any{map[string]any{
		"name":      yName,
		"jumpcloud": map[string]any{"base_url": ySims.JCURL, "api_key": map[string]string{"env": "Y_JUMPCLOUD_API_KEY"}},
		"authomize": map[string]any{"base_url": ySims.AZURL, "app_id": yApp, "token": map[string]string{"env": "Y_AUTHOMIZE_TOKEN"}},
	}}})
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// 20 requests/s: the users stage takes seconds, long enough to be killed in.
	aOpts := procOptions{temporal: tc.Server.FrontendHostPort(), queue: queue, in: xSims.Integration(xName, false), rps: 20,
		env: []string{envWorkerIdentity + "=" + hostA, "JCSYNC_CONFIG=" + cfg, "Y_JUMPCLOUD_API_KEY=" + testenv.APIKey, "Y_AUTHOMIZE_TOKEN=" + testenv.Token}}
	bOpts := procOptions{temporal: tc.Server.FrontendHostPort(), queue: queue, in: yIn, rps: 20,
		env: []string{envWorkerIdentity + "=" + hostB}}

	// The bystander alone holds Y when Y's sync starts, so Y's phase runs there.
	bystander := startWorkerProc(t, bOpts)
	yRun := startSync(t, tc.Client, queue, workflows.SyncInput{Integration: yName})
	yPhase := runningPhase(t, tc.Client, yRun, time.Minute)
	if yPhase == nil || !strings.HasPrefix(yPhase.GetLastWorkerIdentity(), bystander.identity()) {
		t.Fatalf("Y's phase did not start on the bystander: %v", yPhase)
	}

	victim := startWorkerProc(t, aOpts)
	xRun := startSync(t, tc.Client, queue, workflows.SyncInput{Integration: xName})
	at, xPhase, atKill := phaseRunningPast(t, tc, xRun, []*workerProc{victim}, 1000)
	if at < 0 {
		t.Fatal("X's users stage did not pass 1,000 users on the worker within a minute")
	}
	yBefore := pendingPhase(t, tc.Client, yRun)
	if yBefore == nil {
		t.Fatal("Y's sync ended before the kill: make its org larger")
	}

	victim.signal(syscall.SIGKILL)
	killed := time.Now()
	restarted := startWorkerProc(t, aOpts)
	restartedAfter := time.Since(killed)
	sum.with(func(s *summary) { s.kills++ })

	// When the restarted process failed the dead attempt: its log says how long after its
	// start (the phase's retry may be over before the test looks at it).
	// The takeover runs beside the worker's start: wait for its line, well past the
	// heartbeat timeout, after which the history below tells what happened instead.
	tookOverLine := regexp.MustCompile(`took over an attempt[^\n]*since_start=(\S+)`)
	m := tookOverLine.FindStringSubmatch(restarted.out.String())
	for deadline := time.Now().Add(45 * time.Second); m == nil && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		m = tookOverLine.FindStringSubmatch(restarted.out.String())
	}
	if m == nil {
		t.Fatalf("the restarted worker does not log a takeover:\n%s", restarted.out.String())
	}
	sinceStart, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatalf("since_start=%q: %v", m[1], err)
	}
	t.Logf("SIGKILL at users %d of %d; the restarted process failed the dead attempt %s after its start (its start log came %s after the kill; heartbeat timeout 30 s)",
		atKill.Running["users"].NextSkip, atKill.Running["users"].Total, sinceStart, restartedAfter.Round(time.Millisecond))
	sum.with(func(s *summary) {
		s.notes = append(s.notes, "a killed worker's successor failed its dead attempt "+sinceStart.String()+" after its start")
	})

	// The bystander's attempt: the same, still on the bystander, never failed.
	if yNow := pendingPhase(t, tc.Client, yRun); yNow != nil && yNow.GetActivityId() == yBefore.GetActivityId() {
		if yNow.GetAttempt() != yBefore.GetAttempt() || yNow.GetLastFailure() != nil ||
			!strings.HasPrefix(yNow.GetLastWorkerIdentity(), bystander.identity()) {
			t.Errorf("the bystander's phase was touched: attempt %d → %d on %s, failure %v",
				yBefore.GetAttempt(), yNow.GetAttempt(), yNow.GetLastWorkerIdentity(), yNow.GetLastFailure())
		}
	}
	if strings.Contains(restarted.out.String(), hostB) {
		t.Errorf("the restarted worker considered an attempt of the bystander's host:\n%s", restarted.out.String())
	}

	xRes, err := waitSync(t, tc.Client, xRun, 3*time.Minute)
	if err != nil {
		t.Fatalf("X's sync after the kill: %v", err)
	}
	requireExact(t, xSims, expected(xSims))
	yRes, err := waitSync(t, tc.Client, yRun, 3*time.Minute)
	if err != nil {
		t.Fatalf("Y's sync beside the kill: %v", err)
	}
	if d := testenv.Diff(expected(ySims), ySims.AZ.Snapshot(yApp)); len(d) > 0 {
		t.Fatalf("Y's Authomize snapshot differs from its org: %s", testenv.Summarize(d))
	}
	// What ended the dead attempt, from the history: the next attempt's start records the
	// failure before it and who ran it.
	started := phaseStarted(t, tc.Client, xRun, xPhase.GetActivityId())
	f := started.GetLastFailure()
	if got := f.GetApplicationFailureInfo().GetType(); got != takeover.ErrTypeWorkerRestarted {
		t.Errorf("the dead attempt ended with %q (%s), not by the restarted process's %s failure: it waited out its heartbeat timeout",
			got, f.GetMessage(), takeover.ErrTypeWorkerRestarted)
	}
	if by := restarted.identity() + hostA + "@"; !strings.Contains(f.GetMessage(), by) {
		t.Errorf("the failure does not come from the restarted process %s...: %s", by, f.GetMessage())
	}
	if started.GetAttempt() != xPhase.GetAttempt()+1 || !strings.HasPrefix(started.GetIdentity(), restarted.identity()) {
		t.Errorf("the phase ended on attempt %d by %s; want attempt %d, the one after the takeover, by the restarted process",
			started.GetAttempt(), started.GetIdentity(), xPhase.GetAttempt()+1)
	}
	users, _ := stageResult(xRes, "users")
	if users.Counts.Attempts < 2 || users.Counts.PagesResumed == 0 {
		t.Errorf("X's users stage did not resume from its checkpoint: %+v", users.Counts)
	}
	for _, s := range yRes.Stages {
		if s.Counts.Attempts > 1 {
			t.Errorf("the bystander's stage %s ran %d attempts: an attempt of a live worker was failed", s.Stage, s.Counts.Attempts)
		}
	}
	select {
	case <-bystander.exited:
		t.Error("the bystander exited")
	default:
	}
	t.Logf("X: users %d attempts, %d pages resumed; Y: %s", users.Counts.Attempts, users.Counts.PagesResumed, stageAttempts(yRes))
}

// pendingPhase is a run's pending phase activity, or nil when it has none (or has ended).
func pendingPhase(t *testing.T, c client.Client, run client.WorkflowRun) *workflowpb.PendingActivityInfo {
	t.Helper()
	d, err := describe(c, run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	for _, pa := range d.GetPendingActivities() {
		if pa.GetActivityType().GetName() == activities.ActivityPhase {
			return pa
		}
	}
	return nil
}

func stageAttempts(res *workflows.SyncResult) string {
	var parts []string
	for _, s := range res.Stages {
		parts = append(parts, fmt.Sprintf("%s %d", s.Stage, s.Counts.Attempts))
	}
	return strings.Join(parts, ", ") + " attempts"
}

// phaseStarted is the start event of the last attempt of the sync's activity activityID: it
// carries the attempt's number, the failure of the attempt before it and its worker.
func phaseStarted(t *testing.T, c client.Client, run client.WorkflowRun, activityID string) *historypb.ActivityTaskStartedEventAttributes {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	scheduled := int64(-1)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityId() == activityID {
			scheduled = e.GetEventId()
		}
		if a := e.GetActivityTaskStartedEventAttributes(); a != nil && a.GetScheduledEventId() == scheduled {
			return a
		}
	}
	t.Fatalf("no start of activity %s in the history", activityID)
	return nil
}
