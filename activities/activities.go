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
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/time/rate"

	"jcsync/internal/authomize"
	"jcsync/internal/config"
	"jcsync/internal/jumpcloud"
)

// Error types the workflow never retries. They are the Type of the ApplicationErrors the
// activities return, and the workflow's retry policies list them as non-retryable.
const (
	ErrTypeCredentials  = "InvalidCredentials"
	ErrTypeConfig       = "ConfigurationError"
	ErrTypePermanentAPI = "PermanentAPIError"
	ErrTypeSweepRefused = "SweepRefused"
)

// NonRetryableErrorTypes lists the error types above, for retry policies.
var NonRetryableErrorTypes = []string{ErrTypeCredentials, ErrTypeConfig, ErrTypePermanentAPI, ErrTypeSweepRefused}

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
	// Temporal is used to find the integration's last successful sync (the sweep's baseline).
	Temporal client.Client
	// DataConverter decodes what Temporal returns (the baseline's memo); it must be the one
	// the client uses, or encrypted memos would be unreadable. Nil means the default.
	DataConverter converter.DataConverter
	Log           *logrus.Logger
	Observer      Observer
	// HTTPClient is shared by every API client (connection reuse); nil takes a default.
	HTTPClient *http.Client
	// DefaultRPS is the JumpCloud request rate per org when an integration sets none.
	DefaultRPS float64
	// PageConcurrency bounds the JumpCloud pages one stage has in flight.
	PageConcurrency int
	// AuthomizeBatchSize is the number of items per Authomize request (0: client default).
	AuthomizeBatchSize int
	// Retries bounds how long the API clients retry one request before the attempt that
	// made it fails (Temporal then retries the attempt from its checkpoint). Zero fields take
	// the clients' defaults.
	Retries RequestRetries

	limiters sync.Map // org key → *rate.Limiter, shared by every stage of the same org
	tokens   serviceAccounts
}

// RequestRetries are the retry settings of both API clients, for one request.
type RequestRetries struct {
	MaxAttempts  int           // attempts per request, including the first
	BaseBackoff  time.Duration // the first wait's ceiling, doubled per attempt
	MaxRetryWait time.Duration // the cap on any single wait, Retry-After included
}

func (a *Activities) logger() *logrus.Logger {
	if a.Log != nil {
		return a.Log
	}
	return logrus.StandardLogger()
}

func (a *Activities) integration(name string) (config.Integration, error) {
	in, err := a.Integrations.Get(name)
	if err != nil {
		return config.Integration{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeConfig, nil)
	}
	return in, nil
}

// limiter returns the rate limiter of an org: every stage of every sync of the same org on
// this worker shares it, so parallel stages together stay under the org's rate.
func (a *Activities) limiter(in config.Integration) *rate.Limiter {
	rps := in.JumpCloud.RPS
	if rps <= 0 {
		rps = a.DefaultRPS
	}
	if rps <= 0 {
		rps = 10
	}
	key := in.JumpCloud.BaseURL + "|" + in.JumpCloud.OrgID + "|" + in.Name
	// A burst of one spaces requests evenly at the org's rate: a burst allowance on our side
	// would send a salvo at the start that a strict server answers with 429s. Concurrency
	// (pages in flight) is what keeps the rate full despite latency.
	l, _ := a.limiters.LoadOrStore(key, rate.NewLimiter(rate.Limit(rps), 1))
	return l.(*rate.Limiter)
}

func (a *Activities) jumpCloud(in config.Integration) (*jumpcloud.Client, error) {
	sa, err := a.serviceAccount(in)
	if err != nil {
		return nil, err
	}
	return newClient(in, "JumpCloud", jumpcloud.New, jumpcloud.Options{
		BaseURL:        in.JumpCloud.BaseURL,
		APIKey:         in.JumpCloud.APIKey,
		ServiceAccount: sa,
		OrgID:          in.JumpCloud.OrgID,
		HTTPClient:     a.HTTPClient,
		Limiter:        a.limiter(in),
		MaxAttempts:    a.Retries.MaxAttempts,
		BaseBackoff:    a.Retries.BaseBackoff,
		MaxRetryWait:   a.Retries.MaxRetryWait,
		OnRequest: func(info jumpcloud.RequestInfo) {
			if a.Observer != nil {
				a.Observer.JumpCloudRequest(in.Name, info)
			}
		},
	})
}

func (a *Activities) authomize(in config.Integration) (*authomize.Client, error) {
	return newClient(in, "Authomize", authomize.New, authomize.Options{
		BaseURL:      in.Authomize.BaseURL,
		Token:        in.Authomize.Token,
		AppID:        in.Authomize.AppID,
		HTTPClient:   a.HTTPClient,
		BatchSize:    a.AuthomizeBatchSize,
		MaxAttempts:  a.Retries.MaxAttempts,
		BaseBackoff:  a.Retries.BaseBackoff,
		MaxRetryWait: a.Retries.MaxRetryWait,
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
	case jumpcloud.IsPermanent(err), authomize.IsPermanent(err):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypePermanentAPI, nil)
	case errors.Is(err, context.Canceled):
		return err
	}
	return temporal.NewApplicationError(err.Error(), "TransientAPIError")
}
