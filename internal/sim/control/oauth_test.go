package control

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"jcsync/internal/sim/authomizesim"
	"jcsync/internal/sim/jumpcloudsim"
)

func TestOAuthRoutes(t *testing.T) {
	jc := jumpcloudsim.New(jumpcloudsim.NewOrg(1), jumpcloudsim.Options{})
	jc.AddServiceAccount("svc-1", "secret-1")
	c := &Control{JC: jc, AZ: authomizesim.New(authomizesim.Options{})}
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"POST", "/oauth/revoke?client_id=nobody", 404},
		{"POST", "/oauth/revoke?client_id=svc-1", 204},
		{"POST", "/oauth/expire", 204},
		{"GET", "/oauth/stats", 200},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(""))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, res.StatusCode, tc.status)
		}
	}
}
