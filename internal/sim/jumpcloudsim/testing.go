package jumpcloudsim

import (
	"net/http/httptest"
	"testing"
)

// NewTestServer serves org on a local httptest server that closes with the test.
func NewTestServer(t testing.TB, org *Org, opts Options) (*httptest.Server, *Server) {
	t.Helper()
	s := New(org, opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts, s
}
