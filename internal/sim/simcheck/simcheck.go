// Package simcheck compares what Authomize's simulator stores with what the generated
// JumpCloud org says a correct sync must produce. Tests and the benchmark both use it: a
// figure is only reported for a sync whose result is exact.
package simcheck

import (
	"fmt"
	"slices"
	"sort"

	"jcsync/internal/sim/authomizesim"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/transform"
)

// Diff lists every difference between exp and snap; empty means exact.
func Diff(exp jumpcloudsim.Expected, snap authomizesim.Snapshot) []string {
	out := append(missing(exp, snap), unexpected(exp, snap)...)
	sort.Strings(out)
	return out
}

// Missing lists only what want holds and snap lacks, in Diff's words, sorted. It is the check
// for a sync that overlapped changes to the org: want is what existed for the whole window,
// and snap may also hold objects created or deleted during it.
func Missing(want jumpcloudsim.Expected, snap authomizesim.Snapshot) []string {
	out := missing(want, snap)
	sort.Strings(out)
	return out
}

// comparison is one kind's expected set against what the snapshot holds.
type comparison struct {
	missing, unexpected func() []string
}

// comparisons pairs every set Diff compares, identities included: with identities off, the
// expected set is empty and asks for nothing. The baseline record is the connector's own:
// it is in the app after every complete sync, so it is never unexpected.
func comparisons(exp jumpcloudsim.Expected, snap authomizesim.Snapshot) []comparison {
	return []comparison{
		compare("account", exp.Accounts, snap.Users),
		compare("identity", exp.Identities, snap.Identities),
		compare("grouping", exp.Groupings, snap.Groupings),
		compare("asset", exp.Assets, snap.Assets, transform.BaselineAssetID),
		compare("privilege", exp.Privileges, snap.Privileges),
		compare("membership", exp.Memberships, snap.Memberships),
		compare("permission", exp.Permissions, snap.Permissions),
	}
}

// compare reports the keys of want that got lacks and the keys of got, other than own, that
// want lacks.
func compare[K comparable, V any](kind string, want map[K]bool, got map[K]V, own ...K) comparison {
	return comparison{
		missing: func() []string {
			var out []string
			for k := range want {
				if _, ok := got[k]; !ok {
					out = append(out, fmt.Sprintf("missing %s %v", kind, k))
				}
			}
			return out
		},
		unexpected: func() []string {
			var out []string
			for k := range got {
				if !want[k] && !slices.Contains(own, k) {
					out = append(out, fmt.Sprintf("unexpected %s %v", kind, k))
				}
			}
			return out
		},
	}
}

func missing(exp jumpcloudsim.Expected, snap authomizesim.Snapshot) []string {
	var out []string
	for _, c := range comparisons(exp, snap) {
		out = append(out, c.missing()...)
	}
	return out
}

func unexpected(exp jumpcloudsim.Expected, snap authomizesim.Snapshot) []string {
	var out []string
	for _, c := range comparisons(exp, snap) {
		out = append(out, c.unexpected()...)
	}
	return out
}

// Summarize shortens a long diff for a message.
func Summarize(diff []string) string {
	if len(diff) > 20 {
		return fmt.Sprintf("%d differences, first 20: %v", len(diff), diff[:20])
	}
	return fmt.Sprint(diff)
}
