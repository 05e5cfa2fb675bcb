package activities

import (
	"context"
	"fmt"
	"math"
	"time"

	"jcsync/internal/authomize"
	"jcsync/internal/counts"
	"jcsync/internal/transform"
)

// StageCounts are a stage's running totals. They survive retries through the checkpoint.
type StageCounts struct {
	// Read counts JumpCloud objects read, by kind (users, groups, members, ...).
	Read counts.Counts `json:"read,omitempty"`
	// Uploaded counts items Authomize accepted (or, in a dry run, would have been sent), by kind.
	Uploaded counts.Counts `json:"uploaded,omitempty"`
	// Report counts what the transform skipped or adjusted, and why.
	Report transform.Report `json:"report"`
	// Pages is the number of JumpCloud pages processed (including re-fetched ones).
	Pages int `json:"pages"`
	// PagesResumed counts pages (or, for fan-out stages, list entries) that a retried attempt
	// did not have to fetch again thanks to the checkpoint.
	PagesResumed int `json:"pagesResumed,omitempty"`
	// Attempts is the number of activity attempts that worked on the stage.
	Attempts int `json:"attempts"`

	JumpCloudRequests int `json:"jcRequests"`
	JumpCloudRetries  int `json:"jcRetries"`
	AuthomizeRequests int `json:"azRequests"`
	AuthomizeRetries  int `json:"azRetries"`
	// JumpCloudThrottled and AuthomizeThrottled count the 429s among those requests.
	JumpCloudThrottled int `json:"jcThrottled,omitempty"`
	AuthomizeThrottled int `json:"azThrottled,omitempty"`
	InvalidReferences  int `json:"invalidReferences,omitempty"`

	// EarliestAccepted is the earliest acceptedTimestamp Authomize returned to this stage in
	// this run: the sweep's cutoff is the minimum over every stage.
	EarliestAccepted time.Time `json:"earliestAccepted,omitempty"`
	// Sent counts items sent to Authomize by kind; Rejected counts those it did not take
	// (not accepted, or named as invalid references). Relations Authomize drops gate the
	// sweep like lost entities do.
	Sent     counts.Counts `json:"sent,omitempty"`
	Rejected counts.Counts `json:"rejected,omitempty"`
	// NoTimestamp counts upload responses without an acceptedTimestamp: the sweep's cutoff
	// would not cover what they wrote, so the run does not sweep.
	NoTimestamp int `json:"noTimestamp,omitempty"`
	// ListsChanged counts lists whose total moved while they were read, and RepairReads the
	// extra pages read to close the gaps that left between pages.
	ListsChanged int `json:"listsChanged,omitempty"`
	RepairReads  int `json:"repairReads,omitempty"`
	// Unstable names lists that kept changing faster than they could be re-read: an item
	// may have been missed, so the run must not sweep (what it missed would be deleted).
	Unstable []string `json:"unstable,omitempty"`
	// Unreadable counts objects that exist in JumpCloud (their id could be read) but whose
	// record was left out and whose earlier Authomize copy could not be kept (groups and apps
	// without a usable name, edges), and names the first few (the list and the id). Their
	// Authomize records, from an earlier sync, were not refreshed: a sweep would delete them.
	Unreadable      int      `json:"unreadable,omitempty"`
	UnreadableNamed []string `json:"unreadableNamed,omitempty"`
	// Dropped are the JumpCloud ids of the stage's own records that were left out although
	// their id could be read (see dropped.go), at most maxDropped; DroppedMore counts those
	// beyond. Later stages send no relation to them. ObjectIds only, no personal data.
	Dropped     []string `json:"dropped,omitempty"`
	DroppedMore int      `json:"droppedMore,omitempty"`
	// KeptIDs are those of Dropped whose account Authomize still holds (an accepted PATCH
	// refreshed it): relations to them point at a record that is there, and are sent.
	KeptIDs []string `json:"keptIds,omitempty"`
	// Kept counts, by kind, the records left out whose earlier Authomize copy a PATCH
	// refreshed (the sweep spares them); NotKept those Authomize did not hold.
	Kept    counts.Counts `json:"kept,omitempty"`
	NotKept counts.Counts `json:"notKept,omitempty"`
}

// maxUnstable bounds the reasons (and unreadable records) kept: one is enough to refuse the
// sweep.
const maxUnstable = 5

