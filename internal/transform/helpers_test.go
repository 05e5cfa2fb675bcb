package transform

import (
	"encoding/json"
	"reflect"
	"testing"

	"jcsync/internal/authomize"

	"jcsync/internal/sim/authomizesim"
)

// validate JSON-encodes items in a {"data":[...]} body, as the uploader does, and checks
// it with the Authomize simulator's validator. Empty lists are not sent by the uploader
// (Authomize rejects an empty data list), so they are not checked.
func validate[T any](t testing.TB, kind authomizesim.Kind, items []T) {
	t.Helper()
	if len(items) == 0 {
		return
	}
	body, err := json.Marshal(struct {
		Data []T `json:"data"`
	}{items})
	if err != nil {
		t.Fatalf("%s: encode: %v", kind, err)
	}
	if err := authomizesim.Validate(kind, body); err != nil {
		t.Fatalf("%s: %v\nbody: %.2000s", kind, err, body)
	}
}

// counts is a compact way to write the expected Report maps in tables.
type counts map[string]int

func checkReport(t *testing.T, r *Report, skipped, adjusted counts) {
	t.Helper()
	norm := func(m map[string]int) map[string]int {
		if len(m) == 0 {
			return nil
		}
		return m
	}
	if got, want := norm(r.Skipped), norm(skipped); !reflect.DeepEqual(got, want) {
		t.Errorf("skipped = %v, want %v", got, want)
	}
	if got, want := norm(r.Adjusted), norm(adjusted); !reflect.DeepEqual(got, want) {
		t.Errorf("adjusted = %v, want %v", got, want)
	}
}

func prop(list []authomize.CustomProperty, key string) (string, bool) {
	for _, p := range list {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}
