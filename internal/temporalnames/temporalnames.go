// Package temporalnames holds every name the connector gives things in Temporal: the task
// queue, workflow types and ids, the progress query, the search attributes, and the
// visibility queries that find an integration's syncs. Workflow histories, schedules and
// running syncs refer to these strings, so none of them may change.
package temporalnames

import (
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

const (
	// TaskQueue is the default task queue of the workers.
	TaskQueue = "jcsync"
	// SyncWorkflow is the registered name of the sync workflow.
	SyncWorkflow = "SyncWorkflow"
	// ValidateWorkflow is the registered name of the credential check.
	ValidateWorkflow = "ValidateWorkflow"
	// ProgressQuery returns a sync's progress while it runs (and after).
	ProgressQuery = "progress"
	// MetadataQuery is the SDK's built-in query that returns a workflow's current details
	// (what the Web UI shows under "Current details") and its query and signal names.
	MetadataQuery = "__temporal_workflow_metadata"
)

// prefix starts every workflow and schedule id of the connector.
const prefix = "jcsync-"

// SyncID is the workflow id every sync of an integration runs under. Temporal runs one open
// workflow per id, so two syncs of one integration never run at once.
func SyncID(integration string) string { return prefix + integration }

// ScheduleID is the id of an integration's schedule. Its action's workflow id is SyncID: the
// schedule appends the start time to it, so scheduled runs never collide with a manual sync.
func ScheduleID(integration string) string { return prefix + integration }

// ValidateID is the workflow id of one credential check: unique, since checks are cheap and
// may run alongside a sync.
func ValidateID(integration string, at time.Time) string {
	return fmt.Sprintf("%svalidate-%s-%d", prefix, integration, at.UnixNano())
}

// IntegrationQueue is the task queue of one integration's syncs: only workers that hold the
// integration's credentials poll it, so a sync never lands on a worker that cannot run it.
// base is the configured task queue (TaskQueue by default).
func IntegrationQueue(base, integration string) string { return base + "/" + integration }

// ChecksQueue is the task queue of an integration's credential checks: a check is seconds
// long, so it gets slots of its own rather than waiting behind hours-long phases.
func ChecksQueue(integrationQueue string) string { return integrationQueue + "/checks" }

// IntegrationOf is the integration a SyncID or ScheduleID names.
func IntegrationOf(id string) string { return strings.TrimPrefix(id, prefix) }

// SearchAttrIntegration is the Keyword search attribute every sync carries: it lets the Web
// UI filter syncs by integration, and the starter find an integration's syncs.
const SearchAttrIntegration = "JCSyncIntegration"

// IntegrationKey is the typed key of SearchAttrIntegration.
var IntegrationKey = temporal.NewSearchAttributeKeyKeyword(SearchAttrIntegration)

// IntegrationAttributes are the search attributes a sync of integration starts with.
func IntegrationAttributes(integration string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(IntegrationKey.ValueSet(integration))
}

// The search attributes a sync sets when it ends, so the Web UI's list can be filtered and
// scanned by how syncs went: the outcome in words, and the users read. Only one is an Int:
// SQL visibility (PostgreSQL, MySQL, SQLite) gives a namespace three Int attributes in all,
// and the connector must leave the others to the namespace's other workflows.
const (
	SearchAttrOutcome = "JCSyncOutcome"
	SearchAttrUsers   = "JCSyncUsers"
)

// Typed keys of the outcome attributes.
var (
	OutcomeKey = temporal.NewSearchAttributeKeyKeyword(SearchAttrOutcome)
	UsersKey   = temporal.NewSearchAttributeKeyInt64(SearchAttrUsers)
)

// LegacySearchAttributes are Int attributes earlier versions registered and set, and this one
// no longer does. A namespace may still hold them (and their values on older syncs); on SQL
// visibility they take two of its three Int attributes, so the messages about missing
// attributes say how to remove them.
var LegacySearchAttributes = []string{"JCSyncGroups", "JCSyncApps"}

// Values of SearchAttrOutcome.
const (
	OutcomeSwept        = "swept"         // complete, and what JumpCloud no longer has was removed
	OutcomeSweepSkipped = "sweep-skipped" // complete and uploaded, but the sweep was skipped (the result says why)
	OutcomeRefused      = "refused"       // the sweep was refused: the read looked wrong; nothing deleted
	OutcomeFailed       = "failed"        // a credential, a stage or the sweep failed
	OutcomeDryRun       = "dry-run"       // read and transformed only
	OutcomeNotRun       = "not-run"       // another sync of the integration was running
)

// SearchAttributeTypes is every custom search attribute the connector uses, with its type:
// what the worker and the starter check for (internal/searchattrs), what a worker creates on
// a self-hosted server, and what a dev server must be started with.
var SearchAttributeTypes = map[string]enumspb.IndexedValueType{
	SearchAttrIntegration: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	SearchAttrOutcome:     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	SearchAttrUsers:       enumspb.INDEXED_VALUE_TYPE_INT,
}

// AllAttributes has every search attribute of SearchAttributeTypes with a zero value: a dev
// server started with them (testsuite.DevServerOptions.SearchAttributes) registers them all.
func AllAttributes() temporal.SearchAttributes {
	return temporal.NewSearchAttributes(IntegrationKey.ValueSet(""), OutcomeKey.ValueSet(""),
		UsersKey.ValueSet(0))
}

// Conditions of visibility queries, for IntegrationQuery.
const (
	IsSync      = "WorkflowType = '" + SyncWorkflow + "'"
	IsRunning   = "ExecutionStatus = 'Running'"
	IsCompleted = "ExecutionStatus = 'Completed'"
	IsClosed    = "ExecutionStatus != 'Running'"
	// IsNotContinued leaves out runs that continued as new: a run started on the base task
	// queue moves to its integration's queue that way, under the same id
	// (workflows.HandOverSync), and is no sync of its own.
	IsNotContinued = "ExecutionStatus != 'ContinuedAsNew'"
)

// IntegrationQuery is the visibility query for the workflows of an integration that meet
// every condition of and.
func IntegrationQuery(integration string, and ...string) string {
	q := fmt.Sprintf("%s = '%s'", SearchAttrIntegration, Escape(integration))
	for _, c := range and {
		q += " AND " + c
	}
	return q
}

// Escape keeps a name from breaking out of a quoted string of a visibility query.
func Escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}

// SyncRunsQuery is the visibility query for the runs of the sync workflow under an
// integration's SyncID that meet every condition of and. A scheduled run or one the Web UI
// started hands over to that id, so these are the integration's syncs, each counted once.
func SyncRunsQuery(integration string, and ...string) string {
	q := fmt.Sprintf("WorkflowId = '%s' AND %s AND %s", Escape(SyncID(integration)), IsSync, IsNotContinued)
	for _, c := range and {
		q += " AND " + c
	}
	return q
}

// OutcomeIn is the visibility condition that the outcome search attribute is one of outcomes.
func OutcomeIn(outcomes ...string) string {
	quoted := make([]string, len(outcomes))
	for i, o := range outcomes {
		quoted[i] = "'" + Escape(o) + "'"
	}
	return SearchAttrOutcome + " IN (" + strings.Join(quoted, ", ") + ")"
}

// WatchWorkflow is the registered name of the change watcher of an integration.
const WatchWorkflow = "WatchWorkflow"

// WatchQuery returns the change watcher's state.
const WatchQuery = "watch"

// WatchID is the workflow id of an integration's change watcher: one per integration. The
// "/" cannot occur in an integration's name, so no SyncID can equal a WatchID.
func WatchID(integration string) string { return prefix + "watch/" + integration }
