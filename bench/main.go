// Command bench measures a whole sync the way it runs in production: a real Temporal dev
// server, a real worker process and both simulators in a process of their own. It prints one
// table per scenario, and reports a figure only for a sync whose result is exact.
//
//	go run ./bench                                  # large, huge-memory, churn, unknown-limit, latency-only, limiter-shapes, fleet, crash, many-orgs, deploy, watch, watch-many
//	go run ./bench --scenario large                 # one of them
//	go run ./bench --scenario unknown-limit --org medium --limits 20,50
//	go run ./bench --scenario fleet --org medium    # three workers, one org
//	go run ./bench --scenario limiter-shapes --shapes window --shape-limits 20
//	go run ./bench --scenario many-orgs --orgs 10   # ten orgs at once
//	go run ./bench --scenario crash --org medium    # time lost per SIGKILL of the worker, restarted at once
//
// The churn scenario syncs the large org once while it is still, then ten times back to back
// while it changes, and checks after each sync that Authomize holds everything that existed
// throughout it. The pacing scenarios (pacing.go) give the worker no rate and measure how
// close each org's pacer comes to JumpCloud's hidden limit, or to the latency's bound.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// options are the command line's settings that suites read.
type options struct {
	bin    string
	logw   io.Writer
	org    scenario  // the org of the pacing scenarios (--org)
	limits []float64 // JumpCloud's hidden limits for unknown-limit (--limits)
	// shapeOrg, shapeLimits and shapeNames are limiter-shapes' org, limits and the shapes it
	// runs (empty: all).
	shapeOrg    scenario
	shapeLimits []float64
	shapeNames  []string
	// orgs and orgUsers are many-orgs' integrations synced at once and each org's users.
	orgs, orgUsers int
}

// report is what a suite measured: printed as a table, and written to --json.
type report interface {
	print(w io.Writer)
}

// suite is one name of --scenario: it starts the stacks it needs, runs its syncs and returns
// its report. A suite that fails part way returns what it measured with the error, or nil.
//
// fleet (fleet.go) runs several workers on one task queue against one org, whose pacers must
// share its limit; many-orgs (manyorgs.go) runs many integrations, each its own org and
// limit, at once on two workers. crash (crash.go) SIGKILLs the worker mid-phase and restarts
// it at once, and measures the sync time each kill costs.
type suite struct {
	name string
	run  func(ctx context.Context, o options) (report, error)
}

// suites lists every scenario in the order `bench` runs them by default.
func suites() []suite {
	var list []suite
	for _, sc := range scenarios {
		list = append(list, suite{name: sc.Name, run: func(ctx context.Context, o options) (report, error) {
			return runFigures(ctx, o, sc)
		}})
	}
	return append(list,
		suite{name: "unknown-limit", run: runUnknownLimit},
		suite{name: "latency-only", run: runLatencyOnly},
		suite{name: "limiter-shapes", run: runLimiterShapes},
		suite{name: "fleet", run: runFleet},
		suite{name: "crash", run: runCrash},
		suite{name: "many-orgs", run: runManyOrgs},
		suite{name: "deploy", run: runDeploy},
		suite{name: "watch", run: runWatch},
		suite{name: "watch-many", run: runWatchMany},
	)
}

// figuresReport is the report of one sync scenario (or a churn run).
type figuresReport struct {
	sc  scenario
	row figures
}

func (r figuresReport) print(w io.Writer) { printFigures(w, r.sc, r.row) }

// runFigures runs a sync scenario, or a churn run.
func runFigures(ctx context.Context, o options, sc scenario) (report, error) {
	fmt.Fprintf(o.logw, "bench: running %s (%d users, %d groups, %d apps)\n", sc.Name, sc.Users, sc.Groups, sc.Apps)
	run := runScenario
	if sc.ChurnSyncs > 0 {
		run = runChurn
	}
	row, err := run(ctx, o.bin, sc, o.logw)
	// A churn run that failed after its still sync still shows its syncs: they are the
	// evidence of what went wrong.
	if err != nil && row.Churn == nil {
		return nil, err
	}
	return figuresReport{sc, row}, err
}

