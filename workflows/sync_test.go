package workflows

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"jcsync/activities"
	"jcsync/internal/temporalnames"
)

// recorder notes the order in which mocked activities ran.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) add(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, name)
}

func (r *recorder) index(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, c := range r.calls {
		if c == name {
			return i
		}
	}
	return -1
}

var accepted = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

// uploadedKind is what a stage uploads of each kind it reads.
var uploadedKind = map[string]string{"users": "accounts", "groups": "groupings", "apps": "assets"}

func stageOK(stage string, read map[string]int, at time.Time) activities.StageResult {
	uploaded := map[string]int{}
	for k, n := range read {
		if u, ok := uploadedKind[k]; ok {
			k = u
		}
		uploaded[k] = n
	}
	return activities.StageResult{Stage: stage, Counts: activities.StageCounts{
		Read: read, Uploaded: uploaded, Pages: 1, EarliestAccepted: at,
	}}
}

type harness struct {
	env *testsuite.TestWorkflowEnvironment
	rec *recorder
}

// newHarness mocks every activity by its registered name, and each stage by its name in
// stageMocks (the Phase mock runs them); overrides replace the mock of the named activities
// or stages (testify keeps matching the first expectation registered).
func newHarness(t *testing.T, overrides map[string]any) *harness {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	activities.Register(env, &activities.Activities{})
	// A sync runs under its integration's workflow id (see runAsIntegration).
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: temporalnames.SyncID("acme")})
	h := &harness{env: env, rec: &recorder{}}
	mocks := map[string]any{
		"Validate": func(ctx context.Context, in activities.ValidateInput) (activities.ValidateResult, error) {
			return activities.ValidateResult{Integration: in.Integration}, nil
		},
		"ReadBaseline": func(ctx context.Context, name string) (activities.SweepBaseline, error) {
			return activities.SweepBaseline{}, nil // a first sync into an empty app
		},
		"RecordBaseline": func(ctx context.Context, in activities.RecordBaselineInput) error { return nil },
		"Sweep": func(ctx context.Context, in activities.SweepInput) error {
			if !in.Cutoff.Equal(accepted.Add(-activities.DefaultSweepMargin)) {
				return errors.New("sweep cutoff is not the earliest accepted timestamp less the margin")
			}
			return nil
		},
	}
	for i, stage := range stageOrder {
		at := accepted.Add(time.Duration(i+1) * time.Second)
		if stage == activities.StageGroups {
			at = accepted // the earliest of all stages: the sweep's cutoff
		}
		mocks[stageMocks[stage]] = func(ctx context.Context, in activities.StageInput) (activities.StageResult, error) {
			return stageOK(stage, map[string]int{stage: 100}, at), nil
		}
	}
	for name, fn := range overrides {
		mocks[name] = fn
	}
	if _, ok := mocks[activities.ActivityPhase]; !ok {
		mocks[activities.ActivityPhase] = phaseOfMocks(h.rec, mocks)
	}
	for name, fn := range mocks {
		if isStageMock(name) {
			continue // run by the Phase mock, not registered as activities
		}
		env.OnActivity(name, mock.Anything, mock.Anything).Return(fn).Maybe()
	}
	env.SetOnActivityStartedListener(func(info *activity.Info, ctx context.Context, args converter.EncodedValues) {
		h.rec.add(info.ActivityType.Name)
	})
	return h
}

// phases are the stages in the order Authomize needs them: what a relation points at is
// uploaded before the relation.
var phases = [][]string{{activities.StageUsers, activities.StageAdmins}, {activities.StageGroups}, {activities.StageApps}}

