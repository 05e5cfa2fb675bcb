package jumpcloudsim

import (
	"net/http"

	"jcsync/internal/jumpcloud"
)

// The fields each collection sorts and filters by.
var (
	userFields = fieldTable[jumpcloud.SystemUser]{
		"_id":         func(u *jumpcloud.SystemUser) string { return u.ID },
		"username":    func(u *jumpcloud.SystemUser) string { return u.Username },
		"email":       func(u *jumpcloud.SystemUser) string { return u.Email },
		"firstname":   func(u *jumpcloud.SystemUser) string { return u.Firstname },
		"lastname":    func(u *jumpcloud.SystemUser) string { return u.Lastname },
		"displayname": func(u *jumpcloud.SystemUser) string { return displayName(u.Firstname, u.Lastname) },
		"state":       func(u *jumpcloud.SystemUser) string { return u.State },
		"created":     func(u *jumpcloud.SystemUser) string { return createdAt(u.ID) },
		"department":  func(u *jumpcloud.SystemUser) string { return u.Department },
	}
	adminFields = fieldTable[jumpcloud.Admin]{
		"_id":       func(a *jumpcloud.Admin) string { return a.ID },
		"email":     func(a *jumpcloud.Admin) string { return a.Email },
		"firstname": func(a *jumpcloud.Admin) string { return a.Firstname },
		"lastname":  func(a *jumpcloud.Admin) string { return a.Lastname },
		"roleName":  func(a *jumpcloud.Admin) string { return a.RoleName },
	}
	appFields = fieldTable[jumpcloud.Application]{
		"_id":          func(a *jumpcloud.Application) string { return a.ID },
		"name":         func(a *jumpcloud.Application) string { return a.Name },
		"displayName":  func(a *jumpcloud.Application) string { return a.DisplayName },
		"displayLabel": func(a *jumpcloud.Application) string { return a.DisplayLabel },
	}
	groupFields = fieldTable[jumpcloud.UserGroup]{
		"id":   func(g *jumpcloud.UserGroup) string { return g.ID },
		"name": func(g *jumpcloud.UserGroup) string { return g.Name },
	}
	traversalFields = fieldTable[gPaths]{
		"id": func(p *gPaths) string { return p.ID },
	}
)

// ---- v1 collections ----

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	o := s.org
	s.serveList(w, r, list{v1: true, n: len(o.Users), key: "users",
		item:  func(i int) any { return o.withOdd(o.Users[i].ID, s.userOut(&o.Users[i])) },
		field: userFields.over(o.Users)})
}

func (s *Server) listAdmins(w http.ResponseWriter, r *http.Request) {
	o := s.org
	s.serveList(w, r, list{v1: true, n: len(o.Admins), key: "admins",
		item:  func(i int) any { return o.withOdd(o.Admins[i].ID, s.adminOut(&o.Admins[i])) },
		field: adminFields.over(o.Admins)})
}

func (s *Server) listApps(w http.ResponseWriter, r *http.Request) {
	o := s.org
	// JumpCloud documents /applications as sorted by name unless told otherwise.
	s.serveList(w, r, list{v1: true, n: len(o.Apps), key: "apps", defSort: "name",
		item:  func(i int) any { return o.withOdd(o.Apps[i].ID, s.appOut(&o.Apps[i])) },
		field: appFields.over(o.Apps)})
}

func (s *Server) listRadius(w http.ResponseWriter, r *http.Request) {
	o := s.org
	s.serveList(w, r, list{v1: true, n: 1, key: "radius",
		item:  func(int) any { return radiusOut(o) },
		field: noFields})
}

// ---- v2 collections ----

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) {
	o := s.org
	s.serveList(w, r, list{n: len(o.Groups), key: "groups",
		item:  func(i int) any { return o.withOdd(o.Groups[i].ID, groupOut(o, &o.Groups[i])) },
		field: groupFields.over(o.Groups)})
}

func (s *Server) listLDAP(w http.ResponseWriter, r *http.Request) {
	o := s.org
	s.serveList(w, r, list{n: 1, key: "ldap",
		item:  func(int) any { return ldapOut(o) },
		field: noFields})
}

// ---- single objects ----

// getApp serves one application (GET /api/applications/{id}): the whole record, as JumpCloud
// documents no field projection on it, and 404 for an unknown id.
func (s *Server) getApp(w http.ResponseWriter, r *http.Request) {
	id, ok := s.knownApp(w, r)
	if !ok {
		return
	}
	a, _ := s.org.App(id)
	s.writeJSON(w, r, http.StatusOK, s.appOut(a))
}

// getGroup serves one user group (GET /api/v2/usergroups/{id}), 404 for an unknown id.
func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) {
	id, ok := s.knownGroup(w, r)
	if !ok {
		return
	}
	g, _ := s.org.Group(id)
	s.writeJSON(w, r, http.StatusOK, groupOut(s.org, g))
}
