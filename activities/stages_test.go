package activities_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/testsuite"

	"jcsync/activities"
	"jcsync/internal/config"
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

// A user record that does not decode although its id does: the user exists, so the sync must
// not sweep what Authomize holds of it. Workflows of this version check Unreadable; runs
// started by the previous version look only at Unstable, so for them it is reported there too.
func TestUnreadableRecordsHoldBackEveryKindOfSweep(t *testing.T) {
	for _, safe := range []bool{true, false} {
		sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 71, Users: 150, Groups: 2, Admins: 1, Apps: 1}))
		sims.JC.RewriteBodies("/api/systemusers", func(r *http.Request, body []byte) []byte {
			if r.URL.Query().Get("skip") != "0" || r.URL.Query().Get("limit") != "100" {
				return body
			}
			var env struct {
				TotalCount int                          `json:"totalCount"`
				Results    []map[string]json.RawMessage `json:"results"`
			}
			if json.Unmarshal(body, &env) != nil || len(env.Results) < 10 {
				return body
			}
			env.Results[5]["suspended"] = json.RawMessage(`"yes"`)
			out, _ := json.Marshal(env)
			return out
		})
		env, a := newActivityEnv(t, sims, false)
		v, err := env.ExecuteActivity(a.Users, activities.StageInput{Integration: "acme", SafeSweep: safe})
		if err != nil {
			t.Fatal(err)
		}
		var r activities.StageResult
		if err := v.Get(&r); err != nil {
			t.Fatal(err)
		}
		if r.Counts.Unreadable != 1 || r.Counts.Report.Skipped["user: undecodable record"] != 1 || r.Counts.Read["users"] != 149 {
			t.Fatalf("safe=%v: unreadable %d, skipped %v, read %d", safe, r.Counts.Unreadable, r.Counts.Report.Skipped, r.Counts.Read["users"])
		}
		if unstable := len(r.Counts.Unstable) > 0; unstable == safe {
			t.Fatalf("safe=%v: unstable %v; a run of the previous version must see the unreadable user as an unstable list", safe, r.Counts.Unstable)
		}
	}
}
