package control

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"jcsync/internal/jumpcloud"
	"jcsync/internal/sim/jumpcloudsim"
)

// TestChangeAndInsightsKnobs: POST /change makes the change and answers its event's time;
// POST /insights sets the route's knobs and refuses bad values without changing anything.
func TestChangeAndInsightsKnobs(t *testing.T) {
	ts, jc := newControl(t)
	apiSrv := httptest.NewServer(jc)
	t.Cleanup(apiSrv.Close)
	api := apiSrv.URL
	c, err := jumpcloud.New(jumpcloud.Options{APIKey: "k", BaseURL: api, RPS: 1000, BaseBackoff: time.Millisecond, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Second)
	status, body := call(t, http.MethodPost, ts.URL+"/change?kind=suspend-user")
	if status != 200 {
		t.Fatalf("POST /change: %d %s", status, body)
	}
	ch := decode[jumpcloudsim.Change](t, body)
	p, err := c.InsightsEvents(context.Background(), jumpcloud.InsightsQuery{StartTime: start})
	if err != nil || len(p.Events) != 1 || p.Events[0].Resource.ID != ch.ID || !p.Events[0].Timestamp.Equal(ch.At) {
		t.Fatalf("events after the change %+v: %+v %v", ch, p.Events, err)
	}
	if status, body := call(t, http.MethodPost, ts.URL+"/change?kind=nope"); status != 400 || !strings.Contains(string(body), "suspend-user") {
		t.Fatalf("unknown kind: %d %s", status, body)
	}

	for _, bad := range []string{"", "lag=soon", "lag=-1s", "forbidden=maybe", "noise=-3", "fault=200&for=1s", "fault=503", "noise=5&lag=x"} {
		if status, body := call(t, http.MethodPost, ts.URL+"/insights?"+bad); status != 400 {
			t.Fatalf("POST /insights?%s: %d %s", bad, status, body)
		}
	}
	if n := jc.InsightsEvents(); n != 1 {
		t.Fatalf("a refused request changed the log: %d events", n)
	}
	if status, body := call(t, http.MethodPost, ts.URL+"/insights?noise=6&forbidden=true"); status != 204 {
		t.Fatalf("POST /insights: %d %s", status, body)
	}
	if n := jc.InsightsEvents(); n != 7 {
		t.Fatalf("%d events after noise=6, want 7", n)
	}
	if _, err := c.InsightsEvents(context.Background(), jumpcloud.InsightsQuery{StartTime: start}); !errors.Is(err, jumpcloud.ErrInsightsForbidden) {
		t.Fatalf("forbidden=true: %v", err)
	}
	call(t, http.MethodPost, ts.URL+"/insights?forbidden=false&fault=503&for=1h")
	if _, err := c.InsightsEvents(context.Background(), jumpcloud.InsightsQuery{StartTime: start}); err == nil || jumpcloud.IsPermanent(err) {
		t.Fatalf("fault=503: %v", err)
	}
	call(t, http.MethodPost, ts.URL+"/insights?fault=0&hold=1")
	held, _ := decodeChange(t, ts.URL, "create-user")
	p, err = c.InsightsEvents(context.Background(), jumpcloud.InsightsQuery{StartTime: start})
	if err != nil || len(p.Events) != 5 || slices.ContainsFunc(p.Events, func(e jumpcloud.InsightsEvent) bool { return e.Resource.ID == held.ID }) {
		t.Fatalf("hold=1: %d events %v; want the 5 directory ones without the held %s", len(p.Events), err, held.ID)
	}
	call(t, http.MethodPost, ts.URL+"/insights?release=true")
	if p, err = c.InsightsEvents(context.Background(), jumpcloud.InsightsQuery{StartTime: start}); err != nil || len(p.Events) != 6 {
		t.Fatalf("release=true: %d events %v, want 6", len(p.Events), err)
	}
	call(t, http.MethodPost, ts.URL+"/insights?lag=1h")
	p, err = c.InsightsEvents(context.Background(), jumpcloud.InsightsQuery{StartTime: start})
	if err != nil || len(p.Events) != 0 {
		t.Fatalf("lag=1h hides every event: %+v %v", p.Events, err)
	}
}

// decodeChange makes one change through POST /change.
func decodeChange(t *testing.T, base, kind string) (jumpcloudsim.Change, int) {
	t.Helper()
	status, body := call(t, http.MethodPost, base+"/change?kind="+kind)
	if status != 200 {
		t.Fatalf("POST /change?kind=%s: %d %s", kind, status, body)
	}
	return decode[jumpcloudsim.Change](t, body), status
}
