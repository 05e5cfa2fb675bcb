// Package authomizesim is an in-memory fake of Authomize's connector REST API (spec 4.6.8),
// served as an ordinary http.Handler. It validates like the real FastAPI/pydantic server,
// stores what it accepts per app so tests can assert the sync's effect, implements the
// modifiedBefore sweep, and can inject faults to exercise the client's retries.
//
// Choices made where Authomize's behaviour is not documented (see authomize-api.md §8):
//   - wrong token → 401 {"detail":"Invalid token"}; unknown app → 404 {"detail":"App not found"};
//   - body over MaxBodyBytes (1 MiB = 1,048,576 bytes) → 413 {"detail":"Request Entity Too Large"};
//   - checks run in the order auth (401), size (413), schema (422), app (404), mirroring a
//     FastAPI app whose app lookup happens inside the endpoint after body validation;
//   - POST replaces a stored item whole (no field merge) and refreshes its modifiedAt;
//   - relation items with unknown references are stored and counted unless
//     Options.DropInvalidRelations; groupings/assets with an unknown owner are always kept;
//   - GET listings return the stored request items, not the richer *Schema shapes;
//   - PATCH /v2/apps/{appId} {"name"} sets the app's integrationName (the only name it has);
//   - with no Options.Tokens, any non-empty token is accepted.
package authomizesim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxBodyBytes is the request size limit the simulator enforces. The spec says "1MB"; we read
// it as 1 MiB, the more lenient reading, so the client (which stays under 1,000,000 bytes)
// is safe under either.
const MaxBodyBytes = 1 << 20

// TimestampLayout is how Authomize formats acceptedTimestamp (Python isoformat, UTC).
const TimestampLayout = "2006-01-02T15:04:05.000000+00:00"

// Options configures a Server.
type Options struct {
	Tokens []string // accepted API tokens; empty = any non-empty token
	Apps   []string // app ids that exist from the start
	// DropInvalidRelations drops relation items whose references don't exist (not stored,
	// not counted as accepted). Default false: stored anyway but listed as invalid.
	DropInvalidRelations bool
}

// Faults configures random fault injection. Rates are probabilities in [0,1] per request.
type Faults struct {
	Rate429           float64
	Rate429RetryAfter float64 // fraction of injected 429s that carry Retry-After: 1
	Rate5xx           float64
	RateReset         float64 // connection dropped without a response
	RateSlow          float64
	Slow              time.Duration
	Seed              int64
}

type record struct {
	key        []string
	raw        json.RawMessage
	modifiedAt time.Time
}

type app struct {
	id, name   string
	createdAt  time.Time
	modifiedAt time.Time
	data       map[Kind]map[string]*record
}

type failRule struct {
	suffix string
	n      int
	status int
	header http.Header
}

// Server is the simulator. Create it with New; it is safe for concurrent use.
type Server struct {
	opts Options
	mux  *http.ServeMux

	mu       sync.Mutex // guards the state below
	apps     map[string]*app
	order    []string // app ids in creation order, for stable listings
	lastTS   time.Time
	requests uint64
	appSeq   int

	fmu     sync.Mutex // guards the fault knobs
	latency time.Duration
	faults  Faults
	rng     *rand.Rand
	rules   []failRule

	knobs knobState // upload behaviour knobs (knobs.go); has its own lock

	cmu    sync.Mutex // guards the counters
	counts map[string]map[int]int
	total  int
}

// New builds a simulator.
func New(opts Options) *Server {
	s := &Server{opts: opts, apps: map[string]*app{}, counts: map[string]map[int]int{}}
	s.rng = rand.New(rand.NewPCG(0, 0))
	for _, id := range opts.Apps {
		s.addApp(id, "")
	}
	s.routes()
	return s
}

func newApp(id, name string, now time.Time) *app {
	a := &app{id: id, name: name, createdAt: now, modifiedAt: now, data: map[Kind]map[string]*record{}}
	for k := range schemas {
		a.data[k] = map[string]*record{}
	}
	return a
}

func (s *Server) addApp(id, name string) *app {
	a := newApp(id, name, time.Now().UTC())
	s.apps[id] = a
	s.order = append(s.order, id)
	return a
}

