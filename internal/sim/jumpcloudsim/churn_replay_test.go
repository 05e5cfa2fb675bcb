package jumpcloudsim

import (
	"slices"
	"testing"
)

// replay is an independent model of the org's lists in the order the API serves them. It
// follows the change log and checks each deletion was among the first front items then.
type replay struct {
	t                            *testing.T
	front                        int
	users, groups                []string // by id
	members, appUsers, appGroups map[string][]string
	userDeletes, bigRemovals     int
}

func newReplay(t *testing.T, o *Org, front int) *replay {
	r := &replay{t: t, front: front, members: map[string][]string{}, appUsers: map[string][]string{},
		appGroups: map[string][]string{}}
	for i := range o.Users {
		r.users = append(r.users, o.Users[i].ID)
	}
	for i := range o.Groups {
		g := o.Groups[i].ID
		r.groups = append(r.groups, g)
		r.members[g] = slices.Clone(o.Members[g])
	}
	for i := range o.Apps {
		a := o.Apps[i].ID
		r.appUsers[a], r.appGroups[a] = slices.Clone(o.AppUsers[a]), slices.Clone(o.AppGroups[a])
	}
	slices.Sort(r.users)
	slices.Sort(r.groups)
	return r
}

// remove deletes id from list, failing unless it sat among the first front items.
func (r *replay) remove(ch ChurnChange, list []string) []string {
	r.t.Helper()
	i := slices.Index(list, ch.ID)
	if i < 0 || i >= r.front {
		r.t.Fatalf("%+v: position %d, want within the first %d", ch, i, r.front)
	}
	return slices.Delete(list, i, i+1)
}

func (r *replay) anyBig(lists map[string][]string) bool {
	for _, l := range lists {
		if len(l) > bigList {
			return true
		}
	}
	return false
}

func (r *replay) apply(ch ChurnChange) {
	r.t.Helper()
	switch ch.Kind {
	case ChurnDeleteUser:
		r.users = r.remove(ch, r.users)
		r.userDeletes++
		for _, m := range []map[string][]string{r.members, r.appUsers} {
			for k, l := range m {
				m[k] = without(l, ch.ID)
			}
		}
	case ChurnCreateUser:
		if len(r.users) > 0 && ch.ID <= r.users[len(r.users)-1] {
			r.t.Fatalf("%+v: new id does not sort last", ch)
		}
		r.users = append(r.users, ch.ID)
	case ChurnDeleteGroup:
		r.groups = r.remove(ch, r.groups)
		delete(r.members, ch.ID)
		for a, l := range r.appGroups {
			r.appGroups[a] = without(l, ch.ID)
		}
	case ChurnCreateGroup:
		r.groups = append(r.groups, ch.ID)
	case ChurnRemoveMember, ChurnUnbindUser, ChurnUnbindGroup:
		lists := map[string]map[string][]string{ChurnRemoveMember: r.members, ChurnUnbindUser: r.appUsers,
			ChurnUnbindGroup: r.appGroups}[ch.Kind]
		if r.anyBig(lists) && len(lists[ch.Target]) <= bigList {
			r.t.Fatalf("%+v: a one-page list was chosen over multi-page ones", ch)
		}
		if len(lists[ch.Target]) > bigList {
			r.bigRemovals++
		}
		lists[ch.Target] = r.remove(ch, lists[ch.Target])
	case ChurnAddMember, ChurnBindUser, ChurnBindGroup:
		lists := map[string]map[string][]string{ChurnAddMember: r.members, ChurnBindUser: r.appUsers,
			ChurnBindGroup: r.appGroups}[ch.Kind]
		if slices.Contains(lists[ch.Target], ch.ID) {
			r.t.Fatalf("%+v: relation already existed", ch)
		}
		lists[ch.Target] = append(lists[ch.Target], ch.ID)
	default:
		r.t.Fatalf("unknown change %+v", ch)
	}
}

// matches checks the model against the org: the log must account for every change made.
func (r *replay) matches(o *Org) {
	r.t.Helper()
	var users, groups []string
	for i := range o.Users {
		users = append(users, o.Users[i].ID)
	}
	for i := range o.Groups {
		g := o.Groups[i].ID
		groups = append(groups, g)
		if !slices.Equal(o.Members[g], r.members[g]) {
			r.t.Fatalf("group %s: members differ from the replayed log", g)
		}
	}
	for i := range o.Apps {
		a := o.Apps[i].ID
		if !slices.Equal(o.AppUsers[a], r.appUsers[a]) || !slices.Equal(o.AppGroups[a], r.appGroups[a]) {
			r.t.Fatalf("app %s: bindings differ from the replayed log", a)
		}
	}
	slices.Sort(users)
	slices.Sort(groups)
	if !slices.Equal(users, r.users) || !slices.Equal(groups, r.groups) {
		r.t.Fatal("users or groups differ from the replayed log")
	}
}
