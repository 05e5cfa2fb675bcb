package transform

import (
	"reflect"
	"strings"
	"testing"

	"jcsync/internal/authomize"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/sim/authomizesim"
)

func TestGroups(t *testing.T) {
	tests := []struct {
		name     string
		g        jumpcloud.UserGroup
		opt      Options
		want     authomize.Grouping
		adjusted counts
	}{
		{
			name: "full", opt: Options{OwnerID: "owner-1"},
			g: jumpcloud.UserGroup{ID: "g1", Name: "Engineers", Description: "All engineers", Email: "eng@example.com", MembershipMethod: "STATIC"},
			want: authomize.Grouping{UniqueID: "g1", OriginID: "g1", Name: "Engineers", OriginType: "JumpCloud User Group",
				Type: "Group", Owner: "owner-1", Tags: []string{"jumpcloud"}, AlternativeName: "eng@example.com",
				CustomProperties: []authomize.CustomProperty{{Key: "membershipMethod", Value: "STATIC"}, {Key: "description", Value: "All engineers"}}},
		},
		{
			name: "empty name uses id, owner unset",
			g:    jumpcloud.UserGroup{ID: "g1"},
			want: authomize.Grouping{UniqueID: "g1", OriginID: "g1", Name: "g1", OriginType: "JumpCloud User Group",
				Type: "Group", Tags: []string{"jumpcloud"}},
			adjusted: counts{"group.name: empty, used id": 1},
		},
		{
			name: "long description cut to 64 runes",
			g:    jumpcloud.UserGroup{ID: "g1", Name: "n", Description: strings.Repeat("ü", 100)},
			want: authomize.Grouping{UniqueID: "g1", OriginID: "g1", Name: "n", OriginType: "JumpCloud User Group",
				Type: "Group", Tags: []string{"jumpcloud"},
				CustomProperties: []authomize.CustomProperty{{Key: "description", Value: strings.Repeat("ü", 64)}}},
			adjusted: counts{"group.description: truncated to 64": 1},
		},
		{
			name: "email over 256 is not an alternative name",
			g:    jumpcloud.UserGroup{ID: "g1", Name: "n", Email: strings.Repeat("e", 300)},
			want: authomize.Grouping{UniqueID: "g1", OriginID: "g1", Name: "n", OriginType: "JumpCloud User Group",
				Type: "Group", Tags: []string{"jumpcloud"}},
			adjusted: counts{"group.alternativeName: longer than 256, dropped": 1},
		},
		{
			name: "email equal to name is not repeated",
			g:    jumpcloud.UserGroup{ID: "g1", Name: "a@x", Email: "a@x"},
			want: authomize.Grouping{UniqueID: "g1", OriginID: "g1", Name: "a@x", OriginType: "JumpCloud User Group",
				Type: "Group", Tags: []string{"jumpcloud"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r Report
			got := Groups([]jumpcloud.UserGroup{tc.g}, tc.opt, &r)
			if !reflect.DeepEqual(got, []authomize.Grouping{tc.want}) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tc.want)
			}
			checkReport(t, &r, nil, tc.adjusted)
			validate(t, authomizesim.KindGroupings, got)
		})
	}
}

func TestGroupsSkipped(t *testing.T) {
	var r Report
	got := Groups([]jumpcloud.UserGroup{{ID: ""}, {ID: "g1", Name: "a"}, {ID: "g1", Name: "b"}}, Options{}, &r)
	if len(got) != 1 || got[0].Name != "a" {
		t.Errorf("got %+v", got)
	}
	checkReport(t, &r, counts{"group: missing id": 1, "group: duplicate id": 1}, nil)
}

func edge(typ, id string) jumpcloud.GraphConnection {
	return jumpcloud.GraphConnection{To: jumpcloud.GraphObject{ID: id, Type: typ}}
}

func TestMemberships(t *testing.T) {
	tests := []struct {
		name    string
		group   string
		edges   []jumpcloud.GraphConnection
		want    []authomize.AccountAssociation
		skipped counts
	}{
		{"user", "g1", []jumpcloud.GraphConnection{edge("user", "u1")},
			[]authomize.AccountAssociation{{SourceID: "u1", TargetID: "g1"}}, nil},
		{"nested group", "g1", []jumpcloud.GraphConnection{edge("user_group", "g2")}, nil, counts{"membership: user_group skipped": 1}},
		{"ldap", "g1", []jumpcloud.GraphConnection{edge("ldap_server", "l1")}, nil, counts{"membership: ldap_server excluded": 1}},
		{"radius", "g1", []jumpcloud.GraphConnection{edge("radius_server", "r1")}, nil, counts{"membership: radius_server excluded": 1}},
		{"other types", "g1", []jumpcloud.GraphConnection{edge("system", "s1"), edge("", "x"), edge("group", "y")}, nil, counts{"membership: other type skipped": 3}},
		{"empty member id", "g1", []jumpcloud.GraphConnection{edge("user", "")}, nil, counts{"membership: missing member id": 1}},
		{"empty group id", "", []jumpcloud.GraphConnection{edge("user", "u1"), edge("user", "u2")}, nil, counts{"membership: missing group id": 2}},
		{"duplicates", "g1", []jumpcloud.GraphConnection{edge("user", "u1"), edge("USER", "u1"), edge("user", "u2")},
			[]authomize.AccountAssociation{{SourceID: "u1", TargetID: "g1"}, {SourceID: "u2", TargetID: "g1"}}, counts{"membership: duplicate": 1}},
		{"mixed", "g1", []jumpcloud.GraphConnection{edge("ldap_server", "l1"), edge("user", "u1"), edge("user_group", "g2")},
			[]authomize.AccountAssociation{{SourceID: "u1", TargetID: "g1"}}, counts{"membership: ldap_server excluded": 1, "membership: user_group skipped": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r Report
			got := Memberships(tc.group, tc.edges, &r)
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			checkReport(t, &r, tc.skipped, nil)
			validate(t, authomizesim.KindAccountAssociations, got)
		})
	}
}
