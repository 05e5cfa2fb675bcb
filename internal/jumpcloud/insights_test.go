package jumpcloud_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"jcsync/internal/jumpcloud"
	"jcsync/internal/sim/jumpcloudsim"
)

// insightsOpts points both the console and the insights routes at url.
func insightsOpts(url string) jumpcloud.Options {
	o := fast(url)
	o.InsightsBaseURL = url
	return o
}

// TestInsightsRequest: what the client puts on the wire: a POST to the events route with
// the credential and org headers, service ["directory"] by default, the window widened to
// whole seconds, the limit defaulted and capped, ASC order and the cursor as given.
func TestInsightsRequest(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]json.RawMessage
	var hdrs []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != jumpcloud.InsightsEventsPath {
			t.Errorf("%s %s", r.Method, r.URL.Path)
		}
		b, _ := io.ReadAll(r.Body)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("body %s: %v", b, err)
		}
		mu.Lock()
		got, hdrs = append(got, m), append(hdrs, r.Header.Clone())
		mu.Unlock()
		w.Header().Set("X-Result-Count", "0")
		_, _ = w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	o := insightsOpts(srv.URL)
	o.OrgID = "5c3536e9e0a6840001872782"
	c := newClient(t, o)
	start := time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.FixedZone("x", 3600))
	ctx := context.Background()
	if _, err := c.InsightsEvents(ctx, jumpcloud.InsightsQuery{StartTime: start}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.InsightsEvents(ctx, jumpcloud.InsightsQuery{StartTime: start, EndTime: start.Add(1500 * time.Millisecond),
		Services: []string{"directory", "sso"}, Limit: 50000, SearchAfter: json.RawMessage(`[1576181718000,"DZrPyW8BNsa9iKWoOm7h"]`)}); err != nil {
		t.Fatal(err)
	}
	want := []map[string]string{
		{"service": `["directory"]`, "start_time": `"2026-03-04T04:06:07Z"`, "limit": "1000", "sort": `"ASC"`},
		{"service": `["directory","sso"]`, "start_time": `"2026-03-04T04:06:07Z"`, "end_time": `"2026-03-04T04:06:10Z"`,
			"limit": "10000", "sort": `"ASC"`, "search_after": `[1576181718000,"DZrPyW8BNsa9iKWoOm7h"]`},
	}
	for i, w := range want {
		if len(got[i]) != len(w) {
			t.Errorf("request %d has fields %v, want %v", i, got[i], w)
		}
		for k, v := range w {
			if string(got[i][k]) != v {
				t.Errorf("request %d: %s = %s, want %s", i, k, got[i][k], v)
			}
		}
		if hdrs[i].Get("x-api-key") != key || hdrs[i].Get("x-org-id") != o.OrgID || hdrs[i].Get("Content-Type") != "application/json" {
			t.Errorf("request %d headers %v", i, hdrs[i])
		}
	}
	if _, err := c.InsightsEvents(ctx, jumpcloud.InsightsQuery{StartTime: start, EndTime: start}); err == nil || !jumpcloud.IsPermanent(err) {
		t.Fatalf("EndTime not after StartTime: %v", err)
	}
	if _, err := c.InsightsEvents(ctx, jumpcloud.InsightsQuery{}); err == nil || !strings.Contains(err.Error(), "StartTime is required") {
		t.Fatalf("no StartTime: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2 (bad queries are refused before sending)", len(got))
	}
}

