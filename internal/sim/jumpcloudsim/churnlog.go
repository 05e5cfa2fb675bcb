package jumpcloudsim

import (
	"slices"

	"jcsync/internal/transform"
)

// ChurnLog is what a churn changed, in Expected's key space: every key that was created or
// deleted during the window, directly or as a cascade of a deleted user or group. A sync
// that overlapped the window may or may not hold these; it must hold everything else.
type ChurnLog struct {
	Total   int
	ByKind  map[string]int
	Changes []ChurnChange // in the order applied

	Accounts, Identities, Groupings map[string]bool
	Memberships                     map[[2]string]bool // {accountID, groupingID}
	Permissions                     map[[4]string]bool // as in Expected
}

func newChurnLog() ChurnLog {
	return ChurnLog{ByKind: map[string]int{}, Accounts: map[string]bool{}, Identities: map[string]bool{},
		Groupings: map[string]bool{}, Memberships: map[[2]string]bool{}, Permissions: map[[4]string]bool{}}
}

func memberKey(user, group string) [2]string {
	return [2]string{transform.UserAccountID(user), transform.GroupID(group)}
}

func userPermKey(user, app string) [4]string {
	return [4]string{"User", transform.UserAccountID(user), transform.SSOPrivilegeID, transform.AppAssetID(app)}
}

func groupPermKey(group, app string) [4]string {
	return [4]string{"Grouping", transform.GroupID(group), transform.SSOPrivilegeID, transform.AppAssetID(app)}
}

func (l *ChurnLog) record(ch ChurnChange, k churnKeys) {
	l.Total++
	l.ByKind[ch.Kind]++
	l.Changes = append(l.Changes, ch)
	l.touch(k)
}

func (l *ChurnLog) touch(k churnKeys) {
	for _, u := range k.users {
		id := transform.UserAccountID(u)
		l.Accounts[id] = true
		l.Identities[id] = true
	}
	for _, g := range k.groups {
		l.Groupings[transform.GroupID(g)] = true
	}
	for _, m := range k.members {
		l.Memberships[memberKey(m[0], m[1])] = true
	}
	for _, b := range k.userBinds {
		l.Permissions[userPermKey(b[0], b[1])] = true
	}
	for _, b := range k.groupBinds {
		l.Permissions[groupPermKey(b[0], b[1])] = true
	}
}

// Stable is what existed for the whole churn window: in before and in after, and never
// touched in between (an object deleted and re-created is not stable). before and after are
// the org's Expected at the window's start and end.
func (l ChurnLog) Stable(before, after Expected) Expected {
	return Expected{
		Accounts:    stableSet(before.Accounts, after.Accounts, l.Accounts),
		Identities:  stableSet(before.Identities, after.Identities, l.Identities),
		Groupings:   stableSet(before.Groupings, after.Groupings, l.Groupings),
		Assets:      stableSet(before.Assets, after.Assets, nil),
		Privileges:  stableSet(before.Privileges, after.Privileges, nil),
		Memberships: stableSet(before.Memberships, after.Memberships, l.Memberships),
		Permissions: stableSet(before.Permissions, after.Permissions, l.Permissions),
	}
}

func stableSet[K comparable](before, after, touched map[K]bool) map[K]bool {
	out := map[K]bool{}
	for k, ok := range before {
		if ok && after[k] && !touched[k] {
			out[k] = true
		}
	}
	return out
}

// churnKeys are the raw ids one change touched, cascades included.
type churnKeys struct {
	users, groups         []string    // created or deleted
	members               [][2]string // {user, group}
	userBinds, groupBinds [][2]string // {user or group, app}
}

// userCascade is what deleting user u removes: its account and identity, its memberships
// and its direct bindings. It reads the relation maps the way Org.Expected does. Diffing
// Expected before and after each change would be simpler, but at 20,000 users it holds the
// server's write lock for over 100 ms a tick, stalling the sync being measured.
func userCascade(o *Org, u string) churnKeys {
	k := churnKeys{users: []string{u}}
	for g, ms := range o.Members {
		if slices.Contains(ms, u) {
			k.members = append(k.members, [2]string{u, g})
		}
	}
	for a, us := range o.AppUsers {
		if slices.Contains(us, u) {
			k.userBinds = append(k.userBinds, [2]string{u, a})
		}
	}
	return k
}

// groupCascade is what deleting group g removes: its grouping, its memberships and its
// bindings. Nested groups and LDAP/RADIUS bindings have no place in Authomize.
func groupCascade(o *Org, g string) churnKeys {
	k := churnKeys{groups: []string{g}}
	for _, u := range o.Members[g] {
		k.members = append(k.members, [2]string{u, g})
	}
	for a, gs := range o.AppGroups {
		if slices.Contains(gs, g) {
			k.groupBinds = append(k.groupBinds, [2]string{g, a})
		}
	}
	return k
}
