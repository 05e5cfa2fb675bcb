package workflows

import (
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"jcsync/activities"
	"jcsync/internal/counts"
	"jcsync/internal/temporalnames"
)

// stageSummaries are the stage activities' one-line summaries, shown in the Web UI's event
// list. A summary is fixed when the activity is scheduled, before it has read anything, so it
// says what the stage does; what it did goes into the current details.
var stageSummaries = map[string]string{
	activities.StageUsers:  "users: reading and uploading JumpCloud users",
	activities.StageAdmins: "admins: reading and uploading console administrators and their roles",
	activities.StageGroups: "groups: reading and uploading user groups and their members",
	activities.StageApps:   "apps: reading and uploading SSO apps and who may use them",
}

// Summaries of the other activities.
const (
	summaryValidate       = "validate: checking the JumpCloud credential and org, the Authomize token and app"
	summaryBaseline       = "baseline: reading what the last complete sync read, from the Authomize app"
	summarySweep          = "sweep: removing from Authomize what JumpCloud no longer has"
	summaryRecordBaseline = "baseline: recording this sync's counts for the next one's shrink check"
	summaryPause          = "schedule: pausing it, as this failure would repeat on every run"
)

// withSummary is ctx whose activities carry summary.
func withSummary(ctx workflow.Context, summary string) workflow.Context {
	ao := workflow.GetActivityOptions(ctx)
	ao.Summary = summary
	return workflow.WithActivityOptions(ctx, ao)
}

// short is ctx with the options of a short activity, and its summary.
func (p *Progress) short(ctx workflow.Context, attempts int32, summary string) workflow.Context {
	return withSummary(workflow.WithActivityOptions(ctx, shortActivity(attempts, p.heartbeat)), summary)
}

// check is ctx with the options of the credential check: a short activity on the checks
// queue of the run's task queue (checksQueue), so that a check, seconds long, never waits
// for a slot behind hours-long phases.
func (p *Progress) check(ctx workflow.Context) workflow.Context {
	ao := shortActivity(3, p.heartbeat)
	ao.TaskQueue, ao.Summary = checksQueue(ctx), summaryValidate
	return workflow.WithActivityOptions(ctx, ao)
}

// Summary is the one-line static summary of a sync: the integration, the JumpCloud org and
// the Authomize app when v (the credential check) names them, and whether it is a dry run.
func Summary(in SyncInput, v *activities.ValidateResult) string {
	mode := "sync"
	if in.DryRun {
		mode = "dry run (writes nothing)"
	}
	if v == nil {
		return fmt.Sprintf("%s · JumpCloud → Authomize %s · org and app as the worker's config names them (see the current details)", in.Integration, mode)
	}
	return fmt.Sprintf("%s · JumpCloud org %s → Authomize app %s · %s", in.Integration, orgOf(v), appOf(v), mode)
}

func orgOf(v *activities.ValidateResult) string {
	if v.OrgID == "" {
		return "(the credential's own)"
	}
	return v.OrgID
}

func appOf(v *activities.ValidateResult) string {
	switch {
	case v.AppName != "" && v.AppID != "":
		return fmt.Sprintf("%s (%s)", v.AppName, v.AppID)
	case v.AppID != "":
		return v.AppID
	}
	return "(none configured)"
}

// Details is the static details of a sync, in Markdown: what it will do and the settings that
// decide whether it deletes anything.
func Details(in SyncInput, v *activities.ValidateResult) string {
	in = in.withDefaults()
	var b strings.Builder
	fmt.Fprintf(&b, "### JumpCloud → Authomize: integration `%s`\n\n", in.Integration)
	if in.DryRun {
		b.WriteString("**Dry run**: reads and transforms the JumpCloud org's users, administrators and roles, groups and members, SSO apps and their bindings, and reports what would be uploaded. Nothing is written to Authomize and nothing is deleted.\n\n")
	} else {
		b.WriteString("Reads the JumpCloud org's users, administrators and roles, groups and members, SSO apps and their bindings; uploads them to the Authomize app; then **sweeps**: removes from the app what JumpCloud no longer has, only when the read is complete and comparable with the last complete sync.\n\n")
	}
	if v != nil {
		fmt.Fprintf(&b, "- JumpCloud org: `%s` (%s)\n", orgOf(v), credentialOf(v))
		fmt.Fprintf(&b, "- Authomize app: %s", appOf(v))
		if v.Tenant != "" {
			fmt.Fprintf(&b, ", tenant `%s`", v.Tenant)
		}
		b.WriteString("\n")
	} else {
		b.WriteString("- JumpCloud org and Authomize app: as the worker's configuration names them; the current details show them once the credentials are checked\n")
	}
	if !in.DryRun {
		shrink := fmt.Sprintf("the sweep is refused when users, groups, apps, members, admins or bindings shrank by more than %d %% (and more than %d) since the last complete sync", in.MaxShrinkPercent, MinShrinkItems)
		if in.AllowShrink {
			shrink = "allowed for this run (`--allow-shrink`): the sweep runs whatever the shrink, and records a new baseline"
		}
		fmt.Fprintf(&b, "- Shrink limit: %s\n", shrink)
		if in.AllowEmpty {
			b.WriteString("- An org without users may be swept (`--allow-empty`)\n")
		}
		if in.AllowOrgChange {
			b.WriteString("- The Authomize app may move to this org from another (`--allow-org-change`): the other org's records are swept\n")
		}
		fmt.Fprintf(&b, "- Sweep cutoff: %s before the sync's first Authomize write\n", in.SweepMargin)
		if in.MaxRejected > 0 {
			// Only when set: the details of runs started without it stay as they were.
			fmt.Fprintf(&b, "- Rejected items tolerated: the sweep runs when Authomize did not accept at most %d of what was sent (`--max-rejected`); by default any rejection refuses it\n", in.MaxRejected)
		}
	}
	rate := "the worker's `--jumpcloud-rps`, or the integration's `rps`"
	if v != nil && v.RateCeiling > 0 {
		rate = fmt.Sprintf("%g requests/s for the org", v.RateCeiling)
	}
	fmt.Fprintf(&b, "- JumpCloud rate ceiling: %s\n", rate)
	fmt.Fprintf(&b, "- A stage gives up after %d attempts in a row without progress; a dead worker's stage moves within %s; a phase fails when its attempts have taken %s in all\n", in.StageAttempts, in.HeartbeatTimeout, in.PhaseDeadline)
	fmt.Fprintf(&b, "\nLive progress: the current details below, and `starter status --integration %s`. How a sync works and why it may refuse to sweep: the README's \"How a sync works\" and DESIGN.md's \"The sweep\".\n", in.Integration)
	return b.String()
}

