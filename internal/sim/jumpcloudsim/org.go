// Package jumpcloudsim is a faithful fake of the JumpCloud API (an http.Handler) with a seeded
// org generator, fault injection and request counters, for tests, the demo and benchmarks.
//
// # Directory Insights
//
// The server also answers POST /insights/directory/v1/events (InsightsPath), which the real
// API serves on its API host; here it shares the console routes' address, authentication
// (x-api-key or a service account's bearer token, x-org-id, one header per org allowed),
// latency, rate limit and faults. It validates the body as the vendor's swagger and
// documentation describe (service and start_time required, known services only, RFC 3339
// times, start not in the future, end after start, typed fields, fields naming a known
// field, search_after as [milliseconds, id], search_term of and/or/not), answering 400
// with {"message": ...}; a nonsensical limit or sort falls back to 1000 and ASC as
// documented, and unknown body fields are ignored. Events are ordered by timestamp, then
// id, start inclusive, end exclusive (UNCONFIRMED: the vendor does not say), and paged by
// search_after with X-Result-Count, X-Limit, X-Sort, X-Search_after (always sent) and
// X-Request-Id.
//
// Once an org is served (New), each mutation through its methods records the matching
// event at the time of the change: AddUser (user_create), UpdateUser, SuspendUser and
// UnsuspendUser (user_update with changes), RemoveUser (user_delete), AddGroup,
// UpdateGroup, RemoveGroup (group_*), AddApp, UpdateApp, RemoveApp (application_*),
// AddAdmin, UpdateAdmin, RemoveAdmin (admin_*), AddMember/RemoveMember and BindUser/UnbindUser,
// BindGroup/UnbindGroup (association_change, the group or the app as "from"). Changes made
// by assigning fields directly record nothing. Knobs: SetInsightsLag, HoldInsightsEvents and ReleaseInsightsEvents,
// AddNoiseEvents, SetInsightsForbidden, SetInsightsFault; Counts().Insights counts the
// route's requests. ApplyChange makes one change of a kind (ChangeKinds), picking its
// object, and returns the time of its event.
package jumpcloudsim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"jcsync/internal/jumpcloud"
	"jcsync/internal/transform"
)

// Org is one JumpCloud organization. Tests may read and change it directly before serving, or
// through Server.Update while serving. Relations hold ids in the order JumpCloud would list
// them.
type Org struct {
	ID   string
	Name string

	Users  []jumpcloud.SystemUser
	Admins []jumpcloud.Admin
	Groups []jumpcloud.UserGroup
	Apps   []jumpcloud.Application

	Members   map[string][]string // group id → direct member user ids
	AppUsers  map[string][]string // app id → directly bound user ids
	AppGroups map[string][]string // app id → directly bound group ids
	// NestedGroups lists groups that are members of a group. /members serves them as
	// user_group edges, which the connector must skip: only users are accounts.
	NestedGroups map[string][]string

	LDAP   jumpcloud.LDAPServer
	RADIUS jumpcloud.RadiusServer
	// LDAPGroups and RadiusGroups are groups bound to the LDAP / RADIUS server: they leak
	// ldap_server / radius_server edges into the graph endpoints.
	LDAPGroups   []string
	RadiusGroups []string
	// Odd holds, per object id, fields served with a raw value in place of the object's own
	// (values of the wrong type: see messy.go).
	Odd map[string]map[string]json.RawMessage

	// id generation: a timestamp-like counter plus seeded randomness, so ids sort in creation
	// order like real ObjectIds and the same seed gives the same ids.
	idTime uint32
	idRand *rand.Rand

	userIdx, groupIdx, appIdx, adminIdx map[string]int

	// events is the Directory Insights store, set when the org is served (New): mutations
	// from then on record their event.
	events *eventLog
}

