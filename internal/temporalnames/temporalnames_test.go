package temporalnames

import (
	"testing"
	"time"
)

func TestIDs(t *testing.T) {
	if got := SyncID("acme"); got != "jcsync-acme" {
		t.Fatalf("SyncID: %q", got)
	}
	if got := ScheduleID("acme"); got != "jcsync-acme" {
		t.Fatalf("ScheduleID: %q", got)
	}
	if got := IntegrationOf(SyncID("a-b")); got != "a-b" {
		t.Fatalf("IntegrationOf: %q", got)
	}
	if got := ValidateID("acme", time.Unix(0, 42)); got != "jcsync-validate-acme-42" {
		t.Fatalf("ValidateID: %q", got)
	}
}

func TestIntegrationQuery(t *testing.T) {
	if got, want := IntegrationQuery(`it's\x`, IsSync, IsRunning),
		`JCSyncIntegration = 'it\'s\\x' AND WorkflowType = 'SyncWorkflow' AND ExecutionStatus = 'Running'`; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := IntegrationQuery("acme"); got != "JCSyncIntegration = 'acme'" {
		t.Fatalf("no conditions: %s", got)
	}
}

func TestAllAttributesMatchTypes(t *testing.T) {
	all := AllAttributes()
	if all.Size() != len(SearchAttributeTypes) {
		t.Fatalf("AllAttributes has %d attributes, SearchAttributeTypes %d", all.Size(), len(SearchAttributeTypes))
	}
	for k := range all.GetUntypedValues() {
		if _, ok := SearchAttributeTypes[k.GetName()]; !ok {
			t.Errorf("%s is in AllAttributes but not in SearchAttributeTypes", k.GetName())
		}
	}
}

func TestSyncRunsQuery(t *testing.T) {
	if got, want := SyncRunsQuery(`it's`, OutcomeIn(OutcomeSwept, OutcomeSweepSkipped)),
		`WorkflowId = 'jcsync-it\'s' AND WorkflowType = 'SyncWorkflow' AND ExecutionStatus != 'ContinuedAsNew' AND JCSyncOutcome IN ('swept', 'sweep-skipped')`; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
