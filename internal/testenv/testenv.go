// Package testenv starts the real parts that end-to-end tests run against: a Temporal dev
// server (the CLI from `make tools`), both API simulators on loopback, and in-process
// workers with the production registration. It also compares Authomize's stored snapshot
// with what the generated org says a correct sync must produce.
package testenv

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"jcsync/activities"
	"jcsync/internal/config"
	"jcsync/internal/sim/authomizesim"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/sim/simcheck"
	"jcsync/internal/temporalnames"
	"jcsync/internal/versioning"
	"jcsync/routing"
)

// Fake credentials of the simulators. Tests scan histories and logs for them.
const (
	APIKey = "jca_TESTKEY_0123456789abcdef0123456789abcdef"
	Token  = "atm_TESTTOKEN_fedcba9876543210fedcba98765432"
	AppID  = "app-e2e"
)

// TemporalCLI finds the Temporal CLI that `make tools` installs: $TEMPORAL_CLI, or bin/temporal
// in the first parent directory that has it. Tests fail (not skip) without it: `make test`
// always installs it, and a silently skipped end-to-end test proves nothing.
func TemporalCLI(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("TEMPORAL_CLI"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, "bin", "temporal")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("the Temporal CLI is missing: run `make tools` (or `make test`, which installs it)")
		}
		dir = parent
	}
}

// Temporal is a running dev server and a client to it.
type Temporal struct {
	Server *testsuite.DevServer
	Client client.Client
}

// StartTemporal starts a dev server (in memory unless dbFile is set) with the connector's
// search attributes registered. Stop it with Stop.
func StartTemporal(cliPath, dbFile string) (*Temporal, error) {
	return startTemporal(testsuite.DevServerOptions{ExistingPath: cliPath, DBFilename: dbFile, SearchAttributes: temporalnames.AllAttributes()})
}

// StartBareTemporal starts an in-memory dev server without any custom search attribute, as
// a new namespace is, with namespaces registered beside "default". Stop it with Stop.
func StartBareTemporal(cliPath string, namespaces ...string) (*Temporal, error) {
	opts := testsuite.DevServerOptions{ExistingPath: cliPath}
	for _, ns := range namespaces {
		opts.ExtraArgs = append(opts.ExtraArgs, "--namespace", ns)
	}
	return startTemporal(opts)
}

func startTemporal(opts testsuite.DevServerOptions) (*Temporal, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts.LogLevel = "error"
	opts.ExtraArgs = append(opts.ExtraArgs, DevServerArgs...)
	opts.ClientOptions = &client.Options{Logger: quietLogger()}
	opts.Stdout, opts.Stderr = os.Stderr, os.Stderr
	srv, err := testsuite.StartDevServer(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("start the Temporal dev server: %w", err)
	}
	return &Temporal{Server: srv, Client: srv.Client()}, nil
}

// DevServerArgs are the dev server's settings beyond its defaults. Worker deployments need
// none; a version's drainage status is refreshed every 3 minutes, after a 3-minute grace
// for visibility, by default, which a test of an upgrade cannot wait for: here a second
// each.
var DevServerArgs = []string{
	"--dynamic-config-value", "matching.wv.VersionDrainageStatusRefreshInterval=\"1s\"",
	"--dynamic-config-value", "matching.wv.VersionDrainageStatusVisibilityGracePeriod=\"1s\"",
	// A package's tests share one dev server and one deployment version (the test binary's),
	// each test on task queues of its own: three per worker (an integration's queue, its
	// checks queue, the base queue), past the server's default of 100 per version within a
	// package's run. Production deployments keep the default (docs/upgrades.md, Limits).
	"--dynamic-config-value", "matching.maxTaskQueuesInDeployment=10000",
	"--dynamic-config-value", "matching.maxTaskQueuesInDeploymentVersion=10000",
}

// Stop stops the dev server.
func (t *Temporal) Stop() {
	t.Client.Close()
	_ = t.Server.Stop()
}

// SharedTemporal is the in-memory dev server the tests of one package share: the first test
// that needs it starts it, and the package's TestMain stops it.
type SharedTemporal struct {
	once sync.Once
	env  *Temporal
	err  error
}

// Get returns the shared server, starting it on first use; the test fails when it cannot.
func (s *SharedTemporal) Get(t testing.TB) *Temporal {
	t.Helper()
	cli := TemporalCLI(t)
	s.once.Do(func() { s.env, s.err = StartTemporal(cli, "") })
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.env
}

// Stop stops the shared server, if a test started it.
func (s *SharedTemporal) Stop() {
	if s.env != nil {
		s.env.Stop()
	}
}

// quietLogger keeps the SDK's warnings and errors and drops its per-task chatter.
func quietLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// Sims are both simulators, served on loopback.
type Sims struct {
	Org   *jumpcloudsim.Org
	JC    *jumpcloudsim.Server
	JCURL string
	AZ    *authomizesim.Server
	AZURL string
}

// StartSims serves org through the JumpCloud simulator and an Authomize simulator with one
// app, AppID. Both stop when the test ends.
func StartSims(t testing.TB, org *jumpcloudsim.Org) *Sims {
	t.Helper()
	jc := jumpcloudsim.New(org, jumpcloudsim.Options{APIKey: APIKey})
	az := authomizesim.New(authomizesim.Options{Tokens: []string{Token}, Apps: []string{AppID}})
	jcs, azs := httptest.NewServer(jc), httptest.NewServer(az)
	t.Cleanup(jcs.Close)
	t.Cleanup(azs.Close)
	return &Sims{Org: org, JC: jc, JCURL: jcs.URL, AZ: az, AZURL: azs.URL}
}

