package httpretry

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// MaxRedirects is how many redirects one request may follow: an API that needs more hops
// than that is misconfigured, and every hop is another chance to send the credential astray.
const MaxRedirects = 5

// Refusal describes a redirect that SameHostRedirects refused.
type Refusal struct {
	From *url.URL // the first request of the chain, i.e. the host the credential was meant for
	To   *url.URL // the refused hop
	// OtherHost is true when To is on another host; otherwise the hop downgrades https to http.
	OtherHost bool
}

// SameHostRedirects returns an http.Client CheckRedirect that refuses a redirect to another
// host or from https to http, and stops after MaxRedirects hops. net/http forwards custom
// headers such as x-api-key to whatever host a redirect names (Authorization to the same
// domain and its subdomains), so following one elsewhere could hand the credential to a
// stranger, and a downgrade would put it on the wire in clear.
//
// refuse builds the error for a refused hop, so each client keeps its own wording and
// sentinel. next, typically the caller's own CheckRedirect, runs after these checks: it can
// refuse more but never allow what is refused here, so honouring it can only make the
// policy stricter; nil means no further policy.
//
// Host names are compared case-insensitively, as DNS does: a difference in case is the same
// host, so refusing it would protect nothing.
func SameHostRedirects(refuse func(Refusal) error, next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		from := via[0].URL
		otherHost := !strings.EqualFold(req.URL.Host, from.Host)
		if otherHost || (from.Scheme == "https" && req.URL.Scheme != "https") {
			return refuse(Refusal{From: from, To: req.URL, OtherHost: otherHost})
		}
		if len(via) >= MaxRedirects {
			return fmt.Errorf("stopped after %d redirects", MaxRedirects)
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
}

// Scrub replaces every occurrence of secret in s with [REDACTED]. A server or proxy can echo
// a request header back in an error body, and such text ends up in logs and workflow history.
func Scrub(s, secret string) string {
	if secret == "" || s == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[REDACTED]")
}

// ReadLimited reads at most limit bytes of r; over reports that r had more. It reads one byte
// past limit to tell "exactly limit" from "more", and no further, so a broken or hostile
// server cannot exhaust memory with an endless body. On a read error data is what arrived
// before it.
func ReadLimited(r io.Reader, limit int64) (data []byte, over bool, err error) {
	data, err = io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(data)) > limit {
		return data[:limit], true, err
	}
	return data, false, err
}
