package jumpcloudsim

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"jcsync/internal/jumpcloud"
	"jcsync/internal/transform"
)

func TestGenerateDeterministic(t *testing.T) {
	cfg := GenConfig{Seed: 42, Users: 500, Groups: 40, Admins: 12, Apps: 15, UserBindingsPerApp: 5, GroupBindingsPerApp: 2}
	a, _ := json.Marshal(Generate(cfg))
	b, _ := json.Marshal(Generate(cfg))
	if !bytes.Equal(a, b) {
		t.Fatal("same seed gave different orgs")
	}
	cfg.Seed = 43
	c, _ := json.Marshal(Generate(cfg))
	if bytes.Equal(a, c) {
		t.Fatal("different seeds gave the same org")
	}
	// The relation maps are unexported-order maps; compare them too.
	o1, o2 := Generate(GenConfig{Seed: 7, Users: 300, Groups: 20, Apps: 5, UserBindingsPerApp: 3, GroupBindingsPerApp: 2}),
		Generate(GenConfig{Seed: 7, Users: 300, Groups: 20, Apps: 5, UserBindingsPerApp: 3, GroupBindingsPerApp: 2})
	for _, pair := range [][2]any{{o1.Members, o2.Members}, {o1.AppUsers, o2.AppUsers}, {o1.AppGroups, o2.AppGroups}} {
		x, _ := json.Marshal(pair[0])
		y, _ := json.Marshal(pair[1])
		if !bytes.Equal(x, y) {
			t.Fatal("relations differ for the same seed")
		}
	}
}

func TestGenerateRealistic(t *testing.T) {
	o := Generate(GenConfig{Seed: 1, Users: 1000, Groups: 50, Admins: 20, Apps: 24, UserBindingsPerApp: 10, GroupBindingsPerApp: 3})
	if len(o.Users) != 1000 || len(o.Groups) != 50 || len(o.Admins) != 20 || len(o.Apps) != 24 {
		t.Fatalf("sizes: %d users %d groups %d admins %d apps", len(o.Users), len(o.Groups), len(o.Admins), len(o.Apps))
	}
	states := map[string]int{}
	var locked, mfa, noMFA, managers, long64, long256 int
	ids := map[string]bool{}
	for _, u := range o.Users {
		if len(u.ID) != 24 || strings.Trim(u.ID, "0123456789abcdef") != "" {
			t.Fatalf("bad id %q", u.ID)
		}
		if ids[u.ID] {
			t.Fatalf("duplicate id %s", u.ID)
		}
		ids[u.ID] = true
		states[u.State]++
		if u.AccountLocked {
			locked++
		}
		if u.MFA != nil && u.MFA.Configured {
			mfa++
		} else {
			noMFA++
		}
		if u.Manager != "" {
			if _, ok := o.User(u.Manager); !ok {
				t.Fatalf("manager %s is not a user", u.Manager)
			}
			managers++
		}
		if len(u.JobTitle) > 64 {
			long64++
		}
		if len(u.Description) > 256 {
			long256++
		}
	}
	for _, s := range []string{jumpcloud.StateStaged, jumpcloud.StateActivated, jumpcloud.StateSuspended} {
		if states[s] == 0 {
			t.Errorf("no user in state %s", s)
		}
	}
	if locked == 0 || mfa == 0 || noMFA == 0 || managers == 0 || long64 == 0 || long256 == 0 {
		t.Errorf("locked=%d mfa=%d noMFA=%d managers=%d long64=%d long256=%d", locked, mfa, noMFA, managers, long64, long256)
	}
	if o.Users[0].Firstname+" "+o.Users[0].Lastname != "Zoë Ångström" || displayName(o.Users[1].Firstname, o.Users[1].Lastname) != "李小龍" {
		t.Errorf("unicode names: %q %q", displayName(o.Users[0].Firstname, o.Users[0].Lastname), displayName(o.Users[1].Firstname, o.Users[1].Lastname))
	}
	if n := len(o.Members[o.Groups[0].ID]); n != 0 {
		t.Errorf("group 0 has %d members, want 0", n)
	}
	if n := len(o.Members[o.Groups[1].ID]); n != 1 {
		t.Errorf("group 1 has %d members, want 1", n)
	}
	if n := len(o.Members[o.Groups[2].ID]); n < 300 {
		t.Errorf("group 2 has %d members, want several hundred", n)
	}
	roles := map[string]bool{}
	multi := 0
	for _, a := range o.Admins {
		for _, r := range AdminRoles(a) {
			roles[transform.RoleSlug(r)] = true
		}
		if len(a.RoleNames) > 1 {
			multi++
		}
	}
	for _, r := range jumpcloud.BuiltinRoles {
		if !roles[transform.RoleSlug(r)] {
			t.Errorf("no admin holds %q", r)
		}
	}
	if multi == 0 {
		t.Error("no admin with several roles")
	}
	types := map[string]bool{}
	for _, a := range o.Apps {
		types[a.SSO.Type] = true
		if a.Logo == nil || a.Logo.URL == "" {
			t.Errorf("app %s without logo", a.ID)
		}
	}
	for _, ty := range []string{"saml", "oidc", "bookmark"} {
		if !types[ty] {
			t.Errorf("no %s app", ty)
		}
	}
	if len(o.LDAPGroups) == 0 || len(o.RadiusGroups) == 0 || len(o.NestedGroups) == 0 {
		t.Error("graph does not leak LDAP/RADIUS/nested groups")
	}
}

