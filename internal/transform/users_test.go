package transform

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"jcsync/internal/authomize"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/sim/authomizesim"
)

func TestUserStatus(t *testing.T) {
	tests := []struct {
		name                         string
		state                        string
		suspended, locked, activated bool
		want                         string
	}{
		{"activated", "ACTIVATED", false, false, true, authomize.StatusEnabled},
		{"activated without password", "ACTIVATED", false, false, false, authomize.StatusEnabled},
		{"staged", "STAGED", false, false, false, authomize.StatusStaged},
		{"suspended state", "SUSPENDED", false, false, true, authomize.StatusSuspended},
		{"suspended flag wins over ACTIVATED", "ACTIVATED", true, false, true, authomize.StatusSuspended},
		{"suspended wins over locked", "SUSPENDED", false, true, true, authomize.StatusSuspended},
		{"suspended flag and locked", "ACTIVATED", true, true, true, authomize.StatusSuspended},
		{"locked activated", "ACTIVATED", false, true, true, authomize.StatusDisabled},
		{"locked staged", "STAGED", false, true, false, authomize.StatusDisabled},
		{"locked no state", "", false, true, false, authomize.StatusDisabled},
		{"no state activated", "", false, false, true, authomize.StatusEnabled},
		{"no state not activated", "", false, false, false, authomize.StatusUnknown},
		{"unknown state", "DEACTIVATED", false, false, true, authomize.StatusUnknown},
		{"lower case state", " activated ", false, false, false, authomize.StatusEnabled},
		{"suspended flag no state", "", true, false, false, authomize.StatusSuspended},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := []jumpcloud.SystemUser{{ID: "u1", Username: "a", State: tc.state, Suspended: tc.suspended, AccountLocked: tc.locked, Activated: tc.activated}}
			users, ids := Users(in, Options{Identities: true}, nil)
			if len(users) != 1 || len(ids) != 1 {
				t.Fatalf("got %d users, %d identities", len(users), len(ids))
			}
			if users[0].Status != tc.want || ids[0].Status != tc.want {
				t.Errorf("status = %q / identity %q, want %q", users[0].Status, ids[0].Status, tc.want)
			}
			if v, _ := prop(users[0].CustomProperties, "accountLocked"); v != map[bool]string{true: "true", false: "false"}[tc.locked] {
				t.Errorf("accountLocked = %q", v)
			}
			validate(t, authomizesim.KindUsers, users)
			validate(t, authomizesim.KindIdentities, ids)
		})
	}
}

func TestUserMFA(t *testing.T) {
	tests := []struct {
		name string
		u    jumpcloud.SystemUser
		want bool
	}{
		{"nothing", jumpcloud.SystemUser{}, false},
		{"mfa configured", jumpcloud.SystemUser{MFA: &jumpcloud.MFA{Configured: true}}, true},
		{"mfa not configured", jumpcloud.SystemUser{MFA: &jumpcloud.MFA{}}, false},
		{"totp enabled", jumpcloud.SystemUser{TOTPEnabled: true}, true},
		{"enrolled", jumpcloud.SystemUser{MFAEnrollment: &jumpcloud.MFAEnrollment{OverallStatus: "ENROLLED"}}, true},
		{"enrolled lower case", jumpcloud.SystemUser{MFAEnrollment: &jumpcloud.MFAEnrollment{OverallStatus: "enrolled"}}, true},
		{"pending", jumpcloud.SystemUser{MFAEnrollment: &jumpcloud.MFAEnrollment{OverallStatus: "PENDING_ACTIVATION"}}, false},
		{"not enrolled", jumpcloud.SystemUser{MFAEnrollment: &jumpcloud.MFAEnrollment{OverallStatus: "NOT_ENROLLED"}}, false},
		{"all", jumpcloud.SystemUser{TOTPEnabled: true, MFA: &jumpcloud.MFA{Configured: true}, MFAEnrollment: &jumpcloud.MFAEnrollment{OverallStatus: "ENROLLED"}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.u.ID = "u1"
			users, _ := Users([]jumpcloud.SystemUser{tc.u}, Options{}, nil)
			if users[0].HasMFA == nil {
				t.Fatal("hasMFA not set")
			}
			if *users[0].HasMFA != tc.want {
				t.Errorf("hasMFA = %v, want %v", *users[0].HasMFA, tc.want)
			}
		})
	}
}

