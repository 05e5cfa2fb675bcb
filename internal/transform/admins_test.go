package transform

import (
	"reflect"
	"strings"
	"testing"

	"jcsync/internal/authomize"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/sim/authomizesim"
)

func validateAdmins(t *testing.T, d AdminData) {
	t.Helper()
	validate(t, authomizesim.KindUsers, d.Accounts)
	validate(t, authomizesim.KindGroupings, d.Roles)
	validate(t, authomizesim.KindPrivileges, d.Privileges)
	validate(t, authomizesim.KindAccountAssociations, d.Memberships)
	validate(t, authomizesim.KindPermissions, d.Permissions)
}

func TestAdminSingleRole(t *testing.T) {
	var r Report
	d := Admins([]jumpcloud.Admin{{
		ID: "a1", Email: "boss@example.com", Firstname: "Bo", Lastname: "Ss", RoleName: "Administrator With Billing",
		EnableMultiFactor: true,
	}}, Options{OwnerID: "owner-1"}, &r)
	want := AdminData{
		Accounts: []authomize.User{{
			UniqueID: "admin:a1", OriginID: "a1", Name: "boss@example.com", Email: "boss@example.com",
			FirstName: "Bo", LastName: "Ss", Status: authomize.StatusEnabled, HasMFA: boolPtr(true),
			Tags: []string{"jumpcloud-admin"},
		}},
		Roles: []authomize.Grouping{{
			UniqueID: "role:administrator-with-billing", Name: "Administrator With Billing",
			OriginType: "JumpCloud Admin Role", Type: authomize.GroupingTypeGroup, IsRole: true,
			Owner: "owner-1", Tags: []string{"jumpcloud-admin"},
		}},
		Privileges: []authomize.Privilege{{
			UniqueID: "role-privilege:administrator-with-billing", OriginName: "Administrator With Billing",
			PrivilegeType: authomize.PrivilegeAdministrative,
		}},
		Memberships: []authomize.AccountAssociation{{SourceID: "admin:a1", TargetID: "role:administrator-with-billing"}},
		Permissions: []authomize.Permission{{
			SourceUniqueID: "role:administrator-with-billing", SourceType: authomize.SourceGrouping,
			PrivilegeID: "role-privilege:administrator-with-billing", AssetID: ConsoleAssetID, IsRole: true,
		}},
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("got\n%+v\nwant\n%+v", d, want)
	}
	checkReport(t, &r, nil, nil)
	validateAdmins(t, d)
}

func TestAdminMultipleRolesCaseVariants(t *testing.T) {
	var r Report
	d := Admins([]jumpcloud.Admin{
		{ID: "a1", Email: "a1@x", RoleName: "administrator with billing",
			RoleNames: []string{"Administrator With Billing", "Help Desk", "help  desk", "Custom ROLE", ""}},
		{ID: "a2", Email: "a2@x", RoleNames: []string{"custom role", "HELP DESK"}},
		{ID: "a3", Email: "a3@x", RoleName: "Read Only"},
	}, Options{}, &r)
	var names, ids []string
	for _, g := range d.Roles {
		names = append(names, g.Name)
		ids = append(ids, g.UniqueID)
		if g.Owner != "" {
			t.Errorf("owner = %q, want unset", g.Owner)
		}
	}
	// Built-in roles take JumpCloud's canonical spelling; a custom role keeps the first seen.
	if want := []string{"Administrator With Billing", "Help Desk", "Custom ROLE", "Read Only"}; !reflect.DeepEqual(names, want) {
		t.Errorf("role names = %q, want %q", names, want)
	}
	if want := []string{"role:administrator-with-billing", "role:help-desk", "role:custom-role", "role:read-only"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("role ids = %q, want %q", ids, want)
	}
	wantM := []authomize.AccountAssociation{
		{SourceID: "admin:a1", TargetID: "role:administrator-with-billing"},
		{SourceID: "admin:a1", TargetID: "role:help-desk"},
		{SourceID: "admin:a1", TargetID: "role:custom-role"},
		{SourceID: "admin:a2", TargetID: "role:custom-role"},
		{SourceID: "admin:a2", TargetID: "role:help-desk"},
		{SourceID: "admin:a3", TargetID: "role:read-only"},
	}
	if !reflect.DeepEqual(d.Memberships, wantM) {
		t.Errorf("memberships = %+v", d.Memberships)
	}
	if len(d.Privileges) != 4 || len(d.Permissions) != 4 || len(d.Accounts) != 3 {
		t.Errorf("privileges %d, permissions %d, accounts %d", len(d.Privileges), len(d.Permissions), len(d.Accounts))
	}
	if d.Privileges[2].PrivilegeType != "" || d.Privileges[2].OriginName != "Custom ROLE" {
		t.Errorf("custom role privilege = %+v", d.Privileges[2])
	}
	checkReport(t, &r, nil, nil)
	validateAdmins(t, d)
}