func (c *StageCounts) addUnstable(reason string) {
	if len(c.Unstable) < maxUnstable {
		c.Unstable = append(c.Unstable, reason)
	}
}

func (c *StageCounts) addUnreadable(what string) {
	c.Unreadable++
	if len(c.UnreadableNamed) < maxUnstable {
		c.UnreadableNamed = append(c.UnreadableNamed, what)
	}
}

// keepEarliest lowers EarliestAccepted to t when t is earlier.
func (c *StageCounts) keepEarliest(t time.Time) {
	if t.IsZero() {
		return
	}
	if c.EarliestAccepted.IsZero() || t.Before(c.EarliestAccepted) {
		c.EarliestAccepted = t
	}
}

// clone returns a copy that shares no map or slice with c.
func (c StageCounts) clone() StageCounts {
	out := c
	out.Read = c.Read.Clone()
	out.Uploaded = c.Uploaded.Clone()
	out.Sent = c.Sent.Clone()
	out.Rejected = c.Rejected.Clone()
	out.Report = c.Report.Clone()
	out.Unstable = append([]string(nil), c.Unstable...)
	out.UnreadableNamed = append([]string(nil), c.UnreadableNamed...)
	out.Dropped = append([]string(nil), c.Dropped...)
	out.KeptIDs = append([]string(nil), c.KeptIDs...)
	out.Kept = c.Kept.Clone()
	out.NotKept = c.NotKept.Clone()
	return out
}

// StageResult is what a stage activity returns to the workflow.
type StageResult struct {
	Stage    string        `json:"stage"`
	Counts   StageCounts   `json:"counts"`
	Duration time.Duration `json:"duration"`
	Warnings []string      `json:"warnings,omitempty"`
	// Pacing is the rate the stage settled at, per API, and the 429s it met.
	Pacing *StagePacing `json:"pacing,omitempty"`
}

// tally is the counts of one page, or of the children of one parent (a group's members),
// until they are folded into the checkpoint. Its fields are guarded by the stage's mu.
type tally struct {
	page           int  // the offset of the (parent) page it belongs to
	parent         bool // the children of one parent: folded when that parent is done
	read, uploaded counts.Counts
	sent, rejected counts.Counts
	report         transform.Report
	invalid        int
}

// stageEnd is the page of the tally of work an attempt does outside the paged lists (the SSO
// privilege, the admins, the LDAP/RADIUS counts): it is folded only when the stage succeeds.
const stageEnd = math.MaxInt

// pageTally returns the tally of the page at start, creating it on first use.
func (s *stageRun) pageTally(start int) *tally {
	return s.pendingTally(fmt.Sprintf("page:%d", start), start, false)
}

// parentTally returns the tally of the children of key, a parent on the page at page,
// creating it on first use.
func (s *stageRun) parentTally(page int, key string) *tally {
	return s.pendingTally(parentTallyKey(key), page, true)
}

func parentTallyKey(key string) string { return "parent:" + key }

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

// foldTally adds a tally to the checkpoint's counts. Callers hold mu.
func (s *stageRun) foldTally(t *tally) {
	c := &s.cp.Counts
	c.Read = c.Read.Merge(t.read)
	c.Uploaded = c.Uploaded.Merge(t.uploaded)
	c.Sent = c.Sent.Merge(t.sent)
	c.Rejected = c.Rejected.Merge(t.rejected)
	c.Report.Merge(t.report)
	c.InvalidReferences += t.invalid
}

// foldClientStats sets the request counters to those of earlier attempts plus this
// attempt's clients. Callers hold mu.
func (s *stageRun) foldClientStats() {
	jc, az := s.jc.Stats(), s.az.Stats()
	c := &s.cp.Counts
	c.JumpCloudRequests = s.prior.JumpCloudRequests + int(jc.Requests)
	c.JumpCloudRetries = s.prior.JumpCloudRetries + int(jc.Retries)
	c.AuthomizeRequests = s.prior.AuthomizeRequests + int(az.Requests)
	c.AuthomizeRetries = s.prior.AuthomizeRetries + int(az.Retries)
	c.JumpCloudThrottled = s.prior.JumpCloudThrottled + int(jc.RateLimited)
	c.AuthomizeThrottled = s.prior.AuthomizeThrottled + int(az.RateLimited)
}

