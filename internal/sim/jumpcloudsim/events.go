package jumpcloudsim

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"jcsync/internal/jumpcloud"
)

// Directory Insights event types the simulator records from its mutations (names from the
// vendor's spec).
const (
	EventUserCreate        = "user_create"
	EventUserUpdate        = "user_update"
	EventUserDelete        = "user_delete"
	EventGroupCreate       = "group_create"
	EventGroupUpdate       = "group_update"
	EventGroupDelete       = "group_delete"
	EventAppCreate         = "application_create"
	EventAppUpdate         = "application_update"
	EventAppDelete         = "application_delete"
	EventAdminCreate       = "admin_create"
	EventAdminUpdate       = "admin_update"
	EventAdminDelete       = "admin_delete"
	EventAssociationChange = "association_change"
)

// Resource types in events: the graph's lower-case names.
const (
	resUser  = "user"
	resGroup = "user_group"
	resApp   = "application"
	resAdmin = "admin"
)

// simEvent is one stored Directory Insights event: its document as served, and the values
// the route sorts and filters by.
type simEvent struct {
	ts      time.Time // millisecond precision, UTC
	held    bool      // not ingested until ReleaseInsightsEvents (HoldInsightsEvents)
	id      string
	service string
	raw     []byte // the document as served; decoded again only to filter or project
}

// before is the route's order: timestamp, then id.
func (e *simEvent) before(ms int64, id string) bool {
	if m := e.ts.UnixMilli(); m != ms {
		return m < ms
	}
	return e.id < id
}

// maxStoredEvents bounds the store; the oldest events beyond it are forgotten.
const maxStoredEvents = 200_000

// doc decodes the event's document, for search_term and fields.
func (e *simEvent) doc() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(e.raw, &m)
	return m
}

// eventLog is the org's Directory Insights store, kept in the route's order. It has its own
// lock: mutations append under the server's write lock, noise is added without it, and the
// route reads under the read lock.
type eventLog struct {
	mu     sync.Mutex
	events []*simEvent
	seq    uint64
	last   time.Time
	now    func() time.Time
	// hold is the number of next events recorded that wait for ReleaseInsightsEvents.
	hold  int
	max   int // events kept (maxStoredEvents)
	orgID string
	actor map[string]any // initiated_by of every change: the org's first administrator
}

func newEventLog(orgID string, actor map[string]any) *eventLog {
	return &eventLog{now: time.Now, orgID: orgID, actor: actor, max: maxStoredEvents}
}

// add stores an event of the current time. Timestamps never go backwards, and ids grow
// with the sequence, so the log's order is the order of the changes.
func (l *eventLog) add(service, eventType string, fields map[string]any) *simEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.now().UTC().Truncate(time.Millisecond)
	if ts.Before(l.last) {
		ts = l.last
	}
	l.last = ts
	return l.insert(ts, service, eventType, fields)
}

// insert stores an event at ts, in the route's order. Callers hold mu.
func (l *eventLog) insert(ts time.Time, service, eventType string, fields map[string]any) *simEvent {
	l.seq++
	// An ObjectId-like id: the second, then the sequence, so ids of one millisecond sort in
	// the order they were recorded.
	id := fmt.Sprintf("%08x%016x", uint32(ts.Unix()), l.seq)
	doc := map[string]any{
		"id": id, "timestamp": ts.Format("2006-01-02T15:04:05.000Z07:00"), "event_type": eventType,
		"service": service, "organization": l.orgID, "client_ip": "203.0.113.7", "success": true,
		"@version": "1", "auth_method": "api-key",
	}
	if l.actor != nil {
		doc["initiated_by"] = l.actor
	}
	for k, v := range fields {
		doc[k] = v
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		panic(fmt.Sprintf("jumpcloudsim: event %s does not encode: %v", eventType, err)) // a simulator bug
	}
	e := &simEvent{ts: ts, id: id, service: service, raw: raw}
	if l.hold > 0 {
		l.hold--
		e.held = true
	}
	i, _ := slices.BinarySearchFunc(l.events, e, func(a, b *simEvent) int {
		if a.before(b.ts.UnixMilli(), b.id) {
			return -1
		}
		if b.before(a.ts.UnixMilli(), a.id) {
			return 1
		}
		return 0
	})
	l.events = slices.Insert(l.events, i, e)
	if len(l.events) > l.max+l.max/8 {
		// Forget the oldest, as JumpCloud forgets events after 90 days: a long churn would
		// otherwise grow the simulator without bound.
		l.events = slices.Clone(l.events[len(l.events)-l.max:])
	}
	return e
}