func TestAdminNoRole(t *testing.T) {
	var r Report
	d := Admins([]jumpcloud.Admin{{ID: "a1", Email: "a@x", RoleNames: []string{" "}}}, Options{}, &r)
	if len(d.Accounts) != 1 || d.Roles != nil || d.Privileges != nil || d.Memberships != nil || d.Permissions != nil {
		t.Errorf("got %+v", d)
	}
	checkReport(t, &r, counts{"admin: no role": 1}, nil)
	validateAdmins(t, d)
}

func TestAdminAccountFields(t *testing.T) {
	tests := []struct {
		name       string
		a          jumpcloud.Admin
		wantName   string
		wantStatus string
		wantMFA    bool
		adjusted   counts
		skipped    counts
	}{
		{"enabled no mfa", jumpcloud.Admin{Email: "e@x", RoleName: "Manager"}, "e@x", authomize.StatusEnabled, false, nil, nil},
		{"suspended", jumpcloud.Admin{Email: "e@x", RoleName: "Manager", Suspended: true}, "e@x", authomize.StatusSuspended, false, nil, nil},
		{"totp enrolled", jumpcloud.Admin{Email: "e@x", RoleName: "Manager", TOTPEnrolled: true}, "e@x", authomize.StatusEnabled, true, nil, nil},
		{"mfa required", jumpcloud.Admin{Email: "e@x", RoleName: "Manager", EnableMultiFactor: true}, "e@x", authomize.StatusEnabled, true, nil, nil},
		{"no email", jumpcloud.Admin{Firstname: "A", Lastname: "B", RoleName: "Manager"}, "A B", authomize.StatusEnabled, false, counts{"admin.name: no email, used full name": 1}, nil},
		{"nothing", jumpcloud.Admin{}, "a1", authomize.StatusEnabled, false, counts{"admin.name: no email or name, used _id": 1}, counts{"admin: no role": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.a.ID = "a1"
			var r Report
			d := Admins([]jumpcloud.Admin{tc.a}, Options{}, &r)
			acc := d.Accounts[0]
			if acc.Name != tc.wantName || acc.Status != tc.wantStatus || *acc.HasMFA != tc.wantMFA {
				t.Errorf("name=%q status=%q mfa=%v", acc.Name, acc.Status, *acc.HasMFA)
			}
			if !reflect.DeepEqual(acc.Tags, []string{"jumpcloud-admin"}) {
				t.Errorf("tags = %q", acc.Tags)
			}
			checkReport(t, &r, tc.skipped, tc.adjusted)
			validateAdmins(t, d)
		})
	}
}

func TestAdminSkipped(t *testing.T) {
	var r Report
	d := Admins([]jumpcloud.Admin{
		{ID: "", Email: "x@x", RoleName: "Manager"},
		{ID: "a1", Email: "a@x", RoleName: "Manager"},
		{ID: "a1", Email: "b@x", RoleName: "Help Desk"},
	}, Options{}, &r)
	if len(d.Accounts) != 1 || len(d.Roles) != 1 || len(d.Memberships) != 1 {
		t.Errorf("got %+v", d)
	}
	checkReport(t, &r, counts{"admin: missing _id": 1, "admin: duplicate _id": 1}, nil)
}

func TestAdminRolePrivilegeTypes(t *testing.T) {
	tests := []struct{ role, want string }{
		{jumpcloud.RoleAdministratorWithBilling, authomize.PrivilegeAdministrative},
		{jumpcloud.RoleAdministrator, authomize.PrivilegeAdministrative},
		{jumpcloud.RoleManager, authomize.PrivilegeAdministrative},
		{jumpcloud.RoleCommandRunnerWithBilling, authomize.PrivilegeAdministrative},
		{jumpcloud.RoleCommandRunner, authomize.PrivilegeAdministrative},
		{jumpcloud.RoleHelpDesk, authomize.PrivilegeDataWrite},
		{jumpcloud.RoleReadOnly, authomize.PrivilegeDataRead},
		{jumpcloud.RoleBillingOnly, authomize.PrivilegeMetadataRead},
		{"Administrator with Billing", authomize.PrivilegeAdministrative}, // baton's spelling
		{"Custom Auditor", ""},
	}
	if len(tests)-2 != len(jumpcloud.BuiltinRoles) {
		t.Fatalf("a built-in role has no privilege type test")
	}
	for _, tc := range tests {
		t.Run(tc.role, func(t *testing.T) {
			d := Admins([]jumpcloud.Admin{{ID: "a", RoleName: tc.role}}, Options{}, nil)
			if got := d.Privileges[0].PrivilegeType; got != tc.want {
				t.Errorf("privilegeType = %q, want %q", got, tc.want)
			}
			validateAdmins(t, d)
		})
	}
}

