package jumpcloud_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"jcsync/internal/jumpcloud"
	"jcsync/internal/sim/jumpcloudsim"
)

const key = "jca_SECRET_test_key_4f9a2b"

// fast returns options with millisecond waits so retry tests stay quick.
func fast(url string) jumpcloud.Options {
	return jumpcloud.Options{BaseURL: url, APIKey: key, RPS: 10000, Burst: 1000, BaseBackoff: time.Millisecond, MaxRetryWait: 20 * time.Millisecond, MaxAttempts: 4}
}

func newClient(t *testing.T, opts jumpcloud.Options) *jumpcloud.Client {
	t.Helper()
	c, err := jumpcloud.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// walkAll reads every page of a list through Walk.
func walkAll[T any](ctx context.Context, fetch func(context.Context, int) (jumpcloud.Page[T], error)) ([]T, error) {
	var all []T
	err := jumpcloud.Walk(ctx, fetch, func(p jumpcloud.Page[T]) error {
		all = append(all, p.Items...)
		return nil
	})
	return all, err
}

func simOrg(cfg jumpcloudsim.GenConfig) (*jumpcloudsim.Org, jumpcloudsim.Options) {
	return jumpcloudsim.Generate(cfg), jumpcloudsim.Options{APIKey: key}
}

func TestNewValidation(t *testing.T) {
	for _, o := range []jumpcloud.Options{
		{},
		{APIKey: "  "},
		{APIKey: "k\r\nx: y"},
		{APIKey: "k", BaseURL: "console.jumpcloud.com"},
		{APIKey: "k", BaseURL: "ftp://console.jumpcloud.com"},
		{APIKey: "k", BaseURL: "https://"},
		{APIKey: "k", BaseURL: "::bad"},
	} {
		if _, err := jumpcloud.New(o); err == nil {
			t.Errorf("New(%v) succeeded", o)
		} else if !jumpcloud.IsPermanent(err) {
			t.Errorf("config error %v not permanent", err)
		}
	}
	c, err := jumpcloud.New(jumpcloud.Options{APIKey: "k", PageSize: 500})
	if err != nil || c.PageSize() != 100 {
		t.Fatalf("PageSize clamp: %v %d", err, c.PageSize())
	}
	if s := fmt.Sprintf("%v %+v %#v", jumpcloud.Options{APIKey: key}, jumpcloud.Options{APIKey: key}, jumpcloud.Options{APIKey: key}); strings.Contains(s, key) {
		t.Fatal("Options print the key")
	}
	hc := &http.Client{}
	if _, err := jumpcloud.New(jumpcloud.Options{APIKey: "k", HTTPClient: hc}); err != nil || hc.CheckRedirect != nil {
		t.Fatal("caller's http.Client was mutated")
	}
}

func TestPagingRequestCounts(t *testing.T) {
	for _, tc := range []struct{ users, requests int }{{0, 1}, {1, 1}, {99, 1}, {100, 1}, {101, 2}, {250, 3}, {10_000, 100}} {
		t.Run(fmt.Sprint(tc.users), func(t *testing.T) {
			org, so := simOrg(jumpcloudsim.GenConfig{Seed: int64(tc.users), Users: tc.users})
			ts, srv := jumpcloudsim.NewTestServer(t, org, so)
			c := newClient(t, fast(ts.URL))
			users, err := walkAll(context.Background(), c.SystemUsersPage)
			if err != nil {
				t.Fatal(err)
			}
			if len(users) != tc.users {
				t.Fatalf("got %d users", len(users))
			}
			want := make([]string, 0, tc.users)
			for _, u := range org.Users {
				want = append(want, u.ID)
			}
			slices.Sort(want)
			for i, u := range users {
				if u.ID != want[i] {
					t.Fatalf("user %d: %s, want %s (sort=_id)", i, u.ID, want[i])
				}
			}
			cnt := srv.Counts()
			if got := cnt.Endpoint("/api/systemusers"); got != int64(tc.requests) {
				t.Fatalf("%d requests, want %d", got, tc.requests)
			}
			if cnt.Refetched() != 0 {
				t.Fatal("a page was fetched twice")
			}
			if st := c.Stats(); st.Requests != int64(tc.requests) || st.Retries != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestPageMore(t *testing.T) {
	items := func(n int) []int { return make([]int, n) }
	cases := []struct {
		p    jumpcloud.Page[int]
		more bool
	}{
		{jumpcloud.Page[int]{Items: items(0), Limit: 100, Total: -1}, false},
		{jumpcloud.Page[int]{Items: items(50), Limit: 100, Total: -1}, false},
		{jumpcloud.Page[int]{Items: items(100), Limit: 100, Total: -1}, true},
		{jumpcloud.Page[int]{Items: items(100), Limit: 100, Total: 100}, false},
		{jumpcloud.Page[int]{Items: items(100), Skip: 100, Limit: 100, Total: 250}, true},
		{jumpcloud.Page[int]{Items: items(100), Skip: 200, Limit: 100, Total: 250}, false},
		// Skipped records count like the others: the page is as full as JumpCloud sent it.
		{jumpcloud.Page[int]{Items: items(99), Skipped: map[string]int{"x: missing id": 1}, Limit: 100, Total: -1}, true},
		{jumpcloud.Page[int]{Items: items(0), Skipped: map[string]int{"x: undecodable record": 100}, Limit: 100, Total: 250}, true},
		{jumpcloud.Page[int]{Items: items(40), Skipped: map[string]int{"x: duplicate id": 9}, Limit: 100, Total: -1}, false},
	}
	for i, c := range cases {
		if c.p.More() != c.more {
			t.Errorf("case %d: More() = %v", i, !c.more)
		}
	}
	if p := (jumpcloud.Page[int]{Items: items(100), Skip: 200}); p.NextSkip() != 300 {
		t.Error("NextSkip")
	}
	if p := (jumpcloud.Page[int]{Items: items(97), Skipped: map[string]int{"a": 1, "b": 2}, Skip: 200}); p.NextSkip() != 300 || p.Received() != 100 {
		t.Errorf("NextSkip %d, Received %d with skipped records", p.NextSkip(), p.Received())
	}
}

func TestEveryMethod(t *testing.T) {
	org, so := simOrg(jumpcloudsim.GenConfig{Seed: 21, Users: 420, Groups: 130, Admins: 17, Apps: 105, UserBindingsPerApp: 8, GroupBindingsPerApp: 3})
	ts, _ := jumpcloudsim.NewTestServer(t, org, so)
	var mu sync.Mutex
	endpoints := map[string]bool{}
	opts := fast(ts.URL)
	opts.OnRequest = func(ri jumpcloud.RequestInfo) {
		mu.Lock()
		defer mu.Unlock()
		endpoints[ri.Endpoint] = true
		if (ri.Status != 200 && ri.Status != 404) || ri.Attempt != 1 {
			t.Errorf("unexpected request info %+v", ri)
		}
	}
	c := newClient(t, opts)
	ctx := context.Background()
	if err := c.Validate(ctx); err != nil {
		t.Fatal(err)
	}
	admins, err := c.AllAdmins(ctx)
	if err != nil || len(admins) != 17 {
		t.Fatalf("admins: %d %v", len(admins), err)
	}
	groups, err := walkAll(ctx, c.UserGroupsPage)
	if err != nil || len(groups) != 130 {
		t.Fatalf("groups: %d %v", len(groups), err)
	}
	apps, err := walkAll(ctx, c.ApplicationsPage)
	if err != nil || len(apps) != 105 {
		t.Fatalf("apps: %d %v", len(apps), err)
	}
	for _, a := range apps {
		if a.ID == "" || a.SSO == nil || a.Logo == nil {
			t.Fatalf("app decoded badly: %+v", a)
		}
	}
	// Members of every group, through the generic walker.
	for _, g := range org.Groups {
		var users, others int
		err := jumpcloud.Walk(ctx, func(ctx context.Context, skip int) (jumpcloud.Page[jumpcloud.GraphConnection], error) {
			return c.GroupMembersPage(ctx, g.ID, skip)
		}, func(p jumpcloud.Page[jumpcloud.GraphConnection]) error {
			for _, e := range p.Items {
				if e.To.Type == jumpcloud.GraphUser {
					users++
				} else {
					others++
				}
			}
			return nil
		})
		if err != nil || users != len(org.Members[g.ID]) || others != len(org.NestedGroups[g.ID]) {
			t.Fatalf("group %s: %d users %d others, err %v", g.ID, users, others, err)
		}
	}
	for _, a := range org.Apps[:10] {
		up, err := c.AppAssociationsPage(ctx, a.ID, jumpcloud.GraphUser, 0)
		if err != nil || len(up.Items) != len(org.AppUsers[a.ID]) {
			t.Fatalf("user associations: %v", err)
		}
		gp, err := c.AppAssociationsPage(ctx, a.ID, jumpcloud.GraphUserGroup, 0)
		if err != nil || len(gp.Items) != len(org.AppGroups[a.ID]) {
			t.Fatalf("group associations: %v", err)
		}
	}
	lp, err := c.LDAPServersPage(ctx, 0)
	if err != nil || len(lp.Items) != 1 || lp.Items[0].ID != org.LDAP.ID || lp.Total != 1 {
		t.Fatalf("ldap: %+v %v", lp, err)
	}
	rp, err := c.RadiusServersPage(ctx, 0)
	if err != nil || len(rp.Items) != 1 || rp.Items[0].ID != org.RADIUS.ID || rp.Total != 1 {
		t.Fatalf("radius: %+v %v", rp, err)
	}
	for _, e := range []string{"/api/systemusers", "/api/users", "/api/v2/usergroups", "/api/applications",
		"/api/v2/usergroups/{id}/members", "/api/v2/applications/{id}/associations", "/api/v2/ldapservers", "/api/radiusservers"} {
		if !endpoints[e] {
			t.Errorf("endpoint %s not reported to OnRequest", e)
		}
	}
	// Ids are escaped: a slash cannot reach another path.
	if _, err := c.GroupMembersPage(ctx, "../../systemusers", 0); !errors.Is(err, jumpcloud.ErrNotFound) {
		t.Fatalf("escaped id: %v", err)
	}
	if _, err := c.AppAssociationsPage(ctx, org.Apps[0].ID, "", 0); err == nil {
		t.Fatal("empty target accepted")
	}
}

func TestRateLimitRetryAfter(t *testing.T) {
	org, so := simOrg(jumpcloudsim.GenConfig{Seed: 2, Users: 250})
	ts, srv := jumpcloudsim.NewTestServer(t, org, so)
	srv.SetRateLimit(5, 1, true) // one token per 200 ms; 429s carry Retry-After: 1
	opts := fast(ts.URL)
	opts.MaxAttempts = 20
	opts.MaxRetryWait = 30 * time.Millisecond
	opts.BaseBackoff = time.Microsecond
	c := newClient(t, opts)
	var mu sync.Mutex
	var waits []time.Duration
	jumpcloud.SetSleep(c, func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return jumpcloud.RealSleep(ctx, d)
	})
	users, err := walkAll(context.Background(), c.SystemUsersPage)
	if err != nil || len(users) != 250 {
		t.Fatalf("%d users, %v", len(users), err)
	}
	st := c.Stats()
	if st.RateLimited == 0 || st.Retries != st.RateLimited || st.Requests != 3+st.Retries {
		t.Fatalf("stats %+v", st)
	}
	for _, w := range waits {
		if w != opts.MaxRetryWait { // Retry-After 1 s, capped; a backoff would be ≤ 1 µs
			t.Fatalf("wait %v, want the capped Retry-After %v", w, opts.MaxRetryWait)
		}
	}
	if got := srv.Counts().ByStatus[429]; got != st.RateLimited {
		t.Fatalf("sim saw %d 429s, client counted %d", got, st.RateLimited)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	for _, ra := range []string{"2", time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)} {
		n := 0
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n++
			if n == 1 {
				w.Header().Set("Retry-After", ra)
				w.WriteHeader(429)
				return
			}
			fmt.Fprint(w, `{"totalCount":0,"results":[]}`)
		}))
		opts := fast(ts.URL)
		opts.MaxRetryWait = time.Minute
		c := newClient(t, opts)
		var got time.Duration
		jumpcloud.SetSleep(c, func(_ context.Context, d time.Duration) error { got = d; return nil })
		if _, err := c.SystemUsersPage(context.Background(), 0); err != nil {
			t.Fatal(err)
		}
		if got < time.Second || got > 3*time.Second {
			t.Fatalf("Retry-After %q: waited %v", ra, got)
		}
		ts.Close()
	}
}

func TestRateLimitedExhausted(t *testing.T) {
	org, so := simOrg(jumpcloudsim.GenConfig{Seed: 2, Users: 5})
	ts, srv := jumpcloudsim.NewTestServer(t, org, so)
	srv.FailNext("/api/systemusers", 100, 429)
	c := newClient(t, fast(ts.URL))
	_, err := c.SystemUsersPage(context.Background(), 0)
	if !errors.Is(err, jumpcloud.ErrRateLimited) || jumpcloud.IsPermanent(err) {
		t.Fatalf("err %v", err)
	}
	if got := srv.Counts().Endpoint("/api/systemusers"); got != 4 {
		t.Fatalf("%d attempts, want MaxAttempts=4", got)
	}
}

func TestTransientFailuresRecover(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504, jumpcloudsim.FailReset, jumpcloudsim.FailTruncated} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			org, so := simOrg(jumpcloudsim.GenConfig{Seed: 4, Users: 30, Groups: 3})
			ts, srv := jumpcloudsim.NewTestServer(t, org, so)
			srv.FailNext("/api/v2/usergroups", 2, status)
			opts := fast(ts.URL)
			// Fresh connections, so Go's transport cannot silently replay a reset itself.
			opts.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			c := newClient(t, opts)
			groups, err := walkAll(context.Background(), c.UserGroupsPage)
			if err != nil || len(groups) != 3 {
				t.Fatalf("%d groups, %v", len(groups), err)
			}
			if st := c.Stats(); st.Retries != 2 || st.Requests != 3 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestPermanentErrorsNotRetried(t *testing.T) {
	org, so := simOrg(jumpcloudsim.GenConfig{Seed: 4, Users: 30})
	ts, srv := jumpcloudsim.NewTestServer(t, org, so)

	bad := fast(ts.URL)
	bad.APIKey = "jca_wrong"
	_, err := newClient(t, bad).SystemUsersPage(context.Background(), 0)
	if !errors.Is(err, jumpcloud.ErrUnauthorized) || !jumpcloud.IsPermanent(err) {
		t.Fatalf("401: %v", err)
	}
	if want := "jumpcloud: GET /api/systemusers: 401 Unauthorized: api key user not found"; err.Error() != want {
		t.Fatalf("error text %q", err.Error())
	}
	if got := srv.Counts().Endpoint("/api/systemusers"); got != 1 {
		t.Fatalf("401 retried: %d requests", got)
	}

	for _, status := range []int{400, 403, 404} {
		srv.ResetCounts()
		srv.FailNext("/api/v2/usergroups", 1, status)
		c := newClient(t, fast(ts.URL))
		_, err := c.UserGroupsPage(context.Background(), 0)
		var ae *jumpcloud.APIError
		if !errors.As(err, &ae) || ae.Status != status || !jumpcloud.IsPermanent(err) {
			t.Fatalf("%d: %v", status, err)
		}
		if status == 403 && !errors.Is(err, jumpcloud.ErrForbidden) {
			t.Fatalf("403 is not ErrForbidden: %v", err)
		}
		if got := srv.Counts().Endpoint("/api/v2/usergroups"); got != 1 {
			t.Fatalf("%d retried: %d requests", status, got)
		}
	}
}

func TestOrgHeader(t *testing.T) {
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 8, Users: 3})
	ts, _ := jumpcloudsim.NewTestServer(t, org, jumpcloudsim.Options{APIKey: key, MultiTenant: true})
	err := newClient(t, fast(ts.URL)).Validate(context.Background())
	if !errors.Is(err, jumpcloud.ErrUnauthorized) || !strings.Contains(err.Error(), "no organization selected") {
		t.Fatalf("without x-org-id: %v", err)
	}
	opts := fast(ts.URL)
	opts.OrgID = org.ID
	if err := newClient(t, opts).Validate(context.Background()); err != nil {
		t.Fatalf("with x-org-id: %v", err)
	}
	opts.OrgID = "5c0000000000000000000abc"
	if err := newClient(t, opts).Validate(context.Background()); !errors.Is(err, jumpcloud.ErrNotFound) {
		t.Fatalf("unknown org: %v", err)
	}
}

