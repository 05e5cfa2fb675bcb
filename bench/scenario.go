package main

import (
	"time"

	"jcsync/activities"
	"jcsync/internal/sim/control"
)

// scenario is one benchmark setting.
type scenario struct {
	Name                                    string
	Users, Groups, Admins, Apps             int
	MaxGroupSize, AvgGroupSize              int
	UserBindingsPerApp, GroupBindingsPerApp int
	Latency                                 time.Duration
	// RPS is JumpCloud's rate limit (the simulator answers 429 beyond it, with Retry-After:
	// 1) and, unless Unknown, the worker's ceiling (--jumpcloud-max-rps); 0 means no limit.
	RPS float64
	// Unknown gives the worker no rate at all, as in production, where JumpCloud publishes
	// none: the org's pacer must find the limit.
	Unknown bool
	// PageConcurrency is the worker's --page-concurrency; 0 leaves its default.
	PageConcurrency int
	// Shape, when set, is the shape of JumpCloud's limit at RPS (limiter-shapes); nil is a
	// token bucket of burst RPS/10 whose every 429 carries Retry-After: 1.
	Shape *limitShape
	// Workers is the number of worker processes on the task queue; 0 means one.
	Workers int
	// WorkerIdentity is the worker's --worker-identity; empty leaves its default.
	WorkerIdentity string `json:",omitempty"`
	// ChurnSyncs, when set, makes the scenario a churn run (runChurn): one sync of the still
	// org, then this many back to back while the org changes once every ChurnEvery.
	ChurnSyncs int
	ChurnEvery time.Duration
}

// large is a production-sized org; the churn scenario reads the same org while it changes.
var large = scenario{Name: "large", Users: 20000, Groups: 1000, Admins: 25, Apps: 300, MaxGroupSize: 2000, AvgGroupSize: 40,
	UserBindingsPerApp: 10, GroupBindingsPerApp: 3, Latency: 40 * time.Millisecond, RPS: 50, PageConcurrency: 4}

var scenarios = []scenario{
	large,
	withChurn(large, "churn", 10, time.Second),
	{Name: "huge-memory", Users: 1000000, Groups: 10000, Admins: 25, Apps: 300, MaxGroupSize: 2000, AvgGroupSize: 40,
		UserBindingsPerApp: 10, GroupBindingsPerApp: 3, PageConcurrency: 4},
	small,
}

// small is what `make test` runs to check the benchmark's own checks.
var small = scenario{Name: "small", Users: 500, Groups: 40, Admins: 8, Apps: 12, MaxGroupSize: 200, AvgGroupSize: 20,
	UserBindingsPerApp: 5, GroupBindingsPerApp: 2, Latency: 2 * time.Millisecond, RPS: 400, PageConcurrency: 4}

// medium is a quarter of large, for quicker runs of the pacing scenarios.
var medium = scenario{Name: "medium", Users: 5000, Groups: 250, Admins: 25, Apps: 75, MaxGroupSize: 500, AvgGroupSize: 40,
	UserBindingsPerApp: 10, GroupBindingsPerApp: 3, Latency: 40 * time.Millisecond}

// firstSync is the org of limiter-shapes: a 10,000-user org whose sync at 50 req/s is
// about 13 s of requests, so that the first seconds of pacing weigh in the figure.
var firstSync = scenario{Name: "first-sync", Users: 10000, Groups: 300, Admins: 25, Apps: 100, MaxGroupSize: 500, AvgGroupSize: 40,
	UserBindingsPerApp: 10, GroupBindingsPerApp: 3, Latency: 40 * time.Millisecond}

// orgs are the org sizes the pacing scenarios take (--org).
var orgs = map[string]scenario{"large": large, "medium": medium, "small": small, "first-sync": firstSync}

// withChurn makes sc a churn run named name: syncs syncs while the org changes once per every.
func withChurn(sc scenario, name string, syncs int, every time.Duration) scenario {
	sc.Name, sc.ChurnSyncs, sc.ChurnEvery = name, syncs, every
	return sc
}

