package chaos

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jcsync/activities"
	"jcsync/internal/config"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/sim/authomizesim"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// clientTimeout is the HTTP client timeout of the storm tests' workers: slow responses
// injected below take longer, so they exercise the timeout path, not just patience.
const clientTimeout = time.Second

// countingTransport counts the transport errors the worker's clients see, by kind, so the
// summary can show what the faults looked like from the client's side.
type countingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen map[string]int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := c.next.RoundTrip(r)
	if err != nil {
		kind := "other"
		var ne net.Error
		switch {
		// http.Client enforces its Timeout by cancelling the request, so below the client
		// a timeout mostly shows as a cancelled request context.
		case errors.As(err, &ne) && ne.Timeout(), r.Context().Err() != nil:
			kind = "timeout"
		case strings.Contains(err.Error(), "reset"), strings.Contains(err.Error(), "EOF"):
			kind = "reset"
		}
		c.mu.Lock()
		c.seen[kind]++
		c.mu.Unlock()
	}
	return res, err
}

// stormWorker starts an in-process worker whose clients time out after clientTimeout and
// whose transport errors are counted.
func stormWorker(t *testing.T, tc *testenv.Temporal, queue string, in config.Integration) *countingTransport {
	ct := &countingTransport{next: http.DefaultTransport.(*http.Transport).Clone(), seen: map[string]int64{}}
	testenv.StartWorker(t, tc.Client, queue, config.Integrations{in.Name: in}, func(a *activities.Activities) {
		a.HTTPClient = &http.Client{Timeout: clientTimeout, Transport: ct}
		a.PageConcurrency = 4
	})
	return ct
}

func stormOrg(seed int64) *jumpcloudsim.Org {
	return jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: seed, Users: 1500, Groups: 120, Admins: 10, Apps: 25})
}

func recordClientSaw(prefix string, ct *countingTransport) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	sum.with(func(s *summary) {
		for k, v := range ct.seen {
			s.clientSaw[prefix+" "+k] += v
		}
	})
}

// TestJumpCloudFaultStorm: 20% 429 (half with Retry-After), 5% 5xx, 2% resets, 2%
// truncated bodies, 1% malformed bodies and 4% responses slower than the client timeout,
// on every JumpCloud request. The sync must still be exact.
func TestJumpCloudFaultStorm(t *testing.T) {
	tc := devServer(t)
	sims := testenv.StartSims(t, stormOrg(21))
	name := "jc-storm"
	ct := stormWorker(t, tc, "chaos-"+name, sims.Integration(name, false))
	sims.JC.SetFaults(jumpcloudsim.Faults{
		Rate429: 0.20, Rate429RetryAfter: 0.5, Rate5xx: 0.05, RateReset: 0.02,
		// 4 % slow: the sync makes about 280 requests, and at 1 % one in twenty runs drew no
		// slow answer at all, leaving the timeout path untried.
		RateTruncated: 0.02, RateMalformed: 0.01, RateSlow: 0.04, Slow: 2 * clientTimeout, Seed: 2024,
	})
	started := time.Now()
	run := startSync(t, tc.Client, "chaos-"+name, workflows.SyncInput{Integration: name, HeartbeatTimeout: 10 * time.Second})
	res, err := waitSync(t, tc.Client, run, 4*time.Minute)
	sims.JC.ClearFaults()
	if err != nil {
		t.Fatalf("sync under a JumpCloud fault storm: %v", err)
	}
	requireExact(t, sims, expected(sims))
	c := sims.JC.Counts()
	var fivexx int64
	for _, s := range []int{500, 502, 503, 504} {
		fivexx += c.ByStatus[s]
	}
	injected := map[string]int64{
		"429": c.ByStatus[429], "5xx": fivexx, "reset": c.ByStatus[jumpcloudsim.FailReset],
		"truncated": c.ByStatus[jumpcloudsim.FailTruncated],
	}
	sum.with(func(s *summary) {
		for k, v := range injected {
			s.jcFaults[k] += v
		}
	})
	recordClientSaw("JumpCloud storm:", ct)
	t.Logf("JumpCloud storm: %d requests, injected %v, client saw %v; sync took %s with %d JumpCloud retries",
		c.Total, injected, ct.seen, time.Since(started).Round(time.Millisecond), res.JumpCloudRetries)
	if injected["429"] == 0 || injected["5xx"] == 0 || injected["reset"] == 0 {
		t.Fatalf("the storm injected too little to prove anything: %v", injected)
	}
	if ct.seen["timeout"] == 0 {
		t.Fatal("no JumpCloud response outlasted the client timeout: the timeout path was not exercised")
	}
	if res.JumpCloudRetries == 0 {
		t.Fatal("the result reports no JumpCloud retries under a fault storm")
	}
}

