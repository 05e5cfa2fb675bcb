package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"jcsync/internal/sim/control"
	"jcsync/internal/sim/jumpcloudsim"
)

// printFigures writes one scenario's table; for a churn run, the still sync's and then the churn's.
func printFigures(w io.Writer, sc scenario, r figures) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "scenario %s: %d users, %d groups, %d admins, %d apps; latency %s, rate limit %s\n",
		sc.Name, sc.Users, sc.Groups, sc.Admins, sc.Apps, sc.Latency, rateText(sc.RPS))
	if r.Churn != nil {
		fmt.Fprintf(tw, "  the sync of the still org, before the churn:\n")
	}
	eps := make([]string, 0, len(r.ByEndpoint))
	for ep := range r.ByEndpoint {
		eps = append(eps, ep)
	}
	sort.Strings(eps)
	for _, ep := range eps {
		fmt.Fprintf(tw, "  JumpCloud %s\t%d\n", ep, r.ByEndpoint[ep])
	}
	fmt.Fprintf(tw, "  JumpCloud requests (minimum)\t%d (%d)\n", r.JumpCloudRequests, r.MinRequests)
	fmt.Fprintf(tw, "  Authomize requests\t%d\n", r.AuthomizeRequests)
	fmt.Fprintf(tw, "  429s received\t%d (%.2f%%)\n", r.Status429, pct(r.Status429, r.JumpCloudRequests))
	fmt.Fprintf(tw, "  pages fetched twice\t%d\n", r.PagesRefetched)
	fmt.Fprintf(tw, "  wall time\t%s\n", r.Wall.Round(time.Millisecond))
	if r.LowerBound > 0 {
		fmt.Fprintf(tw, "  lower bound (requests ÷ rate)\t%s\n", r.LowerBound.Round(time.Millisecond))
		fmt.Fprintf(tw, "  wall ÷ bound\t%.3f\n", float64(r.Wall)/float64(r.LowerBound))
	} else {
		fmt.Fprintf(tw, "  lower bound\tnone (no rate limit, no latency: CPU-bound)\n")
	}
	fmt.Fprintf(tw, "  worker peak RSS\t%.1f MB\n", r.WorkerPeakRSSMB)
	fmt.Fprintf(tw, "  worker CPU time\t%s\n", r.WorkerCPU.Round(time.Millisecond))
	fmt.Fprintf(tw, "  workflow history events\t%d\n", r.HistoryEvents)
	fmt.Fprintf(tw, "  Authomize snapshot exact\t%v\n", r.Exact)
	tw.Flush()
	fmt.Fprintln(w)
	if r.Churn != nil {
		printChurn(w, sc, r.Churn)
	}
}

// printChurn writes a churn run's table: one row per sync, then the summary.
func printChurn(w io.Writer, sc scenario, r *churnReport) {
	fmt.Fprintf(w, "scenario %s: %d syncs back to back while the org changes once every %s (page concurrency %d)\n",
		sc.Name, sc.ChurnSyncs, r.Every, sc.PageConcurrency)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  sync\tchanges\tJumpCloud requests\textra\trepair reads\tlists changed\tstable objects\tmissing\twall\tswept\n")
	row := func(name string, c syncFigures, extra string) {
		swept := "yes"
		if !c.Swept {
			swept = "no: " + c.SweepSkipped
		}
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", name, c.Changes, c.JumpCloudRequests, extra,
			c.RepairReads, c.ListsChanged, c.Stable, c.Missing, c.Wall.Round(100*time.Millisecond), swept)
	}
	row("still", r.Still, "-")
	for i, c := range r.Syncs {
		row(strconv.Itoa(i+1), c, fmt.Sprintf("%+d", c.JumpCloudRequests-r.Still.JumpCloudRequests))
	}
	tw.Flush()

	s := r.summary()
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  sweeps run\t%d of %d\n", s.Swept, s.Syncs)
	fmt.Fprintf(tw, "  extra JumpCloud requests per churned sync (mean)\t%+.1f (%+.2f%% of the still sync's %d)\n",
		s.ExtraRequests, s.ExtraPercent, r.Still.JumpCloudRequests)
	fmt.Fprintf(tw, "  repair reads per churned sync (mean)\t%.1f\n", s.RepairReads)
	fmt.Fprintf(tw, "  changes during the syncs\t%d\n", s.Changes)
	if r.Changes.Total > 0 {
		fmt.Fprintf(tw, "  changes by kind (whole churn)\t%s\n", kindsText(r.Changes))
	}
	fmt.Fprintf(tw, "  stable objects missing (must be 0)\t%d (of %d checked over %d syncs)\n", s.Missing, s.Stable, s.Syncs)
	for _, c := range r.Syncs {
		for _, m := range c.Sample {
			fmt.Fprintf(tw, "    %s\n", m)
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// kindsText lists a churn's changes in jumpcloudsim.ChurnKinds' order.
func kindsText(t control.ChurnTotals) string {
	var parts []string
	for _, k := range jumpcloudsim.ChurnKinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, t.ByKind[k]))
	}
	return fmt.Sprintf("%d: %s", t.Total, strings.Join(parts, ", "))
}

func rateText(rps float64) string {
	if rps <= 0 {
		return "none"
	}
	return fmt.Sprintf("%g req/s", rps)
}

func pct(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}
