package metrics

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	workflowpb "go.temporal.io/api/workflow/v1"
	"gopkg.in/yaml.v3"

	"jcsync/activities"
	"jcsync/internal/authomize"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/pacer"
)

// The files operators import, relative to this package.
const (
	alertRulesFile = "../../deploy/prometheus/jcsync-alerts.yml"
	dashboardFile  = "../../deploy/grafana/jcsync-dashboard.json"
)

// workerRegistry is a registry in which every metric of the connector has a series: each
// observer, the pacers, the workflows' counters and the sync gauges were fed once.
func workerRegistry(t *testing.T) *Metrics {
	t.Helper()
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	m.JumpCloudRequest("acme", jumpcloud.RequestInfo{Method: "GET", Endpoint: "/api/systemusers", Status: 429, Attempt: 2, Duration: time.Millisecond})
	m.AuthomizeRequest("acme", authomize.RequestInfo{Method: "POST", Endpoint: "/v2/apps/{appId}/accounts/users", Status: 202, Attempt: 1})
	m.Items("acme", "users", "users", 1)
	m.StageDone("acme", "users", activities.StageResult{Duration: time.Second,
		Counts: activities.StageCounts{PagesResumed: 1, RepairReads: 1, Unstable: []string{"users"}}})
	p, err := pacer.New(pacer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m.Pacer("acme", activities.APIJumpCloud, p)
	for name := range m.workflowCounters {
		m.TemporalHandler().WithTags(map[string]string{"integration": "acme"}).Counter(name).Inc(1)
	}
	m.syncs.set("acme", summarize([]*workflowpb.WorkflowExecutionInfo{run(t, running, 3, ""), run(t, completed, 2, "swept")}), time.Now())
	m.syncs.failed("acme")
	now := time.Now()
	m.WatchPolled("acme", activities.WatchPollResult{State: activities.WatchWatching, Events: 2, Noise: 3,
		Applied: []activities.AppliedChange{{Kind: activities.ChangeUserUpsert, ID: "u1", EventAt: now.Add(-7 * time.Second), DoneAt: now}}})
	return m
}

// sdkLabels are the tags the Temporal SDK puts on its metrics; none belongs on the
// connector's own.
var sdkLabels = []string{"namespace", "task_queue", "workflow_type", "activity_type", "worker_type", "client_name",
	"operation", "otel_scope_name", "otel_scope_version", "otel_scope_schema_url"}

// Every metric of the connector says what it is and carries only its own labels.
func TestConnectorMetricsHaveHelpAndOwnLabels(t *testing.T) {
	families, err := workerRegistry(t).Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	own := 0
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "jcsync_") {
			continue
		}
		own++
		if strings.TrimSpace(f.GetHelp()) == "" {
			t.Errorf("%s has no help text", f.GetName())
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if slices.Contains(sdkLabels, l.GetName()) {
					t.Errorf("%s carries the SDK's label %s", f.GetName(), l.GetName())
				}
			}
		}
	}
	if own < 25 {
		t.Fatalf("only %d of the connector's metrics were gathered", own)
	}
}

// exportedNames is every series name a worker's /metrics can carry: the connector's, Go's and
// the process's, as gathered (with a histogram's _bucket, _sum and _count), and the SDK's,
// from the constants of the SDK this module builds with, named as the OpenTelemetry
// exporter writes them (timers in seconds as histograms; counters and gauges as they are).
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	families, err := workerRegistry(t).Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[f.GetName()+s] = true
			}
		case dto.MetricType_SUMMARY:
			names[f.GetName()+"_sum"], names[f.GetName()+"_count"] = true, true
		default:
			names[f.GetName()] = true
		}
	}
	for _, n := range sdkMetricNames(t) {
		if strings.HasSuffix(n, "_latency") {
			for _, s := range []string{"_seconds_bucket", "_seconds_sum", "_seconds_count"} {
				names[n+s] = true
			}
		} else {
			names[n] = true
		}
	}
	return names
}

// sdkMetricNames reads the metric names the Temporal SDK defines
// (internal/common/metrics/constants.go of the module version in go.mod).
func sdkMetricNames(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "go.temporal.io/sdk").Output()
	if err != nil {
		t.Fatalf("find the Temporal SDK's source: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "internal", "common", "metrics", "constants.go")
	file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatalf("read the SDK's metric names: %v", err)
	}
	consts := map[string]string{}
	var eval func(ast.Expr) (string, bool)
	eval = func(e ast.Expr) (string, bool) {
		switch x := e.(type) {
		case *ast.BasicLit:
			s, err := strconv.Unquote(x.Value)
			return s, err == nil
		case *ast.Ident:
			s, ok := consts[x.Name]
			return s, ok
		case *ast.BinaryExpr:
			a, ok1 := eval(x.X)
			b, ok2 := eval(x.Y)
			return a + b, ok1 && ok2 && x.Op == token.ADD
		}
		return "", false
	}
	for _, d := range file.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if i < len(vs.Values) {
					if v, ok := eval(vs.Values[i]); ok {
						consts[n.Name] = v
					}
				}
			}
		}
	}
	var names []string
	for _, v := range consts {
		if strings.HasPrefix(v, "temporal_") && len(v) > len("temporal_") {
			names = append(names, v)
		}
	}
	if len(names) < 30 {
		t.Fatalf("only %d metric names in %s: has the SDK moved them?", len(names), path)
	}
	sort.Strings(names)
	return names
}

