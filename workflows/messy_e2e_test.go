package workflows_test

import (
	"testing"

	"jcsync/activities"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/transform"
	"jcsync/workflows"
)

// A messy org: users with a number for employeeIdentifier or a string for mfa, users whose
// email or state has the wrong type, apps whose displayLabel is an object (displayName names
// them), admins with a stray field. Synced twice, the second time after users were removed
// and added and a user uploaded before turned messy: everything with a usable identity is in
// Authomize exactly, nothing points at a record left out, the user uploaded before keeps its
// earlier copy, and both syncs sweep.
func TestE2EMessyOrgSyncsExactlyAndSweeps(t *testing.T) {
	const messy = 3
	e := newE2E(t, jumpcloudsim.GenConfig{Seed: 61, Users: 400, Groups: 20, Admins: 4, Apps: 8,
		UserBindingsPerApp: 25, GroupBindingsPerApp: 2, Messy: messy}, true, nil)
	res, _, err := e.sync(workflows.SyncInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Swept || res.Unreadable != 0 || res.SweepSkipped != "" {
		t.Fatalf("first sync: swept %v, unreadable %d %v, skipped %q", res.Swept, res.Unreadable, res.UnreadableNamed, res.SweepSkipped)
	}
	e.requireExact(e.expected(true))
	t.Logf("first sync: read %v; uploaded %v; left out %v; fields left out %v; invalid references %d",
		res.Read, res.Uploaded, res.Skipped, res.Adjusted, res.InvalidReferences)
	for reason, n := range map[string]int{
		"user.email: wrong type, user left out": messy, "user.state: wrong type, user left out": messy,
	} {
		if res.Skipped[reason] != n {
			t.Fatalf("skipped %v, want %s: %d", res.Skipped, reason, n)
		}
	}
	for reason, n := range map[string]int{
		"user.employeeIdentifier: wrong type": messy, "user.mfa: wrong type": messy,
		"app.displayLabel: wrong type": messy, "admin.enableMultiFactor: wrong type": messy,
	} {
		if res.Adjusted[reason] != n {
			t.Fatalf("adjusted %v, want %s: %d", res.Adjusted, reason, n)
		}
	}
	if res.Skipped["membership: member not uploaded"] == 0 || res.InvalidReferences != 0 {
		t.Fatalf("memberships of users left out: %d not sent; invalid references %d",
			res.Skipped["membership: member not uploaded"], res.InvalidReferences)
	}
	if res.Uploaded["accounts"] != 400-2*messy+4 || res.Kept["accounts"] != 0 {
		t.Fatalf("uploaded %v, kept %v", res.Uploaded, res.Kept)
	}

	// Users leave and join, and a user uploaded by the first sync now comes with an email of
	// the wrong type.
	var turned string
	var whole jumpcloudsim.Expected // the org as it would be without the odd email
	e.sims.JC.Update(func(o *jumpcloudsim.Org) {
		for range 5 {
			o.RemoveUser(o.Users[len(o.Users)-1].ID)
		}
		turned = o.Users[100].ID
		whole = o.Expected(true)
		o.SetOdd(turned, "email", `["x@example.com"]`)
	})
	want := e.expected(true)
	// Its earlier account and identity are kept, so its memberships and bindings point at a
	// record Authomize holds: they are sent, and its access stays visible.
	want.Accounts[transform.UserAccountID(turned)] = true
	want.Identities[turned] = true
	account, related := transform.UserAccountID(turned), 0
	for m := range whole.Memberships {
		if m[0] == account {
			want.Memberships[m] = true
			related++
		}
	}
	for p := range whole.Permissions {
		if p[1] == account {
			want.Permissions[p] = true
			related++
		}
	}
	if related == 0 {
		t.Fatal("the user turned odd has no membership or binding: the test proves nothing")
	}
	res, _, err = e.sync(workflows.SyncInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Swept || res.Unreadable != 0 {
		t.Fatalf("second sync: swept %v, unreadable %d, skipped %q", res.Swept, res.Unreadable, res.SweepSkipped)
	}
	e.requireExact(want)
	t.Logf("second sync: kept %v; left out %v; swept %v; invalid references %d", res.Kept, res.Skipped, res.Swept, res.InvalidReferences)
	var users activities.StageResult
	for _, s := range res.Stages {
		if s.Stage == activities.StageUsers {
			users = s
		}
	}
	if users.Counts.Kept["accounts"] != 1 || users.Counts.Kept["identities"] != 1 || users.Counts.NotKept["accounts"] != 2*messy {
		t.Fatalf("kept %v, not kept %v (the users left out that were never uploaded)", users.Counts.Kept, users.Counts.NotKept)
	}
}
