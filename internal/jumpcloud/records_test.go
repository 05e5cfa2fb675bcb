package jumpcloud_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"jcsync/internal/jumpcloud"
	"jcsync/internal/sim/jumpcloudsim"
)

// withRecords appends raw records to the results of a v1 list body.
func withRecords(t *testing.T, body []byte, records ...string) []byte {
	t.Helper()
	var env struct {
		TotalCount int               `json:"totalCount"`
		Results    []json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Errorf("rewrite: %v", err)
		return body
	}
	for _, r := range records {
		env.Results = append(env.Results, json.RawMessage(r))
	}
	out, err := json.Marshal(env)
	if err != nil {
		t.Errorf("rewrite: %v", err)
	}
	return out
}

// TestBadRecordsSkippedAndCounted: a page of good users carries records whose identity
// fields have the wrong type (left out), records whose other used fields have the wrong type
// (kept without that field, counted), records whose unused fields have the wrong type (which
// must decode like any other), records without an id and repeated ids. The good records come
// through exactly, in order; every other one is counted under its reason; together they are
// what JumpCloud sent.
func TestBadRecordsSkippedAndCounted(t *testing.T) {
	org, so := simOrg(jumpcloudsim.GenConfig{Seed: 31, Users: 30})
	ts, srv := jumpcloudsim.NewTestServer(t, org, so)
	c := newClient(t, fast(ts.URL))
	ctx := context.Background()
	clean, err := c.SystemUsersPage(ctx, 0)
	if err != nil || len(clean.Items) != 30 || clean.Skipped != nil {
		t.Fatalf("clean page: %d users, skipped %v, %v", len(clean.Items), clean.Skipped, err)
	}

	// A wrong type in what says who the user is, or whether they may sign in: left out.
	wrongIdentity := []string{
		`{"_id":"5c00000000000000000000a1","email":["a@example.com"]}`,
		`{"_id":"5c00000000000000000000a2","suspended":"yes"}`,
	}
	// A wrong type in another used field: the user is kept without it.
	wrongOptional := []string{
		`{"_id":"5c00000000000000000000a3","username":"a3","mfa":{"configured":"true"}}`,
		`{"_id":"5c00000000000000000000a4","username":"a4","addresses":{"type":"work"},"employeeIdentifier":12345}`,
		`{"_id":"5c00000000000000000000a5","username":"a5","mfaEnrollment":"ENROLLED","mfa":"yes","totp_enabled":true}`,
	}
	wrongUsed := []string{
		`{"_id":12345,"username":"numeric id"}`,
		`"a string where a record belongs"`,
		`42`,
		`[]`,
	}
	// Wrong types only where the mapping reads nothing: these are good records.
	wrongUnused := []string{
		`{"_id":"5c00000000000000000000b1","username":"odd1","email":"odd1@example.com","displayname":5,` +
			`"middlename":false,"alternateEmail":{"a":1},"created":[2020],"attributes":"none","phoneNumbers":"n/a",` +
			`"ssh_keys":7,"mfa":{"configured":true,"exclusion":"no","exclusionDays":"ten","exclusionUntil":1},` +
			`"mfaEnrollment":{"overallStatus":"ENROLLED","totpStatus":7,"webAuthnStatus":[],"pushStatus":{}},` +
			`"addresses":[{"type":"work","locality":"Berlin","country":"DE","region":[1],"postalCode":10115}],` +
			`"restrictedFields":"x","admin":"yes","badLoginAttempts":"many"}`,
		`{"_id":"5c00000000000000000000b2","username":"odd2","state":"ACTIVATED","activated":true,"relationships":{"manager":1}}`,
	}
	missing := []string{`{"username":"no id"}`, `{"_id":null,"username":"null id"}`, `{"_id":"","username":"empty id"}`,
		`{"_id":"   ","username":"blank id"}`, `null`}
	dups := []string{
		`{"_id":"5c00000000000000000000b2","username":"odd2 again"}`,
		fmt.Sprintf(`{"_id":%q,"username":"first user again"}`, clean.Items[0].ID),
	}
	// Bad records between good ones; the repeats after what they repeat.
	var sent []string
	for i := range max(len(wrongUsed), len(wrongUnused), len(missing), len(wrongOptional), len(wrongIdentity)) {
		for _, list := range [][]string{wrongUsed, wrongIdentity, wrongUnused, wrongOptional, missing} {
			if i < len(list) {
				sent = append(sent, list[i])
			}
		}
	}
	sent = append(sent, dups...)
	srv.RewriteBodies("/api/systemusers", func(_ *http.Request, body []byte) []byte { return withRecords(t, body, sent...) })

	p, err := c.SystemUsersPage(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]jumpcloud.SystemUser(nil), clean.Items...)
	want = append(want,
		jumpcloud.SystemUser{ID: "5c00000000000000000000b1", Username: "odd1", Email: "odd1@example.com",
			MFA: &jumpcloud.MFA{Configured: true}, MFAEnrollment: &jumpcloud.MFAEnrollment{OverallStatus: "ENROLLED"},
			Addresses: []jumpcloud.Address{{Type: "work", Locality: "Berlin", Country: "DE"}}},
		jumpcloud.SystemUser{ID: "5c00000000000000000000a3", Username: "a3"},
		jumpcloud.SystemUser{ID: "5c00000000000000000000b2", Username: "odd2", State: jumpcloud.StateActivated, Activated: true},
		jumpcloud.SystemUser{ID: "5c00000000000000000000a4", Username: "a4"},
		jumpcloud.SystemUser{ID: "5c00000000000000000000a5", Username: "a5", TOTPEnabled: true},
	)
	if !reflect.DeepEqual(p.Items, want) {
		t.Fatalf("good records: got %d, want %d\ngot  %+v\nwant %+v", len(p.Items), len(want), p.Items[30:], want[30:])
	}
	wantSkipped := map[string]int{
		"user: undecodable record":                  len(wrongUsed),
		"user.email: wrong type, user left out":     1,
		"user.suspended: wrong type, user left out": 1,
		"user: missing _id":                         len(missing),
		"user: duplicate _id":                       len(dups),
	}
	if !maps.Equal(p.Skipped, wantSkipped) {
		t.Fatalf("skipped %v, want %v", p.Skipped, wantSkipped)
	}
	wantAdjusted := map[string]int{
		"user.mfa: wrong type": 2, "user.addresses: wrong type": 1, "user.employeeIdentifier: wrong type": 1,
		"user.mfaEnrollment: wrong type": 1,
	}
	if !maps.Equal(p.Adjusted, wantAdjusted) {
		t.Fatalf("adjusted %v, want %v", p.Adjusted, wantAdjusted)
	}
	// The users left out exist (their id is readable): the stage keeps their earlier copy.
	if want := []string{"5c00000000000000000000a1", "5c00000000000000000000a2"}; !slices.Equal(p.Unreadable, want) {
		t.Fatalf("unreadable %v, want %v", p.Unreadable, want)
	}
	if p.Received() != 30+len(sent) {
		t.Fatalf("received %d, sent %d", p.Received(), 30+len(sent))
	}
	for reason := range p.Skipped {
		if strings.ContainsAny(reason, "0123456789@") {
			t.Errorf("reason %q carries record content", reason)
		}
	}
	if st := c.Stats(); st.Retries != 0 {
		t.Fatalf("a page with bad records was retried: %+v", st)
	}
}

