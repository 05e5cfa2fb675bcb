package transform

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"jcsync/internal/authomize"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/sim/authomizesim"
)

func TestAppsFull(t *testing.T) {
	var r Report
	got := Apps([]jumpcloud.Application{{
		ID: "app1", Name: "slack", DisplayName: "Slack", DisplayLabel: "Acme Slack", Description: "Chat",
		SSOURL: "https://sso.jumpcloud.com/saml2/slack", LearnMore: "https://support.jumpcloud.com/slack",
		Active: true, Logo: &jumpcloud.Logo{URL: "https://cdn.example.com/slack.png"}, SSO: &jumpcloud.SSO{Type: "saml"},
	}}, Options{OwnerID: "owner-1"}, &r)
	want := authomize.Asset{
		UniqueID: "app1", Name: "Acme Slack", OriginID: "app1", Type: authomize.AssetApplication,
		AlternativeName: "slack", OriginType: "JumpCloud SSO Application", Href: "https://sso.jumpcloud.com/saml2/slack",
		Owner: "owner-1", Description: "Chat", Tags: []string{"jumpcloud"},
		CustomProperties: []authomize.CustomProperty{
			{Key: "ssoType", Value: "saml"}, {Key: "logoUrl", Value: "https://cdn.example.com/slack.png"}, {Key: "active", Value: "true"},
		},
	}
	if !reflect.DeepEqual(got, []authomize.Asset{want}) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	checkReport(t, &r, nil, nil)
	validate(t, authomizesim.KindAssets, got)
}

func TestAppsNameFallback(t *testing.T) {
	tests := []struct {
		name, label, display, catalogue string
		wantName, wantAlt               string
		adjusted                        counts
	}{
		{"label", "Label", "Display", "cat", "Label", "cat", nil},
		{"display name", "", "Display", "cat", "Display", "cat", nil},
		{"blank label", "  ", "Display", "cat", "Display", "cat", nil},
		{"catalogue name", "", "", "cat", "cat", "", nil},
		{"id", "", "", "", "app1", "", counts{"app.name: no label or name, used _id": 1}},
		{"same as catalogue ignoring case", "Slack", "", "slack", "Slack", "", nil},
		{"long catalogue name", "L", "", strings.Repeat("c", 300), "L", strings.Repeat("c", 256), counts{"app.alternativeName: truncated to 256": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r Report
			got := Apps([]jumpcloud.Application{{ID: "app1", DisplayLabel: tc.label, DisplayName: tc.display, Name: tc.catalogue}}, Options{}, &r)
			if got[0].Name != tc.wantName || got[0].AlternativeName != tc.wantAlt {
				t.Errorf("name=%q alt=%q", got[0].Name, got[0].AlternativeName)
			}
			if got[0].Owner != "" {
				t.Errorf("owner = %q, want unset", got[0].Owner)
			}
			checkReport(t, &r, nil, tc.adjusted)
			validate(t, authomizesim.KindAssets, got)
		})
	}
}

func TestAppsLinksAndLogo(t *testing.T) {
	long := "https://cdn.example.com/" + strings.Repeat("l", 60) + ".png"
	maxLogo := "https://l.example/" + strings.Repeat("m", maxURL-len("https://l.example/"))
	tests := []struct {
		name               string
		sso, learn, logo   string
		wantHref, wantLogo string
		adjusted           counts
	}{
		{"sso url", "https://a.example/sso", "https://b.example", "", "https://a.example/sso", "", nil},
		{"http sso url", "http://a.example/sso", "", "", "http://a.example/sso", "", nil},
		{"sso not http, learn more", "javascript:alert(1)", "https://b.example/help", "", "https://b.example/help", "", counts{"app.ssoUrl: not an http(s) URL, not used": 1}},
		{"relative sso url", "/saml/login", "", "", "", "", counts{"app.ssoUrl: not an http(s) URL, not used": 1}},
		{"no links", "", "", "", "", "", nil},
		{"learn more only", "", "https://b.example/help", "", "https://b.example/help", "", nil},
		{"short logo", "", "", "https://l.example/x.png", "", "https://l.example/x.png", nil},
		{"logo exactly 64", "", "", "https://l.example/" + strings.Repeat("x", 64-len("https://l.example/")), "", "https://l.example/" + strings.Repeat("x", 64-len("https://l.example/")), nil},
		{"long logo split", "", "", long, "", long, nil},
		{"logo of maxURL split", "", "", maxLogo, "", maxLogo, nil},
		{"logo over maxURL dropped", "", "", maxLogo + "x", "", "", counts{"app.logoUrl: longer than 2048, dropped": 1}},
		{"multibyte logo split between characters", "", "", "https://l.example/" + strings.Repeat("é", 100), "", "https://l.example/" + strings.Repeat("é", 100), nil},
		{"logo not http", "", "", "data:image/png;base64,AAAA", "", "", counts{"app.logoUrl: not an http(s) URL, dropped": 1}},
		{"very long sso url", "https://a.example/" + strings.Repeat("p", maxURL), "", "", "", "", counts{"app.ssoUrl: longer than 2048, dropped": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r Report
			a := jumpcloud.Application{ID: "app1", Name: "n", SSOURL: tc.sso, LearnMore: tc.learn}
			if tc.logo != "" {
				a.Logo = &jumpcloud.Logo{URL: tc.logo}
			}
			got := Apps([]jumpcloud.Application{a}, Options{}, &r)
			logo := JoinedProperty(got[0].CustomProperties, "logoUrl")
			if got[0].Href != tc.wantHref || logo != tc.wantLogo {
				t.Errorf("href=%q logo=%q", got[0].Href, logo)
			}
			checkLogoParts(t, got[0].CustomProperties, tc.wantLogo)
			checkReport(t, &r, nil, tc.adjusted)
			validate(t, authomizesim.KindAssets, got)
		})
	}
}

