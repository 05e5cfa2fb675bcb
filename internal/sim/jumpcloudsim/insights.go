package jumpcloudsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"jcsync/internal/jumpcloud"
)

// InsightsPath is the Directory Insights events route. The real API serves it on the API
// host (api.jumpcloud.com); the simulator serves it beside the console routes, so a client
// points its insights base URL at the simulator's URL.
const InsightsPath = jumpcloud.InsightsEventsPath

// Limits of the route (vendor documentation): 1000 rows by default, at most 10000.
const (
	insightsDefaultLimit = 1000
	insightsMaxLimit     = 10000
	maxInsightsBody      = 1 << 20
)

// insightsServices are the values "service" accepts (the swagger's enum).
var insightsServices = []string{"alerts", "all", "directory", "ldap", "mdm", "notifications", "object_storage",
	"password_manager", "radius", "reports", "saas_app_management", "software", "sso", "systems",
	"access_management", "asset_management"}

// insightsFields are the top-level event fields "fields" and "search_term" accept: the
// documented directory attributes, and "username" of the other services' logins.
var insightsFields = map[string]bool{"id": true, "correlation": true, "event_type": true, "timestamp": true,
	"resource": true, "system_group": true, "organization": true, "changes": true, "initiated_by": true,
	"association": true, "client_ip": true, "useragent": true, "auth_method": true, "success": true, "mfa": true,
	"mfa_meta": true, "geoip": true, "provider": true, "service": true, "auth_context": true, "application": true,
	"idm_client_id": true, "error_message": true, "message_chain": true, "@version": true, "system": true,
	"target_resource": true, "username": true}

// insightsKnobs are the route's own switches.
type insightsKnobs struct {
	mu        sync.Mutex
	lag       time.Duration
	forbidden bool
	faultCode int
	faultEnd  time.Time
	requestID uint64
}

// SetInsightsLag makes an event visible only lag after its timestamp, like JumpCloud's
// ingestion delay. Default 0: visible at once.
func (s *Server) SetInsightsLag(lag time.Duration) {
	s.ik.mu.Lock()
	defer s.ik.mu.Unlock()
	s.ik.lag = max(0, lag)
}

// SetInsightsForbidden answers every events request 403, as for a credential whose role
// has no access to Directory Insights while it still reads the directory. A 401 instead
// is FailFrom(InsightsPath, 0, http.StatusUnauthorized).
func (s *Server) SetInsightsForbidden(on bool) {
	s.ik.mu.Lock()
	defer s.ik.mu.Unlock()
	s.ik.forbidden = on
}

// SetInsightsFault answers every events request status (a 5xx or 429, typically 503) for
// the next d, after authentication, as when the events service is down while the console
// API works. status 0 or d <= 0 ends the fault.
func (s *Server) SetInsightsFault(status int, d time.Duration) {
	s.ik.mu.Lock()
	defer s.ik.mu.Unlock()
	if status == 0 || d <= 0 {
		s.ik.faultCode, s.ik.faultEnd = 0, time.Time{}
		return
	}
	s.ik.faultCode, s.ik.faultEnd = status, time.Now().Add(d)
}

// HoldInsightsEvents holds back the next n events recorded (changes or noise) until
// ReleaseInsightsEvents: late ingestion, which puts them behind events recorded after them
// and so behind a reader's cursor, the case a reader's overlap window is for. Their
// timestamps stay those of their changes.
func (s *Server) HoldInsightsEvents(n int) {
	l := s.org.events
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hold = max(0, n)
}

// ReleaseInsightsEvents ingests every held event now (they are served once the lag has
// passed since their timestamps, which it usually has) and stops holding the next ones.
func (s *Server) ReleaseInsightsEvents() {
	l := s.org.events
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hold = 0
	for _, e := range l.events {
		e.held = false
	}
}

// InsightsEvents is the number of events stored, noise included, visible or not.
func (s *Server) InsightsEvents() int { return s.org.events.len() }

