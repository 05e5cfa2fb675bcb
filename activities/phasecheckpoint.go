package activities

import (
	"context"
	"maps"
	"slices"
	"sync"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
)

// PhaseCheckpointVersion is bumped whenever PhaseCheckpoint changes shape; a retried phase
// that finds a checkpoint of another version starts every stage over rather than misread it.
const PhaseCheckpointVersion = 1

// PhaseCheckpoint is the heartbeat detail of the Phase activity: the checkpoint of every stage
// of the phase still running, and the result of every stage that finished. A retried attempt
// (on this worker or another) resumes each running stage from its own checkpoint and does not
// run the finished ones again. Its version sits under its own key ("phaseV"), so neither kind
// of checkpoint is ever taken for the other.
type PhaseCheckpoint struct {
	Version int `json:"phaseV"`
	// Stages are the phase's stages, in the order the workflow gave them.
	Stages []string `json:"stages"`
	// Running holds the last checkpoint of each stage that has not finished.
	Running map[string]Checkpoint `json:"running,omitempty"`
	// Done holds the result of each stage that finished, in this attempt or an earlier one.
	Done map[string]StageResult `json:"done,omitempty"`
	// ProgressAttempt is the latest attempt (1-based) in which any stage of the phase committed
	// a page, finished a parent or finished: the phase is given up on after a budget of
	// attempts in a row without progress, like a stage (see StageInput.StallAttempts).
	// An attempt cut short by its worker's stop counts neither way: it moves ProgressAttempt
	// on by one, so that the attempts after ProgressAttempt are the attempts without progress
	// that count (see heartbeatMux.stopped). Checkpoints before this rule read the same way.
	ProgressAttempt int `json:"progressAttempt,omitempty"`
	// LastError is the error the last failed attempt returned, with its stage.
	LastError string `json:"lastError,omitempty"`
}

// clone copies the checkpoint's maps; the checkpoints and results in them are never changed
// once stored, so sharing them is safe.
func (cp PhaseCheckpoint) clone() PhaseCheckpoint {
	cp.Stages = slices.Clone(cp.Stages)
	cp.Running = maps.Clone(cp.Running)
	cp.Done = maps.Clone(cp.Done)
	return cp
}

// ReadPhaseCheckpoint decodes the heartbeat details of a Phase activity with dc. ok is false
// when there are none, or they are not a phase checkpoint of this version.
func ReadPhaseCheckpoint(details *commonpb.Payloads, dc converter.DataConverter) (PhaseCheckpoint, bool) {
	var cp PhaseCheckpoint
	if len(details.GetPayloads()) == 0 {
		return cp, false
	}
	if err := dc.FromPayloads(details, &cp); err != nil || cp.Version != PhaseCheckpointVersion {
		return PhaseCheckpoint{}, false
	}
	return cp, true
}

// heartbeatMux gathers the checkpoints of the stages of one phase into the phase's one
// heartbeat. Each stage records its checkpoints in order already (stageRun.beat); the mux
// builds and records the composite under its lock, so the composite never steps back either.
type heartbeatMux struct {
	mu      sync.Mutex
	cp      PhaseCheckpoint
	attempt int
	// record records a heartbeat: activity.RecordHeartbeat, or a test's recorder. It is
	// always called with actx, the activity's own context (see stageRun.beat).
	record func(ctx context.Context, details ...any)
	actx   context.Context
}

func newHeartbeatMux(ctx context.Context, cp PhaseCheckpoint, attempt int) *heartbeatMux {
	return &heartbeatMux{cp: cp, attempt: attempt, record: activity.RecordHeartbeat, actx: ctx}
}

// stage takes a stage's new checkpoint. A stage's progress is the phase's progress. A
// checkpoint that arrives after the stage finished (its timer's last tick) is ignored.
func (m *heartbeatMux) stage(name string, cp Checkpoint) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, done := m.cp.Done[name]; done {
		return
	}
	if m.cp.Running == nil {
		m.cp.Running = map[string]Checkpoint{}
	}
	m.cp.Running[name] = cp
	m.cp.ProgressAttempt = max(m.cp.ProgressAttempt, cp.ProgressAttempt)
	m.beatLocked()
}