func TestSyncRunsStepsInOrder(t *testing.T) {
	h := newHarness(t, map[string]any{"Users": func(ctx context.Context, in activities.StageInput) (activities.StageResult, error) {
		return stageOK("users", map[string]int{"users": 500}, accepted.Add(time.Minute)), nil
	}})
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme"})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var res SyncResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if h.rec.index("Validate") != 0 {
		t.Fatalf("validate must run first: %v", h.rec.calls)
	}
	// Every stage of a phase starts after every stage of the phase before it.
	lastOfPrevious := 0
	for _, phase := range phases {
		last := -1
		for _, s := range phase {
			i := h.rec.index(stageMocks[s])
			if i < 0 {
				t.Fatalf("stage %s did not run: %v", s, h.rec.calls)
			}
			if i < lastOfPrevious {
				t.Fatalf("stage %s ran before the previous phase finished: %v", s, h.rec.calls)
			}
			last = max(last, i)
		}
		lastOfPrevious = last
	}
	if h.rec.index("ReadBaseline") != 1 {
		t.Fatalf("the baseline must be read before the stages: %v", h.rec.calls)
	}
	if h.rec.index("Sweep") != len(h.rec.calls)-2 || h.rec.index("RecordBaseline") != len(h.rec.calls)-1 {
		t.Fatalf("sweep, then the new baseline, must run last: %v", h.rec.calls)
	}
	if want := accepted.Add(-activities.DefaultSweepMargin); !res.Swept || !res.SweepCutoff.Equal(want) {
		t.Fatalf("swept=%v cutoff=%v, want the earliest accepted timestamp less the margin, %v", res.Swept, res.SweepCutoff, want)
	}
	if res.Read["users"] != 500 || len(res.Stages) != 4 {
		t.Fatalf("result counts: %+v", res)
	}
}

func TestValidationFailureIsNotRetriedAndNothingRuns(t *testing.T) {
	calls := 0
	h := newHarness(t, map[string]any{"Validate": func(ctx context.Context, in activities.ValidateInput) (activities.ValidateResult, error) {
		calls++
		return activities.ValidateResult{}, temporal.NewNonRetryableApplicationError(
			"integration \"acme\": JumpCloud rejected the API key", activities.ErrTypeCredentials, nil)
	}})
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme"})
	err := h.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "JumpCloud rejected the API key") {
		t.Fatalf("want the credential error, got %v", err)
	}
	if calls != 1 {
		t.Fatalf("validate ran %d times, want 1 (non-retryable)", calls)
	}
	for _, s := range []string{"Sweep", "Users", "Admins", "Groups", "Apps"} {
		if h.rec.index(s) >= 0 {
			t.Fatalf("%s ran after a failed validation", s)
		}
	}
}

func TestFailedStageMeansNoSweep(t *testing.T) {
	h := newHarness(t, map[string]any{"Groups": func(ctx context.Context, in activities.StageInput) (activities.StageResult, error) {
		return activities.StageResult{}, temporal.NewNonRetryableApplicationError("jumpcloud: 400", activities.ErrTypePermanentAPI, nil)
	}})
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme"})
	err := h.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "stage groups") {
		t.Fatalf("want the stage's error, got %v", err)
	}
	if h.rec.index("Sweep") >= 0 {
		t.Fatalf("sweep ran although a stage failed: %v", h.rec.calls)
	}
}

func TestSweepRefusedOnEmptyReadAndSharpShrink(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		h := newHarness(t, map[string]any{"Users": stageFn(stageOK("users", map[string]int{"users": 0}, accepted))})
		h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme"})
		err := h.env.GetWorkflowError()
		if err == nil || !strings.Contains(err.Error(), "no users") || h.rec.index("Sweep") >= 0 {
			t.Fatalf("want a refused sweep, got %v (calls %v)", err, h.rec.calls)
		}
	})
	t.Run("shrink", func(t *testing.T) {
		h := newHarness(t, map[string]any{
			"ReadBaseline": baselineFn(map[string]int{"users": 1000, "groups": 100}),
			"Users":        stageFn(stageOK("users", map[string]int{"users": 400}, accepted)),
		})
		h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme"})
		err := h.env.GetWorkflowError()
		if err == nil || !strings.Contains(err.Error(), "users 1000 → 400") || h.rec.index("Sweep") >= 0 {
			t.Fatalf("want a refused sweep naming the shrink, got %v", err)
		}
	})
	t.Run("shrink allowed", func(t *testing.T) {
		h := newHarness(t, map[string]any{
			"ReadBaseline": baselineFn(map[string]int{"users": 1000}),
			"Users":        stageFn(stageOK("users", map[string]int{"users": 400}, accepted)),
		})
		h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme", AllowShrink: true})
		if err := h.env.GetWorkflowError(); err != nil || h.rec.index("Sweep") < 0 {
			t.Fatalf("allowed shrink must sweep: err=%v calls=%v", err, h.rec.calls)
		}
	})
}

