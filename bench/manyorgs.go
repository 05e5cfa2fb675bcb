package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"jcsync/internal/sim/control"
	"jcsync/internal/temporalnames"
	"jcsync/workflows"
)

// The many-orgs scenario: many integrations, each its own JumpCloud org with a limit of its
// own and its own Authomize app, synced at once by two workers that are told no rate. Each
// org runs in a simulator process of its own: a JumpCloud limit is per org, and one process
// per org is how the simulator already draws it, at ~15 MB a process.
const (
	manyOrgsLimit   = 10.0
	manyOrgsWorkers = 2
	// manyOrgsTarget is the most the syncs of all orgs at once may take over one sync alone.
	manyOrgsTarget = 1.5
	// activitiesPerSync is what a sync runs at once: one phase. Each worker gets a slot per
	// integration (the worker's own guidance for --max-concurrent-activities), so that it
	// could take every sync alone.
	activitiesPerSync = 1
)

// manyOrg is one org of the scenario at users users: a tenth of large at 2,000.
func manyOrg(users int) scenario {
	return scenario{Name: "many-orgs", Users: users, Groups: max(5, users/20), Admins: 5, Apps: max(3, users/70),
		MaxGroupSize: max(10, users/10), AvgGroupSize: min(40, max(5, users/50)), UserBindingsPerApp: 10,
		GroupBindingsPerApp: 3, Latency: pacingLatency, RPS: manyOrgsLimit, Unknown: true}
}

// orgSync is one org's sync in the scenario.
type orgSync struct {
	Name      string        `json:"name"`
	Wall      time.Duration `json:"wall"` // from the common start
	Requests  int64         `json:"requests"`
	Minimum   int           `json:"minimum"`
	Status429 int64         `json:"status429"`
	Rate      rateFigures   `json:"rate"`
	Exact     bool          `json:"exact"`
}

type manyOrgsReport struct {
	Org     scenario      `json:"org"`
	Orgs    int           `json:"orgs"`
	Workers int           `json:"workers"`
	Limit   float64       `json:"limit"`
	Single  orgSync       `json:"single"`
	Total   time.Duration `json:"total"`
	Ratio   float64       `json:"ratio"`
	Syncs   []orgSync     `json:"syncs"`
	// CPU is what the stack used during the syncs at once, when /proc tells (Linux); on a
	// machine that runs the simulators and Temporal beside the workers, that work divided by
	// the cores is a floor under the wall time no pacing can go below.
	CPU          *cpuUse `json:"cpu,omitempty"`
	SingleCPU    *cpuUse `json:"singleCpu,omitempty"`
	RatioToFloor float64 `json:"ratioToFloor,omitempty"`
}

// orgStack is the many-orgs stack: the dev server, one simulator process per org and the
// workers, which read every org from one integrations file.
type orgStack struct {
	*stack
	names []string
	ctls  []string // each org's admin endpoint
	dir   string
}

// runManyOrgs syncs one org alone (an org of its own, so that no worker has met it), then
// o.orgs others all at once.
func runManyOrgs(ctx context.Context, o options) (report, error) {
	sc := manyOrg(o.orgUsers)
	fmt.Fprintf(o.logw, "bench: running many-orgs (%d orgs of %d users, %d groups, %d apps; each limited at %g req/s, hidden from the workers)\n",
		o.orgs, sc.Users, sc.Groups, sc.Apps, sc.RPS)
	st, err := startOrgStack(ctx, o.bin, sc, o.orgs+1, o.logw)
	if err != nil {
		return nil, err
	}
	defer st.close()
	rep := &manyOrgsReport{Org: sc, Orgs: o.orgs, Workers: manyOrgsWorkers, Limit: sc.RPS}
	single, singleCPU, err := st.syncAll(ctx, []int{o.orgs})
	if err != nil {
		return nil, fmt.Errorf("the sync alone: %w", err)
	}
	rep.Single = single[0]
	fmt.Fprintf(o.logw, "bench: many-orgs: one sync alone took %s; now %d at once\n", rep.Single.Wall.Round(time.Millisecond), o.orgs)
	all := make([]int, o.orgs)
	for i := range all {
		all[i] = i
	}
	var allCPU *cpuUse
	rep.Syncs, allCPU, err = st.syncAll(ctx, all)
	for _, s := range rep.Syncs {
		rep.Total = max(rep.Total, s.Wall)
	}
	rep.Ratio = float64(rep.Total) / float64(max(1, rep.Single.Wall))
	if singleCPU != nil && allCPU != nil {
		rep.SingleCPU, rep.CPU = singleCPU, allCPU
		rep.RatioToFloor = rep.Total.Seconds() / max(rep.Single.Wall.Seconds(), allCPU.floor())
	}
	return rep, err
}

