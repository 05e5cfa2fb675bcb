package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"jcsync/activities"
	"jcsync/internal/config"
	"jcsync/internal/sim/authomizesim"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
	"jcsync/internal/versioning"
	"jcsync/routing"
	"jcsync/workflows"
)

const (
	testTaskQueue = "starter-test"
	jcKey         = "jc-test-key-0123456789"
	azToken       = "az-test-token-0123456789"
)

// env is the dev server, the simulators and an in-process worker shared by the tests.
var env struct {
	skip     string
	hostPort string
	client   client.Client
	slowJC   *jumpcloudsim.Server
	org      *jumpcloudsim.Org
	// acts holds the integrations no worker of the test holds from the start.
	acts *activities.Activities
}

// adminEmail is the email of a generated admin whose only role is role.
func adminEmail(org *jumpcloudsim.Org, role string) string {
	for _, a := range org.Admins {
		if r := jumpcloudsim.AdminRoles(a); len(r) == 1 && strings.EqualFold(r[0], role) && !a.Suspended {
			return a.Email
		}
	}
	panic("the generated org has no admin with the single role " + role)
}

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	cli := os.Getenv("TEMPORAL_CLI")
	if cli == "" {
		cli = "../bin/temporal"
	}
	if _, err := os.Stat(cli); err != nil {
		env.skip = "Temporal CLI not found at " + cli + " (run make tools)"
		return m.Run()
	}
	cli, _ = filepath.Abs(cli)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env.hostPort = "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:     cli,
		ClientOptions:    &client.Options{HostPort: env.hostPort},
		LogLevel:         "warn",
		SearchAttributes: temporalnames.AllAttributes(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "dev server:", err)
		return 1
	}
	defer srv.Stop()
	env.client = srv.Client()

	// Simulators: one healthy org, and one whose every request is slow, for the
	// already-running check.
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 7, Users: 120, Groups: 8, Admins: 12, Apps: 5, UserBindingsPerApp: 5, GroupBindingsPerApp: 2})
	env.org = org
	jc := httptest.NewServer(jumpcloudsim.New(org, jumpcloudsim.Options{APIKey: jcKey}))
	defer jc.Close()
	env.slowJC = jumpcloudsim.New(jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 8, Users: 50}), jumpcloudsim.Options{APIKey: jcKey})
	slow := httptest.NewServer(env.slowJC)
	defer slow.Close()
	azs := authomizesim.New(authomizesim.Options{Tokens: []string{azToken}})
	az := httptest.NewServer(azs)
	defer az.Close()

	integ := func(name, jcURL, key string) config.Integration {
		return config.Integration{
			Name:      name,
			JumpCloud: config.JumpCloud{BaseURL: jcURL, APIKey: key, APIKeyFrom: config.SecretRef{Env: "UNUSED"}},
			Authomize: config.Authomize{BaseURL: az.URL, Token: azToken, AppID: azs.CreateApp(name), TokenFrom: config.SecretRef{Env: "UNUSED"}},
		}
	}
	// Integrations naming the key's administrator, for the least-privilege checks.
	withAdmin := func(name, email, owner string) config.Integration {
		in := integ(name, jc.URL, jcKey)
		in.JumpCloud.AdminEmail, in.Authomize.OwnerEmail = email, owner
		return in
	}
	acts := &activities.Activities{
		Integrations: config.Integrations{
			"acme":     integ("acme", jc.URL, jcKey),
			"sched":    integ("sched", jc.URL, jcKey),
			"watched":  watched(integ("watched", jc.URL, jcKey)),
			"badkey":   integ("badkey", jc.URL, "wrong-key-not-the-right-one"),
			"slow":     integ("slow", slow.URL, jcKey),
			"readonly": withAdmin("readonly", adminEmail(org, "Read Only"), org.Users[3].Email),
			"fulladm":  withAdmin("fulladm", adminEmail(org, "Administrator"), "nobody@example.invalid"),
			"ghost":    withAdmin("ghost", "ghost@example.invalid", ""),
		},
		Temporal:        env.client,
		DefaultRPS:      1000,
		PageConcurrency: 4,
	}
	// No worker holds "late" until TestScheduleWaitsForItsWorker starts one.
	env.acts = &activities.Activities{Integrations: config.Integrations{"late": integ("late", jc.URL, jcKey)}, Temporal: env.client, DefaultRPS: 1000, PageConcurrency: 4}
	ws, err := routing.New(env.client, testTaskQueue, acts, func(routing.Carries) worker.Options { return workerOptions() })
	if err == nil {
		err = ws.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	defer ws.Stop()
	// Tests expect the worker polling, as a worker that has run a while is: a sync started
	// before its first poll reaches the server is rightly reported as waiting.
	if err := settle(ctx, ws.Queues()...); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	if err := waitHeld(ctx, acts.Integrations.Names()); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	return m.Run()
}

