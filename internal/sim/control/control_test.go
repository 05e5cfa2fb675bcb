package control

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"jcsync/internal/sim/authomizesim"
	"jcsync/internal/sim/jumpcloudsim"
)

func newControl(t *testing.T) (*httptest.Server, *jumpcloudsim.Server) {
	t.Helper()
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 9, Users: 80, Groups: 8, Admins: 2, Apps: 5})
	jc := jumpcloudsim.New(org, jumpcloudsim.Options{APIKey: "k"})
	az := authomizesim.New(authomizesim.Options{Tokens: []string{"t"}, Apps: []string{"app"}})
	ctl := &Control{JC: jc, AZ: az, AppID: "app"}
	ts := httptest.NewServer(ctl.Handler())
	t.Cleanup(func() {
		ts.Close()
		_, _ = ctl.StopChurn() // a test that failed midway leaves its churn running
	})
	return ts, jc
}

// call sends one request and returns the status and body.
func call(t *testing.T, method, url string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func TestChurnAndWindowMisuse(t *testing.T) {
	ts, _ := newControl(t)
	for _, c := range []struct {
		method, path string
		status       int
		says         string
	}{
		{"GET", "/window/check", http.StatusConflict, "/window/begin"},
		{"POST", "/churn/stop", http.StatusConflict, "/churn/start"},
		{"POST", "/churn/start?every=soon", http.StatusBadRequest, "every"},
		{"POST", "/churn/start?every=10us", http.StatusBadRequest, "minimum"},
		{"POST", "/churn/start?seed=x", http.StatusBadRequest, "seed"},
		{"POST", "/churn/start?every=1h&seed=3", http.StatusNoContent, ""},
		{"POST", "/churn/start", http.StatusConflict, "already running"},
		{"POST", "/churn/stop", http.StatusOK, "byKind"},
		{"POST", "/churn/stop", http.StatusConflict, "no churn"},
		{"GET", "/churn/stop", http.StatusMethodNotAllowed, ""},
	} {
		status, body := call(t, c.method, ts.URL+c.path)
		if status != c.status || !strings.Contains(string(body), c.says) {
			t.Errorf("%s %s: %d %q, want %d and a body that says %q", c.method, c.path, status, body, c.status, c.says)
		}
	}
}

// A window begun before the churn starts and checked after it stops: the stable set is what
// existed throughout less what the churn touched, and with nothing in Authomize every stable
// object is reported missing.
func TestWindowCheckUnderChurn(t *testing.T) {
	ts, jc := newControl(t)
	var before jumpcloudsim.Expected
	jc.View(func(o *jumpcloudsim.Org) { before = o.Expected(false) })
	if status, body := call(t, "POST", ts.URL+"/window/begin"); status != http.StatusNoContent {
		t.Fatalf("begin: %d %s", status, body)
	}
	if status, body := call(t, "POST", ts.URL+"/churn/start?every=2ms&seed=4"); status != http.StatusNoContent {
		t.Fatalf("start: %d %s", status, body)
	}
	// Checks while the churn runs count its changes since the window began.
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := call(t, "GET", ts.URL+"/window/check")
		if status != http.StatusOK {
			t.Fatalf("check: %d %s", status, body)
		}
		if decode[WindowCheck](t, body).Changes >= 30 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the churn made fewer than 30 changes in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	status, body := call(t, "POST", ts.URL+"/churn/stop")
	if status != http.StatusOK {
		t.Fatalf("stop: %d %s", status, body)
	}
	totals := decode[ChurnTotals](t, body)
	sum := 0
	for _, n := range totals.ByKind {
		sum += n
	}
	if totals.Total < 30 || sum != totals.Total || totals.ByKind[jumpcloudsim.ChurnDeleteUser] == 0 {
		t.Fatalf("totals %+v: want at least 30 changes, a user deleted, and kinds that add up", totals)
	}

	status, body = call(t, "GET", ts.URL+"/window/check")
	if status != http.StatusOK {
		t.Fatalf("check: %d %s", status, body)
	}
	chk := decode[WindowCheck](t, body)
	if chk.Changes != totals.Total {
		t.Errorf("the window counts %d changes, the churn made %d", chk.Changes, totals.Total)
	}
	// Nothing else touches accounts or groupings: each deletion takes at most one away (a
	// user or group the churn created and deleted again was never in before), and at least
	// one was taken away.
	for _, c := range []struct {
		kind    string
		before  int
		deleted int
	}{
		{"account", len(before.Accounts), totals.ByKind[jumpcloudsim.ChurnDeleteUser]},
		{"grouping", len(before.Groupings), totals.ByKind[jumpcloudsim.ChurnDeleteGroup]},
	} {
		if got := chk.Stable[c.kind]; got < c.before-c.deleted || got >= c.before {
			t.Errorf("%d stable %ss of %d before with %d deleted", got, c.kind, c.before, c.deleted)
		}
	}
	if m := chk.Stable["membership"]; m == 0 || m >= len(before.Memberships) {
		t.Errorf("%d stable memberships of %d before: the churn's removals are not taken out", m, len(before.Memberships))
	}
	stable := 0
	for _, n := range chk.Stable {
		stable += n
	}
	if chk.Missing == 0 || chk.Missing != stable {
		t.Errorf("empty Authomize: %d missing, want every one of the %d stable objects", chk.Missing, stable)
	}
	if len(chk.Sample) != 20 || !strings.HasPrefix(chk.Sample[0], "missing ") {
		t.Errorf("sample of %d, want 20 names: %v", len(chk.Sample), chk.Sample)
	}
}
