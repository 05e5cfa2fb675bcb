package jumpcloudsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"jcsync/internal/jumpcloud"
)

// insightsClient is the connector's own client pointed at the simulator for both the
// console and the Directory Insights routes.
func insightsClient(t *testing.T, url string, opts jumpcloud.Options) *jumpcloud.Client {
	t.Helper()
	opts.BaseURL, opts.InsightsBaseURL = url, url
	if opts.APIKey == "" && opts.ServiceAccount == nil {
		opts.APIKey = testKey
	}
	if opts.RPS == 0 {
		opts.RPS = 1000
	}
	opts.BaseBackoff = time.Millisecond
	c, err := jumpcloud.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// readAll pages through every event since start with the client, returning their ids in
// the order served and the number of pages.
func readAll(t *testing.T, c *jumpcloud.Client, start time.Time, limit int) ([]jumpcloud.InsightsEvent, int) {
	t.Helper()
	var out []jumpcloud.InsightsEvent
	q := jumpcloud.InsightsQuery{StartTime: start, Limit: limit}
	pages := 0
	for {
		p, err := c.InsightsEvents(context.Background(), q)
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		out = append(out, p.Events...)
		if p.SearchAfter == nil {
			return out, pages
		}
		q.SearchAfter = p.SearchAfter
	}
}

// TestInsightsPagingLosesNothing records many changes (several in one millisecond) and
// noise, then reads them back page by page: every change exactly once, in timestamp-then-id
// order, noise of other services never, and the page count that the limit implies.
func TestInsightsPagingLosesNothing(t *testing.T) {
	org := smallOrg()
	ts, s := NewTestServer(t, org, Options{APIKey: testKey})
	start := time.Now().Add(-time.Second)
	want := map[string]int{}
	const users = 250
	s.Update(func(o *Org) {
		for i := range users {
			id := o.AddUser(jumpcloud.SystemUser{Username: fmt.Sprintf("paged.%d", i), Email: fmt.Sprintf("paged.%d@example.com", i)})
			want[id]++
		}
	})
	s.AddNoiseEvents(60) // 40 under "directory", 20 under sso and radius
	c := insightsClient(t, ts.URL, jumpcloud.Options{})
	events, pages := readAll(t, c, start, 37)
	got := map[string]int{}
	seen := map[string]bool{}
	logins := 0
	for i, e := range events {
		if seen[e.ID] {
			t.Fatalf("event %s served twice", e.ID)
		}
		seen[e.ID] = true
		if e.Service != jumpcloud.ServiceDirectory {
			t.Fatalf("event %s of service %q served for [directory]", e.ID, e.Service)
		}
		if i > 0 {
			p := events[i-1]
			if p.Timestamp.After(e.Timestamp) || (p.Timestamp.Equal(e.Timestamp) && p.ID >= e.ID) {
				t.Fatalf("events %d and %d out of order: %v/%s then %v/%s", i-1, i, p.Timestamp, p.ID, e.Timestamp, e.ID)
			}
		}
		switch e.EventType {
		case EventUserCreate:
			got[e.Resource.ID]++
		case "user_login_attempt", "admin_login_attempt":
			logins++
		}
	}
	if len(got) != users {
		t.Fatalf("read %d user_create events, want %d", len(got), users)
	}
	for id, n := range want {
		if got[id] != n {
			t.Fatalf("user %s: %d user_create events, want %d", id, got[id], n)
		}
	}
	if logins != 20 || len(events) != users+40 {
		t.Fatalf("read %d events with %d logins, want %d with 20", len(events), logins, users+40)
	}
	wantPages := (users+40)/37 + 1
	if pages != wantPages {
		t.Fatalf("read %d pages, want %d", pages, wantPages)
	}
	if n := s.Counts().Insights; n != int64(pages) {
		t.Fatalf("Counts().Insights = %d, want %d", n, pages)
	}
}

// TestInsightsLag: an event is served only once the lag has passed since its timestamp,
// and a reader resuming from its last cursor then gets it.
func TestInsightsLag(t *testing.T) {
	ts, s := NewTestServer(t, smallOrg(), Options{APIKey: testKey})
	const lag = 400 * time.Millisecond
	s.SetInsightsLag(lag)
	start := time.Now().Add(-time.Second)
	var uid string
	s.Update(func(o *Org) { uid = o.Users[0].ID; o.SuspendUser(uid) })
	c := insightsClient(t, ts.URL, jumpcloud.Options{})
	p, err := c.InsightsEvents(context.Background(), jumpcloud.InsightsQuery{StartTime: start})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Events) != 0 {
		t.Fatalf("the change is served before the lag: %+v", p.Events)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(p.Events) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the change never became visible")
		}
		time.Sleep(50 * time.Millisecond)
		if p, err = c.InsightsEvents(context.Background(), jumpcloud.InsightsQuery{StartTime: start}); err != nil {
			t.Fatal(err)
		}
	}
	e := p.Events[0]
	if visibleAfter := time.Since(e.Timestamp); visibleAfter < lag {
		t.Fatalf("served %v after its timestamp, before the %v lag", visibleAfter, lag)
	}
	if e.EventType != EventUserUpdate || e.Resource.ID != uid || len(e.Changes) != 2 ||
		e.Changes[0].Field != "state" || string(e.Changes[0].To) != `"SUSPENDED"` ||
		e.Changes[1].Field != "suspended" || string(e.Changes[1].From) != "false" || string(e.Changes[1].To) != "true" {
		t.Fatalf("suspension event = %+v", e)
	}
}