// done records a finished stage: its result replaces its checkpoint, and finishing is progress.
func (m *heartbeatMux) done(r StageResult) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.cp.Running, r.Stage)
	if m.cp.Done == nil {
		m.cp.Done = map[string]StageResult{}
	}
	m.cp.Done[r.Stage] = r
	m.cp.ProgressAttempt = max(m.cp.ProgressAttempt, m.attempt)
	m.beatLocked()
}

// failed records the error of a failed attempt and returns the latest attempt that made
// progress. The SDK sends this last heartbeat with the failure, so the next attempt sees it.
func (m *heartbeatMux) failed(lastError string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cp.LastError = truncateError(lastError)
	m.beatLocked()
	return m.cp.ProgressAttempt
}

// stopped records the end of an attempt cut short by its worker's stop, and returns the
// composite it records. Such an attempt is neither progress nor an attempt without progress:
// when it made none, ProgressAttempt moves on by one, which leaves it out of the count of
// attempts in a row without progress (attempt - ProgressAttempt) of this phase and of every
// stage that resumes from it. The last error stays the last real one.
func (m *heartbeatMux) stopped() PhaseCheckpoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cp.ProgressAttempt < m.attempt {
		m.cp.ProgressAttempt++
	}
	m.beatLocked()
	return m.cp.clone()
}

func (m *heartbeatMux) beatLocked() { m.record(m.actx, m.cp.clone()) }

// snapshot is a copy of the composite.
func (m *heartbeatMux) snapshot() PhaseCheckpoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cp.clone()
}

// phaseSlot is what a stage running inside a phase takes from its context: where its
// checkpoints go, and the checkpoint it resumes from.
type phaseSlot struct {
	mux    *heartbeatMux
	resume map[string]Checkpoint
	// progressAttempt is the phase's last attempt with progress: a stage with no checkpoint
	// of its own in the composite starts its count there, not at this attempt (which would
	// make this attempt look like progress to the phase at the stage's first heartbeat).
	progressAttempt int
}

type phaseSlotKey struct{}

func withPhaseSlot(ctx context.Context, slot *phaseSlot) context.Context {
	return context.WithValue(ctx, phaseSlotKey{}, slot)
}

func phaseSlotOf(ctx context.Context) *phaseSlot {
	slot, _ := ctx.Value(phaseSlotKey{}).(*phaseSlot)
	return slot
}

// heartbeatRecorder is how a stage records its checkpoints: into its phase's mux when it runs
// inside a phase, else as its own activity's heartbeat.
func heartbeatRecorder(ctx context.Context, stage string) func(context.Context, ...any) {
	slot := phaseSlotOf(ctx)
	if slot == nil {
		return activity.RecordHeartbeat
	}
	return func(_ context.Context, details ...any) {
		if len(details) == 1 {
			if cp, ok := details[0].(Checkpoint); ok {
				slot.mux.stage(stage, cp)
			}
		}
	}
}

// priorCheckpoint is the checkpoint an earlier attempt of the stage left: in its phase's
// composite checkpoint when it runs inside a phase, else in its own heartbeat details. ok is
// false when there is none of this version.
func priorCheckpoint(ctx context.Context, stage string) (Checkpoint, bool) {
	var cp Checkpoint
	if slot := phaseSlotOf(ctx); slot != nil {
		cp, ok := slot.resume[stage]
		return cp, ok && cp.Version == CheckpointVersion
	}
	if !activity.HasHeartbeatDetails(ctx) {
		return cp, false
	}
	if err := activity.GetHeartbeatDetails(ctx, &cp); err != nil || cp.Version != CheckpointVersion {
		return cp, false
	}
	return cp, true
}
