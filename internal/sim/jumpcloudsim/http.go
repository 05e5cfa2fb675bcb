package jumpcloudsim

import (
	"bufio"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"jcsync/internal/sim/faults"
)

// reqState carries the request's endpoint template and body faults to the writers.
type reqState struct {
	tmpl      string
	truncate  bool
	malformed bool
}

type stateKey struct{}

func state(r *http.Request) *reqState {
	if st, ok := r.Context().Value(stateKey{}).(*reqState); ok {
		return st
	}
	return &reqState{}
}

// ServeHTTP applies latency and faults, the rate limit, authentication, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == TokenPath {
		s.serveToken(w, r)
		return
	}
	s.arr.add(time.Now())
	_, pattern := s.mux.Handler(r)
	tmpl := pattern
	if tmpl == "" {
		tmpl = unknownRoute
	}
	rec := &recorder{ResponseWriter: w, status: http.StatusOK, record: func(status int) { s.cnt.record(tmpl, status) }}
	defer rec.count(http.StatusOK) // a handler that wrote nothing answered 200

	pause := s.faults.Pause()
	f := s.faults.Decide(r.URL.Path)
	// A client that leaves during the delay is still answered: its write fails and the
	// request is counted with the status it would have had.
	faults.Sleep(r.Context(), pause+f.Delay)
	if f.Reset {
		rec.count(FailReset)
		faults.ResetConn(rec)
		return
	}
	st := &reqState{tmpl: tmpl, truncate: f.Truncate, malformed: f.Malformed}
	r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
	if f.Status != 0 {
		if f.Status == http.StatusTooManyRequests {
			if f.RetryAfter {
				rec.Header().Set("Retry-After", "1")
			}
			s.writeRaw(rec, r, f.Status, bodyTooMany)
			return
		}
		s.writeRaw(rec, r, f.Status, msgBody(http.StatusText(f.Status)))
		return
	}
	if !s.auth(rec, r) {
		return
	}
	if pattern == "" {
		s.writeRaw(rec, r, http.StatusNotFound, `{"message":"Not Found"}`)
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// auth enforces x-api-key and x-org-id the way JumpCloud does.
func (s *Server) auth(w http.ResponseWriter, r *http.Request) bool {
	key, accepted := r.Header.Get("x-api-key"), s.acceptedKey()
	key, accepted = s.bearerAuth(r, key, accepted)
	if accepted == "" || subtle.ConstantTimeCompare([]byte(key), []byte(accepted)) != 1 {
		s.writeRaw(w, r, http.StatusUnauthorized, bodyBadKey)
		return false
	}
	// JumpCloud's own tools leave x-org-id off /api/organizations: it lists the orgs a key sees.
	if r.URL.Path == "/api/organizations" {
		return true
	}
	orgs := r.Header.Values("x-org-id")
	if len(orgs) > 1 && r.URL.Path == InsightsPath {
		// Directory Insights takes one x-org-id header per org an MSP reads; the simulator
		// serves one org, so each must name it.
		for _, org := range orgs {
			if !s.checkOrg(w, r, org) {
				return false
			}
		}
		return true
	}
	return s.checkOrg(w, r, r.Header.Get("x-org-id"))
}

// checkOrg judges one x-org-id value.
func (s *Server) checkOrg(w http.ResponseWriter, r *http.Request, org string) bool {
	switch {
	case org == "" && s.opts.MultiTenant:
		s.writeRaw(w, r, http.StatusUnauthorized, bodyNoOrg)
		return false
	case org == "":
		return true
	case !objectIDRe.MatchString(org):
		s.writeRaw(w, r, http.StatusBadRequest, `{"message":"Bad Request: invalid organization id"}`)
		return false
	case org != s.orgID:
		s.writeRaw(w, r, http.StatusNotFound, `{"message":"Not Found: organization not found"}`)
		return false
	}
	return true
}

// recorder remembers the status for the counters and passes hijacking through.
// Counting happens before the first byte leaves, so a client that has its answer always
// finds the request in Counts.
type recorder struct {
	http.ResponseWriter
	status   int
	recorded bool
	record   func(status int)
}

func (r *recorder) count(status int) {
	if !r.recorded {
		r.recorded = true
		r.status = status
		r.record(status)
	}
}

func (r *recorder) WriteHeader(code int) {
	r.count(code)
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.count(http.StatusOK)
	return r.ResponseWriter.Write(b)
}

// Hijack passes through so faults can drop or cut connections.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("jumpcloudsim: response writer cannot hijack")
	}
	return hj.Hijack()
}

// writeTruncated sends the headers of a complete response but only half of its body, then
// closes the connection: the client sees an unexpected EOF mid-body.
func writeTruncated(w http.ResponseWriter, status int, body []byte) {
	h := w.Header().Clone()
	if rec, ok := w.(*recorder); ok {
		rec.count(FailTruncated)
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	_ = h.Write(buf)
	_, _ = buf.WriteString("\r\n")
	_, _ = buf.Write(body[:len(body)/2])
	_ = buf.Flush()
}

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.writeRaw(w, r, http.StatusInternalServerError, `{"message":"Internal Server Error"}`)
		return
	}
	s.writeBytes(w, r, status, body)
}

func (s *Server) writeRaw(w http.ResponseWriter, r *http.Request, status int, body string) {
	s.writeBytes(w, r, status, []byte(body))
}

// writeBytes writes a JSON body, applying the request's body faults.
func (s *Server) writeBytes(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	st := state(r)
	body = s.rewrite(r, status, body)
	if st.malformed {
		// Valid start, broken middle: what a proxy splicing an error page would produce.
		body = []byte(`{"totalCount":1,"results":[{"_id":"5c00"]<html>Bad Gateway</html>`)
	}
	if st.truncate {
		writeTruncated(w, status, body)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// msgBody is JumpCloud's error shape, {"message": ...}, properly escaped.
func msgBody(msg string) string {
	b, _ := json.Marshal(map[string]string{"message": msg})
	return string(b)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, what string) {
	s.writeRaw(w, r, http.StatusNotFound, msgBody("Not Found: "+what+" not found"))
}

// knownGroup reports whether the path's group exists, answering 404 when it does not.
func (s *Server) knownGroup(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if _, ok := s.org.Group(id); !ok {
		s.notFound(w, r, "user group")
		return "", false
	}
	return id, true
}

// knownApp reports whether the path's application exists, answering 404 when it does not.
func (s *Server) knownApp(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if _, ok := s.org.App(id); !ok {
		s.notFound(w, r, "application")
		return "", false
	}
	return id, true
}
