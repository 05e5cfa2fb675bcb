package activities_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/testsuite"

	"jcsync/activities"
	"jcsync/internal/config"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/sim/authomizesim"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/testenv"
	"jcsync/internal/transform"
)

func newActivityEnv(t *testing.T, sims *testenv.Sims, identities bool) (*testsuite.TestActivityEnvironment, *activities.Activities) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	a := &activities.Activities{
		Integrations:    config.Integrations{"acme": sims.Integration("acme", identities)},
		Log:             log,
		PageConcurrency: 4,
	}
	testenv.FastRetries(a)
	env.RegisterActivity(a)
	return env, a
}

// A retried attempt of the users stage continues from the checkpoint in its heartbeat
// details: the pages before it are not fetched again.
func TestUsersStageResumesFromHeartbeatCheckpoint(t *testing.T) {
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 3, Users: 750, Groups: 3, Admins: 1, Apps: 1}))
	env, a := newActivityEnv(t, sims, false)
	// Three pages were committed: they start at 0, 99 and 198 (pages overlap by one user),
	// so the first 298 users are in, and the next page starts at the last of them.
	var tail []string
	for _, u := range sims.Org.Users[290:298] {
		tail = append(tail, u.ID)
	}
	env.SetHeartbeatDetails(activities.Checkpoint{
		Version:  activities.CheckpointVersion,
		NextSkip: 297, Tail: tail,
		Counts: activities.StageCounts{Read: map[string]int{"users": 298}, Uploaded: map[string]int{"accounts": 298}, Attempts: 1},
	})
	v, err := env.ExecuteActivity(a.Users, activities.StageInput{Integration: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	var r activities.StageResult
	if err := v.Get(&r); err != nil {
		t.Fatal(err)
	}
	for k := range sims.JC.Counts().Pages {
		if k.Endpoint == "/api/systemusers" && k.Skip < 297 {
			t.Fatalf("page at skip %d fetched although the checkpoint is at 297", k.Skip)
		}
	}
	if r.Counts.Read["users"] != 750 || r.Counts.Uploaded["accounts"] != 750 {
		t.Fatalf("counts carried over from the checkpoint: read %v uploaded %v", r.Counts.Read, r.Counts.Uploaded)
	}
	if r.Counts.PagesResumed != 3 || r.Counts.Attempts != 2 {
		t.Fatalf("pagesResumed=%d attempts=%d, want 3 and 2", r.Counts.PagesResumed, r.Counts.Attempts)
	}
	if got := len(sims.AZ.Snapshot(testenv.AppID).Users); got != 452 {
		t.Fatalf("%d accounts uploaded by the resumed attempt, want 452", got)
	}
}

// A checkpoint of another version is not trusted: the stage starts over.
func TestUnknownCheckpointVersionStartsOver(t *testing.T) {
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 3, Users: 250, Groups: 3, Admins: 1, Apps: 1}))
	env, a := newActivityEnv(t, sims, false)
	env.SetHeartbeatDetails(activities.Checkpoint{Version: 999, NextSkip: 200})
	if _, err := env.ExecuteActivity(a.Users, activities.StageInput{Integration: "acme"}); err != nil {
		t.Fatal(err)
	}
	if got := len(sims.AZ.Snapshot(testenv.AppID).Users); got != 250 {
		t.Fatalf("%d accounts uploaded, want all 250", got)
	}
}