func TestLimitCapping(t *testing.T) {
	org, so := simOrg(jumpcloudsim.GenConfig{Seed: 8, Users: 150})
	ts, srv := jumpcloudsim.NewTestServer(t, org, so)
	opts := fast(ts.URL)
	opts.PageSize = 1000
	c := newClient(t, opts)
	p, err := c.SystemUsersPage(context.Background(), 0)
	if err != nil || len(p.Items) != 100 || p.Limit != 100 || p.Total != 150 {
		t.Fatalf("page %d/%d, %v", len(p.Items), p.Total, err)
	}
	opts.PageSize = 40
	c = newClient(t, opts)
	srv.ResetCounts()
	users, err := walkAll(context.Background(), c.SystemUsersPage)
	if err != nil || len(users) != 150 || srv.Counts().Endpoint("/api/systemusers") != 4 {
		t.Fatalf("page size 40: %d users, %v", len(users), err)
	}
	// The simulator refuses limit=101 exactly as JumpCloud does.
	req, _ := http.NewRequest("GET", ts.URL+"/api/systemusers?limit=101", nil)
	req.Header.Set("x-api-key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b, readAll(res))
	if res.StatusCode != 400 || b.String() != `{"message":"Bad Request: request parameter \"limit\" exceeds maximum value of 100"}` {
		t.Fatalf("limit=101: %d %s", res.StatusCode, b.String())
	}
}

func readAll(res *http.Response) string {
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String()
		}
	}
}