func main() {
	var names []string
	var jsonOut, org string
	o := options{logw: os.Stderr}
	var all []string
	for _, s := range suites() {
		all = append(all, s.name)
	}
	pflag.StringVar(&profileDir, "profile", "", "write the worker's CPU profile (first 30 s of the sync) and heap profile (at the end) to this directory")
	pflag.StringSliceVar(&names, "scenario", []string{"large", "huge-memory", "churn", "unknown-limit", "latency-only", "limiter-shapes", "fleet", "crash", "many-orgs", "deploy", "watch", "watch-many"}, "scenarios to run: "+strings.Join(all, ", "))
	pflag.StringVar(&o.bin, "bin", "bin", "directory holding temporal, worker and sim")
	pflag.StringVar(&jsonOut, "json", "", "also write the rows as JSON to this file")
	pflag.StringVar(&org, "org", "large", "org of unknown-limit, latency-only, fleet and crash: large, medium or small")
	pflag.Float64SliceVar(&o.limits, "limits", []float64{5, 20, 50, 200}, "JumpCloud's hidden limits (req/s) that unknown-limit runs against")
	var shapeOrg string
	pflag.StringVar(&shapeOrg, "shape-org", "first-sync", "org of limiter-shapes: first-sync (10,000 users), large, medium or small")
	pflag.Float64SliceVar(&o.shapeLimits, "shape-limits", []float64{20, 50}, "JumpCloud's hidden limits (req/s) that limiter-shapes runs against")
	pflag.StringSliceVar(&o.shapeNames, "shapes", nil, "limiter-shapes' limiters to run, by a part of their name (\"bucket r/10\", \"window\", \"RA none\"); empty: all")
	pflag.IntVar(&o.orgs, "orgs", 50, "integrations that many-orgs syncs at once, each its own org")
	pflag.IntVar(&o.orgUsers, "org-users", 2000, "users of each org of many-orgs")
	pflag.Parse()
	var ok bool
	if o.org, ok = orgs[org]; !ok {
		fmt.Fprintf(os.Stderr, "bench: unknown org %q: large, medium or small\n", org)
		os.Exit(2)
	}
	if o.shapeOrg, ok = orgs[shapeOrg]; !ok {
		fmt.Fprintf(os.Stderr, "bench: unknown org %q for --shape-org: first-sync, large, medium or small\n", shapeOrg)
		os.Exit(2)
	}
	var run []suite
	for _, name := range names {
		s, ok := findSuite(name)
		if !ok {
			fmt.Fprintf(os.Stderr, "bench: unknown scenario %q: %s\n", name, strings.Join(all, ", "))
			os.Exit(2)
		}
		run = append(run, s)
	}
	fmt.Printf("machine: %d CPUs, %s/%s, %s; %s\n\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), time.Now().UTC().Format("2006-01-02"))
	var reports []report
	failed := false
	for _, s := range run {
		r, err := s.run(context.Background(), o)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", s.name, err)
			failed = true
		}
		if r != nil {
			reports = append(reports, r)
			r.print(os.Stdout)
		}
	}
	if jsonOut != "" {
		b, _ := json.MarshalIndent(reports, "", "  ")
		if err := os.WriteFile(jsonOut, b, 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// wantShape says whether limiter-shapes runs the shape: every --shapes part must be in its
// name.
func (o options) wantShape(s limitShape) bool {
	for _, part := range o.shapeNames {
		if !strings.Contains(s.Name, part) {
			return false
		}
	}
	return true
}

func findSuite(name string) (suite, bool) {
	for _, s := range suites() {
		if s.name == name {
			return s, true
		}
	}
	return suite{}, false
}

func find(name string) (scenario, bool) {
	for _, s := range scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return scenario{}, false
}

// MarshalJSON writes the figures, as --json always has.
func (r figuresReport) MarshalJSON() ([]byte, error) { return json.Marshal(r.row) }
