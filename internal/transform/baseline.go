package transform

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"jcsync/internal/authomize"
)

// The baseline record. The sweep compares what a sync read with what the last complete sync
// read, so a key that suddenly sees half the org cannot wipe the other half. That baseline is
// kept in the Authomize app itself, as one asset next to the data it guards: it lives exactly
// as long as the data does, whatever happens to Temporal's closed runs, its retention, or
// the Temporal cluster. An app whose data is deleted loses its baseline with it, which is
// right: there is nothing left to protect.

// BaselineAssetID is the uniqueId of the baseline record. No JumpCloud id has a colon.
const BaselineAssetID = "jcsync:baseline"

// baselinePrefix marks the custom properties that hold counts.
const baselinePrefix = "count."

// Baseline is what the last complete sync of an integration read from JumpCloud.
type Baseline struct {
	Counts   map[string]int
	SyncedAt time.Time
	// Run names the sync that recorded it (a workflow id), for an operator to look up.
	Run string
	// OrgID and Integration name the JumpCloud org and the integration whose data the app
	// holds. The sweep is app-wide: a sync of another org must not sweep this org's records.
	// Empty in records of earlier versions; the next complete sync fills them in.
	OrgID       string
	Integration string
	// LastWrite is Authomize's acceptedTimestamp of a write made after every other write of
	// the sync that recorded the baseline: no record that sync wrote is newer. The next sync
	// starts writing more than the sweep margin after it, so that its sweep removes whatever
	// the earlier sync wrote and JumpCloud no longer has. Zero when unknown.
	LastWrite time.Time
	// Writing names the run (a workflow run id) that rewrote the record when it started and
	// has not recorded its end: it may have written anything up to now, so LastWrite does not
	// bound its writes. Empty once a sync recorded its end.
	Writing string
}

// BaselineAsset is the record that carries b. Custom property values stay within
// Authomize's 64 characters.
func BaselineAsset(b Baseline) authomize.Asset {
	props := []authomize.CustomProperty{
		{Key: "format", Value: "1"},
		{Key: "syncedAt", Value: b.SyncedAt.UTC().Format(time.RFC3339)},
	}
	for _, p := range []struct{ key, value string }{
		{"run", b.Run}, {"org", b.OrgID}, {"integration", b.Integration}, {"writing", b.Writing},
	} {
		if p.value != "" {
			props = append(props, authomize.CustomProperty{Key: p.key, Value: cut(p.value)})
		}
	}
	if !b.LastWrite.IsZero() {
		props = append(props, authomize.CustomProperty{Key: "lastWrite", Value: b.LastWrite.UTC().Format(time.RFC3339Nano)})
	}
	kinds := make([]string, 0, len(b.Counts))
	for k := range b.Counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		props = append(props, authomize.CustomProperty{Key: baselinePrefix + k, Value: strconv.Itoa(b.Counts[k])})
	}
	return authomize.Asset{
		UniqueID: BaselineAssetID,
		Name:     "JumpCloud connector: last complete sync",
		Type:     authomize.AssetOther,
		Description: "Kept by the JumpCloud connector: what its last complete sync read, so that a sync that " +
			"suddenly reads far less refuses to delete. Not a JumpCloud application; deleting it makes the next " +
			"sync refuse its sweep until an operator confirms.",
		CustomProperties: props,
	}
}

// ParseBaseline reads a baseline record.
func ParseBaseline(a authomize.Asset) (Baseline, error) {
	b := Baseline{Counts: map[string]int{}}
	for _, p := range a.CustomProperties {
		switch {
		case p.Key == "syncedAt":
			t, err := time.Parse(time.RFC3339, p.Value)
			if err != nil {
				return Baseline{}, fmt.Errorf("baseline record %s: syncedAt %q: %w", a.UniqueID, p.Value, err)
			}
			b.SyncedAt = t
		case p.Key == "run":
			b.Run = p.Value
		case p.Key == "org":
			b.OrgID = p.Value
		case p.Key == "integration":
			b.Integration = p.Value
		case p.Key == "writing":
			b.Writing = p.Value
		case p.Key == "lastWrite":
			t, err := time.Parse(time.RFC3339Nano, p.Value)
			if err != nil {
				return Baseline{}, fmt.Errorf("baseline record %s: lastWrite %q: %w", a.UniqueID, p.Value, err)
			}
			b.LastWrite = t
		case strings.HasPrefix(p.Key, baselinePrefix):
			n, err := strconv.Atoi(p.Value)
			if err != nil || n < 0 {
				return Baseline{}, fmt.Errorf("baseline record %s: %s = %q is not a count", a.UniqueID, p.Key, p.Value)
			}
			b.Counts[strings.TrimPrefix(p.Key, baselinePrefix)] = n
		}
	}
	if len(b.Counts) == 0 {
		return Baseline{}, fmt.Errorf("baseline record %s holds no counts", a.UniqueID)
	}
	return b, nil
}

// cut keeps a value within a custom property's limit.
func cut(s string) string {
	v, _ := truncateRunes(s, maxPropertyValue)
	return v
}
