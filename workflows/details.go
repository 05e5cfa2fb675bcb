package workflows

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/workflow"

	"jcsync/activities"
	"jcsync/internal/counts"
	"jcsync/internal/temporalnames"
)

// The live current details (workflow.SetCurrentDetails) are redrawn from Progress whenever
// the workflow changes it: at each phase, when a stage starts and when it ends. They are
// kept in the workflow's memory and read through the metadata query, so redrawing them adds
// no history event. The workflow wakes only on events it has anyway (activity completions):
// it cannot see heartbeats, so a running stage shows when it started, and its page-level
// progress lives in its heartbeat checkpoint (the Web UI's pending activity, `starter status`).

// publish redraws the current details.
func (p *Progress) publish() {
	workflow.SetCurrentDetails(p.ctx, p.markdown())
}

// enter starts a phase.
func (p *Progress) enter(phase string) {
	p.Phase, p.phaseStarted = phase, workflow.Now(p.ctx)
	p.publish()
}

// maxWarnings bounds the warnings the details list; the result has every one.
const maxWarnings = 8

// markdown is the current details: the phase or the outcome, the org and app once known,
// each stage's state and counts, and the warnings. Counts and names of lists only: no
// record, no email.
func (p *Progress) markdown() string {
	var b strings.Builder
	if p.outcome != "" {
		fmt.Fprintf(&b, "**Outcome: %s.** %s\n\n", p.outcome, p.outcomeWords())
	} else {
		fmt.Fprintf(&b, "**Phase: %s** (since %s; started %s)\n\n", p.Phase, clock(p.phaseSince()), clock(p.Started))
		if p.Phase == phaseWait {
			fmt.Fprintf(&b, "The previous sync wrote to Authomize moments ago. This sync starts writing at %s, so that its sweep removes everything that sync wrote and JumpCloud no longer has.\n\n", clock(p.waitUntil))
		}
	}
	if v := p.validated; v != nil {
		fmt.Fprintf(&b, "JumpCloud org `%s` → Authomize app %s", orgOf(v), appOf(v))
		if v.RateCeiling > 0 {
			fmt.Fprintf(&b, " · rate ceiling %g req/s", v.RateCeiling)
		}
		b.WriteString("\n\n")
	}
	for _, s := range p.Stages {
		fmt.Fprintf(&b, "- **%s**: %s\n", s.Stage, stageLine(s, p.DryRun))
	}
	if len(p.rejected) > 0 {
		tolerated := "none tolerated: the sweep is refused"
		if n := sum(p.rejected); n <= p.maxRejected {
			tolerated = fmt.Sprintf("within the %d tolerated (`--max-rejected`): their earlier copies are swept", p.maxRejected)
		} else if p.maxRejected > 0 {
			tolerated = fmt.Sprintf("more than the %d tolerated (`--max-rejected`): the sweep is refused", p.maxRejected)
		}
		fmt.Fprintf(&b, "\n**Rejected by Authomize**: %s; %s\n", countsLine(p.rejected), tolerated)
	}
	if r := p.result; r != nil {
		fmt.Fprintf(&b, "\nTotal: read %s; %s %s; JumpCloud %d requests (%d retries), Authomize %d (%d retries); %s\n",
			countsLine(r.Read, "users", "groups", "apps"), uploadedWord(p.DryRun), fmtInt(sum(r.Uploaded)), r.JumpCloudRequests, r.JumpCloudRetries,
			r.AuthomizeRequests, r.AuthomizeRetries, roundDuration(r.Duration))
		if r.SweepWait > 0 {
			fmt.Fprintf(&b, "\nWaited %s before writing, so that the sweep could remove what the previous sync wrote moments earlier.\n", roundDuration(r.SweepWait))
		}
		if n := len(r.Warnings); n > 0 {
			b.WriteString("\nWarnings:\n")
			for i, w := range r.Warnings {
				if i == maxWarnings {
					fmt.Fprintf(&b, "- … and %d more (see the result)\n", n-maxWarnings)
					break
				}
				fmt.Fprintf(&b, "- %s\n", clip(w, 300))
			}
		}
	}
	if p.outcome == "" && p.running() {
		fmt.Fprintf(&b, "\nPage-level progress of a running stage: `starter status --integration %s`, or the pending activity's heartbeat details below.\n", p.Integration)
	}
	return b.String()
}

