package httpretry

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// RequestInfo describes one HTTP attempt, for metrics and logs. It carries no secrets and no
// data.
type RequestInfo struct {
	Method   string
	Endpoint string // templated path, e.g. /api/v2/usergroups/{id}/members
	Status   int    // 0 when no whole answer arrived (a transport error, a body cut short or too large)
	Attempt  int    // 1 for the first try
	Duration time.Duration
	Err      error // the attempt's failure as the caller would see it; nil on success
}

// Stats are cumulative request counters of a Loop.
type Stats struct {
	Requests    int64 // HTTP attempts made
	Retries     int64 // attempts that were followed by another one
	RateLimited int64 // 429 answers
}

// Policy is what one API's client decides about its requests: how they carry the
// credential, how large an answer may be, what an error answer means and which failures
// deserve another attempt.
type Policy struct {
	API    string // the client's name, the first word of every error message
	Secret string // the credential, scrubbed out of every error's text
	// Prepare sets the request's headers, the credential among them.
	Prepare func(*http.Request)
	// MaxBody bounds a buffered answer. A longer one is refused with an error that wraps
	// TooLarge, before any of it is read when its length is announced.
	MaxBody  int64
	TooLarge error
	// MaxErrorBody, when set, bounds a non-2xx answer instead, which is then cut rather than
	// refused: only its start makes the message.
	MaxErrorBody int64
	// APIError turns a non-2xx answer into the error the caller sees.
	APIError func(method, endpoint string, status int, body []byte) error
	// Transport judges a failure that left no whole answer: whether another attempt may
	// help, and whether no later attempt can.
	Transport func(err error) (retry, permanent bool)
	// RetryDecode reports whether a 2xx body that did not decode deserves another attempt;
	// one that does not is permanent.
	RetryDecode func(err error) bool
	// GiveUp, when set, builds the error returned after the last attempt failed with a
	// failure worth retrying; nil returns that failure as it is.
	GiveUp func(last error, attempts int) error
	// Address names where the server's address is configured and what it is, for instance
	// `JUMPCLOUD_BASE_URL ("https://console.jumpcloud.com")`: a failure that points at the
	// address (see Unreachable) says to check it.
	Address string
}

// Request is one logical API call.
type Request struct {
	Method   string
	Endpoint string // templated, for errors and metrics
	URL      string // absolute, query included
	Body     []byte
	// Idempotent says the request may be sent again after a failure that it may have
	// survived (a transport error, a 5xx, an unreadable answer). One that is not is repeated
	// only after a 429, which says it was not processed.
	Idempotent bool
	// Decode reads a 2xx body; nil ignores it.
	Decode func(http.Header, []byte) error
	// Address, when set, replaces Policy.Address for this request: a route served by
	// another host than the rest, configured by a setting of its own.
	Address string
	// Stream, when set, reads a 2xx body as it arrives instead of buffering it, for answers
	// as large as the data behind them. Its failure counts as a transport failure.
	Stream func(io.Reader) error
}

// Ticket is the right to send one attempt, handed out by a pacer (a *pacer.Ticket): it
// takes the attempt's outcome once, and later calls are no-ops.
type Ticket interface {
	Succeeded()
	Throttled(retryAfter time.Duration)
	Failed()
}

// Loop runs requests with retries: per attempt it waits for Throttle and Pace, sends, reads
// the bounded answer, tells the pacer how it went and judges it by the Policy; between
// attempts it waits the server's Retry-After or a jittered backoff. Its counters and
// OnRequest see every attempt. It is safe for concurrent use once built.
type Loop struct {
	HTTP        *http.Client
	Policy      Policy
	MaxAttempts int // including the first
	Backoff     Backoff
	// Throttle, when set, runs before every attempt (a rate limiter); its failure ends the
	// request.
	Throttle func(context.Context) error
	// Pace, when set, runs before every attempt after Throttle and returns the attempt's
	// Ticket (an adaptive pacer's Wait); its failure ends the request. The loop gives the
	// ticket the attempt's outcome as soon as the answer is in: a 429 is Throttled with its
	// Retry-After (0 when absent, at most Backoff.Max); a 5xx, a transport failure or a body
	// cut short is Failed; every other answer, a 404 included, is Succeeded, since it says
	// the server took the request at that rate.
	Pace func(context.Context) (Ticket, error)
	// Sleep waits between attempts; nil means the package's Sleep.
	Sleep     func(ctx context.Context, d time.Duration) error
	OnRequest func(RequestInfo)

	requests, retries, rateLimited atomic.Int64
}