// TestInsightsLenientDecoding: unknown fields stay in Raw, a field of the wrong type costs
// that field only, an element that is not an object is skipped and counted, and the page
// still counts as full when JumpCloud sent limit elements.
func TestInsightsLenientDecoding(t *testing.T) {
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 3, Users: 5})
	ts, s := jumpcloudsim.NewTestServer(t, org, jumpcloudsim.Options{APIKey: key})
	s.AddNoiseEvents(3) // three directory events, so a limit of 3 makes a full page
	s.RewriteBodies(jumpcloudsim.InsightsPath, func(_ *http.Request, _ []byte) []byte {
		return []byte(`[
 {"id":"a1","event_type":"user_update","service":"directory","timestamp":"2026-01-02T03:04:05.678Z",
  "resource":{"id":"u1","type":"user","username":"ann","brand_new":{"x":1}},
  "changes":[{"field":"state","from":"ACTIVATED","to":"SUSPENDED"},{"field":"suspended","from":false,"to":true},{"nofield":1},"odd"],
  "geoip":{"country_code":"DE"},"future_field":[1,2,3]},
 {"id":42,"event_type":"association_change","timestamp":"not a time","resource":"a string",
  "association":{"op":"remove","connection":{"from":{"type":"application","id":"app1"},"to":{"type":"user_group","object_id":"g1","name":"G"}}}},
 "not an event"
]`)
	})
	c := newClient(t, insightsOpts(ts.URL))
	p, err := c.InsightsEvents(context.Background(), jumpcloud.InsightsQuery{StartTime: time.Now().Add(-time.Hour), Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Events) != 2 || p.Skipped != 1 {
		t.Fatalf("events %d skipped %d, want 2 and 1", len(p.Events), p.Skipped)
	}
	a := p.Events[0]
	if a.ID != "a1" || a.EventType != "user_update" || a.Service != "directory" ||
		!a.Timestamp.Equal(time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)) ||
		a.Resource != (jumpcloud.InsightsResource{ID: "u1", Type: "user", Username: "ann"}) || a.Association != nil {
		t.Fatalf("event a = %+v", a)
	}
	if len(a.Changes) != 2 || a.Changes[0].Field != "state" || string(a.Changes[0].To) != `"SUSPENDED"` || string(a.Changes[1].To) != "true" {
		t.Fatalf("changes = %+v", a.Changes)
	}
	if !strings.Contains(string(a.Raw), `"future_field":[1,2,3]`) {
		t.Fatalf("Raw lost the unknown field: %s", a.Raw)
	}
	b := p.Events[1]
	if b.ID != "" || !b.Timestamp.IsZero() || b.Resource != (jumpcloud.InsightsResource{}) || b.Association == nil ||
		*b.Association != (jumpcloud.InsightsAssociation{Op: "remove", FromType: "application", FromID: "app1", ToType: "user_group", ToID: "g1"}) {
		t.Fatalf("event b = %+v assoc %+v", b, b.Association)
	}
	if p.SearchAfter == nil {
		t.Fatal("a page of limit elements (one skipped) must say more may follow")
	}
}

// TestInsightsPaging: InsightsSince reads every page of a long log (the default limit of
// 1000) and stops at the short one; a full page without X-Search_after continues after its
// last event's timestamp and id.
func TestInsightsPaging(t *testing.T) {
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 4, Users: 20})
	ts, s := jumpcloudsim.NewTestServer(t, org, jumpcloudsim.Options{APIKey: key})
	start := time.Now().Add(-time.Second)
	s.AddNoiseEvents(3750) // 2500 under "directory": pages of 1000, 1000, 500
	c := newClient(t, insightsOpts(ts.URL))
	ids := map[string]bool{}
	pages := 0
	n, err := c.InsightsSince(context.Background(), start, func(p jumpcloud.InsightsPage) error {
		pages++
		for _, e := range p.Events {
			if ids[e.ID] {
				t.Fatalf("event %s read twice", e.ID)
			}
			ids[e.ID] = true
		}
		return nil
	})
	if err != nil || n != 2500 || len(ids) != 2500 || pages != 3 {
		t.Fatalf("read %d events (%d distinct) in %d pages, err %v; want 2500 in 3", n, len(ids), pages, err)
	}
	if got := s.Counts().Insights; got != 3 {
		t.Fatalf("%d requests, want 3", got)
	}
	stop := errors.New("stop")
	if _, err := c.InsightsSince(context.Background(), start, func(jumpcloud.InsightsPage) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("fn's error: %v", err)
	}

	// Without the header, the cursor is the last event's sort values.
	var sent []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		sent = append(sent, string(b))
		if len(sent) == 1 {
			_, _ = w.Write([]byte(`[{"id":"e1","timestamp":"2026-01-02T03:04:05.000Z"},{"id":"e2","timestamp":"2026-01-02T03:04:05.678Z"}]`))
			return
		}
		_, _ = w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	c2 := newClient(t, insightsOpts(srv.URL))
	p, err := c2.InsightsEvents(context.Background(), jumpcloud.InsightsQuery{StartTime: start, Limit: 2})
	if err != nil || string(p.SearchAfter) != `[1767323045678,"e2"]` {
		t.Fatalf("cursor %s, err %v", p.SearchAfter, err)
	}
}

