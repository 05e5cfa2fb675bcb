package activities

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"jcsync/internal/transform"
)

// ErrTypeStagePanic is the type of a stage's panic inside a phase: retried, like any
// failure, until the stage's attempts without progress run out.
const ErrTypeStagePanic = "StagePanic"

// ErrTypeWorkerStopping is the type of a phase's error when its worker stops in the middle
// of it (a deploy, a scale-in): retried at once, on another worker, from the checkpoint the
// attempt left. It is not a failure of the phase: the attempt counts neither as progress nor
// as an attempt without progress.
const ErrTypeWorkerStopping = "WorkerStopping"

// workerStoppingRetryDelay is how soon a phase cut short by its worker's stop is retried:
// at once, in effect. The stopping worker no longer polls, so the retry goes to another one.
const workerStoppingRetryDelay = 200 * time.Millisecond

// errWorkerStopping is the cause with which a phase cancels its stages when its worker
// begins to stop.
var errWorkerStopping = errors.New("the worker is stopping")

// PhaseInput is the input of the Phase activity: the stages of one phase, and the input every
// one of them takes.
type PhaseInput struct {
	Stages []string   `json:"stages"`
	Stage  StageInput `json:"stage"`
	// Pacing is what the phase before learned of the org's limit, to start from on whichever
	// worker runs this one; nil for the first phase, which looks up the last sync's record.
	Pacing *OrgPacing `json:"pacing,omitempty"`
}

// PhaseResult is the result of every stage of a phase, in the order of PhaseInput.Stages.
type PhaseResult struct {
	Stages []StageResult `json:"stages"`
	// Pacing is the org pacer's state at the phase's end, for the next phase and the next sync.
	Pacing *OrgPacing `json:"pacing,omitempty"`
}

// PhaseFailure is the detail of a failed phase's error: the stage whose error it is, and the
// results of the stages that finished before it.
type PhaseFailure struct {
	Stage string        `json:"stage"`
	Done  []StageResult `json:"done,omitempty"`
	// Pacing is the org pacer's state when the phase failed: what it learned is kept.
	Pacing *OrgPacing `json:"pacing,omitempty"`
}

// stageFunc is the stage activity of a stage, or nil for an unknown stage.
func (a *Activities) stageFunc(stage string) func(context.Context, StageInput) (StageResult, error) {
	if a.stageOverride != nil {
		if f := a.stageOverride(stage); f != nil {
			return f
		}
	}
	switch stage {
	case StageUsers:
		return a.Users
	case StageAdmins:
		return a.Admins
	case StageGroups:
		return a.Groups
	case StageApps:
		return a.Apps
	}
	return nil
}