// len is the number of stored events.
func (l *eventLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.events)
}

// snapshot returns the stored events in the route's order (the slice is not shared).
func (l *eventLog) snapshot() []*simEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// record stores a directory event of a mutation, when the org is served (an org being
// built before New records nothing: that is history, not change).
func (o *Org) record(eventType string, fields map[string]any) {
	if o.events == nil {
		return
	}
	o.events.add(jumpcloud.ServiceDirectory, eventType, fields)
}

func userResource(u *jumpcloud.SystemUser) map[string]any {
	// Public sample events of user_* carry the username but no email.
	return map[string]any{"id": u.ID, "type": resUser, "username": u.Username}
}

func groupResource(g *jumpcloud.UserGroup) map[string]any {
	return map[string]any{"id": g.ID, "type": resGroup, "name": g.Name}
}

func appResource(a *jumpcloud.Application) map[string]any {
	name := a.DisplayLabel
	if name == "" {
		name = a.Name
	}
	return map[string]any{"id": a.ID, "type": resApp, "name": name}
}

func adminResource(a *jumpcloud.Admin) map[string]any {
	return map[string]any{"id": a.ID, "type": resAdmin, "email": a.Email}
}

// association is the body of an association_change: from → to, as JumpCloud's own
// dashboard reads a membership (the group is "from", the member "to").
func association(op, fromType, fromID, fromName, toType, toID, toName string) map[string]any {
	end := func(typ, id, name string) map[string]any {
		return map[string]any{"type": typ, "object_id": id, "name": name}
	}
	return map[string]any{"association": map[string]any{
		"op": op, "action_source": "admin_portal", "attributes": nil,
		"connection": map[string]any{"from": end(fromType, fromID, fromName), "to": end(toType, toID, toName)},
	}}
}

func (o *Org) recordMember(op, groupID, userID string) {
	if o.events == nil {
		return
	}
	gName, uName := "", ""
	if g, ok := o.Group(groupID); ok {
		gName = g.Name
	}
	if u, ok := o.User(userID); ok {
		uName = u.Username
	}
	o.record(EventAssociationChange, association(op, resGroup, groupID, gName, resUser, userID, uName))
}

// recordBinding records an application binding. The direction of a binding is not
// documented; the simulator puts the application first, as in its associations route
// (/applications/{id}/associations), and readers must accept both orders.
func (o *Org) recordBinding(op, appID, toType, toID string) {
	if o.events == nil {
		return
	}
	aName, tName := "", ""
	if a, ok := o.App(appID); ok {
		aName = appResource(a)["name"].(string)
	}
	if u, ok := o.User(toID); ok && toType == resUser {
		tName = u.Username
	}
	if g, ok := o.Group(toID); ok && toType == resGroup {
		tName = g.Name
	}
	o.record(EventAssociationChange, association(op, resApp, appID, aName, toType, toID, tName))
}

// changes lists the JSON fields that differ between two versions of a record, as
// user_update's "changes": [{field, from, to}], in field order.
func changes(before, after any) []map[string]any {
	var b, a map[string]json.RawMessage
	bb, _ := json.Marshal(before)
	ab, _ := json.Marshal(after)
	_ = json.Unmarshal(bb, &b)
	_ = json.Unmarshal(ab, &a)
	var out []map[string]any
	for _, f := range jsonFieldOrder(reflect.TypeOf(after)) {
		from, to := b[f], a[f]
		if string(from) == string(to) {
			continue
		}
		out = append(out, map[string]any{"field": f, "from": rawOr(from, zeroOf(to)), "to": rawOr(to, zeroOf(from))})
	}
	return out
}

// rawOr is raw, or def when the field was left out (omitempty of a zero value).
func rawOr(raw, def json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return def
	}
	return raw
}

// zeroOf is the zero JSON value of the kind of raw (false, 0, "", null).
func zeroOf(raw json.RawMessage) json.RawMessage {
	switch {
	case len(raw) == 0:
		return json.RawMessage("null")
	case raw[0] == '"':
		return json.RawMessage(`""`)
	case raw[0] == 't' || raw[0] == 'f':
		return json.RawMessage("false")
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		return json.RawMessage("0")
	}
	return json.RawMessage("null")
}

// jsonFieldOrder lists the JSON names of a struct's fields in declaration order.
func jsonFieldOrder(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}