func TestAppsSkippedAndDescription(t *testing.T) {
	var r Report
	got := Apps([]jumpcloud.Application{
		{ID: "", Name: "x"}, {ID: "a1", Name: "first", Description: strings.Repeat("é", 600)}, {ID: "a1", Name: "again"},
	}, Options{}, &r)
	if len(got) != 1 || got[0].Name != "first" || got[0].Description != strings.Repeat("é", maxAssetDescription) {
		t.Errorf("got %+v", got)
	}
	if v, _ := prop(got[0].CustomProperties, "active"); v != "false" {
		t.Errorf("active = %q", v)
	}
	checkReport(t, &r, counts{"app: missing _id": 1, "app: duplicate _id": 1}, counts{"app.description: truncated to 512": 1})
}

func TestSSOPrivilege(t *testing.T) {
	p := SSOPrivilege()
	want := authomize.Privilege{UniqueID: SSOPrivilegeID, OriginName: "SSO access", PrivilegeType: authomize.PrivilegeDataRead}
	if p != want {
		t.Errorf("got %+v", p)
	}
	validate(t, authomizesim.KindPrivileges, []authomize.Privilege{p})
}

func TestAppBindings(t *testing.T) {
	perm := func(srcType, src string) authomize.Permission {
		return authomize.Permission{SourceUniqueID: src, SourceType: srcType, PrivilegeID: SSOPrivilegeID, AssetID: "app1"}
	}
	tests := []struct {
		name    string
		app     string
		edges   []jumpcloud.GraphConnection
		want    []authomize.Permission
		skipped counts
	}{
		{"user", "app1", []jumpcloud.GraphConnection{edge("user", "u1")}, []authomize.Permission{perm("User", "u1")}, nil},
		{"group", "app1", []jumpcloud.GraphConnection{edge("user_group", "g1")}, []authomize.Permission{perm("Grouping", "g1")}, nil},
		{"ldap", "app1", []jumpcloud.GraphConnection{edge("ldap_server", "l1")}, nil, counts{"binding: ldap_server excluded": 1}},
		{"radius", "app1", []jumpcloud.GraphConnection{edge("radius_server", "r1")}, nil, counts{"binding: radius_server excluded": 1}},
		{"other", "app1", []jumpcloud.GraphConnection{edge("system", "s1"), edge("application", "a2"), edge("", "x")}, nil,
			counts{"binding: other type skipped": 2, "binding: application skipped": 1}},
		{"missing target id", "app1", []jumpcloud.GraphConnection{edge("user", ""), edge("user_group", " ")}, nil, counts{"binding: missing target id": 2}},
		{"missing app id", "", []jumpcloud.GraphConnection{edge("user", "u1")}, nil, counts{"binding: missing app id": 1}},
		{"dedupe", "app1", []jumpcloud.GraphConnection{edge("user", "x"), edge("user", "x"), edge("user_group", "x")},
			[]authomize.Permission{perm("User", "x"), perm("Grouping", "x")}, counts{"binding: duplicate": 1}},
		{"mixed", "app1", []jumpcloud.GraphConnection{edge("user", "u1"), edge("ldap_server", "l1"), edge("radius_server", "r1"), edge("user_group", "g1")},
			[]authomize.Permission{perm("User", "u1"), perm("Grouping", "g1")}, counts{"binding: ldap_server excluded": 1, "binding: radius_server excluded": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r Report
			got := AppBindings(tc.app, tc.edges, &r)
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			checkReport(t, &r, tc.skipped, nil)
			validate(t, authomizesim.KindPermissions, got)
		})
	}
}