// waitHeld waits until the worker's polls of every integration's queue have reached the
// server.
func waitHeld(ctx context.Context, names []string) error {
	for _, name := range names {
		for {
			held, _, err := routing.IntegrationHeld(ctx, env.client, testTaskQueue, name)
			if err != nil {
				return err
			}
			if held {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("no poller on the queue of %s: %w", name, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// testDeployment is the deployment version of the tests' workers: versioned and current,
// as the worker binary is, so that what the starter starts (syncs, schedules' runs) is
// routed as in production.
var testDeployment = config.Deployment{Name: "jcsync-starter-test", BuildID: "starter-test"}

func workerOptions() worker.Options {
	return worker.Options{WorkerStopTimeout: 5 * time.Second, DeploymentOptions: versioning.DeploymentOptions(testDeployment)}
}

// settle waits until the tests' version polls queue and is current.
func settle(ctx context.Context, queues ...string) error {
	dec, err := versioning.Settle(ctx, env.client, testDeployment, queues, versioning.Settings{})
	if err != nil {
		return err
	}
	if dec.Current != testDeployment.BuildID {
		return fmt.Errorf("the test build is not current: %s", dec.Action)
	}
	return nil
}

func need(t *testing.T) {
	t.Helper()
	if env.skip != "" {
		t.Fatal(env.skip) // make test installs the CLI: a skipped end-to-end test would prove nothing
	}
}

// starter runs one command line in-process against the test server.
func starter(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	full := append([]string{}, args...)
	if len(args) > 0 && args[0] != "schedule" {
		full = append(full[:1], append([]string{"--temporal-address", env.hostPort, "--task-queue", testTaskQueue}, full[1:]...)...)
	} else if len(args) > 1 {
		full = append(full[:2], append([]string{"--temporal-address", env.hostPort, "--task-queue", testTaskQueue}, full[2:]...)...)
	}
	code = run(ctx, full, &out, &errb)
	for _, secret := range []string{jcKey, azToken} {
		if strings.Contains(out.String()+errb.String(), secret) {
			t.Fatalf("output of %v contains a secret", args)
		}
	}
	return code, out.String(), errb.String()
}

func TestSyncWaitJSONThenStatus(t *testing.T) {
	need(t)
	code, out, errs := starter(t, "sync", "--integration", "acme", "--wait", "--output", "json", "--refresh", "200ms")
	if code != 0 {
		t.Fatalf("sync exited %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	var res workflows.SyncResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("stdout is not the JSON summary: %v\n%s", err, out)
	}
	if res.Integration != "acme" || res.Read["users"] <= 0 || sum(res.Uploaded) <= 0 || res.JumpCloudRequests <= 0 || !res.Swept {
		t.Fatalf("summary: %+v", res)
	}
	if !strings.Contains(errs, "/namespaces/default/workflows/jcsync-acme/") {
		t.Fatalf("the progress output should carry the Web UI link:\n%s", errs)
	}
	if strings.Contains(errs, "waiting for a worker") {
		t.Fatalf("a sync of an integration a running worker holds was reported waiting:\n%s", errs)
	}

	// What the Web UI shows of it: the summary and details the starter set, the final
	// current details, and the outcome search attributes a list query finds it by.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	con, err := testenv.ReadConsole(ctx, env.client, "jcsync-acme", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(con.Summary, "acme · JumpCloud → Authomize sync") || !strings.Contains(con.Details, "Shrink limit") || !strings.Contains(con.Details, "integration `acme`") {
		t.Errorf("static summary and details of a sync the starter started:\n%s\n%s", con.Summary, con.Details)
	}
	if con.Outcome != temporalnames.OutcomeSwept || con.Users != int64(res.Read["users"]) {
		t.Errorf("search attributes: %+v, read %v", con, res.Read)
	}
	details, err := testenv.CurrentDetails(ctx, env.client, "jcsync-acme", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"**Outcome: swept.**", "- **users**: done", fmt.Sprintf("%d users", res.Read["users"])} {
		if !strings.Contains(details, want) {
			t.Errorf("final current details lack %q:\n%s", want, details)
		}
	}
	q := temporalnames.IntegrationQuery("acme", temporalnames.SearchAttrOutcome+" = '"+temporalnames.OutcomeSwept+"'", temporalnames.SearchAttrUsers+" > 0")
	if err := testenv.WaitListed(ctx, env.client, q, "jcsync-acme"); err != nil {
		t.Fatal(err)
	}

	code, out, errs = starter(t, "status", "--integration", "acme", "--ui-url", "http://ui.example:8233/")
	if code != 0 {
		t.Fatalf("status exited %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"sync of acme: Completed", "Sync of acme finished", "users", "http://ui.example:8233/namespaces/default/workflows/jcsync-acme/"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = starter(t, "status", "--integration", "acme", "-o", "json")
	var st statusJSON
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil {
		t.Fatalf("status json: %d %v\n%s", code, err, out)
	}
	if st.Status != "Completed" || st.Result == nil || st.Result.Read["users"] != res.Read["users"] || st.WorkflowID != "jcsync-acme" {
		t.Fatalf("status json: %+v", st)
	}

	code, _, errs = starter(t, "status", "--integration", "never-synced")
	if code != exitFailed || !strings.Contains(errs, "no sync of never-synced") {
		t.Fatalf("status of an unknown integration: %d %s", code, errs)
	}
}

func TestValidate(t *testing.T) {
	need(t)
	code, out, errs := starter(t, "validate", "--integration", "acme")
	if code != 0 || !strings.Contains(out, "credentials OK") {
		t.Fatalf("validate acme: %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = starter(t, "validate", "--integration", "badkey")
	if code != exitFailed {
		t.Fatalf("validate with a bad key exited %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(errs, "JumpCloud rejected the API key") || !strings.Contains(errs, "JUMPCLOUD_API_KEY") {
		t.Fatalf("the message must name the JumpCloud key:\n%s", errs)
	}
	code, out, _ = starter(t, "validate", "--integration", "badkey", "-o", "json")
	var v struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(out), &v); code != exitFailed || err != nil || v.OK || !strings.Contains(v.Error, "JumpCloud") {
		t.Fatalf("validate json: %d %v %s", code, err, out)
	}
}

func TestSyncRefusesToRunTwice(t *testing.T) {
	need(t)
	// Every JumpCloud request of this org takes long: the first sync is surely still
	// running when the second is asked for.
	env.slowJC.SetLatency(time.Minute)
	defer env.slowJC.SetLatency(0)
	code, out, errs := starter(t, "sync", "--integration", "slow")
	if code != 0 || !strings.Contains(out, "started sync of slow") {
		t.Fatalf("first sync: %d\n%s\n%s", code, out, errs)
	}
	defer env.client.TerminateWorkflow(context.Background(), temporalnames.SyncID("slow"), "", "test done")
	code, _, errs = starter(t, "sync", "--integration", "slow")
	if code != exitFailed || !strings.Contains(errs, "a sync of slow is already running: jcsync-slow, watch it with `starter status") {
		t.Fatalf("second sync: %d\n%s", code, errs)
	}
	code, out, _ = starter(t, "status", "--integration", "slow")
	if code != 0 || !strings.Contains(out, "sync of slow: Running") {
		t.Fatalf("status of a running sync: %d\n%s", code, out)
	}
}

func TestScheduleLifecycle(t *testing.T) {
	need(t)
	code, out, errs := starter(t, "schedule", "create", "--integration", "sched", "--every", "1h", "--jitter", "1m")
	if code != 0 || !strings.Contains(out, "created schedule jcsync-sched") {
		t.Fatalf("create: %d\n%s\n%s", code, out, errs)
	}
	if _, out, _ = starter(t, "schedule", "describe", "--integration", "sched"); !strings.Contains(out, "note:             syncs JumpCloud → Authomize for integration sched") {
		t.Errorf("a new schedule's note should say what it syncs:\n%s", out)
	}
	defer starter(t, "schedule", "delete", "--integration", "sched")
	code, _, errs = starter(t, "schedule", "create", "--integration", "sched")
	if code != exitFailed || !strings.Contains(errs, "already exists") {
		t.Fatalf("second create: %d %s", code, errs)
	}
	_, out, _ = starter(t, "schedule", "describe", "--integration", "sched")
	for _, want := range []string{"every:            1h0m0s", "jitter:           1m0s", "overlap:          skip", "paused:           false",
		"task queue:       " + temporalnames.IntegrationQueue(testTaskQueue, "sched")} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}
	if code, out, errs = starter(t, "schedule", "update", "--integration", "sched", "--cron", "0 */6 * * *", "--pause-on-failure"); code != 0 {
		t.Fatalf("update: %d %s %s", code, out, errs)
	}
	code, out, _ = starter(t, "schedule", "describe", "--integration", "sched", "-o", "json")
	var d scheduleJSON
	if err := json.Unmarshal([]byte(out), &d); code != 0 || err != nil || len(d.Cron)+len(d.Calendar) != 1 || len(d.Every) != 0 || !d.PauseOnFailure || d.Jitter != "1m0s" {
		t.Fatalf("after update: %d %v %s", code, err, out)
	}
	if code, out, _ = starter(t, "schedule", "pause", "--integration", "sched", "--note", "maintenance"); code != 0 {
		t.Fatalf("pause: %s", out)
	}
	// Listing reads the visibility store, which follows a pause after a moment.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		code, out, _ = starter(t, "schedule", "list")
		if code == 0 && strings.Contains(out, "jcsync-sched (paused") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("list: %d %s", code, out)
		}
	}
	if code, out, _ = starter(t, "schedule", "unpause", "--integration", "sched"); code != 0 {
		t.Fatalf("unpause: %s", out)
	}

	// A trigger really runs a sync: wait for the scheduled workflow to complete and find it
	// by the integration's search attribute.
	if code, out, errs = starter(t, "schedule", "trigger", "--integration", "sched"); code != 0 {
		t.Fatalf("trigger: %d %s %s", code, out, errs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h := env.client.ScheduleClient().GetHandle(ctx, temporalnames.ScheduleID("sched"))
	var started *client.ScheduleWorkflowExecution
	for started == nil {
		desc, err := h.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(desc.Info.RecentActions) > 0 {
			started = desc.Info.RecentActions[0].StartWorkflowResult
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the trigger started no workflow")
		case <-time.After(200 * time.Millisecond):
		}
	}
	var res workflows.SyncResult
	if err := env.client.GetWorkflow(ctx, started.WorkflowID, started.FirstExecutionRunID).Get(ctx, &res); err != nil {
		t.Fatalf("scheduled sync failed: %v", err)
	}
	if res.Integration != "sched" || res.Read["users"] <= 0 {
		t.Fatalf("scheduled sync result: %+v", res)
	}
	// The scheduled run carries the schedule's summary; the sync it handed over to carries
	// one naming the org and the app, which the run learned from its credential check.
	outer, err := testenv.ReadConsole(ctx, env.client, started.WorkflowID, started.FirstExecutionRunID)
	if err != nil {
		t.Fatal(err)
	}
	// Each sync is counted once: the sync carries the outcome, the run that handed over to
	// it only the integration.
	if !strings.HasPrefix(outer.Summary, "scheduled · sched ·") || !strings.Contains(outer.Details, "integration `sched`") || outer.HasOutcome || outer.HasUsers {
		t.Errorf("the scheduled run: %+v", outer)
	}
	inner, err := testenv.ReadConsole(ctx, env.client, temporalnames.SyncID("sched"), "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(inner.Summary, "sched · JumpCloud org ") || !strings.Contains(inner.Summary, "→ Authomize app ") ||
		!strings.Contains(inner.Details, "- Authomize app: ") || inner.Outcome != temporalnames.OutcomeSwept || inner.Users != int64(res.Read["users"]) {
		t.Errorf("the sync it handed over to: %+v", inner)
	}

	for {
		list, err := listSyncs(ctx, env.client, "sched", 10, temporalnames.IsCompleted)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) > 0 && list[0].GetExecution().GetWorkflowId() == started.WorkflowID {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the scheduled sync is not found by its search attribute")
		case <-time.After(200 * time.Millisecond):
		}
	}
	swept := temporalnames.IntegrationQuery("sched", temporalnames.SearchAttrOutcome+" = '"+temporalnames.OutcomeSwept+"'")
	if err := testenv.WaitListed(ctx, env.client, swept, temporalnames.SyncID("sched")); err != nil {
		t.Fatal(err)
	}
	if list, err := env.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: swept}); err != nil || len(list.GetExecutions()) != 1 {
		t.Fatalf("the swept syncs of sched: %v (%v), want the one sync alone", list.GetExecutions(), err)
	}
	if code, out, _ = starter(t, "status", "--integration", "sched"); code != 0 || !strings.Contains(out, started.WorkflowID) {
		t.Fatalf("status after the scheduled sync: %d\n%s", code, out)
	}
	if code, out, _ = starter(t, "schedule", "delete", "--integration", "sched"); code != 0 {
		t.Fatalf("delete: %s", out)
	}
	code, _, errs = starter(t, "schedule", "describe", "--integration", "sched")
	if code != exitFailed || !strings.Contains(errs, "no schedule jcsync-sched") {
		t.Fatalf("describe after delete: %d %s", code, errs)
	}
}

func TestUsageAndHelp(t *testing.T) {
	var out, errb bytes.Buffer
	ctx := context.Background()
	if code := run(ctx, nil, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "Commands:") {
		t.Fatalf("no args: %d %s", code, errb.String())
	}
	for _, cmd := range [][]string{{"sync", "--help"}, {"status", "--help"}, {"validate", "--help"}, {"schedule", "create", "--help"}} {
		out.Reset()
		errb.Reset()
		if code := run(ctx, cmd, &out, &errb); code != exitOK {
			t.Errorf("%v exited %d", cmd, code)
		}
		help := errb.String()
		if !strings.Contains(help, "Examples:") || !strings.Contains(help, "--temporal-address") || !strings.Contains(help, "starter "+cmd[0]) {
			t.Errorf("%v help:\n%s", cmd, help)
		}
	}
	for _, bad := range [][]string{{"nope"}, {"sync", "--output", "xml"}, {"schedule", "explode"}, {"schedule", "create", "--overlap", "sometimes"},
		{"schedule", "create", "--every", "1h", "--cron", "* * * * *"}, {"sync", "extra-arg"}} {
		errb.Reset()
		if code := run(ctx, bad, &out, &errb); code != exitUsage {
			t.Errorf("%v exited %d: %s", bad, code, errb.String())
		}
	}
}

func TestFailureMessageAndLinks(t *testing.T) {
	inner := temporal.NewNonRetryableApplicationError("integration \"x\": JumpCloud rejected the API key", "InvalidCredentials", nil)
	outer := temporal.NewApplicationErrorWithCause("validate credentials: activity error", "wrapped", inner)
	if got := failureMessage(outer); got != "integration \"x\": JumpCloud rejected the API key" {
		t.Fatalf("failureMessage = %q", got)
	}
	if got := webLink("http://localhost:8233/", "default", "jcsync-a b", "r1"); got != "http://localhost:8233/namespaces/default/workflows/jcsync-a%20b/r1" {
		t.Fatalf("webLink = %q", got)
	}
	if temporalnames.Escape(`a'b\`) != `a\'b\\` {
		t.Fatal("escape")
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
