package jumpcloudsim

import (
	"bufio"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"jcsync/internal/jumpcloud"
)

// Options configures a Server.
type Options struct {
	// APIKey is the only key accepted. Empty means every request is unauthorized.
	APIKey string
	// OrgID is the organization x-org-id must name; default the org's ID.
	OrgID string
	// MultiTenant makes x-org-id mandatory, as for an MSP administrator's key.
	MultiTenant bool
}

// Server is the simulated JumpCloud API.
type Server struct {
	opts  Options
	orgID string

	mu  sync.RWMutex // guards org; GETs read-lock, writes and Update lock
	org *Org

	cacheMu sync.Mutex
	cache   map[string]any // derived views (sort orders, traversals); cleared on every write

	mux *http.ServeMux
	k   knobs
	cnt counters
	oa  oauthState // service accounts (oauth.go)
}

// Bodies JumpCloud is observed to send (see the API notes, §5).
const (
	bodyBadKey   = `{"error":"Unauthorized","message":"Unauthorized: api key user not found"}`
	bodyNoOrg    = `{"message":"Unauthorized: no organization selected"}`
	bodyLimitMax = `{"message":"Bad Request: request parameter \"limit\" exceeds maximum value of 100"}`
	bodyTooMany  = `{"message":"Too Many Requests"}`
	unknownRoute = "(unknown)"
	maxPageLimit = 100
	defaultLimit = 10
)

var objectIDRe = regexp.MustCompile(`^[0-9a-f]{24}$`)

// New serves org. The org must not be changed afterwards except through Update.
func New(org *Org, opts Options) *Server {
	if org == nil {
		org = NewOrg(1)
	}
	org.reindex()
	s := &Server{opts: opts, orgID: opts.OrgID, org: org, cache: map[string]any{}, mux: http.NewServeMux()}
	if s.orgID == "" {
		s.orgID = org.ID
	}
	s.cnt.c = newCounts()
	s.routes()
	return s
}

// Update changes the org under the server's lock, so running requests see either the old
// or the new state.
func (s *Server) Update(fn func(o *Org)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.org)
	s.org.reindex()
	s.clearCache()
}

// View reads the org under the server's read lock.
func (s *Server) View(fn func(o *Org)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fn(s.org)
}

func (s *Server) clearCache() {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	s.cache = map[string]any{}
}

// cached memoizes a derived view until the next write.
func (s *Server) cached(key string, build func() any) any {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if v, ok := s.cache[key]; ok {
		return v
	}
	v := build()
	s.cache[key] = v
	return v
}

type route struct {
	get, post http.HandlerFunc
}

func (s *Server) handle(pattern string, rt route) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && rt.get != nil:
			s.mu.RLock()
			defer s.mu.RUnlock()
			rt.get(w, r)
		case r.Method == http.MethodPost && rt.post != nil:
			s.mu.Lock()
			defer s.mu.Unlock()
			rt.post(w, r)
			s.clearCache()
		default:
			allow := []string{}
			if rt.get != nil {
				allow = append(allow, http.MethodGet)
			}
			if rt.post != nil {
				allow = append(allow, http.MethodPost)
			}
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.writeRaw(w, r, http.StatusMethodNotAllowed, `{"message":"Method Not Allowed"}`)
		}
	})
}

func (s *Server) routes() {
	s.handle("/api/systemusers", route{get: s.listUsers})
	s.handle("/api/systemusers/{id}", route{get: s.getUser})
	s.handle("/api/users", route{get: s.listAdmins})
	s.handle("/api/users/{id}", route{get: s.getAdmin})
	s.handle("/api/applications", route{get: s.listApps})
	s.handle("/api/applications/{id}", route{get: s.getApp})
	s.handle("/api/radiusservers", route{get: s.listRadius})
	s.handle("/api/organizations", route{get: s.listOrgs})
	s.handle("/api/v2/usergroups", route{get: s.listGroups})
	s.handle("/api/v2/usergroups/{id}", route{get: s.getGroup})
	s.handle("/api/v2/usergroups/{id}/members", route{get: s.listMembers, post: s.postMember})
	s.handle("/api/v2/usergroups/{id}/membership", route{get: s.listMembership})
	s.handle("/api/v2/usergroups/{id}/associations", route{get: s.listGroupAssociations})
	s.handle("/api/v2/applications/{id}/associations", route{get: s.listAppAssociations, post: s.postAppAssociation})
	s.handle("/api/v2/applications/{id}/users", route{get: s.listAppUsers})
	s.handle("/api/v2/applications/{id}/usergroups", route{get: s.listAppGroups})
	s.handle("/api/v2/ldapservers", route{get: s.listLDAP})
	s.handle("/api/v2/directories", route{get: s.listDirectories})
}

