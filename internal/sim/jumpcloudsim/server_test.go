package jumpcloudsim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"jcsync/internal/jumpcloud"
)

const testKey = "jca_test_key_0123456789"

type resp struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url string, hdr map[string]string, body string) resp {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, string(b)}
}

func smallOrg() *Org {
	return Generate(GenConfig{Seed: 11, Users: 35, Groups: 12, Admins: 9, Apps: 6, UserBindingsPerApp: 3, GroupBindingsPerApp: 2})
}

func TestStrictness(t *testing.T) {
	org := smallOrg()
	ts, _ := NewTestServer(t, org, Options{APIKey: testKey})
	mt, _ := NewTestServer(t, org, Options{APIKey: testKey, MultiTenant: true})
	key := map[string]string{"x-api-key": testKey}
	withOrg := func(id string) map[string]string { return map[string]string{"x-api-key": testKey, "x-org-id": id} }
	cases := []struct {
		name   string
		base   string
		method string
		path   string
		hdr    map[string]string
		status int
		body   string // exact when set
	}{
		{"no key", ts.URL, "GET", "/api/systemusers", nil, 401, bodyBadKey},
		{"wrong key", ts.URL, "GET", "/api/v2/usergroups", map[string]string{"x-api-key": "nope"}, 401, bodyBadKey},
		{"multi-tenant without org", mt.URL, "GET", "/api/systemusers", key, 401, bodyNoOrg},
		{"multi-tenant with org", mt.URL, "GET", "/api/systemusers", withOrg(org.ID), 200, ""},
		{"malformed org", ts.URL, "GET", "/api/systemusers", withOrg("not-an-id"), 400, ""},
		{"unknown org", ts.URL, "GET", "/api/systemusers", withOrg("5c0000000000000000000000"), 404, ""},
		{"limit too high v1", ts.URL, "GET", "/api/systemusers?limit=101", key, 400, bodyLimitMax},
		{"limit too high v2", ts.URL, "GET", "/api/v2/usergroups?limit=101", key, 400, bodyLimitMax},
		{"negative limit", ts.URL, "GET", "/api/systemusers?limit=-1", key, 400, ""},
		{"non-numeric limit", ts.URL, "GET", "/api/v2/usergroups?limit=ten", key, 400, ""},
		{"negative skip", ts.URL, "GET", "/api/systemusers?skip=-5", key, 400, ""},
		{"non-numeric skip", ts.URL, "GET", "/api/v2/ldapservers?skip=x", key, 400, ""},
		{"associations without targets", ts.URL, "GET", "/api/v2/applications/" + org.Apps[0].ID + "/associations", key, 400, ""},
		{"associations with bad target", ts.URL, "GET", "/api/v2/applications/" + org.Apps[0].ID + "/associations?targets=system", key, 400, ""},
		{"unknown group members", ts.URL, "GET", "/api/v2/usergroups/5c0000000000000000000001/members", key, 404, ""},
		{"unknown app users", ts.URL, "GET", "/api/v2/applications/5c0000000000000000000001/users", key, 404, ""},
		{"unknown group", ts.URL, "GET", "/api/v2/usergroups/5c0000000000000000000001", key, 404, ""},
		{"unknown app", ts.URL, "GET", "/api/applications/5c0000000000000000000001", key, 404, ""},
		{"one group", ts.URL, "GET", "/api/v2/usergroups/" + org.Groups[0].ID, key, 200, ""},
		{"one app", ts.URL, "GET", "/api/applications/" + org.Apps[0].ID, key, 200, ""},
		{"delete one group", ts.URL, "DELETE", "/api/v2/usergroups/" + org.Groups[0].ID, key, 405, ""},
		{"unknown path", ts.URL, "GET", "/api/nothing", key, 404, ""},
		{"wrong method", ts.URL, "DELETE", "/api/systemusers", key, 405, ""},
		{"post on read-only list", ts.URL, "POST", "/api/v2/usergroups", key, 405, ""},
		{"radius", ts.URL, "GET", "/api/radiusservers", key, 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, c.method, c.base+c.path, c.hdr, "")
			if r.status != c.status {
				t.Fatalf("status %d, want %d (body %s)", r.status, c.status, r.body)
			}
			if c.body != "" && r.body != c.body {
				t.Fatalf("body %s, want %s", r.body, c.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("content type %q", ct)
			}
			if r.status >= 400 && !json.Valid([]byte(r.body)) {
				t.Fatalf("error body is not JSON: %s", r.body)
			}
		})
	}
}

