// Command bench measures a whole sync the way it runs in production: a real Temporal dev
// server, a real worker process and both simulators in a process of their own. It prints one
// table per scenario, and reports a figure only for a sync whose result is exact.
//
//	go run ./bench                      # large, huge-memory and churn
//	go run ./bench --scenario large     # one of them
//
// The churn scenario syncs the large org once while it is still, then ten times back to back
// while it changes, and checks after each sync that Authomize holds everything that existed
// throughout it.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"jcsync/internal/sim/control"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/temporalnames"
	"jcsync/workflows"
)

// scenario is one benchmark setting.
type scenario struct {
	Name                                    string
	Users, Groups, Admins, Apps             int
	MaxGroupSize, AvgGroupSize              int
	UserBindingsPerApp, GroupBindingsPerApp int
	Latency                                 time.Duration
	// RPS is JumpCloud's rate limit (the simulator answers 429 beyond it) and the rate the
	// worker is configured with; 0 means no limit.
	RPS             float64
	PageConcurrency int
	// ChurnSyncs, when set, makes the scenario a churn run (runChurn): one sync of the still
	// org, then this many back to back while the org changes once every ChurnEvery.
	ChurnSyncs int
	ChurnEvery time.Duration
}

// large is a production-sized org; the churn scenario reads the same org while it changes.
var large = scenario{Name: "large", Users: 20000, Groups: 1000, Admins: 25, Apps: 300, MaxGroupSize: 2000, AvgGroupSize: 40,
	UserBindingsPerApp: 10, GroupBindingsPerApp: 3, Latency: 40 * time.Millisecond, RPS: 50, PageConcurrency: 4}

var scenarios = []scenario{
	large,
	withChurn(large, "churn", 10, time.Second),
	{Name: "huge-memory", Users: 1000000, Groups: 10000, Admins: 25, Apps: 300, MaxGroupSize: 2000, AvgGroupSize: 40,
		UserBindingsPerApp: 10, GroupBindingsPerApp: 3, PageConcurrency: 4},
	// small is what `make test` runs to check the benchmark's own checks.
	{Name: "small", Users: 500, Groups: 40, Admins: 8, Apps: 12, MaxGroupSize: 200, AvgGroupSize: 20,
		UserBindingsPerApp: 5, GroupBindingsPerApp: 2, Latency: 2 * time.Millisecond, RPS: 400, PageConcurrency: 4},
}

// withChurn makes sc a churn run named name: syncs syncs while the org changes once per every.
func withChurn(sc scenario, name string, syncs int, every time.Duration) scenario {
	sc.Name, sc.ChurnSyncs, sc.ChurnEvery = name, syncs, every
	return sc
}

// figures is one scenario's figures; for a churn run, those of its sync of the still org.
type figures struct {
	Scenario          string           `json:"scenario"`
	Exact             bool             `json:"exact"`
	JumpCloudRequests int64            `json:"jumpcloudRequests"`
	ByEndpoint        map[string]int64 `json:"jumpcloudByEndpoint"`
	MinRequests       int              `json:"minRequests"`
	AuthomizeRequests int              `json:"authomizeRequests"`
	Status429         int64            `json:"status429"`
	Wall              time.Duration    `json:"wall"`
	LowerBound        time.Duration    `json:"lowerBound"`
	WorkerPeakRSSMB   float64          `json:"workerPeakRssMB"`
	WorkerCPU         time.Duration    `json:"workerCpu"`
	HistoryEvents     int              `json:"historyEvents"`
	PagesRefetched    int              `json:"pagesRefetched"`
	Churn             *churnReport     `json:"churn,omitempty"`
}

// churnReport is a churn run's figures: the sync of the still org, then the syncs that ran
// while it changed.
type churnReport struct {
	Every   time.Duration       `json:"every"`
	Still   syncFigures         `json:"still"`
	Syncs   []syncFigures       `json:"syncs"`
	Changes control.ChurnTotals `json:"changes"`
}

