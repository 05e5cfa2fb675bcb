package metrics

import (
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// temporalMeterName is the meter the Temporal SDK's handler records through: the SDK's own
// metrics and those the workflows record with workflow.GetMetricsHandler.
const temporalMeterName = "go.temporal.io/sdk"

// The SDK reports its timers as histograms in seconds. Without views OpenTelemetry puts them
// in its default buckets (0, 5, 10 … 10000), made for milliseconds: every latency under five
// seconds would land in one bucket and no quantile could be read from them. The bucket sets
// follow what each timer measures.
var (
	// requestBuckets: RPCs and workflow tasks, milliseconds to seconds.
	requestBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	// pollBuckets: long polls, which wait up to about a minute when there is no work.
	pollBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 75, 90, 120}
	// longBuckets: activities and whole workflows. A phase of a large org runs for hours and
	// may be retried up to its deadline (two days by default), and an activity may wait for a
	// free slot as long, so these reach from ten milliseconds to two days.
	longBuckets = []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800,
		3600, 7200, 14400, 28800, 57600, 86400, 172800}
)

// sdkTimerBuckets maps the SDK's timers (go.temporal.io/sdk/internal/common/metrics) to their
// buckets. Timers not listed here (a newer SDK's, or a workflow's own) get longBuckets,
// which spread milliseconds to days.
var sdkTimerBuckets = map[string][]float64{
	"temporal_request_latency":                         requestBuckets,
	"temporal_workflow_task_schedule_to_start_latency": requestBuckets,
	"temporal_workflow_task_execution_latency":         requestBuckets,
	"temporal_workflow_task_replay_latency":            requestBuckets,
	"temporal_long_request_latency":                    pollBuckets,
	"temporal_activity_schedule_to_start_latency":      longBuckets,
	"temporal_activity_execution_latency":              longBuckets,
	"temporal_activity_succeed_endtoend_latency":       longBuckets,
	"temporal_local_activity_execution_latency":        longBuckets,
	"temporal_local_activity_succeed_endtoend_latency": longBuckets,
	"temporal_workflow_endtoend_latency":               longBuckets,
	"temporal_nexus_task_schedule_to_start_latency":    longBuckets,
	"temporal_nexus_task_execution_latency":            longBuckets,
	"temporal_nexus_task_endtoend_latency":             longBuckets,
}

// temporalViews gives the histograms of the SDK's meter second-scale buckets. Only the
// aggregation changes: names and units stay as the SDK's handler makes them
// (temporal_activity_execution_latency_seconds_bucket …), the names Temporal's Go SDK
// dashboard queries. One view decides each instrument, because two views matching one
// instrument would export it twice.
func temporalViews() []sdkmetric.View {
	named := make(map[string]sdkmetric.View, len(sdkTimerBuckets))
	for name, buckets := range sdkTimerBuckets {
		named[name] = sdkmetric.NewView(
			sdkmetric.Instrument{Name: name, Kind: sdkmetric.InstrumentKindHistogram},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: buckets}},
		)
	}
	other := sdkmetric.NewView(
		sdkmetric.Instrument{Name: "*", Kind: sdkmetric.InstrumentKindHistogram, Unit: "s"},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: longBuckets}},
	)
	return []sdkmetric.View{func(i sdkmetric.Instrument) (sdkmetric.Stream, bool) {
		if i.Scope.Name != temporalMeterName {
			return sdkmetric.Stream{}, false
		}
		if v, ok := named[i.Name]; ok {
			return v(i)
		}
		return other(i)
	}}
}