// TestInsightsErrors: an answer that is not a list is a permanent error of the request;
// access refused is ErrInsightsForbidden (and the status sentinel), transient statuses are
// not permanent.
func TestInsightsErrors(t *testing.T) {
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 5, Users: 3})
	ts, s := jumpcloudsim.NewTestServer(t, org, jumpcloudsim.Options{APIKey: key})
	c := newClient(t, insightsOpts(ts.URL))
	q := jumpcloud.InsightsQuery{StartTime: time.Now().Add(-time.Minute)}
	for _, body := range []string{`{"results":[]}`, `null`} {
		s.RewriteBodies(jumpcloudsim.InsightsPath, func(*http.Request, []byte) []byte { return []byte(body) })
		_, err := c.InsightsEvents(context.Background(), q)
		var re *jumpcloud.RequestError
		if !errors.As(err, &re) || !jumpcloud.IsPermanent(err) {
			t.Fatalf("body %s: %v", body, err)
		}
		s.ClearFaults()
	}
	s.SetInsightsForbidden(true)
	_, err := c.InsightsEvents(context.Background(), q)
	var ae *jumpcloud.APIError
	if !errors.Is(err, jumpcloud.ErrInsightsForbidden) || !errors.Is(err, jumpcloud.ErrForbidden) || !errors.As(err, &ae) || ae.Status != 403 {
		t.Fatalf("forbidden: %v", err)
	}
	if !strings.Contains(err.Error(), "Directory Insights") || !strings.Contains(err.Error(), "403") {
		t.Fatalf("message does not say what was refused: %v", err)
	}
	s.SetInsightsForbidden(false)
	s.FailNext(jumpcloudsim.InsightsPath, 10, http.StatusBadGateway)
	if _, err := c.InsightsEvents(context.Background(), q); err == nil || jumpcloud.IsPermanent(err) || errors.Is(err, jumpcloud.ErrInsightsForbidden) {
		t.Fatalf("502s: %v", err)
	}
}

// TestInsightsBaseURL: the insights host follows the console's region unless set, a
// simulator or proxy base URL serves both, and a malformed setting is refused.
func TestInsightsBaseURL(t *testing.T) {
	for _, tc := range []struct{ explicit, base, want string }{
		{"", "", jumpcloud.DefaultInsightsBaseURL},
		{"", jumpcloud.DefaultBaseURL, jumpcloud.DefaultInsightsBaseURL},
		{"", jumpcloud.EUBaseURL, jumpcloud.EUInsightsBaseURL},
		{"", "http://127.0.0.1:8081", "http://127.0.0.1:8081"},
		{"https://insights.example.com/", jumpcloud.EUBaseURL, "https://insights.example.com"},
	} {
		c := newClient(t, jumpcloud.Options{APIKey: key, BaseURL: tc.base, InsightsBaseURL: tc.explicit})
		if got := c.InsightsBaseURL(); got != tc.want {
			t.Errorf("explicit %q base %q: %q, want %q", tc.explicit, tc.base, got, tc.want)
		}
	}
	if _, err := jumpcloud.New(jumpcloud.Options{APIKey: key, InsightsBaseURL: "api.jumpcloud.com"}); err == nil || !strings.Contains(err.Error(), "InsightsBaseURL") {
		t.Fatalf("malformed InsightsBaseURL: %v", err)
	}
}

// TestInsightsUnreachableNamesItsSetting: when the insights host cannot be reached, the
// error points at the insights setting, not at the console's, which may be fine.
func TestInsightsUnreachableNamesItsSetting(t *testing.T) {
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 6, Users: 2})
	ts, _ := jumpcloudsim.NewTestServer(t, org, jumpcloudsim.Options{APIKey: key})
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // a port nothing listens on any more
	o := fast(ts.URL)
	o.BaseURLSetting, o.MaxAttempts = "JUMPCLOUD_BASE_URL", 1
	o.InsightsBaseURL, o.InsightsBaseURLSetting = closed.URL, "JUMPCLOUD_INSIGHTS_BASE_URL"
	c := newClient(t, o)
	if err := c.Validate(context.Background()); err != nil {
		t.Fatalf("the console answers: %v", err)
	}
	_, err := c.InsightsEvents(context.Background(), jumpcloud.InsightsQuery{StartTime: time.Now().Add(-time.Minute)})
	if err == nil || !strings.Contains(err.Error(), "check JUMPCLOUD_INSIGHTS_BASE_URL") || strings.Contains(err.Error(), "JUMPCLOUD_BASE_URL") {
		t.Fatalf("err = %v", err)
	}
}
