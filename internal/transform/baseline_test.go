package transform

import (
	"strings"
	"testing"
	"time"
)

func TestBaselineRecordRoundTrips(t *testing.T) {
	in := Baseline{
		Counts:   map[string]int{"users": 50000, "groups": 1000, "members": 0},
		SyncedAt: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC),
		Run:      "jcsync-" + strings.Repeat("x", 100),
	}
	a := BaselineAsset(in)
	if a.UniqueID != BaselineAssetID || a.Name == "" {
		t.Fatalf("record %+v", a)
	}
	for _, p := range a.CustomProperties {
		if len([]rune(p.Value)) > maxPropertyValue || p.Value == "" {
			t.Fatalf("property %s = %q breaks Authomize's limits", p.Key, p.Value)
		}
	}
	out, err := ParseBaseline(a)
	if err != nil {
		t.Fatal(err)
	}
	if !out.SyncedAt.Equal(in.SyncedAt) || len(out.Counts) != 3 || out.Counts["users"] != 50000 || out.Counts["members"] != 0 {
		t.Fatalf("read back %+v", out)
	}
}

func TestBaselineRecordRejectsGarbage(t *testing.T) {
	a := BaselineAsset(Baseline{Counts: map[string]int{"users": 3}, SyncedAt: time.Now()})
	a.CustomProperties[len(a.CustomProperties)-1].Value = "-4"
	if _, err := ParseBaseline(a); err == nil {
		t.Fatal("a negative count was accepted")
	}
	a.CustomProperties = a.CustomProperties[:2]
	if _, err := ParseBaseline(a); err == nil {
		t.Fatal("a record without counts was accepted")
	}
}

// The record names the org and integration it guards, the last write of the sync that
// recorded it and a run that has started writing since: the next sync's sweep depends on
// each of them surviving the round trip through Authomize's custom properties.
func TestBaselineRecordKeepsOrgAndWrites(t *testing.T) {
	last := time.Date(2026, 12, 3, 6, 1, 2, 123456000, time.UTC)
	in := Baseline{Counts: map[string]int{"users": 1}, SyncedAt: last.Add(-time.Hour), OrgID: "5f0c1a2b3c4d5e6f7a8b9c0d",
		Integration: "acme", LastWrite: last, Writing: "0b7d2d1e-59c4-4c0e-9f76-1b0a3c6e9d11"}
	out, err := ParseBaseline(BaselineAsset(in))
	if err != nil {
		t.Fatal(err)
	}
	if out.OrgID != in.OrgID || out.Integration != in.Integration || !out.LastWrite.Equal(last) || out.Writing != in.Writing {
		t.Fatalf("read back %+v, want %+v", out, in)
	}
	// A record of an earlier version names none of them: it reads as unknown, not as an error.
	old := BaselineAsset(Baseline{Counts: map[string]int{"users": 1}, SyncedAt: last})
	if out, err := ParseBaseline(old); err != nil || out.OrgID != "" || !out.LastWrite.IsZero() || out.Writing != "" {
		t.Fatalf("earlier record: %+v, %v", out, err)
	}
}
