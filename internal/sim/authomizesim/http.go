package authomizesim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"jcsync/internal/sim/faults"
)

// uploadPaths are the upload endpoints; the listed ones also answer GET with what is stored
// (the kinds the connector reads back: every sync writes them).
var uploadPaths = []struct {
	path   string
	kind   Kind
	listed bool
}{
	{"/accounts/users", KindUsers, true},
	{"/identities", KindIdentities, false},
	{"/access/grouping", KindGroupings, true},
	{"/association/accounts", KindAccountAssociations, false},
	{"/privileges", KindPrivileges, false},
	{"/access/permissions", KindPermissions, false},
	{"/assets", KindAssets, true},
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /me", s.authed(s.handleMe))
	m.HandleFunc("GET /v2/apps", s.authed(s.handleListApps))
	m.HandleFunc("POST /v2/apps", s.authed(s.handleCreateApp))
	m.HandleFunc("GET /v2/apps/{appId}", s.authed(s.handleGetApp))
	m.HandleFunc("PATCH /v2/apps/{appId}", s.authed(s.handlePatchApp))
	m.HandleFunc("DELETE /v2/apps/{appId}/data", s.authed(s.handleDeleteData))
	for _, u := range uploadPaths {
		m.HandleFunc("POST /v2/apps/{appId}"+u.path, s.authed(s.handleUpload(u.kind)))
		if patchable[u.kind] {
			m.HandleFunc("PATCH /v2/apps/{appId}"+u.path, s.authed(s.handlePatch(u.kind)))
		}
		if u.listed {
			m.HandleFunc("GET /v2/apps/{appId}"+u.path, s.authed(s.handleList(u.kind)))
		}
	}
	m.HandleFunc("/", s.handleUnrouted(m))
	s.mux = m
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP counts the request under its endpoint template, applies latency and faults, then
// dispatches.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, pattern := s.mux.Handler(r)
	endpoint := pattern
	if pattern == "/" || pattern == "" {
		endpoint = "UNMATCHED"
	}
	if !faults.Sleep(r.Context(), s.faults.Pause()) {
		s.count(endpoint, 499) // client went away while we were "busy"
		return
	}
	f := s.faults.Decide(r.URL.Path)
	if f.Fails() {
		s.count(endpoint, f.Status)
		if f.Reset {
			// The client sees a reset, as with a flaky load balancer.
			faults.ResetConn(w)
			return
		}
		for k, v := range f.Header {
			w.Header()[k] = v
		}
		if f.RetryAfter {
			w.Header().Set("Retry-After", "1")
		}
		writeDetail(w, f.Status, http.StatusText(f.Status))
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	s.mux.ServeHTTP(sw, r)
	s.count(endpoint, sw.status)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"detail":"encode error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeDetail(w http.ResponseWriter, status int, detail string) {
	writeJSON(w, status, map[string]any{"detail": detail})
}

func write422(w http.ResponseWriter, probs []Problem) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": probs})
}

// handleUnrouted answers FastAPI's JSON 404/405 instead of ServeMux's plain text.
func (s *Server) handleUnrouted(m *http.ServeMux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for _, method := range []string{"GET", "POST", "PATCH", "DELETE"} {
			if method == r.Method {
				continue
			}
			probe := r.Clone(r.Context())
			probe.Method = method
			if _, p := m.Handler(probe); p != "/" && p != "" {
				writeDetail(w, http.StatusMethodNotAllowed, "Method Not Allowed")
				return
			}
		}
		writeDetail(w, http.StatusNotFound, "Not Found")
	}
}

// authed checks the Authorization header. Both the raw token (connector API convention) and
// "Bearer <token>" (what the official client sends to /me) are accepted.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hv := strings.TrimSpace(r.Header.Get("Authorization"))
		if hv == "" {
			writeDetail(w, http.StatusUnauthorized, "Not authenticated")
			return
		}
		if len(hv) > 7 && strings.EqualFold(hv[:7], "bearer ") {
			hv = strings.TrimSpace(hv[7:])
		}
		if !s.tokenOK(hv) {
			writeDetail(w, http.StatusUnauthorized, "Invalid token")
			return
		}
		h(w, r)
	}
}

func (s *Server) tokenOK(tok string) bool {
	if tok == "" {
		return false
	}
	if len(s.opts.Tokens) == 0 {
		return true
	}
	for _, t := range s.opts.Tokens {
		if t == tok {
			return true
		}
	}
	return false
}

// readBody reads at most MaxBodyBytes; false (after answering 413/400) otherwise.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.ContentLength > MaxBodyBytes {
		writeDetail(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return nil, false
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeDetail(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		} else {
			writeDetail(w, http.StatusBadRequest, "could not read body")
		}
		return nil, false
	}
	return b, true
}

// queryTime parses an optional date-time query parameter; ok=false after answering 422.
func queryTime(w http.ResponseWriter, r *http.Request, name string) (time.Time, bool, bool) {
	v, present := r.URL.Query()[name]
	if !present {
		return time.Time{}, false, true
	}
	t, ok := ParseDateTime(v[0])
	if !ok {
		write422(w, []Problem{{Loc: []any{"query", name}, Msg: "invalid datetime format", Type: "value_error.datetime"}})
		return time.Time{}, false, false
	}
	return t, true, true
}

// onApp runs fn on the path's app under s.mu, or answers 404 when there is no such app.
func (s *Server) onApp(w http.ResponseWriter, r *http.Request, fn func(a *app)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[r.PathValue("appId")]
	if a == nil {
		writeDetail(w, http.StatusNotFound, "App not found")
		return
	}
	fn(a)
}

func fmtTS(t time.Time) string { return t.UTC().Format(TimestampLayout) }