func TestMalformedJSON(t *testing.T) {
	org, so := simOrg(jumpcloudsim.GenConfig{Seed: 8, Users: 5})
	ts, srv := jumpcloudsim.NewTestServer(t, org, so)
	srv.SetFaults(jumpcloudsim.Faults{RateMalformed: 1, Seed: 3})
	_, err := newClient(t, fast(ts.URL)).SystemUsersPage(context.Background(), 0)
	if err == nil || !strings.HasPrefix(err.Error(), "jumpcloud: GET /api/systemusers: decode response: ") {
		t.Fatalf("malformed: %v", err)
	}
	// Invalid JSON is retried (bounded), then reported as transient.
	if got := srv.Counts().Endpoint("/api/systemusers"); got != 4 || jumpcloud.IsPermanent(err) {
		t.Fatalf("%d attempts, permanent=%v", got, jumpcloud.IsPermanent(err))
	}
	// Valid JSON of the wrong shape is permanent and not retried.
	n := 0
	wrong := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		fmt.Fprint(w, `{"totalCount":"many","results":{"a":1}}`)
	}))
	defer wrong.Close()
	_, err = newClient(t, fast(wrong.URL)).AdminsPage(context.Background(), 0)
	if err == nil || !strings.HasPrefix(err.Error(), "jumpcloud: GET /api/users: decode response: ") || !jumpcloud.IsPermanent(err) || n != 1 {
		t.Fatalf("wrong shape: %v (requests %d)", err, n)
	}
}