// reqState carries the request's endpoint template and body faults to the writers.
type reqState struct {
	tmpl      string
	truncate  bool
	malformed bool
}

type stateKey struct{}

func state(r *http.Request) *reqState {
	if st, ok := r.Context().Value(stateKey{}).(*reqState); ok {
		return st
	}
	return &reqState{}
}

// ServeHTTP applies latency and faults, the rate limit, authentication, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == TokenPath {
		s.serveToken(w, r)
		return
	}
	_, pattern := s.mux.Handler(r)
	tmpl := pattern
	if tmpl == "" {
		tmpl = unknownRoute
	}
	rec := &recorder{ResponseWriter: w, status: http.StatusOK, record: func(status int) { s.cnt.record(tmpl, status) }}
	defer rec.count(http.StatusOK) // a handler that wrote nothing answered 200

	f, latency := s.decide(r)
	sleepReq(r.Context(), latency+f.slow)
	if f.reset {
		rec.count(FailReset)
		resetConn(rec)
		return
	}
	st := &reqState{tmpl: tmpl, truncate: f.truncate, malformed: f.malformed}
	r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
	if f.status != 0 {
		if f.status == http.StatusTooManyRequests {
			if f.retryHdr {
				rec.Header().Set("Retry-After", "1")
			}
			s.writeRaw(rec, r, f.status, bodyTooMany)
			return
		}
		s.writeRaw(rec, r, f.status, msgBody(http.StatusText(f.status)))
		return
	}
	if !s.auth(rec, r) {
		return
	}
	if pattern == "" {
		s.writeRaw(rec, r, http.StatusNotFound, `{"message":"Not Found"}`)
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// auth enforces x-api-key and x-org-id the way JumpCloud does.
func (s *Server) auth(w http.ResponseWriter, r *http.Request) bool {
	key, accepted := r.Header.Get("x-api-key"), s.acceptedKey()
	key, accepted = s.bearerAuth(r, key, accepted)
	if accepted == "" || subtle.ConstantTimeCompare([]byte(key), []byte(accepted)) != 1 {
		s.writeRaw(w, r, http.StatusUnauthorized, bodyBadKey)
		return false
	}
	// JumpCloud's own tools leave x-org-id off /api/organizations: it lists the orgs a key sees.
	if r.URL.Path == "/api/organizations" {
		return true
	}
	org := r.Header.Get("x-org-id")
	switch {
	case org == "" && s.opts.MultiTenant:
		s.writeRaw(w, r, http.StatusUnauthorized, bodyNoOrg)
		return false
	case org == "":
		return true
	case !objectIDRe.MatchString(org):
		s.writeRaw(w, r, http.StatusBadRequest, `{"message":"Bad Request: invalid organization id"}`)
		return false
	case org != s.orgID:
		s.writeRaw(w, r, http.StatusNotFound, `{"message":"Not Found: organization not found"}`)
		return false
	}
	return true
}

// recorder remembers the status for the counters and passes hijacking through.
// Counting happens before the first byte leaves, so a client that has its answer always
// finds the request in Counts.
type recorder struct {
	http.ResponseWriter
	status   int
	recorded bool
	record   func(status int)
}

func (r *recorder) count(status int) {
	if !r.recorded {
		r.recorded = true
		r.status = status
		r.record(status)
	}
}

func (r *recorder) WriteHeader(code int) {
	r.count(code)
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.count(http.StatusOK)
	return r.ResponseWriter.Write(b)
}

// Hijack passes through so faults can drop or cut connections.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("jumpcloudsim: response writer cannot hijack")
	}
	return hj.Hijack()
}

// writeTruncated sends the headers of a complete response but only half of its body, then
// closes the connection: the client sees an unexpected EOF mid-body.
func writeTruncated(w http.ResponseWriter, status int, body []byte) {
	h := w.Header().Clone()
	if rec, ok := w.(*recorder); ok {
		rec.count(FailTruncated)
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	_ = h.Write(buf)
	_, _ = buf.WriteString("\r\n")
	_, _ = buf.Write(body[:len(body)/2])
	_ = buf.Flush()
}

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.writeRaw(w, r, http.StatusInternalServerError, `{"message":"Internal Server Error"}`)
		return
	}
	s.writeBytes(w, r, status, body)
}

