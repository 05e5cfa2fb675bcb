package chaos

import (
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"

	"jcsync/activities"
	"jcsync/workflows"
)

// TestPhaseWorkerStoppedHandsOver is a rolling deploy: two worker processes share the task
// queue, and the one running the users+admins phase gets SIGTERM once the users stage has
// committed pages. The phase must hand over at its checkpoint: its worker reports a
// WorkerStopping failure and the survivor starts the next attempt within seconds, not after
// the heartbeat timeout (the default 30 s here, so that a takeover by timeout shows); the
// users stage resumes from its checkpoint, the stopped attempt is not counted as one without
// progress, and the sync ends exact.
func TestPhaseWorkerStoppedHandsOver(t *testing.T) {
	const name = "phase-stopped"
	tc, sims, workers, run := twoWorkersSyncWith(t, 93, name, workflows.SyncInput{Integration: name})

	at, phase, atStop := phaseRunningPast(t, tc, run, workers, 2000)
	if at < 0 {
		t.Fatal("the users stage did not pass 2,000 users within a minute")
	}
	victim, survivor := workers[at], workers[1-at]

	// SIGTERM without waiting for the process to exit: the takeover is timed from the signal.
	stopped := time.Now()
	if err := victim.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exitedAfter := make(chan time.Duration, 1)
	go func() {
		<-victim.exited
		exitedAfter <- time.Since(stopped)
	}()
	var retry *workflowpb.PendingActivityInfo
	var tookOver time.Duration
	for retry == nil && time.Since(stopped) < time.Minute {
		time.Sleep(50 * time.Millisecond)
		d, err := describe(tc.Client, run.GetID(), run.GetRunID())
		if err != nil {
			t.Fatal(err)
		}
		pending := false
		for _, pa := range d.GetPendingActivities() {
			if pa.GetActivityId() != phase.GetActivityId() {
				continue
			}
			pending = true
			if pa.GetAttempt() > phase.GetAttempt() && pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED &&
				strings.HasPrefix(pa.GetLastWorkerIdentity(), survivor.identity()) {
				retry, tookOver = pa, time.Since(stopped)
			}
		}
		if !pending {
			t.Fatalf("the phase ended %s after the SIGTERM without a retry: the stopped worker kept it to its end instead of handing it over",
				time.Since(stopped).Round(time.Millisecond))
		}
	}
	if retry == nil {
		t.Fatal("the surviving worker did not start the phase within a minute of the SIGTERM")
	}
	var exited time.Duration
	select {
	case exited = <-exitedAfter:
	case <-time.After(45 * time.Second):
		t.Errorf("the stopped worker had not exited 45 s after SIGTERM")
	}

	res, err := waitSync(t, tc.Client, run, 3*time.Minute)
	if err != nil {
		t.Fatalf("the surviving worker did not finish the sync: %v", err)
	}
	requireExact(t, sims, expected(sims))
	users, _ := stageResult(res, "users")
	t.Logf("SIGTERM to the worker running users+admins at users %d of %d: the survivor took the phase over %s later (heartbeat timeout 30 s), the stopped worker exited after %s; users %d attempts, %d pages resumed",
		atStop.Running["users"].NextSkip, atStop.Running["users"].Total, tookOver.Round(time.Millisecond), exited.Round(time.Millisecond),
		users.Counts.Attempts, users.Counts.PagesResumed)
	sum.with(func(s *summary) {
		s.notes = append(s.notes, "a phase's takeover after SIGTERM to its worker: "+tookOver.Round(time.Millisecond).String())
	})

	// Well under the 30 s heartbeat timeout, with room for a loaded machine: a takeover by
	// timeout takes 30 s or more.
	if tookOver >= 20*time.Second {
		t.Errorf("the survivor took the phase over %s after the SIGTERM: the stopped worker's failure did not reach Temporal", tookOver)
	}
	if f := retry.GetLastFailure().GetApplicationFailureInfo(); f.GetType() != activities.ErrTypeWorkerStopping {
		t.Errorf("the stopped attempt's failure is %q (%s), want a %s error", f.GetType(), retry.GetLastFailure().GetMessage(), activities.ErrTypeWorkerStopping)
	}
	// The stopped attempt's last heartbeat, which the retry resumes from: at least as far as
	// the checkpoint seen before the signal, and no failure and no attempt without progress
	// charged to the phase's budget.
	cp, ok := activities.ReadPhaseCheckpoint(retry.GetHeartbeatDetails(), converter.GetDefaultDataConverter())
	switch {
	case !ok:
		t.Error("the retried phase has no composite checkpoint")
	case cp.LastError != "":
		t.Errorf("the worker's stop was recorded as the phase's last error: %q", cp.LastError)
	case cp.ProgressAttempt < int(phase.GetAttempt()):
		t.Errorf("the stopped attempt %d counts as one without progress (progress attempt %d)", phase.GetAttempt(), cp.ProgressAttempt)
	case len(cp.Running) > 0 && cp.Running["users"].NextSkip < atStop.Running["users"].NextSkip:
		t.Errorf("the checkpoint stepped back: users at %d, %d before the signal", cp.Running["users"].NextSkip, atStop.Running["users"].NextSkip)
	}
	if users.Counts.Attempts < 2 || users.Counts.PagesResumed == 0 {
		t.Errorf("the users stage did not resume from its checkpoint: %+v", users.Counts)
	}
}
