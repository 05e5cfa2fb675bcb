package jumpcloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Sentinels for errors.Is. An *APIError matches the sentinel of its status, so callers can
// branch on the cause without parsing messages.
var (
	ErrUnauthorized = errors.New("jumpcloud: unauthorized")
	ErrForbidden    = errors.New("jumpcloud: forbidden")
	ErrNotFound     = errors.New("jumpcloud: not found")
	// ErrRateLimited is returned when JumpCloud still answers 429 after every attempt.
	ErrRateLimited = errors.New("jumpcloud: rate limited")
	// ErrRedirectRefused is returned when a response redirects to another host: following it
	// would hand the API key to that host.
	ErrRedirectRefused = errors.New("jumpcloud: redirect to another host refused")
	// ErrBodyTooLarge is returned when a response body exceeds the client's size limit.
	ErrBodyTooLarge = errors.New("jumpcloud: response body too large")
)

// errNotAPage ends the message of a list answer with more records than its limit.
var errNotAPage = errors.New("the response is not a page")

// APIError is a non-2xx answer from JumpCloud.
type APIError struct {
	Status   int
	Method   string
	Endpoint string // templated path, e.g. /api/v2/usergroups/{id}/members
	// Message is JumpCloud's "message" or the body's first 200 characters, with the API key
	// scrubbed out.
	Message string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("jumpcloud: %s %s: %d %s", e.Method, e.Endpoint, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is maps the status to the package sentinels.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	}
	return false
}

// RequestError is a failure that is not an HTTP status: a transport error, an unreadable or
// undecodable body, a refused redirect. Its text is scrubbed of the API key when it is built,
// because the wrapped error's text may echo things the client sent.
type RequestError struct {
	Method   string
	Endpoint string
	Op       string // "send request", "read response", "decode response", ...
	Err      error
	// Permanent reports that repeating the request cannot help (wrong body shape, body too
	// large, refused redirect).
	Permanent bool
	msg       string
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("jumpcloud: %s %s: %s: %s", e.Method, e.Endpoint, e.Op, e.msg)
}

func (e *RequestError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is not worth retrying later (for example by a Temporal
// activity retry): bad credentials, missing permission, unknown object, malformed requests,
// responses of the wrong shape. Rate limiting, 5xx, transport errors and cancellation are
// not permanent.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		// 4xx is the caller's problem and stays so; 408 and 429 are about timing, 5xx about
		// JumpCloud's health.
		return ae.Status >= 400 && ae.Status < 500 &&
			ae.Status != http.StatusRequestTimeout && ae.Status != http.StatusTooManyRequests
	}
	var re *RequestError
	if errors.As(err, &re) {
		return re.Permanent
	}
	var ce *configError
	return errors.As(err, &ce)
}

// configError is a mistake in Options; never worth retrying.
type configError struct{ msg string }

func (e *configError) Error() string { return "jumpcloud: " + e.msg }

// retryableStatus lists the statuses the client retries by itself: 429, and the 5xx answers
// of an unhealthy JumpCloud or gateway. 500 is retried like 502–504: a read that failed
// inside JumpCloud usually succeeds when repeated, every call the client makes is a read
// (so a repeat changes nothing), and one passing 500 must not cost a multi-hour sync its
// stage. A 500 that persists still fails after MaxAttempts.
func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
