// Package authomizesim is an in-memory fake of Authomize's connector REST API (spec 4.6.8),
// served as an ordinary http.Handler. It validates like the real FastAPI/pydantic server,
// stores what it accepts per app so tests can assert the sync's effect, implements the
// modifiedBefore sweep, and can inject faults to exercise the client's retries.
//
// Choices made where Authomize's behaviour is not documented (see authomize-api.md §8):
//   - wrong token → 401 {"detail":"Invalid token"}; unknown app → 404 {"detail":"App not found"};
//   - body over MaxBodyBytes (1 MiB = 1,048,576 bytes) → 413 {"detail":"Request Entity Too Large"};
//   - checks run in the order auth (401), size (413), schema (422), app (404), mirroring a
//     FastAPI app whose app lookup happens inside the endpoint after body validation;
//   - POST replaces a stored item whole (no field merge) and refreshes its modifiedAt;
//   - relation items with unknown references are stored and counted unless
//     Options.DropInvalidRelations; groupings/assets with an unknown owner are always kept;
//   - GET listings return the stored request items, not the richer *Schema shapes;
//   - PATCH /v2/apps/{appId} {"name"} sets the app's integrationName (the only name it has);
//   - with no Options.Tokens, any non-empty token is accepted.
package authomizesim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"jcsync/internal/sim/faults"
)

// MaxBodyBytes is the request size limit the simulator enforces. The spec says "1MB"; we read
// it as 1 MiB, the more lenient reading, so the client (which stays under 1,000,000 bytes)
// is safe under either.
const MaxBodyBytes = 1 << 20

// TimestampLayout is how Authomize formats acceptedTimestamp (Python isoformat, UTC).
const TimestampLayout = "2006-01-02T15:04:05.000000+00:00"

// Options configures a Server.
type Options struct {
	Tokens []string // accepted API tokens; empty = any non-empty token
	Apps   []string // app ids that exist from the start
	// DropInvalidRelations drops relation items whose references don't exist (not stored,
	// not counted as accepted). Default false: stored anyway but listed as invalid.
	DropInvalidRelations bool
}

// Faults configures random fault injection. Rates are probabilities in [0,1] per request;
// Rate5xx answers 500, 502, 503 or 504.
type Faults struct {
	Rate429           float64
	Rate429RetryAfter float64 // fraction of injected 429s that carry Retry-After: 1
	Rate5xx           float64
	RateReset         float64 // connection dropped without a response
	RateSlow          float64
	Slow              time.Duration
	Seed              int64
}

type record struct {
	key        []string
	raw        json.RawMessage
	modifiedAt time.Time
}

type app struct {
	id, name   string
	createdAt  time.Time
	modifiedAt time.Time
	data       map[Kind]map[string]*record
}

// Server is the simulator. Create it with New; it is safe for concurrent use.
type Server struct {
	opts Options
	mux  *http.ServeMux

	mu       sync.Mutex // guards the state below
	apps     map[string]*app
	order    []string // app ids in creation order, for stable listings
	lastTS   time.Time
	requests uint64
	appSeq   int

	faults *faults.Engine // latency, random faults and FailNext rules; has its own lock

	knobs knobState // upload behaviour knobs (knobs.go); has its own lock

	cmu    sync.Mutex // guards the counters
	counts map[string]map[int]int
	total  int
}

// authomizeDraws: the slow-down is drawn before anything else, so a client that gives up
// waiting meets no other fault; a 5xx is any of 500, 502, 503 and 504.
var authomizeDraws = faults.Draws{
	Stream:    func(int64) uint64 { return 0x5eed },
	Order:     []faults.Fault{faults.DrawReset, faults.Draw429, faults.Draw5xx},
	Codes5xx:  []int{500, 502, 503, 504},
	SlowFirst: true,
}

// New builds a simulator.
func New(opts Options) *Server {
	s := &Server{opts: opts, apps: map[string]*app{}, counts: map[string]map[int]int{},
		faults: faults.New(faults.Suffix, authomizeDraws)}
	for _, id := range opts.Apps {
		s.addApp(id, "")
	}
	s.routes()
	return s
}

func newApp(id, name string, now time.Time) *app {
	a := &app{id: id, name: name, createdAt: now, modifiedAt: now, data: map[Kind]map[string]*record{}}
	for k := range schemas {
		a.data[k] = map[string]*record{}
	}
	return a
}

func (s *Server) addApp(id, name string) *app {
	a := newApp(id, name, time.Now().UTC())
	s.apps[id] = a
	s.order = append(s.order, id)
	return a
}

// CreateApp creates an app directly (for tests) and returns its id.
func (s *Server) CreateApp(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createAppLocked(name).id
}

func (s *Server) createAppLocked(name string) *app {
	for {
		s.appSeq++
		id := fmt.Sprintf("sim-app-%d", s.appSeq)
		if _, taken := s.apps[id]; !taken {
			return s.addApp(id, name)
		}
	}
}

// acceptTime returns the next accepted time. It is strictly increasing even when the clock
// does not move (or moves back), so a sweep whose cutoff is the first accepted time of a run
// can never delete something re-sent later in the same run. Caller holds s.mu.
func (s *Server) acceptTime() time.Time {
	t := time.Now().UTC().Truncate(time.Microsecond)
	if !t.After(s.lastTS) {
		t = s.lastTS.Add(time.Microsecond)
	}
	s.lastTS = t
	return t
}

func (s *Server) nextRequestID() string {
	s.requests++
	return fmt.Sprintf("sim-req-%08d", s.requests)
}