func TestListShapes(t *testing.T) {
	org := smallOrg()
	ts, _ := NewTestServer(t, org, Options{APIKey: testKey})
	key := map[string]string{"x-api-key": testKey}

	// v1: envelope, default limit 10.
	r := do(t, "GET", ts.URL+"/api/systemusers", key, "")
	var env struct {
		TotalCount int                    `json:"totalCount"`
		Results    []jumpcloud.SystemUser `json:"results"`
	}
	if err := json.Unmarshal([]byte(r.body), &env); err != nil {
		t.Fatal(err)
	}
	if env.TotalCount != 35 || len(env.Results) != 10 {
		t.Fatalf("v1 envelope: total %d, %d results", env.TotalCount, len(env.Results))
	}
	if !strings.Contains(r.body, `"phoneNumbers"`) || !strings.Contains(r.body, `"ssh_keys"`) {
		t.Error("users lack the unmodelled fields")
	}
	// v2: bare array, x-total-count, default limit 10.
	r = do(t, "GET", ts.URL+"/api/v2/usergroups", key, "")
	var groups []jumpcloud.UserGroup
	if err := json.Unmarshal([]byte(r.body), &groups); err != nil {
		t.Fatal(err)
	}
	if len(groups) != 10 || r.header.Get("x-total-count") != "12" {
		t.Fatalf("v2: %d items, x-total-count %q", len(groups), r.header.Get("x-total-count"))
	}
	// sort descending and skip.
	r = do(t, "GET", ts.URL+"/api/systemusers?sort=-_id&limit=3&skip=1", key, "")
	_ = json.Unmarshal([]byte(r.body), &env)
	if len(env.Results) != 3 || env.Results[0].ID != org.Users[33].ID || env.Results[2].ID != org.Users[31].ID {
		t.Fatalf("sort=-_id skip=1: got %v", env.Results)
	}
	r = do(t, "GET", ts.URL+"/api/v2/usergroups?sort=-name,id&limit=100", key, "")
	_ = json.Unmarshal([]byte(r.body), &groups)
	for i := 1; i < len(groups); i++ {
		if groups[i-1].Name < groups[i].Name {
			t.Fatalf("v2 sort=-name not descending: %q before %q", groups[i-1].Name, groups[i].Name)
		}
	}
	// fields projection.
	r = do(t, "GET", ts.URL+"/api/systemusers?limit=2&fields=_id", key, "")
	var proj struct {
		Results []map[string]any `json:"results"`
	}
	_ = json.Unmarshal([]byte(r.body), &proj)
	if len(proj.Results) != 2 || len(proj.Results[0]) != 1 || proj.Results[0]["_id"] == nil {
		t.Fatalf("fields=_id: %v", proj.Results)
	}
	// apps: config with key material, no LDAP/RADIUS among them.
	r = do(t, "GET", ts.URL+"/api/applications?limit=100", key, "")
	if !strings.Contains(r.body, PrivateKeyMarker) || !strings.Contains(r.body, `"idpCertificate"`) {
		t.Error("apps lack the idp key material")
	}
	if strings.Contains(r.body, org.LDAP.ID) || strings.Contains(r.body, org.RADIUS.ID) {
		t.Error("LDAP/RADIUS listed as applications")
	}
}