// TestAuthomizeFaultStorm: 5% 429 (half with Retry-After), 5% 5xx, 2% resets and 2%
// responses slower than the client timeout, on every Authomize request including the sweep.
func TestAuthomizeFaultStorm(t *testing.T) {
	tc := devServer(t)
	sims := testenv.StartSims(t, stormOrg(22))
	name := "az-storm"
	ct := stormWorker(t, tc, "chaos-"+name, sims.Integration(name, false))
	sims.AZ.SetFaults(authomizesim.Faults{
		Rate429: 0.05, Rate429RetryAfter: 0.5, Rate5xx: 0.05, RateReset: 0.02,
		RateSlow: 0.04, Slow: 2 * clientTimeout, Seed: 2025,
	})
	started := time.Now()
	run := startSync(t, tc.Client, "chaos-"+name, workflows.SyncInput{Integration: name, HeartbeatTimeout: 10 * time.Second})
	res, err := waitSync(t, tc.Client, run, 4*time.Minute)
	sims.AZ.ClearFaults()
	if err != nil {
		t.Fatalf("sync under an Authomize fault storm: %v", err)
	}
	requireExact(t, sims, expected(sims))
	injected := map[string]int64{}
	for _, byStatus := range sims.AZ.Counts().ByEndpoint {
		for st, n := range byStatus {
			switch {
			case st == 429:
				injected["429"] += int64(n)
			case st >= 500:
				injected["5xx"] += int64(n)
			case st == 0:
				injected["reset"] += int64(n)
			case st == 499:
				injected["slow (client gave up)"] += int64(n)
			}
		}
	}
	sum.with(func(s *summary) {
		for k, v := range injected {
			s.azFaults[k] += v
		}
	})
	recordClientSaw("Authomize storm:", ct)
	t.Logf("Authomize storm: injected %v, client saw %v; sync took %s with %d Authomize retries",
		injected, ct.seen, time.Since(started).Round(time.Millisecond), res.AuthomizeRetries)
	if injected["429"] == 0 || injected["5xx"] == 0 || injected["reset"] == 0 {
		t.Fatalf("the storm injected too little to prove anything: %v", injected)
	}
	if !res.Swept {
		t.Fatal("the sync did not sweep")
	}
	if ct.seen["timeout"] == 0 {
		t.Fatal("no Authomize response outlasted the client timeout: the timeout path was not exercised")
	}
}

// TestOrgChangesDuringSync changes the org from another goroutine while a sync reads it:
// users added and removed between pages, memberships added and removed. The run must
// complete without error (what it reads is a blur of states, which is fine), and the next
// run, with the org at rest, must be exact.
func TestOrgChangesDuringSync(t *testing.T) {
	tc := devServer(t)
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 31, Users: 3000, Groups: 150, Admins: 8, Apps: 30})
	sims := testenv.StartSims(t, org)
	sims.JC.SetLatency(5 * time.Millisecond)
	sims.AZ.SetLatency(5 * time.Millisecond)
	name := "org-changes"
	queue := "chaos-" + name
	testenv.StartWorker(t, tc.Client, queue, config.Integrations{name: sims.Integration(name, false)}, func(a *activities.Activities) { a.PageConcurrency = 4 })

	stop := make(chan struct{})
	var changes atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(31, 31))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(15 * time.Millisecond):
			}
			sims.JC.Update(func(o *jumpcloudsim.Org) {
				id := o.AddUser(jumpcloud.SystemUser{Username: fmt.Sprintf("churn%d", i), Email: fmt.Sprintf("churn%d@example.org", i),
					Firstname: "Churn", Lastname: fmt.Sprint(i), State: jumpcloud.StateActivated, Activated: true})
				o.RemoveUser(o.Users[rng.IntN(len(o.Users))].ID)
				g := o.Groups[rng.IntN(len(o.Groups))].ID
				o.AddMember(g, id)
				if m := o.Members[g]; len(m) > 1 {
					o.RemoveMember(g, m[0])
				}
			})
			changes.Add(1)
		}
	}()
	run := startSync(t, tc.Client, queue, workflows.SyncInput{Integration: name, HeartbeatTimeout: 10 * time.Second})
	res, err := waitSync(t, tc.Client, run, 4*time.Minute)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("a sync of an org that changed while it ran failed: %v", err)
	}
	diff := testenv.Diff(expected(sims), sims.AZ.Snapshot(testenv.AppID))
	t.Logf("%d changes during the first run; it read %v and ended %d differences from the org at rest", changes.Load(), res.Read, len(diff))
	if changes.Load() < 10 {
		t.Fatalf("only %d changes during the sync: the test proved nothing", changes.Load())
	}
	run = startSync(t, tc.Client, queue, workflows.SyncInput{Integration: name, HeartbeatTimeout: 10 * time.Second})
	if _, err := waitSync(t, tc.Client, run, 4*time.Minute); err != nil {
		t.Fatalf("the sync after the changes: %v", err)
	}
	requireExact(t, sims, expected(sims))
}
