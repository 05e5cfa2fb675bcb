// Package control is the simulators' admin endpoint, for the benchmark and the demo: it
// reports request counters, checks that Authomize holds exactly the org, and changes the org
// while syncs read it (the churn) with a check of what each sync must not have lost.
package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"sync"
	"time"

	"jcsync/internal/sim/authomizesim"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/sim/simcheck"
)

// Control serves GET /counts, GET /arrivals, GET /verify and POST /reset, the churn endpoints:
// POST /churn/start, POST /churn/stop, POST /window/begin and GET /window/check, and the
// Directory Insights ones: POST /change and POST /insights (insights.go).
type Control struct {
	JC    *jumpcloudsim.Server
	AZ    *authomizesim.Server
	AppID string
	// Identities says whether the connector under test uploads identities.
	Identities bool

	mu     sync.Mutex // guards churn and window
	churn  *jumpcloudsim.Churn
	window *window
}

// window is what POST /window/begin recorded: the org's Expected then, and every churn that
// ran during the window with the number of changes it had applied when the window began
// (zero for one started later). A churn stopped during the window stays in it: what it
// touched before it stopped is not stable.
type window struct {
	before jumpcloudsim.Expected
	churns []*jumpcloudsim.Churn
	base   []int
}

// ChurnMaxGroupMembers spares larger groups from the churn's deletions: day-to-day change
// does not delete the all-staff group, and losing it is a shrink the sweep's guard rightly
// refuses.
const ChurnMaxGroupMembers = 30

// MinChurnEvery bounds the churn's pace: every change takes the org's write lock, and a
// faster churn would starve the reads it is meant to disturb.
const MinChurnEvery = time.Millisecond

// ChurnTotals is the answer of POST /churn/stop: the changes the churn applied, by kind
// (jumpcloudsim.ChurnKinds).
type ChurnTotals struct {
	Total  int            `json:"total"`
	ByKind map[string]int `json:"byKind"`
}

// WindowCheck is the answer of GET /window/check. Stable counts, by kind, the objects that
// existed from POST /window/begin until now and that no churn touched in between; Missing
// counts those Authomize does not hold, and Sample names up to 20 of them. Changes is the
// number of changes the churn applied since the window began.
type WindowCheck struct {
	Stable  map[string]int `json:"stable"`
	Changes int            `json:"changes"`
	Missing int            `json:"missing"`
	Sample  []string       `json:"sample,omitempty"`
}

// ErrConflict is what the churn and window calls return when they are called out of order;
// the handlers answer it with 409.
var ErrConflict = errors.New("conflict")

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
	c.oauthRoutes(mux)
	c.arrivalRoutes(mux)
	c.insightsRoutes(mux)
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, r *http.Request) {
		c.JC.ResetCounts()
		c.AZ.ResetCounts()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /churn/start", func(w http.ResponseWriter, r *http.Request) {
		every, seed, err := churnParams(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := c.StartChurn(every, seed); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /churn/stop", func(w http.ResponseWriter, r *http.Request) {
		t, err := c.StopChurn()
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, t)
	})
	mux.HandleFunc("POST /window/begin", func(w http.ResponseWriter, r *http.Request) {
		c.BeginWindow()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /window/check", func(w http.ResponseWriter, r *http.Request) {
		chk, err := c.CheckWindow()
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, chk)
	})
	return mux
}

// churnParams reads POST /churn/start's query: every (a Go duration, default 1s) and seed
// (an integer, default 1).
func churnParams(r *http.Request) (time.Duration, int64, error) {
	every, seed := time.Second, int64(1)
	q := r.URL.Query()
	if v := q.Get("every"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, 0, fmt.Errorf("every: %w", err)
		}
		if d < MinChurnEvery {
			return 0, 0, fmt.Errorf("every: %s is below the minimum %s", d, MinChurnEvery)
		}
		every = d
	}
	if v := q.Get("seed"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("seed: %w", err)
		}
		seed = n
	}
	return every, seed, nil
}

// StartChurn starts changing the org, one change per every. One churn runs at a time.
func (c *Control) StartChurn(every time.Duration, seed int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.churn != nil {
		return fmt.Errorf("%w: a churn is already running; POST /churn/stop first", ErrConflict)
	}
	c.churn = c.JC.StartChurn(jumpcloudsim.ChurnOptions{Every: every, Seed: seed, MaxGroupMembers: ChurnMaxGroupMembers})
	if c.window != nil {
		c.window.churns = append(c.window.churns, c.churn)
		c.window.base = append(c.window.base, 0)
	}
	return nil
}

// StopChurn stops the running churn and returns its totals.
func (c *Control) StopChurn() (ChurnTotals, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.churn == nil {
		return ChurnTotals{}, fmt.Errorf("%w: no churn is running; POST /churn/start first", ErrConflict)
	}
	log := c.churn.Stop()
	c.churn = nil
	return ChurnTotals{Total: log.Total, ByKind: maps.Clone(log.ByKind)}, nil
}

// BeginWindow records what the org holds now, for CheckWindow. A second call starts a new
// window.
func (c *Control) BeginWindow() {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := &window{}
	// The churn's count is read before the org: a change in between is counted in the
	// window and, being in the log, only makes the stable set smaller.
	if c.churn != nil {
		w.churns, w.base = []*jumpcloudsim.Churn{c.churn}, []int{c.churn.Changes()}
	}
	c.JC.View(func(o *jumpcloudsim.Org) { w.before = o.Expected(c.Identities) })
	c.window = w
}

// CheckWindow compares Authomize with what was stable since BeginWindow. It leaves the
// window open.
func (c *Control) CheckWindow() (WindowCheck, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.window
	if w == nil {
		return WindowCheck{}, fmt.Errorf("%w: no window to check; POST /window/begin first", ErrConflict)
	}
	var after jumpcloudsim.Expected
	c.JC.View(func(o *jumpcloudsim.Org) { after = o.Expected(c.Identities) })
	// The logs are read after the org: a change that lands in between is in the log and
	// only makes the stable set smaller, never larger. Stable of a stable set with another
	// churn's log removes what that churn touched too; with no churn it is before ∩ after.
	stable := jumpcloudsim.ChurnLog{}.Stable(w.before, after)
	chk := WindowCheck{}
	for i, ch := range w.churns {
		stable = ch.Log().Stable(stable, after)
		chk.Changes += ch.Changes() - w.base[i]
	}
	chk.Stable = setCounts(stable)
	m := simcheck.Missing(stable, c.AZ.Snapshot(c.AppID))
	chk.Missing = len(m)
	if len(m) > 20 {
		m = m[:20]
	}
	chk.Sample = m
	return chk, nil
}

// setCounts counts an Expected's sets by kind, named as simcheck names them.
func setCounts(e jumpcloudsim.Expected) map[string]int {
	return map[string]int{
		"account": len(e.Accounts), "identity": len(e.Identities), "grouping": len(e.Groupings),
		"asset": len(e.Assets), "privilege": len(e.Privileges), "membership": len(e.Memberships),
		"permission": len(e.Permissions),
	}
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

func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	if errors.Is(err, ErrConflict) {
		status = http.StatusConflict
	}
	http.Error(w, err.Error(), status)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