// Phase runs the stages of one phase at once, in this one activity: every JumpCloud request
// of the phase then leaves from one worker, whose per-org rate is the only one pacing the org
// (stage activities of one phase could run on two workers, and send the org both workers'
// rates). Each stage runs as its stage activity does, with its own checkpoint; the phase's
// heartbeat carries them all, with the results of the stages that finished, so a retried
// attempt resumes each unfinished stage from its checkpoint and runs no finished one again.
//
// A stage that fails with a retryable error lets the others run on to their end: their work
// is kept, and the retry runs only what is left. A final error (credentials, configuration,
// a permanent API error) cancels them: the sync fails anyway. The phase is given up on after
// the stall budget of attempts in a row in which no stage made progress.
//
// When the worker begins to stop (SIGTERM), the phase cancels its stages, which send no new
// request, records its latest composite checkpoint and returns ErrTypeWorkerStopping at once,
// well inside the worker's stop timeout: the failure reaches Temporal before the worker's
// client closes, and another worker resumes the phase within a second or two, instead of
// after the heartbeat timeout (see DESIGN.md, "Deploys").
func (a *Activities) Phase(ctx context.Context, in PhaseInput) (PhaseResult, error) {
	attempt := int(activity.GetInfo(ctx).Attempt)
	for _, stage := range in.Stages {
		if a.stageFunc(stage) == nil {
			return PhaseResult{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("phase %s: unknown stage %q", phaseName(in.Stages), stage), ErrTypeConfig, nil)
		}
	}
	cp := resumePhase(ctx, in.Stages, attempt)
	if err := phaseStalled(in, cp, attempt-1); err != nil {
		// Attempts that died (a killed worker) returned no error: they count here.
		return PhaseResult{}, err
	}
	a.seedOrgPacer(ctx, in.Stage.Integration, in.Pacing)
	// No heartbeat before a stage has one: the SDK sends the first at once and holds the next
	// for its throttle interval, so the first had better carry progress. A retry's details
	// stay on the server until this attempt records its own.
	mux := newHeartbeatMux(ctx, cp, attempt)

	// Each stage resumes as if the phase's progress were its own: a stage is stuck only when
	// the whole phase is (see phaseFailed).
	resume := map[string]Checkpoint{}
	for stage, scp := range cp.Running {
		scp.ProgressAttempt = max(scp.ProgressAttempt, cp.ProgressAttempt)
		resume[stage] = scp
	}
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopping := watchWorkerStop(ctx, cancel)
	defer stopping.release()
	sctx = withPhaseSlot(sctx, &phaseSlot{mux: mux, resume: resume, progressAttempt: cp.ProgressAttempt})

	type outcome struct {
		stage string
		r     StageResult
		err   error
	}
	out := make(chan outcome)
	running := 0
	ownerUp := ownerUploaded(in, cp)
	for _, stage := range in.Stages {
		if _, done := cp.Done[stage]; done {
			continue
		}
		running++
		run := a.stageFunc(stage)
		if stage == StageAdmins && ownerUp != nil {
			run = afterOwner(ownerUp, run)
		}
		go func() {
			o := outcome{stage: stage}
			// The SDK recovers a panic in an activity's own goroutine, not in this one: a
			// stage's panic becomes its (retryable) error here, instead of ending the worker
			// and every other activity running on it.
			defer func() {
				if p := recover(); p != nil {
					o.err = temporal.NewApplicationError(fmt.Sprintf("%s stage panicked: %v", stage, p), ErrTypeStagePanic, string(debug.Stack()))
				}
				out <- o
			}()
			o.r, o.err = run(sctx, in.Stage)
		}()
	}
	var failures []stageFailure
	for range running {
		o := <-out
		if o.stage == StageUsers && ownerUp != nil {
			ownerUp <- o.err == nil
			close(ownerUp)
		}
		if errors.Is(o.err, errOwnerNotUploaded) {
			continue // the users stage failed: its failure is the phase's, and the retry runs both
		}
		if o.err == nil {
			mux.done(o.r)
			continue
		}
		failures = append(failures, stageFailure{o.stage, o.err})
		if isFinal(o.err) {
			cancel(nil)
		}
	}
	final := mux.snapshot()
	if len(failures) > 0 && stopping.stopped() && ctx.Err() == nil && !slices.ContainsFunc(failures, func(f stageFailure) bool { return isFinal(f.err) }) {
		// The stages ended because the worker is stopping, not because of what they met
		// (a stage that failed on its own before is retried anyway): hand the phase over.
		return PhaseResult{}, a.phaseStopped(ctx, in, attempt, mux)
	}
	pacing := a.phasePacing(in)
	if len(failures) > 0 {
		return PhaseResult{}, phaseFailed(ctx, in, attempt, mux, final, failures, pacing)
	}
	res := PhaseResult{Pacing: pacing}
	for _, stage := range in.Stages {
		res.Stages = append(res.Stages, final.Done[stage])
	}
	return res, nil
}

// errOwnerNotUploaded ends an admins stage that waited for the owner's account in vain.
var errOwnerNotUploaded = errors.New("the users stage, which uploads the app owner's account, did not finish")

