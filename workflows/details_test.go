package workflows

import (
	"strings"
	"testing"
	"time"

	"jcsync/activities"
	"jcsync/internal/counts"
	"jcsync/internal/temporalnames"
)

// A dry run sends nothing: its current details call its upload counts what it would have
// uploaded, never "uploaded"; a sync's keep the word.
func TestCurrentDetailsOfADryRunSayWouldUpload(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	progressOf := func(dryRun bool) *Progress {
		res := &activities.StageResult{Stage: activities.StageUsers, Counts: activities.StageCounts{
			Read: counts.Counts{"users": 2000}, Uploaded: counts.Counts{"accounts": 2010}, Pages: 20}}
		return &Progress{
			Integration: "acme", DryRun: dryRun, Phase: StatusDone, Started: start,
			Stages:  []StageProgress{{Stage: activities.StageUsers, Status: StatusDone, Result: res, Started: start, Finished: start.Add(2 * time.Second)}},
			outcome: temporalnames.OutcomeDryRun,
			result:  &SyncResult{Integration: "acme", DryRun: dryRun, Read: counts.Counts{"users": 2000}, Uploaded: counts.Counts{"accounts": 2010}, Duration: 3 * time.Second},
		}
	}
	dry := progressOf(true).markdown()
	for _, want := range []string{"read 2,000 users in 20 pages; would upload 2,010;", "Total: read 2,000 users, 0 groups, 0 apps; would upload 2,010;"} {
		if !strings.Contains(dry, want) {
			t.Errorf("the dry run's details lack %q:\n%s", want, dry)
		}
	}
	if strings.Contains(dry, "uploaded 2,010") {
		t.Errorf("the dry run's details say it uploaded:\n%s", dry)
	}
	sync := progressOf(false)
	sync.outcome = temporalnames.OutcomeSwept
	if md := sync.markdown(); !strings.Contains(md, "; uploaded 2,010;") || strings.Contains(md, "would upload") {
		t.Errorf("a sync's details:\n%s", md)
	}
}
