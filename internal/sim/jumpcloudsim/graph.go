package jumpcloudsim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"jcsync/internal/jumpcloud"
)

type gObj struct {
	Attributes any    `json:"attributes"`
	ID         string `json:"id"`
	Type       string `json:"type"`
}

type gEdge struct {
	Attributes any  `json:"attributes"`
	To         gObj `json:"to"`
}

type gPaths struct {
	ID                 string    `json:"id"`
	Type               string    `json:"type"`
	CompiledAttributes any       `json:"compiledAttributes"`
	Paths              [][]gEdge `json:"paths"`
}

func edge(id, typ string) gEdge { return gEdge{To: gObj{ID: id, Type: typ}} }

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) {
	o := s.org
	gid, ok := s.knownGroup(w, r)
	if !ok {
		return
	}
	users, nested := o.Members[gid], o.NestedGroups[gid]
	s.serveList(w, r, list{n: len(users) + len(nested), id: gid,
		item: func(i int) any {
			if i < len(users) {
				return edge(users[i], jumpcloud.GraphUser)
			}
			return edge(nested[i-len(users)], jumpcloud.GraphUserGroup)
		}})
}

// traversal serves the users reached from the object id (a group or an app) directly and
// through groups, as GraphObjectWithPaths items sortable by id; the list is built once per
// write of the org.
func (s *Server) traversal(w http.ResponseWriter, r *http.Request, kind, id string, direct, groups []string) {
	key := kind + "|" + id
	items := s.cached(key, func() any { return usersThrough(s.org, direct, groups) }).([]gPaths)
	s.serveList(w, r, list{n: len(items), key: key, id: id,
		item:  func(i int) any { return items[i] },
		field: traversalFields.over(items)})
}

// addPath appends a path to the item for id, creating it on first sight.
func addPath(items []gPaths, pos map[string]int, id, typ string, path []gEdge) []gPaths {
	if i, ok := pos[id]; ok {
		items[i].Paths = append(items[i].Paths, path)
		return items
	}
	pos[id] = len(items)
	return append(items, gPaths{ID: id, Type: typ, Paths: [][]gEdge{path}})
}

func (s *Server) listMembership(w http.ResponseWriter, r *http.Request) {
	o := s.org
	gid, ok := s.knownGroup(w, r)
	if !ok {
		return
	}
	s.traversal(w, r, "membership", gid, o.Members[gid], o.NestedGroups[gid])
}

// usersThrough is a traversal's user list: the direct users (one-edge paths) and the members
// of each group (two-edge paths through the group), one item per user with all its paths.
func usersThrough(o *Org, direct, groups []string) []gPaths {
	var items []gPaths
	pos := map[string]int{}
	for _, u := range direct {
		items = addPath(items, pos, u, jumpcloud.GraphUser, []gEdge{edge(u, jumpcloud.GraphUser)})
	}
	for _, g := range groups {
		for _, u := range o.Members[g] {
			items = addPath(items, pos, u, jumpcloud.GraphUser,
				[]gEdge{edge(g, jumpcloud.GraphUserGroup), edge(u, jumpcloud.GraphUser)})
		}
	}
	return items
}

func (s *Server) listAppUsers(w http.ResponseWriter, r *http.Request) {
	o := s.org
	aid, ok := s.knownApp(w, r)
	if !ok {
		return
	}
	s.traversal(w, r, "appusers", aid, o.AppUsers[aid], o.AppGroups[aid])
}

func (s *Server) listAppGroups(w http.ResponseWriter, r *http.Request) {
	o := s.org
	aid, ok := s.knownApp(w, r)
	if !ok {
		return
	}
	groups := o.AppGroups[aid]
	s.serveList(w, r, list{n: len(groups), id: aid,
		item: func(i int) any {
			return gPaths{ID: groups[i], Type: jumpcloud.GraphUserGroup,
				Paths: [][]gEdge{{edge(groups[i], jumpcloud.GraphUserGroup)}}}
		}})
}

// targets reads the required targets parameter (repeated or comma-separated).
func (s *Server) targets(w http.ResponseWriter, r *http.Request, valid map[string]bool) ([]string, bool) {
	var out []string
	for _, v := range r.URL.Query()["targets"] {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	}
	if len(out) == 0 {
		s.writeRaw(w, r, http.StatusBadRequest, `{"message":"Bad Request: request parameter \"targets\" is required"}`)
		return nil, false
	}
	for _, t := range out {
		if !valid[t] {
			s.writeRaw(w, r, http.StatusBadRequest, msgBody("Bad Request: invalid target type "+strconv.Quote(t)))
			return nil, false
		}
	}
	return out, true
}

func (s *Server) listAppAssociations(w http.ResponseWriter, r *http.Request) {
	o := s.org
	aid, ok := s.knownApp(w, r)
	if !ok {
		return
	}
	ts, ok := s.targets(w, r, map[string]bool{jumpcloud.GraphUser: true, jumpcloud.GraphUserGroup: true})
	if !ok {
		return
	}
	var edges []gEdge
	for _, t := range []string{jumpcloud.GraphUser, jumpcloud.GraphUserGroup} {
		if !slices.Contains(ts, t) {
			continue
		}
		ids := o.AppUsers[aid]
		if t == jumpcloud.GraphUserGroup {
			ids = o.AppGroups[aid]
		}
		for _, id := range ids {
			edges = append(edges, edge(id, t))
		}
	}
	s.serveList(w, r, list{n: len(edges), id: aid, item: func(i int) any { return edges[i] }})
}
