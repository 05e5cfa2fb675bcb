package jumpcloudsim

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// churnOrg has several groups and apps past one page, so the preference for multi-page
// lists has something to choose, and enough of everything that no kind runs dry.
func churnOrg() *Org {
	return Generate(GenConfig{Seed: 5, Users: 600, Groups: 30, Admins: 4, Apps: 8, AvgGroupSize: 120,
		UserBindingsPerApp: 80, GroupBindingsPerApp: 4})
}

// expectedDelta is what differs between two Expecteds, as a log's touched sets.
func expectedDelta(before, after Expected) ChurnLog {
	l := newChurnLog()
	symDiff(l.Accounts, before.Accounts, after.Accounts)
	symDiff(l.Identities, before.Identities, after.Identities)
	symDiff(l.Groupings, before.Groupings, after.Groupings)
	symDiff(l.Memberships, before.Memberships, after.Memberships)
	symDiff(l.Permissions, before.Permissions, after.Permissions)
	return l
}

func symDiff[K comparable](out, a, b map[K]bool) {
	for k := range a {
		if !b[k] {
			out[k] = true
		}
	}
	for k := range b {
		if !a[k] {
			out[k] = true
		}
	}
}

func sameTouched(a, b ChurnLog) error {
	switch {
	case !maps.Equal(a.Accounts, b.Accounts):
		return fmt.Errorf("accounts %v vs %v", a.Accounts, b.Accounts)
	case !maps.Equal(a.Identities, b.Identities):
		return fmt.Errorf("identities %v vs %v", a.Identities, b.Identities)
	case !maps.Equal(a.Groupings, b.Groupings):
		return fmt.Errorf("groupings %v vs %v", a.Groupings, b.Groupings)
	case !maps.Equal(a.Memberships, b.Memberships):
		return fmt.Errorf("memberships %v vs %v", a.Memberships, b.Memberships)
	case !maps.Equal(a.Permissions, b.Permissions):
		return fmt.Errorf("permissions %v vs %v", a.Permissions, b.Permissions)
	}
	return nil
}

// The cascades are computed directly rather than by diffing Expected (too slow under the
// lock at 20,000 users); each step's keys must be exactly what Expected says changed.
func TestChurnKeysMatchExpected(t *testing.T) {
	o, twin := churnOrg(), churnOrg()
	linked := o.Users[0].ID // admin 0 shares this user's email
	c, c2 := newChurner(ChurnOptions{Seed: 9}), newChurner(ChurnOptions{Seed: 9})
	const n = 200
	for i := range n {
		before := o.Expected(true)
		ch, k, ok := c.step(o)
		if !ok {
			t.Fatalf("step %d changed nothing", i)
		}
		o.reindex()
		one := newChurnLog()
		one.touch(k)
		if err := sameTouched(one, expectedDelta(before, o.Expected(true))); err != nil {
			t.Fatalf("step %d %+v: logged keys differ from the Expected delta: %v", i, ch, err)
		}
		if ch2, _, _ := c2.step(twin); ch2 != ch {
			t.Fatalf("step %d: same seed and org gave %+v and %+v", i, ch, ch2)
		}
		twin.reindex()
	}
	if c.log.Total != n || len(c.log.Changes) != n {
		t.Fatalf("log has %d changes (%d listed), want %d", c.log.Total, len(c.log.Changes), n)
	}
	if _, ok := o.User(linked); !ok {
		t.Fatal("the admin-linked user was deleted")
	}
}

// Users linked to an administrator (same email, in any case) are never deleted, even when
// they are most of the front.
func TestChurnSparesAdminLinkedUsers(t *testing.T) {
	o := churnOrg()
	var linked []string
	for i := range o.Admins {
		o.Admins[i].Email = strings.ToUpper(o.Users[i].Email)
		linked = append(linked, o.Users[i].ID)
	}
	c := newChurner(ChurnOptions{Seed: 2, Front: len(linked) + 2})
	for range 100 {
		c.step(o)
		o.reindex()
	}
	if c.log.ByKind[ChurnDeleteUser] == 0 {
		t.Fatal("no user was deleted")
	}
	for _, id := range linked {
		if _, ok := o.User(id); !ok {
			t.Fatalf("admin-linked user %s was deleted", id)
		}
	}
}

// readWhileChurning pages through users and group members until stop, so the race detector
// sees reads interleaved with the churn's writes.
func readWhileChurning(t *testing.T, base string, groups []string, stop <-chan struct{}) {
	get := func(path string) {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			t.Errorf("request %s: %v", path, err)
			return
		}
		req.Header.Set("x-api-key", testKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("GET %s: %v", path, err)
			return
		}
		defer res.Body.Close()
		_, _ = io.Copy(io.Discard, res.Body)
		if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d", path, res.StatusCode)
		}
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		get(fmt.Sprintf("/api/systemusers?limit=100&skip=%d&sort=_id", 100*(i%7)))
		get(fmt.Sprintf("/api/v2/usergroups/%s/members?limit=100&skip=%d", groups[i%len(groups)], 100*(i%3)))
	}
}

