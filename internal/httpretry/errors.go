package httpretry

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// APIError is an answer with a non-2xx status. Each client wraps it in its own type, whose Is
// method maps statuses to that client's sentinels, so an error of one API never matches the
// sentinels of another.
type APIError struct {
	API      string // the client's name, the first word of the message: "jumpcloud", "authomize"
	Status   int
	Method   string
	Endpoint string // templated path, e.g. /api/v2/usergroups/{id}/members
	// Message is what the answer says about the failure, readably and briefly, with the
	// credential scrubbed out.
	Message string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s: %s %s: %d %s", e.API, e.Method, e.Endpoint, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// PermanentStatus reports whether an answer with this status will be the same however often
// the request is repeated: a 4xx is the caller's problem and stays so, except 408 and 429,
// which are about timing. 5xx are about the server's health.
func PermanentStatus(status int) bool {
	return status >= 400 && status < 500 &&
		status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
}

// RetryableStatus lists the answers that mean "try again later": 429, and the 5xx of an
// unhealthy server or gateway. 500 is retried like 502–504: a request that failed inside the
// server usually succeeds when repeated, and one passing 500 must not cost a multi-hour sync
// its stage. Only idempotent requests are repeated after a 5xx (see Request.Idempotent); a
// 500 that persists still fails after the last attempt.
func RetryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// RequestError is a failure that is not an HTTP status: a transport error, an unreadable or
// undecodable body, a refused redirect, a wait cut short. Its text is scrubbed of the
// credential when it is built, because the wrapped error's text may echo what the client
// sent, and the URL in it loses its query (see NewRequestError).
type RequestError struct {
	API      string
	Method   string
	Endpoint string
	Op       string // "send request", "read response", "decode response", "wait"
	Err      error
	// Permanent reports that repeating the request cannot help (a body of the wrong shape or
	// too large, a refused redirect), as the client's Policy judged it.
	Permanent bool
	// Last is the failure of the attempt before a wait that was cut short, if any; it says
	// why the request was still being retried.
	Last error
	// Hint says what to fix when the failure points at the configuration (see Unreachable):
	// the setting that holds the server's address.
	Hint string
	msg  string
}

// NewRequestError builds a RequestError whose text holds neither secret nor the query of the
// URL that net/http puts in transport errors: a filter such as email:$eq:<address> would
// otherwise carry personal data into logs and workflow histories, and the endpoint template
// already says what was called.
func NewRequestError(api, method, endpoint, op string, err error, permanent bool, secret string) *RequestError {
	err = withoutQuery(err)
	return &RequestError{API: api, Method: method, Endpoint: endpoint, Op: op, Err: err, Permanent: permanent,
		msg: Scrub(err.Error(), secret)}
}

func (e *RequestError) Error() string {
	s := fmt.Sprintf("%s: %s %s: %s: %s", e.API, e.Method, e.Endpoint, e.Op, e.msg)
	if e.Last != nil {
		s += " (last error: " + e.Last.Error() + ")"
	}
	if e.Hint != "" {
		s += ": " + e.Hint
	}
	return s
}

func (e *RequestError) Unwrap() error { return e.Err }

// withoutQuery drops the query string from the URL of a *url.Error.
func withoutQuery(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	u, perr := url.Parse(ue.URL)
	if perr != nil || u.RawQuery == "" {
		return err
	}
	u.RawQuery = ""
	return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
}