// ownerUploaded returns a channel that tells, once, whether the users stage of this attempt
// uploaded every account, when the admins stage must wait for that: the app owner
// (StageInput.OwnerID) is a directory user, and the admins stage names it as the owner of the
// admin console asset and of the admin roles. Authomize checks an owner when the asset or
// grouping arrives and keeps it without one that does not exist yet, so sent at once, beside
// the users stage, they would lack their owner until the next sync. Admins are few, so the
// stage costs a few requests after the users stage rather than beside it. Nil when there is
// nothing to wait for: no owner, an administrator as the owner (the admins stage uploads its
// account itself), or a users stage finished by an earlier attempt.
func ownerUploaded(in PhaseInput, cp PhaseCheckpoint) chan bool {
	owner := in.Stage.OwnerID
	if owner == "" || strings.HasPrefix(owner, transform.AdminAccountID("")) ||
		!slices.Contains(in.Stages, StageUsers) || !slices.Contains(in.Stages, StageAdmins) {
		return nil
	}
	if _, done := cp.Done[StageUsers]; done {
		return nil
	}
	return make(chan bool, 1)
}

// afterOwner runs the admins stage once the users stage has uploaded the owner's account, and
// not at all when it failed (the phase's retry runs both) or the attempt ends first.
func afterOwner(uploaded <-chan bool, run func(context.Context, StageInput) (StageResult, error)) func(context.Context, StageInput) (StageResult, error) {
	return func(ctx context.Context, in StageInput) (StageResult, error) {
		select {
		case ok := <-uploaded:
			if !ok {
				return StageResult{}, errOwnerNotUploaded
			}
		case <-ctx.Done():
			return StageResult{}, context.Cause(ctx)
		}
		return run(ctx, in)
	}
}

// workerStop watches the worker's stop channel for one attempt of a phase.
type workerStop struct {
	done chan struct{}
	seen atomic.Bool
}

// watchWorkerStop cancels the stages' context, with errWorkerStopping as its cause, when the
// worker begins to stop. Without this the SDK cancels the activity only when the worker's stop
// timeout runs out; the worker then exits before the failure is reported, and the phase waits
// out its heartbeat timeout before another worker takes it.
func watchWorkerStop(ctx context.Context, cancel context.CancelCauseFunc) *workerStop {
	w := &workerStop{done: make(chan struct{})}
	stop := activity.GetWorkerStopChannel(ctx)
	go func() {
		select {
		case <-stop:
			w.seen.Store(true)
			cancel(errWorkerStopping)
		case <-w.done:
		case <-ctx.Done():
		}
	}()
	return w
}

// stopped reports whether the worker's stop cancelled the stages.
func (w *workerStop) stopped() bool { return w.seen.Load() }

// release ends the watch when the attempt ends.
func (w *workerStop) release() { close(w.done) }

// phaseStopped is the error of an attempt cut short by its worker's stop. Its last heartbeat
// carries the latest checkpoint of every stage, and the SDK sends it with the failure. The
// attempt is left out of the count of attempts without progress (see heartbeatMux.stopped):
// ten deploys in a row are not a stalled phase.
func (a *Activities) phaseStopped(ctx context.Context, in PhaseInput, attempt int, mux *heartbeatMux) error {
	cp := mux.stopped()
	msg := fmt.Sprintf("phase %s: the worker stopped during attempt %d; the next attempt resumes from the checkpoint", phaseName(in.Stages), attempt)
	a.logger(ctx).WithFields(map[string]any{
		"integration": in.Stage.Integration, "phase": phaseName(in.Stages), "attempt": attempt,
		"running": slices.Sorted(maps.Keys(cp.Running)), "done": slices.Sorted(maps.Keys(cp.Done)),
	}).Info("worker stopping: the phase hands over at its checkpoint")
	return temporal.NewApplicationErrorWithOptions(msg, ErrTypeWorkerStopping, temporal.ApplicationErrorOptions{
		NextRetryDelay: workerStoppingRetryDelay,
		// Expected in every deploy: logged by the SDK at debug level, not as an error.
		Category: temporal.ApplicationErrorCategoryBenign,
	})
}