func TestDryRunNeverSweeps(t *testing.T) {
	var sawDry bool
	h := newHarness(t, map[string]any{"Users": func(ctx context.Context, in activities.StageInput) (activities.StageResult, error) {
		sawDry = in.DryRun
		return stageOK("users", map[string]int{"users": 10}, time.Time{}), nil
	}})
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme", DryRun: true})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if !sawDry || h.rec.index("Sweep") >= 0 || h.rec.index("ReadBaseline") >= 0 {
		t.Fatalf("dry run: stage saw dry=%v, calls %v", sawDry, h.rec.calls)
	}
}

func TestProgressQueryReportsStages(t *testing.T) {
	h := newHarness(t, nil)
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme"})
	p := h.progress(t)
	if p.Phase != StatusDone || len(p.Stages) != 4 {
		t.Fatalf("progress: %+v", p)
	}
	for _, s := range p.Stages {
		if s.Status != StatusDone || s.Result == nil {
			t.Fatalf("stage %s: %+v", s.Stage, s)
		}
	}
}

func stageFn(r activities.StageResult) any {
	return func(ctx context.Context, in activities.StageInput) (activities.StageResult, error) { return r, nil }
}

func baselineFn(counts map[string]int) any {
	return func(ctx context.Context, name string) (activities.SweepBaseline, error) {
		return activities.SweepBaseline{Found: true, Source: activities.BaselineFromAuthomize, Counts: counts}, nil
	}
}

func TestSweepRefusedWhenMostOfAListCouldNotBeUploaded(t *testing.T) {
	bad := activities.StageResult{Stage: "users", Counts: activities.StageCounts{
		Read: map[string]int{"users": 1000}, Uploaded: map[string]int{"accounts": 3}, EarliestAccepted: accepted,
	}}
	h := newHarness(t, map[string]any{"Users": stageFn(bad)})
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme", AllowShrink: true})
	err := h.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "only 3 of the 1000 users") || h.rec.index("Sweep") >= 0 {
		t.Fatalf("want a refused sweep, got %v (calls %v)", err, h.rec.calls)
	}
}

func TestSweepRefusedWhenTheBaselineCannotBeRead(t *testing.T) {
	lookupFails := func(ctx context.Context, name string) (activities.SweepBaseline, error) {
		return activities.SweepBaseline{}, temporal.NewNonRetryableApplicationError("authomize unavailable", "Unavailable", nil)
	}
	h := newHarness(t, map[string]any{"ReadBaseline": lookupFails})
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme"})
	err := h.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "could not be read") || h.rec.index("Sweep") >= 0 {
		t.Fatalf("want a refused sweep, got %v", err)
	}
	h = newHarness(t, map[string]any{"ReadBaseline": lookupFails})
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme", AllowShrink: true})
	if err := h.env.GetWorkflowError(); err != nil || h.rec.index("Sweep") < 0 {
		t.Fatalf("--allow-shrink must sweep without a baseline: %v", err)
	}
}

