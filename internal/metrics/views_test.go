package metrics

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// buckets reads the cumulative bucket counts of one histogram series from a scrape: upper
// bound → count, in the order they appear.
func buckets(t *testing.T, body, metric string) (bounds []float64, counts []float64) {
	t.Helper()
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, metric+"_bucket{") {
			continue
		}
		i := strings.Index(line, `le="`)
		j := strings.LastIndex(line, `"}`)
		if i < 0 || j < i {
			t.Fatalf("unexpected bucket line %q", line)
		}
		le := line[i+len(`le="`) : j]
		if le == "+Inf" {
			continue
		}
		b, err := strconv.ParseFloat(le, 64)
		if err != nil {
			t.Fatalf("bucket bound in %q: %v", line, err)
		}
		c, err := strconv.ParseFloat(strings.TrimSpace(line[j+2:]), 64)
		if err != nil {
			t.Fatalf("bucket count in %q: %v", line, err)
		}
		bounds, counts = append(bounds, b), append(counts, c)
	}
	if len(bounds) == 0 {
		t.Fatalf("scrape has no %s_bucket:\n%s", metric, body)
	}
	return bounds, counts
}

// bucketOf is the upper bound of the first bucket whose cumulative count reaches n.
func bucketOf(bounds, counts []float64, n float64) float64 {
	for i, c := range counts {
		if c >= n {
			return bounds[i]
		}
	}
	return -1 // only +Inf holds it
}

// The SDK's timers are in seconds: a 0.3 s and a 2 s latency must fall into different
// buckets, under the names Temporal's Go SDK dashboard queries, and an activity or workflow
// of hours must still fall into a finite bucket.
func TestTemporalTimersHaveSecondBuckets(t *testing.T) {
	for _, tc := range []struct {
		timer, exported string
		short, long     time.Duration
	}{
		{"temporal_activity_execution_latency", "temporal_activity_execution_latency_seconds", 300 * time.Millisecond, 2 * time.Second},
		{"temporal_activity_execution_latency", "temporal_activity_execution_latency_seconds", 2 * time.Hour, 20 * time.Hour},
		{"temporal_workflow_endtoend_latency", "temporal_workflow_endtoend_latency_seconds", 300 * time.Millisecond, 30 * time.Hour},
		{"temporal_activity_schedule_to_start_latency", "temporal_activity_schedule_to_start_latency_seconds", 300 * time.Millisecond, 2 * time.Second},
		{"temporal_request_latency", "temporal_request_latency_seconds", 20 * time.Millisecond, 300 * time.Millisecond},
		{"temporal_workflow_task_execution_latency", "temporal_workflow_task_execution_latency_seconds", 300 * time.Millisecond, 2 * time.Second},
		{"temporal_long_request_latency", "temporal_long_request_latency_seconds", 2 * time.Second, 60 * time.Second},
		// A timer the table does not name still gets second-scale buckets.
		{"jcsync_example_latency", "jcsync_example_latency_seconds", 300 * time.Millisecond, 2 * time.Second},
	} {
		t.Run(tc.timer+"/"+tc.short.String()+"-"+tc.long.String(), func(t *testing.T) {
			m, err := New()
			if err != nil {
				t.Fatal(err)
			}
			timer := m.TemporalHandler().WithTags(map[string]string{"namespace": "default"}).Timer(tc.timer)
			timer.Record(tc.short)
			timer.Record(tc.long)
			body := scrape(t, m.Handler())
			bounds, counts := buckets(t, body, tc.exported)
			first, second := bucketOf(bounds, counts, 1), bucketOf(bounds, counts, 2)
			if first < 0 || second < 0 {
				t.Fatalf("%s and %s: one is only in +Inf (bounds %v, counts %v)", tc.short, tc.long, bounds, counts)
			}
			if first == second {
				t.Fatalf("%s and %s both fall into le=%g (bounds %v)", tc.short, tc.long, first, bounds)
			}
			if !strings.Contains(body, tc.exported+"_count{") || !strings.Contains(body, tc.exported+"_sum{") {
				t.Fatalf("scrape lacks %s_count or _sum:\n%s", tc.exported, body)
			}
		})
	}
}