func credentialOf(v *activities.ValidateResult) string {
	if v.Credential == "" {
		return "credential accepted"
	}
	return v.Credential + " accepted"
}

// outcomeOf is the outcome of a sync that returned r, err.
func outcomeOf(r *SyncResult, err error) string {
	var appErr *temporal.ApplicationError
	switch {
	case err != nil && errors.As(err, &appErr) && (appErr.Type() == activities.ErrTypeSweepRefused || appErr.Type() == activities.ErrTypeOrgMismatch):
		return temporalnames.OutcomeRefused
	case err != nil || r == nil:
		return temporalnames.OutcomeFailed
	case r.NotRun != "":
		return temporalnames.OutcomeNotRun
	case r.DryRun:
		return temporalnames.OutcomeDryRun
	case r.Swept:
		return temporalnames.OutcomeSwept
	}
	return temporalnames.OutcomeSweepSkipped
}

// setIntegration sets the search attribute that lets the Web UI and the starter find the
// integration's syncs (whoever started the workflow need not have set it). It comes after
// the credential check, which also checks that the namespace holds the attributes.
func setIntegration(ctx workflow.Context, in SyncInput) error {
	if err := workflow.UpsertTypedSearchAttributes(ctx, temporalnames.IntegrationKey.ValueSet(in.Integration)); err != nil {
		return fmt.Errorf("set search attribute: %w", err)
	}
	return nil
}

// searchAttributesMissing tells the credential check's failure for a namespace without the
// connector's search attributes: a sync that ends so upserts none, since Temporal would
// fail that workflow task again and again.
func searchAttributesMissing(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeSearchAttributes
}

// upsertOutcome sets the outcome and users search attributes of a sync. A failure to set
// them is logged: the sync's own outcome stands. (One Int attribute only: SQL visibility
// allows three per namespace, shared with whatever else runs there.)
func upsertOutcome(ctx workflow.Context, outcome string, read counts.Counts) {
	err := workflow.UpsertTypedSearchAttributes(ctx,
		temporalnames.OutcomeKey.ValueSet(outcome),
		temporalnames.UsersKey.ValueSet(int64(read["users"])))
	if err != nil {
		workflow.GetLogger(ctx).Warn("could not set the outcome search attributes", "error", err)
	}
}

// upsertOutcomeOnly sets the outcome search attribute of a run that read nothing: a hand-over
// whose sync never ran.
func upsertOutcomeOnly(ctx workflow.Context, outcome string) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, temporalnames.OutcomeKey.ValueSet(outcome)); err != nil {
		workflow.GetLogger(ctx).Warn("could not set the outcome search attribute", "error", err)
	}
}

// end records how the sync ended: the search attributes and the final current details. r is
// nil when it failed.
func (p *Progress) end(r *SyncResult, err error) {
	p.outcome, p.result, p.err = outcomeOf(r, err), r, err
	read := p.readSoFar()
	if r != nil {
		read = r.Read
	}
	if !searchAttributesMissing(err) {
		upsertOutcome(p.ctx, p.outcome, read)
	}
	p.publish()
}

// readSoFar adds up what the finished stages read.
func (p *Progress) readSoFar() counts.Counts {
	read := counts.Counts{}
	for _, s := range p.Stages {
		if s.Result != nil {
			read = read.Merge(s.Result.Counts.Read)
		}
	}
	return read
}
