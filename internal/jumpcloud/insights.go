package jumpcloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"jcsync/internal/httpretry"
)

// Directory Insights hosts. The events route lives on the API host, not the console host.
const (
	DefaultInsightsBaseURL = "https://api.jumpcloud.com"
	// EUInsightsBaseURL is the EU counterpart of DefaultInsightsBaseURL. UNCONFIRMED: the
	// vendor's swagger only says EU customers should use "https://console.eu.jumpcloud.com
	// in the endpoint URLs"; the api.eu host follows the pattern of the US one. An EU org
	// for which it does not answer sets InsightsBaseURL (JUMPCLOUD_INSIGHTS_BASE_URL).
	EUInsightsBaseURL = "https://api.eu.jumpcloud.com"
)

// InsightsEventsPath is the one Directory Insights route the connector reads.
const InsightsEventsPath = "/insights/directory/v1/events"

// Limits of the events route: it answers 1000 events by default and at most 10000.
const (
	InsightsDefaultLimit = 1000
	InsightsMaxLimit     = 10000
)

// ServiceDirectory is the Directory Insights service that records changes to the directory
// (and, mixed in with them, the admin and user portal logins that the reader must skip).
const ServiceDirectory = "directory"

// ErrInsightsForbidden reports a 401 or 403 on the Directory Insights route: a credential
// that reads the directory but has no access to its events. The error still matches
// ErrUnauthorized or ErrForbidden.
var ErrInsightsForbidden = errors.New("jumpcloud: no access to Directory Insights")

// InsightsEvent is one Directory Insights event, decoded leniently (unknown fields kept in Raw).
type InsightsEvent struct {
	ID          string               // the event's "id"
	EventType   string               // "event_type", e.g. "user_delete", "user_update", "association_change"
	Service     string               // "service", e.g. "directory"
	Timestamp   time.Time            // "timestamp"
	Resource    InsightsResource     // "resource": {"id","type","username","email",...}
	Changes     []InsightsChange     // "changes" of user_update: {"field","from","to"}
	Association *InsightsAssociation // "association" of association_change
	Raw         json.RawMessage      // the whole event as JumpCloud sent it
}

// InsightsResource is the object an event is about. Type is JumpCloud's ("user",
// "user_group", "application", "admin"...); only ID and Type are present on every kind.
type InsightsResource struct{ ID, Type, Username, Email, Name string }

// InsightsChange is one field of a user_update: From and To are JSON values as sent (a
// string for "state", a bool for "suspended"...).
type InsightsChange struct {
	Field    string
	From, To json.RawMessage
}

// InsightsAssociation is the edge of an association_change. Op is "add" or "remove". For a
// group membership From is the group and To the member (as JumpCloud's own dashboard reads
// it); for an application binding the direction is not documented, so read both ends.
type InsightsAssociation struct {
	Op                             string
	FromType, FromID, ToType, ToID string
}

// InsightsQuery selects events. The route takes whole seconds ("yyyy-mm-ddTHH:mm:ssZ" in
// its documentation), so the window sent is widened to them: StartTime rounded down,
// EndTime up. A reader de-duplicates by event id anyway (windows overlap on purpose).
type InsightsQuery struct {
	StartTime, EndTime time.Time       // EndTime zero: up to now (the field is left out)
	Services           []string        // default ["directory"]
	SearchAfter        json.RawMessage // the cursor of the previous page; nil for the first
	Limit              int             // default InsightsDefaultLimit, at most InsightsMaxLimit
}

// InsightsPage is one page of events, in ascending timestamp order.
type InsightsPage struct {
	Events []InsightsEvent
	// SearchAfter is the cursor for the next page (the X-Search_after header); nil when this
	// page was the last (fewer events than the limit).
	SearchAfter json.RawMessage
	// Skipped counts the elements of the answer that were not JSON objects, left out of
	// Events. Paging still counts them: the page was full if JumpCloud sent limit elements.
	Skipped int
}

// insightsRequest is the JSON body of the events route.
type insightsRequest struct {
	Service     []string        `json:"service"`
	StartTime   string          `json:"start_time"`
	EndTime     string          `json:"end_time,omitempty"`
	Limit       int             `json:"limit"`
	Sort        string          `json:"sort"`
	SearchAfter json.RawMessage `json:"search_after,omitempty"`
}

// InsightsBaseURL is where the client sends Directory Insights requests.
func (c *Client) InsightsBaseURL() string { return c.insightsURL }

