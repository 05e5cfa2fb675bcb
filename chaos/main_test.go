// Package chaos holds reliability and security tests of the whole connector: real worker
// processes killed at random, a Temporal server restarted mid-sync, fault storms from both
// APIs, org changes while a sync reads it, credentials that fail, corrupted records, and
// scans for secrets in every place a secret could leak to. Each sync that should succeed is
// checked against the org with simcheck; each that should fail must leave the previous
// snapshot intact. A summary table is printed after the tests (run with -v to see it).
package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"jcsync/internal/config"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// Secrets the tests configure besides the simulators' fakes. Wrong and rotated keys are
// secrets too: a leaked wrong key is often a typo of the right one.
const (
	wrongKey   = "jca_WRONGKEY_aaaabbbbccccddddeeeeffff00001111"
	rotatedKey = "jca_ROTATED_99998888777766665555444433332222"
	wrongToken = "atm_WRONGTOKEN_1111222233334444555566667777"
)

// secrets is every value that must never appear anywhere the tests can look.
var secrets = []string{testenv.APIKey, testenv.Token, wrongKey, rotatedKey, wrongToken}

var (
	temporalServer testenv.SharedTemporal

	workerOnce sync.Once
	workerBin  string
	workerErr  error
	buildDir   string
)

func TestMain(m *testing.M) {
	code := m.Run()
	temporalServer.Stop()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	fmt.Print(sum.table())
	os.Exit(code)
}

// devServer is the package's shared in-memory Temporal dev server, started on first use.
func devServer(t *testing.T) *testenv.Temporal {
	t.Helper()
	return temporalServer.Get(t)
}

// workerBinary builds the worker once per run, so the processes killed here are the code
// under test and not a stale bin/worker. JCSYNC_WORKER_BIN overrides it.
func workerBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("JCSYNC_WORKER_BIN"); p != "" {
		return p
	}
	workerOnce.Do(func() {
		buildDir, workerErr = os.MkdirTemp("", "jcsync-chaos-")
		if workerErr != nil {
			return
		}
		workerBin = filepath.Join(buildDir, "worker")
		cmd := exec.Command("go", "build", "-o", workerBin, "jcsync/worker")
		out, err := cmd.CombinedOutput()
		if err != nil {
			workerErr = fmt.Errorf("go build jcsync/worker: %v\n%s", err, out)
		}
	})
	if workerErr != nil {
		t.Fatal(workerErr)
	}
	return workerBin
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// workerProc is bin/worker running as a separate process, as in production.
type workerProc struct {
	cmd     *exec.Cmd
	out     *lockedBuffer
	metrics string
	exited  chan struct{}
	label   string
}

type procOptions struct {
	temporal  string // host:port
	queue     string
	in        config.Integration
	logFormat string // text or json
	rps       int
	env       []string // more variables, e.g. a service account's
}

