// Package metrics exposes the worker's metrics on a Prometheus endpoint: the Temporal SDK's
// own (through OpenTelemetry), the connector's (API requests, retries, items, resumed pages,
// stage durations) through activities.Observer, the pacers' rates, in-flight limits, 429s and
// pauses through activities.PacingObserver, the workflows' own counters (sweep decisions),
// and each integration's sync status read from Temporal's visibility (WatchSyncs). Labels
// carry integration names, endpoint templates and status codes; never a key, token or
// personal data.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"

	"jcsync/activities"
	"jcsync/internal/authomize"
	"jcsync/internal/jumpcloud"
)

// API label values.
const (
	APIJumpCloud = "jumpcloud"
	APIAuthomize = "authomize"
)

// Metrics holds one registry with both the SDK's and the connector's metrics.
type Metrics struct {
	// OnServeError, when set, hears about a metrics server that stopped on its own.
	OnServeError func(error)
	// Health, when set, is served on /healthz and /readyz beside /metrics.
	Health *Health

	registry *prometheus.Registry
	provider *sdkmetric.MeterProvider

	requests      *prometheus.CounterVec
	retries       *prometheus.CounterVec
	reqDuration   *prometheus.HistogramVec
	items         *prometheus.CounterVec
	pagesResumed  *prometheus.CounterVec
	stageDuration *prometheus.HistogramVec
	stages        *prometheus.CounterVec
	readRepairs   *prometheus.CounterVec
	unstable      *prometheus.CounterVec
	pacers        *pacers
	// workflowCounters are the counters workflows record through the SDK's handler, by the
	// name they use.
	workflowCounters map[string]workflowCounter
	syncs            *syncStatus
	watch            *watchMetrics
}

var _ activities.Observer = (*Metrics)(nil)

// New builds the registry. Each call has its own registry, so tests do not collide.
func New() (*Metrics, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("register go collector: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("register process collector: %w", err)
	}
	// The SDK's metric names are those Temporal's Go SDK dashboard for OpenTelemetry queries:
	// suffixes as Prometheus writes them (temporal_request_latency_seconds_bucket), pinned
	// here rather than left to the exporter's default, which its authors plan to change. The
	// scope labels (otel_scope_name="go.temporal.io/sdk" on every series) and target_info
	// (service_name="unknown_service:worker") carry nothing an operator can use.
	exp, err := otelprom.New(otelprom.WithRegisterer(reg),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
		otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter for the Temporal SDK: %w", err)
	}
	m := &Metrics{
		registry: reg,
		provider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithView(temporalViews()...)),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jcsync_api_requests_total",
			Help: "HTTP attempts to JumpCloud and Authomize by integration, endpoint template and status (0: no whole answer); the 429 share is status=\"429\" over all.",
		}, []string{"integration", "api", "method", "endpoint", "status"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jcsync_api_retries_total",
			Help: "HTTP attempts that were retries of an earlier attempt, by integration and endpoint template.",
		}, []string{"integration", "api", "endpoint"}),
		reqDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "jcsync_api_request_duration_seconds",
			Help:    "Duration of HTTP attempts, by integration and endpoint template.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 10),
		}, []string{"integration", "api", "endpoint"}),
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jcsync_items_total",
			Help: "Items Authomize accepted, by integration, stage and kind.",
		}, []string{"integration", "stage", "kind"}),
		pagesResumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jcsync_pages_resumed_total",
			Help: "Pages a retried stage did not fetch again thanks to its checkpoint, by integration and stage.",
		}, []string{"integration", "stage"}),
		stageDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "jcsync_stage_duration_seconds",
			Help: "Wall time of finished stages, by integration and stage.",
			// 0.5 s to 36 h: a stage of a large org runs for hours, within its phase's
			// deadline (48 h by default).
			Buckets: prometheus.ExponentialBuckets(0.5, 2, 19),
		}, []string{"integration", "stage"}),
		stages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jcsync_stages_total",
			Help: "Stages finished successfully, by integration and stage.",
		}, []string{"integration", "stage"}),
		readRepairs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jcsync_read_repairs_total",
			Help: "JumpCloud pages read again because the org changed between two pages of a list.",
		}, []string{"integration", "stage"}),
		unstable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jcsync_lists_unstable_total",
			Help: "Lists that kept changing faster than they could be re-read: the sync skipped its sweep.",
		}, []string{"integration", "stage"}),
	}
	m.pacers = newPacers()
	m.workflowCounters = newWorkflowCounters()
	m.syncs = newSyncStatus()
	m.watch = newWatchMetrics()
	collectors := []prometheus.Collector{m.requests, m.retries, m.reqDuration, m.items, m.pagesResumed, m.stageDuration, m.stages, m.readRepairs, m.unstable, m.pacers, m.syncs}
	collectors = append(collectors, m.watch.collectors()...)
	for _, c := range m.workflowCounters {
		collectors = append(collectors, c.vec)
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metric: %w", err)
		}
	}
	return m, nil
}

