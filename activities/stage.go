package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"jcsync/internal/authomize"
	"jcsync/internal/config"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/pacer"
	"jcsync/internal/transform"
)

// Stage names, in the order a sync runs them.
const (
	StageUsers  = "users"
	StageAdmins = "admins"
	StageGroups = "groups"
	StageApps   = "apps"
)

// StageInput is the input of every stage activity. No secrets: the worker resolves them.
type StageInput struct {
	Integration string `json:"integration"`
	DryRun      bool   `json:"dryRun,omitempty"`
	// OwnerID is the Authomize uniqueId of the app owner's account, when known.
	OwnerID string `json:"ownerId,omitempty"`
	// StallAttempts fails the stage after this many attempts in a row that made no progress
	// (no page committed). Zero: DefaultStallAttempts.
	StallAttempts int `json:"stallAttempts,omitempty"`
	// RetryInterval is the first wait before a failed attempt is retried (see failed).
	RetryInterval time.Duration `json:"retryInterval,omitempty"`
	// Earlier is what the stages of the phases before this one left out, so that no
	// relation is sent to a record this run did not upload (see DroppedOf).
	Earlier EarlierDropped `json:"earlier,omitempty"`
}

// DefaultStallAttempts is the stage's budget of attempts in a row without progress.
const DefaultStallAttempts = 10

// ErrTypeStalled is the error type of a stage that made no progress in its budget of
// attempts in a row.
const ErrTypeStalled = "StageStalled"

// stageRun is one attempt of one stage: its clients, its checkpoint and its counters. mu
// guards the fields from cp to resumedDone, and every tally in pending.
//
// Counts are kept per page (a tally) and folded into the checkpoint only when the committed
// prefix passes that page. A retried attempt starts at the checkpoint and reads the pages
// after it again; their counts from the failed attempt were never folded, so nothing is
// counted twice. (The earliest accepted timestamp is kept for every upload at once: an
// earlier cutoff is always the safe side.)
type stageRun struct {
	name    string
	in      StageInput
	integ   config.Integration
	jc      *jumpcloud.Client
	az      *authomize.Client
	topt    transform.Options
	a       *Activities
	started time.Time
	attempt int // this attempt's number, 1-based

	mu      sync.Mutex
	cp      Checkpoint
	prior   StageCounts       // the counts of earlier attempts, from the checkpoint
	pending map[string]*tally // counts not yet in the checkpoint: of a page, or of one parent's children
	seq     uint64            // snapshots taken
	// resumedDone are the parents an earlier attempt finished (from the checkpoint).
	resumedDone map[string]int

	// jp and ap are the pacers of the org and of the Authomize app, shared with every other
	// stage of the integration on this worker; jp0 and ap0 are their state when the stage
	// started, for what the stage result reports of the pauses.
	jp, ap   *pacer.Pacer
	jp0, ap0 pacer.Snapshot
	slots    *fetchGate // fetch slots shared by every list the stage reads

	beatMu sync.Mutex // orders recorded heartbeats
	beaten uint64     // the snapshot last recorded
	// record records a heartbeat: activity.RecordHeartbeat, the phase's mux (see phase.go),
	// or a test's recorder.
	record func(ctx context.Context, details ...any)
	actx   context.Context // the activity's context, for heartbeats
	stopHB func()

	// keep, when set, keeps the earlier copies of records of the stage's own list that were
	// left out (see leftOut), and says which of them Authomize held; without it they are
	// unreadable. droppedSeen indexes
	// cp.Counts.Dropped (under mu).
	keep        func(ctx context.Context, ids []string) (map[string]bool, error)
	droppedSeen map[string]struct{}
	warnings    []string // for the result; under mu
}

func (a *Activities) startStage(ctx context.Context, name string, in StageInput) (*stageRun, error) {
	integ, err := a.integration(in.Integration)
	if err != nil {
		return nil, err
	}
	jc, err := a.jumpCloud(integ)
	if err != nil {
		return nil, err
	}
	az, err := a.authomize(integ)
	if err != nil {
		return nil, err
	}
	jp, err := a.orgPacer(integ)
	if err != nil {
		return nil, err
	}
	ap, err := a.tenantPacer(integ)
	if err != nil {
		return nil, err
	}
	s := &stageRun{
		name: name, in: in, integ: integ, jc: jc, az: az, a: a, started: time.Now(),
		jp: jp, ap: ap, jp0: jp.Snapshot(), ap0: ap.Snapshot(),
		topt: transform.Options{Identities: integ.Identities, OwnerID: in.OwnerID,
			ConsoleURL: transform.ConsoleURLFor(integ.JumpCloud.BaseURL)},
		cp:      Checkpoint{Version: CheckpointVersion, Total: -1},
		pending: map[string]*tally{},
		record:  heartbeatRecorder(ctx, name),
		actx:    ctx,
		attempt: int(activity.GetInfo(ctx).Attempt),
	}
	s.slots = &fetchGate{limit: s.concurrency}
	s.resumeFrom(ctx)
	if err := s.stalled(s.attempt - 1); err != nil {
		// Attempts that died (a killed worker) returned no error: they count here.
		return nil, err
	}
	s.cp.Counts.Attempts++
	s.prior = s.cp.Counts
	s.stopHB = s.keepHeartbeating(ctx)
	return s, nil
}

