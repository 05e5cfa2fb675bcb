package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"jcsync/internal/temporalnames"
	"jcsync/workflows"
)

// limitShape is one shape of JumpCloud's hidden limit for limiter-shapes: a token bucket
// whose burst is BurstPerRate × the rate, or a fixed one-second window; and the share of its
// 429s that carry Retry-After: 1.
type limitShape struct {
	Name         string  `json:"name"`
	BurstPerRate float64 `json:"burstPerRate,omitempty"`
	Window       bool    `json:"window,omitempty"`
	RetryAfter   float64 `json:"retryAfter"`
}

// simArgs are the simulator's flags for the shape at rps; none for a nil shape (the
// simulator's default: burst rps/10, Retry-After on every 429).
func (s *limitShape) simArgs(rps float64) []string {
	if s == nil || rps <= 0 {
		return nil
	}
	args := []string{"--retry-after-share", strconv.FormatFloat(s.RetryAfter, 'f', -1, 64)}
	if s.Window {
		return append(args, "--rate-window")
	}
	return append(args, "--rate-burst", strconv.Itoa(max(1, int(s.BurstPerRate*rps))))
}

// shapes are the limiters of limiter-shapes: each limiter with Retry-After on every 429, on
// half of them and on none.
func shapes() []limitShape {
	limiters := []limitShape{
		{Name: "bucket r/10", BurstPerRate: 0.1},
		{Name: "bucket r", BurstPerRate: 1},
		{Name: "bucket 2r", BurstPerRate: 2},
		{Name: "window 1s", Window: true},
	}
	var out []limitShape
	for _, l := range limiters {
		for _, ra := range []struct {
			name  string
			share float64
		}{{"RA all", 1}, {"RA half", 0.5}, {"RA none", 0}} {
			s := l
			s.Name, s.RetryAfter = l.Name+", "+ra.name, ra.share
			out = append(out, s)
		}
	}
	return out
}

// Targets of limiter-shapes: a never-seen org within a quarter of the bound and 3 % of
// 429s; a known org, which starts at the rate it had learned, within 15 %.
const (
	targetFirstRatio = 1.25
	targetKnownRatio = 1.15
)

// shapeSync is one sync of limiter-shapes.
type shapeSync struct {
	figures
	Bound    time.Duration `json:"bound"`
	Ratio    float64       `json:"ratio"`
	Share429 float64       `json:"share429"`
}

// shapeRow is one limiter at one rate: the first sync of the never-seen org on a fresh
// worker, then a sync of the same org on another fresh worker.
type shapeRow struct {
	Shape limitShape `json:"shape"`
	Limit float64    `json:"limit"`
	First shapeSync  `json:"first"`
	Known shapeSync  `json:"known"`
}

type shapesReport struct {
	Org  scenario   `json:"org"`
	Rows []shapeRow `json:"rows"`
}

// runLimiterShapes syncs the org against each shape at each limit in a stack of its own: the
// first sync on a fresh worker meets the org for the first time; then the worker is replaced
// by a new process and the org synced again, which starts from what Temporal kept of the
// first sync's pacing.
func runLimiterShapes(ctx context.Context, o options) (report, error) {
	rep := &shapesReport{Org: o.shapeOrg}
	for _, limit := range o.shapeLimits {
		for _, shape := range shapes() {
			if !o.wantShape(shape) {
				continue
			}
			sc := o.shapeOrg
			sc.Name = fmt.Sprintf("shape-%g-%s", limit, strings.NewReplacer(" ", "", ",", "-", "/", "_").Replace(shape.Name))
			sc.RPS, sc.Unknown, sc.PageConcurrency, sc.Shape = limit, true, 0, &shape
			fmt.Fprintf(o.logw, "bench: running %s (%d users, %d groups, %d apps; hidden limit %g req/s, %s)\n",
				sc.Name, sc.Users, sc.Groups, sc.Apps, limit, shape.Name)
			row, err := runShape(ctx, o.bin, sc)
			if err != nil {
				return rep, fmt.Errorf("%s at %g req/s: %w", shape.Name, limit, err)
			}
			rep.Rows = append(rep.Rows, row)
			fmt.Fprintf(o.logw, "bench: %s: first %.3f (%d 429s, %.2f %%), known %.3f (%d 429s, %.2f %%), started at %.1f req/s\n",
				sc.Name, row.First.Ratio, row.First.Status429, 100*row.First.Share429,
				row.Known.Ratio, row.Known.Status429, 100*row.Known.Share429, row.Known.Start)
		}
	}
	return rep, nil
}

