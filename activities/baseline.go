package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"jcsync/internal/authomize"
	"jcsync/internal/counts"
	"jcsync/internal/transform"
)

// Where a baseline came from.
const (
	BaselineFromAuthomize = "authomize" // the baseline record next to the data (transform.BaselineAssetID)
	BaselineFromTemporal  = "temporal"  // the memo of an earlier version's last swept sync
)

// SweepBaseline is what the sweep compares a run with: the counts of the integration's last
// complete sync, and what is known of the app when there is none.
type SweepBaseline struct {
	Found    bool          `json:"found"`
	Source   string        `json:"source,omitempty"`
	Counts   counts.Counts `json:"counts,omitempty"`
	SyncedAt time.Time     `json:"syncedAt,omitempty"`
	Run      string        `json:"run,omitempty"`
	// AppHasData says, when no baseline was found, whether the Authomize app already holds
	// accounts, groupings or assets: a first sync into an empty app needs no baseline, a
	// sweep of a full one without a baseline would be blind.
	AppHasData bool `json:"appHasData,omitempty"`
	// Refreshed is when Authomize accepted this run's rewrite of the baseline record: the
	// record must outlive this run's sweep, so its time takes part in the cutoff. Zero when
	// there was nothing to rewrite. RefreshUnstamped says Authomize gave no time for it.
	Refreshed        time.Time `json:"refreshed,omitempty"`
	RefreshUnstamped bool      `json:"refreshUnstamped,omitempty"`
	// OrgID and RecordIntegration are the org and integration the record names (empty in
	// records of earlier versions): the app holds that org's data.
	OrgID             string `json:"orgId,omitempty"`
	RecordIntegration string `json:"recordIntegration,omitempty"`
	// LastWrite bounds every write of the sync that recorded the baseline (Authomize's
	// clock); zero when the record does not say. OtherWriting says another run rewrote the
	// record since and never recorded its end (it failed, or was refused, or runs on an
	// earlier version): it may have written anything up to this run's first write.
	LastWrite    time.Time `json:"lastWrite,omitempty"`
	OtherWriting bool      `json:"otherWriting,omitempty"`
}

// WritesBefore is the latest time, on Authomize's clock, at which an earlier sync may have
// written a record: this run's sweep must cut off after it to remove what that sync wrote
// and JumpCloud no longer has. When the record does not bound the earlier writes (another
// run started writing since, or an earlier version wrote it), every earlier write came
// before this run's rewrite of the record. Zero when nothing is known (no record).
func (b SweepBaseline) WritesBefore() time.Time {
	if b.LastWrite.IsZero() || b.OtherWriting {
		return b.Refreshed
	}
	return b.LastWrite
}

