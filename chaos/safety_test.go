package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"jcsync/internal/config"
	"jcsync/internal/sim/authomizesim"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/testenv"
	"jcsync/internal/transform"
	"jcsync/workflows"
)

// safeEnv is one integration synced once successfully, so a failing sync after it has a
// snapshot to destroy.
type safeEnv struct {
	tc     *testenv.Temporal
	sims   *testenv.Sims
	queue  string
	name   string // the good integration
	before jumpcloudsim.Expected
}

const badSuffix = "-bad"

// newSafeEnv starts sims and a worker that knows the good integration and, when bad is set,
// a variant of it named name+badSuffix; then runs a good sync and checks it.
func newSafeEnv(t *testing.T, name string, jcOpts jumpcloudsim.Options, bad func(*config.Integration), multiTenant bool) *safeEnv {
	t.Helper()
	tc := devServer(t)
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: int64(len(name)) * 97, Users: 300, Groups: 30, Admins: 5, Apps: 8})
	sims := testenv.StartSimsWith(t, org, jcOpts, authomizesim.Options{})
	good := sims.Integration(name, false)
	if multiTenant {
		good.JumpCloud.OrgID = org.ID
	}
	ins := config.Integrations{name: good}
	if bad != nil {
		b := good
		b.Name = name + badSuffix
		bad(&b)
		ins[b.Name] = b
	}
	queue := "chaos-" + name
	testenv.StartWorker(t, tc.Client, queue, ins, testenv.FastRetries)
	e := &safeEnv{tc: tc, sims: sims, queue: queue, name: name}
	run := startSync(t, tc.Client, queue, workflows.SyncInput{Integration: name})
	if _, err := waitSync(t, tc.Client, run, 2*time.Minute); err != nil {
		t.Fatalf("the good sync before the failing one: %v", err)
	}
	e.before = expected(sims)
	requireExact(t, sims, e.before)
	return e
}

func (e *safeEnv) deletes() int {
	return e.sims.AZ.Counts().Requests("DELETE /v2/apps/{appId}/data")
}

// removeUsers removes n users from the org: a sweep after this would delete their
// accounts, so an intact snapshot afterwards proves no sweep ran.
func (e *safeEnv) removeUsers(n int) {
	e.sims.JC.Update(func(o *jumpcloudsim.Org) {
		for range n {
			o.RemoveUser(o.Users[len(o.Users)-1].ID)
		}
	})
}

// failingSync runs a sync that must fail, and checks that it stopped safely: its message
// has every piece of want, nothing was deleted, and Authomize still holds the previous
// snapshot exactly. It returns the time the sync took to fail.
func (e *safeEnv) failingSync(t *testing.T, in workflows.SyncInput, want ...string) (time.Duration, error) {
	t.Helper()
	deletes := e.deletes()
	started := time.Now()
	run := startSync(t, e.tc.Client, e.queue, in)
	_, err := waitSync(t, e.tc.Client, run, 3*time.Minute)
	took := time.Since(started)
	if err == nil {
		t.Fatal("the sync succeeded; it should have stopped")
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("the error does not say %q: %s", w, msg)
		}
	}
	if strings.Contains(strings.ToLower(msg), "panic") {
		t.Errorf("the sync panicked: %s", msg)
	}
	if n := e.deletes() - deletes; n != 0 {
		t.Errorf("the failing sync sent %d sweep requests", n)
	}
	if d := testenv.Diff(e.before, e.sims.AZ.Snapshot(testenv.AppID)); len(d) > 0 {
		t.Errorf("the previous snapshot was not kept: %s", testenv.Summarize(d))
	}
	t.Logf("failed after %s: %s", took.Round(time.Millisecond), msg)
	return took, err
}

// credentialCase checks a credential failure is fast (no retries) and records its time.
func credentialCase(t *testing.T, label string, took time.Duration) {
	t.Helper()
	sum.with(func(s *summary) { s.credFailTimes[label] = took })
	if took > 30*time.Second {
		t.Errorf("%s took %s to fail: it was retried instead of failing at once", label, took)
	}
}

