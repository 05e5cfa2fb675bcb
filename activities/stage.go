package activities

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"jcsync/internal/authomize"
	"jcsync/internal/config"
	"jcsync/internal/jumpcloud"
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
	// SafeSweep says the workflow checks StageCounts.Unreadable and NoTimestamp before its
	// sweep. Runs started by earlier versions do not, and look only at Unstable: for them
	// both are reported as unstable lists as well, so they cannot sweep past them either.
	SafeSweep bool `json:"safeSweep,omitempty"`
}

// DefaultStallAttempts is the stage's budget of attempts in a row without progress.
const DefaultStallAttempts = 10

// ErrTypeStalled is the error type of a stage that made no progress in its budget of
// attempts in a row.
const ErrTypeStalled = "StageStalled"

// stageRun is one attempt of one stage: its clients, its checkpoint, and its counters.
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
	slots   chan struct{}     // fetch slots shared by every list the stage reads
	seq     uint64            // snapshots taken (under mu)

	beatMu sync.Mutex // orders recorded heartbeats
	beaten uint64     // the snapshot last recorded
	// record records a heartbeat: activity.RecordHeartbeat, or a test's recorder.
	record func(ctx context.Context, details ...any)
	actx   context.Context // the activity's context, for heartbeats
	// resumedDone are the parents an earlier attempt finished (from the checkpoint).
	resumedDone map[string]int
	stopHB      func()
}

// tally is the counts of one page, or of the children of one parent (a group's members).
type tally struct {
	page           int  // the offset of the (parent) page it belongs to
	parent         bool // the children of one parent: folded when that parent is done
	read, uploaded map[string]int
	sent, rejected map[string]int
	report         transform.Report
	invalid        int
}

// stageEnd is the tally of work an attempt does outside the paged lists (the SSO privilege,
// the admins, the LDAP/RADIUS counts): folded only when the stage succeeds.
const stageEnd = math.MaxInt

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
	s := &stageRun{
		name: name, in: in, integ: integ, jc: jc, az: az, a: a, started: time.Now(),
		topt: transform.Options{Identities: integ.Identities, OwnerID: in.OwnerID,
			ConsoleURL: transform.ConsoleURLFor(integ.JumpCloud.BaseURL)},
		cp:      Checkpoint{Version: CheckpointVersion, Total: -1},
		pending: map[string]*tally{},
		record:  activity.RecordHeartbeat,
		actx:    ctx,
	}
	s.slots = make(chan struct{}, s.concurrency())
	s.attempt = int(activity.GetInfo(ctx).Attempt)
	// Without a checkpoint this attempt can use (none, or one of another version), the stage
	// starts over, and so does its count of attempts without progress.
	s.cp.ProgressAttempt = s.attempt - 1
	if activity.HasHeartbeatDetails(ctx) {
		var cp Checkpoint
		if err := activity.GetHeartbeatDetails(ctx, &cp); err == nil && cp.Version == CheckpointVersion {
			s.cp = cp
			s.resumedDone = map[string]int{}
			for k, v := range cp.Done {
				s.resumedDone[k] = v
			}
			a.logger().WithFields(map[string]any{
				"integration": in.Integration, "stage": name, "resume_from": cp.NextSkip,
				"attempt": activity.GetInfo(ctx).Attempt,
			}).Info("stage resumes from its checkpoint")
		}
	}
	if err := s.stalled(s.attempt - 1); err != nil {
		// Attempts that died (a killed worker) returned no error: they count here.
		return nil, err
	}
	s.cp.Counts.Attempts++
	s.prior = s.cp.Counts
	s.stopHB = s.keepHeartbeating(ctx)
	return s, nil
}

