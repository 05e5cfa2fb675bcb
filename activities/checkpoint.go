package activities

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"
)

// CheckpointVersion is bumped whenever Checkpoint changes shape; a retried attempt that finds
// a checkpoint of another version starts its stage over rather than misread it.
const CheckpointVersion = 3

// Checkpoint is a stage's heartbeat detail: small, free of page data and personal data.
// A retried attempt (on this worker or another) continues from NextSkip.
type Checkpoint struct {
	Version int `json:"v"`
	// NextSkip is the offset of the first page not yet accepted by Authomize: every page
	// before it was uploaded. For fan-out stages it is the offset into the group or app list.
	// Pages overlap by one item, so the page at NextSkip starts at the last committed item.
	NextSkip int `json:"nextSkip"`
	// Tail is the last few ids of the last committed page: the page at NextSkip must share
	// one of them, or the list moved and the gap is repaired (see read.go).
	Tail []string `json:"tail,omitempty"`
	// Ended says the last committed page ended the list: nothing is left to read.
	Ended bool `json:"ended,omitempty"`
	// Total is the size of the stage's list when its first page was read (-1: unknown). A
	// retried attempt compares it with what JumpCloud says now.
	Total int `json:"total"`
	// ProgressAttempt is the latest attempt (1-based) that committed a page or finished a
	// parent: attempts after it made no progress. LastError is the error the last failed
	// attempt returned. Together they bound a stage by attempts without progress, not by
	// attempts: a long sync that advances on every attempt is never given up on.
	ProgressAttempt int    `json:"progressAttempt,omitempty"`
	LastError       string `json:"lastError,omitempty"`
	// Done holds, for fan-out stages, the parents (groups, app targets) beyond NextSkip whose
	// children were all uploaded, with the offset of their parent page. At most a few hundred
	// short ids: the parent pages in flight.
	Done   map[string]int `json:"done,omitempty"`
	Counts StageCounts    `json:"counts"`
}

// resumeFrom takes over the checkpoint an earlier attempt left in the heartbeat details (its own,
// or its phase's: see priorCheckpoint).
// Without one this attempt can use (none, or one of another version), the stage starts over,
// and so does its count of attempts without progress.
func (s *stageRun) resumeFrom(ctx context.Context) {
	s.cp.ProgressAttempt = s.attempt - 1
	if slot := phaseSlotOf(ctx); slot != nil {
		s.cp.ProgressAttempt = slot.progressAttempt
	}
	cp, ok := priorCheckpoint(ctx, s.name)
	if !ok {
		return
	}
	if cp.NextSkip > 0 && !cp.Ended && !slices.ContainsFunc(cp.Tail, func(id string) bool { return id != "" }) {
		// The committed pages ended in records without a readable id: nothing says where
		// their count stops, and reading on could count some again. Starting over is exact.
		s.a.logger(ctx).WithFields(map[string]any{"integration": s.in.Integration, "stage": s.name, "attempt": s.attempt}).
			Warn("stage starts over: its checkpoint names no readable id to continue after")
		return
	}
	// The stage's own copy: inside a phase the checkpoint also sits in the composite, which
	// the phase encodes into its heartbeats while this stage goes on folding counts and
	// finished parents into its maps.
	cp.Counts = cp.Counts.clone()
	cp.Done = maps.Clone(cp.Done)
	cp.Tail = slices.Clone(cp.Tail)
	s.cp = cp
	s.resumedDone = maps.Clone(cp.Done)
	s.a.logger(ctx).WithFields(map[string]any{
		"integration": s.in.Integration, "stage": s.name, "resume_from": cp.NextSkip, "attempt": s.attempt,
	}).Info("stage resumes from its checkpoint")
}

// countResumed adds the pages the checkpoint spared this attempt to the stage's counts.
func (s *stageRun) countResumed(pages int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cp.Counts.Attempts > 1 && pages > 0 {
		s.cp.Counts.PagesResumed += pages
	}
}

