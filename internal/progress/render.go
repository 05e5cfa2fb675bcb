package progress

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"jcsync/workflows"
)

// IsTerminal reports whether w is a character device (a terminal), where a progress bar
// can redraw itself; pipes and files get plain lines instead.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Renderer shows successive Views: one redrawn line on a terminal, otherwise a plain line
// whenever the picture changes.
type Renderer struct {
	w    io.Writer
	tty  bool
	last string
}

// NewRenderer renders to w, detecting whether it is a terminal.
func NewRenderer(w io.Writer) *Renderer { return &Renderer{w: w, tty: IsTerminal(w)} }

// NewRendererTTY is NewRenderer with the terminal decision made by the caller (tests).
func NewRendererTTY(w io.Writer, tty bool) *Renderer { return &Renderer{w: w, tty: tty} }

// Show renders v.
func (r *Renderer) Show(v View) {
	line := Line(v, r.tty)
	if line == r.last {
		return
	}
	r.last = line
	if r.tty {
		// Carriage return and erase-line redraw the bar in place.
		fmt.Fprintf(r.w, "\r\033[K%s", line)
		return
	}
	fmt.Fprintln(r.w, line)
}

// Finish ends the bar's line on a terminal.
func (r *Renderer) Finish() {
	if r.tty && r.last != "" {
		fmt.Fprintln(r.w)
	}
}

const barWidth = 20

// Line is a one-line picture of a sync: a bar of finished stages (on a terminal), the phase,
// the running totals and each stage's state.
func Line(v View, bar bool) string {
	var b strings.Builder
	total := len(v.Stages)
	done := v.Done()
	if bar && total > 0 {
		filled := done * barWidth / total
		b.WriteString("[" + strings.Repeat("#", filled) + strings.Repeat("-", barWidth-filled) + "] ")
	}
	name := v.Integration
	if name == "" {
		name = v.WorkflowID
	}
	phase := v.Phase
	if phase == "" {
		phase = strings.ToLower(v.Status)
	}
	read, uploaded := v.Totals()
	fmt.Fprintf(&b, "%s: %s, %d/%d stages, %d read, %d uploaded", name, phase, done, total, read, uploaded)
	var parts []string
	for _, s := range v.Stages {
		switch s.Status {
		case workflows.StatusRunning:
			p := s.Stage + " " + itemsOf(s)
			if s.Attempt > 1 {
				p += fmt.Sprintf(" (attempt %d)", s.Attempt)
			}
			parts = append(parts, p)
		case workflows.StatusFailed:
			parts = append(parts, s.Stage+" failed")
		}
	}
	if len(parts) > 0 {
		b.WriteString(" | " + strings.Join(parts, ", "))
	}
	if v.QueryError != "" && v.Running() {
		b.WriteString(" | " + v.QueryError)
	}
	return b.String()
}

func itemsOf(s Stage) string {
	n := 0
	for _, c := range s.Counts.Read {
		n += c
	}
	return fmt.Sprintf("%d", n)
}

// Summary formats.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// PrintSummary writes a finished sync's result as text or JSON.
func PrintSummary(w io.Writer, r *workflows.SyncResult, format string) error {
	if r == nil {
		return fmt.Errorf("no result to print")
	}
	if format == FormatJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("write summary: %w", err)
		}
		return nil
	}
	if r.NotRun != "" {
		fmt.Fprintf(w, "Sync of %s %s\n", r.Integration, r.NotRun)
		return nil
	}
	title := "Sync"
	if r.DryRun {
		title = "Dry run"
	}
	fmt.Fprintf(w, "%s of %s finished in %s\n\n", title, r.Integration, r.Duration.Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tread\tuploaded\t")
	for _, k := range kinds(r.Read, r.Uploaded) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t\n", k, r.Read[k], r.Uploaded[k])
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	fmt.Fprintln(w)
	if len(r.Skipped) > 0 {
		fmt.Fprintf(w, "skipped: %s\n", counts(r.Skipped))
	}
	if len(r.Adjusted) > 0 {
		fmt.Fprintf(w, "adjusted: %s\n", counts(r.Adjusted))
	}
	fmt.Fprintf(w, "requests: JumpCloud %d (%d retries), Authomize %d (%d retries); pages resumed %d\n",
		r.JumpCloudRequests, r.JumpCloudRetries, r.AuthomizeRequests, r.AuthomizeRetries, r.PagesResumed)
	if r.InvalidReferences > 0 {
		fmt.Fprintf(w, "invalid references reported by Authomize: %d\n", r.InvalidReferences)
	}
	if r.ListsChanged > 0 {
		fmt.Fprintf(w, "JumpCloud changed during the read: %d lists moved, %d pages read again to keep the read complete\n", r.ListsChanged, r.RepairReads)
	}
	if r.Baseline != "" {
		fmt.Fprintf(w, "baseline: %s\n", r.Baseline)
	}
	var stages []string
	for _, s := range r.Stages {
		stages = append(stages, fmt.Sprintf("%s %s", s.Stage, s.Duration.Round(time.Millisecond)))
	}
	if len(stages) > 0 {
		fmt.Fprintf(w, "stages: %s\n", strings.Join(stages, ", "))
	}
	switch {
	case r.DryRun:
		fmt.Fprintln(w, "sweep: not run (dry run: nothing was written)")
	case r.Swept:
		fmt.Fprintf(w, "sweep: removed what JumpCloud no longer has (modified before %s)\n", r.SweepCutoff.UTC().Format(time.RFC3339))
	case r.SweepSkipped != "":
		fmt.Fprintln(w, "sweep: skipped, nothing was deleted (the warning below says why)")
	default:
		fmt.Fprintln(w, "sweep: not run")
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	return nil
}

func kinds(ms ...map[string]int) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range ms {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

func counts(m map[string]int) string {
	var parts []string
	for _, k := range kinds(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
