// Command bench measures a whole sync the way it runs in production: a real Temporal dev
// server, a real worker process and both simulators in a process of their own. It prints one
// table per scenario, and reports a figure only for a sync whose result is exact.
//
//	go run ./bench                      # every scenario
//	go run ./bench --scenario large     # one of them
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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
	"jcsync/workflows"
)

// Scenario is one benchmark setting.
type Scenario struct {
	Name                                    string
	Users, Groups, Admins, Apps             int
	MaxGroupSize, AvgGroupSize              int
	UserBindingsPerApp, GroupBindingsPerApp int
	Latency                                 time.Duration
	// RPS is JumpCloud's rate limit (the simulator answers 429 beyond it) and the rate the
	// worker is configured with; 0 means no limit.
	RPS             float64
	PageConcurrency int
}

var scenarios = []Scenario{
	{Name: "large", Users: 20000, Groups: 1000, Admins: 25, Apps: 300, MaxGroupSize: 2000, AvgGroupSize: 40,
		UserBindingsPerApp: 10, GroupBindingsPerApp: 3, Latency: 40 * time.Millisecond, RPS: 50, PageConcurrency: 4},
	{Name: "huge-memory", Users: 1000000, Groups: 10000, Admins: 25, Apps: 300, MaxGroupSize: 2000, AvgGroupSize: 40,
		UserBindingsPerApp: 10, GroupBindingsPerApp: 3, PageConcurrency: 4},
	// small is what `make test` runs to check the benchmark's own checks.
	{Name: "small", Users: 500, Groups: 40, Admins: 8, Apps: 12, MaxGroupSize: 200, AvgGroupSize: 20,
		UserBindingsPerApp: 5, GroupBindingsPerApp: 2, Latency: 2 * time.Millisecond, RPS: 400, PageConcurrency: 4},
}

// Row is one scenario's figures.
type Row struct {
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
}

