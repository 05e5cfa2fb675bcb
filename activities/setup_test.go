package activities_test

import (
	"encoding/json"
	"strings"
	"testing"

	"jcsync/activities"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/testenv"
	"jcsync/internal/transform"
)

// adminWithRoles finds a generated admin whose roles are exactly roles.
func adminWithRoles(t *testing.T, org *jumpcloudsim.Org, roles ...string) jumpcloud.Admin {
	t.Helper()
	for _, a := range org.Admins {
		got := jumpcloudsim.AdminRoles(a)
		if len(got) == len(roles) && strings.EqualFold(strings.Join(got, ","), strings.Join(roles, ",")) && !a.Suspended {
			return a
		}
	}
	t.Fatalf("the generated org has no admin with roles %v", roles)
	return jumpcloud.Admin{}
}

func validate(t *testing.T, sims *testenv.Sims, adminEmail, ownerEmail string) (activities.ValidateResult, error) {
	t.Helper()
	env, a := newActivityEnv(t, sims, false)
	in := a.Integrations["acme"]
	in.JumpCloud.AdminEmail, in.Authomize.OwnerEmail = adminEmail, ownerEmail
	a.Integrations["acme"] = in
	v, err := env.ExecuteActivity(a.Validate, activities.ValidateInput{Integration: "acme"})
	if err != nil {
		return activities.ValidateResult{}, err
	}
	var r activities.ValidateResult
	if err := v.Get(&r); err != nil {
		t.Fatal(err)
	}
	return r, nil
}

func TestValidateLeastPrivilegeAdmin(t *testing.T) {
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 8, Users: 40, Groups: 3, Admins: 12, Apps: 2})
	sims := testenv.StartSims(t, org)

	t.Run("read-only admin validates clean", func(t *testing.T) {
		ro := adminWithRoles(t, org, jumpcloud.RoleReadOnly)
		r, err := validate(t, sims, strings.ToUpper(ro.Email), "")
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Warnings) != 0 || len(r.AdminRoles) != 1 {
			t.Fatalf("warnings %v roles %v", r.Warnings, r.AdminRoles)
		}
	})
	t.Run("administrator validates with a warning naming the role", func(t *testing.T) {
		adm := adminWithRoles(t, org, jumpcloud.RoleAdministrator)
		r, err := validate(t, sims, adm.Email, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], `"Administrator"`) || !strings.Contains(r.Warnings[0], "Read Only") {
			t.Fatalf("warnings %v", r.Warnings)
		}
		if strings.Contains(r.Warnings[0], adm.Email) {
			t.Fatal("the warning carries the administrator's email into the workflow history")
		}
	})
	t.Run("unknown admin is an error naming the email", func(t *testing.T) {
		_, err := validate(t, sims, "ghost@example.invalid", "")
		if err == nil || !strings.Contains(err.Error(), `"ghost@example.invalid" not found`) {
			t.Fatalf("want an error naming the email, got %v", err)
		}
	})
}

func TestOwnerResolvedAndSetOnAssetsAndGroupings(t *testing.T) {
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 8, Users: 40, Groups: 3, Admins: 4, Apps: 3})
	sims := testenv.StartSims(t, org)
	owner := org.Users[7]

	r, err := validate(t, sims, "", owner.Email)
	if err != nil {
		t.Fatal(err)
	}
	if r.OwnerID != transform.UserAccountID(owner.ID) {
		t.Fatalf("owner id %q, want %q", r.OwnerID, owner.ID)
	}
	env, a := newActivityEnv(t, sims, false)
	for _, stage := range []any{a.Users, a.Groups, a.Apps, a.Admins} {
		if _, err := env.ExecuteActivity(stage, activities.StageInput{Integration: "acme", OwnerID: r.OwnerID}); err != nil {
			t.Fatal(err)
		}
	}
	snap := sims.AZ.Snapshot(testenv.AppID)
	check := func(kind string, items map[string]json.RawMessage) {
		for id, raw := range items {
			var v struct{ Owner string }
			_ = json.Unmarshal(raw, &v)
			if v.Owner != r.OwnerID {
				t.Fatalf("%s %s has owner %q, want %q", kind, id, v.Owner, r.OwnerID)
			}
		}
	}
	check("asset", snap.Assets)
	check("grouping", snap.Groupings)

	t.Run("no match is a note, not a failure", func(t *testing.T) {
		r, err := validate(t, sims, "", "nobody@example.invalid")
		if err != nil {
			t.Fatal(err)
		}
		if r.OwnerID != "" || len(r.Warnings) != 2 || !strings.Contains(r.Warnings[1], "matches no JumpCloud user") {
			t.Fatalf("owner %q warnings %v", r.OwnerID, r.Warnings)
		}
	})
}
