package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"jcsync/activities"
	"jcsync/internal/authomize"
	"jcsync/internal/config"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/pacer"
)

// --jumpcloud-max-rps is a ceiling: unset, the pacer's default ceiling applies and each org's
// rate is found; set (under its new name, its former --jumpcloud-rps, or either variable), it
// caps the rate without fixing it, and an integration's own rps wins over it.
func TestMaxRPSIsACeiling(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want float64
	}{
		{"unset", nil, nil, 0},
		{"flag", []string{"--jumpcloud-max-rps", "40"}, nil, 40},
		{"former flag", []string{"--jumpcloud-rps", "25"}, nil, 25},
		{"env", nil, map[string]string{"JCSYNC_JUMPCLOUD_MAX_RPS": "30"}, 30},
		{"former env", nil, map[string]string{"JCSYNC_JUMPCLOUD_RPS": "15"}, 15},
		{"empty env is unset", nil, map[string]string{"JCSYNC_JUMPCLOUD_RPS": "", "JCSYNC_JUMPCLOUD_MAX_RPS": ""}, 0},
		{"new env wins", nil, map[string]string{"JCSYNC_JUMPCLOUD_MAX_RPS": "30", "JCSYNC_JUMPCLOUD_RPS": "15"}, 30},
		{"flag wins", []string{"--jumpcloud-rps", "7"}, map[string]string{"JCSYNC_JUMPCLOUD_MAX_RPS": "30"}, 7},
	}
	for _, tc := range cases {
		c, err := parseFlags(tc.args, envOf(tc.env), &bytes.Buffer{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.JumpCloudMaxRPS != tc.want {
			t.Fatalf("%s: ceiling %v, want %v", tc.name, c.JumpCloudMaxRPS, tc.want)
		}
	}
	for _, bad := range [][]string{{"--jumpcloud-max-rps", "-1"}, {"--jumpcloud-rps", "-0.5"}, {"--jumpcloud-max-rps", "NaN"}} {
		if _, err := parseFlags(bad, envOf(nil), &bytes.Buffer{}); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}

	// What the worker hands the activities: the ceiling becomes the org pacer's Max, and the
	// rate starts at the pacer's initial rate below it, to be raised or cut from there.
	c, err := parseFlags([]string{"--jumpcloud-rps", "40"}, envOf(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	acts := &activities.Activities{MaxRPS: c.JumpCloudMaxRPS, PageConcurrency: c.PageConcurrency, Observer: &pacerSeen{}}
	// Both APIs refuse every credential at once: only the pacers the check created matter.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) }))
	defer srv.Close()
	acts.Integrations = config.Integrations{
		"acme":  {Name: "acme", JumpCloud: config.JumpCloud{BaseURL: srv.URL, APIKey: "k"}, Authomize: config.Authomize{BaseURL: srv.URL, Token: "t", AppID: "a"}},
		"small": {Name: "small", JumpCloud: config.JumpCloud{BaseURL: srv.URL, APIKey: "k", RPS: 4}, Authomize: config.Authomize{BaseURL: srv.URL, Token: "t", AppID: "b"}},
	}
	seen := acts.Observer.(*pacerSeen)
	var env testsuite.WorkflowTestSuite
	aenv := env.NewTestActivityEnvironment()
	aenv.RegisterActivity(acts)
	for _, name := range []string{"acme", "small"} {
		if _, err := aenv.ExecuteActivity(acts.Validate, activities.ValidateInput{Integration: name}); err == nil {
			t.Fatalf("%s: credentials refused by the server, yet validated", name)
		}
	}
	for name, want := range map[string]float64{"acme": 40, "small": 4} {
		p := seen.jc[name]
		if p == nil {
			t.Fatalf("%s: no JumpCloud pacer", name)
		}
		s := p.Snapshot()
		if s.Max != want || s.Rate > want || s.Rate != min(want, pacer.DefaultInitial) {
			t.Fatalf("%s: pacer at %v req/s with ceiling %v; want the ceiling %v and the initial rate below it", name, s.Rate, s.Max, want)
		}
	}
	if c.PageConcurrency != activities.DefaultPageConcurrency || c.MaxConcurrentActivities != defaultMaxConcurrentActivities {
		t.Fatalf("defaults: page concurrency %d, activities %d", c.PageConcurrency, c.MaxConcurrentActivities)
	}
}

// pacerSeen keeps the JumpCloud pacer each integration's clients were given, and ignores the
// requests and counts every observer sees.
type pacerSeen struct {
	jc map[string]*pacer.Pacer
}

func (*pacerSeen) JumpCloudRequest(string, jumpcloud.RequestInfo)   {}
func (*pacerSeen) AuthomizeRequest(string, authomize.RequestInfo)   {}
func (*pacerSeen) Items(string, string, string, int)                {}
func (*pacerSeen) StageDone(string, string, activities.StageResult) {}

func (o *pacerSeen) Pacer(integration, api string, p *pacer.Pacer) {
	if api != activities.APIJumpCloud {
		return
	}
	if o.jc == nil {
		o.jc = map[string]*pacer.Pacer{}
	}
	o.jc[integration] = p
}
