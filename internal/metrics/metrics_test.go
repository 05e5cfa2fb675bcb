package metrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"jcsync/activities"
	"jcsync/internal/authomize"
	"jcsync/internal/jumpcloud"
)

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d", rec.Code)
	}
	return rec.Body.String()
}

func TestObserverCountersAreScraped(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	m.JumpCloudRequest("acme", jumpcloud.RequestInfo{Method: "GET", Endpoint: "/api/systemusers", Status: 200, Attempt: 1, Duration: 20 * time.Millisecond})
	m.JumpCloudRequest("acme", jumpcloud.RequestInfo{Method: "GET", Endpoint: "/api/systemusers", Status: 429, Attempt: 1})
	m.JumpCloudRequest("acme", jumpcloud.RequestInfo{Method: "GET", Endpoint: "/api/systemusers", Status: 200, Attempt: 2})
	m.JumpCloudRequest("beta", jumpcloud.RequestInfo{Method: "GET", Endpoint: "/api/systemusers", Status: 401, Attempt: 1})
	m.AuthomizeRequest("acme", authomize.RequestInfo{Method: "POST", Endpoint: "/v2/apps/{appId}/accounts/users", Status: 202, Attempt: 1})
	m.Items("acme", "users", "users", 100)
	m.StageDone("acme", "users", activities.StageResult{Stage: "users", Duration: 3 * time.Second, Counts: activities.StageCounts{PagesResumed: 4, RepairReads: 3, Unstable: []string{"users kept changing"}}})
	// The workflow counts sweep outcomes through the SDK's handler.
	m.TemporalHandler().WithTags(map[string]string{"integration": "acme", "outcome": "swept"}).Counter("jcsync_sweeps").Inc(1)
	// The SDK's handler reports into the same registry.
	m.TemporalHandler().WithTags(map[string]string{"namespace": "default"}).Counter("temporal_request").Inc(1)

	body := scrape(t, m.Handler())
	for _, want := range []string{
		`jcsync_api_requests_total{api="jumpcloud",endpoint="/api/systemusers",integration="acme",method="GET",status="200"} 2`,
		`jcsync_api_requests_total{api="jumpcloud",endpoint="/api/systemusers",integration="acme",method="GET",status="429"} 1`,
		`jcsync_api_requests_total{api="jumpcloud",endpoint="/api/systemusers",integration="beta",method="GET",status="401"} 1`,
		`jcsync_api_requests_total{api="authomize",endpoint="/v2/apps/{appId}/accounts/users",integration="acme",method="POST",status="202"} 1`,
		`jcsync_api_retries_total{api="jumpcloud",endpoint="/api/systemusers",integration="acme"} 1`,
		`jcsync_api_request_duration_seconds_count{api="jumpcloud",endpoint="/api/systemusers",integration="beta"} 1`,
		`jcsync_items_total{integration="acme",kind="users",stage="users"} 100`,
		`jcsync_pages_resumed_total{integration="acme",stage="users"} 4`,
		`jcsync_stage_duration_seconds_count{integration="acme",stage="users"} 1`,
		`jcsync_stages_total{integration="acme",stage="users"} 1`,
		`jcsync_read_repairs_total{integration="acme",stage="users"} 3`,
		`jcsync_lists_unstable_total{integration="acme",stage="users"} 1`,
		`jcsync_sweeps_total{integration="acme",outcome="swept",reason=""} 1`,
		`temporal_request`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", body)
	}
}

func TestServe(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	m.Items("acme", "groups", "groups", 3)
	s, err := m.Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	resp, err := http.Get("http://" + s.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `jcsync_items_total{integration="acme",kind="groups",stage="groups"} 3`) {
		t.Fatalf("served metrics lack our counter:\n%s", b)
	}
	if _, err := m.Serve(s.Addr()); err == nil {
		t.Fatal("a taken port must be an error at start")
	}
}
