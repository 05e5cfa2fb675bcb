package workflows

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"jcsync/activities"
	"jcsync/internal/counts"
)

// Sweep outcomes, as the jcsync_sweeps metric counts them.
const (
	outcomeSwept   = "swept"
	outcomeSkipped = "skipped"
	outcomeRefused = "refused"
)

// Reasons of the jcsync_sweeps metric: a fixed set, so the label stays bounded.
const (
	reasonNone        = "none"         // swept
	reasonEmpty       = "empty"        // refused: no users read
	reasonNotUploaded = "not-uploaded" // refused: most of a list read was not uploaded
	reasonRejected    = "rejected"     // refused: Authomize did not accept what was sent
	reasonBaseline    = "baseline"     // refused: no baseline, or it could not be read
	reasonShrink      = "shrink"       // refused: a sharp shrink since the last complete sync
	reasonUnstable    = "unstable"     // skipped: a list kept changing
	reasonUnreadable  = "unreadable"   // skipped: records that exist could not be read
	reasonTimestamp   = "timestamp"    // skipped: no acceptedTimestamp to trust
)

// sweep deletes from Authomize what this complete run did not refresh, but only when that
// cannot delete anything that still exists in JumpCloud:
//   - refused (the sync fails, nothing deleted) when the read looks wrong: no users, most of a
//     list not uploaded, items Authomize did not accept (beyond SyncInput.MaxRejected, or most
//     of a relation kind whatever the tolerance), a sharp shrink since the last complete
//     sync, or no baseline for an app that already holds data;
//   - skipped with a warning (the sync succeeds; the next one sweeps) when the run cannot
//     prove its read complete or its cutoff safe: a list that kept changing, or an upload
//     answer without acceptedTimestamp.
func sweep(ctx workflow.Context, p *Progress, in SyncInput, base activities.SweepBaseline, baseErr error, r *SyncResult) error {
	count := func(outcome, reason string) {
		workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"integration": in.Integration, "outcome": outcome, "reason": reason}).
			Counter("jcsync_sweeps").Inc(1)
	}
	r.Baseline = describeBaseline(base)
	// Shown in the current details whether the sweep runs or not: rejections within the
	// tolerance are still worth the operator's eye.
	p.rejected, p.maxRejected = r.Rejected, in.MaxRejected
	if reason, err := sweepAllowed(in, base, baseErr, r); err != nil {
		count(outcomeRefused, reason)
		return err
	}
	cutoff := earliestAccepted(r.Stages)
	if t := base.Refreshed; !t.IsZero() && (cutoff.IsZero() || t.Before(cutoff)) {
		cutoff = t
	}
	var skip, reason string
	switch {
	case len(r.Unstable) > 0:
		reason = reasonUnstable
		skip = fmt.Sprintf("JumpCloud kept changing while it was read (%s): an object may have been missed, so nothing is deleted this time; the next sync removes what is gone",
			strings.Join(r.Unstable, "; "))
	case r.Unreadable > 0:
		reason = reasonUnreadable
		skip = fmt.Sprintf("%d objects exist in JumpCloud but their records could not be read, and what Authomize holds of them could not be kept (%s): the sweep would delete it, so nothing is deleted until they are fixed in JumpCloud",
			r.Unreadable, strings.Join(r.UnreadableNamed, "; "))
	case r.NoTimestamp > 0 || base.RefreshUnstamped:
		reason = reasonTimestamp
		skip = fmt.Sprintf("%d Authomize answers carried no acceptedTimestamp, so no cutoff is known to spare what they wrote: nothing is deleted this time", r.NoTimestamp+boolInt(base.RefreshUnstamped))
	case cutoff.IsZero():
		reason = reasonTimestamp
		skip = "Authomize returned no acceptedTimestamp: nothing is deleted"
	}
	if skip != "" {
		r.SweepSkipped = skip
		r.Warnings = append(r.Warnings, "sweep skipped: "+skip)
		count(outcomeSkipped, reason)
		return nil
	}
	cutoff = cutoff.Add(-in.SweepMargin)
	if !r.EarlierWrites.IsZero() && !cutoff.After(r.EarlierWrites) {
		// Only if Authomize's clock went back during the wait: the sweep still removes what is
		// older, and the next sync the rest.
		r.Warnings = append(r.Warnings, fmt.Sprintf("the sweep's cutoff %s does not pass the previous sync's last write %s: what that sync wrote and JumpCloud no longer has is removed by the next sync",
			cutoff.UTC().Format(time.RFC3339Nano), r.EarlierWrites.UTC().Format(time.RFC3339Nano)))
	}
	wctx := p.short(ctx, 10, summarySweep)
	if err := workflow.ExecuteActivity(wctx, activities.ActivitySweep, activities.SweepInput{Integration: in.Integration, Cutoff: cutoff}).Get(ctx, nil); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	r.Swept, r.SweepCutoff = true, cutoff
	count(outcomeSwept, reasonNone)
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func describeBaseline(b activities.SweepBaseline) string {
	switch {
	case b.Found:
		return fmt.Sprintf("last complete sync of %s (from %s)", b.SyncedAt.UTC().Format(time.RFC3339), b.Source)
	case b.AppHasData:
		return "none found; the Authomize app already holds data"
	default:
		return "none: the Authomize app is empty (first sync)"
	}
}