// syncFigures is one sync of a churn run.
type syncFigures struct {
	JumpCloudRequests int64         `json:"jumpcloudRequests"`
	Swept             bool          `json:"swept"`
	SweepSkipped      string        `json:"sweepSkipped,omitempty"`
	RepairReads       int           `json:"repairReads"`
	ListsChanged      int           `json:"listsChanged"`
	Wall              time.Duration `json:"wall"`
	// Changes is the number of changes the churn applied during the sync; Stable the objects
	// that existed throughout it and were never touched, Missing those Authomize lacks after
	// it, and Sample names some of them.
	Changes int      `json:"changes"`
	Stable  int      `json:"stable"`
	Missing int      `json:"missing"`
	Sample  []string `json:"missingSample,omitempty"`
}

// churnSummary condenses a churn run's syncs of the changing org.
type churnSummary struct {
	Syncs, Swept int
	// ExtraRequests is the mean of the JumpCloud requests of a sync of the changing org less
	// those of the still sync; ExtraPercent the same relative to the still sync.
	ExtraRequests, ExtraPercent float64
	RepairReads                 float64 // mean
	Changes, Stable, Missing    int     // totals
}

// summary condenses the syncs of the changing org.
func (r *churnReport) summary() churnSummary {
	s := churnSummary{Syncs: len(r.Syncs)}
	if s.Syncs == 0 {
		return s
	}
	var extra, repairs int64
	for _, c := range r.Syncs {
		if c.Swept {
			s.Swept++
		}
		extra += c.JumpCloudRequests - r.Still.JumpCloudRequests
		repairs += int64(c.RepairReads)
		s.Changes += c.Changes
		s.Stable += c.Stable
		s.Missing += c.Missing
	}
	s.ExtraRequests = float64(extra) / float64(s.Syncs)
	s.RepairReads = float64(repairs) / float64(s.Syncs)
	if r.Still.JumpCloudRequests > 0 {
		s.ExtraPercent = 100 * s.ExtraRequests / float64(r.Still.JumpCloudRequests)
	}
	return s
}

