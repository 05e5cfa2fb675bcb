package jumpcloudsim

import (
	"net/http"
	"strings"
	"testing"
)

// TestRate429RetryAfter: about the configured fraction of random 429s carries Retry-After,
// and none does when the fraction is zero (the old behaviour).
func TestRate429RetryAfter(t *testing.T) {
	ts, s := NewTestServer(t, smallOrg(), Options{APIKey: testKey})
	key := map[string]string{"x-api-key": testKey}
	count := func(frac float64) (limited, withHeader int) {
		s.SetFaults(Faults{Rate429: 1, Rate429RetryAfter: frac, Seed: 3})
		for range 200 {
			r := do(t, "GET", ts.URL+"/api/systemusers?limit=1", key, "")
			if r.status == http.StatusTooManyRequests {
				limited++
				if r.header.Get("Retry-After") == "1" {
					withHeader++
				}
			}
		}
		return limited, withHeader
	}
	if l, h := count(0); l != 200 || h != 0 {
		t.Fatalf("fraction 0: %d limited, %d with Retry-After; want 200, 0", l, h)
	}
	if l, h := count(0.5); l != 200 || h < 60 || h > 140 {
		t.Fatalf("fraction 0.5: %d limited, %d with Retry-After; want 200, about 100", l, h)
	}
}

// TestSetAPIKey: a key changed while serving is refused from the next request on, and the
// new one is accepted.
func TestSetAPIKey(t *testing.T) {
	ts, s := NewTestServer(t, smallOrg(), Options{APIKey: testKey})
	old := map[string]string{"x-api-key": testKey}
	if r := do(t, "GET", ts.URL+"/api/systemusers?limit=1", old, ""); r.status != 200 {
		t.Fatalf("before the change: %d", r.status)
	}
	s.SetAPIKey("jca_rotated")
	if r := do(t, "GET", ts.URL+"/api/systemusers?limit=1", old, ""); r.status != 401 || r.body != bodyBadKey {
		t.Fatalf("revoked key: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", ts.URL+"/api/systemusers?limit=1", map[string]string{"x-api-key": "jca_rotated"}, ""); r.status != 200 {
		t.Fatalf("new key: %d", r.status)
	}
	s.ClearFaults() // the key is not a fault: it stays
	if r := do(t, "GET", ts.URL+"/api/systemusers?limit=1", old, ""); r.status != 401 {
		t.Fatalf("ClearFaults restored a revoked key: %d", r.status)
	}
}

// TestRewriteBodies: only successful responses of matching paths are rewritten, and
// ClearFaults removes the rewrite.
func TestRewriteBodies(t *testing.T) {
	ts, s := NewTestServer(t, smallOrg(), Options{APIKey: testKey})
	key := map[string]string{"x-api-key": testKey}
	s.RewriteBodies("/api/systemusers", func(r *http.Request, body []byte) []byte {
		return []byte(`{"totalCount":1,"results":[{"_id":42}]}`)
	})
	if r := do(t, "GET", ts.URL+"/api/systemusers?limit=5", key, ""); r.body != `{"totalCount":1,"results":[{"_id":42}]}` {
		t.Fatalf("not rewritten: %s", r.body)
	}
	if r := do(t, "GET", ts.URL+"/api/systemusers?limit=5", nil, ""); r.status != 401 || r.body != bodyBadKey {
		t.Fatalf("an error response was rewritten: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", ts.URL+"/api/users?limit=5", key, ""); strings.Contains(r.body, `"_id":42`) {
		t.Fatal("another path was rewritten")
	}
	s.ClearFaults()
	if r := do(t, "GET", ts.URL+"/api/systemusers?limit=5", key, ""); strings.Contains(r.body, `"_id":42`) {
		t.Fatal("ClearFaults kept the rewrite")
	}
}