// noiseKinds are events the connector must skip: logins and changes to other kinds of
// objects under "directory", and logins of other services.
var noiseKinds = []struct{ service, eventType string }{
	{jumpcloud.ServiceDirectory, "user_login_attempt"},
	{jumpcloud.ServiceDirectory, "admin_login_attempt"},
	{jumpcloud.ServiceDirectory, "policy_update"},
	{jumpcloud.ServiceDirectory, "system_update"},
	{"sso", "sso_auth"},
	{"radius", "radius_auth"},
}

// AddNoiseEvents records n events of the current time that are no change to what the
// connector syncs, cycling through noiseKinds (two thirds of them under "directory").
func (s *Server) AddNoiseEvents(n int) {
	s.mu.RLock()
	var users []map[string]any
	for i := 0; i < len(s.org.Users) && i < 16; i++ {
		users = append(users, userResource(&s.org.Users[i]))
	}
	s.mu.RUnlock()
	for i := range n {
		k := noiseKinds[i%len(noiseKinds)]
		fields := map[string]any{"mfa": false, "useragent": map[string]any{"name": "Chrome", "os": "Mac OS X"}}
		switch {
		case k.eventType == "admin_login_attempt":
			fields["resource"] = map[string]any{"id": "5ce434e77128503e528e747c", "type": resAdmin, "email": "admin@example.com"}
		case len(users) > 0:
			u := users[i%len(users)]
			fields["resource"] = u
			fields["username"] = u["username"]
		}
		if k.eventType == "policy_update" || k.eventType == "system_update" {
			fields["resource"] = map[string]any{"id": fmt.Sprintf("%024x", i+1), "type": strings.TrimSuffix(k.eventType, "_update")}
			fields["changes"] = []map[string]any{{"field": "name", "from": "old", "to": "new"}}
		}
		s.org.events.add(k.service, k.eventType, fields)
	}
}

// insightsQuery is a validated request body.
type insightsQuery struct {
	services    map[string]bool // nil: all
	start, end  time.Time       // end zero: none
	limit       int
	desc        bool
	after       *cursor
	skip        int
	fields      []string
	term        *termNode
	requestedSA json.RawMessage
}

type cursor struct {
	ms int64
	id string
}

// serveInsights answers POST /insights/directory/v1/events. Authentication (x-api-key or a
// bearer token, x-org-id) has already passed in ServeHTTP.
func (s *Server) serveInsights(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.writeRaw(w, r, http.StatusMethodNotAllowed, `{"message":"Method Not Allowed"}`)
		return
	}
	s.ik.mu.Lock()
	lag, forbidden, code := s.ik.lag, s.ik.forbidden, 0
	if s.ik.faultCode != 0 && time.Now().Before(s.ik.faultEnd) {
		code = s.ik.faultCode
	}
	s.ik.requestID++
	reqID := fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(time.Now().Unix()), s.ik.requestID)
	s.ik.mu.Unlock()
	w.Header().Set("X-Request-Id", reqID)
	if forbidden {
		// UNCONFIRMED body: JumpCloud documents a 403 for roles without access but not its body.
		s.writeRaw(w, r, http.StatusForbidden, `{"message":"Forbidden: insufficient permissions for Directory Insights"}`)
		return
	}
	if code != 0 {
		if code == http.StatusTooManyRequests {
			s.writeRaw(w, r, code, bodyTooMany)
			return
		}
		s.writeRaw(w, r, code, msgBody(http.StatusText(code)))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxInsightsBody+1))
	if err != nil {
		s.writeRaw(w, r, http.StatusBadRequest, msgBody("unable to read request body"))
		return
	}
	if len(body) > maxInsightsBody {
		s.writeRaw(w, r, http.StatusRequestEntityTooLarge, msgBody("request body too large"))
		return
	}
	q, msg := parseInsightsQuery(body, time.Now())
	if msg != "" {
		s.writeRaw(w, r, http.StatusBadRequest, msgBody(msg))
		return
	}
	visibleUntil := time.Now().Add(-lag)
	page := selectEvents(s.org.events.snapshot(), q, visibleUntil)
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, e := range page {
		if i > 0 {
			buf.WriteByte(',')
		}
		if len(q.fields) == 0 {
			buf.Write(e.raw)
			continue
		}
		b, _ := json.Marshal(projectEvent(e.doc(), q.fields))
		buf.Write(b)
	}
	buf.WriteByte(']')
	sa := q.requestedSA
	if len(page) > 0 {
		last := page[len(page)-1]
		sa, _ = json.Marshal([]any{last.ts.UnixMilli(), last.id})
	}
	if len(sa) == 0 {
		sa = json.RawMessage("[]")
	}
	sort := "ASC"
	if q.desc {
		sort = "DESC"
	}
	h := w.Header()
	h.Set("X-Result-Count", strconv.Itoa(len(page)))
	h.Set("X-Limit", strconv.Itoa(q.limit))
	h.Set("X-Sort", sort)
	h.Set("X-Search_after", string(sa))
	s.writeBytes(w, r, http.StatusOK, buf.Bytes())
}