// TemporalHandler is client.Options.MetricsHandler: the SDK's metrics end up on /metrics
// with the SDK's names and labels; the counters workflows record (jcsync_sweeps) end up as
// the connector's own, with their help text and only their labels.
func (m *Metrics) TemporalHandler() client.MetricsHandler {
	return routingHandler{
		sdk: temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
			Meter: m.provider.Meter(temporalMeterName),
		}),
		own: m.workflowCounters,
	}
}

// Registry returns the registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// JumpCloudRequest implements activities.Observer.
func (m *Metrics) JumpCloudRequest(integration string, info jumpcloud.RequestInfo) {
	m.request(integration, APIJumpCloud, info.Method, info.Endpoint, info.Status, info.Attempt, info.Duration)
}

// AuthomizeRequest implements activities.Observer.
func (m *Metrics) AuthomizeRequest(integration string, info authomize.RequestInfo) {
	m.request(integration, APIAuthomize, info.Method, info.Endpoint, info.Status, info.Attempt, info.Duration)
}

// request records one attempt. The endpoint is the client's template (ids replaced), which
// keeps the label's cardinality bounded.
func (m *Metrics) request(integration, api, method, endpoint string, status, attempt int, d time.Duration) {
	m.requests.WithLabelValues(integration, api, method, endpoint, strconv.Itoa(status)).Inc()
	if attempt > 1 {
		m.retries.WithLabelValues(integration, api, endpoint).Inc()
	}
	m.reqDuration.WithLabelValues(integration, api, endpoint).Observe(d.Seconds())
}

// Items implements activities.Observer.
func (m *Metrics) Items(integration, stage, kind string, n int) {
	if n > 0 {
		m.items.WithLabelValues(integration, stage, kind).Add(float64(n))
	}
}

// StageDone implements activities.Observer.
func (m *Metrics) StageDone(integration, stage string, r activities.StageResult) {
	m.stages.WithLabelValues(integration, stage).Inc()
	m.stageDuration.WithLabelValues(integration, stage).Observe(r.Duration.Seconds())
	if r.Counts.PagesResumed > 0 {
		m.pagesResumed.WithLabelValues(integration, stage).Add(float64(r.Counts.PagesResumed))
	}
	if r.Counts.RepairReads > 0 {
		m.readRepairs.WithLabelValues(integration, stage).Add(float64(r.Counts.RepairReads))
	}
	if n := len(r.Counts.Unstable); n > 0 {
		m.unstable.WithLabelValues(integration, stage).Add(float64(n))
	}
}

// Server is a running metrics endpoint.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Serve listens on addr and serves /metrics in the background until Shutdown. Listening
// happens before it returns, so a taken port is an error at start, not a log line later.
func (m *Metrics) Serve(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	if m.Health != nil {
		mux.HandleFunc("/healthz", m.Health.serveHealth)
		mux.HandleFunc("/readyz", m.Health.serveReady)
	}
	s := &Server{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && m.OnServeError != nil {
			// The worker keeps syncing without metrics; it only learns why.
			m.OnServeError(fmt.Errorf("metrics server on %s: %w", addr, err))
		}
	}()
	return s, nil
}

// Addr is the address the server listens on (useful with port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Shutdown stops the server and flushes the SDK meter provider.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("metrics server shutdown: %w", err)
	}
	return nil
}