// Dry run reads and transforms but writes nothing.
func TestDryRunWritesNothing(t *testing.T) {
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 5, Users: 120, Groups: 4, Admins: 3, Apps: 2}))
	env, a := newActivityEnv(t, sims, true)
	for _, stage := range []any{a.Users, a.Admins, a.Groups, a.Apps} {
		v, err := env.ExecuteActivity(stage, activities.StageInput{Integration: "acme", DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		var r activities.StageResult
		_ = v.Get(&r)
		if r.Stage == activities.StageUsers && (r.Counts.Uploaded["accounts"] != 120 || r.Counts.Uploaded["identities"] != 120) {
			t.Fatalf("dry run must count what it would upload: %v", r.Counts.Uploaded)
		}
	}
	if n := sims.AZ.Counts().Total; n != 0 {
		t.Fatalf("a dry run sent %d requests to Authomize", n)
	}
}

// Bad credentials are non-retryable errors that name the credential.
func TestValidateNamesTheWrongCredential(t *testing.T) {
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 5, Users: 10, Groups: 1, Admins: 1, Apps: 1}))
	cases := []struct {
		name string
		edit func(*config.Integration)
		want string
	}{
		{"bad JumpCloud key", func(in *config.Integration) { in.JumpCloud.APIKey = "jca_nope" }, "JumpCloud rejected the API key"},
		{"bad Authomize token", func(in *config.Integration) { in.Authomize.Token = "atm_nope" }, "Authomize rejected the API token"},
		{"unknown app", func(in *config.Integration) { in.Authomize.AppID = "nope" }, "Authomize app not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env, a := newActivityEnv(t, sims, false)
			in := a.Integrations["acme"]
			tc.edit(&in)
			a.Integrations["acme"] = in
			_, err := env.ExecuteActivity(a.Validate, activities.ValidateInput{Integration: "acme"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want %q, got %v", tc.want, err)
			}
			for _, secret := range []string{"jca_nope", "atm_nope", testenv.APIKey, testenv.Token} {
				if strings.Contains(err.Error(), secret) {
					t.Fatal("the error carries a secret")
				}
			}
		})
	}
}

