package simcheck

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"jcsync/internal/sim/authomizesim"
	"jcsync/internal/sim/jumpcloudsim"
)

// The benchmark trusts Diff to refuse a wrong sync: every kind of difference must show.
func TestDiffFindsEveryKindOfDifference(t *testing.T) {
	exp := jumpcloudsim.Expected{
		Accounts: map[string]bool{"u1": true, "u2": true}, Identities: map[string]bool{},
		Groupings: map[string]bool{"g1": true}, Assets: map[string]bool{"a1": true},
		Privileges:  map[string]bool{"p1": true},
		Memberships: map[[2]string]bool{{"u1", "g1"}: true},
		Permissions: map[[4]string]bool{{"User", "u1", "p1", "a1"}: true},
	}
	raw := json.RawMessage(`{}`)
	snap := authomizesim.Snapshot{
		Users: map[string]json.RawMessage{"u1": raw, "u2": raw}, Identities: map[string]json.RawMessage{},
		Groupings: map[string]json.RawMessage{"g1": raw}, Assets: map[string]json.RawMessage{"a1": raw},
		Privileges:  map[string]json.RawMessage{"p1": raw},
		Memberships: map[[2]string]json.RawMessage{{"u1", "g1"}: raw},
		Permissions: map[[4]string]json.RawMessage{{"User", "u1", "p1", "a1"}: raw},
	}
	if d := Diff(exp, snap); len(d) != 0 {
		t.Fatalf("identical sets differ: %v", d)
	}
	delete(snap.Users, "u2")
	snap.Identities["stale"] = raw
	delete(snap.Memberships, [2]string{"u1", "g1"})
	snap.Permissions[[4]string{"Grouping", "g1", "p1", "a1"}] = raw
	d := strings.Join(Diff(exp, snap), "\n")
	for _, want := range []string{"missing account u2", "unexpected identity stale", "missing membership [u1 g1]", "unexpected permission [Grouping g1 p1 a1]"} {
		if !strings.Contains(d, want) {
			t.Fatalf("diff lacks %q:\n%s", want, d)
		}
	}
}

// A sync overlapping churn may hold extra objects; Missing must report only the absent ones,
// in Diff's words, identities included.
func TestMissingIgnoresExtras(t *testing.T) {
	want := jumpcloudsim.Expected{
		Accounts: map[string]bool{"u1": true, "u2": true}, Identities: map[string]bool{"u1": true, "u2": true},
		Groupings: map[string]bool{"g1": true}, Assets: map[string]bool{"a1": true},
		Privileges:  map[string]bool{"p1": true},
		Memberships: map[[2]string]bool{{"u1", "g1"}: true, {"u2", "g1"}: true},
		Permissions: map[[4]string]bool{{"User", "u1", "p1", "a1"}: true},
	}
	raw := json.RawMessage(`{}`)
	snap := authomizesim.Snapshot{
		Users: map[string]json.RawMessage{"u1": raw, "u3": raw}, Identities: map[string]json.RawMessage{"u1": raw},
		Groupings: map[string]json.RawMessage{"g1": raw, "g2": raw}, Assets: map[string]json.RawMessage{"a1": raw},
		Privileges:  map[string]json.RawMessage{"p1": raw},
		Memberships: map[[2]string]json.RawMessage{{"u1", "g1"}: raw, {"u3", "g2"}: raw},
		Permissions: map[[4]string]json.RawMessage{{"User", "u1", "p1", "a1"}: raw, {"Grouping", "g2", "p1", "a1"}: raw},
	}
	got := Missing(want, snap)
	wantMsgs := []string{"missing account u2", "missing identity u2", "missing membership [u2 g1]"}
	if strings.Join(got, "\n") != strings.Join(wantMsgs, "\n") {
		t.Fatalf("Missing = %q, want %q", got, wantMsgs)
	}
	// Every line of Missing is a line of Diff: the two speak the same language.
	diff := Diff(want, snap)
	for _, m := range got {
		if !slices.Contains(diff, m) {
			t.Fatalf("Diff lacks Missing's %q: %q", m, diff)
		}
	}
	// With identities off the expected set is empty: stored identities are not asked for.
	want.Identities = map[string]bool{}
	if got := Missing(want, snap); slices.Contains(got, "missing identity u2") {
		t.Fatalf("identities off still reports identities: %q", got)
	}
}
