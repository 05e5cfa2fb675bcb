package activities_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"jcsync/activities"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/testenv"
)

func relationsOrg() *jumpcloudsim.Org {
	return jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 31, Users: 80, Groups: 4, Admins: 1, Apps: 3,
		UserBindingsPerApp: 5, GroupBindingsPerApp: 2})
}

// runStage runs one stage activity and returns its result, or its error.
func runStage(t *testing.T, sims *testenv.Sims, stage func(*activities.Activities) any) (activities.StageResult, error) {
	t.Helper()
	env, a := newActivityEnv(t, sims, false)
	v, err := env.ExecuteActivity(stage(a), activities.StageInput{Integration: "acme"})
	if err != nil {
		return activities.StageResult{}, err
	}
	var r activities.StageResult
	if err := v.Get(&r); err != nil {
		t.Fatal(err)
	}
	return r, nil
}

func groupsStage(a *activities.Activities) any { return a.Groups }
func appsStage(a *activities.Activities) any   { return a.Apps }

// A member or binding list that answers 404 while its group or app still exists is not an
// empty list: its relations would go unsent and be swept. The attempt fails and is retried;
// only when the group or app itself answers 404 is it taken as deleted.
func TestChildList404IsBelievedOnlyWhenTheOwnerIsGone(t *testing.T) {
	org := relationsOrg()
	clean := testenv.StartSims(t, relationsOrg())
	want := map[string]activities.StageResult{}
	for name, stage := range map[string]func(*activities.Activities) any{"groups": groupsStage, "apps": appsStage} {
		r, err := runStage(t, clean, stage)
		if err != nil {
			t.Fatal(err)
		}
		want[name] = r
	}
	var g, app string
	for _, gr := range org.Groups {
		if len(org.Members[gr.ID]) > 0 && g == "" {
			g = gr.ID
		}
	}
	for _, a := range org.Apps {
		if len(org.AppUsers[a.ID]) > 0 && app == "" {
			app = a.ID
		}
	}
	if g == "" || app == "" {
		t.Fatal("the org needs a group with members and an app with bindings")
	}
	cases := []struct {
		name, stage, fail, read, gone string
		run                           func(*activities.Activities) any
		ownerGone                     bool
	}{
		{"members 404, group there", "groups", "/api/v2/usergroups/" + g + "/members", "members", "group: deleted during the sync", groupsStage, false},
		{"members and group 404", "groups", "/api/v2/usergroups/" + g, "members", "group: deleted during the sync", groupsStage, true},
		{"bindings 404, app there", "apps", "/api/v2/applications/" + app + "/associations", "bindings", "app: deleted during the sync", appsStage, false},
		{"bindings and app 404", "apps", "/api/v2/applications/" + app + "/associations", "bindings", "app: deleted during the sync", appsStage, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sims := testenv.StartSims(t, relationsOrg())
			sims.JC.FailNext(tc.fail, 10, http.StatusNotFound)
			if tc.ownerGone && tc.stage == "apps" {
				sims.JC.FailNext("/api/applications/"+app, 10, http.StatusNotFound)
			}
			r, err := runStage(t, sims, tc.run)
			if tc.ownerGone {
				if err != nil {
					t.Fatal(err)
				}
				if r.Counts.Report.Skipped[tc.gone] == 0 || r.Counts.Read[tc.read] >= want[tc.stage].Counts.Read[tc.read] {
					t.Fatalf("skipped %v, read %d of %d: the deleted owner's relations should be skipped",
						r.Counts.Report.Skipped, r.Counts.Read[tc.read], want[tc.stage].Counts.Read[tc.read])
				}
				return
			}
			var appErr *temporal.ApplicationError
			if err == nil || !errors.As(err, &appErr) || appErr.NonRetryable() || !strings.Contains(err.Error(), "404") {
				t.Fatalf("want a retryable error naming the 404, got %v (result %+v)", err, r.Counts.Report.Skipped)
			}
			// The retry, once the list answers again, sends every relation.
			sims.JC.ClearFaults()
			r, err = runStage(t, sims, tc.run)
			if err != nil {
				t.Fatal(err)
			}
			if r.Counts.Read[tc.read] != want[tc.stage].Counts.Read[tc.read] || r.Counts.Report.Skipped[tc.gone] != 0 {
				t.Fatalf("read %d of %d %s, skipped %v", r.Counts.Read[tc.read], want[tc.stage].Counts.Read[tc.read], tc.read, r.Counts.Report.Skipped)
			}
		})
	}
}
