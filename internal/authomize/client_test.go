package authomize

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"jcsync/internal/sim/authomizesim"
)

const testToken = "atm-SECRET-token-1234"

type env struct {
	sim *authomizesim.Server
	srv *httptest.Server
	c   *Client
}

// newEnv starts a simulator with app "app1" and a client with millisecond backoffs.
func newEnv(t *testing.T, mod func(*Options)) *env {
	t.Helper()
	sim := authomizesim.New(authomizesim.Options{Tokens: []string{testToken}, Apps: []string{"app1"}})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	opts := Options{BaseURL: srv.URL, Token: testToken, AppID: "app1", BaseBackoff: time.Millisecond, MaxRetryWait: 5 * time.Millisecond}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: sim, srv: srv, c: c}
}

func assertNoToken(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testToken) {
		t.Fatalf("token leaked in error: %v", err)
	}
}

func TestNewOptions(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("want error without token")
	}
	for _, u := range []string{"ftp://x", "not a url", "http://", "https://user:pw@host"} {
		_, err := New(Options{Token: testToken, BaseURL: u})
		if err == nil {
			t.Fatalf("base URL %q accepted", u)
		}
		assertNoToken(t, err)
	}
	if _, err := New(Options{Token: testToken + "\n"}); err == nil || strings.Contains(err.Error(), testToken) {
		t.Fatalf("control chars: %v", err)
	}
	c, err := New(Options{Token: testToken, BatchSize: 50000, MaxBodyBytes: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if c.batchSize != MaxItemsPerRequest || c.maxBody != HardMaxBodyBytes || c.base.String() != DefaultBaseURL {
		t.Fatalf("clamping: %d %d %s", c.batchSize, c.maxBody, c.base)
	}
	c, _ = New(Options{Token: testToken})
	if c.batchSize != 1000 || c.maxBody > 1_000_000 || c.loop.MaxAttempts != 6 || c.loop.HTTP.Timeout != 60*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
	hc := &http.Client{}
	if _, err := New(Options{Token: testToken, HTTPClient: hc}); err != nil || hc.CheckRedirect != nil {
		t.Fatal("caller's http.Client was mutated")
	}
}

func TestUploadEveryKind(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	mfa := true
	users := []User{{UniqueID: "u1", Name: "jdoe", Email: "j@x", Status: StatusEnabled, HasMFA: &mfa, Tags: []string{"admin"},
		CustomProperties: []CustomProperty{{Key: "k", Value: "v"}}}, {UniqueID: "u2"}}
	steps := []struct {
		name string
		run  func() (UploadResult, error)
		n    int
	}{
		{"users", func() (UploadResult, error) { return e.c.UploadUsers(ctx, users) }, 2},
		{"identities", func() (UploadResult, error) {
			return e.c.UploadIdentities(ctx, []Identity{{UniqueID: "i1", ManagerID: "i2"}, {UniqueID: "i2"}})
		}, 2},
		{"groupings", func() (UploadResult, error) {
			return e.c.UploadGroupings(ctx, []Grouping{{UniqueID: "g1", Name: "G1", Type: GroupingTypeGroup, Owner: "u1"}, {UniqueID: "r1", Name: "R", IsRole: true, Owner: "ghost"}})
		}, 2},
		{"privileges", func() (UploadResult, error) {
			return e.c.UploadPrivileges(ctx, []Privilege{{UniqueID: "p1", OriginName: "SSO", PrivilegeType: PrivilegeDataRead}})
		}, 1},
		{"assets", func() (UploadResult, error) {
			return e.c.UploadAssets(ctx, []Asset{{UniqueID: "a1", Name: "Slack", Type: AssetApplication, Href: "https://slack"}})
		}, 1},
		{"memberships", func() (UploadResult, error) {
			return e.c.UploadAccountAssociations(ctx, []AccountAssociation{{SourceID: "u1", TargetID: "g1"}, {SourceID: "u9", TargetID: "g1"}})
		}, 2},
		{"permissions", func() (UploadResult, error) {
			return e.c.UploadPermissions(ctx, []Permission{{SourceUniqueID: "g1", SourceType: SourceGrouping, PrivilegeID: "p1", AssetID: "a1"}, {SourceUniqueID: "u2", SourceType: SourceUser, PrivilegeID: "p1"}})
		}, 2},
	}
	var last time.Time
	for _, s := range steps {
		res, err := s.run()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if res.Requests != 1 || res.Sent != s.n || res.Accepted != s.n || res.EarliestAccepted.IsZero() {
			t.Fatalf("%s: result %+v", s.name, res)
		}
		if !res.EarliestAccepted.After(last) {
			t.Fatalf("%s: accepted time not increasing", s.name)
		}
		last = res.EarliestAccepted
		switch s.name {
		case "groupings":
			if fmt.Sprint(res.InvalidIDs) != "[ghost]" {
				t.Fatalf("invalid owners: %v", res.InvalidIDs)
			}
		case "memberships":
			if fmt.Sprint(res.InvalidIDs) != "[u9]" {
				t.Fatalf("invalid sources: %v", res.InvalidIDs)
			}
		}
	}
	snap := e.sim.Snapshot("app1")
	if len(snap.Users) != 2 || len(snap.Identities) != 2 || len(snap.Groupings) != 2 || len(snap.Privileges) != 1 ||
		len(snap.Assets) != 1 || len(snap.Memberships) != 2 || len(snap.Permissions) != 2 {
		t.Fatalf("snapshot sizes: %+v", snap)
	}
	var got User
	if err := json.Unmarshal(snap.Users["u1"], &got); err != nil {
		t.Fatal(err)
	}
	if got.Email != "j@x" || got.HasMFA == nil || !*got.HasMFA || got.CustomProperties[0].Value != "v" {
		t.Fatalf("stored user: %+v", got)
	}
	if _, ok := snap.Permissions[[4]string{SourceUser, "u2", "p1", ""}]; !ok {
		t.Fatalf("app-wide permission missing: %v", snap.Permissions)
	}
	// Zero items: no request at all.
	before := e.sim.Counts().Total
	if res, err := e.c.UploadUsers(ctx, nil); err != nil || res.Requests != 0 || !res.EarliestAccepted.IsZero() {
		t.Fatalf("empty upload: %+v %v", res, err)
	}
	if e.sim.Counts().Total != before {
		t.Fatal("empty upload made a request")
	}
}

func makeUsers(n int, desc string) []User {
	out := make([]User, n)
	for i := range out {
		out[i] = User{UniqueID: fmt.Sprintf("u%05d", i), Description: desc}
	}
	return out
}

func TestBatchingByCount(t *testing.T) {
	for _, tc := range []struct{ items, requests int }{{1, 1}, {1000, 1}, {1001, 2}} {
		e := newEnv(t, nil)
		res, err := e.c.UploadUsers(context.Background(), makeUsers(tc.items, ""))
		if err != nil {
			t.Fatalf("%d items: %v", tc.items, err)
		}
		got := e.sim.Counts().ByEndpoint["POST /v2/apps/{appId}/accounts/users"][200]
		if res.Requests != tc.requests || got != tc.requests || res.Accepted != tc.items {
			t.Fatalf("%d items: %d requests (sim saw %d), accepted %d; want %d", tc.items, res.Requests, got, res.Accepted, tc.requests)
		}
		if n := len(e.sim.Snapshot("app1").Users); n != tc.items {
			t.Fatalf("%d items: stored %d", tc.items, n)
		}
	}
}

// sizeRecorder wraps the simulator to record each request's body size.
type sizeRecorder struct {
	mu    sync.Mutex
	sizes []int64
	h     http.Handler
}

func (s *sizeRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.sizes = append(s.sizes, r.ContentLength)
	s.mu.Unlock()
	s.h.ServeHTTP(w, r)
}

func TestBatchingBySize(t *testing.T) {
	sim := authomizesim.New(authomizesim.Options{Tokens: []string{testToken}, Apps: []string{"app1"}})
	rec := &sizeRecorder{h: sim}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	c, err := New(Options{BaseURL: srv.URL, Token: testToken, AppID: "app1"})
	if err != nil {
		t.Fatal(err)
	}
	// 40 items of ~100 KB: far under the item limit, far over the byte limit for one request.
	users := makeUsers(40, strings.Repeat("d", 100_000))
	res, err := c.UploadUsers(context.Background(), users)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 5 || res.Accepted != 40 {
		t.Fatalf("result %+v", res)
	}
	for _, sz := range rec.sizes {
		if sz <= 0 || sz > int64(c.maxBody) {
			t.Fatalf("request of %d bytes, limit %d", sz, c.maxBody)
		}
	}
	counts := sim.Counts().ByEndpoint["POST /v2/apps/{appId}/accounts/users"]
	if counts[413] != 0 || counts[200] != res.Requests {
		t.Fatalf("sim counts %v", counts)
	}

	// One item that cannot fit: a clear error naming it, and nothing sent.
	sim.ResetCounts()
	big := append(makeUsers(2, ""), User{UniqueID: "huge", Description: strings.Repeat("x", 1_000_001)})
	_, err = c.UploadUsers(context.Background(), big)
	if !errors.Is(err, ErrItemTooLarge) || !strings.Contains(err.Error(), "item 2 (huge)") || !IsPermanent(err) {
		t.Fatalf("oversized item: %v", err)
	}
	if sim.Counts().Total != 0 {
		t.Fatal("oversized item: requests were sent")
	}
}

func TestValidationErrorSurfaced(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.c.UploadUsers(context.Background(), []User{{UniqueID: "ok"}, {UniqueID: ""}})
	var ve *ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, ErrValidation) || !IsPermanent(err) {
		t.Fatalf("want ValidationError, got %v", err)
	}
	if !strings.Contains(ve.Message, "body.data.1.uniqueId: ensure this value has at least 1 characters") || len(ve.Items) != 1 {
		t.Fatalf("detail %q items %v", ve.Message, ve.Items)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 422 || ae.Endpoint != "/v2/apps/{appId}/accounts/users" {
		t.Fatalf("APIError: %+v", ae)
	}
	if n := e.sim.Counts().Total; n != 1 {
		t.Fatalf("422 was retried: %d requests", n)
	}
	assertNoToken(t, err)
}

func TestRetriesThenSuccess(t *testing.T) {
	var infos []RequestInfo
	e := newEnv(t, func(o *Options) { o.OnRequest = func(i RequestInfo) { infos = append(infos, i) } })
	e.sim.FailNext("/accounts/users", 1, 429)
	e.sim.FailNextWithHeader("/accounts/users", 1, 429, http.Header{"Retry-After": {"1"}}) // capped to 5 ms
	e.sim.FailNext("/accounts/users", 1, 500)
	e.sim.FailNext("/accounts/users", 1, 502)
	e.sim.FailNext("/accounts/users", 1, 0) // dropped connection
	res, err := e.c.UploadUsers(context.Background(), makeUsers(3, ""))
	if err != nil || res.Accepted != 3 || res.Requests != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	st := e.c.Stats()
	if st.Requests != 6 || st.Retries != 5 || st.RateLimited != 2 {
		t.Fatalf("stats %+v", st)
	}
	if len(infos) != 6 || infos[5].Attempt != 6 || infos[5].Status != 200 || infos[0].Status != 429 || infos[4].Err == nil || infos[4].Status != 0 {
		t.Fatalf("request infos %+v", infos)
	}
	for _, i := range infos {
		if i.Endpoint != "/v2/apps/{appId}/accounts/users" || i.Method != "POST" {
			t.Fatalf("info %+v", i)
		}
	}
}

func TestRetriesExhausted(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxAttempts = 3 })
	e.sim.FailNext("/me", 10, 503)
	_, err := e.c.Me(context.Background())
	if err == nil || IsPermanent(err) || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Fatalf("want transient error after 3 attempts, got %v", err)
	}
	if n := e.sim.Counts().Requests("GET /me"); n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
}