// TestStopsSafely: syncs that must fail, each after a good sync and a change to the org
// that a sweep would act on. Each must fail clearly, delete nothing and keep the snapshot.
func TestStopsSafely(t *testing.T) {
	t.Run("bad JumpCloud key", func(t *testing.T) {
		e := newSafeEnv(t, "bad-jc-key", jumpcloudsim.Options{}, func(in *config.Integration) { in.JumpCloud.APIKey = wrongKey }, false)
		e.removeUsers(15)
		took, _ := e.failingSync(t, workflows.SyncInput{Integration: e.name + badSuffix}, "JumpCloud rejected the API key", "JUMPCLOUD_API_KEY")
		credentialCase(t, "bad JumpCloud key", took)
	})
	t.Run("revoked JumpCloud key", func(t *testing.T) {
		e := newSafeEnv(t, "revoked-jc-key", jumpcloudsim.Options{}, nil, false)
		e.removeUsers(15)
		e.sims.JC.SetAPIKey(rotatedKey)
		took, _ := e.failingSync(t, workflows.SyncInput{Integration: e.name}, "JumpCloud rejected the API key", "JUMPCLOUD_API_KEY")
		credentialCase(t, "revoked JumpCloud key", took)
	})
	t.Run("multi-tenant key without org id", func(t *testing.T) {
		e := newSafeEnv(t, "no-org-id", jumpcloudsim.Options{MultiTenant: true}, func(in *config.Integration) { in.JumpCloud.OrgID = "" }, true)
		e.removeUsers(15)
		took, _ := e.failingSync(t, workflows.SyncInput{Integration: e.name + badSuffix}, "JUMPCLOUD_ORG_ID")
		credentialCase(t, "multi-tenant key without org id", took)
	})
	t.Run("bad Authomize token", func(t *testing.T) {
		e := newSafeEnv(t, "bad-az-token", jumpcloudsim.Options{}, func(in *config.Integration) { in.Authomize.Token = wrongToken }, false)
		e.removeUsers(15)
		took, _ := e.failingSync(t, workflows.SyncInput{Integration: e.name + badSuffix}, "Authomize rejected the API token", "AUTHOMIZE_TOKEN")
		credentialCase(t, "bad Authomize token", took)
	})
	t.Run("unknown Authomize app id", func(t *testing.T) {
		e := newSafeEnv(t, "unknown-app", jumpcloudsim.Options{}, func(in *config.Integration) { in.Authomize.AppID = "app-that-does-not-exist" }, false)
		e.removeUsers(15)
		took, _ := e.failingSync(t, workflows.SyncInput{Integration: e.name + badSuffix}, "Authomize app not found", "AUTHOMIZE_APP_ID")
		credentialCase(t, "unknown Authomize app id", took)
	})
	t.Run("permanent error halfway through a stage", func(t *testing.T) {
		e := newSafeEnv(t, "permanent-halfway", jumpcloudsim.Options{}, nil, false)
		e.removeUsers(15)
		// The apps stage's binding reads start failing with 400 after a few succeeded.
		e.sims.JC.FailFrom("/api/v2/applications/", 6, http.StatusBadRequest)
		took, err := e.failingSync(t, workflows.SyncInput{Integration: e.name}, "stage apps")
		var app *temporal.ApplicationError
		if err != nil && !errors.As(err, &app) {
			t.Errorf("want an application error, got %T", err)
		}
		t.Logf("a permanent error stopped the sync after %s", took.Round(time.Millisecond))
	})
	t.Run("JumpCloud returns zero users", func(t *testing.T) {
		e := newSafeEnv(t, "zero-users", jumpcloudsim.Options{}, nil, false)
		e.sims.JC.Update(func(o *jumpcloudsim.Org) {
			for len(o.Users) > 0 {
				o.RemoveUser(o.Users[0].ID)
			}
		})
		e.failingSync(t, workflows.SyncInput{Integration: e.name}, "sweep refused", "no users", "nothing was deleted", "--allow-empty")
	})
	t.Run("shrink beyond the threshold", func(t *testing.T) {
		e := newSafeEnv(t, "shrink", jumpcloudsim.Options{}, nil, false)
		e.removeUsers(120) // 40% of the users
		e.failingSync(t, workflows.SyncInput{Integration: e.name}, "sweep refused", "users 300 → 180", "nothing was deleted", "--allow-shrink")
		// The refusal is the only thing that kept the data: allowed, the sync is exact.
		run := startSync(t, e.tc.Client, e.queue, workflows.SyncInput{Integration: e.name, AllowShrink: true})
		if _, err := waitSync(t, e.tc.Client, run, 2*time.Minute); err != nil {
			t.Fatalf("the allowed shrink: %v", err)
		}
		requireExact(t, e.sims, expected(e.sims))
	})
	for _, c := range []struct {
		name string
		page func(body []byte) []byte
		want []string
	}{
		{"malformed JSON", func(b []byte) []byte { return []byte(`{"totalCount":300,"results":[{"_id":"5c0`) }, []string{"stage users"}},
		{"results not a list", func(b []byte) []byte { return replaceResults(b, `{"_id":"5c0000000000000000000001"}`) }, []string{"stage users", "decode"}},
	} {
		t.Run("JumpCloud serves "+c.name, func(t *testing.T) {
			e := newSafeEnv(t, "corrupt-"+strings.ReplaceAll(c.name, " ", "-"), jumpcloudsim.Options{}, nil, false)
			e.removeUsers(15)
			e.sims.JC.RewriteBodies("/api/systemusers", func(r *http.Request, body []byte) []byte {
				if r.URL.Query().Get("skip") != "99" { // the second page (pages overlap by one user)
					return body
				}
				return c.page(body)
			})
			e.failingSync(t, workflows.SyncInput{Integration: e.name, StageAttempts: 2}, c.want...)
		})
	}
}

