package transform

import (
	"strconv"
	"testing"

	"jcsync/internal/jumpcloud"
)

// benchUsers is a page-sized batch of realistic directory users.
func benchUsers(n int) []jumpcloud.SystemUser {
	in := make([]jumpcloud.SystemUser, n)
	for i := range in {
		u := fullUser()
		u.ID = "5f0c1a2b3c4d5e6f" + strconv.Itoa(100000000+i)
		u.Username = "user" + strconv.Itoa(i)
		u.MFAEnrollment = &jumpcloud.MFAEnrollment{OverallStatus: "ENROLLED"}
		in[i] = u
	}
	return in
}

func BenchmarkUsers(b *testing.B) {
	in := benchUsers(1000)
	opt := Options{Identities: true, OwnerID: "owner"}
	b.ReportAllocs()
	for b.Loop() {
		var r Report
		users, ids := Users(in, opt, &r)
		if len(users) != len(in) || len(ids) != len(in) {
			b.Fatal("lost users")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(in)), "ns/user")
}

func BenchmarkAppBindings(b *testing.B) {
	edges := make([]jumpcloud.GraphConnection, 1000)
	for i := range edges {
		typ := jumpcloud.GraphUser
		switch i % 10 {
		case 0:
			typ = jumpcloud.GraphUserGroup
		case 1:
			typ = jumpcloud.GraphLDAPServer
		}
		edges[i] = jumpcloud.GraphConnection{To: jumpcloud.GraphObject{ID: "5f0c1a2b3c4d5e6f" + strconv.Itoa(100000000+i), Type: typ}}
	}
	b.ReportAllocs()
	for b.Loop() {
		var r Report
		if got := AppBindings("app1", edges, &r); len(got) != 900 {
			b.Fatalf("got %d permissions", len(got))
		}
	}
}