// startOrgStack starts the dev server, n simulators (org i seeded benchSeed+i) and the
// workers.
func startOrgStack(ctx context.Context, binDir string, sc scenario, n int, logw io.Writer) (st *orgStack, err error) {
	return startOrgStackWith(ctx, binDir, sc, n, manyOrgsWorkers, nil, logw)
}

// startOrgStackWith is startOrgStack with workers worker processes, and watch as each
// integration's watch settings (nil: none).
func startOrgStackWith(ctx context.Context, binDir string, sc scenario, n, workers int, watch map[string]any, logw io.Writer) (st *orgStack, err error) {
	binDir, _ = filepath.Abs(binDir)
	ports, err := freePorts(1 + 3*n)
	if err != nil {
		return nil, err
	}
	st = &orgStack{stack: &stack{queue: "bench-many-orgs", logw: logw}}
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	if st.dir, err = os.MkdirTemp("", "bench-many-orgs-"); err != nil {
		return nil, fmt.Errorf("a directory for the integrations file: %w", err)
	}
	temporalAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	if err := st.startTemporal(binDir, ports[0]); err != nil {
		return nil, err
	}
	var file struct {
		Integrations []map[string]any `json:"integrations"`
	}
	for i := range n {
		p := ports[1+3*i:]
		jc, az, ctl := fmt.Sprintf("127.0.0.1:%d", p[0]), fmt.Sprintf("127.0.0.1:%d", p[1]), fmt.Sprintf("127.0.0.1:%d", p[2])
		if err := st.startSim(binDir, simArgs(sc, jc, az, ctl, benchSeed+i), fmt.Sprintf("sim %d", i)); err != nil {
			return nil, err
		}
		name := fmt.Sprintf("org-%02d", i)
		st.names, st.ctls = append(st.names, name), append(st.ctls, "http://"+ctl)
		// Secrets are named, never written: the workers read them from their environment.
		file.Integrations = append(file.Integrations, map[string]any{
			"name":      name,
			"jumpcloud": map[string]any{"base_url": "http://" + jc, "api_key": map[string]string{"env": "BENCH_JUMPCLOUD_API_KEY"}},
			"authomize": map[string]any{"base_url": "http://" + az, "app_id": benchApp, "integration_name": name,
				"token": map[string]string{"env": "BENCH_AUTHOMIZE_TOKEN"}},
		})
		if watch != nil {
			file.Integrations[i]["watch"] = watch
		}
	}
	for i, ctl := range st.ctls {
		if err := waitHTTP(ctx, ctl+"/counts", 10*time.Minute); err != nil {
			return nil, fmt.Errorf("simulator %d never came up: %w", i, err)
		}
	}
	cfg := filepath.Join(st.dir, "integrations.json")
	b, _ := json.Marshal(file)
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		return nil, fmt.Errorf("write the integrations file: %w", err)
	}
	if st.client, err = dialTemporal(ctx, temporalAddr); err != nil {
		return nil, err
	}
	args := []string{"--temporal-address", temporalAddr, "--task-queue", st.queue, "--metrics-address", "",
		"--log-level", "warn", "--config", cfg, "--max-concurrent-activities", strconv.Itoa(activitiesPerSync * n)}
	env := []string{"BENCH_JUMPCLOUD_API_KEY=" + benchKey, "BENCH_AUTHOMIZE_TOKEN=" + benchToken}
	for range workers {
		if _, err := st.startWorker(binDir, args, env); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func (st *orgStack) close() {
	st.stack.close()
	if st.dir != "" {
		os.RemoveAll(st.dir)
	}
}

// syncAll resets the counters of the orgs given, starts their syncs at once and waits for
// every one. Each wall time runs from the common start. It fails when any sync fails or is
// not exact, and returns the figures with that error, and the CPU the stack used from the
// start to the last sync's end (nil where /proc cannot tell): the counters' reset and the
// verdicts, which are the benchmark's own work, fall outside it.
func (st *orgStack) syncAll(ctx context.Context, orgs []int) ([]orgSync, *cpuUse, error) {
	for _, i := range orgs {
		if err := postReset(st.ctls[i]); err != nil {
			return nil, nil, err
		}
	}
	cpu0, cpuOK := st.cpu()
	out := make([]orgSync, len(orgs))
	errs := make([]error, len(orgs))
	began := time.Now()
	ctx, cancel := st.whileWorkersRun(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for j, i := range orgs {
		out[j].Name = st.names[i]
		run, err := st.startSync(ctx, temporalnames.SyncID(st.names[i]), workflows.SyncInput{Integration: st.names[i]})
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", st.names[i], err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[j] = run.Get(ctx, nil); errs[j] != nil {
				errs[j] = errors.Join(errs[j], context.Cause(ctx))
			}
			out[j].Wall = time.Since(began)
		}()
	}
	wg.Wait()
	var used *cpuUse
	if cpu1, ok := st.cpu(); ok && cpuOK {
		d := cpu1.minus(cpu0)
		used = &d
	}
	var first error
	for j, i := range orgs {
		if err := st.orgFigures(i, &out[j], errs[j]); err != nil && first == nil {
			first = err
		}
	}
	return out, used, first
}