// InsightsEvents reads one page of events, through the same pacer and retry loop as every
// other request: it counts against the org's rate. The POST only reads, so it is repeated
// after a transient failure like a GET.
func (c *Client) InsightsEvents(ctx context.Context, q InsightsQuery) (InsightsPage, error) {
	if q.StartTime.IsZero() {
		return InsightsPage{}, &configError{"InsightsQuery.StartTime is required"}
	}
	if !q.EndTime.IsZero() && !q.EndTime.After(q.StartTime) {
		return InsightsPage{}, &configError{fmt.Sprintf("InsightsQuery.EndTime %s is not after StartTime %s",
			q.EndTime.UTC().Format(time.RFC3339Nano), q.StartTime.UTC().Format(time.RFC3339Nano))}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = InsightsDefaultLimit
	}
	limit = min(limit, InsightsMaxLimit)
	req := insightsRequest{Service: q.Services, StartTime: wholeSecond(q.StartTime, false),
		Limit: limit, Sort: "ASC", SearchAfter: q.SearchAfter}
	if len(req.Service) == 0 {
		req.Service = []string{ServiceDirectory}
	}
	if !q.EndTime.IsZero() {
		req.EndTime = wholeSecond(q.EndTime, true)
	}
	if isNull(req.SearchAfter) {
		req.SearchAfter = nil
	}
	body, err := json.Marshal(req)
	if err != nil {
		return InsightsPage{}, fmt.Errorf("encode the Directory Insights query: %w", err)
	}
	var page InsightsPage
	err = c.loop.Do(ctx, httpretry.Request{Method: http.MethodPost, Endpoint: InsightsEventsPath,
		URL: c.insightsURL + InsightsEventsPath, Body: body, Idempotent: true, Address: c.insightsAddress,
		Decode: func(h http.Header, data []byte) error {
			p, err := decodeInsightsPage(h, data, limit)
			page = p
			return err
		}})
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden) {
			return InsightsPage{}, fmt.Errorf("%w: %w", ErrInsightsForbidden, err)
		}
		return InsightsPage{}, err
	}
	return page, nil
}

// wholeSecond formats t in UTC as RFC 3339 without fractions, rounded down, or up when up.
func wholeSecond(t time.Time, up bool) string {
	s := t.UTC().Truncate(time.Second)
	if up && s.Before(t) {
		s = s.Add(time.Second)
	}
	return s.Format(time.RFC3339)
}

// InsightsSince reads every event from start up to now, page after page, handing each page
// to fn, and returns the number of events read. It stops at the first error of a request
// or of fn.
func (c *Client) InsightsSince(ctx context.Context, start time.Time, fn func(InsightsPage) error) (int, error) {
	q := InsightsQuery{StartTime: start}
	n := 0
	for {
		p, err := c.InsightsEvents(ctx, q)
		if err != nil {
			return n, err
		}
		n += len(p.Events)
		if err := fn(p); err != nil {
			return n, err
		}
		if p.SearchAfter == nil {
			return n, nil
		}
		q.SearchAfter = p.SearchAfter
	}
}

// decodeInsightsPage reads the array of events and the paging headers. limit is the limit
// sent, used when the answer carries no X-Limit.
func decodeInsightsPage(h http.Header, data []byte, limit int) (InsightsPage, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return InsightsPage{}, shapeErr(err, "the body is not a list of events")
	}
	if raws == nil {
		return InsightsPage{}, errors.New("the body is null, not a list of events")
	}
	p := InsightsPage{Events: make([]InsightsEvent, 0, len(raws))}
	for _, raw := range raws {
		ev, ok := decodeInsightsEvent(raw)
		if !ok {
			p.Skipped++
			continue
		}
		p.Events = append(p.Events, ev)
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get("X-Limit"))); err == nil && n > 0 {
		limit = n
	}
	count := len(raws)
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get("X-Result-Count"))); err == nil && n >= 0 {
		count = n
	}
	// JumpCloud sends X-Search_after on every page, the last included; only a full page
	// says more may follow.
	if count < limit || len(raws) == 0 {
		return p, nil
	}
	if sa := strings.TrimSpace(h.Get("X-Search_after")); sa != "" {
		var cursor []json.RawMessage
		if err := json.Unmarshal([]byte(sa), &cursor); err != nil || len(cursor) == 0 {
			return InsightsPage{}, fmt.Errorf("X-Search_after %q is not a JSON array", truncateRunes(sa, 100))
		}
		p.SearchAfter = json.RawMessage(sa)
		return p, nil
	}
	// No header on a full page: continue after the last event's own sort values (timestamp
	// in milliseconds, id), which is what the route sorts by.
	if len(p.Events) == 0 {
		return InsightsPage{}, errors.New("a full page without X-Search_after holds no event to continue after")
	}
	last := p.Events[len(p.Events)-1]
	if last.ID == "" || last.Timestamp.IsZero() {
		return InsightsPage{}, errors.New("a full page without X-Search_after ends with an event without id or timestamp")
	}
	cursor, _ := json.Marshal([]any{last.Timestamp.UnixMilli(), last.ID})
	p.SearchAfter = cursor
	return p, nil
}