// A user deleted in JumpCloud after the first page was read shifts every later page by one:
// the user at the boundary would be in neither page, and a sweep would delete a user who
// still exists. The stage notices (the pages no longer share a user), reads the gap again,
// and uploads every user that still exists: the read stays complete, so the sync can sweep.
func TestUsersStageRepairsAListThatChangedWhileRead(t *testing.T) {
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 12, Users: 300, Groups: 2, Admins: 1, Apps: 1})
	jc := jumpcloudsim.New(org, jumpcloudsim.Options{APIKey: testenv.APIKey})
	az := authomizesim.New(authomizesim.Options{Tokens: []string{testenv.Token}, Apps: []string{testenv.AppID}})
	var once sync.Once
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/systemusers" && r.URL.Query().Get("skip") != "" && r.URL.Query().Get("skip") != "0" {
			once.Do(func() { jc.Update(func(o *jumpcloudsim.Org) { o.RemoveUser(o.Users[0].ID) }) })
		}
		jc.ServeHTTP(w, r)
	})
	jcs, azs := httptest.NewServer(wrapped), httptest.NewServer(az)
	defer jcs.Close()
	defer azs.Close()
	sims := &testenv.Sims{Org: org, JC: jc, JCURL: jcs.URL, AZ: az, AZURL: azs.URL}
	env, a := newActivityEnv(t, sims, false)
	v, err := env.ExecuteActivity(a.Users, activities.StageInput{Integration: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	var r activities.StageResult
	if err := v.Get(&r); err != nil {
		t.Fatal(err)
	}
	if r.Counts.ListsChanged != 1 || r.Counts.RepairReads == 0 || len(r.Counts.Unstable) != 0 {
		t.Fatalf("change %d, repairs %d, unstable %v; want the change seen and repaired", r.Counts.ListsChanged, r.Counts.RepairReads, r.Counts.Unstable)
	}
	snap := sims.AZ.Snapshot(testenv.AppID)
	for _, u := range org.Users { // the 299 that still exist
		if _, ok := snap.Users[transform.UserAccountID(u.ID)]; !ok {
			t.Fatalf("user %s exists in JumpCloud but was not uploaded", u.ID)
		}
	}
	if r.Counts.Read["users"] != 299 && r.Counts.Read["users"] != 300 {
		t.Fatalf("read %d users; each user is counted once", r.Counts.Read["users"])
	}
}

// Groups finished by an earlier attempt are not read again, even inside a parent page that
// was not committed: what a crash costs is a few groups, not a page of 100.
func TestGroupsStageSkipsGroupsAnEarlierAttemptFinished(t *testing.T) {
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 4, Users: 200, Groups: 30, Admins: 1, Apps: 1})
	sims := testenv.StartSims(t, org)
	env, a := newActivityEnv(t, sims, false)
	done := map[string]int{org.Groups[3].ID: 0, org.Groups[7].ID: 0}
	env.SetHeartbeatDetails(activities.Checkpoint{
		Version: activities.CheckpointVersion, Total: 30, Done: done,
		Counts: activities.StageCounts{Attempts: 1, Read: map[string]int{"members": membersOf(org, 3) + membersOf(org, 7)}},
	})
	v, err := env.ExecuteActivity(a.Groups, activities.StageInput{Integration: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	var r activities.StageResult
	if err := v.Get(&r); err != nil {
		t.Fatal(err)
	}
	for k := range sims.JC.Counts().Pages {
		if _, skipped := done[k.ID]; skipped {
			t.Fatalf("members of group %s read again although an earlier attempt finished them", k.ID)
		}
	}
	if r.Counts.PagesResumed != 2 || len(r.Counts.Unstable) != 0 {
		t.Fatalf("resumed %d, unstable %v", r.Counts.PagesResumed, r.Counts.Unstable)
	}
	members := 0
	for i := range org.Groups {
		members += membersOf(org, i)
	}
	if r.Counts.Read["members"] != members || r.Counts.Read["groups"] != 30 {
		t.Fatalf("read %v, want %d members (each counted once) and 30 groups", r.Counts.Read, members)
	}
}

// membersOf counts what /members serves for the i-th group: users and nested groups.
func membersOf(org *jumpcloudsim.Org, i int) int {
	id := org.Groups[i].ID
	return len(org.Members[id]) + len(org.NestedGroups[id])
}

// rewriteRecord serves, on every page of path, the record whose id field is id with the given
// fields replaced by raw JSON values (a v1 body when v1, else a v2 array).
func rewriteRecord(sims *testenv.Sims, path, idField, id string, v1 bool, fields map[string]string) {
	sims.JC.RewriteBodies(path, func(r *http.Request, body []byte) []byte {
		if r.URL.Path != path {
			return body
		}
		var env struct {
			TotalCount int                          `json:"totalCount"`
			Results    []map[string]json.RawMessage `json:"results"`
		}
		recs := &env.Results
		var err error
		if v1 {
			err = json.Unmarshal(body, &env)
		} else {
			err = json.Unmarshal(body, recs)
		}
		if err != nil {
			return body
		}
		for _, rec := range *recs {
			var got string
			if json.Unmarshal(rec[idField], &got) == nil && got == id {
				for k, v := range fields {
					rec[k] = json.RawMessage(v)
				}
			}
		}
		var out []byte
		if v1 {
			out, _ = json.Marshal(env)
		} else {
			out, _ = json.Marshal(*recs)
		}
		return out
	})
}

func stageResult(t *testing.T, env *testsuite.TestActivityEnvironment, fn any, in activities.StageInput) activities.StageResult {
	t.Helper()
	v, err := env.ExecuteActivity(fn, in)
	if err != nil {
		t.Fatal(err)
	}
	var r activities.StageResult
	if err := v.Get(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// A group whose name has the wrong type exists, but its grouping cannot be kept (Authomize's
// PATCH of a grouping requires the name), so the sync must not sweep what Authomize holds of
// it: the stage counts it as unreadable, which the workflow checks before its sweep. The
// list itself was read whole, so it is not reported unstable.
func TestUnreadableRecordsHoldBackEveryKindOfSweep(t *testing.T) {
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 71, Users: 150, Groups: 12, Admins: 1, Apps: 1}))
	bad := sims.Org.Groups[5].ID
	rewriteRecord(sims, "/api/v2/usergroups", "id", bad, false, map[string]string{"name": `{"en":"x"}`})
	env, a := newActivityEnv(t, sims, false)
	r := stageResult(t, env, a.Groups, activities.StageInput{Integration: "acme"})
	if r.Counts.Unreadable != 1 || r.Counts.Report.Skipped["group.name: wrong type, group left out"] != 1 || r.Counts.Read["groups"] != 11 ||
		len(r.Counts.Dropped) != 1 || r.Counts.Dropped[0] != bad {
		t.Fatalf("unreadable %d, skipped %v, read %d, dropped %v", r.Counts.Unreadable, r.Counts.Report.Skipped, r.Counts.Read["groups"], r.Counts.Dropped)
	}
	if len(r.Counts.Unstable) > 0 {
		t.Fatalf("unstable %v: an unreadable record is counted as such, not as a list that changed", r.Counts.Unstable)
	}
}

