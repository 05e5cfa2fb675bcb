package progress

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"jcsync/workflows"
)

// IsTerminal reports whether w is a terminal, where progress bars can redraw themselves;
// pipes and files get plain lines instead.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// termWidth is the width of w when it is a terminal, else a default.
func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if width, _, err := term.GetSize(int(f.Fd())); err == nil && width > 0 {
			return width
		}
	}
	return 100
}

// Renderer shows successive Views: on a terminal, a line with the sync's phase and totals
// above one bar per stage, with its rate and estimated time left (github.com/vbauerster/mpb);
// otherwise a plain line whenever the picture changes.
type Renderer struct {
	w    io.Writer
	tty  bool
	last string

	// The terminal's bars, made at the first Show.
	mu     sync.Mutex
	header string
	p      *mpb.Progress
	top    *mpb.Bar
	bars   map[string]*mpb.Bar
}

// NewRenderer renders to w, detecting whether it is a terminal.
func NewRenderer(w io.Writer) *Renderer { return &Renderer{w: w, tty: IsTerminal(w)} }

// NewRendererTTY is NewRenderer with the terminal decision made by the caller (tests).
func NewRendererTTY(w io.Writer, tty bool) *Renderer { return &Renderer{w: w, tty: tty} }

// Show renders v.
func (r *Renderer) Show(v View) {
	line := Line(v, r.tty)
	if !r.tty {
		if line != r.last {
			r.last = line
			fmt.Fprintln(r.w, line)
		}
		return
	}
	r.mu.Lock()
	r.header, r.last = line, line
	r.mu.Unlock()
	if r.p == nil {
		r.start()
	}
	for _, s := range v.Stages {
		r.stage(s)
	}
}

// start makes the terminal's bars: the header line first. The cursor goes back to the start
// of a cleared line, so the bars never mix with a partial line above them.
func (r *Renderer) start() {
	fmt.Fprint(r.w, "\r\033[K")
	r.p = mpb.New(mpb.WithOutput(r.w), mpb.WithWidth(termWidth(r.w)), mpb.WithAutoRefresh(), mpb.WithRefreshRate(200*time.Millisecond))
	r.top = r.p.New(1, mpb.NopStyle(), mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.header
	})))
	r.bars = map[string]*mpb.Bar{}
}

// stage moves the bar of one stage: items read of the stage's list against the list's total
// (from its checkpoint), complete when the stage is done.
func (r *Renderer) stage(s Stage) {
	b := r.bars[s.Stage]
	if b == nil {
		if s.Status == workflows.StatusPending || s.Status == "" {
			return // a bar appears when its stage starts, so that its rate and ETA are its own
		}
		b = r.p.AddBar(0,
			mpb.PrependDecorators(decor.Name(s.Stage, decor.WC{C: decor.DindentRight | decor.DextraSpace, W: 7}),
				decor.CountersNoUnit("%d / %d", decor.WCSyncWidth)),
			mpb.AppendDecorators(decor.AverageSpeed(0, "%.0f/s", decor.WCSyncSpace),
				decor.OnComplete(decor.AverageETA(decor.ET_STYLE_GO, decor.WCSyncSpace), "done")))
		r.bars[s.Stage] = b
	}
	if b.AbortedOrCompleted() {
		return
	}
	cur := int64(s.Counts.Read[s.Stage])
	switch s.Status {
	case workflows.StatusDone:
		b.SetCurrent(cur)
		b.SetTotal(cur, true)
	case workflows.StatusFailed, workflows.StatusCancelled, workflows.StatusSkipped:
		b.Abort(false)
	default:
		total := int64(s.Total)
		if total < cur+1 {
			total = cur + 1 // unknown, or grown: the bar stays open until the stage ends
		}
		b.SetTotal(total, false)
		b.SetCurrent(cur)
	}
}

// Finish ends the progress display: on a terminal, the bars' last picture stays.
func (r *Renderer) Finish() {
	if r.p == nil {
		return
	}
	for _, b := range r.bars {
		if !b.AbortedOrCompleted() {
			b.Abort(false)
		}
	}
	r.top.SetTotal(1, true)
	r.p.Wait()
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
	fmt.Fprintf(&b, "%s: %s, %d/%d stages, %d read, %d %s", name, phase, done, total, read, uploaded, uploadedWord(v.DryRun))
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
		if err := enc.Encode(ResultJSON(r)); err != nil {
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
	fmt.Fprintf(tw, "kind\tread\t%s\t\n", uploadedWord(r.DryRun))
	for _, k := range kinds(r.Read, r.Uploaded) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t\n", k, r.Read[k], r.Uploaded[k])
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	fmt.Fprintln(w)
	if len(r.Rejected) > 0 {
		// Sent but not taken by Authomize: within the run's --max-rejected, or the run
		// would have been refused.
		fmt.Fprintf(w, "rejected by Authomize: %s\n", counts(r.Rejected))
	}
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
		if r.SweepWait > 0 {
			fmt.Fprintf(w, "sweep: waited %s before writing, so that it also removed what the previous sync wrote moments earlier\n", r.SweepWait.Round(time.Second))
		}
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

// uploadedWord names the upload counts: a dry run sends nothing, its counts are what a sync
// would have sent.
func uploadedWord(dryRun bool) string {
	if dryRun {
		return "would upload"
	}
	return "uploaded"
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