// recordBaseline makes this sync's counts the next one's baseline. A run whose sweep was only
// skipped (a list that kept changing, an answer without a timestamp) passed every check of
// its read too: its counts are a baseline as good.
func recordBaseline(ctx workflow.Context, p *Progress, in SyncInput, base activities.SweepBaseline, r *SyncResult) {
	if !r.Swept && r.SweepSkipped == "" {
		return
	}
	rec := activities.RecordBaselineInput{Integration: in.Integration, Counts: baselineCounts(r.Read), SyncedAt: r.StartedAt}
	if p.validated != nil {
		rec.OrgID = p.validated.OrgID
	}
	rctx := p.short(ctx, 10, summaryRecordBaseline)
	if err := workflow.ExecuteActivity(rctx, activities.ActivityRecordBaseline, rec).Get(ctx, nil); err != nil {
		// A previous record was rewritten at the start and survives: the next sync
		// compares with it. Without one, the next sync finds none in a full app.
		next := "the next sync compares with the previous one"
		if !base.Found {
			next = "the next sync finds none and refuses its sweep until it is run once with --allow-shrink"
		}
		r.Warnings = append(r.Warnings, fmt.Sprintf("the new baseline could not be recorded (%v): %s", err, next))
	}
}

// baselineCounts are the counts a complete sync records for the next one's shrink check.
func baselineCounts(read counts.Counts) counts.Counts {
	out := counts.Counts{}
	for _, k := range shrinkKinds {
		out[k] = read[k]
	}
	return out
}

// shrinkKinds are the counts compared with the last successful sync before sweeping.
var shrinkKinds = []string{"users", "groups", "apps", "members", "admins", "bindings"}

// uploadChecks pair what a stage read with what it uploaded of it: if the transform or
// Authomize dropped most of a list, the sweep would delete the rest from Authomize.
var uploadChecks = []struct{ stage, read, uploaded string }{
	{activities.StageUsers, "users", "accounts"},
	{activities.StageGroups, "groups", "groupings"},
	{activities.StageApps, "apps", "assets"},
}

// relationChecks pair a stage with the relations it uploads: when Authomize drops most of
// them (invalid references, validation), the sweep would delete the last sync's good ones:
// a sharp loss refuses the sweep whatever SyncInput.MaxRejected tolerates.
var relationChecks = []struct{ stage, kind string }{
	{activities.StageAdmins, "memberships"},
	{activities.StageAdmins, "permissions"},
	{activities.StageGroups, "memberships"},
	{activities.StageApps, "permissions"},
}

