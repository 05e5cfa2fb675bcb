package activities

import (
	"testing"
	"time"

	"jcsync/internal/jumpcloud"
)

// The events of a poll become one targeted update per record (timed from its earliest
// change), removals ask for a full sync at the newest of them, noise is counted and left
// aside, and an event already applied within the overlap is not applied again.
func TestPlanChanges(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	assoc := func(id, op, ft, fid, tt, tid string, s int) jumpcloud.InsightsEvent {
		return jumpcloud.InsightsEvent{ID: id, EventType: "association_change", Service: "directory", Timestamp: at(s),
			Association: &jumpcloud.InsightsAssociation{Op: op, FromType: ft, FromID: fid, ToType: tt, ToID: tid}}
	}
	ev := func(id, typ, res string, s int) jumpcloud.InsightsEvent {
		return jumpcloud.InsightsEvent{ID: id, EventType: typ, Service: "directory", Timestamp: at(s), Resource: jumpcloud.InsightsResource{ID: res}}
	}
	events := []jumpcloud.InsightsEvent{
		ev("e0", "user_update", "u1", 0), // applied by the previous poll
		ev("e1", "user_update", "u1", 1),
		ev("e2", "user_create", "u2", 2),
		ev("e3", "user_update", "u1", 3),
		ev("e4", "user_delete", "u3", 4),
		ev("e5", "user_login_attempt", "u1", 5),
		{ID: "e6", EventType: "sso_auth", Service: "sso", Timestamp: at(6)},
		assoc("e7", "add", "user_group", "g1", "user", "u2", 7),
		assoc("e8", "add", "application", "a1", "user", "u2", 8),
		assoc("e9", "add", "user_group", "g2", "application", "a2", 9), // a group bound to an app, group first
		assoc("e10", "remove", "user_group", "g1", "user", "u4", 10),
		assoc("e11", "add", "user_group", "g1", "system", "s1", 11), // a device: not synced
		ev("e12", "group_update", "g3", 12),
		ev("e13", "policy_update", "p1", 13),
	}
	p := planChanges(events, []SeenEvent{{ID: "e0", At: at(0)}, {ID: "old", At: at(-700)}}, at(-600))
	want := map[string]map[string]time.Time{
		"users":        {"u1": at(1), "u2": at(2)},
		"deletedUsers": {"u3": at(4)},
		"members":      {"g1": at(7)},
		"bindings":     {"a1": at(8), "a2": at(9)},
		"groups":       {"g3": at(12)},
	}
	got := map[string]map[string]time.Time{"users": p.users, "deletedUsers": p.deletedUsers, "members": p.members, "bindings": p.bindings, "groups": p.groups}
	for k, w := range want {
		if len(got[k]) != len(w) {
			t.Errorf("%s: %v, want %v", k, got[k], w)
		}
		for id, ts := range w {
			if !got[k][id].Equal(ts) {
				t.Errorf("%s[%s] = %v, want %v", k, id, got[k][id], ts)
			}
		}
	}
	if !p.removalAt.Equal(at(10)) {
		t.Errorf("full sync owed for changes up to %v, want %v (the member removed)", p.removalAt, at(10))
	}
	if p.fresh != 9 || p.noise != 4 {
		t.Errorf("fresh %d, noise %d; want 9 and 4 (logins, SSO, a device, a policy)", p.fresh, p.noise)
	}
	if len(p.seen) != 14 {
		t.Errorf("seen holds %d events, want 14 (the old one pruned, e0 kept, 13 new)", len(p.seen))
	}
	again := planChanges(events, p.seen, at(-600))
	if again.fresh != 0 || again.changes() != 0 || !again.removalAt.IsZero() {
		t.Errorf("the same events read again planned %d changes (%d fresh)", again.changes(), again.fresh)
	}
}