// keepHeartbeating records the checkpoint on a timer, not only when it moves: a page of
// groups with large member lists can take longer than the heartbeat timeout, and a stage
// that stopped heartbeating would be declared dead (and retried from the same checkpoint)
// while still working. Heartbeats are also how a cancellation reaches the activity.
func (s *stageRun) keepHeartbeating(ctx context.Context) func() {
	// At most a second apart: the worker caps the SDK's heartbeat throttling at a second too,
	// so live progress and a resumed attempt are never more than a second behind.
	every := min(activity.GetInfo(ctx).HeartbeatTimeout/3, time.Second)
	if every <= 0 {
		every = time.Second
	}
	done := make(chan struct{})
	var once sync.Once
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				s.mu.Lock()
				s.foldStats()
				cp, seq := s.snapshot()
				s.mu.Unlock()
				s.beat(ctx, cp, seq)
			}
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}

// snapshot copies the checkpoint for a heartbeat, with its place in the order of snapshots.
// Callers hold mu.
func (s *stageRun) snapshot() (Checkpoint, uint64) {
	s.seq++
	cp := s.cp
	cp.Counts = cloneCounts(s.cp.Counts)
	if s.cp.Done != nil {
		cp.Done = make(map[string]int, len(s.cp.Done))
		for k, v := range s.cp.Done {
			cp.Done[k] = v
		}
	}
	return cp, s.seq
}

// beat records a snapshot as the stage's heartbeat, unless a later snapshot was recorded
// already: snapshots are taken under mu but recorded after it is released (recording can
// wait on the SDK), and a checkpoint must never step back.
func (s *stageRun) beat(_ context.Context, cp Checkpoint, seq uint64) {
	s.beatMu.Lock()
	defer s.beatMu.Unlock()
	if seq <= s.beaten {
		return
	}
	s.beaten = seq
	// Always with the activity's own context: the SDK flushes a batch of heartbeats with the
	// context of the call that opened it, and a read's inner contexts end before the activity.
	s.record(s.actx, cp)
}

// commit records that every page before next was uploaded, folds those pages' counts into
// the checkpoint, and heartbeats it. tail is the ids of the last of those pages, for the next
// page to link to; ended says it ended the list. The SDK throttles heartbeats; the last one
// is flushed when the activity returns an error.
func (s *stageRun) commit(ctx context.Context, next int, tail []string, ended bool) {
	s.mu.Lock()
	s.cp.NextSkip, s.cp.Tail, s.cp.Ended = next, append([]string(nil), tail...), ended
	s.cp.ProgressAttempt = s.attempt
	for k, t := range s.pending {
		if !t.parent && t.page < next {
			s.fold(t)
			delete(s.pending, k)
		}
	}
	// Parents done on pages now behind the cursor need not be remembered any more.
	for key, page := range s.cp.Done {
		if page < next {
			delete(s.cp.Done, key)
		}
	}
	s.foldStats()
	cp, seq := s.snapshot()
	s.mu.Unlock()
	s.beat(ctx, cp, seq)
}

// parentDone records that every child of key (on the parent page at page) was uploaded: its
// counts go into the checkpoint and a retried attempt skips it, even before the whole parent
// page is committed. This keeps what a crash costs to a few parents, not a page of 100.
func (s *stageRun) parentDone(ctx context.Context, page int, key string) {
	s.mu.Lock()
	if t, ok := s.pending["parent:"+key]; ok {
		s.fold(t)
		delete(s.pending, "parent:"+key)
	}
	if page >= s.cp.NextSkip {
		if s.cp.Done == nil {
			s.cp.Done = map[string]int{}
		}
		s.cp.Done[key] = page
	}
	s.cp.ProgressAttempt = s.attempt
	cp, seq := s.snapshot()
	s.mu.Unlock()
	s.beat(ctx, cp, seq)
}

// wasDone reports whether an earlier attempt finished the parent key, and counts it as
// resumed.
func (s *stageRun) wasDone(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.resumedDone[key]
	if ok {
		delete(s.resumedDone, key)
		s.cp.Counts.PagesResumed++
	}
	return ok
}

