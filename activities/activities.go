// Package activities holds every piece of I/O of a sync: credential checks, the stages that
// read JumpCloud and upload to Authomize, the baseline lookup and the sweep. Each activity
// owns its error classification (what is worth retrying) and its heartbeat checkpoint.
package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"jcsync/internal/authomize"
	"jcsync/internal/config"
	"jcsync/internal/httpretry"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/pacer"
)

// Error types the workflow never retries. They are the Type of the ApplicationErrors the
// activities return, and the workflow's retry policies list them as non-retryable.
const (
	ErrTypeCredentials  = "InvalidCredentials"
	ErrTypeConfig       = "ConfigurationError"
	ErrTypePermanentAPI = "PermanentAPIError"
	ErrTypeSweepRefused = "SweepRefused"
	// ErrTypeOrgMismatch refuses a sync whose JumpCloud org is not the one whose data the
	// Authomize app holds (the workflow's org check, before anything is written).
	ErrTypeOrgMismatch = "OrgMismatch"
	// ErrTypeSearchAttributes: the namespace lacks the connector's search attributes (or
	// holds one with another type). The sync then upserts none, since a workflow task that
	// upserts a missing attribute fails and is retried for ever.
	ErrTypeSearchAttributes = "SearchAttributesMissing"
)

// NonRetryableErrorTypes lists the error types above, for retry policies.
var NonRetryableErrorTypes = []string{ErrTypeCredentials, ErrTypeConfig, ErrTypePermanentAPI, ErrTypeSweepRefused, ErrTypeOrgMismatch, ErrTypeSearchAttributes}

// Observer receives every HTTP request the clients make, for metrics. It may be nil.
type Observer interface {
	JumpCloudRequest(integration string, info jumpcloud.RequestInfo)
	AuthomizeRequest(integration string, info authomize.RequestInfo)
	Items(integration, stage, kind string, n int)
	StageDone(integration, stage string, r StageResult)
}

// Activities are the sync's activities. One value serves every integration of a worker.
type Activities struct {
	Integrations config.Integrations
	// Temporal is the worker's client: PauseSchedule pauses schedules through it, Validate
	// checks the namespace's search attributes with it, and ReadBaseline looks for the
	// baseline an earlier version left in a run's memo. Optional: without it, PauseSchedule
	// fails with an error that says so, and neither check nor memo lookup happens.
	Temporal client.Client
	// TemporalAddress is the address the worker dials; the check of the namespace's search
	// attributes (Validate) tells Temporal Cloud by it, to say what to run there.
	TemporalAddress string
	// DataConverter decodes what Temporal returns (the baseline's memo); it must be the one
	// the client uses, or encrypted memos would be unreadable. Nil means the default.
	DataConverter converter.DataConverter
	Log           *logrus.Logger
	Observer      Observer
	// HTTPClient is shared by every API client (connection reuse); nil takes sharedHTTP.
	HTTPClient *http.Client
	// MaxRPS is the ceiling of each org's JumpCloud request rate when an integration sets
	// none; 0 takes the pacer's own (pacer.DefaultMax). The rate itself is found, not set:
	// each org's pacer raises it while JumpCloud answers and cuts it on 429.
	MaxRPS float64
	// DefaultRPS is the former name of MaxRPS, read when MaxRPS is 0: a ceiling too, not a
	// fixed rate. It stays for the callers that set it.
	DefaultRPS float64
	// PageConcurrency caps the JumpCloud pages one stage has in flight; within it, the
	// stage follows the org pacer's in-flight limit (see stageRun.concurrency). 0 takes
	// DefaultPageConcurrency.
	PageConcurrency int
	// PacerClock, when set, is the clock of every pacer (tests); nil is the wall clock.
	PacerClock pacer.Clock
	// AuthomizeBatchSize is the number of items per Authomize request (0: client default).
	AuthomizeBatchSize int
	// Retries bounds how long the API clients retry one request before the attempt that
	// made it fails (Temporal then retries the attempt from its checkpoint). Zero fields take
	// the clients' defaults.
	Retries RequestRetries

	pacers sync.Map // org or tenant key → *pacer.Pacer, shared by every stage on this worker
	tokens serviceAccounts
	// stageOverride, when set, runs a stage in place of the real one (tests of the phase).
	stageOverride func(stage string) func(context.Context, StageInput) (StageResult, error)
}