// replaceResults swaps the "results" of a v1 list body for raw JSON.
func replaceResults(body []byte, results string) []byte {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		return body
	}
	env["results"] = json.RawMessage(results)
	out, _ := json.Marshal(env)
	return out
}

// editRecords hands each record of a v1 list body, by _id, to edit, which may change its
// fields as raw JSON.
func editRecords(body []byte, edit func(id string, rec map[string]json.RawMessage)) []byte {
	var env struct {
		TotalCount int                          `json:"totalCount"`
		Results    []map[string]json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return body
	}
	for _, rec := range env.Results {
		var id string
		if json.Unmarshal(rec["_id"], &id) == nil {
			edit(id, rec)
		}
	}
	out, _ := json.Marshal(env)
	return out
}

// TestWrongTypesAreSkipped: a user JumpCloud serves with wrong types in fields that say who
// it is or whether it is active is left out and counted, its earlier account kept, and the
// sync completes and sweeps with everyone else; wrong types in other fields change nothing
// but those fields. One such record used to fail the users stage, and with it every sync of
// the org; later it held every sweep.
func TestWrongTypesAreSkipped(t *testing.T) {
	e := newSafeEnv(t, "wrong-types", jumpcloudsim.Options{}, nil, false)
	var ids []string
	e.sims.JC.View(func(o *jumpcloudsim.Org) {
		for i := range o.Users {
			ids = append(ids, o.Users[i].ID)
		}
	})
	slices.Sort(ids)
	// The second page (skip 99: pages overlap by one user) holds ids[99:199]; both users are in
	// its middle, away from the users it shares with its neighbours.
	bad, odd := ids[149], ids[159]
	e.sims.JC.RewriteBodies("/api/systemusers", func(r *http.Request, body []byte) []byte {
		if q := r.URL.Query(); q.Get("skip") != "99" || q.Get("filter") != "" {
			return body
		}
		return editRecords(body, func(id string, rec map[string]json.RawMessage) {
			switch id {
			case bad:
				rec["email"] = json.RawMessage(`["` + id + `@example.com"]`)
				rec["suspended"] = json.RawMessage(`"yes"`)
			case odd:
				rec["attributes"] = json.RawMessage(`"none"`)
				rec["displayname"] = json.RawMessage(`5`)
				rec["created"] = json.RawMessage(`{"at":1}`)
				rec["ssh_keys"] = json.RawMessage(`7`)
				rec["middlename"] = json.RawMessage(`false`)
			}
		})
	})
	run := startSync(t, e.tc.Client, e.queue, workflows.SyncInput{Integration: e.name})
	res, err := waitSync(t, e.tc.Client, run, 2*time.Minute)
	if err != nil {
		t.Fatalf("a record with wrong types failed the sync: %v", err)
	}
	t.Logf("skipped %v, swept %v %s", res.Skipped, res.Swept, res.SweepSkipped)
	if n := res.Skipped["user.email: wrong type, user left out"]; n != 1 {
		t.Errorf("the bad user was counted %d times, want once: %v", n, res.Skipped)
	}
	// The bad user exists in JumpCloud: its account from the good sync is kept (a PATCH of
	// its uniqueId refreshes it), so the sweep runs for everything else, and spares it.
	if !res.Swept || res.Unreadable != 0 || res.Kept["accounts"] != 1 {
		t.Errorf("swept=%v skipped=%q unreadable=%d kept=%v; want the bad user's account kept and the sweep run", res.Swept, res.SweepSkipped, res.Unreadable, res.Kept)
	}
	// Everything is exact, the user with odd unused fields included, and the bad user's
	// record from the good sync is still there, with its memberships.
	snap := e.sims.AZ.Snapshot(testenv.AppID)
	if d := testenv.Diff(expected(e.sims), snap); len(d) > 0 {
		t.Errorf("the snapshot differs: %s", testenv.Summarize(d))
	}
	if _, ok := snap.Users[transform.UserAccountID(odd)]; !ok {
		t.Error("the user with wrong types in unused fields is missing")
	}
}