// fold adds a page's tally to the checkpoint's counts. Callers hold mu.
func (s *stageRun) fold(t *tally) {
	c := &s.cp.Counts
	for k, n := range t.read {
		c.addRead(k, n)
	}
	for k, n := range t.uploaded {
		c.addUploaded(k, n)
	}
	c.Sent = addAll(c.Sent, t.sent)
	c.Rejected = addAll(c.Rejected, t.rejected)
	mergeReport(&c.Report, t.report)
	c.InvalidReferences += t.invalid
}

// foldStats adds this attempt's client counters to the counts of earlier attempts. Callers
// hold mu.
func (s *stageRun) foldStats() {
	jc, az := s.jc.Stats(), s.az.Stats()
	c := &s.cp.Counts
	c.JumpCloudRequests = s.prior.JumpCloudRequests + int(jc.Requests)
	c.JumpCloudRetries = s.prior.JumpCloudRetries + int(jc.Retries)
	c.AuthomizeRequests = s.prior.AuthomizeRequests + int(az.Requests)
	c.AuthomizeRetries = s.prior.AuthomizeRetries + int(az.Retries)
}

// tally returns the counts of the page at start.
func (s *stageRun) tally(start int) *tally {
	return s.pendingTally(fmt.Sprintf("page:%d", start), start, false)
}

// parentTally returns the counts of the children of key, a parent on the page at page.
func (s *stageRun) parentTally(page int, key string) *tally {
	return s.pendingTally("parent:"+key, page, true)
}

func (s *stageRun) pendingTally(k string, page int, parent bool) *tally {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.pending[k]
	if !ok {
		t = &tally{page: page, parent: parent}
		s.pending[k] = t
	}
	return t
}

func (s *stageRun) read(t *tally, kind string, n int) {
	s.mu.Lock()
	t.read = addTo(t.read, kind, n)
	s.mu.Unlock()
}

func (s *stageRun) notePage() {
	s.mu.Lock()
	s.cp.Counts.Pages++
	s.mu.Unlock()
}

func (s *stageRun) report(t *tally, r transform.Report) {
	s.mu.Lock()
	mergeReport(&t.report, r)
	s.mu.Unlock()
}

// noteTotal records the total of the stage's own list as this attempt first saw it. A
// resumed attempt keeps the total of the first attempt.
func (s *stageRun) noteTotal(total int) {
	s.mu.Lock()
	if s.cp.Total < 0 {
		s.cp.Total = total
	}
	s.mu.Unlock()
}

// noteChange counts a list whose total moved while it was read: visible in the result, and
// handled by the reader's links and repairs.
func (s *stageRun) noteChange(list string, first, now int) {
	s.mu.Lock()
	s.cp.Counts.ListsChanged++
	s.mu.Unlock()
	s.a.logger().WithFields(map[string]any{"integration": s.in.Integration, "stage": s.name, "list": list, "first_total": first, "total": now}).
		Debug("list changed while it was read")
}

// noteRepair counts windows read to repair links between pages.
func (s *stageRun) noteRepair(reads int) {
	s.mu.Lock()
	s.cp.Counts.RepairReads += reads
	s.mu.Unlock()
}

// noteUnstable records a list that could not be proven complete: the sync will not sweep.
// It goes into the checkpoint at once, so a crash cannot erase it.
func (s *stageRun) noteUnstable(reason string) {
	s.mu.Lock()
	s.cp.Counts.unstable(reason)
	s.mu.Unlock()
	s.a.logger().WithFields(map[string]any{"integration": s.in.Integration, "stage": s.name}).Warn(reason)
}

// noteUnreadable records objects that exist in JumpCloud but did not decode: this run cannot
// refresh their Authomize records, so it must not sweep (see StageCounts.Unreadable). It goes
// into the checkpoint at once, like an unstable list.
func (s *stageRun) noteUnreadable(list string, ids []string) {
	if len(ids) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		s.cp.Counts.unreadable(list + " " + id)
	}
	if !s.in.SafeSweep {
		s.cp.Counts.unstable(fmt.Sprintf("%s: %d records exist but could not be read", list, len(ids)))
	}
}

// acquire takes one of the stage's fetch slots: the pages of every list a stage reads (its
// own, and the members or bindings of each parent) share one bound.
func (s *stageRun) acquire(ctx context.Context) error {
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *stageRun) release() { <-s.slots }