func TestExpected(t *testing.T) {
	o := Generate(GenConfig{Seed: 3, Users: 200, Groups: 30, Admins: 16, Apps: 10, UserBindingsPerApp: 4, GroupBindingsPerApp: 2})
	e := o.Expected(true)
	if len(e.Accounts) != 200+16 || len(e.Identities) != 200 {
		t.Errorf("accounts %d identities %d", len(e.Accounts), len(e.Identities))
	}
	if len(e.Groupings) != 30+len(jumpcloud.BuiltinRoles) {
		t.Errorf("groupings %d", len(e.Groupings))
	}
	if len(e.Assets) != 10+1 || !e.Assets[transform.ConsoleAssetID] {
		t.Errorf("assets %d", len(e.Assets))
	}
	if len(e.Privileges) != 1+len(jumpcloud.BuiltinRoles) || !e.Privileges[transform.SSOPrivilegeID] {
		t.Errorf("privileges %d", len(e.Privileges))
	}
	direct := 0
	for _, ms := range o.Members {
		direct += len(ms)
	}
	roleMemberships := 0
	for _, a := range o.Admins {
		roleMemberships += len(AdminRoles(a))
	}
	if len(e.Memberships) != direct+roleMemberships {
		t.Errorf("memberships %d, want %d", len(e.Memberships), direct+roleMemberships)
	}
	bindings := 0
	for _, us := range o.AppUsers {
		bindings += len(us)
	}
	for _, gs := range o.AppGroups {
		bindings += len(gs)
	}
	if len(e.Permissions) != bindings+len(jumpcloud.BuiltinRoles) {
		t.Errorf("permissions %d, want %d", len(e.Permissions), bindings+len(jumpcloud.BuiltinRoles))
	}
	if e2 := o.Expected(false); len(e2.Identities) != 0 {
		t.Error("identities without the option")
	}
	// LDAP and RADIUS never reach Authomize.
	leak := func(id string) bool { return strings.Contains(id, o.LDAP.ID) || strings.Contains(id, o.RADIUS.ID) }
	for _, m := range []map[string]bool{e.Accounts, e.Identities, e.Groupings, e.Assets, e.Privileges} {
		for id := range m {
			if leak(id) {
				t.Fatalf("LDAP/RADIUS id in expected: %s", id)
			}
		}
	}
	for k := range e.Permissions {
		if leak(k[1]) || leak(k[3]) {
			t.Fatalf("LDAP/RADIUS id in permission %v", k)
		}
	}
	// Nested groups are not accounts: no membership names a group as its account.
	for k := range e.Memberships {
		if _, isGroup := o.Group(k[0]); isGroup {
			t.Fatalf("group %s used as an account", k[0])
		}
	}
}

func TestGenerateLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large org")
	}
	o := Generate(GenConfig{Seed: 9, Users: 100_000, Groups: 1000, Admins: 10, Apps: 50, UserBindingsPerApp: 50, GroupBindingsPerApp: 5})
	if len(o.Users) != 100_000 {
		t.Fatalf("users %d", len(o.Users))
	}
}

func TestMutations(t *testing.T) {
	o := Generate(GenConfig{Seed: 5, Users: 20, Groups: 5, Apps: 3, UserBindingsPerApp: 2, GroupBindingsPerApp: 1})
	u := o.AddUser(jumpcloud.SystemUser{Username: "new"})
	g := o.AddGroup(jumpcloud.UserGroup{Name: "new group"})
	app := o.Apps[0].ID
	if !o.AddMember(g, u) || o.AddMember(g, u) {
		t.Fatal("AddMember")
	}
	if !o.BindUser(app, u) || o.BindUser(app, u) || !o.BindGroup(app, g) {
		t.Fatal("Bind")
	}
	if !o.RemoveUser(u) {
		t.Fatal("RemoveUser")
	}
	if len(o.Members[g]) != 0 || contains(o.AppUsers[app], u) {
		t.Fatal("RemoveUser left relations behind")
	}
	if !o.RemoveGroup(g) || contains(o.AppGroups[app], g) {
		t.Fatal("RemoveGroup left bindings behind")
	}
	if o.RemoveMember(g, u) || o.UnbindUser(app, u) || o.UnbindGroup(app, g) {
		t.Fatal("removing missing relations must report false")
	}
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// A messy org serves fields of the wrong type, and its expected snapshot leaves out exactly
// the records whose identity is odd (users with an odd email or state) and every relation
// that points at them; users and apps with other odd fields stay.
func TestMessyOrg(t *testing.T) {
	o := Generate(GenConfig{Seed: 5, Users: 60, Groups: 6, Admins: 3, Apps: 4, UserBindingsPerApp: 20, GroupBindingsPerApp: 2, Messy: 2})
	if n := len(o.Odd); n != 2*4+2+2 {
		t.Fatalf("%d odd objects, want 12", n)
	}
	dropped := map[string]bool{o.Users[12].ID: true, o.Users[13].ID: true, o.Users[18].ID: true, o.Users[19].ID: true}
	e := o.Expected(true)
	if len(e.Accounts) != 60-4+3 || len(e.Identities) != 56 {
		t.Fatalf("%d accounts, %d identities", len(e.Accounts), len(e.Identities))
	}
	for id := range dropped {
		if e.Accounts[id] {
			t.Fatalf("a user left out is expected")
		}
	}
	for m := range e.Memberships {
		if dropped[m[0]] {
			t.Fatalf("a membership of a user left out is expected: %v", m)
		}
	}
	for p := range e.Permissions {
		if dropped[p[1]] {
			t.Fatalf("a binding of a user left out is expected: %v", p)
		}
	}
	if !e.Assets[o.Apps[0].ID] || !e.Accounts[o.Users[10].ID] || !e.Accounts[o.Users[11].ID] {
		t.Fatal("a record with a stray odd field is not expected")
	}
	// Served as odd.
	srv := New(o, Options{})
	item := o.withOdd(o.Users[12].ID, srv.userOut(&o.Users[12]))
	b, _ := json.Marshal(item)
	if !strings.Contains(string(b), `"email":{"primary"`) {
		t.Fatalf("served %s", b)
	}
}