// A list that kept changing faster than its gaps could be re-read may have had items slide
// past a page boundary unread: the sync completes, warns, and does not sweep.
func TestUnstableListSkipsTheSweepWithAWarning(t *testing.T) {
	shifted := stageOK("users", map[string]int{"users": 299}, accepted)
	shifted.Counts.Unstable = []string{"users changed from 300 to 299 items during the sync"}
	h := newHarness(t, map[string]any{"Users": stageFn(shifted)})
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme"})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("a changing org is not a failure: %v", err)
	}
	var res SyncResult
	_ = h.env.GetWorkflowResult(&res)
	if res.Swept || h.rec.index("Sweep") >= 0 {
		t.Fatal("swept although a list changed while it was read")
	}
	if len(res.Warnings) == 0 || !strings.Contains(res.Warnings[len(res.Warnings)-1], "users changed from 300 to 299") ||
		!strings.Contains(res.SweepSkipped, "kept changing") || h.rec.index("RecordBaseline") < 0 {
		t.Fatalf("warnings %v, skipped %q, calls %v", res.Warnings, res.SweepSkipped, h.rec.calls)
	}
}

// No record of a complete sync in an app that already holds data: a blind sweep could
// delete what a narrower key no longer sees. Refused, with the way out in the message; a
// first sync into an empty app needs no flag.
func TestSweepRefusedWithoutABaselineWhenTheAppHoldsData(t *testing.T) {
	noRecord := func(ctx context.Context, name string) (activities.SweepBaseline, error) {
		return activities.SweepBaseline{AppHasData: true}, nil
	}
	h := newHarness(t, map[string]any{"ReadBaseline": noRecord})
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme"})
	err := h.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "--allow-shrink") || !strings.Contains(err.Error(), "already holds data") || h.rec.index("Sweep") >= 0 {
		t.Fatalf("want a refused sweep that says how to proceed, got %v (calls %v)", err, h.rec.calls)
	}
	h = newHarness(t, map[string]any{"ReadBaseline": noRecord})
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme", AllowShrink: true})
	if err := h.env.GetWorkflowError(); err != nil || h.rec.index("Sweep") < 0 || h.rec.index("RecordBaseline") < 0 {
		t.Fatalf("--allow-shrink must sweep and record the baseline: %v %v", err, h.rec.calls)
	}
}

// One upload answer without acceptedTimestamp, and the cutoff cannot be trusted to spare
// what it wrote: no sweep, a warning, and no new baseline.
func TestSweepSkippedWhenAnAnswerHadNoTimestamp(t *testing.T) {
	users := stageOK("users", map[string]int{"users": 100}, time.Time{})
	users.Counts.NoTimestamp = 2
	h := newHarness(t, map[string]any{"Users": stageFn(users)})
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme"})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res SyncResult
	_ = h.env.GetWorkflowResult(&res)
	if res.Swept || h.rec.index("Sweep") >= 0 || !strings.Contains(res.SweepSkipped, "acceptedTimestamp") || res.NoTimestamp != 2 {
		t.Fatalf("swept=%v skipped=%q calls=%v", res.Swept, res.SweepSkipped, h.rec.calls)
	}
}

// The baseline record is rewritten before the stages: its time is part of the cutoff, so
// the sweep keeps it.
func TestCutoffCoversTheBaselineRecord(t *testing.T) {
	early := accepted.Add(-time.Hour)
	var cutoff time.Time
	h := newHarness(t, map[string]any{
		"ReadBaseline": func(ctx context.Context, name string) (activities.SweepBaseline, error) {
			return activities.SweepBaseline{Found: true, Counts: map[string]int{"users": 100}, Refreshed: early}, nil
		},
		"Sweep": func(ctx context.Context, in activities.SweepInput) error { cutoff = in.Cutoff; return nil },
	})
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme", SweepMargin: 5 * time.Minute})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if want := early.Add(-5 * time.Minute); !cutoff.Equal(want) {
		t.Fatalf("cutoff %v, want %v", cutoff, want)
	}
}

