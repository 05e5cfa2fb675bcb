package progress

import (
	"time"

	"jcsync/activities"
	countsof "jcsync/internal/counts"
	"jcsync/workflows"
)

// Result is a finished sync's summary as `-o json` prints it: the workflow's SyncResult, every
// field under its own name, with two changes for the operator. The workflow's result itself is
// left as it is: parents, the Web UI and older starters decode it.
//
//   - A dry run sends nothing, so its "uploaded" is empty and what it would have sent is under
//     "wouldUpload". A sync's "uploaded" is as before, and it has no "wouldUpload".
//   - Durations are also in seconds ("durationSeconds", "sweepWaitSeconds", and each stage's
//     "durationSeconds"); the nanoseconds of "duration" stay for the scripts that read them.
type Result struct {
	*workflows.SyncResult
	Stages           []StageResult   `json:"stages"`
	Uploaded         countsof.Counts `json:"uploaded"`
	WouldUpload      countsof.Counts `json:"wouldUpload,omitempty"`
	DurationSeconds  float64         `json:"durationSeconds"`
	SweepWaitSeconds float64         `json:"sweepWaitSeconds,omitempty"`
}

// StageResult is one stage of Result: its result, with its duration also in seconds. A dry
// run's stage counts keep the names the stages report ("counts.uploaded"); the totals above
// say what they are.
type StageResult struct {
	activities.StageResult
	DurationSeconds float64 `json:"durationSeconds"`
}

// ResultJSON is r as `-o json` prints it.
func ResultJSON(r *workflows.SyncResult) *Result {
	if r == nil {
		return nil
	}
	out := &Result{SyncResult: r, Uploaded: r.Uploaded, DurationSeconds: seconds(r.Duration), SweepWaitSeconds: seconds(r.SweepWait)}
	if r.DryRun {
		out.Uploaded, out.WouldUpload = countsof.Counts{}, r.Uploaded
	}
	for _, s := range r.Stages {
		out.Stages = append(out.Stages, StageResult{StageResult: s, DurationSeconds: seconds(s.Duration)})
	}
	return out
}

// seconds is d in seconds, to the millisecond.
func seconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond).Milliseconds()) / 1000
}
