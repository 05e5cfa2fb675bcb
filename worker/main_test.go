package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"jcsync/internal/config"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseFlagsDefaultsEnvAndFlags(t *testing.T) {
	var stderr bytes.Buffer
	c, err := parseFlags(nil, envOf(nil), &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if c.Temporal.Address != "localhost:7233" || c.Temporal.Namespace != "default" || c.Temporal.TaskQueue != temporalnames.TaskQueue ||
		c.MetricsAddress != ":9090" || c.Log.Level != "info" {
		t.Fatalf("defaults: %+v", c)
	}
	env := envOf(map[string]string{
		"TEMPORAL_ADDRESS": "temporal:7233", "TEMPORAL_NAMESPACE": "prod", "TEMPORAL_TASK_QUEUE": "q",
		"JCSYNC_CONFIG": "/etc/jcsync.json", "JCSYNC_PAGE_CONCURRENCY": "8", "JCSYNC_METRICS_ADDRESS": "off",
	})
	c, err = parseFlags([]string{"--namespace", "flag-ns", "--jumpcloud-rps", "2.5", "--log-format", "json"}, env, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if c.Temporal.Address != "temporal:7233" || c.Temporal.Namespace != "flag-ns" || c.Temporal.TaskQueue != "q" ||
		c.ConfigFile != "/etc/jcsync.json" || c.PageConcurrency != 8 || c.JumpCloudMaxRPS != 2.5 || c.MetricsAddress != "" || c.Log.Format != "json" {
		t.Fatalf("env and flags: %+v", c)
	}
	for _, bad := range [][]string{{"--page-concurrency", "0"}, {"--jumpcloud-rps", "-1"}, {"--nope"}, {"extra"}} {
		if _, err := parseFlags(bad, envOf(nil), &stderr); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestClientOptions(t *testing.T) {
	log := logrus.New()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "temporal.key")
	if err := os.WriteFile(keyFile, []byte("cloud-api-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := parseFlags([]string{"--temporal-address", "ns.acct.tmprl.cloud:7233", "--namespace", "ns.acct", "--api-key-file", keyFile}, envOf(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	opts, err := clientOptions(&c, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	if opts.HostPort != "ns.acct.tmprl.cloud:7233" || opts.Namespace != "ns.acct" || opts.Credentials == nil || opts.ConnectionOptions.TLS == nil {
		t.Fatalf("an API key needs credentials and TLS: %+v", opts)
	}
	if strings.Contains(c.Temporal.String(), "cloud-api-key") {
		t.Fatal("the connection settings print the API key")
	}
	// The key from the environment works the same and never shows in the settings' text.
	c, _ = parseFlags(nil, envOf(map[string]string{"TEMPORAL_API_KEY": "env-api-key"}), &bytes.Buffer{})
	if opts, err = clientOptions(&c, log, nil); err != nil || opts.Credentials == nil {
		t.Fatalf("env key: %v %+v", err, opts)
	}
	if strings.Contains(c.Temporal.String(), "env-api-key") {
		t.Fatal("the connection settings print the API key")
	}
	for _, args := range [][]string{{"--tls-cert", "a.pem"}, {"--tls-ca", filepath.Join(dir, "missing.pem")}, {"--api-key-file", filepath.Join(dir, "none")}} {
		c, _ := parseFlags(args, envOf(nil), &bytes.Buffer{})
		if _, err := clientOptions(&c, log, nil); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	if wo := workerOptions(c); wo.WorkerStopTimeout < 10*time.Second || wo.MaxConcurrentActivityExecutionSize != c.MaxConcurrentActivities {
		t.Fatalf("worker options: %+v", wo)
	}
}

func TestLoadIntegrations(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.json")
	tokFile := filepath.Join(dir, "acme.token")
	os.WriteFile(tokFile, []byte("tok-from-file\n"), 0o600)
	os.WriteFile(cfg, []byte(`{"integrations":[{"name":"acme","jumpcloud":{"api_key":{"env":"ACME_KEY"}},"authomize":{"token":{"file":"acme.token"},"app_id":"a1"}}]}`), 0o600)
	env := map[string]string{"ACME_KEY": "acme-key", "JUMPCLOUD_API_KEY": "k2", "AUTHOMIZE_TOKEN": "t2", "AUTHOMIZE_INTEGRATION_NAME": "beta"}
	ins, err := loadIntegrations(workerConfig{ConfigFile: cfg}, envOf(env), os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	if ins["acme"].JumpCloud.APIKey != "acme-key" || ins["acme"].Authomize.Token != "tok-from-file" || ins["beta"].JumpCloud.APIKey != "k2" {
		t.Fatalf("integrations: %v", ins.Names())
	}
	env["AUTHOMIZE_INTEGRATION_NAME"] = "acme"
	if _, err := loadIntegrations(workerConfig{ConfigFile: cfg}, envOf(env), os.ReadFile); err == nil || !strings.Contains(err.Error(), "in the environment") {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, err := loadIntegrations(workerConfig{}, envOf(nil), os.ReadFile); err == nil || !strings.Contains(err.Error(), "no integrations") {
		t.Fatalf("nothing configured: %v", err)
	}
	delete(env, "ACME_KEY")
	_, err = loadIntegrations(workerConfig{ConfigFile: cfg}, envOf(map[string]string{}), os.ReadFile)
	if err == nil || !strings.Contains(err.Error(), "ACME_KEY") {
		t.Fatalf("missing secret: %v", err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func temporalCLI(t *testing.T) string {
	t.Helper()
	return testenv.TemporalCLI(t)
}

// TestWorkerRunsAgainstDevServer starts the real worker in-process against a dev server
// without the search attribute: the worker must add it, then stop cleanly on cancel.
func TestWorkerRunsAgainstDevServer(t *testing.T) {
	cli := temporalCLI(t)
	port := freePort(t)
	hostPort := "127.0.0.1:" + strconv.Itoa(port)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  cli,
		ClientOptions: &client.Options{HostPort: hostPort},
		LogLevel:      "warn",
	})
	if err != nil {
		t.Fatalf("dev server: %v", err)
	}
	defer srv.Stop()

	env := envOf(map[string]string{"JUMPCLOUD_API_KEY": "k", "AUTHOMIZE_TOKEN": "t", "AUTHOMIZE_APP_ID": "a"})
	var logs syncBuffer
	wctx, stop := context.WithCancel(ctx)
	done := make(chan int, 1)
	go func() {
		done <- run(wctx, []string{"--temporal-address", hostPort, "--metrics-address", "127.0.0.1:0", "--log-format", "json"}, env, &logs)
	}()

	// Wait for the search attributes to appear: the worker registers them at start.
	c := srv.Client()
	deadline := time.Now().Add(time.Minute)
	for {
		list, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
		if err == nil {
			have := 0
			for name := range temporalnames.SearchAttributeTypes {
				if _, ok := list.GetCustomAttributes()[name]; ok {
					have++
				}
			}
			if have == len(temporalnames.SearchAttributeTypes) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("search attributes never registered; logs:\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	for !strings.Contains(logs.String(), "worker started") {
		if time.Now().After(deadline) {
			t.Fatalf("worker never started; logs:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The credential checks have a queue of their own, which the worker polls for activities.
	checks := temporalnames.ChecksQueue(temporalnames.IntegrationQueue(temporalnames.TaskQueue, config.DefaultIntegrationName))
	for {
		d, err := c.DescribeTaskQueue(ctx, checks, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		if err == nil && len(d.GetPollers()) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing polls %s (%v); logs:\n%s", checks, err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// At the defaults, the first worker of a deployment makes its build current, so that
	// new syncs reach it without a step of the operator's.
	build, err := config.DefaultBuildID()
	if err != nil {
		t.Fatal(err)
	}
	desc, err := c.WorkerDeploymentClient().GetHandle(config.DefaultDeploymentName).Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	if err != nil {
		t.Fatalf("describe the worker's deployment %s: %v", config.DefaultDeploymentName, err)
	}
	if cv := desc.Info.RoutingConfig.CurrentVersion; cv == nil || cv.BuildID != build {
		t.Fatalf("current version of %s: %+v, want the worker's build %s; logs:\n%s", config.DefaultDeploymentName, cv, build, logs.String())
	}
	if !strings.Contains(logs.String(), `"build_id":"`+build+`"`) {
		t.Errorf("the worker does not log its build id %s:\n%s", build, logs.String())
	}
	// A started worker answers its orchestrator's probes beside /metrics.
	m := regexp.MustCompile(`"address":"([^"]+)"[^\n]*probes on /healthz`).FindStringSubmatch(logs.String())
	if m == nil {
		m = regexp.MustCompile(`probes on /healthz[^\n]*"address":"([^"]+)"`).FindStringSubmatch(logs.String())
	}
	if m == nil {
		t.Fatalf("no metrics address in the logs:\n%s", logs.String())
	}
	// The worker reads its integrations' syncs from Temporal at once (the default interval
	// is for the reads after it): the status gauges of the integration appear, with none
	// finished yet.
	for {
		resp, err := http.Get("http://" + m[1] + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), `jcsync_sync_running{integration="default"} 0`) &&
			strings.Contains(string(body), `jcsync_sync_status_refresh_errors_total{integration="default"} 0`) {
			break
		}
		if strings.Contains(logs.String(), "sync status metrics not refreshed") || time.Now().After(deadline) {
			t.Fatalf("no sync status for the integration; metrics:\n%s\nlogs:\n%s", body, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, probe := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + m[1] + probe)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s of a running worker: %d %s", probe, resp.StatusCode, body)
		}
	}
	stop()
	if code := <-done; code != 0 {
		t.Fatalf("worker exited %d; logs:\n%s", code, logs.String())
	}
	out := logs.String()
	if strings.Contains(out, `"k"`) || strings.Contains(out, "=k ") {
		t.Fatalf("logs may contain the key:\n%s", out)
	}
}

func TestInsecureHTTP(t *testing.T) {
	sim := map[string]string{"JUMPCLOUD_API_KEY": "k", "AUTHOMIZE_TOKEN": "t", "JUMPCLOUD_BASE_URL": "http://sim:8081", "AUTHOMIZE_BASE_URL": "http://sim:8082"}
	with := func(kv ...string) func(string) string {
		m := map[string]string{}
		for k, v := range sim {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return envOf(m)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  func(string) string
		want bool
	}{
		{"default", nil, with(), false},
		{"flag", []string{"--insecure-http"}, with(), true},
		{"env", nil, with("JCSYNC_INSECURE_HTTP", "true"), true},
		{"flag overrides env", []string{"--insecure-http=false"}, with("JCSYNC_INSECURE_HTTP", "true"), false},
		{"flag overrides a bad env value", []string{"--insecure-http"}, with("JCSYNC_INSECURE_HTTP", "yes"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseFlags(tc.args, tc.env, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if c.InsecureHTTP != tc.want {
				t.Fatalf("InsecureHTTP = %v, want %v", c.InsecureHTTP, tc.want)
			}
			_, err = loadIntegrations(c, tc.env, os.ReadFile)
			if tc.want && err != nil {
				t.Fatalf("http to the simulator refused with --insecure-http: %v", err)
			}
			want := `JUMPCLOUD_BASE_URL "http://sim:8081" is not https: use https://, or --insecure-http / JCSYNC_INSECURE_HTTP=true for a simulator`
			if !tc.want && (err == nil || !strings.Contains(err.Error(), want)) {
				t.Fatalf("err = %v, want ...%s", err, want)
			}
		})
	}
	if _, err := parseFlags(nil, with("JCSYNC_INSECURE_HTTP", "yes"), io.Discard); err == nil || !strings.Contains(err.Error(), "JCSYNC_INSECURE_HTTP") {
		t.Fatalf("a bad JCSYNC_INSECURE_HTTP: %v", err)
	}
	// Loopback needs no setting: the demo script and the tests run simulators there.
	c, _ := parseFlags(nil, envOf(nil), io.Discard)
	local := envOf(map[string]string{"JUMPCLOUD_API_KEY": "k", "AUTHOMIZE_TOKEN": "t", "JUMPCLOUD_BASE_URL": "http://127.0.0.1:8081", "AUTHOMIZE_BASE_URL": "http://localhost:8082"})
	if _, err := loadIntegrations(c, local, os.ReadFile); err != nil {
		t.Fatalf("loopback http: %v", err)
	}
}

func TestHeartbeatInterval(t *testing.T) {
	var stderr bytes.Buffer
	c, err := parseFlags(nil, envOf(nil), &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if c.HeartbeatInterval != time.Second || workerOptions(c).MaxHeartbeatThrottleInterval != time.Second {
		t.Fatalf("default heartbeat interval %s, worker option %s; want 1s", c.HeartbeatInterval, workerOptions(c).MaxHeartbeatThrottleInterval)
	}
	c, err = parseFlags(nil, envOf(map[string]string{"JCSYNC_HEARTBEAT_INTERVAL": "5s"}), &stderr)
	if err != nil || workerOptions(c).MaxHeartbeatThrottleInterval != 5*time.Second {
		t.Fatalf("from the environment: %s, %v", c.HeartbeatInterval, err)
	}
	// A flag wins over an unreadable variable; the variable alone is an error that names it.
	if c, err = parseFlags([]string{"--heartbeat-interval", "2s"}, envOf(map[string]string{"JCSYNC_HEARTBEAT_INTERVAL": "often"}), &stderr); err != nil || c.HeartbeatInterval != 2*time.Second {
		t.Fatalf("flag over a bad variable: %s, %v", c.HeartbeatInterval, err)
	}
	if _, err := parseFlags(nil, envOf(map[string]string{"JCSYNC_HEARTBEAT_INTERVAL": "often"}), &stderr); err == nil || !strings.Contains(err.Error(), "JCSYNC_HEARTBEAT_INTERVAL") {
		t.Fatalf("bad variable: %v", err)
	}
	for _, bad := range []string{"0s", "10ms", "2m"} {
		if _, err := parseFlags([]string{"--heartbeat-interval", bad}, envOf(nil), &stderr); err == nil {
			t.Errorf("--heartbeat-interval %s accepted", bad)
		}
	}
}

// A port another process holds stops the worker at start with the flag to change.
func TestBusyMetricsPortNamesTheFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env := envOf(map[string]string{"JUMPCLOUD_API_KEY": "k", "AUTHOMIZE_TOKEN": "t",
		"JUMPCLOUD_BASE_URL": "http://127.0.0.1:1", "AUTHOMIZE_BASE_URL": "http://127.0.0.1:1"})
	var out strings.Builder
	code := run(context.Background(), []string{"--metrics-address", ln.Addr().String(), "--log-format", "text"}, env, &out)
	if code != 1 {
		t.Fatalf("exit code %d, want 1; output: %s", code, out.String())
	}
	for _, want := range []string{ln.Addr().String(), "address already in use", "--metrics-address", "JCSYNC_METRICS_ADDRESS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the error does not say %q: %s", want, out.String())
		}
	}
}

// TestWorkerStopsWhenItCannotCreateSearchAttributes starts the real worker against a dev
// server whose namespace has no room for JCSyncUsers: SQL visibility's three Int places are
// taken by the two attributes earlier versions set and by another workflow's. The worker
// must not poll (every sync would fail); it exits 1 with the commands that make room and
// create the attribute.
func TestWorkerStopsWhenItCannotCreateSearchAttributes(t *testing.T) {
	cli := temporalCLI(t)
	tc, err := testenv.StartBareTemporal(cli)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := tc.Client.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: "default",
		SearchAttributes: map[string]enumspb.IndexedValueType{
			"JCSyncGroups": enumspb.INDEXED_VALUE_TYPE_INT, "JCSyncApps": enumspb.INDEXED_VALUE_TYPE_INT, "OrderTotal": enumspb.INDEXED_VALUE_TYPE_INT,
		}}); err != nil {
		t.Fatal(err)
	}
	hostPort := tc.Server.FrontendHostPort()
	env := envOf(map[string]string{"JUMPCLOUD_API_KEY": "k", "AUTHOMIZE_TOKEN": "t", "AUTHOMIZE_APP_ID": "a"})
	var logs syncBuffer
	code := run(ctx, []string{"--temporal-address", hostPort, "--metrics-address", "", "--log-format", "json"}, env, &logs)
	out := logs.String()
	if code != 1 {
		t.Fatalf("worker exited %d; logs:\n%s", code, out)
	}
	for _, want := range []string{
		"JCSyncUsers (Int) is missing",
		"cannot have more than 3 search attribute of type Int",
		"\n  temporal operator search-attribute remove --address " + hostPort + " --namespace default --name JCSyncGroups --name JCSyncApps --yes\n",
		"\n  temporal operator search-attribute create --address " + hostPort + " --namespace default --name JCSyncUsers --type Int\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the worker's output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "worker started") {
		t.Errorf("the worker started polling without its search attributes:\n%s", out)
	}
	// The Keyword attributes would fit, but the server takes the request whole or not at
	// all: the namespace is as it was, for the operator to decide.
	list, err := tc.Client.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	for name := range temporalnames.SearchAttributeTypes {
		if _, ok := list.GetCustomAttributes()[name]; ok {
			t.Errorf("%s exists: %v", name, list.GetCustomAttributes())
		}
	}
}

// TestWorkerOnAServerWithoutWorkerDeployments: where worker deployments are off, the worker
// at its defaults stops at start with a message naming the way out, and --unversioned runs.
func TestWorkerOnAServerWithoutWorkerDeployments(t *testing.T) {
	cli := temporalCLI(t)
	hostPort := "127.0.0.1:" + strconv.Itoa(freePort(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  cli,
		ClientOptions: &client.Options{HostPort: hostPort},
		LogLevel:      "error",
		ExtraArgs:     []string{"--dynamic-config-value", "system.enableDeploymentVersions=false"},
	})
	if err != nil {
		t.Fatalf("dev server: %v", err)
	}
	defer srv.Stop()
	env := envOf(map[string]string{"JUMPCLOUD_API_KEY": "k", "AUTHOMIZE_TOKEN": "t", "AUTHOMIZE_APP_ID": "a"})
	args := []string{"--temporal-address", hostPort, "--metrics-address", "", "--log-format", "json"}

	var logs syncBuffer
	if code := run(ctx, args, env, &logs); code != 1 || !strings.Contains(logs.String(), "--unversioned") {
		t.Fatalf("worker at the defaults exited %d; want 1 and a message naming --unversioned:\n%s", code, logs.String())
	}

	var unversioned syncBuffer
	wctx, stop := context.WithCancel(ctx)
	done := make(chan int, 1)
	go func() { done <- run(wctx, append(args, "--unversioned"), env, &unversioned) }()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(unversioned.String(), "worker started") {
		select {
		case code := <-done:
			t.Fatalf("--unversioned worker exited %d:\n%s", code, unversioned.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("--unversioned worker never started:\n%s", unversioned.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	if code := <-done; code != 0 {
		t.Fatalf("--unversioned worker exited %d:\n%s", code, unversioned.String())
	}
}
