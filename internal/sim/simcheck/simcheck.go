// Package simcheck compares what Authomize's simulator stores with what the generated
// JumpCloud org says a correct sync must produce. Tests and the benchmark both use it: a
// figure is only reported for a sync whose result is exact.
package simcheck

import (
	"fmt"
	"sort"

	"jcsync/internal/sim/authomizesim"
	"jcsync/internal/sim/jumpcloudsim"
)

// Diff lists every difference between exp and snap; empty means exact.
func Diff(exp jumpcloudsim.Expected, snap authomizesim.Snapshot) []string {
	var out []string
	out = append(out, diffSet("account", exp.Accounts, snap.Users)...)
	out = append(out, diffSet("identity", exp.Identities, snap.Identities)...)
	out = append(out, diffSet("grouping", exp.Groupings, snap.Groupings)...)
	out = append(out, diffSet("asset", exp.Assets, snap.Assets)...)
	out = append(out, diffSet("privilege", exp.Privileges, snap.Privileges)...)
	out = append(out, diffSet("membership", exp.Memberships, snap.Memberships)...)
	out = append(out, diffSet("permission", exp.Permissions, snap.Permissions)...)
	sort.Strings(out)
	return out
}

func diffSet[K comparable, V any](kind string, want map[K]bool, got map[K]V) []string {
	var out []string
	for k := range want {
		if _, ok := got[k]; !ok {
			out = append(out, fmt.Sprintf("missing %s %v", kind, k))
		}
	}
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
