package main

import (
	"strconv"

	"github.com/spf13/pflag"

	"jcsync/activities"
	"jcsync/internal/pacer"
)

// Defaults of the worker's concurrency, chosen for many integrations on one worker.
const (
	// defaultMaxConcurrentActivities: a sync runs one activity at a time (its current
	// phase, whose stages run inside it). Each integration has its own task queue and
	// worker (routing.New), and the slots bound each of them, so integrations never wait
	// for one another's slots whatever the value; 40 is the default of the single-queue
	// layout, kept so that a configuration that sets nothing behaves as before. A phase
	// holds its slot while its org's pacer holds it back, so a throttled org keeps its one
	// slot longer, never more of them.
	defaultMaxConcurrentActivities = 40
	// defaultPageConcurrency caps a stage's pages in flight. The org's pacer sizes what is
	// actually fetched at once (rate × latency, see activities.stageRun.concurrency); the cap
	// bounds a stage's memory (pages of 100 records) and matches the pacer's own bound.
	defaultPageConcurrency = activities.DefaultPageConcurrency
)

// flagMaxRPS is the ceiling on each org's JumpCloud rate; flagRPS, its former name, still
// works (operators' scripts and compose files use it) and means the same ceiling.
const (
	flagMaxRPS = "jumpcloud-max-rps"
	flagRPS    = "jumpcloud-rps"
)

// addMaxRPSFlag adds --jumpcloud-max-rps, with --jumpcloud-rps as another name for it. The
// environment's JCSYNC_JUMPCLOUD_MAX_RPS wins over the former JCSYNC_JUMPCLOUD_RPS. An empty
// or unset value is 0: no ceiling of the operator's, the pacer's default.
//
// The value used to be the rate itself; JumpCloud publishes no limit, so each org's rate is
// now found by its pacer (raised while JumpCloud answers, cut on 429 and Retry-After), and
// this only keeps it below what the operator allows. An old setting of 10 therefore keeps an
// org at or below 10 req/s, as before, only never leaning on 429s to do it.
func addMaxRPSFlag(fs *pflag.FlagSet, v *float64, getenv func(string) string) {
	def := envFloat(getenv, envJumpCloudRPS, 0)
	if s := getenv(envJumpCloudMaxRPS); s != "" {
		def = envFloat(getenv, envJumpCloudMaxRPS, def)
	}
	prev := fs.GetNormalizeFunc()
	fs.SetNormalizeFunc(func(f *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == flagRPS {
			name = flagMaxRPS
		}
		return prev(f, name)
	})
	fs.Float64Var(v, flagMaxRPS, def, "ceiling of each org's JumpCloud requests per second, unless its integration sets rps; "+
		"the rate below it is found from JumpCloud's 429s; 0: none but the pacer's "+strconv.FormatFloat(pacer.DefaultMax, 'f', -1, 64)+
		" (also --"+flagRPS+"; env "+envJumpCloudMaxRPS+" or "+envJumpCloudRPS+")")
}
