package authomizesim

import "encoding/json"

// Counts is a copy of the request counters.
type Counts struct {
	// ByEndpoint maps "METHOD /template" (e.g. "POST /v2/apps/{appId}/accounts/users") to
	// status → count. Status 0 counts dropped connections. Unrouted requests are "UNMATCHED".
	ByEndpoint map[string]map[int]int
	Total      int
}

// Requests is the number of requests to endpoint, whatever their status.
func (c Counts) Requests(endpoint string) int {
	n := 0
	for _, v := range c.ByEndpoint[endpoint] {
		n += v
	}
	return n
}

// Counts returns a copy of the counters.
func (s *Server) Counts() Counts {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	out := Counts{ByEndpoint: map[string]map[int]int{}, Total: s.total}
	for k, m := range s.counts {
		c := map[int]int{}
		for st, n := range m {
			c[st] = n
		}
		out.ByEndpoint[k] = c
	}
	return out
}

// ResetCounts zeroes the counters.
func (s *Server) ResetCounts() {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	s.counts = map[string]map[int]int{}
	s.total = 0
}

func (s *Server) count(endpoint string, status int) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	m := s.counts[endpoint]
	if m == nil {
		m = map[int]int{}
		s.counts[endpoint] = m
	}
	m[status]++
	s.total++
}

// Snapshot is a copy of one app's stored data, for assertions.
type Snapshot struct {
	Users, Identities, Groupings, Privileges, Assets map[string]json.RawMessage    // by uniqueId
	Memberships                                      map[[2]string]json.RawMessage // {sourceId, targetId}
	Permissions                                      map[[4]string]json.RawMessage // {sourceType, sourceUniqueId, privilegeId, assetId}
}

// Snapshot returns a copy of appID's data; every map is empty (not nil) for an unknown app.
func (s *Server) Snapshot(appID string) Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := Snapshot{
		Users: map[string]json.RawMessage{}, Identities: map[string]json.RawMessage{},
		Groupings: map[string]json.RawMessage{}, Privileges: map[string]json.RawMessage{},
		Assets: map[string]json.RawMessage{}, Memberships: map[[2]string]json.RawMessage{},
		Permissions: map[[4]string]json.RawMessage{},
	}
	a := s.apps[appID]
	if a == nil {
		return snap
	}
	cp := func(r *record) json.RawMessage { return append(json.RawMessage(nil), r.raw...) }
	for kind, dst := range map[Kind]map[string]json.RawMessage{
		KindUsers: snap.Users, KindIdentities: snap.Identities, KindGroupings: snap.Groupings,
		KindPrivileges: snap.Privileges, KindAssets: snap.Assets,
	} {
		for _, r := range a.data[kind] {
			dst[r.key[0]] = cp(r)
		}
	}
	for _, r := range a.data[KindAccountAssociations] {
		snap.Memberships[[2]string{r.key[0], r.key[1]}] = cp(r)
	}
	for _, r := range a.data[KindPermissions] {
		snap.Permissions[[4]string{r.key[0], r.key[1], r.key[2], r.key[3]}] = cp(r)
	}
	return snap
}