// orgFigures reads org i's counters and verdict into s.
func (st *orgStack) orgFigures(i int, s *orgSync, syncErr error) error {
	if syncErr != nil {
		return fmt.Errorf("%s: sync failed: %w", s.Name, syncErr)
	}
	var counts control.Counts
	if err := getJSON(st.ctls[i]+"/counts", &counts); err != nil {
		return err
	}
	var v control.Verdict
	if err := getJSON(st.ctls[i]+"/verify", &v); err != nil {
		return err
	}
	s.Requests, s.Status429, s.Exact = counts.JumpCloudTotal, counts.JumpCloudByStatus[429], v.Exact
	for _, n := range v.MinRequests {
		s.Minimum += n
	}
	var err error
	if s.Rate, err = (&stack{ctl: st.ctls[i]}).rate(manyOrgsLimit); err != nil {
		return err
	}
	if !v.Exact {
		return fmt.Errorf("%s: the Authomize snapshot is not exactly the org (%d differences: %v)", s.Name, v.Differences, v.Sample)
	}
	return nil
}

// extremes returns the slowest and the fastest sync.
func (r *manyOrgsReport) extremes() (slowest, fastest orgSync) {
	for i, s := range r.Syncs {
		if i == 0 || s.Wall > slowest.Wall {
			slowest = s
		}
		if i == 0 || s.Wall < fastest.Wall {
			fastest = s
		}
	}
	return slowest, fastest
}

func (r *manyOrgsReport) print(w io.Writer) {
	fmt.Fprintf(w, "scenario many-orgs: %d orgs of %s; latency %s; each org limited at %g req/s (hidden from the workers); %d workers\n",
		r.Orgs, orgText(r.Org), r.Org.Latency, r.Limit, r.Workers)
	var req, r429 int64
	var minimum, over, exact int
	for _, s := range r.Syncs {
		req, r429, minimum, over = req+s.Requests, r429+s.Status429, minimum+s.Minimum, over+s.Rate.SecondsOver
		if s.Exact {
			exact++
		}
	}
	slow, fast := r.extremes()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  one sync alone: wall (requests, 429s)\t%s (%d, %d)\n", r.Single.Wall.Round(100*time.Millisecond), r.Single.Requests, r.Single.Status429)
	fmt.Fprintf(tw, "  all %d at once: wall\t%s\n", r.Orgs, r.Total.Round(100*time.Millisecond))
	fmt.Fprintf(tw, "  all at once ÷ alone\t%.3f\t%s\n", r.Ratio, verdict(r.Ratio <= manyOrgsTarget))
	if r.CPU != nil {
		fmt.Fprintf(tw, "  CPU of the sync alone\t%s\n", r.SingleCPU)
		fmt.Fprintf(tw, "  CPU of all at once\t%s\n", r.CPU)
		fmt.Fprintf(tw, "  that CPU ÷ %d cores (the machine's floor)\t%.1f s\n", runtime.NumCPU(), r.CPU.floor())
		fmt.Fprintf(tw, "  all at once ÷ max(alone, floor)\t%.3f\n", r.RatioToFloor)
	}
	fmt.Fprintf(tw, "  exact\t%d of %d\n", exact, r.Orgs)
	fmt.Fprintf(tw, "  JumpCloud requests (minimum); 429s\t%d (%d); %d (%.2f %%)\n", req, minimum, r429, pct(r429, req))
	fmt.Fprintf(tw, "  seconds in which an org got more than %g requests\t%d\n", r.Limit*fleetHeadroom, over)
	fmt.Fprintf(tw, "  slowest org\t%s: %s, %d requests, %d 429s\n", slow.Name, slow.Wall.Round(100*time.Millisecond), slow.Requests, slow.Status429)
	fmt.Fprintf(tw, "  fastest org\t%s: %s, %d requests, %d 429s\n", fast.Name, fast.Wall.Round(100*time.Millisecond), fast.Requests, fast.Status429)
	tw.Flush()
	fmt.Fprintf(w, "  target: all at once ÷ alone ≤ %.1f\n\n", manyOrgsTarget)
}
