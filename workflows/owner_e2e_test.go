package workflows_test

import (
	"encoding/json"
	"testing"
	"time"

	"jcsync/internal/config"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/testenv"
	"jcsync/internal/transform"
	"jcsync/workflows"
)

// TestE2EFirstSyncWithAnOwnerIsExact runs the first sync of an integration whose app owner
// (AUTHOMIZE_OWNER_EMAIL) is a directory user on the users stage's last page: Authomize reports
// no invalid reference, and every asset and grouping names the owner's account, so nothing
// waits for the next sync to get its owner.
func TestE2EFirstSyncWithAnOwnerIsExact(t *testing.T) {
	tc := devServer(t)
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 17, Users: 700, Groups: 6, Admins: 6, Apps: 4})
	sims := testenv.StartSims(t, org)
	// Every users page then takes longer than the whole admins stage, which runs beside it.
	sims.JC.SetLatency(5 * time.Millisecond)
	owner := org.Users[len(org.Users)-1]
	const name = "owner-first-sync"
	in := sims.Integration(name, false)
	in.Authomize.OwnerEmail = owner.Email
	queue := "e2e-" + name
	testenv.StartWorker(t, tc.Client, queue, config.Integrations{name: in}, nil)
	e := &e2e{t: t, tc: tc, sims: sims, queue: queue, name: name}

	res, _, err := e.sync(workflows.SyncInput{})
	if err != nil {
		t.Fatalf("first sync: %v", err)
	}
	if res.InvalidReferences != 0 || len(res.Rejected) != 0 {
		t.Fatalf("first sync: %d invalid references, rejected %v", res.InvalidReferences, res.Rejected)
	}
	want := transform.UserAccountID(owner.ID)
	snap := sims.AZ.Snapshot(testenv.AppID)
	for kind, items := range map[string]map[string]json.RawMessage{"asset": snap.Assets, "grouping": snap.Groupings} {
		for id, raw := range items {
			if id == transform.BaselineAssetID {
				continue // the connector's own record, not an asset of the org
			}
			var v struct{ Owner string }
			if err := json.Unmarshal(raw, &v); err != nil || v.Owner != want {
				t.Fatalf("%s %s: owner %q, want %q (%v)", kind, id, v.Owner, want, err)
			}
		}
	}
}