// TestServerErrorRetried: a 500 is retried like 502–504 on idempotent calls, with the same
// backoff, and counted; one that persists gives up after MaxAttempts with an error naming the
// endpoint. Creating an app is not idempotent and keeps its rule: a 500 may have created it,
// so it is not sent again.
func TestServerErrorRetried(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxAttempts = 3 })
	ctx := context.Background()
	e.sim.FailNext("/accounts/users", 2, http.StatusInternalServerError)
	res, err := e.c.UploadUsers(ctx, makeUsers(3, ""))
	if err != nil || res.Accepted != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	if st := e.c.Stats(); st.Requests != 3 || st.Retries != 2 {
		t.Fatalf("stats %+v", st)
	}
	if n := e.sim.Counts().ByEndpoint["POST /v2/apps/{appId}/accounts/users"][500]; n != 2 {
		t.Fatalf("the sim answered 500 %d times, want 2", n)
	}

	e.sim.ResetCounts()
	e.sim.FailNext("/data", 1, http.StatusInternalServerError)
	if err := e.c.DeleteData(ctx, time.Now()); err != nil {
		t.Fatalf("sweep after a 500: %v", err)
	}
	if n := e.sim.Counts().Requests("DELETE /v2/apps/{appId}/data"); n != 2 {
		t.Fatalf("sweep: %d requests, want 2", n)
	}

	e.sim.ResetCounts()
	e.sim.FailNext("/accounts/users", 10, http.StatusInternalServerError)
	before := e.c.Stats()
	_, err = e.c.UploadUsers(ctx, makeUsers(1, ""))
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 500 || IsPermanent(err) ||
		!strings.Contains(err.Error(), "giving up after 3 attempts: authomize: POST /v2/apps/{appId}/accounts/users: 500 Internal Server Error") {
		t.Fatalf("persistent 500: %v", err)
	}
	if n := e.sim.Counts().Requests("POST /v2/apps/{appId}/accounts/users"); n != 3 {
		t.Fatalf("persistent 500: %d requests, want 3", n)
	}
	if st := e.c.Stats(); st.Requests-before.Requests != 3 || st.Retries-before.Retries != 2 {
		t.Fatalf("persistent 500: stats %+v, before %+v", st, before)
	}

	e.sim.ResetCounts()
	e.sim.FailNext("/v2/apps", 1, http.StatusInternalServerError)
	noApp, err := New(Options{BaseURL: e.srv.URL, Token: testToken, BaseBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = noApp.CreateApp(ctx, "JumpCloud")
	if !errors.As(err, &ae) || ae.Status != 500 || !strings.Contains(err.Error(), "POST /v2/apps: 500") {
		t.Fatalf("create app: %v", err)
	}
	if n := e.sim.Counts().Requests("POST /v2/apps"); n != 1 || noApp.Stats().Retries != 0 {
		t.Fatalf("create app after a 500 was sent %d times", n)
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A one-hour backoff that only ends because the context is cancelled.
	e := newEnv(t, func(o *Options) {
		o.BaseBackoff, o.MaxRetryWait = time.Hour, time.Hour
		o.OnRequest = func(RequestInfo) { cancel() }
	})
	e.sim.FailNext("/me", 5, 503)
	_, err := e.c.Me(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

func TestPermanentErrorsNotRetried(t *testing.T) {
	e := newEnv(t, nil)
	bad, _ := New(Options{BaseURL: e.srv.URL, Token: "atm-wrong-token", AppID: "app1", BaseBackoff: time.Millisecond})
	_, err := bad.UploadUsers(context.Background(), makeUsers(1, ""))
	if !errors.Is(err, ErrUnauthorized) || !IsPermanent(err) || !strings.Contains(err.Error(), "Invalid token") {
		t.Fatalf("401: %v", err)
	}
	if strings.Contains(err.Error(), "atm-wrong-token") {
		t.Fatalf("token in error: %v", err)
	}
	if n := e.sim.Counts().Total; n != 1 {
		t.Fatalf("401 retried: %d requests", n)
	}
	e.sim.ResetCounts()
	other, _ := New(Options{BaseURL: e.srv.URL, Token: testToken, AppID: "no-such-app", BaseBackoff: time.Millisecond})
	_, err = other.UploadGroupings(context.Background(), []Grouping{{UniqueID: "g", Name: "G"}})
	if !errors.Is(err, ErrAppNotFound) || !IsPermanent(err) {
		t.Fatalf("404: %v", err)
	}
	if _, err := other.App(context.Background()); !errors.Is(err, ErrAppNotFound) {
		t.Fatalf("App 404: %v", err)
	}
	if n := e.sim.Counts().Total; n != 2 {
		t.Fatalf("404 retried: %d requests", n)
	}
	assertNoToken(t, err)
}

// TestTokenNeverInErrors points the client at a hostile server that echoes the
// Authorization header everywhere it can.
func TestTokenNeverInErrors(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
	}))
	defer other.Close()
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		switch r.URL.Path {
		case "/me":
			w.WriteHeader(403)
			fmt.Fprintf(w, `{"detail":"token %s is not allowed"}`, got)
		case "/v2/apps/app1/accounts/users":
			w.WriteHeader(422)
			fmt.Fprintf(w, `{"detail":[{"loc":["body","%s"],"msg":"bad %s","type":"x"}]}`, got, got)
		case "/v2/apps/app1":
			http.Redirect(w, r, other.URL+"/steal?t="+got, http.StatusFound)
		default:
			w.WriteHeader(500)
			fmt.Fprintf(w, `not json %s`, got)
		}
	}))
	defer hostile.Close()
	c, _ := New(Options{BaseURL: hostile.URL, Token: testToken, AppID: "app1", MaxAttempts: 2, BaseBackoff: time.Millisecond})
	ctx := context.Background()
	_, err := c.Me(ctx)
	if !errors.Is(err, ErrForbidden) {
		t.Fatalf("403: %v", err)
	}
	assertNoToken(t, err)
	_, err = c.UploadUsers(ctx, makeUsers(1, ""))
	var ve *ValidationError
	if !errors.As(err, &ve) || strings.Contains(fmt.Sprint(ve.Items), testToken) {
		t.Fatalf("422: %v (items %v)", err, ve)
	}
	assertNoToken(t, err)
	_, err = c.App(ctx)
	if err == nil || !strings.Contains(err.Error(), "refusing redirect") {
		t.Fatalf("redirect to another host was followed: %v", err)
	}
	assertNoToken(t, err)
	_, err = c.ListApps(ctx)
	if err == nil {
		t.Fatal("500 should fail")
	}
	assertNoToken(t, err)
	// Transport error (nothing listening).
	dead, _ := New(Options{BaseURL: "http://127.0.0.1:1", Token: testToken, AppID: "app1", MaxAttempts: 1})
	_, err = dead.Me(ctx)
	if err == nil {
		t.Fatal("want transport error")
	}
	assertNoToken(t, err)
}