func TestGraphEndpoints(t *testing.T) {
	org := smallOrg()
	ts, _ := NewTestServer(t, org, Options{APIKey: testKey})
	key := map[string]string{"x-api-key": testKey}
	get := func(path string, v any) http.Header {
		t.Helper()
		r := do(t, "GET", ts.URL+path, key, "")
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		if err := json.Unmarshal([]byte(r.body), v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return r.header
	}
	// Group 3 holds group 1 (one member) as a nested group.
	g3, g1 := org.Groups[3].ID, org.Groups[1].ID
	var edges []jumpcloud.GraphConnection
	get("/api/v2/usergroups/"+g3+"/members?limit=100", &edges)
	if n := len(edges); n != len(org.Members[g3])+1 || edges[n-1].To.Type != jumpcloud.GraphUserGroup || edges[n-1].To.ID != g1 {
		t.Fatalf("members of g3: %v", edges)
	}
	var objs []jumpcloud.GraphObjectWithPaths
	get("/api/v2/usergroups/"+g3+"/membership?limit=100", &objs)
	nested := org.Members[g1][0]
	found := false
	for _, o := range objs {
		if o.ID == nested {
			found = true
			for _, p := range o.Paths {
				if len(p) == 2 && (p[0].To.ID != g1 || p[1].To.ID != nested) {
					t.Fatalf("two-edge path wrong: %v", p)
				}
			}
		}
	}
	if !found {
		t.Fatal("traversal misses the nested group's member")
	}
	// App users: direct ones have a one-edge path, via-group ones a two-edge path.
	for _, app := range org.Apps {
		get("/api/v2/applications/"+app.ID+"/users?limit=100", &objs)
		direct := map[string]bool{}
		for _, o := range objs {
			if o.Direct() {
				direct[o.ID] = true
			}
		}
		for _, u := range org.AppUsers[app.ID] {
			if !direct[u] {
				t.Fatalf("app %s: direct user %s not direct in traversal", app.ID, u)
			}
		}
		get("/api/v2/applications/"+app.ID+"/associations?targets=user_group&limit=100", &edges)
		if len(edges) != len(org.AppGroups[app.ID]) {
			t.Fatalf("associations: %d, want %d", len(edges), len(org.AppGroups[app.ID]))
		}
		get("/api/v2/applications/"+app.ID+"/usergroups", &objs)
		if len(objs) != len(org.AppGroups[app.ID]) {
			t.Fatalf("app usergroups: %d", len(objs))
		}
	}
	var ldap []jumpcloud.LDAPServer
	get("/api/v2/ldapservers", &ldap)
	if len(ldap) != 1 || ldap[0].ID != org.LDAP.ID {
		t.Fatalf("ldapservers: %v", ldap)
	}
}

func TestUpdate(t *testing.T) {
	org := smallOrg()
	ts, srv := NewTestServer(t, org, Options{APIKey: testKey})
	key := map[string]string{"x-api-key": testKey}
	u := org.Users[0].ID
	srv.Update(func(o *Org) { o.RemoveUser(u) })
	var found bool
	srv.View(func(o *Org) { _, found = o.User(u) })
	if found {
		t.Fatal("removed user still in the org")
	}
	if r := do(t, "GET", ts.URL+"/api/systemusers?filter=_id:$eq:"+u, key, ""); !strings.Contains(r.body, `"totalCount":0`) {
		t.Fatalf("removed user still served: %s", r.body)
	}
	r := do(t, "GET", ts.URL+"/api/systemusers?limit=1", key, "")
	if !strings.Contains(r.body, `"totalCount":34`) {
		t.Fatalf("total after removal: %s", r.body)
	}
}

func TestFaultsAndCounts(t *testing.T) {
	org := smallOrg()
	ts, srv := NewTestServer(t, org, Options{APIKey: testKey})
	key := map[string]string{"x-api-key": testKey}
	srv.FailNext("/api/systemusers", 2, 503)
	for i, want := range []int{503, 503, 200} {
		if r := do(t, "GET", ts.URL+"/api/systemusers", key, ""); r.status != want {
			t.Fatalf("request %d: %d, want %d", i, r.status, want)
		}
	}
	srv.FailFrom("/api/v2/usergroups", 1, 502)
	for i, want := range []int{200, 502, 502} {
		if r := do(t, "GET", ts.URL+"/api/v2/usergroups", key, ""); r.status != want {
			t.Fatalf("usergroups %d: %d, want %d", i, r.status, want)
		}
	}
	srv.ClearFaults()
	if r := do(t, "GET", ts.URL+"/api/v2/usergroups", key, ""); r.status != 200 {
		t.Fatalf("after ClearFaults: %d", r.status)
	}
	// A reset and a truncated body are transport errors for the client.
	srv.FailNext("/api/systemusers", 1, FailReset)
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if _, err := fresh.Do(mustReq(t, ts.URL+"/api/systemusers")); err == nil {
		t.Fatal("reset: no error")
	}
	srv.FailNext("/api/systemusers", 1, FailTruncated)
	res, err := fresh.Do(mustReq(t, ts.URL+"/api/systemusers"))
	if err == nil {
		_, err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	if err == nil {
		t.Fatal("truncated: no error")
	}
	srv.SetFaults(Faults{RateMalformed: 1, Seed: 1})
	r := do(t, "GET", ts.URL+"/api/systemusers", key, "")
	if r.status != 200 || json.Valid([]byte(r.body)) {
		t.Fatalf("malformed: %d %s", r.status, r.body)
	}
	srv.ClearFaults()
	srv.SetRateLimit(0.001, 1, true)
	do(t, "GET", ts.URL+"/api/v2/ldapservers", key, "")
	r = do(t, "GET", ts.URL+"/api/v2/ldapservers", key, "")
	if r.status != 429 || r.body != bodyTooMany || r.header.Get("Retry-After") != "1" {
		t.Fatalf("rate limit: %d %q %q", r.status, r.body, r.header.Get("Retry-After"))
	}
	srv.SetRateLimit(0, 0, false)

	c := srv.Counts()
	if c.ByEndpointStatus[EndpointStatus{"/api/systemusers", 503}] != 2 || c.ByStatus[FailReset] != 1 || c.ByStatus[FailTruncated] != 1 {
		t.Fatalf("counts: %+v", c.ByEndpointStatus)
	}
	if c.ByEndpoint["/api/v2/usergroups"] != 4 || c.ByStatus[429] != 1 {
		t.Fatalf("counts: %+v", c.ByEndpoint)
	}
	// Pages: systemusers skip 0 served successfully once, usergroups skip 0 twice.
	pagesAt := func(endpoint string, skip int) int64 {
		var n int64
		for k, v := range c.Pages {
			if k.Endpoint == endpoint && k.Skip == skip {
				n += v
			}
		}
		return n
	}
	if pagesAt("/api/systemusers", 0) != 1 || pagesAt("/api/v2/usergroups", 0) != 2 || c.Refetched() < 1 {
		t.Fatalf("pages: %+v", c.Pages)
	}
	srv.ResetCounts()
	if srv.Counts().Total != 0 {
		t.Fatal("ResetCounts")
	}
}

func mustReq(t *testing.T, url string) *http.Request {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-api-key", testKey)
	return req
}

// A limit whose 429s carry Retry-After on half of them: JumpCloud's body on every 429, the
// header on every second one. (The shapes themselves are tested in faults, on a clock of
// their own.)
func TestLimitShapesOverHTTP(t *testing.T) {
	ts, srv := NewTestServer(t, smallOrg(), Options{APIKey: testKey})
	key := map[string]string{"x-api-key": testKey}
	srv.SetLimit(Limit{RPS: 0.001, RetryAfter: 0.5})
	if r := do(t, "GET", ts.URL+"/api/v2/ldapservers", key, ""); r.status != 200 {
		t.Fatalf("the first request: %d", r.status)
	}
	var headers []string
	for range 4 {
		r := do(t, "GET", ts.URL+"/api/v2/ldapservers", key, "")
		if r.status != 429 || r.body != bodyTooMany {
			t.Fatalf("over the limit: %d %q", r.status, r.body)
		}
		headers = append(headers, r.header.Get("Retry-After"))
	}
	if headers[0] != "" || headers[1] != "1" || headers[2] != "" || headers[3] != "1" {
		t.Errorf("Retry-After on the 429s: %q, want on every second one", headers)
	}
	srv.SetLimit(Limit{})
	if r := do(t, "GET", ts.URL+"/api/v2/ldapservers", key, ""); r.status != 200 {
		t.Errorf("no limit: %d", r.status)
	}
}