// Authomize dropped most memberships as invalid references: sweeping would delete the
// previous sync's good memberships.
func TestSweepRefusedWhenAuthomizeRejectsMostRelations(t *testing.T) {
	groups := stageOK("groups", map[string]int{"groups": 10, "members": 1000}, accepted)
	groups.Counts.Sent = map[string]int{"memberships": 1000}
	groups.Counts.Uploaded["memberships"] = 200 // what Authomize accepted, as activities.upload counts it
	groups.Counts.Rejected = map[string]int{"memberships": 800}
	h := newHarness(t, map[string]any{"Groups": stageFn(groups)})
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme", AllowShrink: true})
	err := h.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "did not accept 800 of the 1000 memberships") || h.rec.index("Sweep") >= 0 {
		t.Fatalf("want a refused sweep, got %v (calls %v)", err, h.rec.calls)
	}
}

// rejecting is a stage result in which Authomize did not accept n of the sent items of kind:
// they are missing from the accepted (uploaded) count, and counted rejected, as
// activities.upload counts them.
func rejecting(stage string, read map[string]int, kind string, sent, n int) activities.StageResult {
	r := stageOK(stage, read, accepted)
	r.Counts.Sent = map[string]int{kind: sent}
	r.Counts.Rejected = map[string]int{kind: n}
	r.Counts.Uploaded[kind] = sent - n
	return r
}

// refusal is the refused sweep's error and the result carried in its details.
func refusal(t *testing.T, h *harness) (string, SyncResult) {
	t.Helper()
	err := h.env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if err == nil || !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeSweepRefused {
		t.Fatalf("want a refused sweep, got %v (calls %v)", err, h.rec.calls)
	}
	if h.rec.index("Sweep") >= 0 || h.rec.index("RecordBaseline") >= 0 {
		t.Fatalf("a refused sweep ran: %v", h.rec.calls)
	}
	var res SyncResult
	if err := appErr.Details(&res); err != nil {
		t.Fatalf("the refusal carries no result: %v", err)
	}
	return appErr.Message(), res
}

// The connector validates what it sends: a single item Authomize does not accept, of any
// kind, refuses the sweep by default, which would otherwise delete that record's earlier
// copy while it still exists in JumpCloud.
func TestSingleRejectedItemRefusesTheSweep(t *testing.T) {
	for _, tc := range []struct {
		activity, stage string
		read            map[string]int
		kind, label     string
	}{
		{"Users", activities.StageUsers, map[string]int{"users": 100}, "accounts", "accounts"},
		{"Users", activities.StageUsers, map[string]int{"users": 100}, "identities", "identities"},
		{"Admins", activities.StageAdmins, map[string]int{"admins": 100}, "accounts", "admin accounts"},
		{"Admins", activities.StageAdmins, map[string]int{"admins": 100}, "groupings", "role groupings"},
		{"Admins", activities.StageAdmins, map[string]int{"admins": 100}, "privileges", "privileges"},
		{"Admins", activities.StageAdmins, map[string]int{"admins": 100}, "memberships", "role assignments"},
		{"Groups", activities.StageGroups, map[string]int{"groups": 100}, "groupings", "groupings"},
		{"Groups", activities.StageGroups, map[string]int{"groups": 100, "members": 500}, "memberships", "memberships"},
		{"Apps", activities.StageApps, map[string]int{"apps": 100}, "assets", "assets"},
		{"Apps", activities.StageApps, map[string]int{"apps": 100}, "privileges", "privileges"},
		{"Apps", activities.StageApps, map[string]int{"apps": 100, "bindings": 300}, "permissions", "bindings"},
	} {
		t.Run(tc.stage+" "+tc.kind, func(t *testing.T) {
			h := newHarness(t, map[string]any{tc.activity: stageFn(rejecting(tc.stage, tc.read, tc.kind, 100, 1))})
			h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme"})
			msg, res := refusal(t, h)
			if want := "did not accept 1 of the 100 " + tc.label + " sent"; !strings.Contains(msg, want) || !strings.Contains(msg, "--max-rejected") {
				t.Fatalf("the refusal should name the kind, the counts and the way out (%q): %s", want, msg)
			}
			if res.Rejected[tc.label] != 1 || len(res.Rejected) != 1 || res.Read[tc.stage] == 0 && tc.stage != activities.StageAdmins {
				t.Fatalf("the refusal's result: rejected %v, read %v", res.Rejected, res.Read)
			}
			p := h.progress(t)
			if p.Phase != StatusFailed {
				t.Fatalf("progress: %+v", p)
			}
		})
	}
}