// figures is one scenario's figures; for a churn run, those of its sync of the still org.
type figures struct {
	Scenario          string           `json:"scenario"`
	Exact             bool             `json:"exact"`
	JumpCloudRequests int64            `json:"jumpcloudRequests"`
	ByEndpoint        map[string]int64 `json:"jumpcloudByEndpoint"`
	MinRequests       int              `json:"minRequests"`
	AuthomizeRequests int              `json:"authomizeRequests"`
	Status429         int64            `json:"status429"`
	Wall              time.Duration    `json:"wall"`
	LowerBound        time.Duration    `json:"lowerBound"`
	WorkerPeakRSSMB   float64          `json:"workerPeakRssMB"`
	WorkerCPU         time.Duration    `json:"workerCpu"`
	HistoryEvents     int              `json:"historyEvents"`
	PagesRefetched    int              `json:"pagesRefetched"`
	// Pacing is JumpCloud's and Authomize's pace at the end of the longest stage.
	Pacing activities.StagePacing `json:"pacing"`
	// Start is the org's JumpCloud rate when the sync's first stage started: 10 req/s on a
	// worker that never met the org, else what was learned before.
	Start float64      `json:"start"`
	Churn *churnReport `json:"churn,omitempty"`
}

// churnReport is a churn run's figures: the sync of the still org, then the syncs that ran
// while it changed.
type churnReport struct {
	Every   time.Duration       `json:"every"`
	Still   syncFigures         `json:"still"`
	Syncs   []syncFigures       `json:"syncs"`
	Changes control.ChurnTotals `json:"changes"`
}

// syncFigures is one sync of a churn run.
type syncFigures struct {
	JumpCloudRequests int64         `json:"jumpcloudRequests"`
	Swept             bool          `json:"swept"`
	SweepSkipped      string        `json:"sweepSkipped,omitempty"`
	RepairReads       int           `json:"repairReads"`
	ListsChanged      int           `json:"listsChanged"`
	Wall              time.Duration `json:"wall"`
	// Changes is the number of changes the churn applied during the sync; Stable the objects
	// that existed throughout it and were never touched, Missing those Authomize lacks after
	// it, and Sample names some of them.
	Changes int      `json:"changes"`
	Stable  int      `json:"stable"`
	Missing int      `json:"missing"`
	Sample  []string `json:"missingSample,omitempty"`
}

// churnSummary condenses a churn run's syncs of the changing org.
type churnSummary struct {
	Syncs, Swept int
	// ExtraRequests is the mean of the JumpCloud requests of a sync of the changing org less
	// those of the still sync; ExtraPercent the same relative to the still sync.
	ExtraRequests, ExtraPercent float64
	RepairReads                 float64 // mean
	Changes, Stable, Missing    int     // totals
}

// summary condenses the syncs of the changing org.
func (r *churnReport) summary() churnSummary {
	s := churnSummary{Syncs: len(r.Syncs)}
	if s.Syncs == 0 {
		return s
	}
	var extra, repairs int64
	for _, c := range r.Syncs {
		if c.Swept {
			s.Swept++
		}
		extra += c.JumpCloudRequests - r.Still.JumpCloudRequests
		repairs += int64(c.RepairReads)
		s.Changes += c.Changes
		s.Stable += c.Stable
		s.Missing += c.Missing
	}
	s.ExtraRequests = float64(extra) / float64(s.Syncs)
	s.RepairReads = float64(repairs) / float64(s.Syncs)
	if r.Still.JumpCloudRequests > 0 {
		s.ExtraPercent = 100 * s.ExtraRequests / float64(r.Still.JumpCloudRequests)
	}
	return s
}

// profileDir, when set, receives the worker's pprof profiles.
var profileDir string

// Fake credentials of the simulators and the integration's name: the benchmark's only
// secrets.
const (
	benchKey         = "jca_bench_key_0000000000000000000000000000"
	benchToken       = "atm_bench_token_000000000000000000000000"
	benchApp         = "app-bench"
	benchIntegration = "bench"
)

// benchSeed seeds the org's generator and the churn: every run measures the same org and the
// same sequence of changes.
const benchSeed = 2026