// outcomeWords says how the sync ended.
func (p *Progress) outcomeWords() string {
	r := p.result
	switch p.outcome {
	case temporalnames.OutcomeSwept:
		return fmt.Sprintf("Removed from Authomize what JumpCloud no longer has (records last written before %s).", r.SweepCutoff.UTC().Format(time.RFC3339))
	case temporalnames.OutcomeSweepSkipped:
		return "Everything read was uploaded, but nothing was deleted: " + clip(r.SweepSkipped, 400)
	case temporalnames.OutcomeDryRun:
		return "Read and transformed everything; nothing was written or deleted."
	case temporalnames.OutcomeNotRun:
		return r.NotRun
	case temporalnames.OutcomeRefused:
		if p.failedIn == "baseline" {
			return "Refused before writing anything; nothing was deleted: " + clip(errText(p.err), 500)
		}
		return "Everything read was uploaded; the sweep was refused, nothing was deleted: " + clip(errText(p.err), 500)
	}
	return fmt.Sprintf("Failed in %s; nothing was deleted: %s", p.failedIn, clip(errText(p.err), 500))
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// uploadedWord names what the upload counts are: a dry run sends nothing, its counts are what
// a sync would have sent.
func uploadedWord(dryRun bool) string {
	if dryRun {
		return "would upload"
	}
	return "uploaded"
}

// stageLine is one stage's state: done with its counts, running since when, or waiting.
func stageLine(s StageProgress, dryRun bool) string {
	switch s.Status {
	case StatusRunning:
		return "running since " + clock(s.Started)
	case StatusDone:
		if s.Result == nil {
			return "done"
		}
		c := s.Result.Counts
		line := fmt.Sprintf("done in %s: read %s in %s; %s %s; JumpCloud %d requests (%d retries), Authomize %d (%d retries)",
			roundDuration(s.Finished.Sub(s.Started)), countsLine(c.Read), plural(c.Pages, "page"), uploadedWord(dryRun), fmtInt(sum(c.Uploaded)),
			c.JumpCloudRequests, c.JumpCloudRetries, c.AuthomizeRequests, c.AuthomizeRetries)
		if c.Attempts > 1 {
			line += fmt.Sprintf("; %d attempts, %d pages resumed", c.Attempts, c.PagesResumed)
		}
		return line + pacing(*s.Result)
	case StatusFailed:
		return "failed: " + clip(s.Error, 300)
	}
	return s.Status
}

// pacing describes the JumpCloud request rate a finished stage settled at; results of workers
// that did not pace report none.
func pacing(r activities.StageResult) string {
	if r.Pacing == nil || r.Pacing.JumpCloud.Rate <= 0 {
		return ""
	}
	return "; JumpCloud paced at " + r.Pacing.JumpCloud.String()
}

// countsLine is "2,000 users, 60 groups" over the kinds given (every kind when none).
func countsLine(c counts.Counts, kinds ...string) string {
	if len(kinds) == 0 {
		for k := range c {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
	}
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmtInt(c[k])+" "+k)
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

func sum(c counts.Counts) int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// fmtInt writes n with thousands separators.
func fmtInt(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + fmtInt(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmtInt(n) + " " + what + "s"
}

// roundDuration keeps a tenth of a second under a minute, seconds above.
func roundDuration(d time.Duration) string {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("15:04:05 UTC")
}

// clip cuts s to at most n bytes, on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func (p *Progress) running() bool {
	for _, s := range p.Stages {
		if s.Status == StatusRunning {
			return true
		}
	}
	return false
}

// phaseSince is when the current phase began.
func (p *Progress) phaseSince() time.Time {
	t := p.phaseStarted
	if t.IsZero() {
		t = p.Started
	}
	return t
}
