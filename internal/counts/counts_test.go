package counts

import (
	"encoding/json"
	"testing"
)

func TestAddGrowsNilAndSkipsZero(t *testing.T) {
	var c Counts
	if c = c.Add("users", 0); c != nil {
		t.Fatalf("adding zero to nil made %v, want nil", c)
	}
	c = c.Add("users", 2).Add("users", 3).Add("groups", 1)
	if c["users"] != 5 || c["groups"] != 1 || len(c) != 2 {
		t.Fatalf("got %v", c)
	}
}

func TestMergeAndClone(t *testing.T) {
	a := Counts{"users": 1}
	b := Counts{"users": 2, "apps": 4}
	m := a.Clone().Merge(b)
	if m["users"] != 3 || m["apps"] != 4 {
		t.Fatalf("merge: %v", m)
	}
	if a["users"] != 1 || len(a) != 1 {
		t.Fatalf("clone shared storage with the original: %v", a)
	}
	if m.Total() != 7 {
		t.Fatalf("total %d, want 7", m.Total())
	}
	var nilc Counts
	if nilc.Clone() != nil || nilc.Merge(nil) != nil {
		t.Fatal("nil stays nil")
	}
}

// A history or checkpoint written as map[string]int decodes into Counts, and back the same.
func TestJSONMatchesPlainMap(t *testing.T) {
	plain, _ := json.Marshal(map[string]int{"users": 3, "groups": 1})
	var c Counts
	if err := json.Unmarshal(plain, &c); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(c)
	if string(again) != string(plain) {
		t.Fatalf("%s != %s", again, plain)
	}
}
