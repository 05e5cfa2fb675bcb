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
	switch {
	case found:
		if b, err = transform.ParseBaseline(asset); err != nil {
			// A damaged record is no baseline, and the app evidently holds data.
			a.logger().WithField("integration", integration).WithError(err).Warn("the baseline record is unreadable")
			return SweepBaseline{AppHasData: true}, nil
		}
		out.Source = BaselineFromAuthomize
	default:
		old, err := a.LastSuccessfulSync(ctx, integration)
		if err != nil {
			a.logger().WithField("integration", integration).WithError(err).Warn("no baseline in Authomize, and Temporal could not be asked for one")
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
}

// RecordBaseline writes the counts of a complete sync to the Authomize app: the next sync's
// baseline.
func (a *Activities) RecordBaseline(ctx context.Context, in RecordBaselineInput) error {
	defer stayAlive(ctx)()
	az, err := a.authomizeOf(in.Integration)
	if err != nil {
		return err
	}
	rec := transform.Baseline{Counts: in.Counts, SyncedAt: in.SyncedAt, Run: activity.GetInfo(ctx).WorkflowExecution.ID}
	res, err := az.UploadAssets(ctx, []authomize.Asset{transform.BaselineAsset(rec)})
	if err == nil && res.Accepted == 0 {
		err = errors.New("the record was not accepted by Authomize")
	}
	if err != nil {
		return classify(fmt.Errorf("record the sweep baseline: %w", err))
	}
	return nil
}

// authomizeOf is the Authomize client of the named integration.
func (a *Activities) authomizeOf(name string) (*authomize.Client, error) {
	integ, err := a.integration(name)
	if err != nil {
		return nil, err
	}
	return a.authomize(integ)
}