func TestSweepRemovesExactlyWhatWasNotResent(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	run := func(ids ...string) time.Time {
		t.Helper()
		var users []User
		var groups []Grouping
		var privs []Privilege
		var assets []Asset
		var members []AccountAssociation
		var perms []Permission
		for _, id := range ids {
			users = append(users, User{UniqueID: "u" + id})
			groups = append(groups, Grouping{UniqueID: "g" + id, Name: "G" + id})
			privs = append(privs, Privilege{UniqueID: "p" + id, OriginName: "P" + id})
			assets = append(assets, Asset{UniqueID: "a" + id, Name: "A" + id})
			members = append(members, AccountAssociation{SourceID: "u" + id, TargetID: "g" + id})
			perms = append(perms, Permission{SourceUniqueID: "g" + id, SourceType: SourceGrouping, PrivilegeID: "p" + id, AssetID: "a" + id})
		}
		var earliest time.Time
		note := func(r UploadResult, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			if earliest.IsZero() || r.EarliestAccepted.Before(earliest) {
				earliest = r.EarliestAccepted
			}
		}
		note(e.c.UploadUsers(ctx, users))
		note(e.c.UploadGroupings(ctx, groups))
		note(e.c.UploadPrivileges(ctx, privs))
		note(e.c.UploadAssets(ctx, assets))
		note(e.c.UploadAccountAssociations(ctx, members))
		note(e.c.UploadPermissions(ctx, perms))
		return earliest
	}
	run("A", "B", "C")
	cutoff := run("A", "C")
	if err := e.c.DeleteData(ctx, cutoff); err != nil {
		t.Fatal(err)
	}
	snap := e.sim.Snapshot("app1")
	for _, id := range []string{"A", "C"} {
		if snap.Users["u"+id] == nil || snap.Groupings["g"+id] == nil || snap.Privileges["p"+id] == nil || snap.Assets["a"+id] == nil ||
			snap.Memberships[[2]string{"u" + id, "g" + id}] == nil ||
			snap.Permissions[[4]string{SourceGrouping, "g" + id, "p" + id, "a" + id}] == nil {
			t.Fatalf("%s missing after sweep: %+v", id, snap)
		}
	}
	if len(snap.Users) != 2 || len(snap.Groupings) != 2 || len(snap.Privileges) != 2 || len(snap.Assets) != 2 ||
		len(snap.Memberships) != 2 || len(snap.Permissions) != 2 {
		t.Fatalf("B survived the sweep: %+v", snap)
	}
}

