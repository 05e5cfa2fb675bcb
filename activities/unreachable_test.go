package activities_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"jcsync/activities"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/testenv"
)

// mistypedHost is a host under .invalid, which no resolver may resolve (RFC 6761).
const mistypedHost = "console.jumpclod.invalid"

// resolverSaysNotFound skips a test when this machine's resolver cannot say "no such host"
// (no resolver at all answers with a temporary error instead), since the rule under test is
// about that answer.
func resolverSaysNotFound(t *testing.T) {
	t.Helper()
	_, err := net.LookupHost(mistypedHost)
	var dns *net.DNSError
	if !errors.As(err, &dns) || !dns.IsNotFound {
		t.Skipf("this machine's resolver does not answer \"no such host\" for %s: %v", mistypedHost, err)
	}
}

// A mistyped base URL is a configuration error that names its setting: never a credential
// problem, and not retried by Temporal as if JumpCloud were down.
func TestUnresolvableBaseURLNamesItsSetting(t *testing.T) {
	resolverSaysNotFound(t)
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 5, Users: 5, Groups: 1, Admins: 1, Apps: 1}))
	for _, tc := range []struct {
		name, setting string
		file          bool
		jumpcloud     bool
	}{
		{"JumpCloud from the environment", "JUMPCLOUD_BASE_URL", false, true},
		{"Authomize from the environment", "AUTHOMIZE_BASE_URL", false, false},
		{"JumpCloud from a config file", "integrations[2].jumpcloud.base_url in /etc/jcsync/integrations.json", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, a := newActivityEnv(t, sims, false)
			in := a.Integrations["acme"]
			if tc.file {
				in.File, in.Index = "/etc/jcsync/integrations.json", 2
			}
			if tc.jumpcloud {
				in.JumpCloud.BaseURL = "https://" + mistypedHost
			} else {
				in.Authomize.BaseURL = "https://" + mistypedHost
			}
			a.Integrations["acme"] = in
			_, err := env.ExecuteActivity(a.Validate, activities.ValidateInput{Integration: "acme"})
			var app *temporal.ApplicationError
			if !errors.As(err, &app) {
				t.Fatalf("want an application error, got %v", err)
			}
			if app.Type() != activities.ErrTypeConfig || !app.NonRetryable() {
				t.Fatalf("want a non-retryable %s, got %s (non-retryable %v): %v", activities.ErrTypeConfig, app.Type(), app.NonRetryable(), err)
			}
			msg := err.Error()
			t.Log(msg)
			for _, want := range []string{mistypedHost + " does not resolve", "check " + tc.setting, `"https://` + mistypedHost + `"`} {
				if !strings.Contains(msg, want) {
					t.Errorf("the error does not say %q: %s", want, msg)
				}
			}
			if strings.Contains(strings.ToLower(msg), "rejected") || strings.Contains(msg, "API key") {
				t.Errorf("the error reads as a credential problem: %s", msg)
			}
		})
	}
}

// A server that refuses connections is retried (it may be starting), and the error that
// reaches the operator names the setting too.
func TestRefusedConnectionNamesTheSetting(t *testing.T) {
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 5, Users: 5, Groups: 1, Admins: 1, Apps: 1}))
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // its port now refuses connections
	env, a := newActivityEnv(t, sims, false)
	in := a.Integrations["acme"]
	in.JumpCloud.BaseURL = closed.URL
	a.Integrations["acme"] = in
	_, err := env.ExecuteActivity(a.Validate, activities.ValidateInput{Integration: "acme"})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.NonRetryable() {
		t.Fatalf("want a retryable application error, got %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "connection refused") || !strings.Contains(msg, "check JUMPCLOUD_BASE_URL") {
		t.Fatalf("the error does not name the setting: %s", msg)
	}
}
