package workflows_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"jcsync/internal/config"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/temporalnames"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// chromium finds a headless-capable Chromium ($CHROMIUM, else chromium or chromium-browser on
// the PATH).
func chromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestE2EWebUIShowsTheSummary loads a sync's page of the dev server's own Web UI in headless
// Chromium and looks for the sync's static summary in the rendered page. Skipped where no
// Chromium is installed.
func TestE2EWebUIShowsTheSummary(t *testing.T) {
	browser := chromium()
	if browser == "" {
		t.Skip("no Chromium on this machine (apt-get install chromium, or set CHROMIUM)")
	}
	ports := make([]int, 2)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:     testenv.TemporalCLI(t),
		ClientOptions:    &client.Options{HostPort: "127.0.0.1:" + strconv.Itoa(ports[0])},
		LogLevel:         "error",
		EnableUI:         true,
		UIPort:           strconv.Itoa(ports[1]),
		SearchAttributes: temporalnames.AllAttributes(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() }) // after the worker, which stops first
	c := srv.Client()
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 3, Users: 50, Groups: 5, Admins: 3, Apps: 3}))
	const name, queue = "webui", "e2e-webui"
	testenv.StartWorker(t, c, queue, config.Integrations{name: sims.Integration(name, false)}, nil)

	// Started as a schedule or the Web UI starts a sync: it hands over to the integration's
	// own workflow, whose summary names the org and the app.
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "webui-started", TaskQueue: queue}, temporalnames.SyncWorkflow, workflows.SyncInput{Integration: name, SweepMargin: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.SyncResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	con, err := testenv.ReadConsole(ctx, c, temporalnames.SyncID(name), "")
	if err != nil || !strings.Contains(con.Summary, "JumpCloud org ") {
		t.Fatalf("summary %q: %v", con.Summary, err)
	}
	url := "http://127.0.0.1:" + strconv.Itoa(ports[1]) + "/namespaces/default/workflows/" + temporalnames.SyncID(name)
	var dom string
	for attempt := 0; attempt < 3 && !strings.Contains(dom, con.Summary); attempt++ {
		cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
			"--virtual-time-budget=20000", "--dump-dom", url)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s --dump-dom %s: %v", browser, url, err)
		}
		dom = string(out)
	}
	if !strings.Contains(dom, con.Summary) {
		t.Fatalf("the Web UI's page of %s does not show the summary %q (%d bytes of DOM)", temporalnames.SyncID(name), con.Summary, len(dom))
	}
	t.Logf("the Web UI's page %s shows the summary %q", url, con.Summary)
}
