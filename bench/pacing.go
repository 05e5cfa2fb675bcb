package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// The pacing scenarios give the worker no rate (no --jumpcloud-max-rps, the default page
// concurrency), as production does: JumpCloud publishes no limit, so each org's pacer must
// find it.

// Targets of unknown-limit: a sync takes at most a quarter longer than the minimum requests
// at the limit, and at most 3 % of the requests are refused.
const (
	targetRatio     = 1.25
	targetShare429  = 0.03
	pacingLatency   = 40 * time.Millisecond
	latencyOnlyWait = 150 * time.Millisecond
)

// limitRow is one sync of unknown-limit: the org against one hidden limit.
type limitRow struct {
	Limit float64 `json:"limit"`
	figures
	// Bound is the minimum requests at the limit; Ratio is the wall time over it.
	Bound time.Duration `json:"bound"`
	Ratio float64       `json:"ratio"`
	// Share429 is the 429s over every JumpCloud request the sync made.
	Share429 float64 `json:"share429"`
}

type unknownLimitReport struct {
	Org  scenario   `json:"org"`
	Rows []limitRow `json:"rows"`
}

// runUnknownLimit syncs the org once per hidden limit, each in a fresh stack (a fresh pacer,
// as on a worker that never met the org).
func runUnknownLimit(ctx context.Context, o options) (report, error) {
	rep := &unknownLimitReport{Org: o.org}
	for _, limit := range o.limits {
		sc := o.org
		sc.Name = fmt.Sprintf("unknown-limit-%g", limit)
		sc.RPS, sc.Unknown, sc.Latency, sc.PageConcurrency = limit, true, pacingLatency, 0
		fmt.Fprintf(o.logw, "bench: running %s (%d users, %d groups, %d apps; JumpCloud's hidden limit %g req/s)\n",
			sc.Name, sc.Users, sc.Groups, sc.Apps, limit)
		row, err := runScenario(ctx, o.bin, sc, o.logw)
		if err != nil {
			return rep, fmt.Errorf("limit %g req/s: %w", limit, err)
		}
		r := limitRow{Limit: limit, figures: row}
		r.Bound = time.Duration(float64(row.MinRequests) / limit * float64(time.Second))
		r.Ratio = float64(row.Wall) / float64(r.Bound)
		r.Share429 = float64(row.Status429) / float64(max(1, row.JumpCloudRequests))
		rep.Rows = append(rep.Rows, r)
	}
	return rep, nil
}

func (r *unknownLimitReport) print(w io.Writer) {
	fmt.Fprintf(w, "scenario unknown-limit: %s; latency %s; JumpCloud's limit hidden from the worker (429 with Retry-After: 1 beyond it)\n",
		orgText(r.Org), pacingLatency)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  limit\trequests\tminimum\t429s\t429 share\twall\tminimum ÷ limit\tratio\tsettled at\testimate\tin flight\tpauses\ttargets\t\n")
	for _, x := range r.Rows {
		p := x.Pacing.JumpCloud
		fmt.Fprintf(tw, "  %g\t%d\t%d\t%d\t%.2f %%\t%s\t%s\t%.3f\t%.1f\t%.1f\t%d\t%d\t%s\t\n",
			x.Limit, x.JumpCloudRequests, x.MinRequests, x.Status429, 100*x.Share429, x.Wall.Round(100*time.Millisecond),
			x.Bound.Round(100*time.Millisecond), x.Ratio, p.Rate, p.Estimate, p.InFlightLimit, p.Pauses,
			verdict(x.Ratio <= targetRatio && x.Share429 <= targetShare429))
	}
	tw.Flush()
	fmt.Fprintf(w, "  targets: ratio ≤ %.2f, 429 share ≤ %.0f %%; \"settled at\" is the org's rate (req/s) when the longest stage ended\n\n",
		targetRatio, 100*targetShare429)
}