// countRead adds n objects of kind read to t.
func (s *stageRun) countRead(t *tally, kind string, n int) {
	s.mu.Lock()
	t.read = t.read.Add(kind, n)
	s.mu.Unlock()
}

// addReport adds what the transform skipped or adjusted to t.
func (s *stageRun) addReport(t *tally, r transform.Report) {
	s.mu.Lock()
	t.report.Merge(r)
	s.mu.Unlock()
}

// countPage counts one JumpCloud page fetched.
func (s *stageRun) countPage() {
	s.mu.Lock()
	s.cp.Counts.Pages++
	s.mu.Unlock()
}

// setTotal records the total of the stage's own list as this attempt first saw it. A
// resumed attempt keeps the total of the first attempt.
func (s *stageRun) setTotal(total int) {
	s.mu.Lock()
	if s.cp.Total < 0 {
		s.cp.Total = total
	}
	s.mu.Unlock()
}

// countChange counts a list whose total moved while it was read: visible in the result, and
// handled by the reader's links and repairs.
func (s *stageRun) countChange(list string, first, now int) {
	s.mu.Lock()
	s.cp.Counts.ListsChanged++
	s.mu.Unlock()
	s.a.logger(s.actx).WithFields(map[string]any{"integration": s.in.Integration, "stage": s.name, "list": list, "first_total": first, "total": now}).
		Debug("list changed while it was read")
}

// noteShort logs a list that ended below the total it gave. The total may count records the
// list does not serve (a filter JumpCloud applies, records it hides): the short page is still
// the end, and the list is not unstable, but a total that never matches is worth a look.
func (s *stageRun) noteShort(list string, served, total int) {
	s.a.logger(s.actx).WithFields(map[string]any{"integration": s.in.Integration, "stage": s.name, "list": list, "served": served, "total": total}).
		Warn("list ended with fewer items than its total")
}

// countRepairs counts windows read to repair links between pages.
func (s *stageRun) countRepairs(reads int) {
	s.mu.Lock()
	s.cp.Counts.RepairReads += reads
	s.mu.Unlock()
}

// markUnstable records a list that could not be proven complete: the sync will not sweep.
// It goes into the checkpoint at once, so a crash cannot erase it.
func (s *stageRun) markUnstable(reason string) {
	s.mu.Lock()
	s.cp.Counts.addUnstable(reason)
	s.mu.Unlock()
	s.a.logger(s.actx).WithFields(map[string]any{"integration": s.in.Integration, "stage": s.name}).Warn(reason)
}

// markUnreadable records objects that exist in JumpCloud but did not decode: this run cannot
// refresh their Authomize records, so it must not sweep (see StageCounts.Unreadable). It goes
// into the checkpoint at once, like an unstable list.
func (s *stageRun) markUnreadable(list string, ids []string) {
	if len(ids) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		s.cp.Counts.addUnreadable(list + " " + id)
	}
}

// upload sends items of one kind (or, in a dry run, only counts them) and adds what
// Authomize accepted to the tally t.
func upload[T any](ctx context.Context, s *stageRun, t *tally, kind string, items []T, send func(context.Context, []T) (authomize.UploadResult, error)) error {
	if len(items) == 0 {
		return nil
	}
	if s.in.DryRun {
		s.mu.Lock()
		t.uploaded = t.uploaded.Add(kind, len(items))
		s.mu.Unlock()
		return nil
	}
	res, err := send(ctx, items)
	if err != nil {
		return classify(fmt.Errorf("upload %d %s to Authomize: %w", len(items), kind, err))
	}
	s.mu.Lock()
	t.uploaded = t.uploaded.Add(kind, res.Accepted)
	t.sent = t.sent.Add(kind, res.Sent)
	t.rejected = t.rejected.Add(kind, max(res.Sent-res.Accepted, len(res.InvalidIDs)))
	t.invalid += len(res.InvalidIDs)
	// Timestamps go into the checkpoint at once, from every attempt: an earlier cutoff, or
	// one more response without a timestamp, only ever errs on the side of keeping data.
	s.cp.Counts.keepEarliest(res.EarliestAccepted)
	s.cp.Counts.NoTimestamp += res.MissingTimestamps
	s.mu.Unlock()
	if s.a.Observer != nil {
		s.a.Observer.Items(s.in.Integration, s.name, kind, res.Accepted)
	}
	return nil
}
