// Command worker runs the sync's workflows and activities for every configured integration.
// It polls each integration's own task queue (and its checks queue), so it only ever runs
// syncs of integrations it holds; start as many as needed, with the same or different
// integrations: Temporal spreads each integration's phases among the workers that hold it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"jcsync/activities"
	"jcsync/internal/codec"
	"jcsync/internal/config"
	"jcsync/internal/logging"
	"jcsync/internal/metrics"
	"jcsync/internal/searchattrs"
	"jcsync/internal/takeover"
	"jcsync/internal/temporalnames"
	"jcsync/internal/versioning"
	"jcsync/routing"
)

// Environment variables of the worker's own settings.
const (
	envConfig                  = "JCSYNC_CONFIG"
	envMaxConcurrentActivities = "JCSYNC_MAX_CONCURRENT_ACTIVITIES"
	envPageConcurrency         = "JCSYNC_PAGE_CONCURRENCY"
	envHeartbeatInterval       = "JCSYNC_HEARTBEAT_INTERVAL"
	envJumpCloudMaxRPS         = "JCSYNC_JUMPCLOUD_MAX_RPS"
	envJumpCloudRPS            = "JCSYNC_JUMPCLOUD_RPS" // the former name of envJumpCloudMaxRPS
	envMetricsAddress          = "JCSYNC_METRICS_ADDRESS"
	envCodecAddress            = "JCSYNC_CODEC_ADDRESS"
	envCodecCORSOrigins        = "JCSYNC_CODEC_CORS_ORIGINS"
	envCodecAuthToken          = "JCSYNC_CODEC_AUTH_TOKEN"
	envPprofAddress            = "JCSYNC_PPROF_ADDRESS"
	envWorkerIdentity          = "JCSYNC_WORKER_IDENTITY"
)

// workerEnvVars are the variables the worker reads besides the integration's and Temporal's.
var workerEnvVars = append([]string{envConfig, envMaxConcurrentActivities, envPageConcurrency, envHeartbeatInterval, envJumpCloudMaxRPS, envJumpCloudRPS, envMetricsAddress,
	envCodecAddress, envCodecCORSOrigins, envCodecAuthToken, envPprofAddress, envWorkerIdentity, config.EnvInsecureHTTP, "LOG_LEVEL", "LOG_FORMAT"}, config.DeploymentEnvVars...)

// stopTimeout is how long running activities get, after SIGTERM, to end before the worker
// cancels them and exits. A phase does not use it: it watches the worker's stop, records its
// checkpoint and hands over within a second or two (activities.ErrTypeWorkerStopping), so
// its failure reaches Temporal before the client closes and another worker resumes it at
// once. The short activities (validate, baseline, sweep, record baseline) are a few requests
// each and finish inside it. Whatever runs the worker must allow more than this between
// SIGTERM and SIGKILL: docker-compose.yml's stop_grace_period (checked by TestComposeFile),
// Kubernetes' terminationGracePeriodSeconds (docs/deploying.md).
const stopTimeout = 30 * time.Second

// defaultHeartbeatInterval is the longest a recorded checkpoint waits before it reaches
// Temporal: what a worker killed mid-stage can cost, in pages fetched again.
const defaultHeartbeatInterval = time.Second

// workerConfig is the worker's parsed command line.
type workerConfig struct {
	Temporal config.Temporal
	// Deployment is the worker's deployment version under Worker Versioning, and whether it
	// takes new syncs on start (docs/upgrades.md).
	Deployment              config.Deployment
	ConfigFile              string
	MaxConcurrentActivities int
	PageConcurrency         int
	// HeartbeatInterval caps the SDK's heartbeat throttling: how far behind a checkpoint in
	// Temporal may be, against one heartbeat RPC (a billed action on Temporal Cloud) per
	// running phase per interval.
	HeartbeatInterval time.Duration
	// JumpCloudMaxRPS is the ceiling of each org's request rate, unless its integration sets
	// its own; 0 leaves the pacer's default. The rate itself is found per org (pacer).
	JumpCloudMaxRPS float64
	// InsecureHTTP accepts http:// JumpCloud and Authomize base URLs to hosts beyond
	// loopback, in every integration: for simulators reached by a service name only.
	InsecureHTTP   bool
	MetricsAddress string
	// CodecAddress serves the payload codec to the Web UI and the CLI (with encryption on).
	CodecAddress     string
	CodecCORSOrigins []string
	// codecAuthToken, when set, is required as "Authorization: Bearer ..." by the codec
	// endpoint; read from the environment only, never a flag (flags show in process lists).
	// Without it the endpoint may only listen on loopback.
	codecAuthToken string
	// PprofAddress serves Go's profiler, for performance work; empty (the default) is off.
	PprofAddress string
	// WorkerIdentity is the host part of the worker's identity in Temporal: stable across
	// restarts of this worker, never shared by two live ones (a pod's name). A process that
	// starts under it fails the attempts a dead earlier process under it left running, so
	// they resume at once (internal/takeover). Empty: this machine's host name, or the first
	// of host-2, host-3, ... that no live worker process of this machine holds.
	WorkerIdentity string
	Log            logging.Options
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stderr))
}