// TestInsightsMutationEvents: every mutation records the event the connector reads, with
// the resource, the changes or the association it needs, and nothing is recorded before
// the org is served.
func TestInsightsMutationEvents(t *testing.T) {
	org := smallOrg()
	org.AddUser(jumpcloud.SystemUser{Username: "before.serving"})
	ts, s := NewTestServer(t, org, Options{APIKey: testKey})
	if n := s.InsightsEvents(); n != 0 {
		t.Fatalf("%d events recorded before the org was served", n)
	}
	start := time.Now().Add(-time.Second)
	var u, g, a, newUser, newApp, newAdmin, newGroup, dept string
	s.Update(func(o *Org) {
		u, g, a = o.Users[1].ID, o.Groups[0].ID, o.Apps[0].ID
		dept = o.Users[1].Department
		o.Users[1].State, o.Users[1].Suspended = jumpcloud.StateActivated, false
		newUser = o.AddUser(jumpcloud.SystemUser{Username: "new.user", Email: "new.user@example.com"})
		o.UpdateUser(u, func(x *jumpcloud.SystemUser) { x.Department = "Audit" })
		o.SuspendUser(u)
		o.UnsuspendUser(u)
		o.AddMember(g, newUser)
		o.RemoveMember(g, newUser)
		o.BindUser(a, newUser)
		o.UnbindUser(a, newUser)
		newGroup = o.AddGroup(jumpcloud.UserGroup{Name: "New Group"})
		o.UpdateGroup(newGroup, func(x *jumpcloud.UserGroup) { x.Description = "d" })
		o.BindGroup(a, newGroup)
		o.UnbindGroup(a, newGroup)
		o.RemoveGroup(newGroup)
		newApp = o.AddApp(jumpcloud.Application{Name: "newapp", DisplayLabel: "New App"})
		o.UpdateApp(newApp, func(x *jumpcloud.Application) { x.DisplayLabel = "Renamed App" })
		o.RemoveApp(newApp)
		newAdmin = o.AddAdmin(jumpcloud.Admin{Email: "new.admin@example.com", RoleName: "Read Only"})
		o.UpdateAdmin(newAdmin, func(x *jumpcloud.Admin) { x.RoleName = "Administrator" })
		o.UpdateAdmin(newAdmin, func(x *jumpcloud.Admin) { x.RoleName = "Administrator" }) // no change, no event
		o.RemoveAdmin(newAdmin)
		o.RemoveUser(newUser)
	})
	c := insightsClient(t, ts.URL, jumpcloud.Options{})
	events, _ := readAll(t, c, start, 0)
	type row struct{ typ, res, op, from, to string }
	var got []row
	for _, e := range events {
		r := row{typ: e.EventType, res: e.Resource.Type + ":" + e.Resource.ID}
		if e.Association != nil {
			r.res, r.op = "", e.Association.Op
			r.from, r.to = e.Association.FromType+":"+e.Association.FromID, e.Association.ToType+":"+e.Association.ToID
		}
		got = append(got, r)
	}
	want := []row{
		{typ: EventUserCreate, res: "user:" + newUser},
		{typ: EventUserUpdate, res: "user:" + u},
		{typ: EventUserUpdate, res: "user:" + u},
		{typ: EventUserUpdate, res: "user:" + u},
		{typ: EventAssociationChange, op: "add", from: "user_group:" + g, to: "user:" + newUser},
		{typ: EventAssociationChange, op: "remove", from: "user_group:" + g, to: "user:" + newUser},
		{typ: EventAssociationChange, op: "add", from: "application:" + a, to: "user:" + newUser},
		{typ: EventAssociationChange, op: "remove", from: "application:" + a, to: "user:" + newUser},
		{typ: EventGroupCreate, res: "user_group:" + newGroup},
		{typ: EventGroupUpdate, res: "user_group:" + newGroup},
		{typ: EventAssociationChange, op: "add", from: "application:" + a, to: "user_group:" + newGroup},
		{typ: EventAssociationChange, op: "remove", from: "application:" + a, to: "user_group:" + newGroup},
		{typ: EventGroupDelete, res: "user_group:" + newGroup},
		{typ: EventAppCreate, res: "application:" + newApp},
		{typ: EventAppUpdate, res: "application:" + newApp},
		{typ: EventAppDelete, res: "application:" + newApp},
		{typ: EventAdminCreate, res: "admin:" + newAdmin},
		{typ: EventAdminUpdate, res: "admin:" + newAdmin},
		{typ: EventAdminDelete, res: "admin:" + newAdmin},
		{typ: EventUserDelete, res: "user:" + newUser},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	var from string
	if ch := events[1].Changes; len(ch) != 1 || ch[0].Field != "department" || json.Unmarshal(ch[0].From, &from) != nil || from != dept || string(ch[0].To) != `"Audit"` {
		t.Errorf("department change = %+v", ch)
	}
	if events[0].Resource.Username != "new.user" {
		t.Errorf("user_create resource = %+v", events[0].Resource)
	}
	var raw map[string]any
	if err := json.Unmarshal(events[0].Raw, &raw); err != nil || raw["organization"] != org.ID || raw["initiated_by"] == nil {
		t.Errorf("event document lacks organization or initiated_by: %s", events[0].Raw)
	}
}

// TestInsightsRequestValidation: bodies the real route refuses get its 400 with a message
// that names the problem; tolerated oddities (a nonsensical limit or sort) fall back to the
// defaults, as documented.
func TestInsightsRequestValidation(t *testing.T) {
	ts, s := NewTestServer(t, smallOrg(), Options{APIKey: testKey})
	s.Update(func(o *Org) { o.SuspendUser(o.Users[0].ID) })
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	hdr := map[string]string{"x-api-key": testKey, "Content-Type": "application/json"}
	url := ts.URL + InsightsPath
	for _, tc := range []struct {
		name, body string
		status     int
		msg        string
	}{
		{"not json", `{"service":`, 400, "JSON object"},
		{"array body", `[]`, 400, "JSON object"},
		{"no service", `{"start_time":"` + past + `"}`, 400, "service is required"},
		{"empty service", `{"service":[],"start_time":"` + past + `"}`, 400, "valid values are alerts"},
		{"service not array", `{"service":"directory","start_time":"` + past + `"}`, 400, "array of strings"},
		{"unknown service", `{"service":["directory","logins"],"start_time":"` + past + `"}`, 400, `invalid service "logins": valid values are`},
		{"no start", `{"service":["directory"]}`, 400, "start_time is required"},
		{"bad start", `{"service":["directory"],"start_time":"yesterday"}`, 400, `invalid start_time "yesterday"`},
		{"start not string", `{"service":["directory"],"start_time":1700000000}`, 400, "start_time must be an RFC3339"},
		{"future start", `{"service":["directory"],"start_time":"` + future + `"}`, 400, "in the future"},
		{"end before start", `{"service":["directory"],"start_time":"` + past + `","end_time":"2020-01-01T00:00:00Z"}`, 400, "Start Time not after End Time"},
		{"limit not integer", `{"service":["directory"],"start_time":"` + past + `","limit":"ten"}`, 400, "limit must be an integer"},
		{"sort not string", `{"service":["directory"],"start_time":"` + past + `","sort":1}`, 400, "sort must be a string"},
		{"empty fields", `{"service":["directory"],"start_time":"` + past + `","fields":[]}`, 400, "known field"},
		{"unknown fields", `{"service":["directory"],"start_time":"` + past + `","fields":["nope"]}`, 400, "known field"},
		{"bad search_after", `{"service":["directory"],"start_time":"` + past + `","search_after":"abc"}`, 400, "search_after must be an array"},
		{"short search_after", `{"service":["directory"],"start_time":"` + past + `","search_after":[1]}`, 400, "two values"},
		{"bad search_term", `{"service":["directory"],"start_time":"` + past + `","search_term":{"xor":[]}}`, 400, `unknown operator "xor"`},
		{"ok", `{"service":["directory"],"start_time":"` + past + `"}`, 200, ""},
		{"nonsense limit and sort", `{"service":["directory"],"start_time":"` + past + `","limit":-5,"sort":"sideways","extra":1}`, 200, ""},
		{"limit above max", `{"service":["all"],"start_time":"` + past + `","limit":20000}`, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, http.MethodPost, url, hdr, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status != 200 {
				var m struct{ Message string }
				if err := json.Unmarshal([]byte(r.body), &m); err != nil || !strings.Contains(m.Message, tc.msg) {
					t.Fatalf("body %s, want a message containing %q", r.body, tc.msg)
				}
				return
			}
			if r.header.Get("X-Limit") != "1000" || r.header.Get("X-Sort") != "ASC" || r.header.Get("X-Result-Count") != "1" ||
				r.header.Get("X-Search_after") == "" || r.header.Get("X-Request-Id") == "" {
				t.Fatalf("headers %v", r.header)
			}
		})
	}
	if r := do(t, http.MethodGet, url, hdr, ""); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != http.MethodPost {
		t.Fatalf("GET: %d %v", r.status, r.header)
	}
}