func TestConsoleAsset(t *testing.T) {
	for _, owner := range []string{"", "owner-1", "  "} {
		a := ConsoleAsset(Options{OwnerID: owner})
		want := authomize.Asset{
			UniqueID: ConsoleAssetID, Name: "JumpCloud Admin Console", Type: authomize.AssetApplication,
			Href: "https://console.jumpcloud.com", OriginType: "JumpCloud Admin Console",
			Owner: map[string]string{"": "", "owner-1": "owner-1", "  ": ""}[owner], Tags: []string{"jumpcloud"},
		}
		if !reflect.DeepEqual(a, want) {
			t.Errorf("owner %q: got %+v", owner, a)
		}
		validate(t, authomizesim.KindAssets, []authomize.Asset{a})
	}
}

func TestConsoleURLFor(t *testing.T) {
	const eu = "https://console.eu.jumpcloud.com"
	for base, want := range map[string]string{
		"":                                     DefaultConsoleURL,
		"https://console.jumpcloud.com":        DefaultConsoleURL,
		"https://console.jumpcloud.com/":       DefaultConsoleURL,
		"https://console.eu.jumpcloud.com":     eu,
		"https://console.eu.jumpcloud.com/":    eu,
		"https://Console.EU.JumpCloud.com:443": eu,
		"https://console.eu.jumpcloud.com.":    eu,
		" https://console.eu.jumpcloud.com ":   eu,
		"http://console.eu.jumpcloud.com/api":  eu, // the link is https whatever the API's scheme
		// Not a JumpCloud console: a simulator, a proxy, a look-alike. The link stays JumpCloud's.
		"http://127.0.0.1:8081":                    DefaultConsoleURL,
		"http://sim:8081":                          DefaultConsoleURL,
		"https://jumpcloud-proxy.acme.example":     DefaultConsoleURL,
		"https://console.eu.jumpcloud.com.evil":    DefaultConsoleURL,
		"https://console.eujumpcloud.com":          DefaultConsoleURL,
		"https://console.a.b.jumpcloud.com":        DefaultConsoleURL,
		"https://console.-eu.jumpcloud.com":        DefaultConsoleURL,
		"https://api.eu.jumpcloud.com":             DefaultConsoleURL,
		"https://user:pw@console.eu.jumpcloud.com": eu,
		"console.eu.jumpcloud.com":                 DefaultConsoleURL, // no scheme: no host
		"://bad":                                   DefaultConsoleURL,
	} {
		if got := ConsoleURLFor(base); got != want {
			t.Errorf("ConsoleURLFor(%q) = %q, want %q", base, got, want)
		}
	}
}

func TestConsoleAssetLinksTheOrgsConsole(t *testing.T) {
	eu := ConsoleAsset(Options{ConsoleURL: ConsoleURLFor("https://console.eu.jumpcloud.com")})
	if eu.Href != "https://console.eu.jumpcloud.com" {
		t.Errorf("EU org: href = %q", eu.Href)
	}
	validate(t, authomizesim.KindAssets, []authomize.Asset{eu})
	// Only the link changes: the asset keeps its id, so admin role permissions still point at it.
	us := ConsoleAsset(Options{})
	eu.Href = us.Href
	if !reflect.DeepEqual(eu, us) {
		t.Errorf("EU and US console assets differ beyond href:\n%+v\n%+v", eu, us)
	}
	for _, bad := range []string{"  ", "console.eu.jumpcloud.com", "javascript:alert(1)", "https://x.example/" + strings.Repeat("p", maxURL)} {
		if a := ConsoleAsset(Options{ConsoleURL: bad}); a.Href != DefaultConsoleURL {
			t.Errorf("ConsoleURL %.40q: href = %.60q, want the default", bad, a.Href)
		}
	}
}