func main() {
	var names []string
	var bin, jsonOut string
	pflag.StringVar(&profileDir, "profile", "", "write the worker's CPU profile (first 30 s of the sync) and heap profile (at the end) to this directory")
	pflag.StringSliceVar(&names, "scenario", []string{"large", "huge-memory"}, "scenarios to run: large, huge-memory, small")
	pflag.StringVar(&bin, "bin", "bin", "directory holding temporal, worker and sim")
	pflag.StringVar(&jsonOut, "json", "", "also write the rows as JSON to this file")
	pflag.Parse()
	fmt.Printf("machine: %d CPUs, %s/%s, %s; %s\n\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), time.Now().UTC().Format("2006-01-02"))
	var rows []Row
	failed := false
	for _, name := range names {
		sc, ok := find(name)
		if !ok {
			fmt.Fprintf(os.Stderr, "bench: unknown scenario %q\n", name)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "bench: running %s (%d users, %d groups, %d apps)\n", sc.Name, sc.Users, sc.Groups, sc.Apps)
		row, err := Run(context.Background(), bin, sc, os.Stderr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", sc.Name, err)
			failed = true
			continue
		}
		rows = append(rows, row)
		Print(os.Stdout, sc, row)
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

func find(name string) (Scenario, bool) {
	for _, s := range scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// Print writes one scenario's table.
func Print(w io.Writer, sc Scenario, r Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "scenario %s: %d users, %d groups, %d admins, %d apps; latency %s, rate limit %s\n",
		sc.Name, sc.Users, sc.Groups, sc.Admins, sc.Apps, sc.Latency, rateText(sc.RPS))
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

// Fake credentials of the simulators: the benchmark's only secrets.
const (
	benchKey   = "jca_bench_key_0000000000000000000000000000"
	benchToken = "atm_bench_token_000000000000000000000000"
	benchApp   = "app-bench"
)

// Run runs one scenario end to end and returns its figures. It fails when the sync fails or
// Authomize's snapshot is not exactly the org.
func Run(ctx context.Context, binDir string, sc Scenario, logw io.Writer) (Row, error) {
	binDir, _ = filepath.Abs(binDir)
	tmp, err := os.MkdirTemp("", "jcsync-bench-")
	if err != nil {
		return Row{}, err
	}
	defer os.RemoveAll(tmp)
	ports, err := freePorts(5)
	if err != nil {
		return Row{}, err
	}
	temporalAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	jcAddr, azAddr, ctlAddr := fmt.Sprintf("127.0.0.1:%d", ports[1]), fmt.Sprintf("127.0.0.1:%d", ports[2]), fmt.Sprintf("127.0.0.1:%d", ports[3])

	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			stop(p)
		}
	}()
	temporal := exec.Command(filepath.Join(binDir, "temporal"), "server", "start-dev", "--headless",
		"--ip", "127.0.0.1", "--port", strconv.Itoa(ports[0]), "--log-level", "error",
		"--search-attribute", "JCSyncIntegration=Keyword")
	if err := start(temporal, logw, "temporal"); err != nil {
		return Row{}, err
	}
	procs = append(procs, temporal)

	simArgs := []string{
		"--jumpcloud-address", jcAddr, "--authomize-address", azAddr, "--control-address", ctlAddr,
		"--users", strconv.Itoa(sc.Users), "--groups", strconv.Itoa(sc.Groups), "--admins", strconv.Itoa(sc.Admins),
		"--apps", strconv.Itoa(sc.Apps), "--max-group-size", strconv.Itoa(sc.MaxGroupSize),
		"--avg-group-size", strconv.Itoa(sc.AvgGroupSize), "--user-bindings", strconv.Itoa(sc.UserBindingsPerApp),
		"--group-bindings", strconv.Itoa(sc.GroupBindingsPerApp), "--latency", sc.Latency.String(),
		"--rate-limit", strconv.FormatFloat(sc.RPS, 'f', -1, 64), "--seed", "2026",
		"--api-key", benchKey, "--token", benchToken, "--app-id", benchApp,
	}
	sim := exec.Command(filepath.Join(binDir, "sim"), simArgs...)
	if err := start(sim, logw, "sim"); err != nil {
		return Row{}, err
	}
	procs = append(procs, sim)
	ctl := "http://" + ctlAddr
	if err := waitHTTP(ctx, ctl+"/counts", 10*time.Minute); err != nil {
		return Row{}, fmt.Errorf("simulators never came up: %w", err)
	}

	c, err := dialTemporal(ctx, temporalAddr)
	if err != nil {
		return Row{}, err
	}
	defer c.Close()

	queue := "bench-" + sc.Name
	rps := sc.RPS
	if rps <= 0 {
		rps = 1e6
	}
	worker := exec.Command(filepath.Join(binDir, "worker"),
		"--temporal-address", temporalAddr, "--task-queue", queue, "--metrics-address", "",
		"--jumpcloud-rps", strconv.FormatFloat(rps, 'f', -1, 64),
		"--page-concurrency", strconv.Itoa(sc.PageConcurrency), "--log-level", "warn",
		"--pprof-address", fmt.Sprintf("127.0.0.1:%d", ports[4]))
	worker.Env = append(os.Environ(),
		"JUMPCLOUD_API_KEY="+benchKey, "JUMPCLOUD_BASE_URL=http://"+jcAddr,
		"AUTHOMIZE_TOKEN="+benchToken, "AUTHOMIZE_BASE_URL=http://"+azAddr, "AUTHOMIZE_APP_ID="+benchApp,
		"AUTHOMIZE_INTEGRATION_NAME=bench", "JUMPCLOUD_ADMIN_EMAIL=", "AUTHOMIZE_OWNER_EMAIL=")
	if err := start(worker, logw, "worker"); err != nil {
		return Row{}, err
	}
	procs = append(procs, worker)
	if err := postReset(ctl); err != nil {
		return Row{}, err
	}

	began := time.Now()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: fmt.Sprintf("bench-%s-%d", sc.Name, began.UnixNano()), TaskQueue: queue,
	}, workflows.WorkflowName, workflows.SyncInput{Integration: "bench"})
	if err != nil {
		return Row{}, fmt.Errorf("start the sync: %w", err)
	}
	pprofURL := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof", ports[4])
	cpuDone := make(chan error, 1)
	if profileDir != "" {
		go func() {
			cpuDone <- fetch(pprofURL+"/profile?seconds=30", filepath.Join(profileDir, sc.Name+"-cpu.pprof"))
		}()
	}
	var res workflows.SyncResult
	if err := run.Get(ctx, &res); err != nil {
		return Row{}, fmt.Errorf("sync failed: %w", err)
	}
	wall := time.Since(began)
	if profileDir != "" {
		if err := fetch(pprofURL+"/heap", filepath.Join(profileDir, sc.Name+"-heap.pprof")); err != nil {
			fmt.Fprintf(logw, "bench: heap profile: %v\n", err)
		}
		if err := <-cpuDone; err != nil {
			fmt.Fprintf(logw, "bench: CPU profile: %v\n", err)
		}
	}
	peak, cpu := procStats(worker.Process.Pid)

	var counts control.Counts
	if err := getJSON(ctl+"/counts", &counts); err != nil {
		return Row{}, err
	}
	var verdict control.Verdict
	if err := getJSON(ctl+"/verify", &verdict); err != nil {
		return Row{}, err
	}
	row := Row{
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
	row.HistoryEvents, err = historyEvents(ctx, c, run)
	if err != nil {
		return row, err
	}
	if !verdict.Exact {
		return row, fmt.Errorf("the Authomize snapshot is not exactly the org (%d differences: %v): no figure reported", verdict.Differences, verdict.Sample)
	}
	return row, nil
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
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func postReset(ctl string) error {
	resp, err := http.Post(ctl+"/reset", "application/json", nil)
	if err != nil {
		return fmt.Errorf("reset the simulators' counters: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return errors.New("reset the simulators' counters: unexpected status")
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