// TestInsightsAuth: the route takes the same credentials as the console API, x-org-id
// included (several of them for an MSP), and the forbidden mode answers 403 that the
// client reports as ErrInsightsForbidden while the directory still reads.
func TestInsightsAuth(t *testing.T) {
	org := smallOrg()
	ts, s := NewTestServer(t, org, Options{APIKey: testKey, MultiTenant: true})
	s.AddServiceAccount("sa-id", "sa-secret")
	body := `{"service":["directory"],"start_time":"` + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339) + `"}`
	url := ts.URL + InsightsPath
	for _, tc := range []struct {
		name   string
		hdr    map[string]string
		status int
	}{
		{"no key", map[string]string{"x-org-id": org.ID}, 401},
		{"bad key", map[string]string{"x-api-key": "nope", "x-org-id": org.ID}, 401},
		{"no org for an MSP key", map[string]string{"x-api-key": testKey}, 401},
		{"malformed org", map[string]string{"x-api-key": testKey, "x-org-id": "xyz"}, 400},
		{"unknown org", map[string]string{"x-api-key": testKey, "x-org-id": strings.Repeat("a", 24)}, 404},
		{"ok", map[string]string{"x-api-key": testKey, "x-org-id": org.ID}, 200},
	} {
		if r := do(t, http.MethodPost, url, tc.hdr, body); r.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, r.status, tc.status, r.body)
		}
	}
	// Two x-org-id headers: each must name a known org.
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("x-api-key", testKey)
	req.Header.Add("x-org-id", org.ID)
	req.Header.Add("x-org-id", strings.Repeat("b", 24))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 404 {
		t.Fatalf("two orgs, one unknown: %v %v", res, err)
	}

	sa, err := jumpcloud.NewServiceAccount(jumpcloud.ServiceAccountOptions{ClientID: "sa-id", ClientSecret: "sa-secret", TokenURL: ts.URL + TokenPath})
	if err != nil {
		t.Fatal(err)
	}
	bearer := insightsClient(t, ts.URL, jumpcloud.Options{OrgID: org.ID, ServiceAccount: sa})
	if _, err := bearer.InsightsEvents(context.Background(), jumpcloud.InsightsQuery{StartTime: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatalf("service account: %v", err)
	}

	c := insightsClient(t, ts.URL, jumpcloud.Options{OrgID: org.ID})
	s.SetInsightsForbidden(true)
	before := s.Counts().Insights
	_, err = c.InsightsEvents(context.Background(), jumpcloud.InsightsQuery{StartTime: time.Now().Add(-time.Minute)})
	if !errors.Is(err, jumpcloud.ErrInsightsForbidden) || !errors.Is(err, jumpcloud.ErrForbidden) || !jumpcloud.IsPermanent(err) {
		t.Fatalf("forbidden: %v", err)
	}
	if n := s.Counts().Insights - before; n != 1 {
		t.Fatalf("a 403 was sent %d times, want once (it is not retried)", n)
	}
	if err := c.Validate(context.Background()); err != nil {
		t.Fatalf("the directory must still read: %v", err)
	}
	s.SetInsightsForbidden(false)
	s.FailNext(InsightsPath, 1, http.StatusUnauthorized)
	if _, err := c.InsightsEvents(context.Background(), jumpcloud.InsightsQuery{StartTime: time.Now().Add(-time.Minute)}); !errors.Is(err, jumpcloud.ErrInsightsForbidden) || !errors.Is(err, jumpcloud.ErrUnauthorized) {
		t.Fatalf("401: %v", err)
	}
}

