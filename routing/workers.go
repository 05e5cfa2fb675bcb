// Package routing decides which task queues a worker process polls and what runs on each:
// an integration's syncs go only to workers that hold the integration. It builds the
// process's workers from its integrations, tells whether any running worker holds an
// integration, and moves the schedules of the previous single-queue layout onto the
// integration queues.
package routing

import (
	"errors"
	"fmt"
	"sync"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"jcsync/activities"
	"jcsync/internal/temporalnames"
	"jcsync/workflows"
)

// Carries says what one task queue carries.
type Carries int

const (
	// Syncs is an integration's queue (temporalnames.IntegrationQueue): its syncs' and checks'
	// workflow tasks and every activity of its syncs.
	Syncs Carries = iota
	// Checks is an integration's checks queue (temporalnames.ChecksQueue): the credential
	// check activity alone, on slots of its own, so a check never waits behind the hours-long
	// phases that hold the Syncs queue's slots.
	Checks
	// HandOver is the base task queue: workflow tasks only, of the stand-ins that move a run
	// started there to its integration's queue (workflows.HandOverSync). No activity is ever
	// taken from it, so no worker runs anything of an integration it does not hold.
	HandOver
)

func (c Carries) String() string {
	switch c {
	case Syncs:
		return "syncs"
	case Checks:
		return "checks"
	case HandOver:
		return "hand-over"
	}
	return fmt.Sprintf("Carries(%d)", int(c))
}

// Poll is one worker of the process: the task queue it polls and what for.
type Poll struct {
	Queue string
	// Integration is the integration whose queue it is; empty for the base queue.
	Integration string
	Carries     Carries
	Worker      worker.Worker
}

// Workers is every worker of one process.
type Workers []Poll

// New builds the workers of a process that holds acts.Integrations, under the base task
// queue: for each integration (in name order) one on its queue and one on its checks queue,
// then one on the base queue. options gives each worker's options (slots, stop timeout,
// heartbeat throttling, versioning); what a queue must not carry is enforced here on top of
// them: the checks worker polls no workflow tasks, the base queue's no activity tasks.
// All the workers share acts, so each org keeps one pacer per process.
func New(c client.Client, base string, acts *activities.Activities, options func(Carries) worker.Options) (Workers, error) {
	if base == "" {
		return nil, errors.New("the base task queue is empty: set --task-queue")
	}
	var ws Workers
	for _, name := range acts.Integrations.Names() {
		q := temporalnames.IntegrationQueue(base, name)
		w := worker.New(c, q, options(Syncs))
		workflows.Register(w, acts)
		ws = append(ws, Poll{Queue: q, Integration: name, Carries: Syncs, Worker: w})

		opts := options(Checks)
		opts.DisableWorkflowWorker = true
		cw := worker.New(c, temporalnames.ChecksQueue(q), opts)
		activities.RegisterChecks(cw, acts)
		ws = append(ws, Poll{Queue: temporalnames.ChecksQueue(q), Integration: name, Carries: Checks, Worker: cw})
	}
	opts := options(HandOver)
	// Polls workflow tasks only: an activity on the base queue (of a sync started before
	// routing, by a worker of the previous version) belongs to an integration this process
	// may not hold.
	opts.LocalActivityWorkerOnly = true
	hw := worker.New(c, base, opts)
	workflows.RegisterHandOver(hw)
	ws = append(ws, Poll{Queue: base, Carries: HandOver, Worker: hw})
	return ws, nil
}

// Start starts every worker; when one fails, those already started are stopped.
func (ws Workers) Start() error {
	for i, p := range ws {
		if err := p.Worker.Start(); err != nil {
			ws[:i].Stop()
			return fmt.Errorf("start the worker of task queue %s (%s): %w", p.Queue, p.Carries, err)
		}
	}
	return nil
}

// Stop stops every worker at once: each running phase hands over as its worker stops, and
// stopping them one after another would add up their stop timeouts.
func (ws Workers) Stop() {
	var wg sync.WaitGroup
	for _, p := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Worker.Stop()
		}()
	}
	wg.Wait()
}

// Queues lists the task queues polled, for the worker's start log.
func (ws Workers) Queues() []string {
	qs := make([]string, len(ws))
	for i, p := range ws {
		qs[i] = p.Queue
	}
	return qs
}
