package workflows

import (
	"time"

	"jcsync/activities"
	"jcsync/internal/counts"
)

// SyncResult is the summary of a finished sync.
type SyncResult struct {
	Integration string                   `json:"integration"`
	DryRun      bool                     `json:"dryRun,omitempty"`
	Stages      []activities.StageResult `json:"stages"`
	// Read counts JumpCloud objects by kind; Uploaded counts what Authomize accepted (or, in a
	// dry run, what would have been sent) by kind.
	Read     counts.Counts `json:"read"`
	Uploaded counts.Counts `json:"uploaded"`
	Skipped  counts.Counts `json:"skipped,omitempty"`
	Adjusted counts.Counts `json:"adjusted,omitempty"`
	// Rejected counts, by kind as the operator knows it ("accounts", "admin accounts",
	// "role assignments", "bindings", ...), the items sent that Authomize did not accept
	// (did not store, whatever the reason: validation, or references it could not resolve).
	// Unlike Skipped (what the transform dropped on purpose, never sent), any of them refuses
	// the sweep beyond SyncInput.MaxRejected. Items stored with a reference Authomize named
	// invalid are in InvalidReferences, not here.
	Rejected counts.Counts `json:"rejected,omitempty"`

	JumpCloudRequests int `json:"jumpcloudRequests"`
	JumpCloudRetries  int `json:"jumpcloudRetries"`
	AuthomizeRequests int `json:"authomizeRequests"`
	AuthomizeRetries  int `json:"authomizeRetries"`
	PagesResumed      int `json:"pagesResumed"`
	InvalidReferences int `json:"invalidReferences,omitempty"`

	// ListsChanged counts JumpCloud lists that changed while they were read, RepairReads the
	// pages read again to keep those reads complete, and Unstable the lists that still could
	// not be proven complete (the sweep is then skipped).
	ListsChanged int      `json:"listsChanged,omitempty"`
	RepairReads  int      `json:"repairReads,omitempty"`
	Unstable     []string `json:"unstable,omitempty"`
	// NoTimestamp counts Authomize answers without an acceptedTimestamp.
	NoTimestamp int `json:"noTimestamp,omitempty"`
	// Unreadable counts objects that exist in JumpCloud but whose records were left out
	// (skipped and counted) and whose earlier Authomize copy could not be kept (a group or
	// app without a usable name); UnreadableNamed names the first few. The sweep waits for
	// them.
	Unreadable      int      `json:"unreadable,omitempty"`
	UnreadableNamed []string `json:"unreadableNamed,omitempty"`
	// Kept counts, by kind, records left out (a field that says what they are had the wrong
	// type) whose earlier Authomize copy was kept: the sweep spares them.
	Kept counts.Counts `json:"kept,omitempty"`

	Swept       bool      `json:"swept"`
	SweepCutoff time.Time `json:"sweepCutoff,omitempty"`
	// SweepSkipped says why a complete sync did not sweep (empty when it swept, or in a dry
	// run).
	SweepSkipped string `json:"sweepSkipped,omitempty"`
	// Baseline says what the shrink check compared with.
	Baseline string `json:"baseline,omitempty"`
	// EarlierWrites is when, on Authomize's clock, an earlier sync may last have written a
	// record: the sweep's cutoff lies after it, so what that sync wrote and JumpCloud no
	// longer has is removed. SweepWait is how long this sync waited before its first write
	// for that to hold (a sync started soon after another).
	EarlierWrites time.Time     `json:"earlierWrites,omitempty"`
	SweepWait     time.Duration `json:"sweepWait,omitempty"`
	// NotRun is set when this workflow did not sync because another sync of the integration
	// was running; RanAs names the workflow that synced when this one handed over to it.
	NotRun     string    `json:"notRun,omitempty"`
	RanAs      string    `json:"ranAs,omitempty"`
	Warnings   []string  `json:"warnings,omitempty"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	// Duration is the wall time of the sync.
	Duration time.Duration `json:"duration"`
}

// summarize adds up the stages' counts.
func summarize(r *SyncResult) {
	r.Read, r.Uploaded = counts.Counts{}, counts.Counts{}
	for _, s := range r.Stages {
		c := s.Counts
		// Not Merge: a kind a stage read none of stays in the totals, at zero, so that the
		// summary lists it.
		for kind, n := range c.Read {
			r.Read[kind] += n
		}
		r.Uploaded = r.Uploaded.Merge(c.Uploaded)
		r.Skipped = r.Skipped.Merge(c.Report.Skipped)
		r.Adjusted = r.Adjusted.Merge(c.Report.Adjusted)
		r.JumpCloudRequests += c.JumpCloudRequests
		r.JumpCloudRetries += c.JumpCloudRetries
		r.AuthomizeRequests += c.AuthomizeRequests
		r.AuthomizeRetries += c.AuthomizeRetries
		r.PagesResumed += c.PagesResumed
		r.InvalidReferences += c.InvalidReferences
		r.ListsChanged += c.ListsChanged
		r.RepairReads += c.RepairReads
		r.NoTimestamp += c.NoTimestamp
		r.Unstable = append(r.Unstable, c.Unstable...)
		r.Unreadable += c.Unreadable
		r.UnreadableNamed = append(r.UnreadableNamed, c.UnreadableNamed...)
		r.Kept = r.Kept.Merge(c.Kept)
		r.Warnings = append(r.Warnings, s.Warnings...)
	}
	if rejected, _ := rejectedBy(r.Stages); len(rejected) > 0 {
		r.Rejected = rejected
	}
}

// earliestAccepted is the earliest acceptedTimestamp of any stage, zero when none had one.
func earliestAccepted(stages []activities.StageResult) time.Time {
	var t time.Time
	for _, s := range stages {
		e := s.Counts.EarliestAccepted
		if !e.IsZero() && (t.IsZero() || e.Before(t)) {
			t = e
		}
	}
	return t
}