// parseFlags reads the command line, with environment variables as defaults.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (workerConfig, error) {
	var c workerConfig
	fs := pflag.NewFlagSet("worker", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: worker [flags]\n\nRuns the JumpCloud → Authomize sync workflows and activities.\n"+
			"Integrations come from --config and/or JUMPCLOUD_API_KEY, AUTHOMIZE_TOKEN, ... in the environment.\n\nFlags:\n%s", fs.FlagUsages())
	}
	config.AddTemporalFlags(fs, &c.Temporal, getenv, temporalnames.TaskQueue)
	deploymentErr := config.AddDeploymentFlags(fs, &c.Deployment, getenv)
	logging.AddFlags(fs, &c.Log)
	fs.StringVar(&c.ConfigFile, "config", getenv(envConfig), "JSON file of integrations (env "+envConfig+")")
	fs.IntVar(&c.MaxConcurrentActivities, "max-concurrent-activities", envInt(getenv, envMaxConcurrentActivities, defaultMaxConcurrentActivities),
		"activities this worker runs at once on each task queue it polls: each integration's, and its checks queue; a sync runs one at a time (its current phase), so 1 already lets every integration it holds sync (env "+envMaxConcurrentActivities+")")
	fs.IntVar(&c.PageConcurrency, "page-concurrency", envInt(getenv, envPageConcurrency, defaultPageConcurrency),
		"most JumpCloud pages one stage fetches at once; within it, each org's pacer sets how many (env "+envPageConcurrency+")")
	addMaxRPSFlag(fs, &c.JumpCloudMaxRPS, getenv)
	hbDefault, hbErr := envDuration(getenv, envHeartbeatInterval, defaultHeartbeatInterval)
	fs.DurationVar(&c.HeartbeatInterval, "heartbeat-interval", hbDefault,
		"longest a running phase's checkpoint waits before it reaches Temporal; a worker killed mid-phase costs at most this much work again, and each running phase sends one heartbeat per interval (env "+envHeartbeatInterval+")")
	// An unreadable JCSYNC_INSECURE_HTTP is an error, not a quiet default either way.
	pol, polErr := config.PolicyFromEnv(getenv)
	fs.BoolVar(&c.InsecureHTTP, "insecure-http", pol.InsecureHTTP, "accept http:// JumpCloud and Authomize base URLs to hosts beyond loopback, for simulators reached by name; never for real accounts (env "+config.EnvInsecureHTTP+")")
	metricsDefault := ":9090"
	if v, ok := lookup(getenv, envMetricsAddress); ok {
		metricsDefault = v
	}
	fs.StringVar(&c.MetricsAddress, "metrics-address", metricsDefault, "address of the Prometheus /metrics endpoint; empty disables it (env "+envMetricsAddress+")")
	fs.StringVar(&c.CodecAddress, "codec-address", getenv(envCodecAddress), "address of the codec endpoint (/encode, /decode) that lets the Web UI show encrypted payloads; needs payload encryption, and "+envCodecAuthToken+" unless on loopback (env "+envCodecAddress+")")
	origins := []string{"http://localhost:8233"}
	if v := getenv(envCodecCORSOrigins); v != "" {
		origins = strings.Split(v, ",")
	}
	fs.StringSliceVar(&c.CodecCORSOrigins, "codec-cors-origins", origins, "Web UI origins allowed to call the codec endpoint (env "+envCodecCORSOrigins+"); its bearer token comes from "+envCodecAuthToken)
	c.codecAuthToken = strings.TrimSpace(getenv(envCodecAuthToken))
	fs.StringVar(&c.WorkerIdentity, "worker-identity", getenv(envWorkerIdentity), "this worker's identity in Temporal, stable across its restarts and never shared by two running workers (on Kubernetes the pod's name); a worker restarted after a crash under it takes over at once the phases its dead predecessor left running; default: the host name, or host-2, host-3, ... when another worker of this machine holds it (env "+envWorkerIdentity+")")
	fs.StringVar(&c.PprofAddress, "pprof-address", getenv(envPprofAddress), "address of Go's profiler (/debug/pprof/); empty disables it (env "+envPprofAddress+")")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if polErr != nil && !fs.Changed("insecure-http") {
		return c, polErr
	}
	if err := deploymentErr(); err != nil {
		return c, err
	}
	if hbErr != nil && !fs.Changed("heartbeat-interval") {
		return c, hbErr
	}
	if c.HeartbeatInterval < 100*time.Millisecond || c.HeartbeatInterval > time.Minute {
		return c, fmt.Errorf("--heartbeat-interval must be between 100ms and 1m (got %s)", c.HeartbeatInterval)
	}
	if c.MaxConcurrentActivities < 1 {
		return c, errors.New("--max-concurrent-activities must be at least 1")
	}
	if c.PageConcurrency < 1 {
		return c, errors.New("--page-concurrency must be at least 1")
	}
	if c.JumpCloudMaxRPS < 0 || math.IsNaN(c.JumpCloudMaxRPS) || math.IsInf(c.JumpCloudMaxRPS, 0) {
		return c, fmt.Errorf("--%s must be a positive number of requests per second, or 0 for no ceiling of your own (got %v)", flagMaxRPS, c.JumpCloudMaxRPS)
	}
	if err := checkCodecAccess(c.CodecAddress, c.codecAuthToken); err != nil {
		return c, err
	}
	if c.WorkerIdentity != "" {
		if err := takeover.CheckHost(c.WorkerIdentity); err != nil {
			return c, fmt.Errorf("--worker-identity (%s): %w", envWorkerIdentity, err)
		}
	}
	if err := c.Temporal.Resolve(); err != nil {
		return c, err
	}
	return c, nil
}