// TestCancelledSyncKeepsSnapshot cancels a sync while its stages run: no sweep, and the
// previous snapshot stays.
func TestCancelledSyncKeepsSnapshot(t *testing.T) {
	e := newSafeEnv(t, "cancelled", jumpcloudsim.Options{}, nil, false)
	e.removeUsers(15)
	e.sims.JC.SetLatency(40 * time.Millisecond)
	deletes := e.deletes()
	run := startSync(t, e.tc.Client, e.queue, workflows.SyncInput{Integration: e.name})
	deadline := time.Now().Add(30 * time.Second)
	for len(checkpointsAt(t, e.tc.Client, run)) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := e.tc.Client.CancelWorkflow(context.Background(), run.GetID(), run.GetRunID()); err != nil {
		t.Fatal(err)
	}
	_, err := waitSync(t, e.tc.Client, run, 2*time.Minute)
	if err == nil {
		t.Fatal("the cancelled sync completed")
	}
	if !temporal.IsCanceledError(err) {
		t.Errorf("want a cancellation, got %v", err)
	}
	// Stages learn of the cancellation at their next heartbeat; give them time to stop
	// before looking at what Authomize holds.
	time.Sleep(2 * time.Second)
	if n := e.deletes() - deletes; n != 0 {
		t.Errorf("a cancelled sync sent %d sweep requests", n)
	}
	if d := testenv.Diff(e.before, e.sims.AZ.Snapshot(testenv.AppID)); len(d) > 0 {
		t.Errorf("the cancelled sync changed the snapshot: %s", testenv.Summarize(d))
	}
}