func TestDeleteDataZeroRefused(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.c.UploadUsers(context.Background(), makeUsers(2, "")); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetCounts()
	err := e.c.DeleteData(context.Background(), time.Time{})
	if !errors.Is(err, ErrUnsafeSweep) || !IsPermanent(err) {
		t.Fatalf("zero cutoff: %v", err)
	}
	if e.sim.Counts().Total != 0 {
		t.Fatal("zero cutoff made a request")
	}
	if n := len(e.sim.Snapshot("app1").Users); n != 2 {
		t.Fatalf("zero cutoff: %d users left of 2", n)
	}
}

func TestAppCalls(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	me, err := e.c.Me(ctx)
	if err != nil || me.Tenant == "" {
		t.Fatalf("me: %+v %v", me, err)
	}
	for i := 0; i < 230; i++ {
		e.sim.CreateApp(fmt.Sprintf("app %d", i))
	}
	e.sim.ResetCounts()
	apps, err := e.c.ListApps(ctx)
	if err != nil || len(apps) != 231 {
		t.Fatalf("list: %d %v", len(apps), err)
	}
	if n := e.sim.Counts().Requests("GET /v2/apps"); n != 3 {
		t.Fatalf("paging used %d requests, want 3", n)
	}
	noApp, _ := New(Options{BaseURL: e.srv.URL, Token: testToken})
	created, err := noApp.CreateApp(ctx, "JumpCloud")
	if err != nil || created.ID == "" || created.IntegrationName != "JumpCloud" {
		t.Fatalf("create: %+v %v", created, err)
	}
	if _, err := noApp.App(ctx); err == nil {
		t.Fatal("App without app id should fail")
	}
	c2, _ := New(Options{BaseURL: e.srv.URL, Token: testToken, AppID: created.ID})
	renamed, err := c2.RenameApp(ctx, "JumpCloud prod")
	if err != nil || renamed.IntegrationName != "JumpCloud prod" {
		t.Fatalf("rename: %+v %v", renamed, err)
	}
	got, err := c2.App(ctx)
	if err != nil || got.ID != created.ID || got.CreatedAt == "" {
		t.Fatalf("app: %+v %v", got, err)
	}
}