func main() {
	var names []string
	var bin, jsonOut string
	pflag.StringVar(&profileDir, "profile", "", "write the worker's CPU profile (first 30 s of the sync) and heap profile (at the end) to this directory")
	pflag.StringSliceVar(&names, "scenario", []string{"large", "huge-memory", "churn"}, "scenarios to run: large, huge-memory, churn, small")
	pflag.StringVar(&bin, "bin", "bin", "directory holding temporal, worker and sim")
	pflag.StringVar(&jsonOut, "json", "", "also write the rows as JSON to this file")
	pflag.Parse()
	fmt.Printf("machine: %d CPUs, %s/%s, %s; %s\n\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), time.Now().UTC().Format("2006-01-02"))
	var rows []figures
	failed := false
	for _, name := range names {
		sc, ok := find(name)
		if !ok {
			fmt.Fprintf(os.Stderr, "bench: unknown scenario %q\n", name)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "bench: running %s (%d users, %d groups, %d apps)\n", sc.Name, sc.Users, sc.Groups, sc.Apps)
		run := runScenario
		if sc.ChurnSyncs > 0 {
			run = runChurn
		}
		row, err := run(context.Background(), bin, sc, os.Stderr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", sc.Name, err)
			failed = true
			// A churn run that failed after its still sync still shows its syncs: they are
			// the evidence of what went wrong.
			if row.Churn == nil {
				continue
			}
		}
		rows = append(rows, row)
		printFigures(os.Stdout, sc, row)
	}
	if jsonOut != "" {
		b, _ := json.MarshalIndent(rows, "", "  ")
		if err := os.WriteFile(jsonOut, b, 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func find(name string) (scenario, bool) {
	for _, s := range scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return scenario{}, false
}

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

// profileDir, when set, receives the worker's pprof profiles.
var profileDir string

// Fake credentials of the simulators and the integration's name: the benchmark's only
// secrets.
const (
	benchKey         = "jca_bench_key_0000000000000000000000000000"
	benchToken       = "atm_bench_token_000000000000000000000000"
	benchApp         = "app-bench"
	benchIntegration = "bench"
)

// runScenario runs one scenario end to end and returns its figures. It fails when the sync fails or
// Authomize's snapshot is not exactly the org.
func runScenario(ctx context.Context, binDir string, sc scenario, logw io.Writer) (figures, error) {
	st, err := startStack(ctx, binDir, sc, logw)
	if err != nil {
		return figures{}, err
	}
	defer st.close()
	id := fmt.Sprintf("bench-%s-%d", sc.Name, time.Now().UnixNano())
	row, _, err := st.measure(ctx, sc, id, workflows.SyncInput{Integration: benchIntegration})
	return row, err
}

// runChurn runs a churn scenario: one sync of the still org (measured as runScenario measures it),
// then sc.ChurnSyncs syncs back to back while the org changes once every sc.ChurnEvery. After
// each, everything that existed throughout it and was never touched must be in Authomize;
// the run fails when anything is missing, and returns the syncs so far with that error.
func runChurn(ctx context.Context, binDir string, sc scenario, logw io.Writer) (figures, error) {
	st, err := startStack(ctx, binDir, sc, logw)
	if err != nil {
		return figures{}, err
	}
	defer st.close()
	// Every sync runs under the integration's own id, as production's do, so none hands over
	// to a child; the syncs follow each other closely, and the default 2-minute sweep margin
	// would defer each one's deletions to a later sync.
	id := temporalnames.SyncID(benchIntegration)
	in := workflows.SyncInput{Integration: benchIntegration, SweepMargin: time.Second}

	if err := post(st.ctl+"/window/begin", http.StatusNoContent, nil); err != nil {
		return figures{}, err
	}
	row, res, err := st.measure(ctx, sc, id, in)
	if err != nil {
		return row, fmt.Errorf("the sync of the still org: %w", err)
	}
	var chk control.WindowCheck
	if err := getJSON(st.ctl+"/window/check", &chk); err != nil {
		return row, err
	}
	rep := &churnReport{Every: sc.ChurnEvery, Still: churnSync(res, row.JumpCloudRequests, chk, row.Wall)}
	row.Churn = rep

	start := fmt.Sprintf("%s/churn/start?every=%s&seed=%d", st.ctl, url.QueryEscape(sc.ChurnEvery.String()), benchSeed)
	if err := post(start, http.StatusNoContent, nil); err != nil {
		return row, err
	}
	for i := range sc.ChurnSyncs {
		fmt.Fprintf(logw, "bench: %s: sync %d of %d while the org changes\n", sc.Name, i+1, sc.ChurnSyncs)
		c, err := st.churnedSync(ctx, id, in)
		if err != nil {
			return row, fmt.Errorf("sync %d of the changing org: %w", i+1, err)
		}
		rep.Syncs = append(rep.Syncs, c)
	}
	if err := post(st.ctl+"/churn/stop", http.StatusOK, &rep.Changes); err != nil {
		return row, err
	}
	if s := rep.summary(); s.Missing > 0 {
		return row, fmt.Errorf("%d objects that existed throughout their sync are missing from Authomize", s.Missing)
	}
	return row, nil
}

// benchSeed seeds the org's generator and the churn: every run measures the same org and the
// same sequence of changes.
const benchSeed = 2026

// stack is a benchmark's processes, the Temporal dev server, the simulators and a worker, and
// a client of the dev server.
type stack struct {
	procs    []*exec.Cmd
	worker   *exec.Cmd
	client   client.Client
	ctl      string // the simulators' admin endpoint
	queue    string
	pprofURL string
	logw     io.Writer
}

// startStack starts the processes of scenario sc and waits until they answer.
func startStack(ctx context.Context, binDir string, sc scenario, logw io.Writer) (st *stack, err error) {
	binDir, _ = filepath.Abs(binDir)
	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	temporalAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	jcAddr, azAddr, ctlAddr := fmt.Sprintf("127.0.0.1:%d", ports[1]), fmt.Sprintf("127.0.0.1:%d", ports[2]), fmt.Sprintf("127.0.0.1:%d", ports[3])

	st = &stack{ctl: "http://" + ctlAddr, queue: "bench-" + sc.Name,
		pprofURL: fmt.Sprintf("http://127.0.0.1:%d/debug/pprof", ports[4]), logw: logw}
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	temporal := exec.Command(filepath.Join(binDir, "temporal"), "server", "start-dev", "--headless",
		"--ip", "127.0.0.1", "--port", strconv.Itoa(ports[0]), "--log-level", "error",
		"--search-attribute", "JCSyncIntegration=Keyword")
	if err := start(temporal, logw, "temporal"); err != nil {
		return nil, err
	}
	st.procs = append(st.procs, temporal)

	simArgs := []string{
		"--jumpcloud-address", jcAddr, "--authomize-address", azAddr, "--control-address", ctlAddr,
		"--users", strconv.Itoa(sc.Users), "--groups", strconv.Itoa(sc.Groups), "--admins", strconv.Itoa(sc.Admins),
		"--apps", strconv.Itoa(sc.Apps), "--max-group-size", strconv.Itoa(sc.MaxGroupSize),
		"--avg-group-size", strconv.Itoa(sc.AvgGroupSize), "--user-bindings", strconv.Itoa(sc.UserBindingsPerApp),
		"--group-bindings", strconv.Itoa(sc.GroupBindingsPerApp), "--latency", sc.Latency.String(),
		"--rate-limit", strconv.FormatFloat(sc.RPS, 'f', -1, 64), "--seed", strconv.Itoa(benchSeed),
		"--api-key", benchKey, "--token", benchToken, "--app-id", benchApp,
	}
	sim := exec.Command(filepath.Join(binDir, "sim"), simArgs...)
	if err := start(sim, logw, "sim"); err != nil {
		return nil, err
	}
	st.procs = append(st.procs, sim)
	if err := waitHTTP(ctx, st.ctl+"/counts", 10*time.Minute); err != nil {
		return nil, fmt.Errorf("simulators never came up: %w", err)
	}

	if st.client, err = dialTemporal(ctx, temporalAddr); err != nil {
		return nil, err
	}

	rps := sc.RPS
	if rps <= 0 {
		rps = 1e6
	}
	st.worker = exec.Command(filepath.Join(binDir, "worker"),
		"--temporal-address", temporalAddr, "--task-queue", st.queue, "--metrics-address", "",
		"--jumpcloud-rps", strconv.FormatFloat(rps, 'f', -1, 64),
		"--page-concurrency", strconv.Itoa(sc.PageConcurrency), "--log-level", "warn",
		"--pprof-address", fmt.Sprintf("127.0.0.1:%d", ports[4]))
	st.worker.Env = append(os.Environ(),
		"JUMPCLOUD_API_KEY="+benchKey, "JUMPCLOUD_BASE_URL=http://"+jcAddr,
		"AUTHOMIZE_TOKEN="+benchToken, "AUTHOMIZE_BASE_URL=http://"+azAddr, "AUTHOMIZE_APP_ID="+benchApp,
		"AUTHOMIZE_INTEGRATION_NAME="+benchIntegration, "JUMPCLOUD_ADMIN_EMAIL=", "AUTHOMIZE_OWNER_EMAIL=")
	if err := start(st.worker, logw, "worker"); err != nil {
		return nil, err
	}
	st.procs = append(st.procs, st.worker)
	return st, nil
}

// close closes the client and stops the processes.
func (st *stack) close() {
	if st.client != nil {
		st.client.Close()
	}
	for _, p := range st.procs {
		stop(p)
	}
}

// startSync starts one sync under id.
func (st *stack) startSync(ctx context.Context, id string, in workflows.SyncInput) (client.WorkflowRun, error) {
	run, err := st.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: st.queue}, temporalnames.SyncWorkflow, in)
	if err != nil {
		return nil, fmt.Errorf("start the sync: %w", err)
	}
	return run, nil
}

// measure runs one sync of a still org under id, from counters reset, and returns its
// figures. It fails when the sync fails or Authomize's snapshot is not exactly the org.
func (st *stack) measure(ctx context.Context, sc scenario, id string, in workflows.SyncInput) (figures, workflows.SyncResult, error) {
	var res workflows.SyncResult
	if err := postReset(st.ctl); err != nil {
		return figures{}, res, err
	}
	began := time.Now()
	run, err := st.startSync(ctx, id, in)
	if err != nil {
		return figures{}, res, err
	}
	cpuDone := make(chan error, 1)
	if profileDir != "" {
		go func() {
			cpuDone <- fetch(st.pprofURL+"/profile?seconds=30", filepath.Join(profileDir, sc.Name+"-cpu.pprof"))
		}()
	}
	if err := run.Get(ctx, &res); err != nil {
		return figures{}, res, fmt.Errorf("sync failed: %w", err)
	}
	wall := time.Since(began)
	if profileDir != "" {
		if err := fetch(st.pprofURL+"/heap", filepath.Join(profileDir, sc.Name+"-heap.pprof")); err != nil {
			fmt.Fprintf(st.logw, "bench: heap profile: %v\n", err)
		}
		if err := <-cpuDone; err != nil {
			fmt.Fprintf(st.logw, "bench: CPU profile: %v\n", err)
		}
	}
	peak, cpu := procStats(st.worker.Process.Pid)

	var counts control.Counts
	if err := getJSON(st.ctl+"/counts", &counts); err != nil {
		return figures{}, res, err
	}
	var verdict control.Verdict
	if err := getJSON(st.ctl+"/verify", &verdict); err != nil {
		return figures{}, res, err
	}
	row := figures{
		Scenario: sc.Name, Exact: verdict.Exact, JumpCloudRequests: counts.JumpCloudTotal,
		ByEndpoint: counts.JumpCloudByEndpoint, AuthomizeRequests: counts.AuthomizeTotal,
		Status429: counts.JumpCloudByStatus[429], Wall: wall, WorkerPeakRSSMB: peak, WorkerCPU: cpu,
		PagesRefetched: counts.JumpCloudRefetched,
	}
	for _, n := range verdict.MinRequests {
		row.MinRequests += n
	}
	if sc.RPS > 0 {
		row.LowerBound = time.Duration(float64(row.JumpCloudRequests-1) / sc.RPS * float64(time.Second))
	}
	row.HistoryEvents, err = historyEvents(ctx, st.client, run)
	if err != nil {
		return row, res, err
	}
	if !verdict.Exact {
		return row, res, fmt.Errorf("the Authomize snapshot is not exactly the org (%d differences: %v): no figure reported", verdict.Differences, verdict.Sample)
	}
	return row, res, nil
}

// churnedSync runs one sync of the changing org under id, from counters reset, inside a
// window of the admin endpoint, and checks Authomize against what was stable throughout it.
func (st *stack) churnedSync(ctx context.Context, id string, in workflows.SyncInput) (syncFigures, error) {
	if err := postReset(st.ctl); err != nil {
		return syncFigures{}, err
	}
	if err := post(st.ctl+"/window/begin", http.StatusNoContent, nil); err != nil {
		return syncFigures{}, err
	}
	began := time.Now()
	run, err := st.startSync(ctx, id, in)
	if err != nil {
		return syncFigures{}, err
	}
	var res workflows.SyncResult
	if err := run.Get(ctx, &res); err != nil {
		return syncFigures{}, fmt.Errorf("sync failed: %w", err)
	}
	wall := time.Since(began)
	if res.NotRun != "" {
		return syncFigures{}, fmt.Errorf("the sync did not run: %s", res.NotRun)
	}
	var counts control.Counts
	if err := getJSON(st.ctl+"/counts", &counts); err != nil {
		return syncFigures{}, err
	}
	var chk control.WindowCheck
	if err := getJSON(st.ctl+"/window/check", &chk); err != nil {
		return syncFigures{}, err
	}
	return churnSync(res, counts.JumpCloudTotal, chk, wall), nil
}

func churnSync(res workflows.SyncResult, requests int64, chk control.WindowCheck, wall time.Duration) syncFigures {
	c := syncFigures{
		JumpCloudRequests: requests, Swept: res.Swept, SweepSkipped: res.SweepSkipped,
		RepairReads: res.RepairReads, ListsChanged: res.ListsChanged, Wall: wall,
		Changes: chk.Changes, Missing: chk.Missing, Sample: chk.Sample,
	}
	for _, n := range chk.Stable {
		c.Stable += n
	}
	return c
}

func dialTemporal(ctx context.Context, addr string) (client.Client, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := client.Dial(client.Options{HostPort: addr, Logger: quiet{}})
		if err == nil {
			if _, err = c.CheckHealth(ctx, nil); err == nil {
				return c, nil
			}
			c.Close()
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the Temporal dev server at %s: %w", addr, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func historyEvents(ctx context.Context, c client.Client, run client.WorkflowRun) (int, error) {
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for it.HasNext() {
		if _, err := it.Next(); err != nil {
			return 0, fmt.Errorf("read history: %w", err)
		}
		n++
	}
	return n, nil
}

// procStats reads a process's peak resident set (VmHWM, tracked by the kernel) and its CPU
// time so far.
func procStats(pid int) (peakMB float64, cpu time.Duration) {
	if f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if kb, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
				v, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")), 64)
				peakMB = v / 1024
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// Fields after the command name: utime and stime are the 14th and 15th fields.
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i > 0 {
			f := strings.Fields(s[i+1:])
			if len(f) > 13 {
				ut, _ := strconv.ParseInt(f[11], 10, 64)
				st, _ := strconv.ParseInt(f[12], 10, 64)
				cpu = time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
			}
		}
	}
	return peakMB, cpu
}

func start(cmd *exec.Cmd, logw io.Writer, name string) error {
	cmd.Stdout = prefixWriter{w: logw, prefix: name + ": "}
	cmd.Stderr = cmd.Stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	return nil
}

func stop(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			fmt.Fprint(p.w, p.prefix+line)
		}
	}
	return len(b), nil
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return answer(resp, http.StatusOK, v)
}

// post sends an empty POST and decodes the answer into v unless v is nil.
func post(url string, want int, v any) error {
	resp, err := http.Post(url, "application/json", nil)
	if err != nil {
		return fmt.Errorf("POST %s: %w", url, err)
	}
	if err := answer(resp, want, v); err != nil {
		return fmt.Errorf("POST %s: %w", url, err)
	}
	return nil
}

// answer checks a response's status, quoting the body of an unexpected one (the admin
// endpoint says there what was wrong), and decodes the body into v unless v is nil.
func answer(resp *http.Response, want int, v any) error {
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if v == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("decode the answer: %w", err)
	}
	return nil
}

func postReset(ctl string) error {
	if err := post(ctl+"/reset", http.StatusNoContent, nil); err != nil {
		return fmt.Errorf("reset the simulators' counters: %w", err)
	}
	return nil
}

// quiet drops the SDK's client logs: the benchmark prints its tables only.
type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}

// fetch saves a URL's body to a file (a pprof profile).
func fetch(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}