// result is the stage's outcome. On success every page was committed, and the work outside
// the lists is folded too.
func (s *stageRun) result(err error) StageResult {
	s.stopHB()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		for k, t := range s.pending {
			s.fold(t)
			delete(s.pending, k)
		}
		s.cp.Done = nil
	}
	s.foldStats()
	r := StageResult{Stage: s.name, Counts: cloneCounts(s.cp.Counts), Duration: time.Since(s.started)}
	if s.a.Observer != nil && err == nil {
		s.a.Observer.StageDone(s.in.Integration, s.name, r)
	}
	return r
}

// upload sends items of one kind (or, in a dry run, only counts them) and adds what
// Authomize accepted to the page's tally.
func upload[T any](ctx context.Context, s *stageRun, t *tally, kind string, items []T, send func(context.Context, []T) (authomize.UploadResult, error)) error {
	if len(items) == 0 {
		return nil
	}
	if s.in.DryRun {
		s.mu.Lock()
		t.uploaded = addTo(t.uploaded, kind, len(items))
		s.mu.Unlock()
		return nil
	}
	res, err := send(ctx, items)
	if err != nil {
		return classify(fmt.Errorf("upload %d %s to Authomize: %w", len(items), kind, err))
	}
	s.mu.Lock()
	t.uploaded = addTo(t.uploaded, kind, res.Accepted)
	t.sent = addTo(t.sent, kind, res.Sent)
	t.rejected = addTo(t.rejected, kind, max(res.Sent-res.Accepted, len(res.InvalidIDs)))
	t.invalid += len(res.InvalidIDs)
	// Timestamps go into the checkpoint at once, from every attempt: an earlier cutoff, or
	// one more response without a timestamp, only ever errs on the side of keeping data.
	s.cp.Counts.accepted(res.EarliestAccepted)
	s.cp.Counts.NoTimestamp += res.MissingTimestamps
	if res.MissingTimestamps > 0 && !s.in.SafeSweep {
		s.cp.Counts.unstable(fmt.Sprintf("%d Authomize answers for %s carried no acceptedTimestamp", res.MissingTimestamps, kind))
	}
	s.mu.Unlock()
	if s.a.Observer != nil {
		s.a.Observer.Items(s.in.Integration, s.name, kind, res.Accepted)
	}
	return nil
}

func mergeReport(dst *transform.Report, src transform.Report) {
	for k, v := range src.Skipped {
		if dst.Skipped == nil {
			dst.Skipped = map[string]int{}
		}
		dst.Skipped[k] += v
	}
	for k, v := range src.Adjusted {
		if dst.Adjusted == nil {
			dst.Adjusted = map[string]int{}
		}
		dst.Adjusted[k] += v
	}
}

func cloneCounts(c StageCounts) StageCounts {
	out := c
	out.Read = cloneMap(c.Read)
	out.Uploaded = cloneMap(c.Uploaded)
	out.Sent = cloneMap(c.Sent)
	out.Rejected = cloneMap(c.Rejected)
	out.Report = transform.Report{}
	mergeReport(&out.Report, c.Report)
	out.Unstable = append([]string(nil), c.Unstable...)
	out.UnreadableNamed = append([]string(nil), c.UnreadableNamed...)
	return out
}

func cloneMap(m map[string]int) map[string]int {
	if m == nil {
		return nil
	}
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// addAll adds src into dst, allocating dst when there is something to add.
func addAll(dst, src map[string]int) map[string]int {
	for k, n := range src {
		dst = addTo(dst, k, n)
	}
	return dst
}

// resume notes how many pages the checkpoint spared this attempt.
func (s *stageRun) resume(pages int) {
	if s.cp.Counts.Attempts > 1 && pages > 0 {
		s.cp.Counts.PagesResumed += pages
	}
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
	s.foldStats()
	cp, seq := s.snapshot()
	s.mu.Unlock()
	s.beat(ctx, cp, seq)
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