// Rejections of several kinds are named together, and their sum is what the tolerance
// compares: up to MaxRejected the sweep runs (the result still lists them), beyond it not.
func TestMaxRejectedToleratesAFew(t *testing.T) {
	users := rejecting(activities.StageUsers, map[string]int{"users": 100}, "accounts", 100, 2)
	groups := rejecting(activities.StageGroups, map[string]int{"groups": 100, "members": 500}, "memberships", 500, 1)
	overrides := func() map[string]any {
		return map[string]any{"Users": stageFn(users), "Groups": stageFn(groups)}
	}

	h := newHarness(t, overrides())
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme", MaxRejected: 3})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("3 rejected items with --max-rejected 3: %v", err)
	}
	var res SyncResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if !res.Swept || res.Rejected["accounts"] != 2 || res.Rejected["memberships"] != 1 {
		t.Fatalf("swept=%v rejected=%v", res.Swept, res.Rejected)
	}

	h = newHarness(t, overrides())
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme", MaxRejected: 2})
	msg, res := refusal(t, h)
	for _, want := range []string{"2 of the 100 accounts sent", "1 of the 500 memberships sent", "3 in all, more than the 2 this run tolerates"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the refusal lacks %q: %s", want, msg)
		}
	}
	if res.Rejected["accounts"] != 2 || res.Rejected["memberships"] != 1 {
		t.Fatalf("the refusal's result: %v", res.Rejected)
	}
}

// Transform skips (records dropped on purpose, counted with their reason) are not
// rejections: a few of them leave the sweep alone; most of a list still refuses it.
func TestSkippedRecordsAreNotRejections(t *testing.T) {
	users := stageOK(activities.StageUsers, map[string]int{"users": 100}, accepted)
	users.Counts.Uploaded["accounts"] = 97
	users.Counts.Sent = map[string]int{"accounts": 97}
	users.Counts.Report.Skipped = map[string]int{"user: no email": 3}
	h := newHarness(t, map[string]any{"Users": stageFn(users)})
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme"})
	if err := h.env.GetWorkflowError(); err != nil || h.rec.index("Sweep") < 0 {
		t.Fatalf("3 skipped users must not refuse the sweep: %v %v", err, h.rec.calls)
	}
}

// A relation Authomize stored although it named a reference invalid (a user created after
// the users were read, then added to a group) was refreshed: the sweep keeps it, so it does
// not refuse the sweep; it stays counted as an invalid reference.
func TestStoredItemsWithInvalidReferencesDoNotRefuse(t *testing.T) {
	groups := stageOK(activities.StageGroups, map[string]int{"groups": 100, "members": 500}, accepted)
	groups.Counts.Sent = map[string]int{"memberships": 500}
	groups.Counts.Uploaded["memberships"] = 500
	groups.Counts.Rejected = map[string]int{"memberships": 2}
	groups.Counts.InvalidReferences = 2
	h := newHarness(t, map[string]any{"Groups": stageFn(groups)})
	h.env.ExecuteWorkflow(SyncWorkflow, SyncInput{Integration: "acme"})
	if err := h.env.GetWorkflowError(); err != nil || h.rec.index("Sweep") < 0 {
		t.Fatalf("stored relations with invalid references must not refuse the sweep: %v %v", err, h.rec.calls)
	}
	var res SyncResult
	if err := h.env.GetWorkflowResult(&res); err != nil || len(res.Rejected) != 0 || res.InvalidReferences != 2 {
		t.Fatalf("rejected %v, invalid references %d (%v)", res.Rejected, res.InvalidReferences, err)
	}
}