// TestOddRecordsAreSkippedOrKept: records JumpCloud may really send — nulls, unknown
// fields, unicode, huge values, duplicate and missing ids — never fail a sync. Those with
// a usable id are uploaded (their values cut to Authomize's limits), the rest are skipped
// and counted in the result, under the same reasons whether the client or the transform
// caught them.
func TestOddRecordsAreSkippedOrKept(t *testing.T) {
	tc := devServer(t)
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 5, Users: 250, Groups: 20, Admins: 4, Apps: 6})
	sims := testenv.StartSims(t, org)
	name := "odd-records"
	queue := "chaos-" + name
	testenv.StartWorker(t, tc.Client, queue, config.Integrations{name: sims.Integration(name, false)}, testenv.FastRetries)
	ids := []string{fmt.Sprintf("%024x", 0xc0ffee01), fmt.Sprintf("%024x", 0xc0ffee02), fmt.Sprintf("%024x", 0xc0ffee03)}
	odd := []string{
		fmt.Sprintf(`{"_id":%q,"username":"nulls","email":null,"firstname":null,"lastname":null,"state":null,"suspended":null,"unknownField":{"deep":[1,{"x":null}]},"another":12.5}`, ids[0]),
		fmt.Sprintf(`{"_id":%q,"username":"unicode","email":"zoë@example.org","firstname":"Zoë 小龍 محمد 🎉","lastname":"\u202eevil\u0000x","department":"Ὀδυσσεύς"}`, ids[1]),
		fmt.Sprintf(`{"_id":%q,"username":"huge","email":"huge@example.org","firstname":%q,"description":%q,"jobTitle":%q}`,
			ids[2], strings.Repeat("Ж", 50_000), strings.Repeat("x", 300_000), strings.Repeat("é", 10_000)),
		`{"username":"no id"}`, `{"_id":null,"username":"null id"}`, `{"_id":"","username":"empty id"}`, `null`,
	}
	// The odd records join the last page: it is short (250 users, pages of 100 overlapping by
	// one), and a page may not hold more records than its limit.
	sims.JC.RewriteBodies("/api/systemusers", func(r *http.Request, body []byte) []byte {
		if q := r.URL.Query(); q.Get("limit") != "100" || q.Get("filter") != "" {
			return body
		}
		var env struct {
			TotalCount int               `json:"totalCount"`
			Results    []json.RawMessage `json:"results"`
		}
		if err := json.Unmarshal(body, &env); err != nil || len(env.Results) == 0 || len(env.Results)+1+len(odd) > 100 {
			return body
		}
		results := append(env.Results, env.Results[0]) // a duplicate id on the same page
		for _, o := range odd {
			results = append(results, json.RawMessage(o))
		}
		env.Results = results
		out, _ := json.Marshal(env)
		return out
	})
	run := startSync(t, tc.Client, queue, workflows.SyncInput{Integration: name})
	res, err := waitSync(t, tc.Client, run, 2*time.Minute)
	if err != nil {
		t.Fatalf("odd records failed the sync: %v", err)
	}
	exp := expected(sims)
	for _, id := range ids {
		exp.Accounts[transform.UserAccountID(id)] = true
	}
	requireExact(t, sims, exp)
	skipped := 0
	for reason, n := range res.Skipped {
		if strings.HasPrefix(reason, "user") {
			skipped += n
		}
	}
	t.Logf("skipped %v, adjusted %v", res.Skipped, res.Adjusted)
	// The duplicate and the four records without an id.
	if skipped < 5 || res.Skipped["user: missing _id"] < 4 || res.Skipped["user: duplicate _id"] < 1 {
		t.Errorf("want the 4 user records without an id and the duplicate skipped and counted, got %d: %v", skipped, res.Skipped)
	}
	if len(res.Adjusted) == 0 {
		t.Error("the huge values were not reported as adjusted")
	}
	snap := sims.AZ.Snapshot(testenv.AppID)
	if raw := snap.Users[transform.UserAccountID(ids[2])]; len(raw) > 20_000 {
		t.Errorf("the huge record reached Authomize at %d bytes", len(raw))
	}
}