// CreateApp creates an app directly (for tests) and returns its id.
func (s *Server) CreateApp(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createAppLocked(name).id
}

func (s *Server) createAppLocked(name string) *app {
	for {
		s.appSeq++
		id := fmt.Sprintf("sim-app-%d", s.appSeq)
		if _, taken := s.apps[id]; !taken {
			return s.addApp(id, name)
		}
	}
}

// acceptTime returns the next accepted time. It is strictly increasing even when the clock
// does not move (or moves back), so a sweep whose cutoff is the first accepted time of a run
// can never delete something re-sent later in the same run. Caller holds s.mu.
func (s *Server) acceptTime() time.Time {
	t := time.Now().UTC().Truncate(time.Microsecond)
	if !t.After(s.lastTS) {
		t = s.lastTS.Add(time.Microsecond)
	}
	s.lastTS = t
	return t
}

func (s *Server) nextRequestID() string {
	s.requests++
	return fmt.Sprintf("sim-req-%08d", s.requests)
}

// ---- knobs ----

// SetLatency delays every request (except /is_alive) by d.
func (s *Server) SetLatency(d time.Duration) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.latency = d
}

// SetFaults replaces the random fault configuration and reseeds the generator.
func (s *Server) SetFaults(f Faults) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.faults = f
	s.rng = rand.New(rand.NewPCG(uint64(f.Seed), 0x5eed))
}

// FailNext makes the next n requests whose path ends with pathSuffix fail with status
// (0 = drop the connection without answering). It is deterministic, unlike SetFaults.
func (s *Server) FailNext(pathSuffix string, n, status int) {
	s.FailNextWithHeader(pathSuffix, n, status, nil)
}

// FailNextWithHeader is FailNext with extra response headers (e.g. Retry-After).
func (s *Server) FailNextWithHeader(pathSuffix string, n, status int, h http.Header) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.rules = append(s.rules, failRule{suffix: pathSuffix, n: n, status: status, header: h.Clone()})
}

// ClearFaults removes random faults, pending FailNext rules and latency.
func (s *Server) ClearFaults() {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.faults = Faults{}
	s.rules = nil
	s.latency = 0
}

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

// ---- HTTP plumbing ----

var uploadPaths = []struct {
	path string
	kind Kind
}{
	{"/accounts/users", KindUsers},
	{"/identities", KindIdentities},
	{"/access/grouping", KindGroupings},
	{"/association/accounts", KindAccountAssociations},
	{"/privileges", KindPrivileges},
	{"/access/permissions", KindPermissions},
	{"/assets", KindAssets},
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /is_alive", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"isAlive": true})
	})
	m.HandleFunc("GET /me", s.authed(s.handleMe))
	m.HandleFunc("GET /v1/me", s.authed(s.handleMe))
	m.HandleFunc("GET /v2/apps", s.authed(s.handleListApps))
	m.HandleFunc("POST /v2/apps", s.authed(s.handleCreateApp))
	m.HandleFunc("GET /v2/apps/{appId}", s.authed(s.handleGetApp))
	m.HandleFunc("PATCH /v2/apps/{appId}", s.authed(s.handlePatchApp))
	m.HandleFunc("DELETE /v2/apps/{appId}", s.authed(s.handleDeleteApp))
	m.HandleFunc("DELETE /v2/apps/{appId}/data", s.authed(s.handleDeleteData))
	for _, u := range uploadPaths {
		m.HandleFunc("POST /v2/apps/{appId}"+u.path, s.authed(s.handleUpload(u.kind)))
		m.HandleFunc("GET /v2/apps/{appId}"+u.path, s.authed(s.handleList(u.kind)))
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
	if pattern != "GET /is_alive" {
		if !s.delay(r) {
			s.count(endpoint, 499) // client went away while we were "busy"
			return
		}
		if status, hdr, hit := s.pickFault(r.URL.Path); hit {
			s.count(endpoint, status)
			if status == 0 {
				// ErrAbortHandler makes net/http drop the connection without logging: the
				// client sees a reset/EOF, as with a flaky load balancer.
				panic(http.ErrAbortHandler)
			}
			for k, v := range hdr {
				w.Header()[k] = v
			}
			writeJSON(w, status, map[string]any{"detail": http.StatusText(status)})
			return
		}
	}
	sw := &statusWriter{ResponseWriter: w}
	s.mux.ServeHTTP(sw, r)
	s.count(endpoint, sw.status)
}

