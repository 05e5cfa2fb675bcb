package chaos

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"

	"jcsync/activities"
	"jcsync/internal/config"
	"jcsync/internal/sim/authomizesim"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// TestUpgradeRunsFinishOnTheirBuild is an upgrade under Worker Versioning, with real worker
// processes of two builds in one deployment:
//   - build A (two workers over the test) runs a long sync of one integration;
//   - build B starts beside it with promotion asked for and becomes current; a sync of a
//     second integration, started after, runs on B;
//   - an A worker started again with promotion asked for (a restarted pod of the old build)
//     does not take new syncs back;
//   - the A worker running the first sync's phase gets SIGTERM: the phase hands over to the
//     other A worker, never to B, which holds the same integrations;
//   - both syncs succeed on the build that started them, and both Authomize apps are exact.
func TestUpgradeRunsFinishOnTheirBuild(t *testing.T) {
	tc := devServer(t)
	const (
		deployment = "upgrade-demo" // its own, so that other tests' workers keep theirs
		queue      = "chaos-upgrade"
		oldName    = "upgrade-old"
		newName    = "upgrade-new"
		newApp     = "app-upgrade-new"
		buildA     = "build-a"
		buildB     = "build-b"
	)
	oldSims := slowSims(t, killOrg(97))
	newSims := testenv.StartSimsWith(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 98, Users: 600, Groups: 20, Admins: 3, Apps: 5, AvgGroupSize: 10}),
		jumpcloudsim.Options{}, authomizesim.Options{Apps: []string{newApp}})

	// Every worker holds both integrations (one from the environment, one from a file): only
	// versioning decides which build runs what.
	cfg := filepath.Join(t.TempDir(), "integrations.json")
	file := map[string]any{"integrations": []any{map[string]any{
		"name":      newName,
		"jumpcloud": map[string]any{"base_url": newSims.JCURL, "api_key": map[string]string{"env": "NEW_JUMPCLOUD_API_KEY"}},
		"authomize": map[string]any{"base_url": newSims.AZURL, "app_id": newApp, "token": map[string]string{"env": "NEW_AUTHOMIZE_TOKEN"}},
	}}}
	b, _ := json.Marshal(file)
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	proc := func(build string, promote bool) *workerProc {
		env := []string{
			config.EnvDeploymentName + "=" + deployment, config.EnvWorkerBuildID + "=" + build,
			"JCSYNC_CONFIG=" + cfg, "NEW_JUMPCLOUD_API_KEY=" + testenv.APIKey, "NEW_AUTHOMIZE_TOKEN=" + testenv.Token,
		}
		if promote {
			env = append(env, config.EnvPromote+"=true")
		}
		// 20 requests/s: the old org's sync takes long enough to deploy a build beside it.
		return startWorkerProc(t, procOptions{temporal: tc.Server.FrontendHostPort(), queue: queue, in: oldSims.Integration(oldName, false), rps: 20, env: env})
	}
	current := func() string {
		t.Helper()
		d, err := tc.Client.WorkerDeploymentClient().GetHandle(deployment).Describe(context.Background(), client.WorkerDeploymentDescribeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cv := d.Info.RoutingConfig.CurrentVersion; cv != nil {
			return cv.BuildID
		}
		return ""
	}

	a1 := proc(buildA, false)
	if got := current(); got != buildA {
		t.Fatalf("the first build of the deployment is not current: %q", got)
	}
	oldRun := startSync(t, tc.Client, queue, workflows.SyncInput{Integration: oldName})
	phase := runningPhase(t, tc.Client, oldRun, time.Minute)
	if phase == nil {
		t.Fatal("the old integration's sync never ran a phase")
	}

	b1 := proc(buildB, true)
	if got := current(); got != buildB {
		t.Fatalf("build B started with promotion is not current: %q; log:\n%s", got, b1.out.String())
	}
	newRun := startSync(t, tc.Client, queue, workflows.SyncInput{Integration: newName})

	a2 := proc(buildA, true)
	if got := current(); got != buildB {
		t.Fatalf("a restarted worker of the old build took the current version back: %q", got)
	}
	if !strings.Contains(a2.out.String(), "the current version is a newer build") {
		t.Errorf("the restarted old worker does not say why it stays aside:\n%s", a2.out.String())
	}

	// Stop the A worker running the old sync's phase now, mid-phase.
	phase = runningPhase(t, tc.Client, oldRun, time.Minute)
	if phase == nil {
		t.Fatal("the old sync ended before build B was deployed: make its org larger")
	}
	victim, survivor := a1, a2
	if strings.HasPrefix(phase.GetLastWorkerIdentity(), a2.identity()) {
		victim, survivor = a2, a1
	} else if !strings.HasPrefix(phase.GetLastWorkerIdentity(), a1.identity()) {
		t.Fatalf("the old sync's phase runs on %s, on no worker of build A (B is %s)", phase.GetLastWorkerIdentity(), b1.identity())
	}
	stopped := time.Now()
	if err := victim.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var retry *workflowpb.PendingActivityInfo
	for retry == nil && time.Since(stopped) < time.Minute {
		time.Sleep(50 * time.Millisecond)
		d, err := describe(tc.Client, oldRun.GetID(), oldRun.GetRunID())
		if err != nil {
			t.Fatal(err)
		}
		pending := false
		for _, pa := range d.GetPendingActivities() {
			if pa.GetActivityId() != phase.GetActivityId() {
				continue
			}
			pending = true
			if pa.GetAttempt() > phase.GetAttempt() && pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED {
				retry = pa
			}
		}
		if !pending {
			t.Fatalf("the phase ended %s after the SIGTERM without a retry", time.Since(stopped).Round(time.Millisecond))
		}
	}
	if retry == nil {
		t.Fatal("no worker resumed the old sync's phase within a minute of the SIGTERM")
	}
	tookOver := time.Since(stopped)
	if !strings.HasPrefix(retry.GetLastWorkerIdentity(), survivor.identity()) {
		t.Errorf("the old sync's phase resumed on %s, want the other worker of build A (%s); B is %s",
			retry.GetLastWorkerIdentity(), survivor.identity(), b1.identity())
	}
	if got := retry.GetLastDeploymentVersion().GetBuildId(); got != buildA {
		t.Errorf("the old sync's phase resumed on build %q, want %s", got, buildA)
	}
	if f := retry.GetLastFailure().GetApplicationFailureInfo(); f.GetType() != activities.ErrTypeWorkerStopping {
		t.Errorf("the stopped attempt's failure is %q (%s), want %s: the hand-over was lost and the retry waited for the heartbeat timeout",
			f.GetType(), retry.GetLastFailure().GetMessage(), activities.ErrTypeWorkerStopping)
	}

	// While its run is open, build A is draining, not drained: the signal to stop its
	// workers does not come early. (The run is checked after the version: open then, it was
	// open when the version was described.)
	drainage := func() client.WorkerDeploymentVersionDrainageStatus {
		t.Helper()
		v, err := tc.Client.WorkerDeploymentClient().GetHandle(deployment).DescribeVersion(context.Background(), client.WorkerDeploymentDescribeVersionOptions{BuildID: buildA})
		if err != nil {
			t.Fatal(err)
		}
		if v.Info.DrainageInfo == nil {
			return client.WorkerDeploymentVersionDrainageStatusUnspecified
		}
		return v.Info.DrainageInfo.DrainageStatus
	}
	statusA := drainage()
	if d, err := describe(tc.Client, oldRun.GetID(), oldRun.GetRunID()); err == nil &&
		d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && statusA != client.WorkerDeploymentVersionDrainageStatusDraining {
		t.Errorf("build A has a run open but its drainage status is %d, want draining", statusA)
	}

	if _, err := waitSync(t, tc.Client, newRun, 3*time.Minute); err != nil {
		t.Fatalf("the sync started after the upgrade failed: %v", err)
	}
	if _, err := waitSync(t, tc.Client, oldRun, 5*time.Minute); err != nil {
		t.Fatalf("the sync started before the upgrade failed: %v", err)
	}
	requireExact(t, oldSims, expected(oldSims))
	var newExp jumpcloudsim.Expected
	newSims.JC.View(func(o *jumpcloudsim.Org) { newExp = o.Expected(false) })
	if d := testenv.Diff(newExp, newSims.AZ.Snapshot(newApp)); len(d) > 0 {
		t.Fatalf("the new integration's app differs from its org: %s", testenv.Summarize(d))
	}

	// Each run is pinned to its build, every workflow task was completed by it, and every
	// activity ran on its workers.
	ranOn(t, tc.Client, oldRun, buildA, a1, a2)
	ranOn(t, tc.Client, newRun, buildB, b1)
	if got := current(); got != buildB {
		t.Errorf("current version at the end: %q, want %s", got, buildB)
	}
	// Its runs ended, build A reports drained: what docs/upgrades.md waits for before its
	// workers are stopped.
	ended := time.Now()
	for drainage() != client.WorkerDeploymentVersionDrainageStatusDrained {
		if time.Since(ended) > time.Minute {
			t.Fatalf("build A not reported drained a minute after its last run ended (status %d)", drainage())
		}
		time.Sleep(200 * time.Millisecond)
	}
	drained := time.Since(ended)
	t.Logf("upgrade: the old sync finished on %s, the new one ran on %s; SIGTERM to the A worker mid-phase: the other A worker resumed the phase %s later; %s reported drained %s after the checks of its last run (refresh 1 s)",
		buildA, buildB, tookOver.Round(time.Millisecond), buildA, drained.Round(time.Millisecond))
	sum.with(func(s *summary) {
		s.notes = append(s.notes, "a pinned phase's takeover within its build after SIGTERM: "+tookOver.Round(time.Millisecond).String())
	})
}