// NewOrg returns an empty org whose ids derive from seed.
func NewOrg(seed int64) *Org {
	o := &Org{
		Name:         "Simulated Org",
		Members:      map[string][]string{},
		AppUsers:     map[string][]string{},
		AppGroups:    map[string][]string{},
		NestedGroups: map[string][]string{},
		idTime:       0x5c000000,
		idRand:       rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15)),
	}
	o.ID = o.NewID()
	o.LDAP = jumpcloud.LDAPServer{ID: o.NewID()}
	o.RADIUS = jumpcloud.RadiusServer{ID: o.NewID()}
	o.reindex()
	return o
}

// NewID returns a fresh 24-hex ObjectId, later than every id issued before.
func (o *Org) NewID() string {
	if o.idRand == nil {
		o.idRand = rand.New(rand.NewPCG(1, 2))
	}
	o.idTime++
	return fmt.Sprintf("%08x%016x", o.idTime, o.idRand.Uint64())
}

// reindex rebuilds the id → position maps. Called after every mutation batch (under the
// server's write lock), so readers never rebuild.
func (o *Org) reindex() {
	o.userIdx = make(map[string]int, len(o.Users))
	for i := range o.Users {
		o.userIdx[o.Users[i].ID] = i
	}
	o.groupIdx = make(map[string]int, len(o.Groups))
	for i := range o.Groups {
		o.groupIdx[o.Groups[i].ID] = i
	}
	o.appIdx = make(map[string]int, len(o.Apps))
	for i := range o.Apps {
		o.appIdx[o.Apps[i].ID] = i
	}
	o.adminIdx = make(map[string]int, len(o.Admins))
	for i := range o.Admins {
		o.adminIdx[o.Admins[i].ID] = i
	}
}

func (o *Org) ensureIndex() {
	if o.userIdx == nil || len(o.userIdx) != len(o.Users) || len(o.groupIdx) != len(o.Groups) ||
		len(o.appIdx) != len(o.Apps) || len(o.adminIdx) != len(o.Admins) {
		o.reindex()
	}
}

// User returns the user with id, if any.
func (o *Org) User(id string) (*jumpcloud.SystemUser, bool) {
	i, ok := o.userIdx[id]
	if !ok || i >= len(o.Users) || o.Users[i].ID != id {
		return nil, false
	}
	return &o.Users[i], true
}

// Group returns the group with id, if any.
func (o *Org) Group(id string) (*jumpcloud.UserGroup, bool) {
	i, ok := o.groupIdx[id]
	if !ok || i >= len(o.Groups) || o.Groups[i].ID != id {
		return nil, false
	}
	return &o.Groups[i], true
}

// App returns the application with id, if any.
func (o *Org) App(id string) (*jumpcloud.Application, bool) {
	i, ok := o.appIdx[id]
	if !ok || i >= len(o.Apps) || o.Apps[i].ID != id {
		return nil, false
	}
	return &o.Apps[i], true
}

// Admin returns the administrator with id, if any.
func (o *Org) Admin(id string) (*jumpcloud.Admin, bool) {
	i, ok := o.adminIdx[id]
	if !ok || i >= len(o.Admins) || o.Admins[i].ID != id {
		return nil, false
	}
	return &o.Admins[i], true
}

// AddUser appends u (giving it an id when it has none) and returns its id.
func (o *Org) AddUser(u jumpcloud.SystemUser) string {
	o.ensureIndex()
	if u.ID == "" {
		u.ID = o.NewID()
	}
	o.Users = append(o.Users, u)
	o.userIdx[u.ID] = len(o.Users) - 1
	o.record(EventUserCreate, map[string]any{"resource": userResource(&u)})
	return u.ID
}

// RemoveUser deletes a user with its memberships and app bindings.
func (o *Org) RemoveUser(id string) bool {
	o.ensureIndex()
	i, ok := o.userIdx[id]
	if !ok {
		return false
	}
	// Deleting a user records user_delete alone, no association removals (assumed: the
	// vendor does not say).
	o.record(EventUserDelete, map[string]any{"resource": userResource(&o.Users[i])})
	o.Users = slices.Delete(o.Users, i, i+1)
	for g, ms := range o.Members {
		o.Members[g] = without(ms, id)
	}
	for a, us := range o.AppUsers {
		o.AppUsers[a] = without(us, id)
	}
	o.reindex()
	return true
}

