package jumpcloudsim

import (
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"jcsync/internal/jumpcloud"
)

// Churn kinds, the keys of ChurnLog.ByKind.
const (
	ChurnDeleteUser   = "delete-user"
	ChurnCreateUser   = "create-user"
	ChurnDeleteGroup  = "delete-group"
	ChurnCreateGroup  = "create-group"
	ChurnRemoveMember = "remove-member"
	ChurnAddMember    = "add-member"
	ChurnUnbindUser   = "unbind-user"
	ChurnBindUser     = "bind-user"
	ChurnUnbindGroup  = "unbind-group"
	ChurnBindGroup    = "bind-group"
)

// ChurnKinds lists every kind of change; one round of the churn applies each once.
var ChurnKinds = []string{ChurnDeleteUser, ChurnCreateUser, ChurnDeleteGroup, ChurnCreateGroup,
	ChurnRemoveMember, ChurnAddMember, ChurnUnbindUser, ChurnBindUser, ChurnUnbindGroup, ChurnBindGroup}

// ChurnOptions configures StartChurn.
type ChurnOptions struct {
	// Every is the time between changes; one change per tick. Default 1s.
	Every time.Duration
	// Seed makes the sequence of changes reproducible for the same org.
	Seed int64
	// Front bounds deletions to the first Front items of each list in the order the API
	// serves it (users by _id, groups by id, a group's members and an app's bindings in stored
	// order). Default 150, so deletions land in the first pages, which a paginating reader has
	// already passed: the case where skip-based paging silently drops later items.
	Front int
	// MaxGroupMembers spares groups with more direct members from deletion (0: no limit).
	// Day-to-day change does not delete the all-staff group; losing it is a sharp shrink
	// that the sweep's guard is right to refuse.
	MaxGroupMembers int
}

// bigList is the length past which a member or binding list spans more than one page.
const bigList = maxPageLimit