// A user left out for an unusable email keeps its earlier copy: the users stage PATCHes its
// uniqueId (and its identity's), which refreshes the record unchanged, so a sweep at this
// run's cutoff spares it, and nothing holds the sweep. A user never uploaded before has no
// earlier copy: nothing is created for it. A wrongly typed employeeIdentifier or mfa costs
// only that field.
func TestLeftOutUserKeepsItsEarlierCopy(t *testing.T) {
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 72, Users: 150, Groups: 2, Admins: 2, Apps: 1}))
	env, a := newActivityEnv(t, sims, true)
	first := stageResult(t, env, a.Users, activities.StageInput{Integration: "acme"})
	if first.Counts.Uploaded["accounts"] != 150 {
		t.Fatalf("first run uploaded %v", first.Counts.Uploaded)
	}
	kept, odd := sims.Org.Users[7].ID, sims.Org.Users[8].ID
	before := sims.AZ.Snapshot(testenv.AppID)
	// One user JumpCloud now sends with an email of the wrong type, one with stray fields, and a
	// new user whose state has the wrong type.
	fresh := sims.Org.NewID()
	sims.JC.Update(func(o *jumpcloudsim.Org) {
		o.AddUser(jumpcloud.SystemUser{ID: fresh, Username: "fresh", State: jumpcloud.StateActivated})
	})
	rewriteRecord(sims, "/api/systemusers", "_id", kept, true, map[string]string{"email": `["a@example.com"]`})
	rewriteRecord(sims, "/api/systemusers", "_id", odd, true, map[string]string{"employeeIdentifier": `12345`, "mfa": `"on"`})
	rewriteRecord(sims, "/api/systemusers", "_id", fresh, true, map[string]string{"state": `7`})

	env2, a2 := newActivityEnv(t, sims, true)
	r := stageResult(t, env2, a2.Users, activities.StageInput{Integration: "acme"})
	if r.Counts.Unreadable != 0 || len(r.Counts.Unstable) != 0 {
		t.Fatalf("a user whose earlier copy was kept holds the sweep: unreadable %d %v, unstable %v", r.Counts.Unreadable, r.Counts.UnreadableNamed, r.Counts.Unstable)
	}
	if r.Counts.Kept["accounts"] != 1 || r.Counts.Kept["identities"] != 1 || r.Counts.NotKept["accounts"] != 1 || r.Counts.NotKept["identities"] != 1 {
		t.Fatalf("kept %v, not kept %v", r.Counts.Kept, r.Counts.NotKept)
	}
	if len(r.Counts.Dropped) != 2 || r.Counts.Uploaded["accounts"] != 149 {
		t.Fatalf("dropped %v, uploaded %v", r.Counts.Dropped, r.Counts.Uploaded)
	}
	wantSkipped := map[string]int{"user.email: wrong type, user left out": 1, "user.state: wrong type, user left out": 1}
	wantAdjusted := map[string]int{"user.employeeIdentifier: wrong type": 1, "user.mfa: wrong type": 1}
	for k, n := range wantSkipped {
		if r.Counts.Report.Skipped[k] != n {
			t.Fatalf("skipped %v, want %v among them", r.Counts.Report.Skipped, wantSkipped)
		}
	}
	for k, n := range wantAdjusted {
		if r.Counts.Report.Adjusted[k] != n {
			t.Fatalf("adjusted %v, want %v among them", r.Counts.Report.Adjusted, wantAdjusted)
		}
	}
	// The sweep at this run's cutoff deletes what the run did not refresh.
	if _, err := env2.ExecuteActivity(a2.Sweep, activities.SweepInput{Integration: "acme", Cutoff: r.Counts.EarliestAccepted}); err != nil {
		t.Fatal(err)
	}
	after := sims.AZ.Snapshot(testenv.AppID)
	if len(after.Users) != 150 || len(after.Identities) != 150 {
		t.Fatalf("after the sweep: %d accounts, %d identities, want 150 each", len(after.Users), len(after.Identities))
	}
	sameJSON := func(a, b json.RawMessage) bool {
		var x, y any
		return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
	}
	if !sameJSON(after.Users[kept], before.Users[kept]) || !sameJSON(after.Identities[kept], before.Identities[kept]) {
		t.Fatalf("the kept copy changed:\n%s\n%s", before.Users[kept], after.Users[kept])
	}
	if after.Users[fresh] != nil {
		t.Fatalf("a user never uploaded got a record: %s", after.Users[fresh])
	}
	var acc struct {
		Name             string `json:"name"`
		CustomProperties []struct{ Key, Value string }
	}
	if err := json.Unmarshal(after.Users[odd], &acc); err != nil || acc.Name == "" {
		t.Fatalf("the user with stray fields: %s (%v)", after.Users[odd], err)
	}
	for _, p := range acc.CustomProperties {
		if p.Key == "employeeIdentifier" {
			t.Fatalf("a wrongly typed employeeIdentifier was uploaded: %s", after.Users[odd])
		}
	}
}

