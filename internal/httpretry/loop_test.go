package httpretry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var errTooLarge = errors.New("too large")

// testLoop serves every attempt from answer (by 1-based attempt number) and returns a Loop
// with a test policy, the URL to ask and the observed attempts.
func testLoop(t *testing.T, answer func(n int, w http.ResponseWriter)) (*Loop, string, *[]RequestInfo) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-key") != "s3cret" {
			t.Errorf("the credential is missing")
		}
		answer(int(n.Add(1)), w)
	}))
	t.Cleanup(srv.Close)
	var infos []RequestInfo
	l := &Loop{
		HTTP: srv.Client(),
		Policy: Policy{
			API: "test", Secret: "s3cret",
			Prepare:      func(r *http.Request) { r.Header.Set("x-key", "s3cret") },
			MaxBody:      64,
			TooLarge:     errTooLarge,
			MaxErrorBody: 8,
			APIError: func(method, endpoint string, status int, body []byte) error {
				return &APIError{API: "test", Status: status, Method: method, Endpoint: endpoint, Message: string(body)}
			},
			Transport:   func(err error) (bool, bool) { return !errors.Is(err, errTooLarge), errors.Is(err, errTooLarge) },
			RetryDecode: func(error) bool { return false },
			GiveUp:      func(last error, n int) error { return fmt.Errorf("after %d attempts: %w", n, last) },
		},
		MaxAttempts: 3,
		Backoff:     Backoff{Base: time.Microsecond, Max: time.Millisecond},
		OnRequest:   func(ri RequestInfo) { infos = append(infos, ri) },
	}
	return l, srv.URL + "/x?q=s3cret", &infos
}

func TestLoop(t *testing.T) {
	status := func(codes ...int) func(int, http.ResponseWriter) {
		return func(n int, w http.ResponseWriter) {
			w.WriteHeader(codes[min(n, len(codes))-1])
			fmt.Fprint(w, "0123456789abcdef")
		}
	}
	for _, tc := range []struct {
		name       string
		answer     func(int, http.ResponseWriter)
		idempotent bool
		stream     bool
		attempts   int
		want       string // "" for success
		statuses   []int
		retries    int64
	}{
		{name: "success", answer: status(200), idempotent: true, attempts: 1, statuses: []int{200}},
		{name: "5xx retried when idempotent", answer: status(503, 502, 200), idempotent: true, attempts: 3,
			statuses: []int{503, 502, 200}, retries: 2},
		{name: "5xx not retried otherwise", answer: status(500), attempts: 1,
			want: "test: GET /x: 500 Internal Server Error: 01234567", statuses: []int{500}},
		{name: "429 retried even when not idempotent", answer: status(429, 200), attempts: 2, statuses: []int{429, 200}, retries: 1},
		{name: "retries run out", answer: status(503), idempotent: true, attempts: 3,
			want: "after 3 attempts: test: GET /x: 503 Service Unavailable: 01234567", statuses: []int{503, 503, 503}, retries: 2},
		{name: "4xx fails at once", answer: status(404), idempotent: true, attempts: 1,
			want: "test: GET /x: 404 Not Found: 01234567", statuses: []int{404}},
		{name: "2xx over the limit refused", idempotent: true, attempts: 1, statuses: []int{0},
			answer: func(_ int, w http.ResponseWriter) { fmt.Fprint(w, strings.Repeat("x", 65)) },
			want:   "test: GET /x: read response: too large: 65 bytes announced, more than 64"},
		{name: "2xx over the limit refused while read", idempotent: true, attempts: 1, statuses: []int{0},
			answer: func(_ int, w http.ResponseWriter) {
				fmt.Fprint(w, strings.Repeat("x", 40))
				w.(http.Flusher).Flush() // no Content-Length: the size shows only while reading
				fmt.Fprint(w, strings.Repeat("x", 40))
			},
			want: "test: GET /x: read response: too large: more than 64 bytes"},
		{name: "stream failure is a transport failure", idempotent: true, stream: true, attempts: 3, statuses: []int{0, 0, 200}, retries: 2,
			answer: func(n int, w http.ResponseWriter) {
				if n < 3 {
					fmt.Fprint(w, "bad")
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			l, url, infos := testLoop(t, func(i int, w http.ResponseWriter) { n.Add(1); tc.answer(i, w) })
			req := Request{Method: http.MethodGet, Endpoint: "/x", URL: url, Idempotent: tc.idempotent}
			if tc.stream {
				req.Stream = func(r io.Reader) error {
					b, _ := io.ReadAll(r)
					if string(b) == "bad" {
						return errors.New("bad stream")
					}
					return nil
				}
			}
			err := l.Do(context.Background(), req)
			if (tc.want == "" && err != nil) || (tc.want != "" && (err == nil || err.Error() != tc.want)) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if int(n.Load()) != tc.attempts || len(*infos) != tc.attempts {
				t.Fatalf("%d attempts, %d reported; want %d", n.Load(), len(*infos), tc.attempts)
			}
			for i, ri := range *infos {
				if ri.Status != tc.statuses[i] || ri.Attempt != i+1 || (ri.Err == nil) != (i == tc.attempts-1 && tc.want == "") {
					t.Fatalf("attempt %d reported as %+v", i+1, ri)
				}
			}
			if st := l.Stats(); st.Requests != int64(tc.attempts) || st.Retries != tc.retries {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestLoopCancelledWait: a caller that goes away during the wait gets its context's error,
// saying what was being retried, and no further attempt.
func TestLoopCancelledWait(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, url, infos := testLoop(t, func(_ int, w http.ResponseWriter) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	l.Backoff.Max = time.Hour
	l.OnRequest = func(ri RequestInfo) { *infos = append(*infos, ri); cancel() }
	err := l.Do(ctx, Request{Method: http.MethodGet, Endpoint: "/x", URL: url, Idempotent: true})
	var re *RequestError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &re) || re.Op != "wait" || re.Last == nil ||
		!strings.Contains(err.Error(), "last error: test: GET /x: 429 Too Many Requests") {
		t.Fatalf("err %v", err)
	}
	if len(*infos) != 1 || l.Stats().RateLimited != 1 || l.Stats().Retries != 0 {
		t.Fatalf("%d attempts, stats %+v", len(*infos), l.Stats())
	}
}

// TestLoopTransportErrorText: a transport error names the endpoint, not the URL's query, and
// never holds the secret.
func TestLoopTransportErrorText(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	l, _, _ := testLoop(t, func(int, http.ResponseWriter) {})
	l.MaxAttempts = 1
	err := l.Do(context.Background(), Request{Method: http.MethodGet, Endpoint: "/x", URL: dead.URL + "/x?q=s3cret", Idempotent: true})
	var re *RequestError
	if !errors.As(err, &re) || re.Op != "send request" || re.Permanent ||
		strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "?q=") {
		t.Fatalf("err %v", err)
	}
}
