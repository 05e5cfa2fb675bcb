package jumpcloud

import (
	"context"
	"errors"
	"net/http"

	"jcsync/internal/httpretry"
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

// APIError is a non-2xx answer from JumpCloud. Its Message is JumpCloud's "message" or the
// body's first 200 characters, with the API key scrubbed out.
type APIError struct{ httpretry.APIError }

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
// undecodable body, a refused redirect, a wait cut short. Permanent reports that repeating
// the request cannot help (wrong body shape, body too large, refused redirect).
type RequestError = httpretry.RequestError

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
		return httpretry.PermanentStatus(ae.Status)
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
