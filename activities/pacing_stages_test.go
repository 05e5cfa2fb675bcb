package activities_test

import (
	"sync"
	"testing"

	"jcsync/activities"
	"jcsync/internal/authomize"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/pacer"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/testenv"
)

// pacerWatch is an Observer that keeps the pacers the worker creates.
type pacerWatch struct {
	mu     sync.Mutex
	pacers map[string][]*pacer.Pacer // "integration/api" → pacers, in order of creation
}

func (w *pacerWatch) JumpCloudRequest(string, jumpcloud.RequestInfo)   {}
func (w *pacerWatch) AuthomizeRequest(string, authomize.RequestInfo)   {}
func (w *pacerWatch) Items(string, string, string, int)                {}
func (w *pacerWatch) StageDone(string, string, activities.StageResult) {}
func (w *pacerWatch) Pacer(integration, api string, p *pacer.Pacer)    { w.add(integration+"/"+api, p) }
func (w *pacerWatch) add(k string, p *pacer.Pacer) {
	w.mu.Lock()
	w.pacers[k] = append(w.pacers[k], p)
	w.mu.Unlock()
}
func (w *pacerWatch) get(k string) []*pacer.Pacer {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pacers[k]
}

var _ activities.PacingObserver = (*pacerWatch)(nil)

// Two stages of one org share one pacer: its requests are the sum of theirs, and each
// stage's result reports the pace it settled at, with the 429s of its own requests.
func TestStagesOfOneOrgShareOnePacer(t *testing.T) {
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 5, Users: 900, Groups: 30, Admins: 2, Apps: 3}))
	// A limit the pacer must find: JumpCloud answers 429 with Retry-After beyond 80 req/s.
	sims.JC.SetRateLimit(80, 8, true)
	env, a := newActivityEnv(t, sims, false)
	integ := a.Integrations["acme"]
	integ.JumpCloud.RPS = 0 // no ceiling from the integration: the worker's, then the pacer's
	a.Integrations["acme"] = integ
	watch := &pacerWatch{pacers: map[string][]*pacer.Pacer{}}
	a.Observer = watch

	var results []activities.StageResult
	for _, stage := range []any{a.Users, a.Groups} {
		v, err := env.ExecuteActivity(stage, activities.StageInput{Integration: "acme"})
		if err != nil {
			t.Fatal(err)
		}
		var r activities.StageResult
		if err := v.Get(&r); err != nil {
			t.Fatal(err)
		}
		results = append(results, r)
	}
	jc, az := watch.get("acme/"+activities.APIJumpCloud), watch.get("acme/"+activities.APIAuthomize)
	if len(jc) != 1 || len(az) != 1 {
		t.Fatalf("%d JumpCloud and %d Authomize pacers for one integration, want one of each", len(jc), len(az))
	}
	snap := jc[0].Snapshot()
	sum, throttled := 0, 0
	for _, r := range results {
		sum += r.Counts.JumpCloudRequests
		throttled += r.Counts.JumpCloudThrottled
		if r.Pacing == nil || r.Pacing.JumpCloud.Rate <= 0 || r.Pacing.JumpCloud.Ceiling != pacer.DefaultMax || r.Pacing.Authomize.Rate <= 0 {
			t.Fatalf("stage %s: pacing %+v", r.Stage, r.Pacing)
		}
		t.Logf("%s: %d requests, JumpCloud %s; Authomize %s", r.Stage, r.Counts.JumpCloudRequests, r.Pacing.JumpCloud, r.Pacing.Authomize)
	}
	if int(snap.Requests) != sum {
		t.Fatalf("the org's pacer sent %d requests, the stages %d: they do not share it", snap.Requests, sum)
	}
	if int(snap.Throttled) != throttled {
		t.Fatalf("the pacer saw %d 429s, the stages counted %d", snap.Throttled, throttled)
	}
}
