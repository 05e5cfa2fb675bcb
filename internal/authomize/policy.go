package authomize

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"jcsync/internal/httpretry"
)

// errBodyTooLarge refuses a 2xx answer over maxResponseBytes.
var errBodyTooLarge = errors.New("authomize: response body too large")

// policy is how the client's requests carry the token and how their failures are judged.
// Uploads are upserts keyed by uniqueId (relations by their id tuple) and DELETE /data with a
// fixed cutoff is idempotent, so re-sending them after an ambiguous failure is harmless: a
// failed transport, an unreadable 2xx (most likely truncated by a proxy) and the statuses of
// httpretry.RetryableStatus are all retried. Creating an app is not idempotent and is
// retried only on 429, which says it was not processed.
func policy(token, address string) httpretry.Policy {
	return httpretry.Policy{
		API:     "authomize",
		Secret:  token,
		Address: address,
		Prepare: func(req *http.Request) {
			req.Header.Set("Authorization", token) // raw token, no "Bearer": the connector API convention
			req.Header.Set("Accept", "application/json")
			if req.Body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
		},
		MaxBody:      maxResponseBytes,
		TooLarge:     errBodyTooLarge,
		MaxErrorBody: maxErrorBodyBytes,
		APIError: func(method, endpoint string, status int, body []byte) error {
			return apiError(method, endpoint, status, body, token)
		},
		Transport:   func(err error) (retry, permanent bool) { return true, httpretry.BadCertificate(err) },
		RetryDecode: func(error) bool { return true },
		GiveUp: func(last error, attempts int) error {
			return fmt.Errorf("authomize: giving up after %d attempts: %w", attempts, last)
		},
	}
}

// apiError builds the typed error for a non-2xx answer.
func apiError(method, endpoint string, status int, body []byte, token string) error {
	base := APIError{httpretry.APIError{API: "authomize", Status: status, Method: method, Endpoint: endpoint}}
	// Scrub before parsing so neither Message nor Items can carry a token a server echoed.
	body = []byte(httpretry.Scrub(string(body), token))
	var env struct {
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &env) != nil || len(env.Detail) == 0 {
		base.Message = httpretry.Scrub(snippet(body), token)
		return &base
	}
	var s string
	if json.Unmarshal(env.Detail, &s) == nil {
		base.Message = httpretry.Scrub(s, token) // again: JSON escapes could hide a token from the raw pass
		if status == http.StatusUnprocessableEntity {
			return &ValidationError{APIError: base}
		}
		return &base
	}
	var items []ValidationItem
	if json.Unmarshal(env.Detail, &items) == nil {
		parts := make([]string, 0, min(len(items), 20))
		for i, it := range items {
			if i == 20 { // a 10,000-item batch can fail everywhere; keep the message readable
				parts = append(parts, fmt.Sprintf("… and %d more", len(items)-20))
				break
			}
			parts = append(parts, it.String())
		}
		base.Message = httpretry.Scrub(strings.Join(parts, "; "), token)
		if status == http.StatusUnprocessableEntity {
			return &ValidationError{APIError: base, Items: items}
		}
		return &base
	}
	base.Message = httpretry.Scrub(snippet(env.Detail), token)
	return &base
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 512 {
		s = s[:512] + "…"
	}
	return s
}