// Stats returns the cumulative counters.
func (l *Loop) Stats() Stats {
	return Stats{Requests: l.requests.Load(), Retries: l.retries.Load(), RateLimited: l.rateLimited.Load()}
}

// Do runs req until it succeeds, fails for good or runs out of attempts. A caller whose ctx
// is done gets ctx's error, never another attempt.
func (l *Loop) Do(ctx context.Context, req Request) error {
	var last error
	for attempt := 1; ; attempt++ {
		if l.Throttle != nil {
			if err := l.Throttle(ctx); err != nil {
				return l.waitErr(ctx, req, err, last)
			}
		}
		var ticket Ticket
		if l.Pace != nil {
			t, err := l.Pace(ctx)
			if err != nil {
				return l.waitErr(ctx, req, err, last)
			}
			ticket = t
		}
		start := time.Now()
		status, hdr, body, paused, err := l.send(ctx, req, ticket)
		l.requests.Add(1)
		retry, retryAfter, result := l.judge(ctx, req, status, hdr, body, err)
		if err != nil {
			status = 0
		}
		if l.OnRequest != nil {
			l.OnRequest(RequestInfo{Method: req.Method, Endpoint: req.Endpoint, Status: status, Attempt: attempt,
				Duration: time.Since(start), Err: result})
		}
		if result == nil || !retry {
			return result
		}
		if attempt >= l.MaxAttempts {
			if l.Policy.GiveUp != nil {
				return l.Policy.GiveUp(result, attempt)
			}
			return result
		}
		last = result
		if ctx.Err() != nil {
			return l.waitErr(ctx, req, ctx.Err(), last)
		}
		l.retries.Add(1)
		// A 429 that carried a Retry-After has paused the pacer, which holds this retry with
		// every other request of the account until the pause ends: a sleep of its own would
		// only wait the same time twice over.
		//
		// A 429 without one keeps the jittered backoff. The pacer has cut its rate at once,
		// so the account as a whole already sends less, and the backoff does not change
		// that: the slots this request leaves are taken by others. What it changes is how
		// the attempts of this one request spread out: taken back to back at the cut rate,
		// they would spend MaxAttempts within a fraction of a second, against a server that
		// refuses for a whole window (a fixed-window limit answers 429 to everything until
		// the window ends), and fail a request that a second later would have passed.
		// Spread over the backoff, they reach the next window. Against a token bucket the
		// backoff costs nothing measurable: the share of 429s and the rate are the same
		// with it and without (about 1 % and 0.97 of a 20 req/s limit), because the pacer's
		// cut, not this one request, is what brings the account under the limit.
		if paused {
			continue
		}
		sleep := l.Sleep
		if sleep == nil {
			sleep = Sleep
		}
		if err := sleep(ctx, l.Backoff.Wait(attempt, retryAfter, time.Now())); err != nil {
			return l.waitErr(ctx, req, err, last)
		}
	}
}

// send makes one attempt and gives its ticket (nil when unpaced) the outcome; see
// Loop.Pace. paused reports a 429 with a usable Retry-After, which has paused the pacer.
//
// The deferred Failed finishes the ticket when something panics on the way (Prepare, a
// Stream callback, the transport): a ticket holds one of the pacer's in-flight slots, and
// one never finished would lower the pacer's capacity for good. After the real outcome it
// is a no-op.
func (l *Loop) send(ctx context.Context, req Request, t Ticket) (status int, hdr http.Header, body []byte, paused bool, err error) {
	if t == nil {
		status, hdr, body, err = l.once(ctx, req)
		return status, hdr, body, false, err
	}
	defer t.Failed()
	status, hdr, body, err = l.once(ctx, req)
	switch {
	case status == http.StatusTooManyRequests:
		// The status alone is the signal, even when the body then failed to arrive.
		d, ok := ParseRetryAfter(hdr.Get("Retry-After"), time.Now())
		if l.Backoff.Max > 0 {
			d = min(d, l.Backoff.Max)
		}
		t.Throttled(d)
		paused = ok && d > 0
	case err != nil || status >= 500:
		t.Failed()
	default:
		t.Succeeded()
	}
	return status, hdr, body, paused, err
}