var (
	quoted      = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	matchers    = regexp.MustCompile(`\{[^}]*\}`)
	ranges      = regexp.MustCompile(`\[[^\]]*\]`)
	grouping    = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	identifier  = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	labelValues = regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)$`)
	promqlWords = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan"}
)

// metricNames are the metric names a PromQL expression selects. What is not a name is taken
// out first: quoted strings, label matchers, ranges, grouping clauses; then every remaining
// identifier that is not a function call, a keyword or part of a number is a metric name.
func metricNames(expr string) []string {
	e := quoted.ReplaceAllString(expr, `""`)
	e = matchers.ReplaceAllString(e, "{}")
	e = ranges.ReplaceAllString(e, "[]")
	e = grouping.ReplaceAllString(e, " ")
	var names []string
	for _, loc := range identifier.FindAllStringIndex(e, -1) {
		word := e[loc[0]:loc[1]]
		if loc[0] > 0 && strings.ContainsAny(e[loc[0]-1:loc[0]], "0123456789.") {
			continue // 1e9, 26h
		}
		if strings.HasPrefix(strings.TrimSpace(e[loc[1]:]), "(") || slices.Contains(promqlWords, strings.ToLower(word)) {
			continue
		}
		names = append(names, word)
	}
	return names
}

func TestMetricNamesOfExpressions(t *testing.T) {
	for expr, want := range map[string][]string{
		`time() - max by (integration) (jcsync_a{x="b c",y=~"$v"}) > 26 * 3600`:           {"jcsync_a"},
		`histogram_quantile(0.95, sum by (le) (rate(b_bucket[$__rate_interval])))`:        {"b_bucket"},
		`(sum(rate(c[5m])) / sum(rate(d[5m]))) > 0.05 and on (integration, api) e >= 1e2`: {"c", "d", "e"},
		`f unless on (integration) g offset 5m`:                                           {"f", "g"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", expr, got, want)
		}
	}
}

// checkNames fails the test for every metric an expression uses that no worker exports.
func checkNames(t *testing.T, where, expr string, exported map[string]bool) int {
	t.Helper()
	names := metricNames(expr)
	if len(names) == 0 {
		t.Errorf("%s: no metric in %q", where, expr)
	}
	for _, n := range names {
		if !exported[n] {
			t.Errorf("%s: %s is not a metric the worker exports (in %q)", where, n, expr)
		}
	}
	return len(names)
}

// alertRules is the Prometheus rule file's shape; unknown keys are refused.
type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// The alert rules load as Prometheus rule groups and use only metrics a worker exports.
func TestAlertRules(t *testing.T) {
	b, err := os.ReadFile(alertRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rules alertRules
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&rules); err != nil {
		t.Fatalf("%s: %v", alertRulesFile, err)
	}
	exported := exportedNames(t)
	alerts := map[string]bool{}
	used := map[string]bool{}
	for _, g := range rules.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: a group needs a name and rules", g.Name)
		}
		for _, r := range g.Rules {
			where := g.Name + "/" + r.Alert
			if r.Alert == "" || alerts[r.Alert] {
				t.Errorf("%s: every rule needs an alert name of its own", where)
			}
			alerts[r.Alert] = true
			checkNames(t, where, r.Expr, exported)
			for _, n := range metricNames(r.Expr) {
				used[n] = true
			}
			if _, err := model.ParseDuration(r.For); err != nil {
				t.Errorf("%s: for %q: %v", where, r.For, err)
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", where, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: needs a summary and a description", where)
			}
			for _, ref := range regexp.MustCompile(`\$labels\.([a-z_]+)`).FindAllStringSubmatch(r.Annotations["summary"]+r.Annotations["description"], -1) {
				if ref[1] != "integration" && ref[1] != "api" && r.Labels[ref[1]] == "" {
					t.Errorf("%s: the annotations quote $labels.%s, which neither the expression's grouping nor the rule's labels give", where, ref[1])
				}
			}
		}
	}
	// The alerts an operator was promised, each on the metric that answers it.
	for alert, metric := range map[string]string{
		"JCSyncFailed":             "jcsync_sync_last_outcome",
		"JCSyncSweepWithheldTwice": "jcsync_sync_consecutive_unswept",
		"JCSyncNoRecentSuccess":    "jcsync_sync_last_success_timestamp_seconds",
		"JCSyncThrottled":          "jcsync_api_requests_total",
	} {
		if !alerts[alert] || !used[metric] {
			t.Errorf("the rules lack %s on %s", alert, metric)
		}
	}
}

// The dashboard is Grafana JSON whose every query, and every variable's, uses only metrics a
// worker exports, through the data source variable.
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title      string `json:"title"`
		UID        string `json:"uid"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Type       string `json:"type"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
		Panels []dashPanel `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if dash.Title == "" || dash.UID == "" {
		t.Error("the dashboard needs a title and a uid (imports update it rather than duplicate it)")
	}
	exported := exportedNames(t)
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Definition)
		if m == nil {
			t.Errorf("variable %s: %q is not label_values(metric, label)", v.Name, v.Definition)
			continue
		}
		if !exported[m[1]] {
			t.Errorf("variable %s: %s is not a metric the worker exports", v.Name, m[1])
		}
	}
	queries := 0
	var walk func([]dashPanel)
	walk = func(ps []dashPanel) {
		for _, p := range ps {
			if p.Type != "row" {
				if p.Title == "" || p.Description == "" || len(p.Targets) == 0 {
					t.Errorf("panel %q needs a title, a description and queries", p.Title)
				}
				if p.Datasource.UID != "${datasource}" {
					t.Errorf("panel %q: data source %q, want ${datasource}", p.Title, p.Datasource.UID)
				}
			}
			for _, q := range p.Targets {
				queries += checkNames(t, "panel "+p.Title, q.Expr, exported)
			}
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	if queries < 20 {
		t.Fatalf("only %d metrics queried", queries)
	}
}

type dashPanel struct {
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Datasource  struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []dashPanel `json:"panels"`
}