// ReadBaseline finds the integration's baseline: the record in the Authomize app, or, for an
// app an earlier version of the connector synced, the last swept run in Temporal (which is
// then written to the app, so it never depends on Temporal's retention again). The record is
// rewritten at once with its old counts, so that this run's sweep keeps it whatever happens
// later in the run. Without a baseline it reports whether the app holds data.
func (a *Activities) ReadBaseline(ctx context.Context, integration string) (SweepBaseline, error) {
	defer stayAlive(ctx)()
	az, err := a.authomizeOf(integration)
	if err != nil {
		return SweepBaseline{}, err
	}
	asset, found, err := az.FindAsset(ctx, transform.BaselineAssetID)
	if err != nil {
		return SweepBaseline{}, classify(fmt.Errorf("read the sweep baseline: %w", err))
	}
	var b transform.Baseline
	out := SweepBaseline{}
	run := activity.GetInfo(ctx).WorkflowExecution.RunID
	switch {
	case found:
		if b, err = transform.ParseBaseline(asset); err != nil {
			// A damaged record is no baseline, and the app evidently holds data.
			a.logger(ctx).WithField("integration", integration).WithError(err).Warn("the baseline record is unreadable")
			return SweepBaseline{AppHasData: true}, nil
		}
		out.Source = BaselineFromAuthomize
	default:
		old, err := a.lastSuccessfulSync(ctx, integration)
		if err != nil {
			a.logger(ctx).WithField("integration", integration).WithError(err).Warn("no baseline in Authomize, and Temporal could not be asked for one")
		}
		if err != nil || !old.Found {
			has, err := az.HasData(ctx)
			if err != nil {
				return SweepBaseline{}, classify(fmt.Errorf("read the sweep baseline: %w", err))
			}
			return SweepBaseline{AppHasData: has}, nil
		}
		b = transform.Baseline{Counts: old.Counts, SyncedAt: old.ClosedAt, Run: old.WorkflowID}
		out.Source = BaselineFromTemporal
	}
	out.Found, out.Counts, out.SyncedAt, out.Run = true, b.Counts, b.SyncedAt, b.Run
	out.OrgID, out.RecordIntegration, out.LastWrite = b.OrgID, b.Integration, b.LastWrite
	out.OtherWriting = b.Writing != "" && b.Writing != run
	// From now on this run may write anything: until it records its end, the next sync must
	// not trust LastWrite.
	b.Writing = run
	res, err := az.UploadAssets(ctx, []authomize.Asset{transform.BaselineAsset(b)})
	if err == nil && res.Accepted == 0 {
		err = errors.New("the record was not accepted by Authomize")
	}
	if err != nil {
		return SweepBaseline{}, classify(fmt.Errorf("keep the sweep baseline: %w", err))
	}
	out.Refreshed, out.RefreshUnstamped = res.EarliestAccepted, res.MissingTimestamps > 0
	return out, nil
}

// RecordBaselineInput is the counts of a complete, swept sync.
type RecordBaselineInput struct {
	Integration string        `json:"integration"`
	Counts      counts.Counts `json:"counts"`
	SyncedAt    time.Time     `json:"syncedAt"`
	// OrgID is the JumpCloud org the sync read (empty from runs of earlier versions).
	OrgID string `json:"orgId,omitempty"`
}

// RecordBaseline writes the counts of a complete sync to the Authomize app: the next sync's
// baseline. It writes the record twice: the first write's acceptedTimestamp comes after
// every other write of the sync, and the second records it as the sync's last write, so
// the next sync knows when it may start writing for its sweep to remove all that this one
// wrote. If the second write is lost, the record still says this run is writing, and the
// next sync waits the whole margin instead.
func (a *Activities) RecordBaseline(ctx context.Context, in RecordBaselineInput) error {
	defer stayAlive(ctx)()
	az, err := a.authomizeOf(in.Integration)
	if err != nil {
		return err
	}
	info := activity.GetInfo(ctx).WorkflowExecution
	rec := transform.Baseline{Counts: in.Counts, SyncedAt: in.SyncedAt, Run: info.ID, OrgID: in.OrgID, Integration: in.Integration, Writing: info.RunID}
	last, err := a.writeBaseline(ctx, az, rec)
	if err != nil || last.IsZero() {
		return err
	}
	rec.Writing, rec.LastWrite = "", last
	_, err = a.writeBaseline(ctx, az, rec)
	return err
}

// writeBaseline uploads the baseline record and returns when Authomize accepted it (zero
// when its answer gave no time).
func (a *Activities) writeBaseline(ctx context.Context, az *authomize.Client, rec transform.Baseline) (time.Time, error) {
	res, err := az.UploadAssets(ctx, []authomize.Asset{transform.BaselineAsset(rec)})
	if err == nil && res.Accepted == 0 {
		err = errors.New("the record was not accepted by Authomize")
	}
	if err != nil {
		return time.Time{}, classify(fmt.Errorf("record the sweep baseline: %w", err))
	}
	return res.EarliestAccepted, nil
}

// authomizeOf is the Authomize client of the named integration.
func (a *Activities) authomizeOf(name string) (*authomize.Client, error) {
	integ, err := a.integration(name)
	if err != nil {
		return nil, err
	}
	return a.authomize(integ)
}