// startWorkerProc starts a worker process for one integration, configured the way an
// operator would: secrets in the environment, debug logging, metrics on a loopback port.
// It returns once the worker says it started; the process is killed when the test ends and
// its output is scanned for secrets.
func startWorkerProc(t *testing.T, o procOptions) *workerProc {
	t.Helper()
	bin := workerBinary(t)
	metrics, err := testenv.FreeHostPort()
	if err != nil {
		t.Fatal(err)
	}
	if o.logFormat == "" {
		o.logFormat = "text"
	}
	if o.rps == 0 {
		o.rps = 200
	}
	cmd := exec.Command(bin,
		"--temporal-address", o.temporal, "--task-queue", o.queue,
		"--log-level", "debug", "--log-format", o.logFormat,
		"--metrics-address", metrics, "--page-concurrency", "4",
		"--jumpcloud-rps", strconv.Itoa(o.rps))
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		config.EnvJumpCloudAPIKey + "=" + o.in.JumpCloud.APIKey,
		config.EnvJumpCloudBaseURL + "=" + o.in.JumpCloud.BaseURL,
		config.EnvJumpCloudOrgID + "=" + o.in.JumpCloud.OrgID,
		config.EnvAuthomizeToken + "=" + o.in.Authomize.Token,
		config.EnvAuthomizeBaseURL + "=" + o.in.Authomize.BaseURL,
		config.EnvAuthomizeAppID + "=" + o.in.Authomize.AppID,
		config.EnvIntegrationName + "=" + o.in.Name,
	}
	cmd.Env = append(cmd.Env, o.env...)
	w := &workerProc{cmd: cmd, out: &lockedBuffer{}, metrics: metrics, exited: make(chan struct{}), label: o.in.Name + "/" + o.logFormat}
	cmd.Stdout, cmd.Stderr = w.out, w.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	go func() { _ = cmd.Wait(); close(w.exited) }()
	t.Cleanup(func() {
		w.signal(syscall.SIGKILL)
		scanText(t, "worker log "+w.label, w.out.String())
	})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(w.out.String(), "worker started") {
		select {
		case <-w.exited:
			t.Fatalf("worker exited at start:\n%s", w.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker did not start in 30 s:\n%s", w.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return w
}

// signal sends sig and, for fatal ones, waits until the process is gone.
func (w *workerProc) signal(sig syscall.Signal) {
	select {
	case <-w.exited:
		return
	default:
	}
	_ = w.cmd.Process.Signal(sig)
	select {
	case <-w.exited:
	case <-time.After(40 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.exited
	}
}

// identity is the SDK's default worker identity, "pid@host", which Temporal shows as the
// last worker of a pending activity.
func (w *workerProc) identity() string { return strconv.Itoa(w.cmd.Process.Pid) + "@" }

// scrapeMetrics reads the worker's /metrics page.
func (w *workerProc) scrapeMetrics(t *testing.T) string {
	t.Helper()
	res, err := http.Get("http://" + w.metrics + "/metrics")
	if err != nil {
		t.Fatalf("scrape metrics: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !bytes.Contains(b, []byte("# TYPE")) {
		t.Fatalf("metrics page: %d\n%.300s", res.StatusCode, b)
	}
	return string(b)
}

// startSync starts one sync of in.Integration on its integration's queue under the base queue.
func startSync(t *testing.T, c client.Client, queue string, in workflows.SyncInput) client.WorkflowRun {
	t.Helper()
	if in.SweepMargin == 0 {
		// Syncs here follow each other within seconds: the default margin would defer every
		// deletion to a sync minutes later.
		in.SweepMargin = time.Millisecond
	}
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID:        temporalnames.SyncID(in.Integration),
		TaskQueue: temporalnames.IntegrationQueue(queue, in.Integration),
	}, temporalnames.SyncWorkflow, in)
	if err != nil {
		t.Fatalf("start sync: %v", err)
	}
	t.Cleanup(func() { scanHistory(t, c, run.GetID(), run.GetRunID()) })
	return run
}

// waitSync waits for the sync's result. Errors reaching Temporal (a restarting server) are
// retried; only the workflow's own outcome is returned.
func waitSync(t *testing.T, c client.Client, run client.WorkflowRun, limit time.Duration) (*workflows.SyncResult, error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		var res workflows.SyncResult
		err := c.GetWorkflow(ctx, run.GetID(), run.GetRunID()).Get(ctx, &res)
		cancel()
		if err == nil {
			return &res, nil
		}
		var unavailable *serviceerror.Unavailable
		transient := errors.As(err, &unavailable) || strings.Contains(err.Error(), "connection refused") ||
			strings.Contains(err.Error(), "Unavailable")
		if !transient || time.Now().After(deadline) {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("the sync did not finish in %s (last error: %v)", limit, err)
			}
			return nil, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// summary collects the figures of the table printed after the tests.
type summary struct {
	mu            sync.Mutex
	trialsRun     int
	trialsPassed  int
	kills         int
	refetched     int
	jcFaults      map[string]int64
	azFaults      map[string]int64
	clientSaw     map[string]int64
	artifacts     int
	secretsFound  int
	credFailTimes map[string]time.Duration
	notes         []string
}

var sum = &summary{jcFaults: map[string]int64{}, azFaults: map[string]int64{}, clientSaw: map[string]int64{}, credFailTimes: map[string]time.Duration{}}

func (s *summary) with(fn func(s *summary)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

func (s *summary) table() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	row := func(k string, v any) { fmt.Fprintf(&b, "| %-44s | %-28v |\n", k, v) }
	b.WriteString("\nchaos summary\n")
	row("what", "value")
	b.WriteString("|" + strings.Repeat("-", 46) + "|" + strings.Repeat("-", 30) + "|\n")
	row("kill trials run", s.trialsRun)
	row("kill trials passed", s.trialsPassed)
	row("worker kills (SIGKILL)", s.kills)
	perKill := "n/a"
	if s.kills > 0 {
		perKill = fmt.Sprintf("%.2f (%d in all)", float64(s.refetched)/float64(s.kills), s.refetched)
	}
	row("pages refetched per kill", perKill)
	for _, k := range sortedKeys(s.jcFaults) {
		row("JumpCloud faults injected: "+k, s.jcFaults[k])
	}
	for _, k := range sortedKeys(s.azFaults) {
		row("Authomize faults injected: "+k, s.azFaults[k])
	}
	for _, k := range sortedKeys(s.clientSaw) {
		row("client-side errors seen: "+k, s.clientSaw[k])
	}
	row("places scanned for secrets", s.artifacts)
	row("secrets found", s.secretsFound)
	for _, k := range sortedKeys(s.credFailTimes) {
		row("time to fail: "+k, s.credFailTimes[k].Round(time.Millisecond))
	}
	for _, n := range s.notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
