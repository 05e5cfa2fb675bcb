package activities

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"jcsync/internal/authomize"
	"jcsync/internal/config"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/transform"
)

// Stage names, in the order a sync runs them.
const (
	StageUsers  = "users"
	StageAdmins = "admins"
	StageGroups = "groups"
	StageApps   = "apps"
)

// Phases are the stages in dependency order; the stages of one phase run in parallel.
// Authomize checks references when relations arrive, so a relation is uploaded only after
// what it points at. Each stage that reads a list also uploads that list's relations, so
// every JumpCloud list is read exactly once:
//   - users and admins (with the admins' role memberships) point at nothing else;
//   - groups, then each group's members: memberships point at user accounts;
//   - apps, then each app's bindings: permissions point at accounts and groupings.
var Phases = [][]string{{StageUsers, StageAdmins}, {StageGroups}, {StageApps}}

// Stages lists every stage in phase order.
func Stages() []string {
	var out []string
	for _, p := range Phases {
		out = append(out, p...)
	}
	return out
}

// StageInput is the input of every stage activity. No secrets: the worker resolves them.
type StageInput struct {
	Integration string `json:"integration"`
	DryRun      bool   `json:"dryRun,omitempty"`
	// OwnerID is the Authomize uniqueId of the app owner's account, when known.
	OwnerID string `json:"ownerId,omitempty"`
}

// stageRun is one attempt of one stage: its clients, its checkpoint, and its counters.
type stageRun struct {
	name    string
	in      StageInput
	integ   config.Integration
	jc      *jumpcloud.Client
	az      *authomize.Client
	topt    transform.Options
	a       *Activities
	started time.Time

	mu    sync.Mutex
	cp    Checkpoint
	prior StageCounts // the counts of earlier attempts, from the checkpoint
}

func (a *Activities) startStage(ctx context.Context, name string, in StageInput) (*stageRun, error) {
	integ, err := a.integration(in.Integration)
	if err != nil {
		return nil, err
	}
	jc, err := a.jumpCloud(integ)
	if err != nil {
		return nil, err
	}
	az, err := a.authomize(integ)
	if err != nil {
		return nil, err
	}
	s := &stageRun{
		name: name, in: in, integ: integ, jc: jc, az: az, a: a, started: time.Now(),
		topt: transform.Options{Identities: integ.Identities, OwnerID: in.OwnerID},
		cp:   Checkpoint{Version: CheckpointVersion},
	}
	if activity.HasHeartbeatDetails(ctx) {
		var cp Checkpoint
		if err := activity.GetHeartbeatDetails(ctx, &cp); err == nil && cp.Version == CheckpointVersion {
			s.cp = cp
			a.logger().WithFields(map[string]any{
				"integration": in.Integration, "stage": name, "resume_from": cp.NextSkip,
				"attempt": activity.GetInfo(ctx).Attempt,
			}).Info("stage resumes from its checkpoint")
		}
	}
	s.cp.Counts.Attempts++
	s.prior = s.cp.Counts
	return s, nil
}

// commit records that every page before next was uploaded, and heartbeats the checkpoint.
// The SDK throttles heartbeats; the last one is flushed when the activity returns an error.
func (s *stageRun) commit(ctx context.Context, next int) {
	s.mu.Lock()
	s.cp.NextSkip = next
	s.foldStats()
	cp := s.cp
	cp.Counts = cloneCounts(s.cp.Counts)
	s.mu.Unlock()
	activity.RecordHeartbeat(ctx, cp)
}

// foldStats adds this attempt's client counters to the counts of earlier attempts.
func (s *stageRun) foldStats() {
	jc, az := s.jc.Stats(), s.az.Stats()
	c := &s.cp.Counts
	c.JumpCloudRequests = s.prior.JumpCloudRequests + int(jc.Requests)
	c.JumpCloudRetries = s.prior.JumpCloudRetries + int(jc.Retries)
	c.AuthomizeRequests = s.prior.AuthomizeRequests + int(az.Requests)
	c.AuthomizeRetries = s.prior.AuthomizeRetries + int(az.Retries)
}

func (s *stageRun) read(kind string, n int) {
	s.mu.Lock()
	s.cp.Counts.addRead(kind, n)
	s.mu.Unlock()
}

func (s *stageRun) page() {
	s.mu.Lock()
	s.cp.Counts.Pages++
	s.mu.Unlock()
}

func (s *stageRun) report(r transform.Report) {
	s.mu.Lock()
	mergeReport(&s.cp.Counts.Report, r)
	s.mu.Unlock()
}

func (s *stageRun) result() StageResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.foldStats()
	r := StageResult{Stage: s.name, Counts: cloneCounts(s.cp.Counts), Duration: time.Since(s.started)}
	if s.a.Observer != nil {
		s.a.Observer.StageDone(s.in.Integration, s.name, r)
	}
	return r
}

// upload sends items of one kind (or, in a dry run, only counts them) and folds what
// Authomize accepted into the stage's counts.
func upload[T any](ctx context.Context, s *stageRun, kind string, items []T, send func(context.Context, []T) (authomize.UploadResult, error)) error {
	if len(items) == 0 {
		return nil
	}
	if s.in.DryRun {
		s.mu.Lock()
		s.cp.Counts.addUploaded(kind, len(items))
		s.mu.Unlock()
		return nil
	}
	res, err := send(ctx, items)
	if err != nil {
		return classify(fmt.Errorf("upload %d %s to Authomize: %w", len(items), kind, err))
	}
	s.mu.Lock()
	s.cp.Counts.addUploaded(kind, res.Accepted)
	s.cp.Counts.accepted(res.EarliestAccepted)
	s.cp.Counts.InvalidReferences += len(res.InvalidIDs)
	s.mu.Unlock()
	if s.a.Observer != nil {
		s.a.Observer.Items(s.in.Integration, s.name, kind, res.Accepted)
	}
	return nil
}

func mergeReport(dst *transform.Report, src transform.Report) {
	for k, v := range src.Skipped {
		if dst.Skipped == nil {
			dst.Skipped = map[string]int{}
		}
		dst.Skipped[k] += v
	}
	for k, v := range src.Adjusted {
		if dst.Adjusted == nil {
			dst.Adjusted = map[string]int{}
		}
		dst.Adjusted[k] += v
	}
}

func cloneCounts(c StageCounts) StageCounts {
	out := c
	out.Read = cloneMap(c.Read)
	out.Uploaded = cloneMap(c.Uploaded)
	out.Report = transform.Report{}
	mergeReport(&out.Report, c.Report)
	return out
}

func cloneMap(m map[string]int) map[string]int {
	if m == nil {
		return nil
	}
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