// judge turns one attempt's outcome into whether another attempt may help, the Retry-After
// of a status answer and the error the caller sees.
func (l *Loop) judge(ctx context.Context, req Request, status int, hdr http.Header, body []byte, err error) (retry bool, retryAfter string, result error) {
	p := l.Policy
	switch {
	case err != nil:
		if ctx.Err() != nil {
			return false, "", l.reqErr(req, "send request", ctx.Err(), false)
		}
		op := "send request"
		if status != 0 {
			op = "read response"
		}
		retry, permanent := p.Transport(err)
		return retry && !permanent && req.Idempotent, "", l.reqErr(req, op, err, permanent)
	case status >= 200 && status < 300:
		if req.Decode == nil || req.Stream != nil {
			return false, "", nil
		}
		if derr := req.Decode(hdr, body); derr != nil {
			retry := p.RetryDecode(derr)
			return retry && req.Idempotent, "", l.reqErr(req, "decode response", derr, !retry)
		}
		return false, "", nil
	default:
		if status == http.StatusTooManyRequests {
			l.rateLimited.Add(1)
		}
		retry := RetryableStatus(status) && (req.Idempotent || status == http.StatusTooManyRequests)
		return retry, hdr.Get("Retry-After"), p.APIError(req.Method, req.Endpoint, status, body)
	}
}

// once makes a single HTTP attempt and reads the whole (bounded) body, or streams a 2xx one.
// A non-zero status with an error means the headers arrived but the body did not.
func (l *Loop) once(ctx context.Context, req Request) (int, http.Header, []byte, error) {
	var rd io.Reader
	if req.Body != nil {
		rd = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, rd)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("build request: %w", err)
	}
	if l.Policy.Prepare != nil {
		l.Policy.Prepare(hr)
	}
	resp, err := l.HTTP.Do(hr)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if ok && req.Stream != nil {
		if err := req.Stream(resp.Body); err != nil {
			return resp.StatusCode, resp.Header, nil, err
		}
		return resp.StatusCode, resp.Header, nil, nil
	}
	limit, cut := l.Policy.MaxBody, false
	if !ok && l.Policy.MaxErrorBody > 0 {
		limit, cut = l.Policy.MaxErrorBody, true
	}
	if !cut && resp.ContentLength > limit {
		return resp.StatusCode, resp.Header, nil, fmt.Errorf("%w: %d bytes announced, more than %d", l.Policy.TooLarge, resp.ContentLength, limit)
	}
	data, over, err := ReadLimited(resp.Body, limit)
	if err != nil {
		return resp.StatusCode, resp.Header, nil, err
	}
	if over && !cut {
		return resp.StatusCode, resp.Header, nil, fmt.Errorf("%w: more than %d bytes", l.Policy.TooLarge, limit)
	}
	return resp.StatusCode, resp.Header, data, nil
}

func (l *Loop) reqErr(req Request, op string, err error, permanent bool) *RequestError {
	re := NewRequestError(l.Policy.API, req.Method, req.Endpoint, op, err, permanent, l.Policy.Secret)
	if why, ok := Unreachable(err); ok && op == "send request" {
		re.Hint = why
		switch {
		case req.Address != "":
			re.Hint += ": check " + req.Address
		case l.Policy.Address != "":
			re.Hint += ": check " + l.Policy.Address
		}
	}
	return re
}

// waitErr reports a wait cut short by ctx, or by a throttle that cannot fit in ctx's
// deadline; last is the failure that was to be retried, if any.
func (l *Loop) waitErr(ctx context.Context, req Request, err, last error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	re := l.reqErr(req, "wait", err, false)
	re.Last = last
	return re
}
