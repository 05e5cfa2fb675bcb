package jumpcloudsim

import "jcsync/internal/jumpcloud"

// Changes an administrator makes in the console, each recording its Directory Insights
// event once the org is served. Call them through Server.Update while serving.

// UpdateUser applies fn to the user and records user_update with the fields that changed;
// false if the user is unknown or nothing changed. fn must not change the id.
func (o *Org) UpdateUser(id string, fn func(u *jumpcloud.SystemUser)) bool {
	o.ensureIndex()
	u, ok := o.User(id)
	if !ok {
		return false
	}
	before := *u
	before.Addresses = append([]jumpcloud.Address(nil), u.Addresses...)
	fn(u)
	u.ID = id
	ch := changes(before, *u)
	if len(ch) == 0 {
		return false
	}
	o.record(EventUserUpdate, map[string]any{"resource": userResource(u), "changes": ch})
	return true
}

// SuspendUser suspends an active user. The event is a user_update whose changes carry
// state ACTIVATED → SUSPENDED and suspended false → true, as in public sample events (the
// spec's user_suspended type was not seen in samples and is not recorded).
func (o *Org) SuspendUser(id string) bool {
	return o.UpdateUser(id, func(u *jumpcloud.SystemUser) {
		u.State, u.Suspended = jumpcloud.StateSuspended, true
	})
}

// UnsuspendUser makes a suspended user active again (user_update, the reverse changes).
func (o *Org) UnsuspendUser(id string) bool {
	return o.UpdateUser(id, func(u *jumpcloud.SystemUser) {
		u.State, u.Suspended = jumpcloud.StateActivated, false
	})
}

// UpdateGroup applies fn to the group and records group_update with the changed fields;
// false if the group is unknown or nothing changed.
func (o *Org) UpdateGroup(id string, fn func(g *jumpcloud.UserGroup)) bool {
	o.ensureIndex()
	g, ok := o.Group(id)
	if !ok {
		return false
	}
	before := *g
	fn(g)
	g.ID = id
	ch := changes(before, *g)
	if len(ch) == 0 {
		return false
	}
	o.record(EventGroupUpdate, map[string]any{"resource": groupResource(g), "changes": ch})
	return true
}

// AddApp appends an SSO application (giving it an id when it has none), records
// application_create and returns its id.
func (o *Org) AddApp(a jumpcloud.Application) string {
	o.ensureIndex()
	if a.ID == "" {
		a.ID = o.NewID()
	}
	o.Apps = append(o.Apps, a)
	o.appIdx[a.ID] = len(o.Apps) - 1
	o.record(EventAppCreate, map[string]any{"resource": appResource(&a)})
	return a.ID
}

// AddAdmin appends a console administrator (giving it an id when it has none), records
// admin_create and returns its id.
func (o *Org) AddAdmin(a jumpcloud.Admin) string {
	o.ensureIndex()
	if a.ID == "" {
		a.ID = o.NewID()
	}
	o.Admins = append(o.Admins, a)
	o.adminIdx[a.ID] = len(o.Admins) - 1
	o.record(EventAdminCreate, map[string]any{"resource": adminResource(&a)})
	return a.ID
}

// UpdateApp applies fn to the application and records application_update with the changed
// fields; false if the app is unknown or nothing changed.
func (o *Org) UpdateApp(id string, fn func(a *jumpcloud.Application)) bool {
	o.ensureIndex()
	a, ok := o.App(id)
	if !ok {
		return false
	}
	before := *a
	fn(a)
	a.ID = id
	ch := changes(before, *a)
	if len(ch) == 0 {
		return false
	}
	o.record(EventAppUpdate, map[string]any{"resource": appResource(a), "changes": ch})
	return true
}

// UpdateAdmin applies fn to the administrator and records admin_update with the changed
// fields (a role change, a suspension); false if the admin is unknown or nothing changed.
func (o *Org) UpdateAdmin(id string, fn func(a *jumpcloud.Admin)) bool {
	o.ensureIndex()
	a, ok := o.Admin(id)
	if !ok {
		return false
	}
	before := *a
	before.RoleNames = append([]string(nil), a.RoleNames...)
	fn(a)
	a.ID = id
	ch := changes(before, *a)
	if len(ch) == 0 {
		return false
	}
	o.record(EventAdminUpdate, map[string]any{"resource": adminResource(a), "changes": ch})
	return true
}