// RequestRetries are the retry settings of both API clients, for one request.
type RequestRetries struct {
	MaxAttempts  int           // attempts per request, including the first
	BaseBackoff  time.Duration // the first wait's ceiling, doubled per attempt
	MaxRetryWait time.Duration // the cap on any single wait, Retry-After included
}

// logger is what the activities log through. Inside an activity (ctx an activity's context,
// or one derived from it, such as a stage's inside its phase) every entry names the workflow,
// the run, the activity and its attempt, so that one sync's lines can be picked out of a
// worker that runs many, and matched with the run in the Web UI. Only ids and counters from
// activity.GetInfo: never the input, a heartbeat's details or anything personal.
func (a *Activities) logger(ctx context.Context) *logrus.Entry {
	l := a.Log
	if l == nil {
		l = logrus.StandardLogger()
	}
	e := logrus.NewEntry(l)
	if ctx == nil || !activity.IsActivity(ctx) {
		// Code shared with tests and tools that run outside an activity.
		return e
	}
	info := activity.GetInfo(ctx)
	return e.WithContext(ctx).WithFields(logrus.Fields{
		"workflow_id": info.WorkflowExecution.ID,
		"run_id":      info.WorkflowExecution.RunID,
		"activity":    info.ActivityType.Name,
		"activity_id": info.ActivityID,
		"attempt":     info.Attempt,
	})
}

func (a *Activities) integration(name string) (config.Integration, error) {
	in, err := a.Integrations.Get(name)
	if err != nil {
		return config.Integration{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeConfig, nil)
	}
	return in, nil
}

// sharedHTTP is the HTTP client of every API client when the worker sets none. Go's default
// transport keeps two idle connections per host, so a pacer keeping dozens of requests in
// flight to one host (every org lives on console.jumpcloud.com) would open and close a
// connection, with its TLS handshake, for most of them: the pool keeps as many as one org's
// pacer may have in flight.
var sharedHTTP = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = pacer.DefaultMaxInFlight
	t.MaxIdleConns = 4 * pacer.DefaultMaxInFlight
	return &http.Client{Timeout: 30 * time.Second, Transport: t}
}()

func (a *Activities) httpClient() *http.Client {
	if a.HTTPClient != nil {
		return a.HTTPClient
	}
	return sharedHTTP
}

// DefaultPageConcurrency is the cap on the JumpCloud pages one stage has in flight when the
// worker sets none. It is the pacer's own bound on in-flight requests, so the pacer, which
// sizes the in-flight limit from the org's rate and latency, is what decides: a latency-bound
// org gets as many pages in flight as its rate needs, a throttled one few.
const DefaultPageConcurrency = pacer.DefaultMaxInFlight

// orgPacer returns the pacer of the integration's JumpCloud org: every stage of every sync of
// the same org on this worker shares it, so parallel stages together stay under the org's
// limit and a Retry-After holds all of them back. Its ceiling is the integration's rps, else
// the worker's MaxRPS, else the pacer's default.
func (a *Activities) orgPacer(in config.Integration) (*pacer.Pacer, error) {
	ceiling := in.JumpCloud.RPS
	if ceiling <= 0 {
		ceiling = a.MaxRPS
	}
	if ceiling <= 0 {
		ceiling = a.DefaultRPS
	}
	key := "jumpcloud|" + in.JumpCloud.BaseURL + "|" + in.JumpCloud.OrgID + "|" + in.Name
	return a.pacer(key, in.Name, APIJumpCloud, ceiling)
}

// tenantPacer returns the pacer of the integration's Authomize app: uploads of every stage
// of every sync into the same app on this worker share it. The token is not part of the
// key: it is a secret, and an app belongs to one tenant anyway.
func (a *Activities) tenantPacer(in config.Integration) (*pacer.Pacer, error) {
	key := "authomize|" + in.Authomize.BaseURL + "|" + in.Authomize.AppID
	return a.pacer(key, in.Name, APIAuthomize, 0)
}

// API names of the pacers, for PacingObserver.
const (
	APIJumpCloud = "jumpcloud"
	APIAuthomize = "authomize"
)

// PacingObserver is an Observer that also watches the pacers (their rate, in-flight limit,
// 429s and pauses): it is told of each pacer once, when the worker creates it.
type PacingObserver interface {
	Pacer(integration, api string, p *pacer.Pacer)
}