// Churn changes a served org while a sync reads it.
type Churn struct {
	s        *Server
	every    time.Duration
	eng      *churner
	applied  atomic.Int64
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// StartChurn starts changing the org, one change per opts.Every, until Stop.
func (s *Server) StartChurn(opts ChurnOptions) *Churn {
	if opts.Every <= 0 {
		opts.Every = time.Second
	}
	c := &Churn{s: s, every: opts.Every, eng: newChurner(opts),
		stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *Churn) run() {
	defer close(c.done)
	t := time.NewTicker(c.every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		// A tick and Stop can be ready together; Stop wins, so no change lands after it.
		select {
		case <-c.stop:
			return
		default:
		}
		c.s.Update(func(o *Org) {
			if _, _, ok := c.eng.step(o); ok {
				c.applied.Add(1)
			}
		})
	}
}

// Stop ends the churn, waits for a change in progress, and returns the log. Later calls
// return the same log.
func (c *Churn) Stop() ChurnLog {
	c.stopOnce.Do(func() { close(c.stop) })
	<-c.done
	return c.eng.log
}

// Changes is the number of changes applied so far.
func (c *Churn) Changes() int { return int(c.applied.Load()) }

// ChurnChange is one applied change. ID is the user or group created or deleted, or the
// user or group of a relation; Target is the relation's group (memberships) or app
// (bindings).
type ChurnChange struct {
	Kind       string
	ID, Target string
}

// churner picks and applies changes. It only runs under the server's write lock.
type churner struct {
	rng   *rand.Rand
	front int
	// maxMembers: see ChurnOptions.MaxGroupMembers.
	maxMembers int
	bag        []string // the current round, shuffled
	next       int
	joiners    int // names handed to created users and groups
	log        ChurnLog
}

func newChurner(opts ChurnOptions) *churner {
	if opts.Front <= 0 {
		opts.Front = 150
	}
	seed := uint64(opts.Seed)
	bag := slices.Clone(ChurnKinds)
	return &churner{rng: rand.New(rand.NewPCG(seed^0xc4a5e, seed+0x51)), front: opts.Front,
		maxMembers: opts.MaxGroupMembers, bag: bag, next: len(bag), log: newChurnLog()}
}

// step applies one change, taking the next kind of the shuffled round. A kind with nothing to
// act on gives up its turn to the next one, so every tick changes something whenever any
// kind can, and kinds stay balanced over rounds.
func (c *churner) step(o *Org) (ChurnChange, churnKeys, bool) {
	o.ensureIndex()
	for range len(c.bag) {
		if c.next == len(c.bag) {
			c.rng.Shuffle(len(c.bag), func(i, j int) { c.bag[i], c.bag[j] = c.bag[j], c.bag[i] })
			c.next = 0
		}
		kind := c.bag[c.next]
		c.next++
		if ch, k, ok := c.apply(o, kind); ok {
			c.log.record(ch, k)
			return ch, k, true
		}
	}
	return ChurnChange{}, churnKeys{}, false
}

func (c *churner) apply(o *Org, kind string) (ChurnChange, churnKeys, bool) {
	ch := ChurnChange{Kind: kind}
	var k churnKeys
	switch kind {
	case ChurnDeleteUser:
		ids := c.deletableUsers(o)
		if len(ids) == 0 {
			return ch, k, false
		}
		ch.ID = ids[c.rng.IntN(len(ids))]
		k = userCascade(o, ch.ID)
		o.RemoveUser(ch.ID)
	case ChurnCreateUser:
		ch.ID = o.AddUser(c.newUser(o))
		k.users = []string{ch.ID}
	case ChurnDeleteGroup:
		ids := frontIDs(o.Groups, func(g *jumpcloud.UserGroup) string { return g.ID }, c.front)
		if c.maxMembers > 0 {
			ids = slices.DeleteFunc(ids, func(id string) bool { return len(o.Members[id]) > c.maxMembers })
		}
		if len(ids) == 0 {
			return ch, k, false
		}
		ch.ID = ids[c.rng.IntN(len(ids))]
		k = groupCascade(o, ch.ID)
		o.RemoveGroup(ch.ID)
	case ChurnCreateGroup:
		ch.ID = o.AddGroup(c.newGroup(o))
		k.groups = []string{ch.ID}
	case ChurnRemoveMember:
		g, ok := c.pickList(groupIDs(o), o.Members)
		if !ok {
			return ch, k, false
		}
		ch.ID, ch.Target = c.pickFront(o.Members[g]), g
		o.RemoveMember(g, ch.ID)
		k.members = [][2]string{{ch.ID, g}}
	case ChurnAddMember:
		u, g, ok := c.newPair(len(o.Users), len(o.Groups), func(i, j int) (string, string, bool) {
			u, g := o.Users[i].ID, o.Groups[j].ID
			return u, g, !c.log.Memberships[memberKey(u, g)] && o.AddMember(g, u)
		})
		if !ok {
			return ch, k, false
		}
		ch.ID, ch.Target = u, g
		k.members = [][2]string{{u, g}}
	case ChurnUnbindUser, ChurnUnbindGroup:
		lists := o.AppUsers
		if kind == ChurnUnbindGroup {
			lists = o.AppGroups
		}
		a, ok := c.pickList(appIDs(o), lists)
		if !ok {
			return ch, k, false
		}
		ch.ID, ch.Target = c.pickFront(lists[a]), a
		if kind == ChurnUnbindUser {
			o.UnbindUser(a, ch.ID)
			k.userBinds = [][2]string{{ch.ID, a}}
		} else {
			o.UnbindGroup(a, ch.ID)
			k.groupBinds = [][2]string{{ch.ID, a}}
		}
	case ChurnBindUser:
		u, a, ok := c.newPair(len(o.Users), len(o.Apps), func(i, j int) (string, string, bool) {
			u, a := o.Users[i].ID, o.Apps[j].ID
			return u, a, !c.log.Permissions[userPermKey(u, a)] && o.BindUser(a, u)
		})
		if !ok {
			return ch, k, false
		}
		ch.ID, ch.Target = u, a
		k.userBinds = [][2]string{{u, a}}
	case ChurnBindGroup:
		g, a, ok := c.newPair(len(o.Groups), len(o.Apps), func(i, j int) (string, string, bool) {
			g, a := o.Groups[i].ID, o.Apps[j].ID
			return g, a, !c.log.Permissions[groupPermKey(g, a)] && o.BindGroup(a, g)
		})
		if !ok {
			return ch, k, false
		}
		ch.ID, ch.Target = g, a
		k.groupBinds = [][2]string{{g, a}}
	default:
		return ch, k, false
	}
	return ch, k, true
}

// deletableUsers are the first Front users by _id, except those linked to an administrator
// (same email): deleting one would also change what the admin's login means.
func (c *churner) deletableUsers(o *Org) []string {
	admins := make(map[string]bool, len(o.Admins))
	for i := range o.Admins {
		admins[strings.ToLower(o.Admins[i].Email)] = true
	}
	var out []string
	for _, id := range frontIDs(o.Users, func(u *jumpcloud.SystemUser) string { return u.ID }, c.front) {
		if u, ok := o.User(id); ok && !admins[strings.ToLower(u.Email)] {
			out = append(out, id)
		}
	}
	return out
}

// frontIDs are the first n ids in id order, as a reader sorting by id pages through them.
func frontIDs[T any](items []T, id func(*T) string, n int) []string {
	ids := make([]string, len(items))
	for i := range items {
		ids[i] = id(&items[i])
	}
	if !slices.IsSorted(ids) {
		slices.Sort(ids)
	}
	return ids[:min(n, len(ids))]
}

func groupIDs(o *Org) []string {
	ids := make([]string, len(o.Groups))
	for i := range o.Groups {
		ids[i] = o.Groups[i].ID
	}
	return ids
}

func appIDs(o *Org) []string {
	ids := make([]string, len(o.Apps))
	for i := range o.Apps {
		ids[i] = o.Apps[i].ID
	}
	return ids
}

// pickList picks an owner (in ids, for a reproducible order) whose list is not empty,
// preferring lists longer than a page so that multi-page lists see deletions too.
func (c *churner) pickList(ids []string, lists map[string][]string) (string, bool) {
	var some, big []string
	for _, id := range ids {
		if n := len(lists[id]); n > bigList {
			big = append(big, id)
		} else if n > 0 {
			some = append(some, id)
		}
	}
	if len(big) > 0 {
		some = big
	}
	if len(some) == 0 {
		return "", false
	}
	return some[c.rng.IntN(len(some))], true
}

// pickFront picks one of the first Front items of a non-empty list.
func (c *churner) pickFront(list []string) string {
	return list[c.rng.IntN(min(c.front, len(list)))]
}

// newPair tries random (i, j) until try accepts one: a relation never touched before in
// this churn, so each relation's fate over the window is a single change.
func (c *churner) newPair(n, m int, try func(i, j int) (string, string, bool)) (string, string, bool) {
	if n == 0 || m == 0 {
		return "", "", false
	}
	for range 100 {
		if a, b, ok := try(c.rng.IntN(n), c.rng.IntN(m)); ok {
			return a, b, true
		}
	}
	return "", "", false
}

// newUser is a user like the generator's, with a username and email no one else has, and
// an id later than all others, as a newly created JumpCloud user gets.
func (c *churner) newUser(o *Org) jumpcloud.SystemUser {
	taken := make(map[string]bool, 2*len(o.Users))
	for i := range o.Users {
		taken[strings.ToLower(o.Users[i].Username)] = true
		taken[strings.ToLower(o.Users[i].Email)] = true
	}
	u := genUser(o, c.rng, len(o.Users))
	for {
		c.joiners++
		name := "joiner" + strconv.Itoa(c.joiners)
		if !taken[name] && !taken[name+"@example.com"] {
			u.Username, u.Email = name, name+"@example.com"
			u.EmployeeIdentifier = "J" + strconv.Itoa(100000+c.joiners)
			break
		}
	}
	return u
}

// newGroup is an empty static group with a name no other group has.
func (c *churner) newGroup(o *Org) jumpcloud.UserGroup {
	taken := make(map[string]bool, len(o.Groups))
	for i := range o.Groups {
		taken[o.Groups[i].Name] = true
	}
	base := groupNames[c.rng.IntN(len(groupNames))]
	name := base
	for taken[name] {
		c.joiners++
		name = base + " " + strconv.Itoa(c.joiners)
	}
	return jumpcloud.UserGroup{Name: name, MembershipMethod: "STATIC", Description: "Group " + name}
}

// Log is a copy of the log so far, for a test that checks between syncs while the churn
// goes on.
func (c *Churn) Log() ChurnLog {
	var out ChurnLog
	c.s.View(func(*Org) {
		l := c.eng.log
		out = ChurnLog{Total: l.Total, ByKind: maps.Clone(l.ByKind), Changes: slices.Clone(l.Changes),
			Accounts: maps.Clone(l.Accounts), Identities: maps.Clone(l.Identities), Groupings: maps.Clone(l.Groupings),
			Memberships: maps.Clone(l.Memberships), Permissions: maps.Clone(l.Permissions)}
	})
	return out
}