// checkLogoParts asserts the split scheme of a logo URL: logoUrl, logoUrl.2, … in order
// right after one another, every part but the last exactly 64 characters, none over.
func checkLogoParts(t *testing.T, list []authomize.CustomProperty, logo string) {
	t.Helper()
	want := (utf8.RuneCountInString(logo) + maxPropertyValue - 1) / maxPropertyValue
	var parts []authomize.CustomProperty
	for _, p := range list {
		if p.Key == "logoUrl" || strings.HasPrefix(p.Key, "logoUrl.") {
			parts = append(parts, p)
		}
	}
	if len(parts) != want {
		t.Fatalf("%d logo properties, want %d: %+v", len(parts), want, parts)
	}
	for i, p := range parts {
		key := "logoUrl"
		if i > 0 {
			key = "logoUrl." + strconv.Itoa(i+1)
		}
		n := utf8.RuneCountInString(p.Value)
		if p.Key != key || n > maxPropertyValue || (i < len(parts)-1 && n != maxPropertyValue) {
			t.Errorf("logo part %d: key %q, %d characters", i, p.Key, n)
		}
	}
}

// TestLongLogoReachesAuthomize uploads an app with a 200-character logo URL through the
// Authomize client to the simulator: every property passes its validation, and the URL is
// whole again when the stored properties are joined.
func TestLongLogoReachesAuthomize(t *testing.T) {
	logo := "https://cdn.example.com/logos/" + strings.Repeat("a1b2c3d4e5", 16) + "/x.png?v=12345678901234567890"
	logo = logo[:200]
	if len(logo) != 200 || httpURL(logo) == "" {
		t.Fatalf("test logo: %d characters", len(logo))
	}
	var r Report
	assets := Apps([]jumpcloud.Application{{ID: "app1", Name: "slack", Logo: &jumpcloud.Logo{URL: logo}}}, Options{}, &r)
	checkReport(t, &r, nil, nil)
	checkLogoParts(t, assets[0].CustomProperties, logo)

	sim := authomizesim.New(authomizesim.Options{Tokens: []string{"tok"}, Apps: []string{"az-app"}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c, err := authomize.New(authomize.Options{BaseURL: srv.URL, Token: "tok", AppID: "az-app", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.UploadAssets(context.Background(), assets)
	if err != nil {
		t.Fatalf("upload rejected: %v", err)
	}
	if res.Accepted != 1 {
		t.Fatalf("upload result %+v", res)
	}
	raw, ok := sim.Snapshot("az-app").Assets["app1"]
	if !ok {
		t.Fatal("the asset did not reach the simulator")
	}
	var stored authomize.Asset
	if err := json.Unmarshal(raw, &stored); err != nil {
		t.Fatal(err)
	}
	for _, p := range stored.CustomProperties {
		if n := utf8.RuneCountInString(p.Value); n > maxPropertyValue {
			t.Errorf("stored property %s has %d characters", p.Key, n)
		}
	}
	if got := JoinedProperty(stored.CustomProperties, "logoUrl"); got != logo {
		t.Errorf("logo joined from the stored properties:\n%s\nwant\n%s", got, logo)
	}
}

func TestJoinedProperty(t *testing.T) {
	list := []authomize.CustomProperty{
		{Key: "a.2", Value: "2"}, {Key: "a", Value: "1"}, {Key: "a.3", Value: "3"}, {Key: "a.5", Value: "5"}, {Key: "b", Value: "x"},
	}
	for key, want := range map[string]string{"a": "123", "b": "x", "c": "", "a.2": "2"} {
		if got := JoinedProperty(list, key); got != want {
			t.Errorf("JoinedProperty(%q) = %q, want %q", key, got, want)
		}
	}
	for _, s := range []string{"", "x", strings.Repeat("y", 64), strings.Repeat("z", 65), strings.Repeat("é", 129)} {
		p := props{kind: "t"}
		p.addSplit("k", "https://h.example/"+s, maxURL)
		if got := JoinedProperty(p.list, "k"); got != "https://h.example/"+s {
			t.Errorf("split and joined %d characters: %q", len(s), got)
		}
	}
}
