package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"jcsync/activities"
)

// A sync that starts soon after another ("sync now" after an offboarding, a retry after a
// failure) must still remove everything that left JumpCloud before it started. Its sweep
// deletes records last written before its cutoff, and the cutoff lies the sweep margin
// before its first write. So its first write must come more than the margin after the last
// write of every earlier sync, on Authomize's clock (the worker's may differ): the
// baseline record says when that was (activities.SweepBaseline.WritesBefore), and this
// run's rewrite of the record, its first write, says what time Authomize has now. Until
// the two lie far enough apart the run waits on a durable timer (a worker restart does not
// lose it), then rewrites the record again: that write is the new first write.

// phaseWait is the phase of a sync that waits for its cutoff to pass the previous writes.
const phaseWait = "waiting"

// waitRounds bounds the rewrites: one is enough unless Authomize's clock went backwards.
const waitRounds = 3

// waitSlack keeps the wait past the bound: acceptedTimestamps have microseconds, the timer
// does not promise to fire on the dot, and a cutoff exactly at the bound deletes nothing
// written then.
const waitSlack = time.Second

// waitPastEarlierWrites holds the run until its first write lies more than the sweep margin
// after every earlier sync's writes, and returns the baseline as the last rewrite left it.
// It reports the wait in the result, the progress and the current details.
func waitPastEarlierWrites(ctx workflow.Context, p *Progress, in SyncInput, base activities.SweepBaseline, r *SyncResult) activities.SweepBaseline {
	before := base.WritesBefore()
	if before.IsZero() || base.Refreshed.IsZero() {
		return base // no earlier writes known, or no time of this run's first write
	}
	r.EarlierWrites = before
	first := base
	for range waitRounds {
		if base.Refreshed.Add(-in.SweepMargin).After(before) {
			return base
		}
		wait := before.Add(in.SweepMargin).Sub(base.Refreshed) + waitSlack
		p.waitUntil = workflow.Now(ctx).Add(wait)
		p.enter(phaseWait)
		workflow.GetLogger(ctx).Info("waiting for the sweep's cutoff to pass the previous sync's writes", "wait", wait)
		if err := workflow.Sleep(ctx, wait); err != nil {
			return base // cancelled: the stages see it too
		}
		r.SweepWait += wait
		next, err := readBaseline(ctx, p, in)
		if err != nil {
			// The record was rewritten at least once; the sweep refuses without a baseline.
			r.Warnings = append(r.Warnings, fmt.Sprintf("the baseline record could not be rewritten after the wait: %v", err))
			return base
		}
		// What the record said of earlier syncs is what the first read found; since then only
		// this run has written it.
		next.LastWrite, next.OtherWriting = first.LastWrite, first.OtherWriting
		base = next
	}
	return base
}

// checkOrg refuses a sync whose JumpCloud org is not the one the Authomize app holds: the
// sweep is app-wide, so it would delete the other org's records. It fails before anything
// of this org is written. A record of an earlier version names no org and is adopted.
func checkOrg(in SyncInput, base activities.SweepBaseline, v activities.ValidateResult) error {
	if in.DryRun || in.AllowOrgChange || base.OrgID == "" || v.OrgID == "" || base.OrgID == v.OrgID {
		return nil
	}
	integ := base.RecordIntegration
	if integ == "" {
		integ = "unnamed"
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
		"sweep refused: the Authomize app %s holds the data of JumpCloud org %s (integration %q), but integration %q reads org %s. "+
			"Two orgs in one app would delete each other's records. Give each org its own app (starter setup), or, if the app is "+
			"moving to the new org on purpose, run `starter sync --integration %s --allow-org-change` once; nothing was written or deleted",
		v.AppID, base.OrgID, integ, in.Integration, v.OrgID, in.Integration), activities.ErrTypeOrgMismatch, nil)
}