func TestRedirects(t *testing.T) {
	var otherHits int
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits++
		fmt.Fprint(w, `{"totalCount":0,"results":[]}`)
	}))
	defer other.Close()
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/systemusers" {
			http.Redirect(w, r, other.URL+"/api/systemusers", http.StatusFound)
			return
		}
		http.Redirect(w, r, "/api/v2/elsewhere", http.StatusFound)
	}))
	defer redir.Close()
	c := newClient(t, fast(redir.URL))
	_, err := c.SystemUsersPage(context.Background(), 0)
	if !errors.Is(err, jumpcloud.ErrRedirectRefused) || !jumpcloud.IsPermanent(err) || otherHits != 0 {
		t.Fatalf("cross-host redirect: %v (other host hit %d times)", err, otherHits)
	}
}

func TestKeyNeverInErrors(t *testing.T) {
	// A hostile or buggy server echoes the key everywhere it can.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := r.Header.Get("x-api-key")
		switch r.URL.Path {
		case "/api/systemusers":
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"message":"bad key %s"}`, k)
		case "/api/users":
			w.WriteHeader(500)
			fmt.Fprintf(w, "<html>%s %s</html>", strings.Repeat("x", 150), k)
		case "/api/applications":
			fmt.Fprintf(w, `{"results":[%s`, k)
		case "/api/radiusservers":
			http.Redirect(w, r, "http://evil.invalid/?k="+k, http.StatusFound)
		default:
			w.WriteHeader(404)
			fmt.Fprintf(w, `{"error":"%s"}`, k)
		}
	}))
	defer echo.Close()
	c := newClient(t, fast(echo.URL))
	ctx := context.Background()
	var errs []error
	_, err := c.SystemUsersPage(ctx, 0)
	errs = append(errs, err)
	_, err = c.AdminsPage(ctx, 0)
	errs = append(errs, err)
	_, err = c.ApplicationsPage(ctx, 0)
	errs = append(errs, err)
	_, err = c.RadiusServersPage(ctx, 0)
	errs = append(errs, err)
	_, err = c.UserGroupsPage(ctx, 0)
	errs = append(errs, err)
	errs = append(errs, c.Validate(ctx))
	// Transport error: nothing listening.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	_, err = newClient(t, fast(dead.URL)).SystemUsersPage(ctx, 0)
	errs = append(errs, err)
	// Cancelled context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.SystemUsersPage(cctx, 0)
	errs = append(errs, err)
	// Bad configuration.
	_, err = jumpcloud.New(jumpcloud.Options{APIKey: key, BaseURL: "nope://" + key})
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Fatalf("case %d: no error", i)
		}
		for _, s := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err)} {
			if strings.Contains(s, key) {
				t.Fatalf("case %d: key in error: %s", i, s)
			}
		}
	}
}

func TestCancelDuringRetryAfter(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(429)
	}))
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	opts := fast(ts.URL)
	opts.MaxRetryWait = time.Minute
	// Cancel as soon as the first 429 is seen: the client is then inside its 30 s wait.
	opts.OnRequest = func(jumpcloud.RequestInfo) { go func() { time.Sleep(10 * time.Millisecond); cancel() }() }
	c := newClient(t, opts)
	_, err := c.SystemUsersPage(ctx, 0)
	if !errors.Is(err, context.Canceled) || jumpcloud.IsPermanent(err) {
		t.Fatalf("err %v", err)
	}
	if st := c.Stats(); st.Requests != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSharedLimiterAndConcurrentPages(t *testing.T) {
	org, so := simOrg(jumpcloudsim.GenConfig{Seed: 13, Users: 1000})
	ts, srv := jumpcloudsim.NewTestServer(t, org, so)
	c := newClient(t, fast(ts.URL))
	first, err := c.SystemUsersPage(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	// Offsets are known from the total, so pages can be fetched concurrently.
	var wg sync.WaitGroup
	seen := make([]int, first.Total/100)
	for i := 1; i < len(seen); i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p, err := c.SystemUsersPage(context.Background(), i*100)
			if err != nil {
				t.Error(err)
				return
			}
			seen[i] = len(p.Items)
		}(i)
	}
	wg.Wait()
	for i := 1; i < len(seen); i++ {
		if seen[i] != 100 {
			t.Fatalf("page %d: %d items", i, seen[i])
		}
	}
	if srv.Counts().Refetched() != 0 {
		t.Fatal("refetched pages")
	}
}

func TestSystemUsersByEmail(t *testing.T) {
	org, opts := simOrg(jumpcloudsim.GenConfig{Seed: 11, Users: 300, Groups: 2, Admins: 1, Apps: 1})
	srv, sim := jumpcloudsim.NewTestServer(t, org, opts)
	c := newClient(t, fast(srv.URL))
	want := org.Users[123]
	got, err := c.SystemUsersByEmail(context.Background(), want.Email)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != want.ID {
		t.Fatalf("found %d users for %q", len(got), want.Email)
	}
	if n := sim.Counts().Total; n != 1 {
		t.Fatalf("%d requests, want one filtered request", n)
	}
	none, err := c.SystemUsersByEmail(context.Background(), "nobody@example.invalid")
	if err != nil || len(none) != 0 {
		t.Fatalf("unknown email: %v, %v", none, err)
	}
}

// A transport error on a filtered lookup must not carry the filter (an email) in its text.
func TestTransportErrorsDropTheQuery(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close() // every request: connection reset
	}))
	defer srv.Close()
	o := fast(srv.URL)
	o.MaxAttempts = 1
	c := newClient(t, o)
	_, err := c.SystemUsersByEmail(context.Background(), "jane.doe@acme.example")
	if err == nil {
		t.Fatal("want a transport error")
	}
	for _, leak := range []string{"jane.doe", "acme.example", "jane.doe%40acme.example"} {
		if strings.Contains(err.Error(), leak) {
			t.Fatalf("the error carries the lookup's email: %v", err)
		}
	}
}

// The projection asks for exactly what the models decode: a projected page decodes to the
// same users and apps as the full records, and the full records' extras (SAML keys in app
// configs, SSH keys) are not transferred.
func TestProjectionLosesNothingTheModelsHold(t *testing.T) {
	org, opts := simOrg(jumpcloudsim.GenConfig{Seed: 5, Users: 150, Groups: 2, Admins: 1, Apps: 20})
	var bodies strings.Builder
	var mu sync.Mutex
	sim := jumpcloudsim.New(org, opts)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, r)
		mu.Lock()
		bodies.Write(rec.Body.Bytes())
		mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	defer srv.Close()
	c := newClient(t, fast(srv.URL))
	ctx := context.Background()
	users, err := walkAll(ctx, c.SystemUsersPage)
	if err != nil {
		t.Fatal(err)
	}
	apps, err := walkAll(ctx, c.ApplicationsPage)
	if err != nil {
		t.Fatal(err)
	}
	full := func(path string, v any) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("x-api-key", key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var env struct{ Results json.RawMessage }
		if err := json.NewDecoder(res.Body).Decode(&env); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(env.Results, v); err != nil {
			t.Fatal(err)
		}
	}
	var fullUsers []jumpcloud.SystemUser
	var fullApps []jumpcloud.Application
	full("/api/systemusers?limit=100&sort=_id", &fullUsers)
	full("/api/applications?limit=100&sort=_id", &fullApps)
	if !reflect.DeepEqual(users[:100], fullUsers) || !reflect.DeepEqual(apps, fullApps) {
		t.Fatal("the projected records differ from the full ones: a model field is missing from the projection")
	}
	// The full reads above transferred everything; from here on, only the client's reads.
	mu.Lock()
	bodies.Reset()
	mu.Unlock()
	if _, err := walkAll(ctx, c.ApplicationsPage); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SystemUsersPage(ctx, 0); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, never := range []string{jumpcloudsim.PrivateKeyMarker, jumpcloudsim.CertificateMarker, `"ssh_keys"`, `"config"`} {
		if strings.Contains(bodies.String(), never) {
			t.Fatalf("the client's reads transferred %s", never)
		}
	}
}

// One group or app: true when it exists, false only on a 404, an error otherwise.
func TestObjectExists(t *testing.T) {
	org, so := simOrg(jumpcloudsim.GenConfig{Seed: 4, Users: 20, Groups: 3, Admins: 1, Apps: 2})
	ts, srv := jumpcloudsim.NewTestServer(t, org, so)
	c := newClient(t, fast(ts.URL))
	ctx := context.Background()
	const unknown = "5c0000000000000000000001"
	if ok, err := c.UserGroupExists(ctx, org.Groups[0].ID); !ok || err != nil {
		t.Fatalf("existing group: %v %v", ok, err)
	}
	if ok, err := c.UserGroupExists(ctx, unknown); ok || err != nil {
		t.Fatalf("unknown group: %v %v", ok, err)
	}
	if ok, err := c.ApplicationExists(ctx, org.Apps[0].ID); !ok || err != nil {
		t.Fatalf("existing app: %v %v", ok, err)
	}
	if ok, err := c.ApplicationExists(ctx, unknown); ok || err != nil {
		t.Fatalf("unknown app: %v %v", ok, err)
	}
	// A failure that is not a 404 is no answer: neither gone nor there.
	srv.FailNext("/api/v2/usergroups/", 10, http.StatusBadGateway)
	if ok, err := c.UserGroupExists(ctx, org.Groups[0].ID); ok || err == nil {
		t.Fatalf("a group behind 502s: %v %v", ok, err)
	}
	srv.ClearFaults()
	// A 200 that is not the object is an error too, not a yes.
	srv.RewriteBodies("/api/applications/", func(*http.Request, []byte) []byte { return []byte(`[]`) })
	if ok, err := c.ApplicationExists(ctx, org.Apps[0].ID); ok || err == nil {
		t.Fatalf("an app answered with a list: %v %v", ok, err)
	}
}