// parseInsightsQuery validates the body as the route does: a JSON object with "service"
// (a non-empty array of known services) and "start_time" (RFC 3339, not in the future);
// "end_time" after it; fields of the swagger's types. Out-of-range limits and unknown
// sort orders fall back to the defaults silently, as documented. Unknown fields are
// ignored. The message is empty when the body is valid.
func parseInsightsQuery(body []byte, now time.Time) (insightsQuery, string) {
	q := insightsQuery{limit: insightsDefaultLimit}
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return q, "invalid request body: expected a JSON object"
	}
	rawSvc, ok := m["service"]
	if !ok || isJSONNull(rawSvc) {
		return q, "service is required"
	}
	var svcs []string
	if json.Unmarshal(rawSvc, &svcs) != nil {
		return q, "service must be an array of strings"
	}
	if len(svcs) == 0 {
		return q, "service is required: valid values are " + strings.Join(insightsServices, ", ")
	}
	q.services = map[string]bool{}
	for _, sv := range svcs {
		if !slices.Contains(insightsServices, sv) {
			return q, fmt.Sprintf("invalid service %q: valid values are %s", sv, strings.Join(insightsServices, ", "))
		}
		q.services[sv] = true
	}
	if q.services["all"] {
		q.services = nil
	}
	start, msg := parseTime(m, "start_time", true)
	if msg != "" {
		return q, msg
	}
	if start.After(now) {
		return q, fmt.Sprintf("start_time %s is in the future", start.Format(time.RFC3339))
	}
	q.start = start
	if end, msg := parseTime(m, "end_time", false); msg != "" {
		return q, msg
	} else if !end.IsZero() {
		if !end.After(start) {
			// The message JumpCloud is seen to send for this case.
			return q, fmt.Sprintf("Start Time not after End Time %s > %s", start.Format(time.RFC3339), end.Format(time.RFC3339))
		}
		q.end = end
	}
	if raw, ok := m["limit"]; ok && !isJSONNull(raw) {
		n, ok := jsonInt(raw)
		if !ok {
			return q, "limit must be an integer"
		}
		if n > 0 && n <= insightsMaxLimit {
			q.limit = int(n)
		}
	}
	if raw, ok := m["skip"]; ok && !isJSONNull(raw) {
		n, ok := jsonInt(raw)
		if !ok {
			return q, "skip must be an integer"
		}
		q.skip = int(max(0, n))
	}
	if raw, ok := m["sort"]; ok && !isJSONNull(raw) {
		var sv string
		if json.Unmarshal(raw, &sv) != nil {
			return q, "sort must be a string"
		}
		q.desc = strings.EqualFold(sv, "DESC")
	}
	for _, name := range []string{"q", "exact_match"} {
		if raw, ok := m[name]; ok && !isJSONNull(raw) {
			var sv string
			if json.Unmarshal(raw, &sv) != nil {
				return q, name + " must be a string"
			}
		}
	}
	if raw, ok := m["search_after"]; ok && !isJSONNull(raw) {
		c, msg := parseCursor(raw)
		if msg != "" {
			return q, msg
		}
		q.after, q.requestedSA = c, raw
	}
	if raw, ok := m["fields"]; ok && !isJSONNull(raw) {
		var fs []string
		if json.Unmarshal(raw, &fs) != nil {
			return q, "fields must be an array of strings"
		}
		known := false
		for _, f := range fs {
			top, _, _ := strings.Cut(f, ".")
			known = known || insightsFields[top]
		}
		if !known {
			return q, "fields must name at least one known field"
		}
		q.fields = fs
	}
	if raw, ok := m["search_term"]; ok && !isJSONNull(raw) {
		t, msg := parseTerm(raw)
		if msg != "" {
			return q, "invalid search_term: " + msg
		}
		q.term = t
	}
	return q, ""
}

func isJSONNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// parseTime reads an RFC 3339 time field.
func parseTime(m map[string]json.RawMessage, name string, required bool) (time.Time, string) {
	raw, ok := m[name]
	if !ok || isJSONNull(raw) {
		if required {
			return time.Time{}, name + " is required"
		}
		return time.Time{}, ""
	}
	var sv string
	if json.Unmarshal(raw, &sv) != nil {
		return time.Time{}, name + " must be an RFC3339 date string"
	}
	t, err := time.Parse(time.RFC3339Nano, sv)
	if err != nil {
		return time.Time{}, fmt.Sprintf("invalid %s %q: use RFC3339, e.g. 2020-01-01T14:00:00Z", name, sv)
	}
	return t.UTC(), ""
}

// jsonInt reads a JSON integer.
func jsonInt(raw json.RawMessage) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	return n, err == nil
}

// parseCursor reads search_after: [timestamp in milliseconds, id], the value of a previous
// answer's X-Search_after. The timestamp may come as a number or a numeric string (the
// swagger types the items as strings).
func parseCursor(raw json.RawMessage) (*cursor, string) {
	var parts []json.RawMessage
	if json.Unmarshal(raw, &parts) != nil {
		return nil, "search_after must be an array"
	}
	if len(parts) != 2 {
		return nil, "search_after must be the two values of a previous X-Search_after header"
	}
	var c cursor
	var s string
	if json.Unmarshal(parts[0], &s) == nil {
		parts[0] = json.RawMessage(s)
	}
	ms, ok := jsonInt(parts[0])
	if !ok {
		return nil, "search_after[0] must be a timestamp in milliseconds"
	}
	if json.Unmarshal(parts[1], &c.id) != nil {
		return nil, "search_after[1] must be a string"
	}
	c.ms = ms
	return &c, ""
}

// selectEvents applies the query to the stored events (in ascending order) as of
// visibleUntil: an event is visible once its timestamp is at or before it.
func selectEvents(all []*simEvent, q insightsQuery, visibleUntil time.Time) []*simEvent {
	match := func(e *simEvent) bool {
		if e.held || e.ts.After(visibleUntil) || e.ts.Before(q.start) || (!q.end.IsZero() && !e.ts.Before(q.end)) {
			return false
		}
		if q.services != nil && !q.services[e.service] {
			return false
		}
		return q.term == nil || q.term.match(e.doc())
	}
	var out []*simEvent
	skip := q.skip
	take := func(e *simEvent) bool {
		if !match(e) {
			return true
		}
		if skip > 0 {
			skip--
			return true
		}
		out = append(out, e)
		return len(out) < q.limit
	}
	if q.desc {
		for i := len(all) - 1; i >= 0; i-- {
			e := all[i]
			if q.after != nil && !e.before(q.after.ms, q.after.id) {
				continue
			}
			if !take(e) {
				break
			}
		}
		return out
	}
	// Ascending: start after the cursor by binary search, so paging stays cheap on a long log.
	i, _ := slices.BinarySearchFunc(all, q.start, func(e *simEvent, t time.Time) int { return e.ts.Compare(t) })
	if q.after != nil {
		j, _ := slices.BinarySearchFunc(all, *q.after, func(e *simEvent, c cursor) int {
			if e.before(c.ms, c.id) {
				return -1
			}
			if e.ts.UnixMilli() == c.ms && e.id == c.id {
				return 0
			}
			return 1
		})
		for j < len(all) && all[j].ts.UnixMilli() == q.after.ms && all[j].id == q.after.id {
			j++
		}
		i = max(i, j)
	}
	for ; i < len(all); i++ {
		if !take(all[i]) {
			break
		}
	}
	return out
}

