package jumpcloud

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"jcsync/internal/httpretry"
)

// policy is how the client's requests carry the key and how their failures are judged.
//
// Statuses: 429 and 500/502/503/504 are retried (httpretry.RetryableStatus), with Retry-After
// when the answer carries one, counted in Stats.Retries; every other status fails at once.
// Every call the client makes is a read, so a repeat changes nothing.
//
// Malformed JSON: a 2xx body that is not valid JSON (a *json.SyntaxError, typically a body cut
// short by a dropped connection or a proxy's error page) is retried like a transport error,
// bounded by MaxAttempts, because a second read usually succeeds. A body that is valid JSON of
// the wrong shape (a list that is not a list, more records than the page's limit) is
// permanent: JumpCloud would answer the same again, so it fails at once. One record of the
// wrong shape is no error at all: the page skips and counts it (see Page.Skipped).
//
// Transport failures are retried when httpretry.Transient says so, and a host that does not
// resolve for the few seconds of the backoff (a resolver's own hiccup); a refused redirect
// and a body over MaxBodyBytes are permanent.
func policy(key, orgID, address string) httpretry.Policy {
	return httpretry.Policy{
		API:     "jumpcloud",
		Secret:  key,
		Address: address,
		Prepare: func(req *http.Request) {
			if key != "" {
				req.Header.Set("x-api-key", key)
			}
			if orgID != "" {
				req.Header.Set("x-org-id", orgID)
			}
			req.Header.Set("Accept", "application/json")
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", "jcsync")
		},
		MaxBody:  MaxBodyBytes,
		TooLarge: ErrBodyTooLarge,
		APIError: func(method, endpoint string, status int, body []byte) error {
			return apiError(method, endpoint, status, body, key)
		},
		Transport: func(err error) (retry, permanent bool) {
			permanent = errors.Is(err, ErrRedirectRefused) || errors.Is(err, ErrBodyTooLarge)
			return httpretry.Transient(err) || httpretry.HostNotFound(err), permanent
		},
		RetryDecode: func(err error) bool {
			var syn *json.SyntaxError
			return errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF)
		},
	}
}

// apiError builds an *APIError from a non-2xx answer, preferring JumpCloud's "message".
func apiError(method, endpoint string, status int, data []byte, key string) *APIError {
	var body struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	msg := ""
	if json.Unmarshal(data, &body) == nil {
		msg = body.Message
		if msg == "" {
			msg = body.Error
		}
	}
	if msg == "" {
		msg = strings.TrimSpace(string(data))
	}
	// JumpCloud prefixes messages with the status text ("Unauthorized: ..."); Error() already
	// says it, so drop the repetition.
	msg = strings.TrimPrefix(msg, http.StatusText(status)+": ")
	msg = httpretry.Scrub(msg, key)
	msg = truncateRunes(msg, 200)
	return &APIError{httpretry.APIError{API: "jumpcloud", Status: status, Method: method, Endpoint: endpoint, Message: msg}}
}

// truncateRunes keeps at most n bytes of s without splitting a UTF-8 sequence.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
