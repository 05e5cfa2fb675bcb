// Package simcheck compares what Authomize's simulator stores with what the generated
// JumpCloud org says a correct sync must produce. Tests and the benchmark both use it: a
// figure is only reported for a sync whose result is exact.
package simcheck

import (
	"fmt"
	"maps"
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

// missing compares every set Diff compares, identities included: with identities off, the
// expected set is empty and asks for nothing.
func missing(exp jumpcloudsim.Expected, snap authomizesim.Snapshot) []string {
	var out []string
	out = append(out, missingSet("account", exp.Accounts, snap.Users)...)
	out = append(out, missingSet("identity", exp.Identities, snap.Identities)...)
	out = append(out, missingSet("grouping", exp.Groupings, snap.Groupings)...)
	out = append(out, missingSet("asset", exp.Assets, snap.Assets)...)
	out = append(out, missingSet("privilege", exp.Privileges, snap.Privileges)...)
	out = append(out, missingSet("membership", exp.Memberships, snap.Memberships)...)
	out = append(out, missingSet("permission", exp.Permissions, snap.Permissions)...)
	return out
}

func unexpected(exp jumpcloudsim.Expected, snap authomizesim.Snapshot) []string {
	var out []string
	out = append(out, unexpectedSet("account", exp.Accounts, snap.Users)...)
	out = append(out, unexpectedSet("identity", exp.Identities, snap.Identities)...)
	out = append(out, unexpectedSet("grouping", exp.Groupings, snap.Groupings)...)
	// The baseline record is the connector's own: it is in the app after every complete sync.
	assets := maps.Clone(snap.Assets)
	delete(assets, transform.BaselineAssetID)
	out = append(out, unexpectedSet("asset", exp.Assets, assets)...)
	out = append(out, unexpectedSet("privilege", exp.Privileges, snap.Privileges)...)
	out = append(out, unexpectedSet("membership", exp.Memberships, snap.Memberships)...)
	out = append(out, unexpectedSet("permission", exp.Permissions, snap.Permissions)...)
	return out
}

func missingSet[K comparable, V any](kind string, want map[K]bool, got map[K]V) []string {
	var out []string
	for k := range want {
		if _, ok := got[k]; !ok {
			out = append(out, fmt.Sprintf("missing %s %v", kind, k))
		}
	}
	return out
}

func unexpectedSet[K comparable, V any](kind string, want map[K]bool, got map[K]V) []string {
	var out []string
	for k := range got {
		if !want[k] {
			out = append(out, fmt.Sprintf("unexpected %s %v", kind, k))
		}
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