// Integration is an integration pointed at the simulators, with its secrets resolved.
func (s *Sims) Integration(name string, identities bool) config.Integration {
	return config.Integration{
		Name:       name,
		Identities: identities,
		JumpCloud:  config.JumpCloud{BaseURL: s.JCURL, APIKey: APIKey, RPS: 2000},
		Authomize:  config.Authomize{BaseURL: s.AZURL, AppID: AppID, Token: Token},
	}
}

// FastRetries makes the clients give up quickly, so an injected fault exhausts an activity
// attempt in milliseconds instead of minutes.
func FastRetries(a *activities.Activities) {
	a.Retries = activities.RequestRetries{MaxAttempts: 2, BaseBackoff: 5 * time.Millisecond, MaxRetryWait: 50 * time.Millisecond}
}

// WithDataConverter makes the activities decode what Temporal returns with dc (the client's
// converter, when payload encryption is on).
func WithDataConverter(dc converter.DataConverter) func(*activities.Activities) {
	return func(a *activities.Activities) { a.DataConverter = dc }
}

// StartWorker runs a worker process's workers under the base task queue taskQueue, built as
// the worker binary builds them (routing.New): each integration's queue and checks queue,
// and the base queue's hand-over. They stop when the test ends (or earlier, through the
// returned value).
func StartWorker(t testing.TB, c client.Client, taskQueue string, integrations config.Integrations, tune func(*activities.Activities)) routing.Workers {
	t.Helper()
	return StartWorkerWith(t, c, taskQueue, integrations, tune, worker.Options{})
}

// StartWorkerWith is StartWorker with the workers' options (e.g. their activity slots, or an
// identity that tells the workers apart in histories). Each call is a separate process: its
// own activities, so its own per-org rate, as a separate process would have.
func StartWorkerWith(t testing.TB, c client.Client, taskQueue string, integrations config.Integrations, tune func(*activities.Activities), opts worker.Options) routing.Workers {
	t.Helper()
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	a := &activities.Activities{Integrations: integrations, Temporal: c, Log: log, PageConcurrency: 8}
	if tune != nil {
		tune(a)
	}
	opts.MaxHeartbeatThrottleInterval = time.Second // as the worker binary
	// Versioned as the worker binary is, so that syncs run pinned as in production: one
	// deployment version per test binary (this code), current on every server it meets.
	d := Deployment(t)
	if !opts.DeploymentOptions.UseVersioning {
		opts.DeploymentOptions = versioning.DeploymentOptions(d)
	} else {
		d.Name, d.BuildID = opts.DeploymentOptions.Version.DeploymentName, opts.DeploymentOptions.Version.BuildID
	}
	ws, err := routing.New(c, taskQueue, a, func(routing.Carries) worker.Options { return opts })
	if err != nil {
		t.Fatalf("build workers: %v", err)
	}
	if err := ws.Start(); err != nil {
		t.Fatalf("start workers: %v", err)
	}
	t.Cleanup(ws.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dec, err := versioning.Settle(ctx, c, d, ws.Queues(), versioning.Settings{Wait: 2 * time.Minute})
	if err != nil {
		t.Fatalf("workers on %s: %v", taskQueue, err)
	}
	if dec.Current != d.BuildID {
		t.Fatalf("workers on %s: build %s is not current (%s): new syncs would not reach them", taskQueue, d.BuildID, dec.Action)
	}
	return ws
}

// DeploymentName is the worker deployment of the in-process workers. Worker processes
// (the worker binary) join their own, so the two never share a current version.
const DeploymentName = "jcsync-testenv"

var testBuild = sync.OnceValues(config.DefaultBuildID)

// Deployment is the deployment version of the in-process workers: the test binary's
// build id, derived as the worker binary derives its own.
func Deployment(t testing.TB) config.Deployment {
	t.Helper()
	id, err := testBuild()
	if err != nil {
		t.Fatalf("build id of the test binary: %v", err)
	}
	return config.Deployment{Name: DeploymentName, BuildID: id}
}

// Diff lists every difference between exp and snap; empty means exact.
func Diff(exp jumpcloudsim.Expected, snap authomizesim.Snapshot) []string {
	return simcheck.Diff(exp, snap)
}

// Summarize shortens a long diff for a test failure message.
func Summarize(diff []string) string { return simcheck.Summarize(diff) }

// HistoryText renders a workflow history for scanning: its protojson form plus every payload
// decoded. (In protojson, payload bytes are base64, so a plain search of the JSON would miss
// an email or a key inside an input, a result or a heartbeat.)
func HistoryText(events []*historypb.HistoryEvent) (string, error) {
	b, err := protojson.Marshal(&historypb.History{Events: events})
	if err != nil {
		return "", fmt.Errorf("marshal history: %w", err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "", fmt.Errorf("re-read history: %w", err)
	}
	var sb strings.Builder
	sb.Write(b)
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case string:
			if dec, err := base64.StdEncoding.DecodeString(x); err == nil && len(dec) > 0 {
				sb.WriteByte('\n')
				sb.Write(dec)
			}
		}
	}
	walk(v)
	return sb.String(), nil
}