func TestChurnRunsAndStops(t *testing.T) {
	ts, s := NewTestServer(t, churnOrg(), Options{APIKey: testKey})
	var r *replay
	var groups []string
	var before Expected
	s.View(func(o *Org) {
		r = newReplay(t, o, 150)
		groups = slices.Clone(r.groups)
		before = o.Expected(true)
	})
	stopReading := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { readWhileChurning(t, ts.URL, groups, stopReading) })

	const n, every = 150, 5 * time.Millisecond
	c := s.StartChurn(ChurnOptions{Every: every, Seed: 3})
	deadline := time.Now().Add(30 * time.Second)
	for c.Changes() < n && time.Now().Before(deadline) {
		time.Sleep(every)
	}
	log := c.Stop()
	close(stopReading)
	wg.Wait()

	if log.Total < n || log.Total != c.Changes() || len(log.Changes) != log.Total {
		t.Fatalf("applied %d (log %d, %d listed), want at least %d and all logged", c.Changes(), log.Total, len(log.Changes), n)
	}
	// Stop is idempotent and nothing changes after it.
	time.Sleep(5 * every)
	if again := c.Stop(); again.Total != log.Total || c.Changes() != log.Total {
		t.Fatalf("after Stop: second log %d, changes %d, first log %d", again.Total, c.Changes(), log.Total)
	}

	// Kinds are balanced: every kind can act in this org, so counts differ by at most one.
	sum, lo, hi := 0, log.Total, 0
	for _, k := range ChurnKinds {
		sum += log.ByKind[k]
		lo, hi = min(lo, log.ByKind[k]), max(hi, log.ByKind[k])
	}
	if sum != log.Total || hi-lo > 1 {
		t.Fatalf("by kind %v (sum %d, total %d): not balanced", log.ByKind, sum, log.Total)
	}

	for _, ch := range log.Changes {
		r.apply(ch)
	}
	var after Expected
	s.View(func(o *Org) {
		r.matches(o)
		after = o.Expected(true)
	})
	if r.userDeletes == 0 || r.bigRemovals == 0 {
		t.Fatalf("%d user deletions, %d removals from multi-page lists; want some of each", r.userDeletes, r.bigRemovals)
	}
	// Everything that differs between the start and the end of the window is in the log.
	delta := expectedDelta(before, after)
	covered := subset(delta.Accounts, log.Accounts) && subset(delta.Identities, log.Identities) &&
		subset(delta.Groupings, log.Groupings) && subset(delta.Memberships, log.Memberships) &&
		subset(delta.Permissions, log.Permissions)
	if !covered {
		t.Fatal("the org changed in ways the log does not account for")
	}
}

func subset[K comparable](a, b map[K]bool) bool {
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func TestChurnStable(t *testing.T) {
	set := func(ks ...string) map[string]bool {
		m := map[string]bool{}
		for _, k := range ks {
			m[k] = true
		}
		return m
	}
	// a: only before; b: stable; c: in both but touched (deleted and re-created); d: only after.
	l := newChurnLog()
	l.Accounts = set("a", "c", "d")
	before := Expected{Accounts: set("a", "b", "c"), Assets: set("x")}
	after := Expected{Accounts: set("b", "c", "d"), Assets: set("x", "y")}
	st := l.Stable(before, after)
	if !maps.Equal(st.Accounts, set("b")) || !maps.Equal(st.Assets, set("x")) {
		t.Fatalf("stable accounts %v assets %v, want [b] and [x]", st.Accounts, st.Assets)
	}

	_, s := NewTestServer(t, churnOrg(), Options{APIKey: testKey})
	s.View(func(o *Org) { before = o.Expected(true) })
	c := s.StartChurn(ChurnOptions{Every: time.Millisecond, Seed: 4})
	for c.Changes() < 60 {
		time.Sleep(time.Millisecond)
	}
	log := c.Stop()
	s.View(func(o *Org) { after = o.Expected(true) })
	st = log.Stable(before, after)
	check := func(kind string, stable, b, a, touched map[string]bool) {
		for k := range b {
			if want := a[k] && !touched[k]; stable[k] != want {
				t.Fatalf("%s %s: stable=%v, want %v (after %v, touched %v)", kind, k, stable[k], want, a[k], touched[k])
			}
		}
		for k := range stable {
			if !b[k] {
				t.Fatalf("%s %s: stable but not there before", kind, k)
			}
		}
	}
	check("account", st.Accounts, before.Accounts, after.Accounts, log.Accounts)
	check("identity", st.Identities, before.Identities, after.Identities, log.Identities)
	check("grouping", st.Groupings, before.Groupings, after.Groupings, log.Groupings)
	for k := range log.Memberships {
		if st.Memberships[k] {
			t.Fatalf("touched membership %v is stable", k)
		}
	}
	for k := range log.Permissions {
		if st.Permissions[k] {
			t.Fatalf("touched permission %v is stable", k)
		}
	}
	if len(st.Memberships) == 0 || len(st.Permissions) == 0 || len(st.Accounts) == 0 {
		t.Fatal("nothing stable: the churn touched everything or Stable keeps nothing")
	}
}
