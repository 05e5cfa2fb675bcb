package jumpcloudsim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"jcsync/internal/jumpcloud"
)

// Kinds of ApplyChange: one administrator's change each, recording its Directory Insights
// event.
const (
	ChangeSuspendUser   = "suspend-user"
	ChangeUnsuspendUser = "unsuspend-user"
	ChangeUpdateUser    = "update-user"
	ChangeCreateUser    = "create-user"
	ChangeDeleteUser    = "delete-user"
	ChangeAddMember     = "add-member"
	ChangeRemoveMember  = "remove-member"
	ChangeBindUser      = "bind-user"
	ChangeUnbindUser    = "unbind-user"
	ChangeBindGroup     = "bind-group"
	ChangeUnbindGroup   = "unbind-group"
	ChangeDeleteGroup   = "delete-group"
	ChangeDeleteApp     = "delete-app"
)

// ChangeKinds lists the kinds ApplyChange knows.
var ChangeKinds = []string{ChangeSuspendUser, ChangeUnsuspendUser, ChangeUpdateUser, ChangeCreateUser,
	ChangeDeleteUser, ChangeAddMember, ChangeRemoveMember, ChangeBindUser, ChangeUnbindUser, ChangeBindGroup,
	ChangeUnbindGroup, ChangeDeleteGroup, ChangeDeleteApp}

// Change is one change ApplyChange made. ID is the user or group changed, created or
// deleted (the app for delete-app); Target is the relation's group or app. At is the time
// of the change: the timestamp of its event.
type Change struct {
	Kind   string    `json:"kind"`
	ID     string    `json:"id"`
	Target string    `json:"target,omitempty"`
	At     time.Time `json:"at"`
}

// ApplyChange makes one change of kind to the served org, picking what it changes in a
// fixed way (the first eligible object in the API's order), so a benchmark or the demo can
// change the org and time how long the change takes to reach Authomize. Users linked to an
// administrator (same email) are never deleted or suspended, and groups with more than
// maxGroupMembers direct members are never deleted (0: no limit). An error says the kind is
// unknown or nothing is eligible.
func (s *Server) ApplyChange(kind string, maxGroupMembers int) (Change, error) {
	ch := Change{Kind: kind}
	var err error
	s.Update(func(o *Org) {
		ch.ID, ch.Target, err = applyChange(o, kind, maxGroupMembers)
		ch.At = time.Now().UTC()
		if err == nil && o.events != nil {
			o.events.mu.Lock()
			ch.At = o.events.last
			o.events.mu.Unlock()
		}
	})
	if err != nil {
		return Change{}, err
	}
	return ch, nil
}

func applyChange(o *Org, kind string, maxGroupMembers int) (id, target string, err error) {
	o.ensureIndex()
	none := func(what string) (string, string, error) {
		return "", "", fmt.Errorf("%s: no %s", kind, what)
	}
	admins := map[string]bool{}
	for i := range o.Admins {
		admins[strings.ToLower(o.Admins[i].Email)] = true
	}
	plainUser := func(pred func(u *jumpcloud.SystemUser) bool) string {
		for i := range o.Users {
			u := &o.Users[i]
			if !admins[strings.ToLower(u.Email)] && !o.leftOut("user", u.ID) && pred(u) {
				return u.ID
			}
		}
		return ""
	}
	active := func(u *jumpcloud.SystemUser) bool { return !u.Suspended && u.State != jumpcloud.StateSuspended }
	switch kind {
	case ChangeSuspendUser, ChangeDeleteUser, ChangeUpdateUser:
		if id = plainUser(active); id == "" {
			return none("active user")
		}
		switch kind {
		case ChangeSuspendUser:
			o.SuspendUser(id)
		case ChangeDeleteUser:
			o.RemoveUser(id)
		default:
			o.UpdateUser(id, func(u *jumpcloud.SystemUser) { u.JobTitle = "Changed at " + time.Now().UTC().Format(time.RFC3339Nano) })
		}
		return id, "", nil
	case ChangeUnsuspendUser:
		if id = plainUser(func(u *jumpcloud.SystemUser) bool { return !active(u) }); id == "" {
			return none("suspended user")
		}
		o.UnsuspendUser(id)
		return id, "", nil
	case ChangeCreateUser:
		n := len(o.Users) + 1
		for {
			name := fmt.Sprintf("change.%d", n)
			if !slices.ContainsFunc(o.Users, func(u jumpcloud.SystemUser) bool { return u.Username == name }) {
				id = o.AddUser(jumpcloud.SystemUser{Username: name, Email: name + "@example.com", Firstname: "Change",
					Lastname: fmt.Sprint(n), State: jumpcloud.StateActivated, Activated: true})
				return id, "", nil
			}
			n++
		}
	case ChangeAddMember, ChangeBindUser:
		parents := groupIDs(o)
		if kind == ChangeBindUser {
			parents = appIDs(o)
		}
		parentKind := map[string]string{ChangeAddMember: "group", ChangeBindUser: "app"}[kind]
		if len(parents) == 0 {
			return none(parentKind)
		}
		for _, p := range parents {
			if o.leftOut(parentKind, p) {
				continue
			}
			for i := range o.Users {
				u := o.Users[i].ID
				if o.leftOut("user", u) {
					continue
				}
				if kind == ChangeAddMember && o.AddMember(p, u) || kind == ChangeBindUser && o.BindUser(p, u) {
					return u, p, nil
				}
			}
		}
		return none("pair left to relate")
	case ChangeRemoveMember, ChangeUnbindUser, ChangeUnbindGroup:
		parents, lists := groupIDs(o), o.Members
		switch kind {
		case ChangeUnbindUser:
			parents, lists = appIDs(o), o.AppUsers
		case ChangeUnbindGroup:
			parents, lists = appIDs(o), o.AppGroups
		}
		for _, p := range parents {
			if l := lists[p]; len(l) > 0 {
				id = l[len(l)-1]
				switch kind {
				case ChangeRemoveMember:
					o.RemoveMember(p, id)
				case ChangeUnbindUser:
					o.UnbindUser(p, id)
				default:
					o.UnbindGroup(p, id)
				}
				return id, p, nil
			}
		}
		return none("relation")
	case ChangeBindGroup:
		for _, a := range appIDs(o) {
			for _, g := range groupIDs(o) {
				if !o.leftOut("app", a) && !o.leftOut("group", g) && o.BindGroup(a, g) {
					return g, a, nil
				}
			}
		}
		return none("pair left to bind")
	case ChangeDeleteGroup:
		for _, g := range slices.Backward(groupIDs(o)) {
			if maxGroupMembers <= 0 || len(o.Members[g]) <= maxGroupMembers {
				o.RemoveGroup(g)
				return g, "", nil
			}
		}
		return none("group small enough")
	case ChangeDeleteApp:
		ids := appIDs(o)
		if len(ids) == 0 {
			return none("application")
		}
		id = ids[len(ids)-1]
		o.RemoveApp(id)
		return id, "", nil
	}
	return "", "", fmt.Errorf("unknown change %q: use one of %s", kind, strings.Join(ChangeKinds, ", "))
}