// checkCodecAccess refuses a codec endpoint that anyone on the network could call unchecked:
// it decrypts whatever the keyring can, so beyond loopback it needs a bearer token. On
// loopback the Web UI of the same machine may call it without one. A host name other than
// localhost counts as beyond loopback: what it resolves to is not ours to trust.
func checkCodecAccess(addr, token string) error {
	if addr == "" || token != "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--codec-address %q: want host:port, e.g. 127.0.0.1:8089: %w", addr, err)
	}
	if config.IsLoopbackHost(host) {
		return nil
	}
	return fmt.Errorf("--codec-address %q listens beyond loopback without a token: set %s (clients then send \"Authorization: Bearer <token>\"), or listen on 127.0.0.1", addr, envCodecAuthToken)
}

// lookup tells an empty value ("disable") from an unset one; getenv alone cannot, so the
// literal "off" also disables.
func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	if v == "off" {
		return "", true
	}
	return v, v != ""
}

// envDuration reads a duration from the environment; unset is def, unreadable an error that
// names the variable.
func envDuration(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return def, fmt.Errorf("%s=%q is not a duration such as 1s or 500ms: %w", name, v, err)
	}
	return d, nil
}

func envInt(getenv func(string) string, name string, def int) int {
	if n, err := strconv.Atoi(getenv(name)); err == nil {
		return n
	}
	return def
}

func envFloat(getenv func(string) string, name string, def float64) float64 {
	if f, err := strconv.ParseFloat(getenv(name), 64); err == nil {
		return f
	}
	return def
}

// loadIntegrations merges the config file's integrations with the one described by the
// environment, and resolves every secret now, so a missing key (or a base URL without TLS)
// stops the worker at start instead of failing syncs later.
func loadIntegrations(c workerConfig, getenv func(string) string, readFile func(string) ([]byte, error)) (config.Integrations, error) {
	return config.GatherWith(c.ConfigFile, getenv, readFile, config.Policy{InsecureHTTP: c.InsecureHTTP})
}

