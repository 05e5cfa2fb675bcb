package activities

import (
	"context"
	"fmt"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"jcsync/internal/config"
	"jcsync/internal/pacer"
	"jcsync/internal/temporalnames"
)

// MemoPacing is the memo key under which a sync keeps what its phases learned of the org's
// JumpCloud limit (OrgPacing): the next sync of the integration, on any worker, starts there.
const MemoPacing = "jcsync.pacing"

// recentRuns is how many of the integration's latest sync runs are searched for a pacing
// memo: a run that failed before its first phase ended left none, and a few such in a row
// still leave the rate learned before them.
const recentRuns = 10

// OrgPacing is what a phase learned of its JumpCloud org's limit: the org pacer's state when
// the phase ended. Org names the org it belongs to (OrgKey), so a record of an integration
// since moved to another org is not used.
type OrgPacing struct {
	Org       string      `json:"org"`
	JumpCloud pacer.State `json:"jumpcloud"`
}

// OrgKey names the JumpCloud org an integration reads: its API's base URL and org id.
func OrgKey(in config.Integration) string { return in.JumpCloud.BaseURL + "|" + in.JumpCloud.OrgID }

// orgPacing is the org pacer's state now, for the phase's result.
func (a *Activities) orgPacing(in config.Integration) *OrgPacing {
	p, err := a.orgPacer(in)
	if err != nil {
		return nil
	}
	return &OrgPacing{Org: OrgKey(in), JumpCloud: p.State()}
}

// seedOrgPacer starts the org's pacer on this worker from what an earlier phase learned:
// the one the workflow passes (the phase before, which may have run on another worker), or
// else, for the first phase, the newest record among the integration's recent sync runs in
// Temporal (one visibility query per sync). A record of another org is ignored; a pacer that
// learned of the limit after the record was taken keeps what it knows (pacer.Seed), as does
// a pacer given its own state back. Failing to find one costs only the start: the pacer then
// learns the limit as on a first sync.
func (a *Activities) seedOrgPacer(ctx context.Context, integration string, given *OrgPacing) {
	in, err := a.integration(integration)
	if err != nil {
		return // the stages fail with the configuration error
	}
	p, err := a.orgPacer(in)
	if err != nil {
		return
	}
	log := a.logger(ctx).WithField("integration", integration)
	rec, from := given, "the phase before"
	if rec == nil || rec.Org != OrgKey(in) {
		rec, from = nil, "an earlier sync"
		if rec, err = a.lastOrgPacing(ctx, integration, OrgKey(in)); err != nil {
			log.WithError(err).Warn("the org's learned JumpCloud rate could not be read from Temporal; its pacer starts afresh")
			return
		}
	}
	if rec == nil {
		return
	}
	if p.Seed(rec.JumpCloud) {
		s := rec.JumpCloud
		log.WithFields(map[string]any{
			"rate": s.Rate, "estimate": s.Estimate, "inFlightLimit": s.InFlightLimit, "learnedAt": s.At, "from": from,
		}).Info("the org's JumpCloud pacer starts at the rate learned before")
	}
}

// lastOrgPacing finds the newest pacing record of org among the integration's latest sync
// runs (their memo, MemoPacing); nil when none has one. It asks Temporal's visibility store
// once, and JumpCloud nothing.
func (a *Activities) lastOrgPacing(ctx context.Context, integration, org string) (*OrgPacing, error) {
	if a.Temporal == nil {
		return nil, nil
	}
	resp, err := a.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: temporalnames.SyncRunsQuery(integration), PageSize: recentRuns,
	})
	if err != nil {
		return nil, fmt.Errorf("list the recent syncs of %q: %w", integration, err)
	}
	dc := a.DataConverter
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	var best *OrgPacing
	for _, ex := range resp.GetExecutions() {
		p, ok := ex.GetMemo().GetFields()[MemoPacing]
		if !ok {
			continue
		}
		var rec OrgPacing
		if err := dc.FromPayload(p, &rec); err != nil {
			return nil, fmt.Errorf("read the pacing memo of sync run %s: %w", ex.GetExecution().GetRunId(), err)
		}
		if rec.Org != org || !rec.JumpCloud.Known() {
			continue
		}
		if best == nil || rec.JumpCloud.At.After(best.JumpCloud.At) {
			best = &rec
		}
	}
	return best, nil
}
