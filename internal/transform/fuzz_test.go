package transform

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"jcsync/internal/jumpcloud"
	"jcsync/internal/sim/authomizesim"
)

// maxItemBytes bounds one encoded item: the caps on free text must keep any single item far
// below the 1 MB request limit, whatever JumpCloud sends.
const maxItemBytes = 64 << 10

// FuzzTransformValid builds JumpCloud inputs from fuzzed values, runs every transform and
// checks that each non-empty output passes the Authomize simulator's validator, plus the
// invariants the validator cannot see (valid UTF-8 in the values themselves, unique ids,
// bounded item size).
func FuzzTransformValid(f *testing.F) {
	f.Add("5f0c1a2b3c4d5e6f7a8b9c0d", "Jane Doe", "jane@example.com", "ACTIVATED", "Administrator With Billing", "help desk", "user", uint8(0), uint8(1))
	f.Add("", "", "", "", "", "", "", uint8(0xff), uint8(0))
	f.Add(" ", "\x00\x1b\t\n", "not-an-email", "SUSPENDED", "Read Only", "READ ONLY", "ldap_server", uint8(0x0f), uint8(3))
	f.Add("id\xff\xfe", "na\xffme", "e\xc3", "STAGED", "R\xffole", "!!!", "radius_server", uint8(0xaa), uint8(7))
	f.Add("ü😀", strings.Repeat("é", 70), "https://cdn.example.com/logo.png", "weird", "Custom 角色", "custom 角色", "user_group", uint8(0x55), uint8(200))
	f.Add(strings.Repeat("x", 300), "a", "b", "c", "d", "e", "system", uint8(1), uint8(255))
	f.Fuzz(func(t *testing.T, id, text, mail, state, role1, role2, edgeType string, flags, rep uint8) {
		bit := func(i uint) bool { return flags&(1<<i) != 0 }
		long := strings.Repeat(text, int(rep)%40+1) // long values from short inputs
		opt := Options{Identities: bit(0)}
		if bit(1) {
			opt.OwnerID = id
		}
		if bit(7) {
			opt.ConsoleURL = mail
		}

		users, ids := Users([]jumpcloud.SystemUser{
			{
				ID: id, Username: text, Email: mail, Firstname: text, Lastname: long, State: state,
				Suspended: bit(2), AccountLocked: bit(3), Activated: bit(4), TOTPEnabled: bit(5),
				Department: long, JobTitle: text, Company: long, CostCenter: text, EmployeeType: mail,
				Location: long, Description: long, EmployeeIdentifier: text, Manager: mail,
				MFA:           &jumpcloud.MFA{Configured: bit(6)},
				MFAEnrollment: &jumpcloud.MFAEnrollment{OverallStatus: state},
				Addresses:     []jumpcloud.Address{{Type: text, Locality: long, Country: text}},
			},
			{ID: text, Username: mail, State: state, Manager: id},
			{ID: id, Username: "duplicate"},
		}, opt, nil)
		check(t, authomizesim.KindUsers, users, func(i int) string { return users[i].UniqueID })
		check(t, authomizesim.KindIdentities, ids, func(i int) string { return ids[i].UniqueID })

		ad := Admins([]jumpcloud.Admin{
			{ID: id, Email: mail, Firstname: text, Lastname: long, RoleName: role1, RoleNames: []string{role2, role1, long},
				Suspended: bit(2), EnableMultiFactor: bit(3), TOTPEnrolled: bit(4)},
			{ID: text, Email: text, RoleNames: []string{strings.ToUpper(role1), role2}},
			{ID: mail},
		}, opt, nil)
		check(t, authomizesim.KindUsers, ad.Accounts, func(i int) string { return ad.Accounts[i].UniqueID })
		check(t, authomizesim.KindGroupings, ad.Roles, func(i int) string { return ad.Roles[i].UniqueID })
		check(t, authomizesim.KindPrivileges, ad.Privileges, func(i int) string { return ad.Privileges[i].UniqueID })
		check(t, authomizesim.KindAccountAssociations, ad.Memberships, nil)
		check(t, authomizesim.KindPermissions, ad.Permissions, nil)
		console := ConsoleAsset(opt)
		check(t, authomizesim.KindAssets, []any{console}, nil)
		if httpURL(console.Href) == "" {
			t.Fatalf("console asset href %q is not a link", console.Href)
		}
		if u := ConsoleURLFor(mail); httpURL(u) == "" || !strings.HasSuffix(u, "jumpcloud.com") {
			t.Fatalf("ConsoleURLFor(%q) = %q, not a JumpCloud link", mail, u)
		}

		groups := Groups([]jumpcloud.UserGroup{
			{ID: id, Name: text, Description: long, Email: mail, MembershipMethod: state},
			{ID: text, Name: long, Email: long},
		}, opt, nil)
		check(t, authomizesim.KindGroupings, groups, func(i int) string { return groups[i].UniqueID })

		edges := []jumpcloud.GraphConnection{
			{To: jumpcloud.GraphObject{ID: text, Type: edgeType}},
			{To: jumpcloud.GraphObject{ID: mail, Type: "user"}},
			{To: jumpcloud.GraphObject{ID: mail, Type: "user_group"}},
			{To: jumpcloud.GraphObject{ID: id, Type: edgeType}},
			{To: jumpcloud.GraphObject{ID: text, Type: "ldap_server"}},
			{To: jumpcloud.GraphObject{ID: text, Type: "radius_server"}},
		}
		check(t, authomizesim.KindAccountAssociations, Memberships(id, edges, nil), nil)

		apps := Apps([]jumpcloud.Application{
			{ID: id, Name: text, DisplayName: long, DisplayLabel: role1, Description: long, SSOURL: mail, LearnMore: text,
				Active: bit(5), Logo: &jumpcloud.Logo{URL: mail}, SSO: &jumpcloud.SSO{Type: state}},
			{ID: text, Name: long, Logo: &jumpcloud.Logo{URL: "https://" + long}},
		}, opt, nil)
		check(t, authomizesim.KindAssets, apps, func(i int) string { return apps[i].UniqueID })
		for _, a := range apps {
			// A logo split over properties joins back into one link no longer than maxURL.
			if logo := JoinedProperty(a.CustomProperties, "logoUrl"); logo != "" && (httpURL(logo) == "" || utf8.RuneCountInString(logo) > maxURL) {
				t.Fatalf("app %q: joined logo %q", a.UniqueID, logo)
			}
		}
		check(t, authomizesim.KindPrivileges, []any{SSOPrivilege()}, nil)
		check(t, authomizesim.KindPermissions, AppBindings(id, edges, nil), nil)
	})
}

// check validates items as one request body and asserts the invariants the validator
// does not cover. uid, when set, returns the uniqueId of item i, which must be unique.
func check[T any](t *testing.T, kind authomizesim.Kind, items []T, uid func(int) string) {
	t.Helper()
	validate(t, kind, items)
	seen := make(map[string]bool, len(items))
	for i, it := range items {
		if uid != nil {
			id := uid(i)
			if strings.TrimSpace(id) == "" || seen[id] {
				t.Fatalf("%s[%d]: uniqueId %q blank or repeated", kind, i, id)
			}
			seen[id] = true
		}
		b, err := json.Marshal(it)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > maxItemBytes {
			t.Fatalf("%s[%d]: %d bytes encoded", kind, i, len(b))
		}
		walkStrings(reflect.ValueOf(it), func(s string) {
			if !utf8.ValidString(s) {
				t.Fatalf("%s[%d]: invalid UTF-8 %q", kind, i, s)
			}
		})
	}
}

// walkStrings calls fn with every string reachable from v.
func walkStrings(v reflect.Value, fn func(string)) {
	switch v.Kind() {
	case reflect.String:
		fn(v.String())
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), fn)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			walkStrings(v.Field(i), fn)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkStrings(v.Index(i), fn)
		}
	}
}