// clientOptions builds the Temporal client's options with our logger and metrics. It sets
// c.Temporal.Keyring when payload encryption is on, for the codec endpoint.
func clientOptions(c *workerConfig, log *logrus.Logger, m *metrics.Metrics) (client.Options, error) {
	opts, err := c.Temporal.ClientOptions(log)
	if err != nil {
		return opts, err
	}
	opts.Logger = logging.NewTemporal(log)
	if m != nil {
		opts.MetricsHandler = m.TemporalHandler()
	}
	return opts, nil
}

// repointSchedules moves the schedules of the integrations this worker holds from the base
// task queue (where schedules created before routing start their syncs) to the integrations'
// own queues, and says so. A failure is only logged: the hand-over on the base queue still
// routes those runs.
func repointSchedules(ctx context.Context, tc client.Client, base string, integrations []string, log *logrus.Logger) {
	moved, err := routing.RepointSchedules(ctx, tc, base, integrations)
	for _, m := range moved {
		log.WithFields(logrus.Fields{"schedule": m.Schedule, "from": m.From, "to": m.To}).
			Info("schedule now starts its syncs on its integration's task queue")
	}
	if err != nil {
		log.WithError(err).Warn("could not move every schedule to its integration's task queue; their runs are handed over from the base queue instead")
	}
}

// startWatchers makes sure each held integration that has a schedule, and watching on, has
// its change watcher running (routing.StartWatcher). A failure is only logged: the scheduled
// syncs run without it.
func startWatchers(ctx context.Context, tc client.Client, base string, ins config.Integrations, log *logrus.Logger) {
	for _, name := range ins.Names() {
		in, err := ins.Get(name)
		if err != nil || in.Watch.Off {
			continue
		}
		ok, err := routing.StartWatcher(ctx, tc, base, name)
		switch {
		case err != nil:
			log.WithError(err).WithField("integration", name).Warn("could not start the change watcher; changes reach Authomize with the scheduled syncs only")
		case ok:
			log.WithFields(logrus.Fields{"integration": name, "workflow_id": temporalnames.WatchID(name)}).Info("change watcher running")
		}
	}
}

// workerOptions bounds concurrency and gives running activities time to checkpoint on stop.
// It applies to each worker of the process (routing.New): one per integration queue, one per
// checks queue, one on the base queue. So the activity slots bound each integration's
// activities, not the process's: a sync runs one activity at a time, so one integration uses
// one slot (its checks have slots of their own), and slots a queue never fills cost nothing.
//
// Every worker takes its options from here, with the deployment version: a pinned sync's
// activities go only to workers of its version, so a worker of the process left unversioned
// would never receive them.
func workerOptions(c workerConfig) worker.Options {
	return worker.Options{
		DeploymentOptions:                  versioning.DeploymentOptions(c.Deployment),
		MaxConcurrentActivityExecutionSize: c.MaxConcurrentActivities,
		WorkerStopTimeout:                  stopTimeout,
		// The SDK sends a stage's checkpoint at most every 80% of the heartbeat timeout by
		// default (24 s at 30 s): a worker killed in between costs everything done since.
		// Once a second (the default) bounds that to a second of pages, for one small RPC
		// per running phase a second.
		MaxHeartbeatThrottleInterval: c.HeartbeatInterval,
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	c, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "worker: %v\n", err)
		return 2
	}
	log, err := logging.New(c.Log, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "worker: %v\n", err)
		return 2
	}
	// After the flags: deriving the build id reads the executable, which --help need not.
	if err := c.Deployment.Resolve(); err != nil {
		fmt.Fprintf(stderr, "worker: %v\n", err)
		return 2
	}
	if err := serve(ctx, c, getenv, log); err != nil {
		var missing *searchattrs.MissingError
		if errors.As(err, &missing) {
			// The message is several lines of commands: printed as it is, not quoted in a
			// log field, so that it can be copied.
			log.WithField("namespace", missing.Namespace).Error("the namespace lacks the connector's search attributes: the worker stops rather than fail every sync")
			fmt.Fprintf(stderr, "worker: %v\n", err)
			return 1
		}
		log.WithError(err).Error("worker stopped")
		return 1
	}
	return 0
}

