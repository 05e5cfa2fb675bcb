package simcheck

import "jcsync/internal/sim/jumpcloudsim"

// PageSize is JumpCloud's largest page.
const PageSize = 100

// linkedPages is the fewest requests of a read that proves it missed nothing while the list
// may change: each page after the first starts at the last item of the one before, so every
// page adds 99 items, and only a short page ends the list (a list of exactly 100, 199, ...
// items takes one request more than its total suggests). See activities/read.go.
func linkedPages(n int) int {
	if n < PageSize {
		return 1
	}
	return (n-PageSize)/(PageSize-1) + 2
}

// relationPages is linkedPages for a member or binding list, whose order is not documented:
// a list of more than one page has its first page read again at the end.
func relationPages(n int) int {
	if p := linkedPages(n); p > 1 {
		return p + 1
	}
	return 1
}

// MinRequests is the fewest JumpCloud requests a complete sync of o can make: every list read
// once in linked pages of 100 (users, admins, groups and each group's members, apps and each
// app's user and group bindings; a member or binding list of more than one page with its
// first page once more), the LDAP and RADIUS lists (only counted) in plain pages, plus the one
// credential check.
func MinRequests(o *jumpcloudsim.Org) map[string]int {
	m := map[string]int{
		"/api/systemusers":                       linkedPages(len(o.Users)) + 1, // + the credential check
		"/api/users":                             linkedPages(len(o.Admins)),
		"/api/v2/usergroups":                     linkedPages(len(o.Groups)),
		"/api/applications":                      linkedPages(len(o.Apps)),
		"/api/v2/ldapservers":                    1,
		"/api/radiusservers":                     1,
		"/api/v2/usergroups/{id}/members":        0,
		"/api/v2/applications/{id}/associations": 0,
	}
	for _, g := range o.Groups {
		m["/api/v2/usergroups/{id}/members"] += relationPages(len(o.Members[g.ID]) + len(o.NestedGroups[g.ID]))
	}
	for _, a := range o.Apps {
		m["/api/v2/applications/{id}/associations"] += relationPages(len(o.AppUsers[a.ID])) + relationPages(len(o.AppGroups[a.ID]))
	}
	return m
}

// Total adds up a per-endpoint count.
func Total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
