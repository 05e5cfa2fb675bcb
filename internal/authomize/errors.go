package authomize

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"jcsync/internal/httpretry"
)

// Sentinels for the statuses a caller must react to differently. Use errors.Is; an *APIError
// or *ValidationError with the matching status satisfies them.
var (
	ErrUnauthorized = errors.New("authomize: unauthorized (is the API token valid?)")
	ErrForbidden    = errors.New("authomize: forbidden (does the token have access to this app?)")
	ErrAppNotFound  = errors.New("authomize: app not found (check the app id)")
	ErrValidation   = errors.New("authomize: request failed validation")
	ErrTooLarge     = errors.New("authomize: request too large")
	// ErrItemTooLarge means one item alone does not fit in a request body; it is detected
	// before sending, so no request is made for the call.
	ErrItemTooLarge = errors.New("authomize: item exceeds the request size limit")
	// ErrUnsafeSweep means a sweep was refused because it would delete all of the app's data.
	ErrUnsafeSweep = errors.New("authomize: refusing to delete data without a cutoff")
)

// APIError is a non-2xx answer from Authomize. Its Message is the body's "detail", rendered
// readably; it never contains the token.
type APIError struct{ httpretry.APIError }

// Is maps statuses onto the sentinels.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrAppNotFound:
		return e.Status == http.StatusNotFound
	case ErrValidation:
		return e.Status == http.StatusUnprocessableEntity
	case ErrTooLarge:
		return e.Status == http.StatusRequestEntityTooLarge
	}
	return false
}

// ValidationItem is one entry of a FastAPI 422 "detail" list.
type ValidationItem struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

func (v ValidationItem) String() string {
	parts := make([]string, len(v.Loc))
	for i, l := range v.Loc {
		switch n := l.(type) {
		case float64: // JSON numbers decode as float64; indexes read better as ints
			parts[i] = fmt.Sprint(int64(n))
		default:
			parts[i] = fmt.Sprint(l)
		}
	}
	return fmt.Sprintf("%s: %s (%s)", strings.Join(parts, "."), v.Msg, v.Type)
}

// ValidationError is a 422 answer with its items; Message holds them rendered as text.
type ValidationError struct {
	APIError
	Items []ValidationItem
}

// Unwrap lets errors.As find the embedded *APIError.
func (e *ValidationError) Unwrap() error { return &e.APIError }

// IsPermanent reports whether retrying the same call cannot succeed: bad credentials, unknown
// app, invalid or oversized data, or a refused sweep. Transient failures (including retries
// exhausted on 429/5xx) and context cancellation are not permanent.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	for _, s := range []error{ErrUnauthorized, ErrForbidden, ErrAppNotFound, ErrValidation, ErrTooLarge, ErrItemTooLarge, ErrUnsafeSweep} {
		if errors.Is(err, s) {
			return true
		}
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return httpretry.PermanentStatus(ae.Status)
	}
	return false
}

// RequestError is a failure that is not an HTTP status: a transport error, an unreadable
// body, a refused redirect, a wait cut short. Its text holds neither the token nor a query.
type RequestError = httpretry.RequestError