// latencyReport is latency-only's figures: the org with no limit and a slow JumpCloud, where
// requests in flight, not the rate, set the pace.
type latencyReport struct {
	Org scenario `json:"org"`
	figures
	// Concurrency is the pages the longest stage was allowed in flight at its end: the org
	// pacer's in-flight limit within the page concurrency.
	Concurrency int           `json:"concurrency"`
	Bound       time.Duration `json:"bound"`
	Ratio       float64       `json:"ratio"`
	// Floor is the wall time of the same sync with no latency at all: what the machine's CPU
	// (worker, simulators and Temporal on the same cores) allows. A sync cannot beat
	// max(Bound, Floor); FloorRatio is the wall time over that.
	Floor      time.Duration `json:"floor"`
	FloorRatio float64       `json:"floorRatio"`
}

// runLatencyOnly syncs the org against a JumpCloud with no limit and 150 ms latency, after a
// sync of the same org with no latency, which measures the machine's floor.
func runLatencyOnly(ctx context.Context, o options) (report, error) {
	sc := o.org
	sc.Name = "latency-only-floor"
	sc.RPS, sc.Unknown, sc.Latency, sc.PageConcurrency = 0, true, 0, 0
	fmt.Fprintf(o.logw, "bench: running %s (%d users, %d groups, %d apps; no latency, no limit)\n", sc.Name, sc.Users, sc.Groups, sc.Apps)
	floor, err := runScenario(ctx, o.bin, sc, o.logw)
	if err != nil {
		return nil, fmt.Errorf("the sync without latency: %w", err)
	}
	sc.Name, sc.Latency = "latency-only", latencyOnlyWait
	fmt.Fprintf(o.logw, "bench: running %s (%d users, %d groups, %d apps; latency %s, no limit)\n", sc.Name, sc.Users, sc.Groups, sc.Apps, sc.Latency)
	row, err := runScenario(ctx, o.bin, sc, o.logw)
	if err != nil {
		return nil, err
	}
	r := &latencyReport{Org: sc, figures: row, Concurrency: row.Pacing.JumpCloud.InFlightLimit, Floor: floor.Wall}
	r.Bound = time.Duration(float64(row.JumpCloudRequests) * float64(sc.Latency) / float64(max(1, r.Concurrency)))
	r.Ratio = float64(row.Wall) / float64(r.Bound)
	r.FloorRatio = float64(row.Wall) / float64(max(r.Bound, r.Floor))
	return r, nil
}

func (r *latencyReport) print(w io.Writer) {
	fmt.Fprintf(w, "scenario latency-only: %s; latency %s, no rate limit, no rate configured\n", orgText(r.Org), r.Org.Latency)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  JumpCloud requests (minimum)\t%d (%d)\n", r.JumpCloudRequests, r.MinRequests)
	fmt.Fprintf(tw, "  concurrency (in-flight limit at the end)\t%d\n", r.Concurrency)
	fmt.Fprintf(tw, "  JumpCloud rate at the end\t%.1f req/s\n", r.Pacing.JumpCloud.Rate)
	fmt.Fprintf(tw, "  wall time\t%s\n", r.Wall.Round(time.Millisecond))
	fmt.Fprintf(tw, "  requests × latency ÷ concurrency\t%s\n", r.Bound.Round(time.Millisecond))
	fmt.Fprintf(tw, "  wall ÷ bound\t%.3f\n", r.Ratio)
	fmt.Fprintf(tw, "  wall of the same sync without latency (CPU floor)\t%s\n", r.Floor.Round(time.Millisecond))
	fmt.Fprintf(tw, "  wall ÷ max(bound, floor)\t%.3f\n", r.FloorRatio)
	fmt.Fprintf(tw, "  worker peak RSS\t%.1f MB\n", r.WorkerPeakRSSMB)
	tw.Flush()
	fmt.Fprintln(w)
}

func orgText(sc scenario) string {
	return fmt.Sprintf("%d users, %d groups, %d admins, %d apps", sc.Users, sc.Groups, sc.Admins, sc.Apps)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return strings.ToUpper("missed")
}
