package activities

import (
	"time"

	"jcsync/internal/transform"
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

// StageCounts are a stage's running totals. They survive retries through the checkpoint.
type StageCounts struct {
	// Read counts JumpCloud objects read, by kind (users, groups, members, ...).
	Read map[string]int `json:"read,omitempty"`
	// Uploaded counts items Authomize accepted (or, in a dry run, would have been sent), by kind.
	Uploaded map[string]int `json:"uploaded,omitempty"`
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
	InvalidReferences int `json:"invalidReferences,omitempty"`

	// EarliestAccepted is the earliest acceptedTimestamp Authomize returned to this stage in
	// this run: the sweep's cutoff is the minimum over every stage.
	EarliestAccepted time.Time `json:"earliestAccepted,omitempty"`
	// Sent counts items sent to Authomize by kind; Rejected counts those it did not take
	// (not accepted, or named as invalid references). Relations Authomize drops gate the
	// sweep like lost entities do.
	Sent     map[string]int `json:"sent,omitempty"`
	Rejected map[string]int `json:"rejected,omitempty"`
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
	// record did not decode, and names the first few (the list and the id). Their Authomize
	// records, from an earlier sync, were not refreshed: a sweep would delete them.
	Unreadable      int      `json:"unreadable,omitempty"`
	UnreadableNamed []string `json:"unreadableNamed,omitempty"`
}

// maxUnstable bounds the reasons kept: one is enough to refuse the sweep.
const maxUnstable = 5

func (c *StageCounts) unstable(reason string) {
	if len(c.Unstable) < maxUnstable {
		c.Unstable = append(c.Unstable, reason)
	}
}

func (c *StageCounts) unreadable(what string) {
	c.Unreadable++
	if len(c.UnreadableNamed) < maxUnstable {
		c.UnreadableNamed = append(c.UnreadableNamed, what)
	}
}

func (c *StageCounts) addRead(kind string, n int) {
	if c.Read == nil {
		c.Read = map[string]int{}
	}
	c.Read[kind] += n
}

func (c *StageCounts) addUploaded(kind string, n int) {
	if n == 0 {
		return
	}
	if c.Uploaded == nil {
		c.Uploaded = map[string]int{}
	}
	c.Uploaded[kind] += n
}

func (c *StageCounts) accepted(t time.Time) {
	if t.IsZero() {
		return
	}
	if c.EarliestAccepted.IsZero() || t.Before(c.EarliestAccepted) {
		c.EarliestAccepted = t
	}
}

// StageResult is what a stage activity returns to the workflow.
type StageResult struct {
	Stage    string        `json:"stage"`
	Counts   StageCounts   `json:"counts"`
	Duration time.Duration `json:"duration"`
	Warnings []string      `json:"warnings,omitempty"`
}