// AddGroup appends g (giving it an id when it has none) and returns its id.
func (o *Org) AddGroup(g jumpcloud.UserGroup) string {
	o.ensureIndex()
	if g.ID == "" {
		g.ID = o.NewID()
	}
	o.Groups = append(o.Groups, g)
	o.groupIdx[g.ID] = len(o.Groups) - 1
	o.record(EventGroupCreate, map[string]any{"resource": groupResource(&g)})
	return g.ID
}

// RemoveGroup deletes a group with its members, nesting and app bindings.
func (o *Org) RemoveGroup(id string) bool {
	o.ensureIndex()
	i, ok := o.groupIdx[id]
	if !ok {
		return false
	}
	o.record(EventGroupDelete, map[string]any{"resource": groupResource(&o.Groups[i])})
	o.Groups = slices.Delete(o.Groups, i, i+1)
	delete(o.Members, id)
	delete(o.NestedGroups, id)
	for g, ns := range o.NestedGroups {
		o.NestedGroups[g] = without(ns, id)
	}
	for a, gs := range o.AppGroups {
		o.AppGroups[a] = without(gs, id)
	}
	o.LDAPGroups = without(o.LDAPGroups, id)
	o.RadiusGroups = without(o.RadiusGroups, id)
	o.reindex()
	return true
}

// AddMember makes user a direct member of group; false if either is unknown or it already is.
func (o *Org) AddMember(groupID, userID string) bool {
	o.ensureIndex()
	if _, ok := o.Group(groupID); !ok {
		return false
	}
	if _, ok := o.User(userID); !ok {
		return false
	}
	if slices.Contains(o.Members[groupID], userID) {
		return false
	}
	o.Members[groupID] = append(o.Members[groupID], userID)
	o.recordMember("add", groupID, userID)
	return true
}

// RemoveMember removes a direct membership; false if there was none.
func (o *Org) RemoveMember(groupID, userID string) bool {
	if !slices.Contains(o.Members[groupID], userID) {
		return false
	}
	o.ensureIndex()
	o.recordMember("remove", groupID, userID)
	o.Members[groupID] = without(o.Members[groupID], userID)
	return true
}

// BindUser binds a user to an app directly; false if either is unknown or already bound.
func (o *Org) BindUser(appID, userID string) bool {
	o.ensureIndex()
	if _, ok := o.App(appID); !ok {
		return false
	}
	if _, ok := o.User(userID); !ok {
		return false
	}
	if slices.Contains(o.AppUsers[appID], userID) {
		return false
	}
	o.AppUsers[appID] = append(o.AppUsers[appID], userID)
	o.recordBinding("add", appID, resUser, userID)
	return true
}

// UnbindUser removes a direct user binding; false if there was none.
func (o *Org) UnbindUser(appID, userID string) bool {
	if !slices.Contains(o.AppUsers[appID], userID) {
		return false
	}
	o.ensureIndex()
	o.recordBinding("remove", appID, resUser, userID)
	o.AppUsers[appID] = without(o.AppUsers[appID], userID)
	return true
}

// BindGroup binds a group to an app; false if either is unknown or already bound.
func (o *Org) BindGroup(appID, groupID string) bool {
	o.ensureIndex()
	if _, ok := o.App(appID); !ok {
		return false
	}
	if _, ok := o.Group(groupID); !ok {
		return false
	}
	if slices.Contains(o.AppGroups[appID], groupID) {
		return false
	}
	o.AppGroups[appID] = append(o.AppGroups[appID], groupID)
	o.recordBinding("add", appID, resGroup, groupID)
	return true
}

// UnbindGroup removes a group binding; false if there was none.
func (o *Org) UnbindGroup(appID, groupID string) bool {
	if !slices.Contains(o.AppGroups[appID], groupID) {
		return false
	}
	o.ensureIndex()
	o.recordBinding("remove", appID, resGroup, groupID)
	o.AppGroups[appID] = without(o.AppGroups[appID], groupID)
	return true
}