// pacer returns the pacer under key, creating it with the given ceiling (0: the pacer's
// default) on first use. A pacer is never replaced: what it learnt of the limit stays.
func (a *Activities) pacer(key, integration, api string, ceiling float64) (*pacer.Pacer, error) {
	if p, ok := a.pacers.Load(key); ok {
		return p.(*pacer.Pacer), nil
	}
	p, err := pacer.New(pacer.Options{Max: ceiling, Clock: a.PacerClock})
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("integration %q: %s pacing: %v", integration, api, err), ErrTypeConfig, nil)
	}
	got, loaded := a.pacers.LoadOrStore(key, p)
	if !loaded {
		if po, ok := a.Observer.(PacingObserver); ok {
			po.Pacer(integration, api, p)
		}
	}
	return got.(*pacer.Pacer), nil
}

func (a *Activities) jumpCloud(in config.Integration) (*jumpcloud.Client, error) {
	sa, err := a.serviceAccount(in)
	if err != nil {
		return nil, err
	}
	p, err := a.orgPacer(in)
	if err != nil {
		return nil, err
	}
	return newClient(in, "JumpCloud", jumpcloud.New, jumpcloud.Options{
		BaseURL:                in.JumpCloud.BaseURL,
		InsightsBaseURL:        in.JumpCloud.InsightsBaseURL,
		InsightsBaseURLSetting: in.Setting("jumpcloud.insights_base_url"),
		APIKey:                 in.JumpCloud.APIKey,
		ServiceAccount:         sa,
		OrgID:                  in.JumpCloud.OrgID,
		BaseURLSetting:         in.Setting("jumpcloud.base_url"),
		HTTPClient:             a.httpClient(),
		Pacer:                  p,
		MaxAttempts:            a.Retries.MaxAttempts,
		BaseBackoff:            a.Retries.BaseBackoff,
		MaxRetryWait:           a.Retries.MaxRetryWait,
		OnRequest: func(info jumpcloud.RequestInfo) {
			if a.Observer != nil {
				a.Observer.JumpCloudRequest(in.Name, info)
			}
		},
	})
}

func (a *Activities) authomize(in config.Integration) (*authomize.Client, error) {
	p, err := a.tenantPacer(in)
	if err != nil {
		return nil, err
	}
	return newClient(in, "Authomize", authomize.New, authomize.Options{
		BaseURL:        in.Authomize.BaseURL,
		Token:          in.Authomize.Token,
		AppID:          in.Authomize.AppID,
		BaseURLSetting: in.Setting("authomize.base_url"),
		Pacer:          p,
		HTTPClient:     a.httpClient(),
		BatchSize:      a.AuthomizeBatchSize,
		MaxAttempts:    a.Retries.MaxAttempts,
		BaseBackoff:    a.Retries.BaseBackoff,
		MaxRetryWait:   a.Retries.MaxRetryWait,
		OnRequest: func(info authomize.RequestInfo) {
			if a.Observer != nil {
				a.Observer.AuthomizeRequest(in.Name, info)
			}
		},
	})
}

// newClient builds an API client of an integration with build. A client that cannot be built
// is a configuration error, which no retry mends.
func newClient[O, C any](in config.Integration, api string, build func(O) (C, error), opts O) (C, error) {
	c, err := build(opts)
	if err != nil {
		var none C
		return none, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("integration %q: %s client: %v", in.Name, api, err), ErrTypeConfig, nil)
	}
	return c, nil
}

// classify turns an API error into what Temporal should do with it: permanent errors (bad
// credentials, validation, unknown app) become non-retryable application errors; everything
// else (timeouts, 5xx after the client's own retries, resets) is returned as is and retried
// by the activity's retry policy, resuming from the checkpoint. Messages come from the
// clients, which never include keys or tokens.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return err
	}
	switch {
	case errors.Is(err, jumpcloud.ErrUnauthorized), errors.Is(err, jumpcloud.ErrForbidden),
		errors.Is(err, authomize.ErrUnauthorized), errors.Is(err, authomize.ErrForbidden),
		errors.Is(err, authomize.ErrAppNotFound):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeCredentials, nil)
	case httpretry.HostNotFound(err), httpretry.BadCertificate(err):
		// The clients retried a host that does not resolve for the seconds of their backoff;
		// that it still does not is a base URL to fix (the message names its setting), and
		// a certificate does not start verifying by itself either.
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeConfig, nil)
	case jumpcloud.IsPermanent(err), authomize.IsPermanent(err):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypePermanentAPI, nil)
	case errors.Is(err, context.Canceled):
		return err
	}
	return temporal.NewApplicationError(err.Error(), "TransientAPIError")
}
