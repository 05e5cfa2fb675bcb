// Package control is the simulators' admin endpoint, for the benchmark and the demo: it
// reports request counters and checks that Authomize holds exactly the org.
package control

import (
	"encoding/json"
	"net/http"

	"jcsync/internal/sim/authomizesim"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/sim/simcheck"
)

// Control serves GET /counts, GET /verify and POST /reset.
type Control struct {
	JC    *jumpcloudsim.Server
	AZ    *authomizesim.Server
	AppID string
	// Identities says whether the connector under test uploads identities.
	Identities bool
}

// Counts is the answer of GET /counts.
type Counts struct {
	JumpCloudTotal      int64            `json:"jumpcloudTotal"`
	JumpCloudByEndpoint map[string]int64 `json:"jumpcloudByEndpoint"`
	JumpCloudByStatus   map[int]int64    `json:"jumpcloudByStatus"`
	JumpCloudRefetched  int              `json:"jumpcloudPagesRefetched"`
	AuthomizeTotal      int              `json:"authomizeTotal"`
	AuthomizeByEndpoint map[string]int   `json:"authomizeByEndpoint"`
}

// Verdict is the answer of GET /verify.
type Verdict struct {
	Exact       bool           `json:"exact"`
	Differences int            `json:"differences"`
	Sample      []string       `json:"sample,omitempty"`
	MinRequests map[string]int `json:"minRequests"`
}

// Handler returns the admin endpoints.
func (c *Control) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /counts", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, c.Counts()) })
	mux.HandleFunc("GET /verify", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, c.Verify()) })
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, r *http.Request) {
		c.JC.ResetCounts()
		c.AZ.ResetCounts()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// Counts reads both simulators' counters.
func (c *Control) Counts() Counts {
	jc, az := c.JC.Counts(), c.AZ.Counts()
	out := Counts{
		JumpCloudTotal: jc.Total, JumpCloudByEndpoint: jc.ByEndpoint, JumpCloudByStatus: jc.ByStatus,
		JumpCloudRefetched: jc.Refetched(), AuthomizeTotal: az.Total, AuthomizeByEndpoint: map[string]int{},
	}
	for ep, byStatus := range az.ByEndpoint {
		for _, n := range byStatus {
			out.AuthomizeByEndpoint[ep] += n
		}
	}
	return out
}

// Verify compares Authomize's snapshot with what the org says a correct sync must produce.
func (c *Control) Verify() Verdict {
	var exp jumpcloudsim.Expected
	var min map[string]int
	c.JC.View(func(o *jumpcloudsim.Org) {
		exp = o.Expected(c.Identities)
		min = simcheck.MinRequests(o)
	})
	d := simcheck.Diff(exp, c.AZ.Snapshot(c.AppID))
	v := Verdict{Exact: len(d) == 0, Differences: len(d), MinRequests: min}
	if len(d) > 20 {
		d = d[:20]
	}
	v.Sample = d
	return v
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