// TestInsightsFault: the transient mode answers 503 for its duration, which the client
// retries and reports as a non-permanent error once its attempts run out, and the route
// serves again afterwards.
func TestInsightsFault(t *testing.T) {
	ts, s := NewTestServer(t, smallOrg(), Options{APIKey: testKey})
	c := insightsClient(t, ts.URL, jumpcloud.Options{MaxAttempts: 3})
	s.SetInsightsFault(http.StatusServiceUnavailable, time.Hour)
	_, err := c.InsightsEvents(context.Background(), jumpcloud.InsightsQuery{StartTime: time.Now().Add(-time.Minute)})
	var ae *jumpcloud.APIError
	if !errors.As(err, &ae) || ae.Status != 503 || jumpcloud.IsPermanent(err) || errors.Is(err, jumpcloud.ErrInsightsForbidden) {
		t.Fatalf("during the fault: %v", err)
	}
	if n := s.Counts().ByEndpointStatus[EndpointStatus{InsightsPath, 503}]; n != 3 {
		t.Fatalf("%d 503s served, want 3 (every attempt)", n)
	}
	if err := c.Validate(context.Background()); err != nil {
		t.Fatalf("the console routes must still answer: %v", err)
	}
	s.SetInsightsFault(0, 0)
	if _, err := c.InsightsEvents(context.Background(), jumpcloud.InsightsQuery{StartTime: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatalf("after the fault: %v", err)
	}
}

// TestInsightsQueryOptions: end_time (exclusive), DESC order with search_after, fields,
// search_term and services other than directory.
func TestInsightsQueryOptions(t *testing.T) {
	ts, s := NewTestServer(t, smallOrg(), Options{APIKey: testKey})
	s.AddNoiseEvents(12)
	s.Update(func(o *Org) {
		for i := range 5 {
			o.Users[i].State, o.Users[i].Suspended = jumpcloud.StateActivated, false
			o.SuspendUser(o.Users[i].ID)
		}
	})
	url := ts.URL + InsightsPath
	hdr := map[string]string{"x-api-key": testKey}
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	post := func(body string) ([]map[string]any, http.Header) {
		t.Helper()
		r := do(t, http.MethodPost, url, hdr, body)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", body, r.status, r.body)
		}
		var out []map[string]any
		if err := json.Unmarshal([]byte(r.body), &out); err != nil {
			t.Fatal(err)
		}
		return out, r.header
	}
	all, _ := post(`{"service":["all"],"start_time":"` + past + `"}`)
	if len(all) != 17 {
		t.Fatalf("all services: %d events, want 17", len(all))
	}
	sso, _ := post(`{"service":["sso","radius"],"start_time":"` + past + `"}`)
	if len(sso) != 4 {
		t.Fatalf("sso+radius: %d events, want 4", len(sso))
	}
	upd, _ := post(`{"service":["directory"],"start_time":"` + past + `","search_term":{"and":[{"event_type":"user_update"}]},"fields":["id","event_type"]}`)
	if len(upd) != 5 || len(upd[0]) != 2 || upd[0]["event_type"] != "user_update" {
		t.Fatalf("search_term and fields: %v", upd)
	}
	not, _ := post(`{"service":["directory"],"start_time":"` + past + `","search_term":{"not":[{"event_type":["user_login_attempt","admin_login_attempt"]}]}}`)
	if len(not) != 9 {
		t.Fatalf("not logins: %d events, want 9", len(not))
	}
	// DESC, two per page: the same events as ASC, reversed.
	var desc []string
	var sa string
	for {
		body := `{"service":["all"],"start_time":"` + past + `","sort":"desc","limit":2`
		if sa != "" {
			body += `,"search_after":` + sa
		}
		page, h := post(body + "}")
		if h.Get("X-Sort") != "DESC" {
			t.Fatalf("X-Sort %q", h.Get("X-Sort"))
		}
		for _, e := range page {
			desc = append(desc, e["id"].(string))
		}
		if n, _ := strconv.Atoi(h.Get("X-Result-Count")); n < 2 {
			break
		}
		sa = h.Get("X-Search_after")
	}
	if len(desc) != len(all) {
		t.Fatalf("DESC read %d events, want %d", len(desc), len(all))
	}
	for i := range desc {
		if desc[i] != all[len(all)-1-i]["id"].(string) {
			t.Fatalf("DESC event %d = %s, want %s", i, desc[i], all[len(all)-1-i]["id"].(string))
		}
	}
	// end_time excludes the events at and after it.
	mid, _ := time.Parse(time.RFC3339Nano, all[12]["timestamp"].(string))
	before, _ := post(`{"service":["all"],"start_time":"` + past + `","end_time":"` + mid.Format(time.RFC3339Nano) + `"}`)
	for _, e := range before {
		if ts, _ := time.Parse(time.RFC3339Nano, e["timestamp"].(string)); !ts.Before(mid) {
			t.Fatalf("event at %v served with end_time %v", ts, mid)
		}
	}
}

