package jumpcloudsim

import (
	"net/http"
	"regexp"
	"sync"

	"jcsync/internal/sim/faults"
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

// Server is the simulated JumpCloud API: the read endpoints the connector uses, with
// JumpCloud's authentication, paging limits and error bodies.
type Server struct {
	opts  Options
	orgID string

	mu  sync.RWMutex // guards org; GETs read-lock, Update locks
	org *Org

	cacheMu sync.Mutex
	cache   map[string]any // derived views (sort orders, traversals); cleared on every write

	mux    *http.ServeMux
	faults *faults.Engine // latency, rate limit, random faults and rules; has its own lock
	oa     oauthState     // service accounts (oauth.go)
	k      knobs
	cnt    counters
	arr    arrivals
	ik     insightsKnobs
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

// jumpCloudDraws: a 5xx is a gateway's 502, 503 or 504; a 500 is drawn on its own.
var jumpCloudDraws = faults.Draws{
	Stream:   func(seed int64) uint64 { return uint64(seed) ^ 0xfa017 },
	Order:    []faults.Fault{faults.Draw429, faults.Draw5xx, faults.Draw500, faults.DrawReset, faults.DrawTruncated, faults.DrawMalformed},
	Codes5xx: []int{502, 503, 504},
}

var objectIDRe = regexp.MustCompile(`^[0-9a-f]{24}$`)

// New serves org. The org must not be changed afterwards except through Update.
func New(org *Org, opts Options) *Server {
	if org == nil {
		org = NewOrg(1)
	}
	org.reindex()
	s := &Server{opts: opts, orgID: opts.OrgID, org: org, cache: map[string]any{}, mux: http.NewServeMux(),
		faults: faults.New(faults.Prefix, jumpCloudDraws)}
	if s.orgID == "" {
		s.orgID = org.ID
	}
	s.cnt.c = newCounts()
	if org.events == nil {
		var actor map[string]any
		if len(org.Admins) > 0 {
			actor = map[string]any{"id": org.Admins[0].ID, "type": resAdmin, "email": org.Admins[0].Email}
		}
		org.events = newEventLog(s.orgID, actor)
	}
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

// handle serves get under the org's read lock and answers every other method 405 with
// Allow, as JumpCloud does.
func (s *Server) handle(pattern string, get http.HandlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			s.writeRaw(w, r, http.StatusMethodNotAllowed, `{"message":"Method Not Allowed"}`)
			return
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		get(w, r)
	})
}

// routes registers the endpoints the connector reads.
func (s *Server) routes() {
	s.handle("/api/systemusers", s.listUsers)
	s.handle("/api/users", s.listAdmins)
	s.handle("/api/applications", s.listApps)
	s.handle("/api/applications/{id}", s.getApp)
	s.handle("/api/radiusservers", s.listRadius)
	s.handle("/api/organizations", s.listOrgs)
	s.handle("/api/v2/usergroups", s.listGroups)
	s.handle("/api/v2/usergroups/{id}", s.getGroup)
	s.handle("/api/v2/usergroups/{id}/members", s.listMembers)
	s.handle("/api/v2/usergroups/{id}/membership", s.listMembership)
	s.handle("/api/v2/applications/{id}/associations", s.listAppAssociations)
	s.handle("/api/v2/applications/{id}/users", s.listAppUsers)
	s.handle("/api/v2/applications/{id}/usergroups", s.listAppGroups)
	s.handle("/api/v2/ldapservers", s.listLDAP)
	// Directory Insights reads with a POST and takes no org lock: its store has its own.
	s.mux.HandleFunc(InsightsPath, s.serveInsights)
}
