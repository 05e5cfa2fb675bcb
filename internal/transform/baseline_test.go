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