// TestBadRecordsDoNotEndTheList: paging counts the records JumpCloud sent, not the usable
// ones, so a full page with a bad record is still full and the list goes on.
func TestBadRecordsDoNotEndTheList(t *testing.T) {
	org, so := simOrg(jumpcloudsim.GenConfig{Seed: 32, Users: 25})
	ts, srv := jumpcloudsim.NewTestServer(t, org, so)
	opts := fast(ts.URL)
	opts.PageSize = 10
	c := newClient(t, opts)
	// The first page's fourth user comes back with a wrong type in a field the mapping uses.
	ids := make([]string, 0, len(org.Users))
	for _, u := range org.Users {
		ids = append(ids, u.ID)
	}
	slices.Sort(ids)
	lost := ids[3]
	srv.RewriteBodies("/api/systemusers", func(r *http.Request, body []byte) []byte {
		if r.URL.Query().Get("skip") != "0" {
			return body
		}
		var env struct {
			TotalCount int               `json:"totalCount"`
			Results    []json.RawMessage `json:"results"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			t.Errorf("rewrite: %v", err)
			return body
		}
		env.Results[3] = json.RawMessage(fmt.Sprintf(`{"_id":%q,"state":{"x":1}}`, lost))
		out, _ := json.Marshal(env)
		return out
	})
	var got []string
	skipped := map[string]int{}
	err := jumpcloud.Walk(context.Background(), c.SystemUsersPage, func(p jumpcloud.Page[jumpcloud.SystemUser]) error {
		for _, u := range p.Items {
			got = append(got, u.ID)
		}
		for k, v := range p.Skipped {
			skipped[k] += v
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 24 || slices.Contains(got, lost) || !maps.Equal(skipped, map[string]int{"user.state: wrong type, user left out": 1}) {
		t.Fatalf("%d users (the bad one among them: %v), skipped %v", len(got), slices.Contains(got, lost), skipped)
	}
	if n := srv.Counts().Endpoint("/api/systemusers"); n != 3 {
		t.Fatalf("%d requests, want 3 pages", n)
	}
}

// fixedServer answers each path with a fixed 200 body (and x-total-count on v2 paths) and
// counts the requests.
func fixedServer(t *testing.T, bodies map[string]string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		body, ok := bodies[r.URL.Path]
		if !ok {
			w.WriteHeader(404)
			fmt.Fprint(w, `{"message":"Not Found"}`)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/v2/") {
			var raws []json.RawMessage
			if json.Unmarshal([]byte(body), &raws) == nil {
				w.Header().Set("x-total-count", fmt.Sprint(len(raws)))
			}
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(ts.Close)
	return ts, &n
}

// TestEveryListChecksItsRecords: each list endpoint decodes record by record and names its
// kind in the reasons; wrong types in fields its model does not declare never matter.
func TestEveryListChecksItsRecords(t *testing.T) {
	ts, _ := fixedServer(t, map[string]string{
		"/api/users": `{"totalCount":5,"results":[
			{"_id":"ad1","email":"a@example.com","roleName":"Administrator","role":5,"roles":"x","organization":1,"created":2},
			{"_id":"ad2","roleNames":"Administrator"},
			{"email":"no id"},
			{"_id":"ad1"},
			{"_id":"ad3","suspended":"no"}]}`,
		"/api/applications": `{"totalCount":4,"results":[
			{"_id":"ap1","name":"slack","config":"x","beta":"yes","organization":7,"color":1,"logo":{"url":"https://l","color":5},"sso":{"type":"saml","jit":"yes","hidden":0}},
			{"_id":"ap2","logo":"https://l"},
			{"_id":"ap3","sso":{"type":1}},
			{"_id":"","name":"x"}]}`,
		"/api/radiusservers": `{"totalCount":2,"results":[{"_id":"r1","name":7,"sharedSecret":{"s":1}},{"_id":["r2"]}]}`,
		"/api/v2/usergroups": `[
			{"id":"g1","name":"G","type":7,"attributes":"x","memberQuery":5,"suggestionCounts":[]},
			{"id":"g2","name":["x"]},
			{"name":"no id"},
			{"id":"g1","name":"again"}]`,
		"/api/v2/usergroups/g1/members": `[
			{"to":{"id":"u1","type":"user"}},
			{"from":{"id":[1],"type":2},"to":{"id":"u2","type":"user","attributes":"x"},"attributes":7},
			{"to":{"id":"u1","type":"user_group"}},
			{"to":{"id":5,"type":"user"}},
			{"to":"u3"},
			{"to":{"type":"user"}},
			{},
			{"to":{"id":"u1","type":"user"}}]`,
		"/api/v2/applications/ap1/associations": `[
			{"to":{"id":"g1","type":"user_group"}},
			{"to":{"id":"g1","type":"user_group"}},
			{"to":{"id":null,"type":"user"}},
			{"to":{"id":"u1","type":["user"]}}]`,
		"/api/v2/ldapservers": `[{"id":"l1","name":{"n":1},"userLockoutAction":5},{"id":1}]`,
	})
	c := newClient(t, fast(ts.URL))
	ctx := context.Background()
	type result struct {
		ids     []string
		skipped map[string]int
	}
	idsOf := func(n int, id func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = id(i)
		}
		return out
	}
	check := func(name string, got result, err error, want result) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		if !reflect.DeepEqual(got.ids, want.ids) || !maps.Equal(got.skipped, want.skipped) {
			t.Errorf("%s: got %v %v, want %v %v", name, got.ids, got.skipped, want.ids, want.skipped)
		}
	}
	edges := func(p jumpcloud.Page[jumpcloud.GraphConnection]) result {
		return result{idsOf(len(p.Items), func(i int) string { return p.Items[i].To.Type + ":" + p.Items[i].To.ID }), p.Skipped}
	}

	ad, err := c.AdminsPage(ctx, 0)
	check("admins", result{idsOf(len(ad.Items), func(i int) string { return ad.Items[i].ID }), ad.Skipped}, err,
		result{[]string{"ad1", "ad2"}, map[string]int{"admin.suspended: wrong type, admin left out": 1, "admin: missing _id": 1, "admin: duplicate _id": 1}})
	if !maps.Equal(ad.Adjusted, map[string]int{"admin.roleNames: wrong type": 1}) || !slices.Equal(ad.Unreadable, []string{"ad3"}) {
		t.Errorf("admins: adjusted %v, unreadable %v", ad.Adjusted, ad.Unreadable)
	}
	ap, err := c.ApplicationsPage(ctx, 0)
	check("apps", result{idsOf(len(ap.Items), func(i int) string { return ap.Items[i].ID }), ap.Skipped}, err,
		result{[]string{"ap1", "ap2", "ap3"}, map[string]int{"app: missing _id": 1}})
	if !maps.Equal(ap.Adjusted, map[string]int{"app.logo: wrong type": 1, "app.sso: wrong type": 1}) {
		t.Errorf("apps: adjusted %v", ap.Adjusted)
	}
	if err == nil && (ap.Items[0].Logo == nil || ap.Items[0].Logo.URL != "https://l" || ap.Items[0].SSO == nil || ap.Items[0].SSO.Type != "saml") {
		t.Errorf("app decoded badly: %+v", ap.Items[0])
	}
	rp, err := c.RadiusServersPage(ctx, 0)
	check("radius", result{idsOf(len(rp.Items), func(i int) string { return rp.Items[i].ID }), rp.Skipped}, err,
		result{[]string{"r1"}, map[string]int{"radius server: undecodable record": 1}})
	gp, err := c.UserGroupsPage(ctx, 0)
	check("groups", result{idsOf(len(gp.Items), func(i int) string { return gp.Items[i].ID }), gp.Skipped}, err,
		result{[]string{"g1"}, map[string]int{"group.name: wrong type, group left out": 1, "group: missing id": 1, "group: duplicate id": 1}})
	if !slices.Equal(gp.Unreadable, []string{"g2"}) {
		t.Errorf("groups: unreadable %v", gp.Unreadable)
	}
	mp, err := c.GroupMembersPage(ctx, "g1", 0)
	check("members", edges(mp), err, result{[]string{"user:u1", "user:u2", "user_group:u1"},
		map[string]int{"membership: undecodable record": 2, "membership: missing member id": 2, "membership: duplicate": 1}})
	bp, err := c.AppAssociationsPage(ctx, "ap1", jumpcloud.GraphUserGroup, 0)
	check("bindings", edges(bp), err, result{[]string{"user_group:g1"},
		map[string]int{"binding: undecodable record": 1, "binding: missing target id": 1, "binding: duplicate": 1}})
	lp, err := c.LDAPServersPage(ctx, 0)
	check("ldap", result{idsOf(len(lp.Items), func(i int) string { return lp.Items[i].ID }), lp.Skipped}, err,
		result{[]string{"l1"}, map[string]int{"ldap server: undecodable record": 1}})
}

// TestStrayFieldsCostOnlyThemselves: per kind, a wrong type in a field that says neither what
// the record is nor whether it is active leaves that field out and keeps the record, counted
// under "<kind>.<field>: wrong type"; a wrong type in an identity field leaves the record out,
// and its id is reported as unreadable (the record exists).
func TestStrayFieldsCostOnlyThemselves(t *testing.T) {
	type row struct {
		name, path, body string
		ids              []string
		skipped          map[string]int
		adjusted         map[string]int
		unreadable       []string
	}
	for _, tc := range []row{
		{"user employeeIdentifier a number", "/api/systemusers", `{"totalCount":1,"results":[{"_id":"u1","username":"a","employeeIdentifier":7}]}`,
			[]string{"u1"}, nil, map[string]int{"user.employeeIdentifier: wrong type": 1}, nil},
		{"user mfa a string", "/api/systemusers", `{"totalCount":1,"results":[{"_id":"u1","mfa":"on","state":"ACTIVATED"}]}`,
			[]string{"u1"}, nil, map[string]int{"user.mfa: wrong type": 1}, nil},
		{"user two stray fields", "/api/systemusers", `{"totalCount":1,"results":[{"_id":"u1","department":["x"],"manager":{"id":"u2"}}]}`,
			[]string{"u1"}, nil, map[string]int{"user.department: wrong type": 1, "user.manager: wrong type": 1}, nil},
		{"user email an object", "/api/systemusers", `{"totalCount":1,"results":[{"_id":"u1","email":{"a":1},"employeeIdentifier":7}]}`,
			nil, map[string]int{"user.email: wrong type, user left out": 1}, nil, []string{"u1"}},
		{"user state a number", "/api/systemusers", `{"totalCount":1,"results":[{"_id":"u1","state":3}]}`,
			nil, map[string]int{"user.state: wrong type, user left out": 1}, nil, []string{"u1"}},
		{"user username a list", "/api/systemusers", `{"totalCount":1,"results":[{"_id":"u1","username":["a"]}]}`,
			nil, map[string]int{"user.username: wrong type, user left out": 1}, nil, []string{"u1"}},
		{"user account_locked a string", "/api/systemusers", `{"totalCount":1,"results":[{"_id":"u1","account_locked":"no"}]}`,
			nil, map[string]int{"user.account_locked: wrong type, user left out": 1}, nil, []string{"u1"}},
		{"user field name in another case", "/api/systemusers", `{"totalCount":1,"results":[{"_id":"u1","Department":5,"jobTitle":"x"}]}`,
			[]string{"u1"}, nil, map[string]int{"user.department: wrong type": 1}, nil},
		{"user id a number", "/api/systemusers", `{"totalCount":1,"results":[{"_id":5,"mfa":"on"}]}`,
			nil, map[string]int{"user: undecodable record": 1}, nil, nil},
		{"admin roles wrong", "/api/users", `{"totalCount":1,"results":[{"_id":"a1","email":"a@example.com","roleNames":"Manager","enableMultiFactor":"yes"}]}`,
			[]string{"a1"}, nil, map[string]int{"admin.roleNames: wrong type": 1, "admin.enableMultiFactor: wrong type": 1}, nil},
		{"admin email wrong", "/api/users", `{"totalCount":1,"results":[{"_id":"a1","email":5}]}`,
			nil, map[string]int{"admin.email: wrong type, admin left out": 1}, nil, []string{"a1"}},
		{"group description wrong", "/api/v2/usergroups", `[{"id":"g1","name":"G","description":{"x":1}}]`,
			[]string{"g1"}, nil, map[string]int{"group.description: wrong type": 1}, nil},
		{"group name wrong", "/api/v2/usergroups", `[{"id":"g1","name":5}]`,
			nil, map[string]int{"group.name: wrong type, group left out": 1}, nil, []string{"g1"}},
		{"app displayLabel an object, displayName fine", "/api/applications", `{"totalCount":1,"results":[{"_id":"p1","displayLabel":{"en":"X"},"displayName":"X"}]}`,
			[]string{"p1"}, nil, map[string]int{"app.displayLabel: wrong type": 1}, nil},
		{"app displayLabel an object, name fine", "/api/applications", `{"totalCount":1,"results":[{"_id":"p1","displayLabel":{"en":"X"},"name":"x"}]}`,
			[]string{"p1"}, nil, map[string]int{"app.displayLabel: wrong type": 1}, nil},
		{"app no usable name", "/api/applications", `{"totalCount":1,"results":[{"_id":"p1","displayLabel":{"en":"X"},"displayName":"  ","active":true}]}`,
			nil, map[string]int{"app: no name of the right type, app left out": 1}, nil, []string{"p1"}},
		{"app learnMore wrong", "/api/applications", `{"totalCount":1,"results":[{"_id":"p1","learnMore":1,"active":"yes"}]}`,
			[]string{"p1"}, nil, map[string]int{"app.learnMore: wrong type": 1, "app.active: wrong type": 1}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, _ := fixedServer(t, map[string]string{tc.path: tc.body})
			c := newClient(t, fast(ts.URL))
			ctx := context.Background()
			var ids, unreadable []string
			var skipped, adjusted map[string]int
			var err error
			switch tc.path {
			case "/api/systemusers":
				var p jumpcloud.Page[jumpcloud.SystemUser]
				p, err = c.SystemUsersPage(ctx, 0)
				for _, it := range p.Items {
					ids = append(ids, it.ID)
				}
				skipped, adjusted, unreadable = p.Skipped, p.Adjusted, p.Unreadable
			case "/api/users":
				var p jumpcloud.Page[jumpcloud.Admin]
				p, err = c.AdminsPage(ctx, 0)
				for _, it := range p.Items {
					ids = append(ids, it.ID)
				}
				skipped, adjusted, unreadable = p.Skipped, p.Adjusted, p.Unreadable
			case "/api/v2/usergroups":
				var p jumpcloud.Page[jumpcloud.UserGroup]
				p, err = c.UserGroupsPage(ctx, 0)
				for _, it := range p.Items {
					ids = append(ids, it.ID)
				}
				skipped, adjusted, unreadable = p.Skipped, p.Adjusted, p.Unreadable
			case "/api/applications":
				var p jumpcloud.Page[jumpcloud.Application]
				p, err = c.ApplicationsPage(ctx, 0)
				for _, it := range p.Items {
					ids = append(ids, it.ID)
					if tc.name == "app displayLabel an object, displayName fine" && (it.DisplayLabel != "" || it.DisplayName != "X") {
						t.Errorf("app decoded as %+v", it)
					}
				}
				skipped, adjusted, unreadable = p.Skipped, p.Adjusted, p.Unreadable
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids, tc.ids) || !maps.Equal(skipped, tc.skipped) || !maps.Equal(adjusted, tc.adjusted) || !slices.Equal(unreadable, tc.unreadable) {
				t.Fatalf("got ids %v skipped %v adjusted %v unreadable %v\nwant ids %v skipped %v adjusted %v unreadable %v",
					ids, skipped, adjusted, unreadable, tc.ids, tc.skipped, tc.adjusted, tc.unreadable)
			}
		})
	}
}

// TestBadEnvelopes: an answer whose envelope is wrong is an error that names the endpoint
// and says what is wrong, and is not retried (JumpCloud would send the same again).
func TestBadEnvelopes(t *testing.T) {
	for _, tc := range []struct {
		name, path, body, want string
		v2                     bool
	}{
		{"no results", "/api/systemusers", `{"totalCount":3}`, "the body has no results list", false},
		{"null results", "/api/systemusers", `{"totalCount":3,"results":null}`, "the body has no results list", false},
		{"results an object", "/api/systemusers", `{"totalCount":1,"results":{"_id":"5c0000000000000000000001"}}`, "the results are not a list", false},
		{"results a string", "/api/systemusers", `{"totalCount":1,"results":"none"}`, "the results are not a list", false},
		{"total a string", "/api/systemusers", `{"totalCount":"many","results":[]}`, "totalCount is not a whole number", false},
		{"v1 body a list", "/api/systemusers", `[]`, "the body is not an object", false},
		{"v1 body null", "/api/systemusers", `null`, "the body has no results list", false},
		{"v2 body an object", "/api/v2/usergroups", `{"results":[]}`, "the body is not a list", true},
		{"v2 body null", "/api/v2/usergroups", `null`, "the body is null, not a list", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, n := fixedServer(t, map[string]string{tc.path: tc.body})
			c := newClient(t, fast(ts.URL))
			var err error
			if tc.v2 {
				_, err = c.UserGroupsPage(context.Background(), 0)
			} else {
				_, err = c.SystemUsersPage(context.Background(), 0)
			}
			want := "jumpcloud: GET " + tc.path + ": decode response: " + tc.want
			if err == nil || err.Error() != want {
				t.Fatalf("got %v, want %s", err, want)
			}
			if !jumpcloud.IsPermanent(err) || n.Load() != 1 {
				t.Fatalf("permanent %v after %d requests, want permanent after 1", jumpcloud.IsPermanent(err), n.Load())
			}
		})
	}
}

// TestPageLongerThanItsLimit: more records than the limit asked for is not a page; it is an
// error naming the endpoint, at once. Exactly the limit is a page.
func TestPageLongerThanItsLimit(t *testing.T) {
	records := func(n int, field string) string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf(`{%q:"5c%022x"}`, field, i)
		}
		return "[" + strings.Join(out, ",") + "]"
	}
	ts, n := fixedServer(t, map[string]string{
		"/api/systemusers":   `{"totalCount":150,"results":` + records(150, "_id") + `}`,
		"/api/applications":  `{"totalCount":300,"results":` + records(100, "_id") + `}`,
		"/api/v2/usergroups": records(101, "id"),
	})
	c := newClient(t, fast(ts.URL))
	ctx := context.Background()
	_, err := c.SystemUsersPage(ctx, 0)
	want := "jumpcloud: GET /api/systemusers: decode response: 150 records on a page of limit 100: the response is not a page"
	if err == nil || err.Error() != want || !jumpcloud.IsPermanent(err) || n.Load() != 1 {
		t.Fatalf("users: %v (permanent %v, %d requests)", err, jumpcloud.IsPermanent(err), n.Load())
	}
	_, err = c.UserGroupsPage(ctx, 0)
	want = "jumpcloud: GET /api/v2/usergroups: decode response: 101 records on a page of limit 100: the response is not a page"
	if err == nil || err.Error() != want || !jumpcloud.IsPermanent(err) || n.Load() != 2 {
		t.Fatalf("groups: %v (permanent %v, %d requests)", err, jumpcloud.IsPermanent(err), n.Load())
	}
	p, err := c.ApplicationsPage(ctx, 0)
	if err != nil || len(p.Items) != 100 || !p.More() {
		t.Fatalf("a full page: %d apps, more %v, %v", len(p.Items), p.More(), err)
	}
	// The limit is the one the client asked for, not JumpCloud's maximum.
	small := fast(ts.URL)
	small.PageSize = 40
	_, err = newClient(t, small).ApplicationsPage(ctx, 0)
	if err == nil || !strings.Contains(err.Error(), "100 records on a page of limit 40") {
		t.Fatalf("page size 40: %v", err)
	}
}

// TestBodyBeyondTheLimit: a body larger than MaxBodyBytes is refused before it is decoded,
// whether its length is announced or it simply does not end, with an error that names the
// endpoint; it is not retried.
func TestBodyBeyondTheLimit(t *testing.T) {
	for _, announced := range []bool{true, false} {
		t.Run(fmt.Sprintf("announced=%v", announced), func(t *testing.T) {
			var n atomic.Int64
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				if announced {
					w.Header().Set("Content-Length", fmt.Sprint(jumpcloud.MaxBodyBytes+1))
				}
				chunk := []byte(strings.Repeat(" ", 1<<20))
				for range jumpcloud.MaxBodyBytes>>20 + 1 {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			}))
			defer ts.Close()
			_, err := newClient(t, fast(ts.URL)).UserGroupsPage(context.Background(), 0)
			if !errors.Is(err, jumpcloud.ErrBodyTooLarge) || !jumpcloud.IsPermanent(err) ||
				!strings.HasPrefix(err.Error(), "jumpcloud: GET /api/v2/usergroups: read response: jumpcloud: response body too large") {
				t.Fatalf("err %v", err)
			}
			if n.Load() != 1 {
				t.Fatalf("%d requests, want 1", n.Load())
			}
		})
	}
}

// TestServerErrorRetried: a 500 is retried like 502–504, with the same backoff, and counted;
// one that persists gives up after MaxAttempts with an error that names the endpoint and is
// not permanent (a later activity attempt may succeed).
func TestServerErrorRetried(t *testing.T) {
	org, so := simOrg(jumpcloudsim.GenConfig{Seed: 33, Users: 30, Groups: 3})
	ts, srv := jumpcloudsim.NewTestServer(t, org, so)
	var statuses []int
	opts := fast(ts.URL)
	opts.OnRequest = func(ri jumpcloud.RequestInfo) { statuses = append(statuses, ri.Status) }
	c := newClient(t, opts)
	var waits int
	jumpcloud.SetSleep(c, func(ctx context.Context, d time.Duration) error { waits++; return jumpcloud.RealSleep(ctx, d) })
	srv.FailNext("/api/v2/usergroups", 2, http.StatusInternalServerError)
	groups, err := walkAll(context.Background(), c.UserGroupsPage)
	if err != nil || len(groups) != 3 {
		t.Fatalf("%d groups, %v", len(groups), err)
	}
	if st := c.Stats(); st.Requests != 3 || st.Retries != 2 || waits != 2 || !reflect.DeepEqual(statuses, []int{500, 500, 200}) {
		t.Fatalf("stats %+v, waits %d, statuses %v", st, waits, statuses)
	}

	srv.ResetCounts()
	srv.FailNext("/api/v2/usergroups", 100, http.StatusInternalServerError)
	c = newClient(t, fast(ts.URL))
	_, err = c.UserGroupsPage(context.Background(), 0)
	var ae *jumpcloud.APIError
	if !errors.As(err, &ae) || ae.Status != 500 || jumpcloud.IsPermanent(err) ||
		!strings.HasPrefix(err.Error(), "jumpcloud: GET /api/v2/usergroups: 500 Internal Server Error") {
		t.Fatalf("err %v", err)
	}
	if got := srv.Counts().Endpoint("/api/v2/usergroups"); got != 4 {
		t.Fatalf("%d attempts, want MaxAttempts=4", got)
	}
	if st := c.Stats(); st.Requests != 4 || st.Retries != 3 {
		t.Fatalf("stats %+v", st)
	}
}
