package authomizesim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const tok = "atm-test-token"

func TestValidateTable(t *testing.T) {
	long := strings.Repeat("x", 65)
	cases := []struct {
		name string
		kind Kind
		body string
		want string // substring of the rendered problems; "" = valid
	}{
		{"user ok", KindUsers, `{"data":[{"uniqueId":"u1","status":"Enabled","hasMFA":true,"isExternal":false,"lastLoginAt":"2024-01-10T08:46:49.123456+00:00","tags":["a"],"customProperties":[{"key":"k","value":"v"}]}]}`, ""},
		{"unknown fields ignored", KindUsers, `{"validateOnly":false,"data":[{"uniqueId":"u1","shoeSize":44}]}`, ""},
		{"pydantic bool words", KindUsers, `{"data":[{"uniqueId":"u1","hasMFA":"yes"}]}`, ""},
		{"naive datetime", KindUsers, `{"data":[{"uniqueId":"u1","lastLoginAt":"2024-01-10T08:46:49"}]}`, ""},
		{"missing uniqueId", KindUsers, `{"data":[{"uniqueId":"u0"},{"name":"x"}]}`, "body.data.1.uniqueId: field required (value_error.missing)"},
		{"null uniqueId", KindUsers, `{"data":[{"uniqueId":null}]}`, "body.data.0.uniqueId: none is not an allowed value"},
		{"empty uniqueId", KindUsers, `{"data":[{"uniqueId":""}]}`, "body.data.0.uniqueId: ensure this value has at least 1 characters (value_error.any_str.min_length)"},
		{"empty originId", KindUsers, `{"data":[{"uniqueId":"u","originId":""}]}`, "body.data.0.originId"},
		{"bad status", KindUsers, `{"data":[{"uniqueId":"u","status":"Active"}]}`, "body.data.0.status: value is not a valid enumeration member"},
		{"string for bool", KindUsers, `{"data":[{"uniqueId":"u","hasMFA":"maybe"}]}`, "body.data.0.hasMFA: value could not be parsed to a boolean (type_error.bool)"},
		{"object for string", KindUsers, `{"data":[{"uniqueId":"u","email":{"a":1}}]}`, "body.data.0.email: str type expected (type_error.str)"},
		{"bad datetime", KindUsers, `{"data":[{"uniqueId":"u","lastLoginAt":"yesterday"}]}`, "body.data.0.lastLoginAt: invalid datetime format (value_error.datetime)"},
		{"empty tag", KindUsers, `{"data":[{"uniqueId":"u","tags":["ok",""]}]}`, "body.data.0.tags.1: ensure this value has at least 1 characters"},
		{"tags not list", KindUsers, `{"data":[{"uniqueId":"u","tags":"a"}]}`, "body.data.0.tags: value is not a valid list"},
		{"custom value too long", KindUsers, `{"data":[{"uniqueId":"u","customProperties":[{"key":"k","value":"` + long + `"}]}]}`, "body.data.0.customProperties.0.value: ensure this value has at most 64 characters (value_error.any_str.max_length)"},
		{"custom key missing", KindUsers, `{"data":[{"uniqueId":"u","customProperties":[{"value":"v"}]}]}`, "body.data.0.customProperties.0.key: field required"},
		{"identity ok", KindIdentities, `{"data":[{"uniqueId":"i","managerId":"m","hireAt":"2024-01-10T08:46:49Z"}]}`, ""},
		{"identity bad status", KindIdentities, `{"data":[{"uniqueId":"i","status":"Gone"}]}`, "body.data.0.status"},
		{"grouping ok", KindGroupings, `{"data":[{"uniqueId":"g","name":"G","type":"Group","isRole":true}]}`, ""},
		{"grouping missing name", KindGroupings, `{"data":[{"uniqueId":"g"}]}`, "body.data.0.name: field required"},
		{"grouping empty name", KindGroupings, `{"data":[{"uniqueId":"g","name":""}]}`, "body.data.0.name: ensure this value has at least 1 characters"},
		{"grouping Role type", KindGroupings, `{"data":[{"uniqueId":"g","name":"G","type":"Role"}]}`, "body.data.0.type: value is not a valid enumeration member"},
		{"grouping alt name 257", KindGroupings, `{"data":[{"uniqueId":"g","name":"G","alternativeName":"` + strings.Repeat("a", 257) + `"}]}`, "body.data.0.alternativeName: ensure this value has at most 256 characters"},
		{"association empty source", KindAccountAssociations, `{"data":[{"sourceId":"","targetId":"g"}]}`, "body.data.0.sourceId: ensure this value has at least 1 characters"},
		{"association missing target", KindAccountAssociations, `{"data":[{"sourceId":"u"}]}`, "body.data.0.targetId: field required"},
		{"privilege ok", KindPrivileges, `{"data":[{"uniqueId":"p","originName":"Admin","privilegeType":"Data Read"}]}`, ""},
		{"privilege missing originName", KindPrivileges, `{"data":[{"uniqueId":"p"}]}`, "body.data.0.originName: field required"},
		{"privilege Login", KindPrivileges, `{"data":[{"uniqueId":"p","originName":"x","privilegeType":"Login"}]}`, "body.data.0.privilegeType: value is not a valid enumeration member"},
		{"permission ok, no asset", KindPermissions, `{"data":[{"sourceUniqueId":"u","sourceType":"User","privilegeId":"p"}]}`, ""},
		{"permission Account source", KindPermissions, `{"data":[{"sourceUniqueId":"u","sourceType":"Account","privilegeId":"p"}]}`, "body.data.0.sourceType: value is not a valid enumeration member; permitted: 'User', 'Grouping'"},
		{"permission missing privilege", KindPermissions, `{"data":[{"sourceUniqueId":"u","sourceType":"User"}]}`, "body.data.0.privilegeId: field required"},
		{"asset ok", KindAssets, `{"data":[{"uniqueId":"a","name":"A","type":"Application","href":"https://x"}]}`, ""},
		{"asset bad type", KindAssets, `{"data":[{"uniqueId":"a","name":"A","type":"Thing"}]}`, "body.data.0.type"},
		{"asset missing name", KindAssets, `{"data":[{"uniqueId":"a"}]}`, "body.data.0.name: field required"},
		{"no data", KindUsers, `{}`, "body.data: field required"},
		{"empty data", KindUsers, `{"data":[]}`, "body.data: ensure this value has at least 1 items"},
		{"data not list", KindUsers, `{"data":{"uniqueId":"u"}}`, "body.data: value is not a valid list"},
		{"item not object", KindUsers, `{"data":["u1"]}`, "body.data.0: value is not a valid dict"},
		{"body is a list", KindUsers, `[{"uniqueId":"u"}]`, "body: value is not a valid dict"},
		{"invalid json", KindUsers, `{"data":[`, "value_error.jsondecode"},
		{"empty body", KindUsers, ``, "body: field required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.kind, []byte(tc.body))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want error containing %q, got nil", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestValidateItemCountLimits(t *testing.T) {
	items := make([]string, MaxItems+1)
	for i := range items {
		items[i] = fmt.Sprintf(`{"uniqueId":"u%d"}`, i)
	}
	over := `{"data":[` + strings.Join(items, ",") + `]}`
	if err := Validate(KindUsers, []byte(over)); err == nil || !strings.Contains(err.Error(), "at most 10000 items") {
		t.Fatalf("10001 items: got %v", err)
	}
	exact := `{"data":[` + strings.Join(items[:MaxItems], ",") + `]}`
	if err := Validate(KindUsers, []byte(exact)); err != nil {
		t.Fatalf("10000 items: %v", err)
	}
	var ve *ValidationError
	if !errors.As(Validate(KindUsers, []byte(`{"data":[]}`)), &ve) || len(ve.Problems) != 1 {
		t.Fatalf("want one problem for 0 items, got %v", ve)
	}
}

type tclient struct {
	t   *testing.T
	url string
	tok string
}

func (c tclient) do(method, path, body string) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, c.url+path, rd)
	if c.tok != "" {
		req.Header.Set("Authorization", c.tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		c.t.Fatalf("%s %s: content type %q, want JSON", method, path, ct)
	}
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		c.t.Fatalf("%s %s: decode: %v", method, path, err)
	}
	return resp.StatusCode, m
}

func newTest(t *testing.T, opts Options) (*Server, tclient) {
	if opts.Tokens == nil {
		opts.Tokens = []string{tok}
	}
	if opts.Apps == nil {
		opts.Apps = []string{"app1"}
	}
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, tclient{t: t, url: ts.URL, tok: tok}
}

func TestAuthAndErrorsHTTP(t *testing.T) {
	s, c := newTest(t, Options{})
	noAuth := tclient{t: t, url: c.url}
	if st, m := noAuth.do("GET", "/me", ""); st != 401 || m["detail"] != "Not authenticated" {
		t.Fatalf("no header: %d %v", st, m)
	}
	bad := tclient{t: t, url: c.url, tok: "wrong"}
	if st, m := bad.do("POST", "/v2/apps/app1/accounts/users", `{"data":[{"uniqueId":"u"}]}`); st != 401 || m["detail"] != "Invalid token" {
		t.Fatalf("bad token: %d %v", st, m)
	}
	bearer := tclient{t: t, url: c.url, tok: "Bearer " + tok}
	if st, m := bearer.do("GET", "/me", ""); st != 200 || m["tenant"] == nil {
		t.Fatalf("bearer /me: %d %v", st, m)
	}
	if st, m := c.do("POST", "/v2/apps/nope/accounts/users", `{"data":[{"uniqueId":"u"}]}`); st != 404 || m["detail"] != "App not found" {
		t.Fatalf("unknown app: %d %v", st, m)
	}
	if st, m := c.do("GET", "/v2/apps/nope", ""); st != 404 || m["detail"] != "App not found" {
		t.Fatalf("unknown app GET: %d %v", st, m)
	}
	st, m := c.do("POST", "/v2/apps/app1/access/grouping", `{"data":[{"uniqueId":"g"},{"uniqueId":"","name":"x"}]}`)
	if st != 422 {
		t.Fatalf("422 expected, got %d %v", st, m)
	}
	detail := m["detail"].([]any)
	first := detail[0].(map[string]any)
	if fmt.Sprint(first["loc"]) != "[body data 0 name]" || first["type"] != "value_error.missing" || len(detail) != 2 {
		t.Fatalf("422 detail: %v", detail)
	}
	big := `{"data":[{"uniqueId":"u","description":"` + strings.Repeat("d", MaxBodyBytes) + `"}]}`
	if st, m := c.do("POST", "/v2/apps/app1/accounts/users", big); st != 413 || m["detail"] != "Request Entity Too Large" {
		t.Fatalf("413: %d %v", st, m)
	}
	if st, m := c.do("DELETE", "/v2/apps/app1/data?modifiedBefore=not-a-date", ""); st != 422 || !strings.Contains(fmt.Sprint(m["detail"]), "modifiedBefore") {
		t.Fatalf("bad modifiedBefore: %d %v", st, m)
	}
	if st, m := c.do("GET", "/nowhere", ""); st != 404 || m["detail"] != "Not Found" {
		t.Fatalf("unrouted: %d %v", st, m)
	}
	if st, _ := c.do("PUT", "/v2/apps/app1/accounts/users", ""); st != 405 {
		t.Fatalf("wrong method: %d", st)
	}
	if n := s.Counts().Requests("POST /v2/apps/{appId}/accounts/users"); n != 3 {
		t.Fatalf("counted %d POST users, want 3 (bad token, unknown app, 413)", n)
	}
}

func TestUploadReferencesAndSweep(t *testing.T) {
	s, c := newTest(t, Options{})
	post := func(path, body string) map[string]any {
		t.Helper()
		st, m := c.do("POST", "/v2/apps/app1"+path, body)
		if st != 200 {
			t.Fatalf("POST %s: %d %v", path, st, m)
		}
		return m
	}
	r1 := post("/accounts/users", `{"data":[{"uniqueId":"u1"},{"uniqueId":"u2"}]}`)
	if r1["numberOfAcceptedEntities"] != float64(2) || r1["requestId"] == "" {
		t.Fatalf("users answer: %v", r1)
	}
	if _, err := time.Parse(TimestampLayout, r1["acceptedTimestamp"].(string)); err != nil {
		t.Fatalf("timestamp format: %v", err)
	}
	g := post("/access/grouping", `{"data":[{"uniqueId":"g1","name":"G1","owner":"u1"},{"uniqueId":"g2","name":"G2","owner":"ghost"}]}`)
	if fmt.Sprint(g["validOwnerIds"]) != "[u1]" || fmt.Sprint(g["invalidOwnerIds"]) != "[ghost]" {
		t.Fatalf("owner ids: %v", g)
	}
	a := post("/association/accounts", `{"data":[{"sourceId":"u1","targetId":"g1"},{"sourceId":"ux","targetId":"gx"}]}`)
	d := a["data"].(map[string]any)
	if fmt.Sprint(d["invalidSourceIds"]) != "[ux]" || fmt.Sprint(d["invalidTargetIds"]) != "[gx]" || a["numberOfAcceptedEntities"] != float64(2) {
		t.Fatalf("association answer: %v", a)
	}
	post("/privileges", `{"data":[{"uniqueId":"p1","originName":"Use"}]}`)
	post("/assets", `{"data":[{"uniqueId":"a1","name":"A1"}]}`)
	p := post("/access/permissions", `{"data":[{"sourceUniqueId":"g1","sourceType":"Grouping","privilegeId":"p1","assetId":"a1"},{"sourceUniqueId":"u9","sourceType":"User","privilegeId":"p1"}]}`)
	pd := p["data"].(map[string]any)
	if fmt.Sprint(pd["validGroupingIds"]) != "[g1]" || fmt.Sprint(pd["invalidUserIds"]) != "[u9]" || fmt.Sprint(pd["validAssetIds"]) != "[a1]" {
		t.Fatalf("permission answer: %v", p)
	}
	snap := s.Snapshot("app1")
	if len(snap.Users) != 2 || len(snap.Memberships) != 2 || len(snap.Permissions) != 2 {
		t.Fatalf("snapshot: %+v", snap)
	}
	if _, ok := snap.Permissions[[4]string{"Grouping", "g1", "p1", "a1"}]; !ok {
		t.Fatalf("permission key missing: %v", snap.Permissions)
	}

	// Run 2 re-sends u1 only; its first accepted time is the cutoff.
	r2 := post("/accounts/users", `{"data":[{"uniqueId":"u1"}]}`)
	cutoff := r2["acceptedTimestamp"].(string)
	if cutoff <= r1["acceptedTimestamp"].(string) {
		t.Fatalf("timestamps not increasing: %s then %s", r1["acceptedTimestamp"], cutoff)
	}
	if st, m := c.do("DELETE", "/v2/apps/app1/data?modifiedBefore="+strings.Replace(cutoff, "+", "%2B", 1), ""); st != 200 || m["requestId"] == nil {
		t.Fatalf("delete: %d %v", st, m)
	}
	snap = s.Snapshot("app1")
	if len(snap.Users) != 1 || snap.Users["u1"] == nil || len(snap.Groupings) != 0 || len(snap.Permissions) != 0 {
		t.Fatalf("after sweep: %+v", snap)
	}
	if st, m := c.do("GET", "/v2/apps/app1/accounts/users?startDate=2000-01-01T00:00:00Z", ""); st != 200 || len(m["data"].([]any)) != 1 {
		t.Fatalf("listing: %d %v", st, m)
	}
	if st, _ := c.do("DELETE", "/v2/apps/app1/data", ""); st != 200 || len(s.Snapshot("app1").Users) != 0 {
		t.Fatalf("wipe failed")
	}
}

func TestDropInvalidRelations(t *testing.T) {
	s, c := newTest(t, Options{DropInvalidRelations: true})
	c.do("POST", "/v2/apps/app1/accounts/users", `{"data":[{"uniqueId":"u1"}]}`)
	c.do("POST", "/v2/apps/app1/access/grouping", `{"data":[{"uniqueId":"g1","name":"G"}]}`)
	st, m := c.do("POST", "/v2/apps/app1/association/accounts", `{"data":[{"sourceId":"u1","targetId":"g1"},{"sourceId":"u1","targetId":"gx"}]}`)
	if st != 200 || m["numberOfAcceptedEntities"] != float64(1) || len(s.Snapshot("app1").Memberships) != 1 {
		t.Fatalf("drop: %d %v", st, m)
	}
}

func TestAppsEndpoints(t *testing.T) {
	s, c := newTest(t, Options{})
	st, m := c.do("POST", "/v2/apps", `{"integrationName":"JumpCloud"}`)
	if st != 200 || m["integrationName"] != "JumpCloud" {
		t.Fatalf("create: %d %v", st, m)
	}
	id := m["id"].(string)
	if st, m := c.do("PATCH", "/v2/apps/"+id, `{"name":"Renamed"}`); st != 200 || m["integrationName"] != "Renamed" {
		t.Fatalf("rename: %d %v", st, m)
	}
	s.CreateApp("third")
	st, m = c.do("GET", "/v2/apps?limit=2&skip=0", "")
	pg := m["pagination"].(map[string]any)
	if st != 200 || len(m["data"].([]any)) != 2 || pg["hasMore"] != true || pg["total"] != float64(3) {
		t.Fatalf("list: %d %v", st, m)
	}
	if st, m := c.do("GET", "/v2/apps/"+id, ""); st != 200 || m["integrationName"] != "Renamed" {
		t.Fatalf("get app: %d %v", st, m)
	}
}

func TestFaultInjection(t *testing.T) {
	s, c := newTest(t, Options{})
	s.FailNextWithHeader("/accounts/users", 1, 429, http.Header{"Retry-After": {"1"}})
	s.FailNext("/accounts/users", 1, 503)
	req, _ := http.NewRequest("POST", c.url+"/v2/apps/app1/accounts/users", strings.NewReader(`{"data":[{"uniqueId":"u"}]}`))
	req.Header.Set("Authorization", tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("first: %d %v", resp.StatusCode, resp.Header)
	}
	if st, _ := c.do("POST", "/v2/apps/app1/accounts/users", `{"data":[{"uniqueId":"u"}]}`); st != 503 {
		t.Fatalf("second: %d", st)
	}
	if st, _ := c.do("POST", "/v2/apps/app1/accounts/users", `{"data":[{"uniqueId":"u"}]}`); st != 200 {
		t.Fatalf("third: %d", st)
	}
	// A POST, because net/http silently retries an idempotent GET once on a dropped
	// keep-alive connection.
	s.FailNext("/identities", 1, 0)
	r2, _ := http.NewRequest("POST", c.url+"/v2/apps/app1/identities", strings.NewReader(`{"data":[{"uniqueId":"i"}]}`))
	r2.Header.Set("Authorization", tok)
	if resp, err := http.DefaultClient.Do(r2); err == nil {
		resp.Body.Close()
		t.Fatalf("reset: want a transport error, got %d", resp.StatusCode)
	}
	s.SetFaults(Faults{Rate5xx: 1, Seed: 7})
	if st, _ := c.do("GET", "/me", ""); st < 500 {
		t.Fatalf("random 5xx: %d", st)
	}
	s.ClearFaults()
	if st, _ := c.do("GET", "/me", ""); st != 200 {
		t.Fatalf("after clear: %d", st)
	}
	cnt := s.Counts()
	if cnt.ByEndpoint["POST /v2/apps/{appId}/accounts/users"][429] != 1 || cnt.ByEndpoint["POST /v2/apps/{appId}/identities"][0] != 1 || cnt.Total != 6 {
		t.Fatalf("counts: %+v", cnt)
	}
	s.ResetCounts()
	if s.Counts().Total != 0 {
		t.Fatal("reset counts")
	}
}

// PATCH of accounts and identities is a partial update of a record Authomize holds: the
// fields sent replace the stored ones, the rest stay, and the record is stamped with the
// accepted time (a sweep before it spares it). A uniqueId it does not hold creates nothing
// and is not accepted. The body is validated like a POST; kinds the connector never patches
// are not routed.
func TestPatchKeepsAndRefreshes(t *testing.T) {
	s, c := newTest(t, Options{})
	if st, m := c.do("POST", "/v2/apps/app1/accounts/users", `{"data":[{"uniqueId":"u1","name":"jdoe","email":"j@example.com","status":"Enabled"},{"uniqueId":"u2"}]}`); st != 200 {
		t.Fatalf("POST: %d %v", st, m)
	}
	st, m := c.do("PATCH", "/v2/apps/app1/accounts/users", `{"data":[{"uniqueId":"u1"},{"uniqueId":"ghost"},{"uniqueId":"u2","status":"Suspended"}]}`)
	if st != 200 || m["numberOfAcceptedEntities"] != float64(2) || m["acceptedTimestamp"] == nil {
		t.Fatalf("PATCH: %d %v", st, m)
	}
	cutoff := m["acceptedTimestamp"].(string)
	snap := s.Snapshot("app1")
	if len(snap.Users) != 2 || snap.Users["ghost"] != nil {
		t.Fatalf("a PATCH of an unknown id created a record: %v", snap.Users)
	}
	var u1, u2 map[string]any
	_ = json.Unmarshal(snap.Users["u1"], &u1)
	_ = json.Unmarshal(snap.Users["u2"], &u2)
	if u1["name"] != "jdoe" || u1["email"] != "j@example.com" || u1["status"] != "Enabled" || u2["status"] != "Suspended" {
		t.Fatalf("after PATCH: u1 %v, u2 %v", u1, u2)
	}
	// Both are newer than the PATCH's time: a sweep at it keeps them.
	if st, _ := c.do("DELETE", "/v2/apps/app1/data?modifiedBefore="+strings.Replace(cutoff, "+", "%2B", 1), ""); st != 200 || len(s.Snapshot("app1").Users) != 2 {
		t.Fatalf("sweep at the PATCH's time removed a patched record")
	}
	if st, m := c.do("PATCH", "/v2/apps/app1/accounts/users", `{"data":[{"name":"no id"}]}`); st != 422 || !strings.Contains(fmt.Sprint(m["detail"]), "uniqueId") {
		t.Fatalf("PATCH without uniqueId: %d %v", st, m)
	}
	if st, m := c.do("PATCH", "/v2/apps/app1/accounts/users", `{"data":[{"uniqueId":"u1","status":"Gone"}]}`); st != 422 {
		t.Fatalf("PATCH with a bad status: %d %v", st, m)
	}
	if st, m := c.do("PATCH", "/v2/apps/app1/identities", `{"data":[{"uniqueId":"u1"}]}`); st != 200 || m["numberOfAcceptedEntities"] != float64(0) {
		t.Fatalf("PATCH of an identity never posted: %d %v", st, m)
	}
	if st, _ := c.do("PATCH", "/v2/apps/app1/access/grouping", `{"data":[{"uniqueId":"g1","name":"G"}]}`); st != 405 {
		t.Fatalf("PATCH of groupings: %d, want 405 (not served)", st)
	}
	if st, _ := c.do("PATCH", "/v2/apps/nope/accounts/users", `{"data":[{"uniqueId":"u1"}]}`); st != 404 {
		t.Fatalf("PATCH on an unknown app: %d", st)
	}
}