// delay sleeps for the configured latency and any random slow-down; false if the client
// cancelled meanwhile.
func (s *Server) delay(r *http.Request) bool {
	s.fmu.Lock()
	d := s.latency
	if s.faults.RateSlow > 0 && s.rng.Float64() < s.faults.RateSlow {
		d += s.faults.Slow
	}
	s.fmu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func (s *Server) pickFault(path string) (int, http.Header, bool) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	for i := range s.rules {
		rule := &s.rules[i]
		if rule.n > 0 && strings.HasSuffix(path, rule.suffix) {
			rule.n--
			return rule.status, rule.header, true
		}
	}
	f := s.faults
	if f.RateReset > 0 && s.rng.Float64() < f.RateReset {
		return 0, nil, true
	}
	if f.Rate429 > 0 && s.rng.Float64() < f.Rate429 {
		h := http.Header{}
		if f.Rate429RetryAfter > 0 && s.rng.Float64() < f.Rate429RetryAfter {
			h.Set("Retry-After", "1")
		}
		return http.StatusTooManyRequests, h, true
	}
	if f.Rate5xx > 0 && s.rng.Float64() < f.Rate5xx {
		codes := []int{500, 502, 503, 504}
		return codes[s.rng.IntN(len(codes))], nil, true
	}
	return 0, nil, false
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

func fmtTS(t time.Time) string { return t.UTC().Format(TimestampLayout) }

// ---- handlers ----

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
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[r.PathValue("appId")]
	if a == nil {
		writeDetail(w, http.StatusNotFound, "App not found")
		return
	}
	writeJSON(w, http.StatusOK, appJSON(a))
}

func (s *Server) handlePatchApp(w http.ResponseWriter, r *http.Request) {
	name, ok := decodeAppBody(w, r, "name")
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[r.PathValue("appId")]
	if a == nil {
		writeDetail(w, http.StatusNotFound, "App not found")
		return
	}
	if name != "" {
		a.name = name
	}
	a.modifiedAt = s.acceptTime()
	writeJSON(w, http.StatusOK, appJSON(a))
}

func (s *Server) handleDeleteApp(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("appId")
	if s.apps[id] == nil {
		writeDetail(w, http.StatusNotFound, "App not found")
		return
	}
	delete(s.apps, id)
	for i, o := range s.order {
		if o == id {
			s.order = append(s.order[:i:i], s.order[i+1:]...)
			break
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"requestId": s.nextRequestID(), "acceptedTimestamp": fmtTS(s.acceptTime())})
}