// No relation points at a record the run left out: the memberships and bindings of a user the
// users stage left out, and the bindings of a group the groups stage left out, are not sent
// but counted; everything else is.
func TestNoRelationToALeftOutRecord(t *testing.T) {
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 73, Users: 120, Groups: 6, Admins: 1, Apps: 4,
		UserBindingsPerApp: 30, GroupBindingsPerApp: 3}))
	o := sims.Org
	// A user who is a member of a group and bound to an app, and a group bound to an app.
	var user, group string
	for g, ms := range o.Members {
		for _, u := range ms {
			for _, us := range o.AppUsers {
				if user == "" && slices.Contains(us, u) {
					user = u
				}
			}
		}
		_ = g
	}
	for _, gs := range o.AppGroups {
		if group == "" && len(gs) > 0 && len(o.Members[gs[0]]) > 0 {
			group = gs[0]
		}
	}
	if user == "" || group == "" {
		t.Fatal("the generated org has no user both member and bound, or no bound group")
	}
	rewriteRecord(sims, "/api/systemusers", "_id", user, true, map[string]string{"state": `{"s":1}`})
	rewriteRecord(sims, "/api/v2/usergroups", "id", group, false, map[string]string{"name": `7`})
	env, a := newActivityEnv(t, sims, false)
	// As the workflow passes them: each phase's input names what the phases before left out.
	var earlier []activities.StageResult
	in := func() activities.StageInput {
		return activities.StageInput{Integration: "acme", Earlier: activities.DroppedOf(earlier)}
	}
	earlier = append(earlier, stageResult(t, env, a.Users, in()))
	earlier = append(earlier, stageResult(t, env, a.Groups, in()))
	apps := stageResult(t, env, a.Apps, in())

	memberships, userBindings, groupBindings := 0, 0, 0
	for g, ms := range o.Members {
		if g != group && slices.Contains(ms, user) {
			memberships++
		}
	}
	for _, us := range o.AppUsers {
		if slices.Contains(us, user) {
			userBindings++
		}
	}
	for _, gs := range o.AppGroups {
		if slices.Contains(gs, group) {
			groupBindings++
		}
	}
	if got := earlier[1].Counts.Report.Skipped["membership: member not uploaded"]; got != memberships || memberships == 0 {
		t.Fatalf("memberships of the user left out: %d counted, %d in the org", got, memberships)
	}
	if got := apps.Counts.Report.Skipped["binding: user not uploaded"]; got != userBindings {
		t.Fatalf("bindings of the user left out: %d counted, %d in the org", got, userBindings)
	}
	if got := apps.Counts.Report.Skipped["binding: group not uploaded"]; got != groupBindings || groupBindings == 0 {
		t.Fatalf("bindings of the group left out: %d counted, %d in the org", got, groupBindings)
	}
	snap := sims.AZ.Snapshot(testenv.AppID)
	for k := range snap.Memberships {
		if k[0] == user || k[1] == group {
			t.Fatalf("a membership points at a record left out: %v", k)
		}
	}
	for k := range snap.Permissions {
		if k[1] == user || k[1] == group {
			t.Fatalf("a permission points at a record left out: %v", k)
		}
	}
	if earlier[1].Counts.InvalidReferences != 0 || apps.Counts.InvalidReferences != 0 {
		t.Fatalf("Authomize named invalid references: groups %d, apps %d", earlier[1].Counts.InvalidReferences, apps.Counts.InvalidReferences)
	}
	if len(apps.Warnings) != 0 {
		t.Fatalf("warnings: %v", apps.Warnings)
	}
}