func fullUser() jumpcloud.SystemUser {
	return jumpcloud.SystemUser{
		ID: "5f0c1a2b3c4d5e6f7a8b9c0d", Username: "jdoe", Email: "jdoe@example.com",
		Firstname: "Jane", Lastname: "Doe",
		Activated: true, State: "ACTIVATED", Department: "Security", JobTitle: "Engineer",
		Company: "Acme", CostCenter: "CC-1", EmployeeType: "Full-time", Location: "Berlin",
		Description: "line one\nline two", EmployeeIdentifier: "E-42", Manager: "5f0c1a2b3c4d5e6f7a8b9c0e",
		TOTPEnabled: true,
		Addresses:   []jumpcloud.Address{{Type: "home", Locality: "Potsdam", Country: "DE"}, {Type: "work", Locality: "Berlin", Country: "Germany"}},
	}
}

func TestUsersFullMapping(t *testing.T) {
	var r Report
	users, ids := Users([]jumpcloud.SystemUser{fullUser()}, Options{Identities: true, OwnerID: "owner"}, &r)
	want := authomize.User{
		UniqueID: "5f0c1a2b3c4d5e6f7a8b9c0d", OriginID: "5f0c1a2b3c4d5e6f7a8b9c0d", Name: "jdoe",
		Email: "jdoe@example.com", FirstName: "Jane", LastName: "Doe", Status: authomize.StatusEnabled,
		Department: "Security", Title: "Engineer", Description: "line one\nline two",
		HasMFA: boolPtr(true), Tags: []string{"jumpcloud"},
		CustomProperties: []authomize.CustomProperty{
			{Key: "company", Value: "Acme"}, {Key: "costCenter", Value: "CC-1"},
			{Key: "employeeType", Value: "Full-time"}, {Key: "location", Value: "Berlin"},
			{Key: "employeeIdentifier", Value: "E-42"}, {Key: "jumpcloudState", Value: "ACTIVATED"},
			{Key: "accountLocked", Value: "false"},
		},
	}
	if !reflect.DeepEqual(users, []authomize.User{want}) {
		t.Errorf("user =\n%+v\nwant\n%+v", users[0], want)
	}
	wantID := authomize.Identity{
		UniqueID: "5f0c1a2b3c4d5e6f7a8b9c0d", OriginID: "5f0c1a2b3c4d5e6f7a8b9c0d", Name: "Jane Doe",
		Email: "jdoe@example.com", FirstName: "Jane", LastName: "Doe", EmployeeNumber: "E-42",
		Status: authomize.StatusEnabled, Country: "Germany", City: "Berlin", Department: "Security",
		Title: "Engineer", ManagerID: "5f0c1a2b3c4d5e6f7a8b9c0e", Description: "line one\nline two",
		Tags: []string{"jumpcloud"},
	}
	if !reflect.DeepEqual(ids, []authomize.Identity{wantID}) {
		t.Errorf("identity =\n%+v\nwant\n%+v", ids[0], wantID)
	}
	checkReport(t, &r, nil, nil)
	validate(t, authomizesim.KindUsers, users)
	validate(t, authomizesim.KindIdentities, ids)
}

func TestUsersIdentitiesOff(t *testing.T) {
	users, ids := Users([]jumpcloud.SystemUser{fullUser()}, Options{}, nil)
	if len(users) != 1 || ids != nil {
		t.Fatalf("got %d users and identities %v, want 1 user and nil", len(users), ids)
	}
}

func TestUsersSkipped(t *testing.T) {
	in := []jumpcloud.SystemUser{
		{ID: "", Username: "noid"},
		{ID: "   ", Username: "blank"},
		{ID: strings.Repeat("x", maxID+1), Username: "long"},
		{ID: "u1", Username: "first"},
		{ID: "u1", Username: "again"},
		{ID: "u2", Username: "second"},
	}
	var r Report
	users, ids := Users(in, Options{Identities: true}, &r)
	if len(users) != 2 || users[0].Name != "first" || users[1].Name != "second" || len(ids) != 2 {
		t.Fatalf("users = %+v", users)
	}
	checkReport(t, &r, counts{"user: missing _id": 2, "user: _id too long": 1, "user: duplicate _id": 1}, nil)
}

func TestUsersNameFallback(t *testing.T) {
	tests := []struct {
		name     string
		u        jumpcloud.SystemUser
		want     string
		adjusted counts
	}{
		{"username", jumpcloud.SystemUser{Username: "jd", Email: "j@x"}, "jd", nil},
		{"email", jumpcloud.SystemUser{Email: "j@x"}, "j@x", counts{"user.name: no username, used email": 1}},
		{"blank username", jumpcloud.SystemUser{Username: "  ", Email: "j@x"}, "j@x", counts{"user.name: no username, used email": 1}},
		{"id", jumpcloud.SystemUser{}, "u1", counts{"user.name: no username or email, used _id": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.u.ID = "u1"
			if tc.u.State == "" && tc.name != "id" {
				tc.u.State = "ACTIVATED"
			}
			var r Report
			users, _ := Users([]jumpcloud.SystemUser{tc.u}, Options{}, &r)
			if users[0].Name != tc.want {
				t.Errorf("name = %q, want %q", users[0].Name, tc.want)
			}
			checkReport(t, &r, nil, tc.adjusted)
		})
	}
}