// TestInsightsSharesTheRateLimit: the events route counts against the same rate limit as
// the console routes (one org, one budget) and answers its 429.
func TestInsightsSharesTheRateLimit(t *testing.T) {
	ts, s := NewTestServer(t, smallOrg(), Options{APIKey: testKey})
	s.SetRateLimit(0.001, 1, true) // one request, then nothing for a long while
	hdr := map[string]string{"x-api-key": testKey}
	if r := do(t, http.MethodGet, ts.URL+"/api/systemusers?limit=1", hdr, ""); r.status != 200 {
		t.Fatalf("first request: %d", r.status)
	}
	body := `{"service":["directory"],"start_time":"` + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339) + `"}`
	r := do(t, http.MethodPost, ts.URL+InsightsPath, hdr, body)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("events route after the budget is spent: %d %v", r.status, r.header)
	}
}

// TestInsightsLateIngestion: an event ingested late appears behind events recorded after
// it: a reader that resumes after its last cursor misses it, one that re-reads an overlap
// window finds it.
func TestInsightsLateIngestion(t *testing.T) {
	ts, s := NewTestServer(t, smallOrg(), Options{APIKey: testKey})
	start := time.Now().Add(-time.Second)
	s.HoldInsightsEvents(1)
	var first, second string
	s.Update(func(o *Org) { first = o.AddUser(jumpcloud.SystemUser{Username: "late.one"}) })
	s.Update(func(o *Org) { second = o.AddUser(jumpcloud.SystemUser{Username: "on.time"}) })
	c := insightsClient(t, ts.URL, jumpcloud.Options{})
	events, _ := readAll(t, c, start, 0)
	if len(events) != 1 || events[0].Resource.ID != second {
		t.Fatalf("before the late ingestion: %+v, want only %s", events, second)
	}
	cursor, _ := json.Marshal([]any{events[0].Timestamp.UnixMilli(), events[0].ID})
	s.ReleaseInsightsEvents()
	p, err := c.InsightsEvents(context.Background(), jumpcloud.InsightsQuery{StartTime: start, SearchAfter: cursor})
	if err != nil || len(p.Events) != 0 {
		t.Fatalf("after the cursor: %+v %v; the late event sorts before it", p.Events, err)
	}
	events, _ = readAll(t, c, start, 0)
	if len(events) != 2 || events[0].Resource.ID != first || events[1].Resource.ID != second {
		t.Fatalf("overlap re-read: %+v", events)
	}
}