func runShape(ctx context.Context, bin string, sc scenario) (shapeRow, error) {
	row := shapeRow{Shape: *sc.Shape, Limit: sc.RPS}
	st, err := startStack(ctx, bin, sc, io.Discard)
	if err != nil {
		return row, err
	}
	defer st.close()
	id := temporalnames.SyncID(benchIntegration)
	// The second sync follows the first within seconds: with the default 2-minute sweep
	// margin it would wait out the rest of the margin before writing (see churn).
	in := workflows.SyncInput{Integration: benchIntegration, SweepMargin: time.Millisecond}
	queue := temporalnames.IntegrationQueue(st.queue, benchIntegration)
	seen, err := waitForPoller(ctx, st.client, queue, nil)
	if err != nil {
		return row, err
	}
	first, _, err := st.measure(ctx, sc, id, in)
	if err != nil {
		return row, fmt.Errorf("the first sync: %w", err)
	}
	row.First = shapeFigures(first, sc.RPS)
	if err := st.restartWorker(); err != nil {
		return row, err
	}
	if _, err := waitForPoller(ctx, st.client, queue, seen); err != nil {
		return row, err
	}
	known, _, err := st.measure(ctx, sc, id, in)
	if err != nil {
		return row, fmt.Errorf("the sync of the known org: %w", err)
	}
	row.Known = shapeFigures(known, sc.RPS)
	return row, nil
}

func shapeFigures(f figures, limit float64) shapeSync {
	s := shapeSync{figures: f}
	s.Bound = time.Duration(float64(f.MinRequests) / limit * float64(time.Second))
	s.Ratio = float64(f.Wall) / float64(s.Bound)
	s.Share429 = float64(f.Status429) / float64(max(1, f.JumpCloudRequests))
	return s
}

func (r *shapesReport) print(w io.Writer) {
	fmt.Fprintf(w, "scenario limiter-shapes: %s; latency %s; JumpCloud's limit hidden from the worker; each row a fresh stack:\n"+
		"  first = the org's first sync on a fresh worker; known = the next sync, on a new worker process\n",
		orgText(r.Org), r.Org.Latency)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  limit\tlimiter\tminimum\tbound\tfirst: wall\tratio\t429s\tshare\tknown: start\twall\tratio\t429s\tshare\ttargets\t\n")
	for _, x := range r.Rows {
		ok := x.First.Ratio <= targetFirstRatio && x.First.Share429 <= targetShare429 &&
			x.Known.Ratio <= targetKnownRatio && x.Known.Share429 <= targetShare429
		fmt.Fprintf(tw, "  %g\t%s\t%d\t%s\t%s\t%.3f\t%d\t%.2f %%\t%.1f\t%s\t%.3f\t%d\t%.2f %%\t%s\t\n",
			x.Limit, x.Shape.Name, x.First.MinRequests, x.First.Bound.Round(100*time.Millisecond),
			x.First.Wall.Round(100*time.Millisecond), x.First.Ratio, x.First.Status429, 100*x.First.Share429,
			x.Known.Start, x.Known.Wall.Round(100*time.Millisecond), x.Known.Ratio, x.Known.Status429, 100*x.Known.Share429,
			verdict(ok))
	}
	tw.Flush()
	fmt.Fprintf(w, "  targets: first ratio ≤ %.2f, known ratio ≤ %.2f, 429 share ≤ %.0f %% in both; bound = minimum requests ÷ limit; RA = Retry-After;\n"+
		"  known: start = the org's rate (req/s) when the known sync's first stage started\n\n",
		targetFirstRatio, targetKnownRatio, 100*targetShare429)
}

// waitForPoller waits until a worker whose identity is not in seen polls queue for both
// workflow and activity tasks, and returns the identities polling then. Each sync is measured
// from a worker that polls: a worker process's start (connecting, joining its deployment
// version) is not the sync's time, and Temporal lists a stopped worker's polls for minutes.
func waitForPoller(ctx context.Context, c client.Client, queue string, seen map[string]bool) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		now := map[string]bool{}
		fresh := map[enumspb.TaskQueueType]bool{}
		for _, kind := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
			resp, err := c.DescribeTaskQueue(ctx, queue, kind)
			if err != nil {
				return nil, fmt.Errorf("ask Temporal which workers poll %s: %w", queue, err)
			}
			for _, p := range resp.GetPollers() {
				now[p.GetIdentity()] = true
				if !seen[p.GetIdentity()] {
					fresh[kind] = true
				}
			}
		}
		if len(fresh) == 2 {
			return now, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no new worker polls %s: %w", queue, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