// sweepAllowed refuses a sweep that would most likely delete good data, and says why in a
// bounded reason for the metric. The operator can allow an empty org, a shrink, or a few
// rejected items explicitly.
func sweepAllowed(in SyncInput, base activities.SweepBaseline, baseErr error, r *SyncResult) (string, error) {
	refuse := func(reason, msg string) (string, error) {
		// A refused sync returns no result: its counts travel with the error, for the
		// starter, the tests and anyone reading the failure in the Web UI.
		return reason, temporal.NewNonRetryableApplicationError("sweep refused: "+msg+"; nothing was deleted", activities.ErrTypeSweepRefused, nil, r)
	}
	sharp := func(lost, of int) bool { return lost > MinShrinkItems && lost*100 > of*in.MaxShrinkPercent }
	if r.Read["users"] == 0 && !in.AllowEmpty {
		return refuse(reasonEmpty, "JumpCloud returned no users, so the sweep would empty the Authomize app. Check the key's org, or run with --allow-empty if the org really is empty")
	}
	// The connector validates what it sends, so anything Authomize did not store is an
	// anomaly, and the sweep would delete the earlier copy of each such record while it still
	// exists in JumpCloud. Items the transform dropped on purpose were never sent: they are
	// the skipped counts, and the upload check below.
	if msg := rejectedBeyondTolerance(in, r); msg != "" {
		return refuse(reasonRejected, msg)
	}
	for _, s := range r.Stages {
		for _, c := range uploadChecks {
			if s.Stage != c.stage {
				continue
			}
			read, up := s.Counts.Read[c.read], s.Counts.Uploaded[c.uploaded]
			if sharp(read-up, read) {
				return refuse(reasonNotUploaded, fmt.Sprintf("only %d of the %d %s read from JumpCloud were uploaded (see the skipped counts)", up, read, c.read))
			}
		}
		for _, c := range relationChecks {
			if s.Stage != c.stage {
				continue
			}
			sent, lost := s.Counts.Sent[c.kind], s.Counts.Rejected[c.kind]
			if sharp(lost, sent) {
				return refuse(reasonRejected, fmt.Sprintf("Authomize did not accept %d of the %d %s the %s stage sent (invalid references or validation), so the sweep would delete the last sync's %s",
					lost, sent, c.kind, s.Stage, c.kind))
			}
		}
	}
	if in.AllowShrink {
		return "", nil
	}
	if baseErr != nil {
		return refuse(reasonBaseline, fmt.Sprintf("the baseline (what the last complete sync read) could not be read (%v), so a shrink could not be ruled out. Run with --allow-shrink to sweep anyway", baseErr))
	}
	if !base.Found {
		if !base.AppHasData {
			return "", nil // a first sync into an empty app: nothing to protect
		}
		return refuse(reasonBaseline, fmt.Sprintf("the Authomize app already holds data but no record of a complete sync was found in it, so a shrink since then cannot be ruled out. "+
			"Everything read was uploaded. If %d users, %d groups and %d apps is all of the org, run `starter sync --integration %s --allow-shrink` once: it sweeps and records the baseline",
			r.Read["users"], r.Read["groups"], r.Read["apps"], in.Integration))
	}
	var problems []string
	for _, k := range shrinkKinds {
		before, now := base.Counts[k], r.Read[k]
		if lost := before - now; sharp(lost, before) {
			problems = append(problems, fmt.Sprintf("%s %d → %d (-%d%%)", k, before, now, lost*100/before))
		}
	}
	if len(problems) == 0 {
		return "", nil
	}
	sort.Strings(problems)
	return refuse(reasonShrink, fmt.Sprintf("JumpCloud returned far less than the last complete sync (%v, limit %d%%). If this is expected, run with --allow-shrink",
		problems, in.MaxShrinkPercent))
}

