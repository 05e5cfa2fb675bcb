package httpretry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

func TestSameHostRedirects(t *testing.T) {
	errRefused := errors.New("refused")
	errNext := errors.New("next said no")
	req := func(u string) *http.Request {
		r, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	chain := func(n int, first string) []*http.Request {
		via := []*http.Request{req(first)}
		for len(via) < n {
			via = append(via, req(first+fmt.Sprint(len(via))))
		}
		return via
	}
	for _, tc := range []struct {
		name      string
		from, to  string
		hops      int
		next      func(*http.Request, []*http.Request) error
		want      error
		wantMsg   string
		otherHost bool
	}{
		{name: "same host", from: "https://api.example.com/a", to: "https://api.example.com/b", hops: 1},
		{name: "same host, other case", from: "https://api.example.com/a", to: "https://API.Example.com/b", hops: 1},
		{name: "http to https", from: "http://api.example.com/a", to: "https://api.example.com/b", hops: 1},
		{name: "another host", from: "https://api.example.com/a", to: "https://evil.example.net/a", hops: 1, want: errRefused, otherHost: true},
		{name: "another port", from: "https://api.example.com/a", to: "https://api.example.com:8443/a", hops: 1, want: errRefused, otherHost: true},
		{name: "subdomain", from: "https://example.com/a", to: "https://api.example.com/a", hops: 1, want: errRefused, otherHost: true},
		{name: "https to http", from: "https://api.example.com/a", to: "http://api.example.com/a", hops: 1, want: errRefused},
		{name: "last allowed hop", from: "https://api.example.com/a", to: "https://api.example.com/b", hops: MaxRedirects - 1},
		{name: "too many hops", from: "https://api.example.com/a", to: "https://api.example.com/b", hops: MaxRedirects, wantMsg: "stopped after 5 redirects"},
		{name: "caller's policy runs after ours", from: "https://api.example.com/a", to: "https://api.example.com/b", hops: 1,
			next: func(*http.Request, []*http.Request) error { return errNext }, want: errNext},
		{name: "caller's policy cannot allow another host", from: "https://api.example.com/a", to: "https://evil.example.net/a", hops: 1,
			next: func(*http.Request, []*http.Request) error { return nil }, want: errRefused, otherHost: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got Refusal
			refused := false
			check := SameHostRedirects(func(r Refusal) error { got, refused = r, true; return errRefused }, tc.next)
			err := check(req(tc.to), chain(tc.hops, tc.from))
			switch {
			case tc.wantMsg != "":
				if err == nil || err.Error() != tc.wantMsg {
					t.Fatalf("err %v, want %q", err, tc.wantMsg)
				}
			case !errors.Is(err, tc.want) || (tc.want == nil && err != nil):
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if refused != errors.Is(tc.want, errRefused) {
				t.Fatalf("refuse called: %v", refused)
			}
			if refused && (got.From.String() != tc.from || got.To.String() != tc.to || got.OtherHost != tc.otherHost) {
				t.Fatalf("refusal %+v", got)
			}
		})
	}
}

// TestSameHostRedirectsInAClient checks the policy where it matters: a real client with a
// credential header never reaches the other host.
func TestSameHostRedirectsInAClient(t *testing.T) {
	var leaked []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked = append(leaked, r.Header.Get("x-api-key"))
	}))
	defer other.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/ok":
		default:
			http.Redirect(w, r, "/ok", http.StatusFound)
		}
	}))
	defer origin.Close()
	errRefused := errors.New("refused")
	hc := &http.Client{CheckRedirect: SameHostRedirects(func(Refusal) error { return errRefused }, nil)}
	get := func(path string) (*http.Response, error) {
		r, _ := http.NewRequest(http.MethodGet, origin.URL+path, nil)
		r.Header.Set("x-api-key", "secret")
		return hc.Do(r)
	}
	if _, err := get("/away"); !errors.Is(err, errRefused) || len(leaked) != 0 {
		t.Fatalf("cross-host redirect: %v (other host saw %q)", err, leaked)
	}
	if _, err := get("/loop"); err == nil || !strings.Contains(err.Error(), "stopped after 5 redirects") {
		t.Fatalf("loop: %v", err)
	}
	resp, err := get("/start")
	if err != nil {
		t.Fatalf("same-host redirect refused: %v", err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/ok" {
		t.Fatalf("ended at %s", resp.Request.URL)
	}
}

func TestScrub(t *testing.T) {
	for _, tc := range []struct{ s, secret, want string }{
		{"key k3y in k3y", "k3y", "key [REDACTED] in [REDACTED]"},
		{"nothing to hide", "k3y", "nothing to hide"},
		{"no secret configured", "", "no secret configured"},
		{"", "k3y", ""},
		{"k3yk3y", "k3y", "[REDACTED][REDACTED]"},
	} {
		if got := Scrub(tc.s, tc.secret); got != tc.want {
			t.Errorf("Scrub(%q, %q) = %q, want %q", tc.s, tc.secret, got, tc.want)
		}
	}
}

// countingReader counts the bytes handed out, to show how far ReadLimited reads.
type countingReader struct {
	r *bytes.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestReadLimited(t *testing.T) {
	errBroken := errors.New("connection broken")
	for _, tc := range []struct {
		name     string
		body     string
		limit    int64
		want     string
		over     bool
		maxRead  int
		failWith error
	}{
		{name: "shorter", body: "abc", limit: 5, want: "abc", maxRead: 3},
		{name: "exactly the limit", body: "abcde", limit: 5, want: "abcde", maxRead: 5},
		{name: "one byte over", body: "abcdef", limit: 5, want: "abcde", over: true, maxRead: 6},
		{name: "far over: stops one byte past the limit", body: strings.Repeat("x", 1<<20), limit: 5, want: "xxxxx", over: true, maxRead: 6},
		{name: "empty", body: "", limit: 5, want: "", maxRead: 0},
		{name: "zero limit", body: "a", limit: 0, want: "", over: true, maxRead: 1},
		{name: "cut short", body: "abc", limit: 5, want: "abc", failWith: errBroken, maxRead: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := &countingReader{r: bytes.NewReader([]byte(tc.body))}
			var r io.Reader = cr
			if tc.failWith != nil {
				r = io.MultiReader(cr, iotest.ErrReader(tc.failWith))
			}
			data, over, err := ReadLimited(r, tc.limit)
			if !errors.Is(err, tc.failWith) || (tc.failWith == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tc.failWith)
			}
			if string(data) != tc.want || over != tc.over || cr.n > tc.maxRead {
				t.Fatalf("got %d bytes, over=%v, read %d; want %q, over=%v, read ≤ %d",
					len(data), over, cr.n, tc.want, tc.over, tc.maxRead)
			}
		})
	}
}