// runningPhase waits up to limit for a started Phase activity of run.
func runningPhase(t *testing.T, c client.Client, run client.WorkflowRun, limit time.Duration) *workflowpb.PendingActivityInfo {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		d, err := describe(c, run.GetID(), run.GetRunID())
		if err != nil {
			t.Fatal(err)
		}
		if d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return nil
		}
		for _, pa := range d.GetPendingActivities() {
			if pa.GetActivityType().GetName() == activities.ActivityPhase && pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED {
				return pa
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// ranOn checks that run is pinned to build, that build completed each of its workflow
// tasks, and that only workers among ws started its activities.
func ranOn(t *testing.T, c client.Client, run client.WorkflowRun, build string, ws ...*workerProc) {
	t.Helper()
	d, err := describe(c, run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	vi := d.GetWorkflowExecutionInfo().GetVersioningInfo()
	if vi.GetBehavior() != enumspb.VERSIONING_BEHAVIOR_PINNED || vi.GetDeploymentVersion().GetBuildId() != build {
		t.Errorf("%s: versioning %s on build %q, want pinned to %s", run.GetID(), vi.GetBehavior(), vi.GetDeploymentVersion().GetBuildId(), build)
	}
	it := c.GetWorkflowHistory(context.Background(), run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	tasks, acts := 0, 0
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := e.GetWorkflowTaskCompletedEventAttributes(); a != nil {
			tasks++
			if got := a.GetDeploymentVersion().GetBuildId(); got != build {
				t.Errorf("%s: workflow task %d completed by build %q, want %s", run.GetID(), e.GetEventId(), got, build)
			}
		}
		if a := e.GetActivityTaskStartedEventAttributes(); a != nil {
			acts++
			ok := false
			for _, w := range ws {
				ok = ok || strings.HasPrefix(a.GetIdentity(), w.identity())
			}
			if !ok {
				t.Errorf("%s: an activity started on %s, a worker of another build", run.GetID(), a.GetIdentity())
			}
		}
	}
	if tasks == 0 || acts == 0 {
		t.Errorf("%s: %d workflow tasks and %d activities in its history", run.GetID(), tasks, acts)
	}
}
