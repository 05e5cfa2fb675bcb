package control

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"jcsync/internal/sim/jumpcloudsim"
)

// insightsRoutes adds the Directory Insights endpoints:
//
//   - POST /change?kind=K makes one administrator's change (jumpcloudsim.ChangeKinds) and
//     answers it as JSON {kind, id, target, at}; at is its event's timestamp, from which a
//     benchmark times how long the change takes to reach Authomize. Groups larger than
//     ChurnMaxGroupMembers are never deleted.
//   - POST /insights sets the events route's knobs, each optional: lag (a Go duration),
//     forbidden (true/false), noise (a number of noise events to add now), fault (a status)
//     with for (a Go duration; fault=0 ends it), hold (the next N events wait) and release
//     (true: the held events are ingested now).
func (c *Control) insightsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /change", func(w http.ResponseWriter, r *http.Request) {
		ch, err := c.JC.ApplyChange(r.URL.Query().Get("kind"), ChurnMaxGroupMembers)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, ch)
	})
	mux.HandleFunc("POST /insights", func(w http.ResponseWriter, r *http.Request) {
		if err := c.setInsights(r); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// setInsights validates every parameter before applying any, so a bad request changes
// nothing.
func (c *Control) setInsights(r *http.Request) error {
	q := r.URL.Query()
	var apply []func(*jumpcloudsim.Server)
	if v := q.Get("lag"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("lag=%q: want a non-negative Go duration such as 5s", v)
		}
		apply = append(apply, func(s *jumpcloudsim.Server) { s.SetInsightsLag(d) })
	}
	if v := q.Get("forbidden"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("forbidden=%q: want true or false", v)
		}
		apply = append(apply, func(s *jumpcloudsim.Server) { s.SetInsightsForbidden(on) })
	}
	if v := q.Get("noise"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("noise=%q: want a non-negative number of events", v)
		}
		apply = append(apply, func(s *jumpcloudsim.Server) { s.AddNoiseEvents(n) })
	}
	if v := q.Get("fault"); v != "" {
		status, err := strconv.Atoi(v)
		if err != nil || (status != 0 && (status < 400 || status > 599)) {
			return fmt.Errorf("fault=%q: want an HTTP error status such as 503, or 0 to end the fault", v)
		}
		d := time.Duration(0)
		if status != 0 {
			if d, err = time.ParseDuration(q.Get("for")); err != nil || d <= 0 {
				return fmt.Errorf("for=%q: a fault needs a positive Go duration such as 30s", q.Get("for"))
			}
		}
		apply = append(apply, func(s *jumpcloudsim.Server) { s.SetInsightsFault(status, d) })
	}
	if v := q.Get("hold"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("hold=%q: want a non-negative number of events", v)
		}
		apply = append(apply, func(s *jumpcloudsim.Server) { s.HoldInsightsEvents(n) })
	}
	if v := q.Get("release"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("release=%q: want true or false", v)
		}
		if on {
			apply = append(apply, func(s *jumpcloudsim.Server) { s.ReleaseInsightsEvents() })
		}
	}
	if len(apply) == 0 {
		return fmt.Errorf("nothing to set: give lag, forbidden, noise, fault (with for), hold or release")
	}
	for _, f := range apply {
		f(c.JC)
	}
	return nil
}