// resumePhase is the composite checkpoint this attempt starts from: an earlier attempt's, or
// an empty one. Without one, the count of attempts without progress starts over.
func resumePhase(ctx context.Context, stages []string, attempt int) PhaseCheckpoint {
	fresh := PhaseCheckpoint{Version: PhaseCheckpointVersion, Stages: stages, ProgressAttempt: attempt - 1}
	if !activity.HasHeartbeatDetails(ctx) {
		return fresh
	}
	var cp PhaseCheckpoint
	if err := activity.GetHeartbeatDetails(ctx, &cp); err != nil || cp.Version != PhaseCheckpointVersion {
		return fresh
	}
	cp.Stages = stages
	return cp
}

// phaseName is how the phase is named in messages and the workflow's progress: "users+admins".
func phaseName(stages []string) string { return strings.Join(stages, "+") }

type stageFailure struct {
	stage string
	err   error
}

// isFinal reports whether err ends the sync whatever the other stages do: a non-retryable
// error other than a stall (a stage is stalled only when its whole phase is).
func isFinal(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.NonRetryable() && appErr.Type() != ErrTypeStalled
}

// phaseStalled returns the phase's final error when the attempts up to last (1-based) include
// the budget of attempts in a row in which no stage made progress.
func phaseStalled(in PhaseInput, cp PhaseCheckpoint, last int) error {
	budget := in.Stage.StallAttempts
	if budget <= 0 {
		budget = DefaultStallAttempts
	}
	n := last - cp.ProgressAttempt
	if n < budget {
		return nil
	}
	lastErr := cp.LastError
	if lastErr == "" {
		lastErr = "the worker running it stopped (no heartbeat)"
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
		"phase %s made no progress in %d attempts in a row (the setting is %d); the last error: %s",
		phaseName(in.Stages), n, budget, lastErr), ErrTypeStalled, nil)
}

// phaseFailed is the error of an attempt in which stages failed. A final error is returned as
// the sync's error, naming its stage. Otherwise the attempt is retried, unless the phase has
// spent its budget of attempts without progress, after a wait that grows only with attempts
// in a row without progress (as a stage's does: see stageRun.failed).
func phaseFailed(ctx context.Context, in PhaseInput, attempt int, mux *heartbeatMux, cp PhaseCheckpoint, failures []stageFailure, pacing *OrgPacing) error {
	f := failures[0]
	for _, g := range failures {
		if isFinal(g.err) {
			f = g
			break
		}
	}
	detail := PhaseFailure{Stage: f.stage, Pacing: pacing}
	for _, stage := range in.Stages {
		if r, ok := cp.Done[stage]; ok {
			detail.Done = append(detail.Done, r)
		}
	}
	msg := fmt.Sprintf("stage %s: %s", f.stage, errMessage(f.err))
	if isFinal(f.err) {
		return temporal.NewApplicationErrorWithOptions(msg, errType(f.err),
			temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{detail}})
	}
	if ctx.Err() != nil {
		// Cancelled, or past a timeout: Temporal decides what follows.
		return f.err
	}
	progress := mux.failed(msg)
	cp.ProgressAttempt, cp.LastError = progress, msg
	if err := phaseStalled(in, cp, attempt); err != nil {
		var stalled *temporal.ApplicationError
		errors.As(err, &stalled)
		return temporal.NewApplicationErrorWithOptions(stalled.Message(), ErrTypeStalled,
			temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{detail}})
	}
	wait := in.Stage.RetryInterval
	if wait <= 0 {
		wait = 2 * time.Second
	}
	for i := 1; i < attempt-progress && wait < time.Minute; i++ {
		wait *= 2
	}
	return temporal.NewApplicationErrorWithOptions(msg, errType(f.err),
		temporal.ApplicationErrorOptions{NextRetryDelay: min(wait, time.Minute), Details: []any{detail}})
}

// phasePacing is the org pacer's state at the end of the phase; nil when the integration is
// unknown (the phase fails with that).
func (a *Activities) phasePacing(in PhaseInput) *OrgPacing {
	integ, err := a.integration(in.Stage.Integration)
	if err != nil {
		return nil
	}
	return a.orgPacing(integ)
}

// errMessage is an error's message without the SDK's decoration of application errors.
func errMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}