func (s *Server) writeRaw(w http.ResponseWriter, r *http.Request, status int, body string) {
	s.writeBytes(w, r, status, []byte(body))
}

// writeBytes writes a JSON body, applying the request's body faults.
func (s *Server) writeBytes(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	st := state(r)
	body = s.rewrite(r, status, body)
	if st.malformed {
		// Valid start, broken middle: what a proxy splicing an error page would produce.
		body = []byte(`{"totalCount":1,"results":[{"_id":"5c00"]<html>Bad Gateway</html>`)
	}
	if st.truncate {
		writeTruncated(w, status, body)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// paging reads limit and skip with JumpCloud's defaults and bounds.
func (s *Server) paging(w http.ResponseWriter, r *http.Request) (limit, skip int, ok bool) {
	q := r.URL.Query()
	limit, skip = defaultLimit, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.writeRaw(w, r, http.StatusBadRequest, `{"message":"Bad Request: request parameter \"limit\" must be a non-negative integer"}`)
			return 0, 0, false
		}
		if n > maxPageLimit {
			s.writeRaw(w, r, http.StatusBadRequest, bodyLimitMax)
			return 0, 0, false
		}
		limit = n
	}
	if v := q.Get("skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.writeRaw(w, r, http.StatusBadRequest, `{"message":"Bad Request: request parameter \"skip\" must be a non-negative integer"}`)
			return 0, 0, false
		}
		skip = n
	}
	return limit, skip, true
}

// list describes one list response.
type list struct {
	v1      bool
	n       int
	item    func(i int) any
	field   func(i int, f string) string // sortable fields; nil = endpoint takes no sort
	key     string                       // cache key of this collection (sort orders)
	defSort string
	id      string // path id, for the page counters
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request, l list) {
	limit, skip, ok := s.paging(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var perm []int
	if l.field != nil {
		spec := q.Get("sort")
		if spec == "" {
			spec = l.defSort
		}
		if spec != "" {
			perm = s.sortOrder(l, spec)
		}
	}
	total := l.n
	if fs := q["filter"]; len(fs) > 0 {
		keep, ok := s.filter(w, r, l, fs)
		if !ok {
			return
		}
		if perm == nil {
			perm = make([]int, l.n)
			for i := range perm {
				perm[i] = i
			}
		}
		filtered := make([]int, 0, len(perm))
		for _, i := range perm {
			if keep(i) {
				filtered = append(filtered, i)
			}
		}
		perm, total = filtered, len(filtered)
	}
	start := min(skip, total)
	end := min(total, start+limit)
	items := make([]any, 0, end-start)
	for i := start; i < end; i++ {
		idx := i
		if perm != nil {
			idx = perm[i]
		}
		items = append(items, l.item(idx))
	}
	// Count the page before answering, for the same reason the recorder does.
	if st := state(r); !st.truncate && !st.malformed {
		sel := r.URL.Query()
		sel.Del("skip")
		s.cnt.page(PageKey{Endpoint: st.tmpl, ID: l.id, Skip: skip, Query: sel.Encode()})
	}
	if l.v1 {
		if fields := splitFields(q.Get("fields")); len(fields) > 0 {
			items = project(items, fields)
		}
		s.writeJSON(w, r, http.StatusOK, struct {
			TotalCount int   `json:"totalCount"`
			Results    []any `json:"results"`
		}{total, items})
	} else {
		w.Header().Set("x-total-count", strconv.Itoa(total))
		s.writeJSON(w, r, http.StatusOK, items)
	}
}

// filter parses `filter` parameters (ANDed): v1 takes `field:$op:value`, v2 `field:op:value`,
// with op eq or ne (the only ones the connector needs; others are refused rather than
// silently ignored, so a client relying on them would notice). Values are case-sensitive, as
// JumpCloud documents.
func (s *Server) filter(w http.ResponseWriter, r *http.Request, l list, specs []string) (func(i int) bool, bool) {
	if l.field == nil {
		s.writeJSON(w, r, http.StatusBadRequest, map[string]string{"message": "Bad Request: filtering is not supported on this endpoint"})
		return nil, false
	}
	type cond struct {
		field, value string
		neg          bool
	}
	var conds []cond
	for _, spec := range specs {
		parts := strings.SplitN(spec, ":", 3)
		op := ""
		if len(parts) == 3 {
			op = parts[1]
			if l.v1 {
				if !strings.HasPrefix(op, "$") {
					op = ""
				}
				op = strings.TrimPrefix(op, "$")
			}
		}
		if op != "eq" && op != "ne" {
			s.writeJSON(w, r, http.StatusBadRequest, map[string]string{"message": fmt.Sprintf("Bad Request: invalid filter %q", spec)})
			return nil, false
		}
		conds = append(conds, cond{field: parts[0], value: parts[2], neg: op == "ne"})
	}
	return func(i int) bool {
		for _, c := range conds {
			if (l.field(i, c.field) == c.value) == c.neg {
				return false
			}
		}
		return true
	}, true
}

// splitFields parses sort/fields lists: space-separated on v1, comma-separated on v2 (both
// accepted, since url-encoded spaces and commas are easy to mix up).
func splitFields(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' })
}

// sortOrder returns the permutation for a sort spec, memoized until the next write.
func (s *Server) sortOrder(l list, spec string) []int {
	return s.cached("sort|"+l.key+"|"+spec, func() any {
		keys := splitFields(spec)
		perm := make([]int, l.n)
		for i := range perm {
			perm[i] = i
		}
		slices.SortStableFunc(perm, func(a, b int) int {
			for _, k := range keys {
				desc := strings.HasPrefix(k, "-")
				k = strings.TrimPrefix(k, "-")
				c := strings.Compare(l.field(a, k), l.field(b, k))
				if desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
		return perm
	}).([]int)
}

// project keeps only the requested fields (and _id, which Mongo always returns).
func project(items []any, fields []string) []any {
	out := make([]any, 0, len(items))
	for _, it := range items {
		b, _ := json.Marshal(it)
		var m map[string]json.RawMessage
		_ = json.Unmarshal(b, &m)
		p := map[string]json.RawMessage{}
		for _, f := range append(fields, "_id") {
			if v, ok := m[f]; ok {
				p[f] = v
			}
		}
		out = append(out, p)
	}
	return out
}

// msgBody is JumpCloud's error shape, {"message": ...}, properly escaped.
func msgBody(msg string) string {
	b, _ := json.Marshal(map[string]string{"message": msg})
	return string(b)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, what string) {
	s.writeRaw(w, r, http.StatusNotFound, msgBody("Not Found: "+what+" not found"))
}

// ---- v1 collections ----

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	o := s.org
	s.serveList(w, r, list{v1: true, n: len(o.Users), key: "users",
		item: func(i int) any { return s.userOut(&o.Users[i]) },
		field: func(i int, f string) string {
			u := &o.Users[i]
			switch f {
			case "_id":
				return u.ID
			case "username":
				return u.Username
			case "email":
				return u.Email
			case "firstname":
				return u.Firstname
			case "lastname":
				return u.Lastname
			case "displayname":
				return displayName(u.Firstname, u.Lastname)
			case "state":
				return u.State
			case "created":
				return createdAt(u.ID)
			case "department":
				return u.Department
			}
			return ""
		}})
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	u, ok := s.org.User(r.PathValue("id"))
	if !ok {
		s.notFound(w, r, "user")
		return
	}
	s.writeJSON(w, r, http.StatusOK, s.userOut(u))
}

func (s *Server) listAdmins(w http.ResponseWriter, r *http.Request) {
	o := s.org
	s.serveList(w, r, list{v1: true, n: len(o.Admins), key: "admins",
		item: func(i int) any { return s.adminOut(&o.Admins[i]) },
		field: func(i int, f string) string {
			a := &o.Admins[i]
			switch f {
			case "_id":
				return a.ID
			case "email":
				return a.Email
			case "firstname":
				return a.Firstname
			case "lastname":
				return a.Lastname
			case "roleName":
				return a.RoleName
			}
			return ""
		}})
}

func (s *Server) getAdmin(w http.ResponseWriter, r *http.Request) {
	a, ok := s.org.Admin(r.PathValue("id"))
	if !ok {
		s.notFound(w, r, "user")
		return
	}
	s.writeJSON(w, r, http.StatusOK, s.adminOut(a))
}

func (s *Server) listApps(w http.ResponseWriter, r *http.Request) {
	o := s.org
	// JumpCloud documents /applications as sorted by name unless told otherwise.
	s.serveList(w, r, list{v1: true, n: len(o.Apps), key: "apps", defSort: "name",
		item: func(i int) any { return s.appOut(&o.Apps[i]) },
		field: func(i int, f string) string {
			a := &o.Apps[i]
			switch f {
			case "_id":
				return a.ID
			case "name":
				return a.Name
			case "displayName":
				return a.DisplayName
			case "displayLabel":
				return a.DisplayLabel
			}
			return ""
		}})
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request) {
	a, ok := s.org.App(r.PathValue("id"))
	if !ok {
		s.notFound(w, r, "application")
		return
	}
	s.writeJSON(w, r, http.StatusOK, s.appOut(a))
}

func (s *Server) listRadius(w http.ResponseWriter, r *http.Request) {
	o := s.org
	s.serveList(w, r, list{v1: true, n: 1, key: "radius",
		item:  func(int) any { return radiusOut(o) },
		field: func(_ int, f string) string { return "" }})
}

func (s *Server) listOrgs(w http.ResponseWriter, r *http.Request) {
	if s.serveOrgs(w, r) {
		return
	}
	o := s.org
	s.serveList(w, r, list{v1: true, n: 1, key: "orgs",
		item: func(int) any {
			return map[string]any{"_id": s.orgID, "displayName": o.Name, "logoUrl": ""}
		}})
}

// ---- v2 collections ----

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) {
	o := s.org
	s.serveList(w, r, list{n: len(o.Groups), key: "groups",
		item: func(i int) any { return groupOut(o, &o.Groups[i]) },
		field: func(i int, f string) string {
			switch f {
			case "id":
				return o.Groups[i].ID
			case "name":
				return o.Groups[i].Name
			}
			return ""
		}})
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) {
	g, ok := s.org.Group(r.PathValue("id"))
	if !ok {
		s.notFound(w, r, "user group")
		return
	}
	s.writeJSON(w, r, http.StatusOK, groupOut(s.org, g))
}

func (s *Server) listLDAP(w http.ResponseWriter, r *http.Request) {
	o := s.org
	s.serveList(w, r, list{n: 1, key: "ldap",
		item:  func(int) any { return ldapOut(o) },
		field: func(_ int, f string) string { return "" }})
}

func (s *Server) listDirectories(w http.ResponseWriter, r *http.Request) {
	o := s.org
	s.serveList(w, r, list{n: 1, key: "directories",
		item: func(int) any {
			return map[string]any{"id": o.LDAP.ID, "name": ldapName, "type": jumpcloud.GraphLDAPServer}
		}})
}

// ---- graph ----

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
	gid := r.PathValue("id")
	if _, ok := o.Group(gid); !ok {
		s.notFound(w, r, "user group")
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

// traversal serves GraphObjectWithPaths items, sortable by id.
func (s *Server) traversal(w http.ResponseWriter, r *http.Request, key, id string, items []gPaths) {
	s.serveList(w, r, list{n: len(items), key: key, id: id,
		item: func(i int) any { return items[i] },
		field: func(i int, f string) string {
			if f == "id" {
				return items[i].ID
			}
			return ""
		}})
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
	gid := r.PathValue("id")
	if _, ok := o.Group(gid); !ok {
		s.notFound(w, r, "user group")
		return
	}
	key := "membership|" + gid
	items := s.cached(key, func() any { return usersThrough(o, o.Members[gid], o.NestedGroups[gid]) }).([]gPaths)
	s.traversal(w, r, key, gid, items)
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
	aid := r.PathValue("id")
	if _, ok := o.App(aid); !ok {
		s.notFound(w, r, "application")
		return
	}
	key := "appusers|" + aid
	items := s.cached(key, func() any { return usersThrough(o, o.AppUsers[aid], o.AppGroups[aid]) }).([]gPaths)
	s.traversal(w, r, key, aid, items)
}

func (s *Server) listAppGroups(w http.ResponseWriter, r *http.Request) {
	o := s.org
	aid := r.PathValue("id")
	if _, ok := o.App(aid); !ok {
		s.notFound(w, r, "application")
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
	aid := r.PathValue("id")
	if _, ok := o.App(aid); !ok {
		s.notFound(w, r, "application")
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

// listGroupAssociations is where LDAP and RADIUS leak into the graph: a group bound to the
// LDAP server answers targets=ldap_server with an ldap_server edge.
func (s *Server) listGroupAssociations(w http.ResponseWriter, r *http.Request) {
	o := s.org
	gid := r.PathValue("id")
	if _, ok := o.Group(gid); !ok {
		s.notFound(w, r, "user group")
		return
	}
	ts, ok := s.targets(w, r, map[string]bool{"active_directory": true, jumpcloud.GraphApplication: true,
		"command": true, "g_suite": true, jumpcloud.GraphLDAPServer: true, "office_365": true, "policy": true,
		jumpcloud.GraphRadiusServer: true, "system": true, "system_group": true})
	if !ok {
		return
	}
	var edges []gEdge
	for _, t := range ts {
		switch t {
		case jumpcloud.GraphLDAPServer:
			if slices.Contains(o.LDAPGroups, gid) {
				edges = append(edges, edge(o.LDAP.ID, t))
			}
		case jumpcloud.GraphRadiusServer:
			if slices.Contains(o.RadiusGroups, gid) {
				edges = append(edges, edge(o.RADIUS.ID, t))
			}
		case jumpcloud.GraphApplication:
			for i := range o.Apps {
				if slices.Contains(o.AppGroups[o.Apps[i].ID], gid) {
					edges = append(edges, edge(o.Apps[i].ID, t))
				}
			}
		}
	}
	s.serveList(w, r, list{n: len(edges), id: gid, item: func(i int) any { return edges[i] }})
}

// ---- writes ----

type graphOp struct {
	Op   string `json:"op"`
	Type string `json:"type"`
	ID   string `json:"id"`
}

func (s *Server) readOp(w http.ResponseWriter, r *http.Request) (graphOp, bool) {
	var op graphOp
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(&op); err != nil || op.ID == "" {
		s.writeRaw(w, r, http.StatusBadRequest, `{"message":"Bad Request: invalid body"}`)
		return op, false
	}
	return op, true
}

func (s *Server) postMember(w http.ResponseWriter, r *http.Request) {
	o := s.org
	gid := r.PathValue("id")
	if _, ok := o.Group(gid); !ok {
		s.notFound(w, r, "user group")
		return
	}
	op, ok := s.readOp(w, r)
	if !ok {
		return
	}
	if op.Type != jumpcloud.GraphUser {
		s.writeRaw(w, r, http.StatusBadRequest, `{"message":"Bad Request: type must be user"}`)
		return
	}
	if _, ok := o.User(op.ID); !ok {
		s.notFound(w, r, "user")
		return
	}
	switch op.Op {
	case "add":
		if !o.AddMember(gid, op.ID) {
			s.writeRaw(w, r, http.StatusConflict, `{"message":"Conflict: already a member"}`)
			return
		}
	case "remove":
		if !o.RemoveMember(gid, op.ID) {
			s.notFound(w, r, "membership")
			return
		}
	default:
		s.writeRaw(w, r, http.StatusBadRequest, `{"message":"Bad Request: op must be add or remove"}`)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) postAppAssociation(w http.ResponseWriter, r *http.Request) {
	o := s.org
	aid := r.PathValue("id")
	if _, ok := o.App(aid); !ok {
		s.notFound(w, r, "application")
		return
	}
	op, ok := s.readOp(w, r)
	if !ok {
		return
	}
	var add, remove func(string, string) bool
	switch op.Type {
	case jumpcloud.GraphUser:
		if _, ok := o.User(op.ID); !ok {
			s.notFound(w, r, "user")
			return
		}
		add, remove = o.BindUser, o.UnbindUser
	case jumpcloud.GraphUserGroup:
		if _, ok := o.Group(op.ID); !ok {
			s.notFound(w, r, "user group")
			return
		}
		add, remove = o.BindGroup, o.UnbindGroup
	default:
		s.writeRaw(w, r, http.StatusBadRequest, `{"message":"Bad Request: type must be user or user_group"}`)
		return
	}
	switch op.Op {
	case "add":
		if !add(aid, op.ID) {
			s.writeRaw(w, r, http.StatusConflict, `{"message":"Conflict: already associated"}`)
			return
		}
	case "remove":
		if !remove(aid, op.ID) {
			s.notFound(w, r, "association")
			return
		}
	case "update":
		// Attributes are not modelled; an update of an existing association is a no-op.
	default:
		s.writeRaw(w, r, http.StatusBadRequest, `{"message":"Bad Request: op must be add, remove or update"}`)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