// projectEvent keeps the listed fields of an event (a dotted name keeps its parent whole).
func projectEvent(doc map[string]any, fields []string) map[string]any {
	out := map[string]any{}
	for _, f := range fields {
		top, _, _ := strings.Cut(f, ".")
		if v, ok := doc[top]; ok {
			out[top] = v
		}
	}
	return out
}

// termNode is a search_term: "and", "or" or "not" over a list of terms, each either a
// nested conjunction or {field: value or [values]}. Values compare as lower-case strings
// (JumpCloud lower-cases field values on insert).
type termNode struct {
	op    string // and, or, not
	kids  []*termNode
	field string
	vals  []string
}

func parseTerm(raw json.RawMessage) (*termNode, string) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || len(m) == 0 {
		return nil, "expected an object with one of and, or, not"
	}
	if len(m) != 1 {
		return nil, "use only one of and, or, not at each level"
	}
	for op, body := range m {
		if op != "and" && op != "or" && op != "not" {
			return nil, fmt.Sprintf("unknown operator %q: use and, or, not", op)
		}
		var items []json.RawMessage
		if json.Unmarshal(body, &items) != nil {
			// The swagger also allows a single object of field: value pairs.
			items = []json.RawMessage{body}
		}
		n := &termNode{op: op}
		for _, it := range items {
			var fm map[string]json.RawMessage
			if json.Unmarshal(it, &fm) != nil || len(fm) == 0 {
				return nil, "each term must be an object"
			}
			for k, v := range fm {
				if k == "and" || k == "or" || k == "not" {
					kid, msg := parseTerm(json.RawMessage(`{"` + k + `":` + string(v) + `}`))
					if msg != "" {
						return nil, msg
					}
					n.kids = append(n.kids, kid)
					continue
				}
				if top, _, _ := strings.Cut(k, "."); !insightsFields[top] {
					return nil, fmt.Sprintf("unknown field %q", k)
				}
				if top := strings.SplitN(k, ".", 2)[0]; top == "changes" || top == "useragent" {
					return nil, fmt.Sprintf("field %q is not searchable", k)
				}
				leaf := &termNode{field: k}
				var list []any
				var one any
				if json.Unmarshal(v, &list) == nil {
					for _, x := range list {
						leaf.vals = append(leaf.vals, strings.ToLower(fmt.Sprint(x)))
					}
				} else if json.Unmarshal(v, &one) == nil {
					leaf.vals = []string{strings.ToLower(fmt.Sprint(one))}
				}
				n.kids = append(n.kids, leaf)
			}
		}
		return n, ""
	}
	return nil, "expected one of and, or, not"
}

func (n *termNode) match(doc map[string]any) bool {
	if n.field != "" {
		v, ok := lookup(doc, n.field)
		if !ok {
			return false
		}
		return slices.Contains(n.vals, strings.ToLower(fmt.Sprint(v)))
	}
	switch n.op {
	case "or":
		for _, k := range n.kids {
			if k.match(doc) {
				return true
			}
		}
		return false
	case "not":
		for _, k := range n.kids {
			if k.match(doc) {
				return false
			}
		}
		return true
	}
	for _, k := range n.kids {
		if !k.match(doc) {
			return false
		}
	}
	return true
}

// lookup reads a dotted path of an event document.
func lookup(doc map[string]any, path string) (any, bool) {
	var cur any = doc
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}