func serve(ctx context.Context, c workerConfig, getenv func(string) string, log *logrus.Logger) error {
	ins, err := loadIntegrations(c, getenv, os.ReadFile)
	if err != nil {
		return err
	}
	if c.InsecureHTTP {
		log.Warn("--insecure-http: JumpCloud and Authomize base URLs may use plain http to any host; for simulators only")
	}
	var m *metrics.Metrics
	health := metrics.NewHealth()
	if c.MetricsAddress != "" {
		if m, err = metrics.New(); err != nil {
			return err
		}
		m.OnServeError = func(err error) { log.WithError(err).Warn("metrics endpoint stopped") }
		m.Health = health
		srv, err := m.Serve(c.MetricsAddress)
		if err != nil {
			return listenProblem(err, "metrics-address", envMetricsAddress)
		}
		defer srv.Shutdown(context.Background())
		log.WithField("address", srv.Addr()).Info("metrics on /metrics, probes on /healthz and /readyz")
	}
	opts, err := clientOptions(&c, log, m)
	if err != nil {
		return err
	}
	claim, err := claimIdentity(c.WorkerIdentity, log)
	if err != nil {
		return err
	}
	defer claim.Release()
	self, err := takeover.New(claim.Host)
	if err != nil {
		return err
	}
	// Every poll and attempt of this process is recorded under it; the next process of
	// this host tells from its start token that this one is gone.
	opts.Identity = self.String()
	if c.CodecAddress != "" {
		stop, _, err := serveCodec(c, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	if c.PprofAddress != "" {
		stop, addr, err := serveHTTP(c.PprofAddress, pprofHandler(), log)
		err = listenProblem(err, "pprof-address", envPprofAddress)
		if err != nil {
			return fmt.Errorf("pprof endpoint: %w", err)
		}
		defer stop()
		log.WithField("address", addr).Info("profiler on /debug/pprof/")
	}
	tc, err := c.Temporal.Dial(ctx, opts)
	if err != nil {
		return err
	}
	defer tc.Close()
	if err := ensureSearchAttributes(ctx, tc, c.Temporal, log); err != nil {
		return err
	}
	if m != nil {
		go m.WatchSyncs(ctx, tc, metrics.SyncWatch{Namespace: c.Temporal.Namespace, Integrations: ins.Names(),
			OnError: func(name string, err error) {
				log.WithError(err).WithField("integration", name).Warn("sync status metrics not refreshed")
			}})
	}
	if c.Deployment.Unversioned {
		log.Warn("--unversioned: syncs are not pinned to a build; replace all workers together, after running syncs end (docs/upgrades.md)")
	} else if err := versioning.CheckSupported(ctx, tc, c.Deployment); err != nil {
		return err
	}

	acts := &activities.Activities{
		Integrations:    ins,
		Temporal:        tc,
		TemporalAddress: c.Temporal.Address,
		DataConverter:   opts.DataConverter,
		Log:             log,
		MaxRPS:          c.JumpCloudMaxRPS,
		PageConcurrency: c.PageConcurrency,
	}
	if m != nil {
		acts.Observer = m
	}
	ws, err := routing.New(tc, c.Temporal.TaskQueue, acts, func(routing.Carries) worker.Options { return workerOptions(c) })
	if err != nil {
		return err
	}
	if err := ws.Start(); err != nil {
		return err
	}
	// After Start: the retries of the attempts taken over may come straight back here.
	go takeOver(ctx, tc, c, self, opts.FailureConverter, ins.Names(), log)
	// Every task queue this process polls: the version must hold them all before it is
	// made current, or a queue's new syncs would wait for a build that does not poll it.
	if err := settleVersion(ctx, tc, c.Deployment, ws.Queues(), log); err != nil {
		ws.Stop()
		return err
	}
	repointSchedules(ctx, tc, c.Temporal.TaskQueue, ins.Names(), log)
	startWatchers(ctx, tc, c.Temporal.TaskQueue, ins, log)
	health.Polling(func(ctx context.Context) error {
		_, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	})
	log.WithFields(logrus.Fields{
		"temporal": c.Temporal.Address, "namespace": c.Temporal.Namespace, "task_queue": c.Temporal.TaskQueue,
		"integrations": ins.Names(), "polls": ws.Queues(), "identity": self.String(), "deployment": c.Deployment.Name, "build_id": c.Deployment.BuildID,
	}).Info("worker started: each integration's syncs on its own task queue, runs started on the base queue handed over to it")
	<-ctx.Done()
	health.Stopping()
	log.Info("stopping: running phases hand over at their checkpoint; short activities finish")
	// Stop closes the activities' stop channel at once, on which a phase returns a retryable
	// error that the SDK reports before Stop returns; it waits at most WorkerStopTimeout for
	// the rest, then cancels them. The client closes after it.
	ws.Stop()
	log.Info("stopped")
	return nil
}

// settleVersion applies the start rule of internal/versioning and says what it did, with
// the command that promotes this build when it is not current.
func settleVersion(ctx context.Context, tc client.Client, d config.Deployment, queues []string, log *logrus.Logger) error {
	if d.Unversioned {
		return nil
	}
	dec, err := versioning.Settle(ctx, tc, d, queues, versioning.Settings{})
	if err != nil {
		return fmt.Errorf("worker deployment version %s/%s: %w", d.Name, d.BuildID, err)
	}
	fields := logrus.Fields{"deployment": d.Name, "build_id": d.BuildID, "current_build_id": dec.Current, "versioning": string(dec.Action)}
	switch dec.Action {
	case versioning.Promoted:
		log.WithFields(fields).WithField("previous_build_id", dec.Previous).
			Info("this build is now current: new syncs start on it; runs of the previous build finish there, so keep its workers until it is drained")
	case versioning.LeftCurrent:
		log.WithFields(fields).Warn("this build is not the current version, so it runs only syncs pinned to it; to start new syncs on it, restart it with --promote (" +
			config.EnvPromote + "=true) or run: " + versioning.PromoteCommand(d))
	case versioning.RefusedOlder:
		log.WithFields(fields).Warn("--promote ignored: the current version is a newer build, which a restarted old worker must not replace; to roll back on purpose, run: " +
			versioning.PromoteCommand(d))
	case versioning.RefusedDemoted:
		log.WithFields(fields).Warn("--promote ignored: this build was current before and was replaced (an upgrade or a rollback); to make it current again on purpose, run: " +
			versioning.PromoteCommand(d))
	case versioning.Managed:
		log.WithFields(fields).Info("the deployment has a manager identity: which build takes new syncs is its decision")
	default:
		log.WithFields(fields).Info("worker deployment version")
	}
	return nil
}

// serveCodec serves the codec endpoint on c.CodecAddress until stop is called. It needs the
// keyring that clientOptions loaded, and checks the address against the token again so that
// no caller can start it open beyond loopback.
func serveCodec(c workerConfig, log *logrus.Logger) (stop func(), bound string, err error) {
	if c.Temporal.Keyring == nil {
		return nil, "", fmt.Errorf("--codec-address needs payload encryption: set %s or --codec-keys-file", codec.EnvKeys)
	}
	if err := checkCodecAccess(c.CodecAddress, c.codecAuthToken); err != nil {
		return nil, "", err
	}
	// The Web UI sends credentials when configured to pass its access token.
	h := codec.Handler(c.Temporal.Keyring, codec.HandlerOptions{CORSOrigins: c.CodecCORSOrigins, AuthToken: c.codecAuthToken, AllowCredentials: true})
	stop, bound, err = serveHTTP(c.CodecAddress, h, log)
	if err = listenProblem(err, "codec-address", envCodecAddress); err != nil {
		return nil, "", fmt.Errorf("codec endpoint: %w", err)
	}
	log.WithFields(logrus.Fields{"address": bound, "key_ids": c.Temporal.Keyring.IDs(), "bearer_required": c.codecAuthToken != ""}).
		Info("codec endpoint for the Web UI on /encode and /decode")
	return stop, bound, nil
}

// listenProblem turns a failure to listen (a port another process holds, an address of
// another host) into an error that names the flag and variable to change.
func listenProblem(err error, flag, env string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: set --%s (%s) to a free address, or to empty to turn the endpoint off", err, flag, env)
}

// serveHTTP serves h on addr until stop is called.
func serveHTTP(addr string, h http.Handler, log *logrus.Logger) (stop func(), bound string, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.WithError(err).WithField("address", addr).Warn("endpoint stopped")
		}
	}()
	return func() { _ = srv.Shutdown(context.Background()) }, ln.Addr().String(), nil
}

// pprofHandler serves Go's profiler on its own mux, never on the metrics endpoint.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