func without(ids []string, id string) []string {
	return slices.DeleteFunc(ids, func(s string) bool { return s == id })
}

// Expected is what a correct sync of the org must leave in Authomize.
type Expected struct {
	Accounts, Identities, Groupings, Assets, Privileges map[string]bool
	Memberships                                         map[[2]string]bool // {accountID, groupingID}
	// Permissions are {sourceType "User"|"Grouping", sourceID, privilegeID, assetID}.
	Permissions map[[4]string]bool
}

// Expected computes the target state from the org's own data, independently of the
// transform package (only its id scheme is shared), so the two check each other. An object
// the connector must leave out (Odd) is not in it, nor is any relation that points at one:
// the connector sends none.
func (o *Org) Expected(identities bool) Expected {
	e := Expected{
		Accounts: map[string]bool{}, Identities: map[string]bool{}, Groupings: map[string]bool{},
		Assets: map[string]bool{}, Privileges: map[string]bool{}, Memberships: map[[2]string]bool{},
		Permissions: map[[4]string]bool{},
	}
	o.ensureIndex()
	for i := range o.Users {
		if o.leftOut("user", o.Users[i].ID) {
			continue
		}
		id := transform.UserAccountID(o.Users[i].ID)
		e.Accounts[id] = true
		if identities {
			e.Identities[id] = true
		}
	}
	userOK := func(u string) bool { return !o.leftOut("user", u) }
	groupOK := func(g string) bool { return !o.leftOut("group", g) }
	for i := range o.Groups {
		if groupOK(o.Groups[i].ID) {
			e.Groupings[transform.GroupID(o.Groups[i].ID)] = true
		}
	}
	for g, ms := range o.Members {
		if !groupOK(g) {
			continue
		}
		for _, u := range ms {
			if userOK(u) {
				e.Memberships[[2]string{transform.UserAccountID(u), transform.GroupID(g)}] = true
			}
		}
	}
	e.Assets[transform.ConsoleAssetID] = true
	e.Privileges[transform.SSOPrivilegeID] = true
	appOK := func(a string) bool { return !o.leftOut("app", a) }
	for i := range o.Apps {
		if appOK(o.Apps[i].ID) {
			e.Assets[transform.AppAssetID(o.Apps[i].ID)] = true
		}
	}
	for a, us := range o.AppUsers {
		for _, u := range us {
			if appOK(a) && userOK(u) {
				e.Permissions[[4]string{"User", transform.UserAccountID(u), transform.SSOPrivilegeID, transform.AppAssetID(a)}] = true
			}
		}
	}
	for a, gs := range o.AppGroups {
		for _, g := range gs {
			if appOK(a) && groupOK(g) {
				e.Permissions[[4]string{"Grouping", transform.GroupID(g), transform.SSOPrivilegeID, transform.AppAssetID(a)}] = true
			}
		}
	}
	for i := range o.Admins {
		ad := &o.Admins[i]
		if o.leftOut("admin", ad.ID) {
			continue
		}
		acct := transform.AdminAccountID(ad.ID)
		e.Accounts[acct] = true
		for _, role := range AdminRoles(*ad) {
			g := transform.RoleGroupingID(role)
			p := transform.RolePrivilegeID(role)
			e.Groupings[g] = true
			e.Privileges[p] = true
			e.Memberships[[2]string{acct, g}] = true
			e.Permissions[[4]string{"Grouping", g, p, transform.ConsoleAssetID}] = true
		}
	}
	return e
}

// AdminRoles is the union of roleName and roleNames, de-duplicated case-insensitively (by
// slug), first spelling kept.
func AdminRoles(a jumpcloud.Admin) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range append([]string{a.RoleName}, a.RoleNames...) {
		if strings.TrimSpace(r) == "" {
			continue
		}
		s := transform.RoleSlug(r)
		if !seen[s] {
			seen[s] = true
			out = append(out, r)
		}
	}
	return out
}
