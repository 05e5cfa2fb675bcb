package authomizesim

import (
	"net/http"
	"strconv"
	"strings"
)

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	// The id is not derived from the token so the simulator never echoes a secret.
	writeJSON(w, http.StatusOK, map[string]any{"version": "4.6.8-sim", "id": "sim-user", "tenant": "sim-tenant"})
}

func appJSON(a *app) map[string]any {
	m := map[string]any{"id": a.id, "createdAt": fmtTS(a.createdAt), "modifiedAt": fmtTS(a.modifiedAt)}
	if a.name != "" {
		m["integrationName"] = a.name
	}
	return m
}

func queryInt(w http.ResponseWriter, r *http.Request, name string, def int) (int, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		write422(w, []Problem{{Loc: []any{"query", name}, Msg: "value is not a valid integer", Type: "type_error.integer"}})
		return 0, false
	}
	return n, true
}

func (s *Server) handleListApps(w http.ResponseWriter, r *http.Request) {
	limit, ok := queryInt(w, r, "limit", 20)
	if !ok {
		return
	}
	skip, ok := queryInt(w, r, "skip", 0)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	total := len(s.order)
	start := min(max(skip, 0), total)
	end := total
	if limit >= 0 {
		end = min(start+limit, total)
	}
	data := []any{}
	for _, id := range s.order[start:end] {
		data = append(data, appJSON(s.apps[id]))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"pagination": map[string]any{"limit": limit, "skip": skip, "total": total, "hasMore": end < total},
		"data":       data,
	})
}

// decodeAppBody validates the small app bodies ({"integrationName"} / {"name"}).
func decodeAppBody(w http.ResponseWriter, r *http.Request, field string) (string, bool) {
	b, ok := readBody(w, r)
	if !ok {
		return "", false
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		write422(w, []Problem{missing("body")})
		return "", false
	}
	m, ok := decodeObject(b)
	if !ok {
		write422(w, []Problem{{Loc: []any{"body"}, Msg: "value is not a valid dict", Type: "type_error.dict"}})
		return "", false
	}
	v, present := m[field]
	if !present || v == nil {
		return "", true
	}
	sv, ok := asString(v)
	if !ok {
		write422(w, []Problem{{Loc: []any{"body", field}, Msg: "str type expected", Type: "type_error.str"}})
		return "", false
	}
	return sv, true
}

func (s *Server) handleCreateApp(w http.ResponseWriter, r *http.Request) {
	name, ok := decodeAppBody(w, r, "integrationName")
	if !ok {
		return
	}
	s.mu.Lock()
	a := s.createAppLocked(name)
	out := appJSON(a)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetApp(w http.ResponseWriter, r *http.Request) {
	s.onApp(w, r, func(a *app) {
		writeJSON(w, http.StatusOK, appJSON(a))
	})
}

func (s *Server) handlePatchApp(w http.ResponseWriter, r *http.Request) {
	name, ok := decodeAppBody(w, r, "name")
	if !ok {
		return
	}
	s.onApp(w, r, func(a *app) {
		if name != "" {
			a.name = name
		}
		a.modifiedAt = s.acceptTime()
		writeJSON(w, http.StatusOK, appJSON(a))
	})
}

func (s *Server) handleDeleteData(w http.ResponseWriter, r *http.Request) {
	cutoff, hasCutoff, ok := queryTime(w, r, "modifiedBefore")
	if !ok {
		return
	}
	s.onApp(w, r, func(a *app) {
		for _, recs := range a.data {
			for k, rec := range recs {
				if !hasCutoff || rec.modifiedAt.Before(cutoff) {
					delete(recs, k)
				}
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"requestId": s.nextRequestID(), "acceptedTimestamp": fmtTS(s.acceptTime())})
	})
}
