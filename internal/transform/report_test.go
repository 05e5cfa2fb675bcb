package transform

import (
	"testing"

	"jcsync/internal/jumpcloud"
)

func TestReportNil(t *testing.T) {
	var r *Report
	r.Skip("x")
	r.Adjust("y")
	r.Merge(Report{Skipped: map[string]int{"a": 1}})
	if r.SkippedTotal() != 0 || r.AdjustedTotal() != 0 {
		t.Fatal("nil report counted")
	}
	// Every transform accepts a nil report.
	Users([]jumpcloud.SystemUser{{}, {ID: "u"}}, Options{Identities: true}, nil)
	Admins([]jumpcloud.Admin{{}, {ID: "a"}}, Options{}, nil)
	Groups([]jumpcloud.UserGroup{{}}, Options{}, nil)
	Memberships("", []jumpcloud.GraphConnection{edge("user", "u")}, nil)
	Apps([]jumpcloud.Application{{}}, Options{}, nil)
	AppBindings("a", []jumpcloud.GraphConnection{edge("ldap_server", "l")}, nil)
}

func TestReportMerge(t *testing.T) {
	var total Report
	a := Report{Skipped: map[string]int{"s": 1}, Adjusted: map[string]int{"x": 2}}
	b := Report{Skipped: map[string]int{"s": 2, "t": 1}}
	total.Merge(a)
	total.Merge(b)
	checkReport(t, &total, counts{"s": 3, "t": 1}, counts{"x": 2})
	if total.SkippedTotal() != 4 || total.AdjustedTotal() != 2 {
		t.Errorf("totals %d %d", total.SkippedTotal(), total.AdjustedTotal())
	}
	if a.Skipped["s"] != 1 {
		t.Error("merge changed its argument")
	}
}

func TestUnrecognisedStateCounted(t *testing.T) {
	var r Report
	Users([]jumpcloud.SystemUser{{ID: "u1", Username: "a", State: "DEACTIVATED"}, {ID: "u2", Username: "b"}}, Options{}, &r)
	checkReport(t, &r, nil, counts{"user.status: unrecognised state, sent Unknown": 1})
}

func TestReportClone(t *testing.T) {
	r := Report{Skipped: map[string]int{"s": 1}}
	c := r.Clone()
	c.Skip("s")
	c.Adjust("x")
	if r.Skipped["s"] != 1 || r.Adjusted != nil {
		t.Errorf("the clone shares its maps: %+v", r)
	}
	if c.Skipped["s"] != 2 || c.Adjusted["x"] != 1 {
		t.Errorf("clone %+v", c)
	}
}
