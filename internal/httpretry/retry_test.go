package httpretry

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		v    string
		want time.Duration
		ok   bool
	}{
		{"seconds", "7", 7 * time.Second, true},
		{"zero", "0", 0, true},
		{"spaces", " 12 ", 12 * time.Second, true},
		{"date", now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{"RFC 850 date", now.Add(time.Minute).Format(time.RFC850), time.Minute, true},
		{"past date", now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"seconds over the cap", "90000", MaxRetryAfter, true},
		{"seconds that would overflow", fmt.Sprint(int64(math.MaxInt64)), MaxRetryAfter, true},
		{"date over the cap", now.Add(400 * 24 * time.Hour).Format(http.TimeFormat), MaxRetryAfter, true},
		{"empty", "", 0, false},
		{"negative", "-1", 0, false},
		{"word", "soon", 0, false},
		{"fraction", "1.5", 0, false},
		{"beyond int64", "99999999999999999999", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := ParseRetryAfter(tc.v, now)
			if d != tc.want || ok != tc.ok {
				t.Fatalf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tc.v, d, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	b := Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}
	for attempt := 1; attempt < 70; attempt++ {
		d := b.Jitter(attempt)
		if d < 0 || d > 50*time.Millisecond {
			t.Fatalf("attempt %d: %v", attempt, d)
		}
	}
}

func TestBackoffCeilings(t *testing.T) {
	const samples = 2000
	for _, tc := range []struct {
		name    string
		b       Backoff
		attempt int
		ceiling time.Duration
	}{
		{"first attempt", Backoff{Base: 10 * time.Millisecond, Max: time.Second}, 1, 10 * time.Millisecond},
		{"doubles", Backoff{Base: 10 * time.Millisecond, Max: time.Second}, 3, 40 * time.Millisecond},
		{"capped", Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}, 4, 50 * time.Millisecond},
		{"base above max", Backoff{Base: time.Minute, Max: time.Second}, 1, time.Second},
		{"no overflow at a huge max", Backoff{Base: time.Second, Max: math.MaxInt64}, 200, math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var top time.Duration
			for range samples {
				d := tc.b.Jitter(tc.attempt)
				if d < 0 || d > tc.ceiling {
					t.Fatalf("%v outside [0, %v]", d, tc.ceiling)
				}
				top = max(top, d)
			}
			// Full jitter spreads over the whole range: with this many samples, none above
			// half the ceiling would mean the ceiling is lower than intended.
			if top <= tc.ceiling/2 {
				t.Fatalf("largest of %d waits %v, want some above %v", samples, top, tc.ceiling/2)
			}
		})
	}
	for _, b := range []Backoff{{}, {Base: -time.Second, Max: time.Second}, {Base: time.Second, Max: 0}} {
		if d := b.Jitter(3); d != 0 {
			t.Fatalf("%+v: %v, want 0", b, d)
		}
	}
}

func TestWait(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	b := Backoff{Base: time.Microsecond, Max: 30 * time.Second}
	for _, tc := range []struct {
		name       string
		retryAfter string
		min, max   time.Duration
	}{
		{"Retry-After honoured", "2", 2 * time.Second, 2 * time.Second},
		{"Retry-After date honoured", now.Add(3 * time.Second).Format(http.TimeFormat), 3 * time.Second, 3 * time.Second},
		{"Retry-After capped at Max", "120", 30 * time.Second, 30 * time.Second},
		{"no answer: backoff", "", 0, time.Microsecond},
		{"unusable Retry-After: backoff", "-5", 0, time.Microsecond},
		{"garbage Retry-After: backoff", "later", 0, time.Microsecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := b.Wait(1, tc.retryAfter, now); d < tc.min || d > tc.max {
				t.Fatalf("Wait(1, %q) = %v, want [%v, %v]", tc.retryAfter, d, tc.min, tc.max)
			}
		})
	}
}

func TestSleep(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		d    time.Duration
		want error
	}{
		{"no wait", context.Background(), 0, nil},
		{"negative wait", context.Background(), -time.Second, nil},
		{"short wait", context.Background(), time.Millisecond, nil},
		{"cancelled before a zero wait", cancelled, 0, context.Canceled},
		{"cancelled during a long wait", cancelled, time.Hour, context.Canceled},
		{"deadline during a long wait", expired, time.Hour, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := Sleep(tc.ctx, tc.d)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Sleep = %v, want %v", err, tc.want)
			}
			if el := time.Since(start); el > 10*time.Second {
				t.Fatalf("Sleep took %v", el)
			}
		})
	}
}

// timeoutErr is a net.Error that reports a timeout, like a dial or read deadline.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestTransient(t *testing.T) {
	op := func(err error) error {
		return &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: err}}
	}
	wrap := func(err error) error { return &url.Error{Op: "Get", URL: "https://api.example.com/x", Err: err} }
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"body cut short", wrap(io.ErrUnexpectedEOF), true},
		{"EOF before the answer", wrap(io.EOF), true},
		{"connection reset", wrap(op(syscall.ECONNRESET)), true},
		{"connection aborted", wrap(op(syscall.ECONNABORTED)), true},
		{"broken pipe", wrap(op(syscall.EPIPE)), true},
		{"connection refused", wrap(op(syscall.ECONNREFUSED)), true},
		{"deadline exceeded", wrap(os.ErrDeadlineExceeded), true},
		{"net timeout", wrap(timeoutErr{}), true},
		{"DNS timeout", wrap(&net.DNSError{Err: "timeout", Name: "api.example.com", IsTimeout: true}), true},
		{"reset, as text only", errors.New("read tcp 10.0.0.1:1->10.0.0.2:443: connection reset by peer"), true},
		{"idle connection closed, as text only", errors.New("http: server closed idle connection"), true},
		{"transport broken, as text only", errors.New("net/http: HTTP/1.x transport connection broken: x"), true},
		{"unknown host", wrap(&net.DNSError{Err: "no such host", Name: "api.example.com", IsNotFound: true}), false},
		{"untrusted certificate", wrap(x509.UnknownAuthorityError{}), false},
		{"other error", wrap(errors.New("unsupported protocol scheme")), false},
		{"cancelled", wrap(context.Canceled), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Transient(tc.err); got != tc.want {
				t.Fatalf("Transient(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