// wireEvent is the part of an event the connector reads. Every field is raw so that one of
// an unexpected type costs that field, not the event.
type wireEvent struct {
	ID          json.RawMessage `json:"id"`
	EventType   json.RawMessage `json:"event_type"`
	Service     json.RawMessage `json:"service"`
	Timestamp   json.RawMessage `json:"timestamp"`
	Resource    json.RawMessage `json:"resource"`
	Changes     json.RawMessage `json:"changes"`
	Association json.RawMessage `json:"association"`
}

// decodeInsightsEvent decodes one event leniently: a field of the wrong type is left
// empty; ok is false only for an element that is not a JSON object.
func decodeInsightsEvent(raw json.RawMessage) (InsightsEvent, bool) {
	var w wireEvent
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &w) != nil {
		return InsightsEvent{}, false
	}
	ev := InsightsEvent{ID: str(w.ID), EventType: str(w.EventType), Service: str(w.Service), Raw: raw}
	if ts := str(w.Timestamp); ts != "" {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			ev.Timestamp = t.UTC()
		}
	}
	var res map[string]json.RawMessage
	if json.Unmarshal(w.Resource, &res) == nil {
		ev.Resource = InsightsResource{ID: str(res["id"]), Type: str(res["type"]), Username: str(res["username"]),
			Email: str(res["email"]), Name: str(res["name"])}
	}
	var changes []json.RawMessage
	if json.Unmarshal(w.Changes, &changes) == nil {
		for _, raw := range changes {
			var ch map[string]json.RawMessage
			if json.Unmarshal(raw, &ch) != nil {
				continue
			}
			if f := str(ch["field"]); f != "" {
				ev.Changes = append(ev.Changes, InsightsChange{Field: f, From: ch["from"], To: ch["to"]})
			}
		}
	}
	ev.Association = decodeAssociation(w.Association)
	return ev, true
}

// decodeAssociation reads {op, connection: {from: {type, object_id}, to: {type, object_id}}};
// nil when the event has none.
func decodeAssociation(raw json.RawMessage) *InsightsAssociation {
	var a struct {
		Op         json.RawMessage `json:"op"`
		Connection struct {
			From map[string]json.RawMessage `json:"from"`
			To   map[string]json.RawMessage `json:"to"`
		} `json:"connection"`
	}
	if isNull(raw) || json.Unmarshal(raw, &a) != nil {
		return nil
	}
	end := func(m map[string]json.RawMessage) (typ, id string) {
		id = str(m["object_id"])
		if id == "" {
			id = str(m["id"])
		}
		return str(m["type"]), id
	}
	out := &InsightsAssociation{Op: str(a.Op)}
	out.FromType, out.FromID = end(a.Connection.From)
	out.ToType, out.ToID = end(a.Connection.To)
	return out
}

// str reads a JSON string, or gives "" for anything else.
func str(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// InsightsBaseURLFor picks the Directory Insights host: the explicit setting, else the API host
// of a JumpCloud console (US or EU), else the base URL itself. A base URL that is neither
// JumpCloud console is a proxy or a simulator, which is taken to serve the events route
// too: the credential is never sent to a JumpCloud host the operator did not name.
func InsightsBaseURLFor(explicit, base string) string {
	if explicit != "" {
		return explicit
	}
	switch strings.TrimRight(base, "/") {
	case "", DefaultBaseURL:
		return DefaultInsightsBaseURL
	case EUBaseURL:
		return EUInsightsBaseURL
	}
	return base
}

// parseInsightsBase checks an insights base URL like the console one.
func parseInsightsBase(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.User != nil {
		return "", &configError{fmt.Sprintf("InsightsBaseURL %q is not an absolute http(s) URL", raw)}
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}