// rejectedLabels name what each stage sends as the operator knows it: the admins stage's
// accounts are admin accounts, its groupings role groupings and its memberships role
// assignments; the apps stage's permissions are bindings. A kind not listed here is named
// "<stage> <kind>", so a new kind is gated from the day it is sent.
var rejectedLabels = map[[2]string]string{
	{activities.StageUsers, "accounts"}:     "accounts",
	{activities.StageUsers, "identities"}:   "identities",
	{activities.StageAdmins, "accounts"}:    "admin accounts",
	{activities.StageAdmins, "groupings"}:   "role groupings",
	{activities.StageAdmins, "privileges"}:  "privileges",
	{activities.StageAdmins, "memberships"}: "role assignments",
	{activities.StageAdmins, "permissions"}: "permissions",
	{activities.StageAdmins, "assets"}:      "assets",
	{activities.StageGroups, "groupings"}:   "groupings",
	{activities.StageGroups, "memberships"}: "memberships",
	{activities.StageApps, "assets"}:        "assets",
	{activities.StageApps, "privileges"}:    "privileges",
	{activities.StageApps, "permissions"}:   "bindings",
}

// rejectedLabel names kind as sent by stage.
func rejectedLabel(stage, kind string) string {
	if l, ok := rejectedLabels[[2]string{stage, kind}]; ok {
		return l
	}
	return stage + " " + kind
}

// rejectedBy adds up, by label, the items Authomize did not store of what the stages sent
// (sent less numberOfAcceptedEntities), and what they sent of those kinds. Sums only: the
// order maps are walked in does not matter.
//
// An item Authomize stored although it named one of its references invalid (a membership of
// a user created after the users were read, a grouping whose owner is unknown) is not among
// them: it was refreshed, so the sweep keeps it, and the next sync sends the reference. It
// stays counted in the stage's Rejected and the result's InvalidReferences. Refusing the
// sweep for it would stop every sync of an org that changes while it is read from sweeping.
func rejectedBy(stages []activities.StageResult) (rejected, sent counts.Counts) {
	rejected, sent = counts.Counts{}, counts.Counts{}
	for _, s := range stages {
		for kind, n := range s.Counts.Sent {
			// Uploaded counts what Authomize accepted of what was sent (a dry run sends
			// nothing and never sweeps).
			if lost := n - s.Counts.Uploaded[kind]; lost > 0 {
				l := rejectedLabel(s.Stage, kind)
				rejected[l] += lost
				sent[l] += n
			}
		}
	}
	return rejected, sent
}

// rejectedBeyondTolerance is the refusal's message when Authomize did not accept more items
// than in.MaxRejected, "" otherwise.
func rejectedBeyondTolerance(in SyncInput, r *SyncResult) string {
	rejected, sent := rejectedBy(r.Stages)
	total := sum(rejected)
	if total == 0 || total <= in.MaxRejected {
		return ""
	}
	labels := make([]string, 0, len(rejected))
	for l := range rejected {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = fmt.Sprintf("%d of the %d %s sent", rejected[l], sent[l], l)
	}
	tolerance := "no rejection is tolerated by default"
	if in.MaxRejected > 0 {
		tolerance = fmt.Sprintf("%d in all, more than the %d this run tolerates (--max-rejected)", total, in.MaxRejected)
	}
	return fmt.Sprintf("Authomize did not accept %s (%s). "+
		"The connector validates what it sends, so this points at a fault (a record Authomize refuses, a reference it does not resolve, a change on Authomize's side), "+
		"and the sweep would delete the earlier copies of these records, which still exist in JumpCloud. "+
		"Look at the stages' rejected counts and the worker's log, fix the cause and sync again; "+
		"to sweep despite a few, run `starter sync --integration %s --max-rejected N` (the earlier copies of the rejected records are then deleted until a sync sends them successfully)",
		strings.Join(parts, ", "), tolerance, in.Integration)
}