func TestParseTimestamp(t *testing.T) {
	want := time.Date(2024, 1, 10, 8, 46, 49, 123456000, time.UTC)
	for _, s := range []string{"2024-01-10T08:46:49.123456+00:00", "2024-01-10T08:46:49.123456Z", "2024-01-10T08:46:49.123456",
		"2024-01-10T10:46:49.123456+02:00", "2024-01-10 08:46:49.123456+00:00", "2024-01-10T08:46:49.123456+0000"} {
		got, err := ParseTimestamp(s)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Fatalf("%s: %v %v", s, got, err)
		}
	}
	if _, err := ParseTimestamp("yesterday"); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestDeleteDataCutoffFormat(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Query().Get("modifiedBefore")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"requestId":"r"}`)
	}))
	defer srv.Close()
	c, _ := New(Options{BaseURL: srv.URL, Token: testToken, AppID: "app1"})
	cut := time.Date(2024, 1, 10, 10, 46, 49, 123456789, time.FixedZone("", 2*3600))
	if err := c.DeleteData(context.Background(), cut); err != nil {
		t.Fatal(err)
	}
	if got != "2024-01-10T08:46:49.123456Z" {
		t.Fatalf("modifiedBefore = %q", got)
	}
}

// TestTruncatedBodyRetried: an answer cut short (Content-Length promises more than arrives)
// is a transport failure and is retried.
func TestTruncatedBodyRetried(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if n == 1 {
			w.Header().Set("Content-Length", "500")
			w.WriteHeader(200)
			fmt.Fprint(w, `{"version":"1","id":`)
			return // the handler ends early: the client sees an unexpected EOF
		}
		fmt.Fprint(w, `{"version":"1","id":"x","tenant":"t"}`)
	}))
	defer srv.Close()
	c, _ := New(Options{BaseURL: srv.URL, Token: testToken, BaseBackoff: time.Millisecond})
	me, err := c.Me(context.Background())
	if err != nil || me.Tenant != "t" || c.Stats().Retries != 1 {
		t.Fatalf("%+v %v %+v", me, err, c.Stats())
	}
}
