package jumpcloudsim

import "slices"

// RemoveApp deletes an SSO app with its user and group bindings.
func (o *Org) RemoveApp(id string) bool {
	o.ensureIndex()
	i, ok := o.appIdx[id]
	if !ok {
		return false
	}
	// Like a user's, an app's deletion records no removal of its bindings (assumed).
	o.record(EventAppDelete, map[string]any{"resource": appResource(&o.Apps[i])})
	o.Apps = slices.Delete(o.Apps, i, i+1)
	delete(o.AppUsers, id)
	delete(o.AppGroups, id)
	o.reindex()
	return true
}

// RemoveAdmin deletes a console administrator, and with it its role assignment.
func (o *Org) RemoveAdmin(id string) bool {
	o.ensureIndex()
	i, ok := o.adminIdx[id]
	if !ok {
		return false
	}
	o.record(EventAdminDelete, map[string]any{"resource": adminResource(&o.Admins[i])})
	o.Admins = slices.Delete(o.Admins, i, i+1)
	o.reindex()
	return true
}