func TestIdentityManagerAndAddress(t *testing.T) {
	tests := []struct {
		name              string
		manager           string
		addrs             []jumpcloud.Address
		wantManager       string
		wantCity, wantCty string
		adjusted          counts
	}{
		{"manager set", "m1", nil, "m1", "", "", nil},
		{"manager empty", "", nil, "", "", "", nil},
		{"manager blank", "  ", nil, "", "", "", nil},
		{"manager self", "u1", nil, "", "", "", counts{"identity.managerId: self reference, dropped": 1}},
		{"manager too long", strings.Repeat("m", maxID+1), nil, "", "", "", counts{"identity.managerId: too long, dropped": 1}},
		{"first address", "", []jumpcloud.Address{{Type: "home", Locality: "Paris", Country: "FR"}}, "", "Paris", "FR", nil},
		{"work address preferred", "", []jumpcloud.Address{{Type: "home", Locality: "Paris"}, {Type: "Work", Locality: "Lyon", Country: "FR"}}, "", "Lyon", "FR", nil},
		{"address without city", "", []jumpcloud.Address{{Country: "US"}}, "", "", "US", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r Report
			in := []jumpcloud.SystemUser{{ID: "u1", Username: "a", State: "ACTIVATED", Manager: tc.manager, Addresses: tc.addrs}}
			_, ids := Users(in, Options{Identities: true}, &r)
			id := ids[0]
			if id.ManagerID != tc.wantManager || id.City != tc.wantCity || id.Country != tc.wantCty {
				t.Errorf("managerId=%q city=%q country=%q", id.ManagerID, id.City, id.Country)
			}
			checkReport(t, &r, nil, tc.adjusted)
			validate(t, authomizesim.KindIdentities, ids)
		})
	}
}

func TestIdentityNameFallback(t *testing.T) {
	_, ids := Users([]jumpcloud.SystemUser{
		{ID: "u1", Username: "jd", Firstname: "Jane"},
		{ID: "u2", Username: "kd"},
	}, Options{Identities: true}, nil)
	if ids[0].Name != "Jane" || ids[1].Name != "kd" {
		t.Errorf("names = %q, %q", ids[0].Name, ids[1].Name)
	}
}

func TestUserTextLimits(t *testing.T) {
	e := strings.Repeat("é", 70)       // 2-byte runes
	g := strings.Repeat("😀", 65)       // 4-byte runes
	ascii64 := strings.Repeat("a", 64) // exactly at the limit
	longDesc := strings.Repeat("d", 3000)
	var r Report
	users, _ := Users([]jumpcloud.SystemUser{{
		ID: "u1", Username: "a\x00b\x1bc", State: "ACTIVATED", Company: e, CostCenter: g, EmployeeType: ascii64,
		Location: "ok\xffbad", JobTitle: strings.Repeat("t", 600), Description: longDesc,
		Email: strings.Repeat("e", 400) + "@example.com", Department: " \tSales\t ",
	}}, Options{}, &r)
	u := users[0]
	if v, _ := prop(u.CustomProperties, "company"); v != strings.Repeat("é", 64) {
		t.Errorf("company = %q (%d runes)", v, utf8.RuneCountInString(v))
	}
	if v, _ := prop(u.CustomProperties, "costCenter"); v != strings.Repeat("😀", 64) {
		t.Errorf("costCenter = %q", v)
	}
	if v, _ := prop(u.CustomProperties, "employeeType"); v != ascii64 {
		t.Errorf("employeeType = %q", v)
	}
	if v, _ := prop(u.CustomProperties, "location"); v != "ok\uFFFDbad" {
		t.Errorf("location = %q", v)
	}
	if u.Name != "abc" {
		t.Errorf("name = %q", u.Name)
	}
	if utf8.RuneCountInString(u.Title) != maxName || utf8.RuneCountInString(u.Description) != maxDescription {
		t.Errorf("title %d, description %d runes", utf8.RuneCountInString(u.Title), utf8.RuneCountInString(u.Description))
	}
	if u.Email != "" {
		t.Errorf("email = %q, want dropped", u.Email)
	}
	if u.Department != "Sales" {
		t.Errorf("department = %q", u.Department)
	}
	checkReport(t, &r, nil, counts{
		"user.company: truncated to 64":               1,
		"user.costCenter: truncated to 64":            1,
		"user.location: invalid UTF-8 replaced":       1,
		"user.name: control characters removed":       1,
		"user.title: truncated to 512":                1,
		"user.description: truncated to 1024":         1,
		"user.email: longer than 320, dropped":        1,
		"user.department: control characters removed": 1,
	})
	validate(t, authomizesim.KindUsers, users)
}
