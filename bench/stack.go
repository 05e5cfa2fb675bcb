package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"jcsync/internal/temporalnames"
	"jcsync/workflows"
)

// stack is a benchmark's processes, the Temporal dev server, the simulators and a worker, and
// a client of the dev server.
type stack struct {
	procs    []*exec.Cmd
	temporal *exec.Cmd   // the dev server, also in procs
	worker   *exec.Cmd   // the first worker
	workers  []*exec.Cmd // every worker, the first included
	client   client.Client
	ctl      string // the simulators' admin endpoint
	queue    string
	pprofURL string
	logw     io.Writer
	// restartArgs and restartEnv start one more worker as the first was started, without
	// the profiler: a worker restarted after a kill (crash.go).
	restartArgs, restartEnv []string
	// binDir, workerArgs and workerEnv start a worker as the first was started (without the
	// profiler), for restartWorker.
	binDir     string
	workerArgs []string
	workerEnv  []string
}

// startStack starts the processes of scenario sc and waits until they answer.
// extraEnv is added to the workers' environment (settings of the integration).
func startStack(ctx context.Context, binDir string, sc scenario, logw io.Writer, extraEnv ...string) (st *stack, err error) {
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
	if err := st.startTemporal(binDir, ports[0]); err != nil {
		return nil, err
	}

	if err := st.startSim(binDir, simArgs(sc, jcAddr, azAddr, ctlAddr, benchSeed), "sim"); err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, st.ctl+"/counts", 10*time.Minute); err != nil {
		return nil, fmt.Errorf("simulators never came up: %w", err)
	}

	if st.client, err = dialTemporal(ctx, temporalAddr); err != nil {
		return nil, err
	}

	args := []string{"--temporal-address", temporalAddr, "--task-queue", st.queue, "--metrics-address", "",
		"--log-level", "warn"}
	if !sc.Unknown {
		// The worker is told the limit, as a ceiling: its pacer cannot exceed it. No limit
		// at all is a ceiling far above anything the machine can send.
		rps := sc.RPS
		if rps <= 0 {
			rps = 1e6
		}
		args = append(args, "--jumpcloud-max-rps", strconv.FormatFloat(rps, 'f', -1, 64))
	}
	if sc.PageConcurrency > 0 {
		args = append(args, "--page-concurrency", strconv.Itoa(sc.PageConcurrency))
	}
	// Last, so that the workers after the first drop it.
	args = append(args, "--pprof-address", fmt.Sprintf("127.0.0.1:%d", ports[4]))
	env := []string{
		"JUMPCLOUD_API_KEY=" + benchKey, "JUMPCLOUD_BASE_URL=http://" + jcAddr,
		"AUTHOMIZE_TOKEN=" + benchToken, "AUTHOMIZE_BASE_URL=http://" + azAddr, "AUTHOMIZE_APP_ID=" + benchApp,
		"AUTHOMIZE_INTEGRATION_NAME=" + benchIntegration, "JUMPCLOUD_ADMIN_EMAIL=", "AUTHOMIZE_OWNER_EMAIL=",
	}
	env = append(env, extraEnv...)
	if sc.WorkerIdentity != "" {
		env = append(env, "JCSYNC_WORKER_IDENTITY="+sc.WorkerIdentity)
	}
	st.restartArgs, st.restartEnv = args[:len(args)-2], env
	st.binDir, st.workerArgs, st.workerEnv = binDir, args[:len(args)-2], env
	// The first worker serves the profiler; the others of a fleet run without it.
	for i := range max(1, sc.Workers) {
		if i == 1 {
			args = args[:len(args)-2]
		}
		if _, err := st.startWorker(binDir, args, env); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// restartWorker stops the first worker (SIGTERM, as a deploy does) and starts a new process
// in its place: a worker that knows nothing of the orgs it paced, but what Temporal keeps.
func (st *stack) restartWorker() error {
	old := st.worker
	stop(old)
	st.worker = nil
	for i, w := range st.workers {
		if w == old {
			st.workers = append(st.workers[:i], st.workers[i+1:]...)
			break
		}
	}
	w, err := st.startWorker(st.binDir, st.workerArgs, st.workerEnv)
	if err != nil {
		return err
	}
	st.worker = w
	return nil
}

// simArgs are the simulator's flags for org sc, generated from seed, on the addresses given.
func simArgs(sc scenario, jcAddr, azAddr, ctlAddr string, seed int) []string {
	return append([]string{
		"--jumpcloud-address", jcAddr, "--authomize-address", azAddr, "--control-address", ctlAddr,
		"--users", strconv.Itoa(sc.Users), "--groups", strconv.Itoa(sc.Groups), "--admins", strconv.Itoa(sc.Admins),
		"--apps", strconv.Itoa(sc.Apps), "--max-group-size", strconv.Itoa(sc.MaxGroupSize),
		"--avg-group-size", strconv.Itoa(sc.AvgGroupSize), "--user-bindings", strconv.Itoa(sc.UserBindingsPerApp),
		"--group-bindings", strconv.Itoa(sc.GroupBindingsPerApp), "--latency", sc.Latency.String(),
		"--rate-limit", strconv.FormatFloat(sc.RPS, 'f', -1, 64), "--seed", strconv.Itoa(seed),
		"--api-key", benchKey, "--token", benchToken, "--app-id", benchApp,
	}, sc.Shape.simArgs(sc.RPS)...)
}

// startSim starts one simulator process.
func (st *stack) startSim(binDir string, args []string, name string) error {
	sim := exec.Command(filepath.Join(binDir, "sim"), args...)
	if err := start(sim, st.logw, name); err != nil {
		return err
	}
	st.procs = append(st.procs, sim)
	return nil
}

// startTemporal starts the Temporal dev server on port.
func (st *stack) startTemporal(binDir string, port int) error {
	temporal := exec.Command(filepath.Join(binDir, "temporal"), "server", "start-dev", "--headless",
		"--ip", "127.0.0.1", "--port", strconv.Itoa(port), "--log-level", "error",
		"--search-attribute", "JCSyncIntegration=Keyword")
	if err := start(temporal, st.logw, "temporal"); err != nil {
		return err
	}
	st.procs, st.temporal = append(st.procs, temporal), temporal
	return nil
}

// startWorker starts one more worker process with args and env (on top of the benchmark's
// own environment). The first one started is st.worker, whose figures the tables report.
func (st *stack) startWorker(binDir string, args, env []string) (*exec.Cmd, error) {
	w := exec.Command(filepath.Join(binDir, "worker"), args...)
	w.Env = append(os.Environ(), env...)
	if err := start(w, st.logw, fmt.Sprintf("worker %d", len(st.workers)+1)); err != nil {
		return nil, err
	}
	st.procs = append(st.procs, w)
	st.workers = append(st.workers, w)
	if st.worker == nil {
		st.worker = w
	}
	return w, nil
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
	run, err := st.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: temporalnames.IntegrationQueue(st.queue, in.Integration)}, temporalnames.SyncWorkflow, in)
	if err != nil {
		return nil, fmt.Errorf("start the sync: %w", err)
	}
	return run, nil
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

// exited holds, for every process started, a channel closed when it has exited.
var exited sync.Map // *exec.Cmd → chan struct{}

func start(cmd *exec.Cmd, logw io.Writer, name string) error {
	cmd.Stdout = prefixWriter{w: logw, prefix: name + ": "}
	cmd.Stderr = cmd.Stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	done := make(chan struct{})
	exited.Store(cmd, done)
	go func() { _ = cmd.Wait(); close(done) }()
	return nil
}

// exitOf is closed when cmd has exited.
func exitOf(cmd *exec.Cmd) <-chan struct{} {
	done, _ := exited.Load(cmd)
	return done.(chan struct{})
}

// whileWorkersRun is ctx, cancelled as soon as a worker process exits: a worker that fails
// at start (a configuration it refuses) would otherwise leave the benchmark waiting for syncs
// nobody runs.
func (st *stack) whileWorkersRun(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	for i, w := range st.workers {
		go func() {
			select {
			case <-exitOf(w):
				cancel(fmt.Errorf("worker %d exited (its log is above)", i+1))
			case <-ctx.Done():
			}
		}()
	}
	return ctx, func() { cancel(nil) }
}

func stop(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	done := exitOf(cmd)
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