// commitPages records that every page before next was uploaded, folds those pages' counts
// into the checkpoint, and heartbeats it. tail is the ids of the last of those pages, for the
// next page to link to; ended says it ended the list. The SDK throttles heartbeats; the last
// one is flushed when the activity returns an error.
func (s *stageRun) commitPages(next int, tail []string, ended bool) {
	s.mu.Lock()
	s.cp.NextSkip, s.cp.Tail, s.cp.Ended = next, append([]string(nil), tail...), ended
	s.cp.ProgressAttempt = s.attempt
	for k, t := range s.pending {
		if !t.parent && t.page < next {
			s.foldTally(t)
			delete(s.pending, k)
		}
	}
	// Parents done on pages now behind the cursor need not be remembered any more.
	for key, page := range s.cp.Done {
		if page < next {
			delete(s.cp.Done, key)
		}
	}
	s.foldClientStats()
	cp, seq := s.snapshot()
	s.mu.Unlock()
	s.beat(cp, seq)
}

// finishParent records that every child of key (on the parent page at page) was uploaded:
// its counts go into the checkpoint and a retried attempt skips it, even before the whole
// parent page is committed. This keeps what a crash costs to a few parents, not a page of 100.
func (s *stageRun) finishParent(page int, key string) {
	s.mu.Lock()
	if t, ok := s.pending[parentTallyKey(key)]; ok {
		s.foldTally(t)
		delete(s.pending, parentTallyKey(key))
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
	s.beat(cp, seq)
}

// skipFinishedParent reports whether an earlier attempt finished the parent key; if so it
// counts the parent as resumed, once.
func (s *stageRun) skipFinishedParent(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.resumedDone[key]
	if ok {
		delete(s.resumedDone, key)
		s.cp.Counts.PagesResumed++
	}
	return ok
}

// keepHeartbeating records the checkpoint on a timer, not only when it moves: a page of
// groups with large member lists can take longer than the heartbeat timeout, and a stage
// that stopped heartbeating would be declared dead (and retried from the same checkpoint)
// while still working. Heartbeats are also how a cancellation reaches the activity. The
// returned func stops the timer.
func (s *stageRun) keepHeartbeating(ctx context.Context) func() {
	every := beatEvery(ctx)
	if every <= 0 {
		every = time.Second
	}
	return onTimer(ctx, every, func() {
		s.mu.Lock()
		s.foldClientStats()
		cp, seq := s.snapshot()
		s.mu.Unlock()
		s.beat(cp, seq)
	})
}

// snapshot copies the checkpoint for a heartbeat, with its place in the order of snapshots.
// Callers hold mu.
func (s *stageRun) snapshot() (Checkpoint, uint64) {
	s.seq++
	cp := s.cp
	cp.Counts = s.cp.Counts.clone()
	cp.Done = maps.Clone(s.cp.Done)
	return cp, s.seq
}

// beat records a snapshot as the stage's heartbeat, unless a later snapshot was recorded
// already: snapshots are taken under mu but recorded after it is released (recording can
// wait on the SDK), and a checkpoint must never step back.
func (s *stageRun) beat(cp Checkpoint, seq uint64) {
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

// prefix tracks which pages of a list finished and commits the end of the contiguous
// finished prefix: a page that finished early never lets a retried attempt skip an
// unfinished page before it.
type prefix struct {
	mu     sync.Mutex
	next   int
	ends   map[int]pageEnd // page start → its end, for finished pages beyond next
	commit func(next int, tail []string, ended bool)
}

// pageEnd is what the checkpoint needs of a finished page.
type pageEnd struct {
	end   int
	tail  []string
	ended bool
}

func newPrefix(start int, commit func(next int, tail []string, ended bool)) *prefix {
	return &prefix{next: start, ends: map[int]pageEnd{}, commit: commit}
}

// finish records the page [start, end) as done and commits the prefix if it grew. commit
// runs under the lock, so checkpoints are recorded in order.
func (p *prefix) finish(start, end int, tail []string, ended bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ends[start] = pageEnd{end: end, tail: tail, ended: ended}
	var last pageEnd
	advanced := false
	for {
		e, ok := p.ends[p.next]
		if !ok {
			break
		}
		delete(p.ends, p.next)
		p.next, last, advanced = e.end, e, true
	}
	if advanced && p.commit != nil {
		p.commit(p.next, last.tail, last.ended)
	}
}