func (s *Server) handleDeleteData(w http.ResponseWriter, r *http.Request) {
	cutoff, hasCutoff, ok := queryTime(w, r, "modifiedBefore")
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[r.PathValue("appId")]
	if a == nil {
		writeDetail(w, http.StatusNotFound, "App not found")
		return
	}
	for _, recs := range a.data {
		for k, rec := range recs {
			if !hasCutoff || rec.modifiedAt.Before(cutoff) {
				delete(recs, k)
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"requestId": s.nextRequestID(), "acceptedTimestamp": fmtTS(s.acceptTime())})
}

func (s *Server) handleList(kind Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start, hasStart, ok := queryTime(w, r, "startDate")
		if !ok {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		a := s.apps[r.PathValue("appId")]
		if a == nil {
			writeDetail(w, http.StatusNotFound, "App not found")
			return
		}
		keys := make([]string, 0, len(a.data[kind]))
		for k, rec := range a.data[kind] {
			if !hasStart || !rec.modifiedAt.Before(start) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		data := make([]json.RawMessage, len(keys))
		for i, k := range keys {
			data[i] = a.data[kind][k].raw
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": data})
	}
}

// idList collects referenced ids in first-seen order without duplicates; it marshals as []
// (never null) because the spec marks these lists required.
type idList struct {
	seen map[string]bool
	ids  []string
}

func (l *idList) add(id string) {
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	if !l.seen[id] {
		l.seen[id] = true
		l.ids = append(l.ids, id)
	}
}

func (l *idList) list() []string {
	if l.ids == nil {
		return []string{}
	}
	return l.ids
}

func text(m map[string]any, k string) string {
	s, _ := asString(m[k])
	return s
}

func (s *Server) handleUpload(kind Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		raws, probs := parseBody(kind, body)
		if len(probs) > 0 {
			write422(w, probs)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		a := s.apps[r.PathValue("appId")]
		if a == nil {
			writeDetail(w, http.StatusNotFound, "App not found")
			return
		}
		ts := s.acceptTime()
		resp := map[string]any{"requestId": s.nextRequestID()}
		kn := s.knobs.forUpload(kind, s.requests)
		if !kn.omitTS {
			resp["acceptedTimestamp"] = fmtTS(ts)
		}
		store := a.data[kind]
		accepted := 0
		put := func(key []string, raw json.RawMessage) {
			store[strings.Join(key, "\x1f")] = &record{key: key, raw: compact(raw), modifiedAt: kn.stamp(ts)}
			accepted++
		}
		exists := func(k Kind, id string) bool { _, ok := a.data[k][id]; return ok }
		// ref checks one reference and files its id as valid or invalid.
		ref := func(k Kind, id string, valid, invalid *idList) bool {
			if exists(k, id) {
				valid.add(id)
				return true
			}
			invalid.add(id)
			return false
		}
		var validOwner, invalidOwner idList
		var vs, vt, is, it idList                 // associations
		var vu, vg, va, vp, iu, ig, ia, ip idList // permissions
		for _, raw := range raws {
			m, _ := decodeObject(raw) // already validated
			switch kind {
			case KindGroupings, KindAssets:
				if owner := text(m, "owner"); owner != "" {
					ref(KindUsers, owner, &validOwner, &invalidOwner)
				}
				put([]string{text(m, "uniqueId")}, raw)
			case KindAccountAssociations:
				src, dst := text(m, "sourceId"), text(m, "targetId")
				if kn.rejects(src, dst) {
					is.add(src)
					it.add(dst)
					continue
				}
				goodSrc := ref(KindUsers, src, &vs, &is)
				good := ref(KindGroupings, dst, &vt, &it) && goodSrc
				if good || !s.opts.DropInvalidRelations {
					put([]string{src, dst}, raw)
				}
			case KindPermissions:
				st, src, priv, asset := text(m, "sourceType"), text(m, "sourceUniqueId"), text(m, "privilegeId"), text(m, "assetId")
				srcKind, valid, invalid := KindUsers, &vu, &iu
				if st == "Grouping" {
					srcKind, valid, invalid = KindGroupings, &vg, &ig
				}
				if kn.rejects(st, src, priv, asset) {
					invalid.add(src)
					ip.add(priv)
					if asset != "" {
						ia.add(asset)
					}
					continue
				}
				good := ref(srcKind, src, valid, invalid)
				good = ref(KindPrivileges, priv, &vp, &ip) && good
				if asset != "" {
					good = ref(KindAssets, asset, &va, &ia) && good
				}
				if good || !s.opts.DropInvalidRelations {
					put([]string{st, src, priv, asset}, raw)
				}
			default:
				put([]string{text(m, "uniqueId")}, raw)
			}
		}
		switch kind {
		case KindGroupings, KindAssets:
			resp["data"] = map[string]any{}
			resp["validOwnerIds"] = validOwner.list()
			resp["invalidOwnerIds"] = invalidOwner.list()
		case KindAccountAssociations:
			resp["data"] = map[string]any{
				"validSourceIds": vs.list(), "validTargetIds": vt.list(),
				"invalidSourceIds": is.list(), "invalidTargetIds": it.list(),
			}
		case KindPermissions:
			resp["data"] = map[string]any{
				"validUserIds": vu.list(), "validGroupingIds": vg.list(), "validAssetIds": va.list(), "validPrivilegeIds": vp.list(),
				"invalidUserIds": iu.list(), "invalidGroupingIds": ig.list(), "invalidAssetIds": ia.list(), "invalidPrivilegeIds": ip.list(),
			}
		default:
			resp["data"] = map[string]any{}
		}
		resp["numberOfAcceptedEntities"] = accepted
		writeJSON(w, http.StatusOK, resp)
	}
}

func compact(raw json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return append(json.RawMessage(nil), raw...)
	}
	return buf.Bytes()
}