// pageCap is the most JumpCloud pages the stage has in flight: the worker's page
// concurrency. It also bounds the pages a list holds in memory.
func (s *stageRun) pageCap() int {
	if s.a.PageConcurrency > 0 {
		return s.a.PageConcurrency
	}
	return DefaultPageConcurrency
}

// concurrency is the bound on the JumpCloud pages the stage fetches at once, read again at
// every fetch: the org pacer's in-flight limit (Little's law on the rate it found and the
// latency it sees), within pageCap. More fetches than the pacer lets through would only wait
// in its queue holding their place in the stage's window; fewer would leave a latency-bound
// org below the rate it allows.
func (s *stageRun) concurrency() int {
	n := s.pageCap()
	if s.jp != nil {
		n = min(n, s.jp.InFlightLimit())
	}
	return max(1, n)
}

// acquire takes one of the stage's fetch slots: the pages of every list a stage reads (its
// own, and the members or bindings of each parent) share one bound.
func (s *stageRun) acquire(ctx context.Context) error { return s.slots.acquire(ctx) }

func (s *stageRun) release() { s.slots.release() }

// finish ends a stage: its result, and err as the activity's error (final once the stage has
// spent its attempts without progress).
func (s *stageRun) finish(ctx context.Context, err error) (StageResult, error) {
	if err != nil {
		err = s.failed(ctx, err)
	}
	return s.conclude(err), err
}

// conclude stops the heartbeats and returns the stage's result. On success every page was
// committed, so the work outside the lists is folded into the counts too.
func (s *stageRun) conclude(err error) StageResult {
	s.stopHB()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		for k, t := range s.pending {
			s.foldTally(t)
			delete(s.pending, k)
		}
		s.cp.Done = nil
	}
	s.foldClientStats()
	r := StageResult{Stage: s.name, Counts: s.cp.Counts.clone(), Duration: time.Since(s.started), Pacing: s.pacing(),
		Warnings: append([]string(nil), s.warnings...)}
	if s.a.Observer != nil && err == nil {
		s.a.Observer.StageDone(s.in.Integration, s.name, r)
	}
	return r
}

// stalled returns the stage's final error when the attempts up to last (1-based) include
// the budget of attempts in a row without progress.
func (s *stageRun) stalled(last int) error {
	budget := s.in.StallAttempts
	if budget <= 0 {
		budget = DefaultStallAttempts
	}
	if n := last - s.cp.ProgressAttempt; n >= budget {
		lastErr := s.cp.LastError
		if lastErr == "" {
			lastErr = "the worker running it stopped (no heartbeat)"
		}
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"stage %s made no progress in %d attempts in a row (the setting is %d); the last error: %s",
			s.name, n, budget, lastErr), ErrTypeStalled, nil)
	}
	return nil
}

// failed records a failed attempt in the checkpoint and decides whether the stage goes on:
// a retryable error becomes final once the budget of attempts without progress is spent.
// The checkpoint is recorded before the activity returns, so the next attempt sees it.
func (s *stageRun) failed(ctx context.Context, err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() || ctx.Err() != nil {
		return err
	}
	s.mu.Lock()
	s.cp.LastError = truncateError(err.Error())
	final := s.stalled(s.attempt)
	stalled := s.attempt - s.cp.ProgressAttempt
	s.foldClientStats()
	cp, seq := s.snapshot()
	s.mu.Unlock()
	s.beat(cp, seq)
	if final != nil {
		return final
	}
	// Temporal's backoff grows with the attempt number; here it grows only with attempts in
	// a row without progress, so a long stage that keeps advancing keeps retrying promptly.
	wait := s.in.RetryInterval
	if wait <= 0 {
		wait = 2 * time.Second
	}
	for i := 1; i < stalled && wait < time.Minute; i++ {
		wait *= 2
	}
	return temporal.NewApplicationErrorWithOptions(err.Error(), errType(err),
		temporal.ApplicationErrorOptions{NextRetryDelay: min(wait, time.Minute)})
}

// errType keeps the type of a classified error.
func errType(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return "TransientAPIError"
}

// truncateError keeps an error message small enough for a heartbeat.
func truncateError(msg string) string {
	const max = 1000
	if len(msg) > max {
		return msg[:max] + "…"
	}
	return msg
}
