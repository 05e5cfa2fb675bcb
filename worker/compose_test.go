package main

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"jcsync/internal/config"
	"jcsync/internal/logging"
	"jcsync/internal/sim/jumpcloudsim"
)

// composeFile is the subset of docker-compose.yml this test reads.
type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		DependsOn   any               `yaml:"depends_on"`
		Environment map[string]string `yaml:"environment"`
		Profiles    []string          `yaml:"profiles"`
		Command     any               `yaml:"command"`
		Entrypoint  any               `yaml:"entrypoint"`
		// StopGracePeriod is how long Docker waits after SIGTERM before SIGKILL.
		StopGracePeriod string `yaml:"stop_grace_period"`
	} `yaml:"services"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if len(f.Services) == 0 {
		t.Fatal("docker-compose.yml has no services")
	}
	return f
}

func dependsOn(v any) []string {
	switch d := v.(type) {
	case []any:
		var out []string
		for _, s := range d {
			out = append(out, s.(string))
		}
		return out
	case map[string]any:
		var out []string
		for k := range d {
			out = append(out, k)
		}
		return out
	}
	return nil
}

var refRe = regexp.MustCompile(`^\$\{[A-Z0-9_]+(:?[-?][^}]*)?\}$`)

func TestComposeFile(t *testing.T) {
	f := loadCompose(t)
	for name, s := range f.Services {
		for _, dep := range dependsOn(s.DependsOn) {
			if _, ok := f.Services[dep]; !ok {
				t.Errorf("service %s depends on unknown service %s", name, dep)
			}
		}
		if s.Image == "" && s.Build == nil {
			t.Errorf("service %s has neither image nor build", name)
		}
		if s.Image != "" {
			last := s.Image[strings.LastIndex(s.Image, "/")+1:]
			tag := ""
			if i := strings.LastIndex(last, ":"); i >= 0 {
				tag = last[i+1:]
			}
			if tag == "" || tag == "latest" {
				t.Errorf("service %s: image %q is not pinned to a version tag", name, s.Image)
			}
		}
		demo := false
		for _, p := range s.Profiles {
			demo = demo || p == "demo"
		}
		for k, v := range s.Environment {
			if !logging.IsSensitiveKey(k) && !strings.Contains(k, "PASSWORD") && !strings.HasSuffix(k, "_PWD") {
				continue
			}
			if strings.HasSuffix(k, "_FILE") && (v == "" || refRe.MatchString(v)) {
				continue
			}
			switch {
			case refRe.MatchString(v):
				if strings.Contains(v, ":-") && !strings.HasSuffix(v, ":-}") {
					t.Errorf("service %s: %s has a default value written into the file: %s", name, k, v)
				}
			case demo && strings.HasPrefix(v, "demo-"):
				// The simulators' published fake credentials, demo profile only.
			case demo && strings.HasPrefix(v, "http://sim:") && strings.HasSuffix(k, "_URL"):
				// The simulator's token endpoint: an address named like a secret, demo only.
			default:
				t.Errorf("service %s: %s must be a ${VAR} reference, not a value", name, k)
			}
		}
	}
	for _, need := range []string{"temporal", "postgresql", "temporal-ui", "worker", "sim", "starter-demo"} {
		if _, ok := f.Services[need]; !ok {
			t.Errorf("service %s is missing", need)
		}
	}
	// The worker's environment covers every variable the worker reads, except those meant
	// for the simulators alone.
	worker := f.Services["worker"]
	var want []string
	want = append(want, config.EnvVars...)
	want = append(want, config.TemporalEnvVars...)
	want = append(want, workerEnvVars...)
	for _, v := range want {
		if _, ok := worker.Environment[v]; !ok && !contains(demoOnlyEnvVars, v) {
			t.Errorf("the worker service does not set %s", v)
		}
	}
	for k := range worker.Environment {
		if !contains(want, k) {
			t.Errorf("the worker service sets %s, which the worker does not read", k)
		}
	}
}

// demoOnlyEnvVars are worker variables that only the demo profile may set: plain http to
// the simulators by service name would, in production, send the keys in clear text.
var demoOnlyEnvVars = []string{config.EnvInsecureHTTP}

// TestComposeInsecureHTTPOnlyInDemo pins where plain http is allowed: the demo's worker
// needs it to reach the simulators by name; no other service may have it, by variable or flag.
func TestComposeInsecureHTTPOnlyInDemo(t *testing.T) {
	f := loadCompose(t)
	demo := f.Services["worker-demo"]
	if v := demo.Environment[config.EnvInsecureHTTP]; v != "true" {
		t.Errorf("worker-demo: %s = %q, want \"true\" (it reaches the simulators over http by name)", config.EnvInsecureHTTP, v)
	}
	for _, k := range []string{"JUMPCLOUD_BASE_URL", "AUTHOMIZE_BASE_URL"} {
		if !strings.HasPrefix(demo.Environment[k], "http://sim:") {
			t.Errorf("worker-demo: %s = %q, want the simulator", k, demo.Environment[k])
		}
	}
	if !slices.Contains(demo.Profiles, "demo") {
		t.Error("worker-demo is not in the demo profile")
	}
	for name, s := range f.Services {
		if slices.Contains(s.Profiles, "demo") {
			continue
		}
		for _, v := range demoOnlyEnvVars {
			if _, ok := s.Environment[v]; ok {
				t.Errorf("service %s sets %s, which only the demo profile may", name, v)
			}
		}
		for _, arg := range append(words(s.Entrypoint), words(s.Command)...) {
			if strings.HasPrefix(arg, "--insecure-http") {
				t.Errorf("service %s runs with %s, which only the demo profile may", name, arg)
			}
		}
	}
	if _, ok := f.Services["worker"].Environment[config.EnvInsecureHTTP]; ok {
		t.Errorf("the production worker sets %s", config.EnvInsecureHTTP)
	}
}

// words lists the arguments of a command or entrypoint, in either of compose's forms.
func words(v any) []string {
	switch c := v.(type) {
	case string:
		return strings.Fields(c)
	case []any:
		var out []string
		for _, w := range c {
			out = append(out, fmt.Sprint(w))
		}
		return out
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestComposeDemoUsesTheServiceAccount pins the demo to the credential the README
// recommends: the demo worker's service account is the one the simulator registers, and its
// token endpoint is the simulator's.
func TestComposeDemoUsesTheServiceAccount(t *testing.T) {
	f := loadCompose(t)
	demo, sim := f.Services["worker-demo"], f.Services["sim"]
	if _, ok := demo.Environment["JUMPCLOUD_API_KEY"]; ok {
		t.Error("worker-demo sets JUMPCLOUD_API_KEY; the demo runs on a service account")
	}
	id := demo.Environment["JUMPCLOUD_CLIENT_ID"]
	args, _ := sim.Command.([]any)
	registered := ""
	for i, a := range args {
		if a == "--client-id" && i+1 < len(args) {
			registered, _ = args[i+1].(string)
		}
	}
	if id == "" || id != registered {
		t.Errorf("worker-demo's JUMPCLOUD_CLIENT_ID %q is not the service account the sim registers (%q)", id, registered)
	}
	if demo.Environment["JUMPCLOUD_CLIENT_SECRET"] == "" {
		t.Error("worker-demo has no JUMPCLOUD_CLIENT_SECRET")
	}
	if want := "http://sim:8081" + jumpcloudsim.TokenPath; demo.Environment["JUMPCLOUD_TOKEN_URL"] != want {
		t.Errorf("worker-demo's JUMPCLOUD_TOKEN_URL %q, want the simulator's %q", demo.Environment["JUMPCLOUD_TOKEN_URL"], want)
	}
}

// stopMargin is what a worker needs after its stop timeout before it may be killed: the
// workflow worker stops before the activity worker, the client closes after it.
const stopMargin = 5 * time.Second

// TestComposeStopGracePeriod: every service that runs the worker gives it more time between
// SIGTERM and SIGKILL than the worker's stop timeout, so that a short activity finishes and
// every failure is reported before the process is killed. Docker's default (10 s) is shorter.
func TestComposeStopGracePeriod(t *testing.T) {
	f := loadCompose(t)
	n := 0
	for name, s := range f.Services {
		if !slices.Contains(append(words(s.Entrypoint), words(s.Command)...), "/usr/local/bin/worker") {
			continue
		}
		n++
		if s.StopGracePeriod == "" {
			t.Errorf("service %s runs the worker without stop_grace_period: Docker's 10 s default is shorter than its %s stop timeout", name, stopTimeout)
			continue
		}
		// Compose writes durations as Go does (45s, 1m30s).
		d, err := time.ParseDuration(s.StopGracePeriod)
		if err != nil {
			t.Errorf("service %s: stop_grace_period %q: %v", name, s.StopGracePeriod, err)
			continue
		}
		if d < stopTimeout+stopMargin {
			t.Errorf("service %s: stop_grace_period %s leaves the worker less than %s after its %s stop timeout", name, d, stopMargin, stopTimeout)
		}
	}
	if n == 0 {
		t.Error("no service runs /usr/local/bin/worker")
	}
}

// TestComposeUpgradeService pins the upgrade path of docs/upgrades.md: worker-next runs the
// new build beside the worker with the worker's environment, promotes itself on start, and
// starts only when asked for (its profile), on a metrics port of its own. The worker itself
// does not promote by default, so that restarting it never competes for new syncs.
func TestComposeUpgradeService(t *testing.T) {
	f := loadCompose(t)
	next, ok := f.Services["worker-next"]
	if !ok {
		t.Fatal("no worker-next service: the upgrade in docs/upgrades.md runs the new build as worker-next")
	}
	worker := f.Services["worker"]
	if !slices.Equal(next.Profiles, []string{"upgrade"}) {
		t.Errorf("worker-next profiles %v, want [upgrade]: it must not start with the stack", next.Profiles)
	}
	if next.Environment[config.EnvPromote] != "true" {
		t.Errorf("worker-next: %s = %q, want \"true\" (it becomes current on start)", config.EnvPromote, next.Environment[config.EnvPromote])
	}
	if v := worker.Environment[config.EnvPromote]; !refRe.MatchString(v) || !strings.HasSuffix(v, ":-}") {
		t.Errorf("worker: %s = %q, want an empty default", config.EnvPromote, v)
	}
	for k, v := range worker.Environment {
		if k == config.EnvPromote {
			continue
		}
		if next.Environment[k] != v {
			t.Errorf("worker-next: %s = %q, the worker has %q: the new build must run as the old one does", k, next.Environment[k], v)
		}
	}
	if len(next.Environment) != len(worker.Environment) {
		t.Errorf("worker-next sets %d variables, the worker %d", len(next.Environment), len(worker.Environment))
	}
	if !slices.Contains(words(next.Command), "/usr/local/bin/worker") {
		t.Errorf("worker-next runs %v, want the worker", next.Command)
	}
}
