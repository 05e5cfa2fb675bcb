package jumpcloud_test

import (
	"context"
	"testing"

	"jcsync/internal/jumpcloud"
	"jcsync/internal/sim/jumpcloudsim"
)

// A record re-read by its id is found with one request, and one that no longer exists is
// reported not found rather than as an error.
func TestReadByID(t *testing.T) {
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 6, Users: 30, Groups: 3, Apps: 2})
	ts, s := jumpcloudsim.NewTestServer(t, org, jumpcloudsim.Options{APIKey: key})
	c := newClient(t, jumpcloud.Options{BaseURL: ts.URL, APIKey: key})
	ctx := context.Background()
	user, group, app := org.Users[7], org.Groups[1], org.Apps[1]
	s.ResetCounts()
	u, ok, err := c.SystemUserByID(ctx, user.ID)
	if err != nil || !ok || u.ID != user.ID || u.Email != user.Email {
		t.Fatalf("user %s: %+v, %v, %v", user.ID, u, ok, err)
	}
	g, ok, err := c.UserGroupByID(ctx, group.ID)
	if err != nil || !ok || g.ID != group.ID || g.Name != group.Name {
		t.Fatalf("group %s: %+v, %v, %v", group.ID, g, ok, err)
	}
	a, ok, err := c.ApplicationByID(ctx, app.ID)
	if err != nil || !ok || a.ID != app.ID {
		t.Fatalf("app %s: %+v, %v, %v", app.ID, a, ok, err)
	}
	if n := s.Counts().Total; n != 3 {
		t.Errorf("three reads by id made %d requests, want 3", n)
	}
	s.Update(func(o *jumpcloudsim.Org) {
		o.RemoveUser(user.ID)
		o.RemoveGroup(group.ID)
		o.RemoveApp(app.ID)
	})
	if _, ok, err := c.SystemUserByID(ctx, user.ID); ok || err != nil {
		t.Errorf("a deleted user: found %v, %v", ok, err)
	}
	if _, ok, err := c.UserGroupByID(ctx, group.ID); ok || err != nil {
		t.Errorf("a deleted group: found %v, %v", ok, err)
	}
	if _, ok, err := c.ApplicationByID(ctx, app.ID); ok || err != nil {
		t.Errorf("a deleted app: found %v, %v", ok, err)
	}
}
