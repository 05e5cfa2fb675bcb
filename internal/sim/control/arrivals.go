package control

import (
	"net/http"
	"strconv"
)

// arrivalRoutes adds GET /arrivals: the JumpCloud API requests that arrived in each
// wall-clock second since the start or the last POST /reset, keyed by Unix second (a JSON
// object's keys are strings). A rate limit on JumpCloud's side sees these counts, so a
// benchmark of several workers sharing one org reads its aggregate rate here.
func (c *Control) arrivalRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /arrivals", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]int64{}
		for sec, n := range c.JC.ArrivalsPerSecond() {
			out[strconv.FormatInt(sec, 10)] = n
		}
		writeJSON(w, out)
	})
}