// TestApplyChange: every kind of change records exactly one event of the matching type
// about the object it reports, timestamped at the change's At.
func TestApplyChange(t *testing.T) {
	org := Generate(GenConfig{Seed: 21, Users: 40, Groups: 6, Admins: 2, Apps: 4, UserBindingsPerApp: 3, GroupBindingsPerApp: 2})
	ts, s := NewTestServer(t, org, Options{APIKey: testKey})
	c := insightsClient(t, ts.URL, jumpcloud.Options{})
	start := time.Now().Add(-time.Second)
	wantType := map[string]string{ChangeSuspendUser: EventUserUpdate, ChangeUnsuspendUser: EventUserUpdate,
		ChangeUpdateUser: EventUserUpdate, ChangeCreateUser: EventUserCreate, ChangeDeleteUser: EventUserDelete,
		ChangeDeleteGroup: EventGroupDelete, ChangeDeleteApp: EventAppDelete}
	read := 0
	for _, kind := range ChangeKinds {
		ch, err := s.ApplyChange(kind, 0)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		events, _ := readAll(t, c, start, 0)
		if len(events) != read+1 {
			t.Fatalf("%s: %d new events, want 1", kind, len(events)-read)
		}
		read++
		e := events[len(events)-1]
		if !e.Timestamp.Equal(ch.At) {
			t.Errorf("%s: event at %v, change at %v", kind, e.Timestamp, ch.At)
		}
		if typ, ok := wantType[kind]; ok {
			if e.EventType != typ || e.Resource.ID != ch.ID {
				t.Errorf("%s: event %s about %s, want %s about %s", kind, e.EventType, e.Resource.ID, typ, ch.ID)
			}
			continue
		}
		a := e.Association
		wantOp := "add"
		if strings.HasPrefix(kind, "remove") || strings.HasPrefix(kind, "unbind") {
			wantOp = "remove"
		}
		if e.EventType != EventAssociationChange || a == nil || a.Op != wantOp || a.FromID != ch.Target || a.ToID != ch.ID {
			t.Errorf("%s: event %s %+v, want %s of %s → %s", kind, e.EventType, a, wantOp, ch.Target, ch.ID)
		}
	}
	if _, err := s.ApplyChange("rename-org", 0); err == nil || !strings.Contains(err.Error(), "suspend-user") {
		t.Fatalf("unknown kind: %v", err)
	}
}

// TestInsightsStoreIsBounded: past its bound the store forgets the oldest events, so a long
// churn cannot grow the simulator without limit; the newest stay readable in order.
func TestInsightsStoreIsBounded(t *testing.T) {
	ts, s := NewTestServer(t, smallOrg(), Options{APIKey: testKey})
	s.org.events.max = 40
	start := time.Now().Add(-time.Second)
	s.AddNoiseEvents(45) // 40 + 40/8 stored: at the bound, nothing forgotten
	if n := s.InsightsEvents(); n != 45 {
		t.Fatalf("%d events stored, want 45", n)
	}
	s.AddNoiseEvents(1)
	if n := s.InsightsEvents(); n != 40 {
		t.Fatalf("%d events stored past the bound, want the newest 40", n)
	}
	events, _ := readAll(t, insightsClient(t, ts.URL, jumpcloud.Options{}), start, 0)
	all := s.org.events.snapshot()
	if last := all[len(all)-1]; events[len(events)-1].ID != last.id {
		t.Fatalf("the newest event %s is not the last served (%s)", last.id, events[len(events)-1].ID)
	}
}
