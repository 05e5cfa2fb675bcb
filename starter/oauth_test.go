package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"

	"jcsync/activities"
	"jcsync/internal/config"
	"jcsync/internal/sim/authomizesim"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/testenv"
	"jcsync/routing"
)

const (
	svcClientID = "svc-starter-4f1e2d3c"
	svcSecret   = "jcs_STARTER_secret_0123456789abcdef"
)

// serviceAccountEnv points the starter at fresh simulators with a service account in place
// of the API key.
func serviceAccountEnv(t *testing.T, vars map[string]string) *testenv.Sims {
	t.Helper()
	env := map[string]string{"JUMPCLOUD_API_KEY": "", "JUMPCLOUD_CLIENT_ID": svcClientID, "JUMPCLOUD_CLIENT_SECRET": svcSecret}
	for k, v := range vars {
		env[k] = v
	}
	sims := setupEnv(t, env)
	sims.JC.AddServiceAccount(svcClientID, svcSecret)
	old := getenv
	getenv = func(k string) string {
		if k == "JUMPCLOUD_TOKEN_URL" {
			return sims.JCURL + jumpcloudsim.TokenPath
		}
		return old(k)
	}
	t.Cleanup(func() { getenv = old })
	return sims
}

// noTokens fails when text holds the secret or any token the simulator issued.
func noTokens(t *testing.T, jc *jumpcloudsim.Server, text string) {
	t.Helper()
	if strings.Contains(text, svcSecret) {
		t.Fatal("the output holds the client secret")
	}
	for _, tok := range jc.IssuedTokens() {
		if strings.Contains(text, tok) {
			t.Fatal("the output holds an access token")
		}
	}
}

func TestSetupWithAServiceAccount(t *testing.T) {
	need(t)
	sims := serviceAccountEnv(t, nil)
	code, out, errs := setup(t)
	noTokens(t, sims.JC, out+errs)
	if code != 0 || !strings.Contains(out, "JumpCloud credential: service account (client id svc-star…): accepted") || strings.Contains(out, "warning") {
		t.Fatalf("setup: %d\n%s%s", code, out, errs)
	}
	if st := sims.JC.TokenStats(); st.Issued != 1 || st.BearerOK == 0 {
		t.Fatalf("token stats %+v", st)
	}
}

func TestSetupServiceAccountMistakesFailFast(t *testing.T) {
	need(t)
	for _, tc := range []struct {
		label string
		vars  map[string]string
		want  []string
	}{
		{"wrong client id", map[string]string{"JUMPCLOUD_CLIENT_ID": "svc-nobody"}, []string{`JUMPCLOUD_CLIENT_ID ("svc-nobody") names an existing service account`, "401 invalid_client: Client authentication failed: the OAuth 2.0 client does not exist."}},
		{"wrong secret", map[string]string{"JUMPCLOUD_CLIENT_SECRET": "jcs_WRONG_secret_aaaa"}, []string{"401 invalid_client: Client authentication failed: the client secret does not match", "JUMPCLOUD_CLIENT_SECRET is its current secret"}},
		{"both kinds", map[string]string{"JUMPCLOUD_API_KEY": testenv.APIKey}, []string{"unset JUMPCLOUD_API_KEY to use the service account, or JUMPCLOUD_CLIENT_ID and JUMPCLOUD_CLIENT_SECRET to use the administrator's API key"}},
	} {
		sims := serviceAccountEnv(t, tc.vars)
		started := time.Now()
		code, out, errs := setup(t)
		noTokens(t, sims.JC, out+errs)
		if strings.Contains(out+errs, "jcs_WRONG_secret_aaaa") {
			t.Fatalf("%s: the wrong secret was echoed", tc.label)
		}
		if code == 0 {
			t.Fatalf("%s: setup succeeded", tc.label)
		}
		for _, w := range tc.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%s: %q lacks %q", tc.label, errs, w)
			}
		}
		if d := time.Since(started); d > 5*time.Second {
			t.Errorf("%s: took %s", tc.label, d)
		}
		if st := sims.JC.TokenStats(); st.Refused > 1 {
			t.Errorf("%s: %d token requests refused: a rejection was retried", tc.label, st.Refused)
		}
	}
}

func TestSetupListOrgsOfAMultiTenantCredential(t *testing.T) {
	need(t)
	sims := serviceAccountEnv(t, nil)
	sims.JC.SetMultiTenant(true)
	sims.JC.SetOrganizations([]jumpcloudsim.Organization{
		{ID: sims.Org.ID, DisplayName: "Acme Holdings"}, {ID: "5c3536e9e0a6840001872783", DisplayName: "Acme Retail"},
	})
	// Without an org id, the check says how to find one.
	code, out, errs := setup(t)
	if code == 0 || !strings.Contains(errs, "multi-tenant") || !strings.Contains(errs, "starter setup --list-orgs") || !strings.Contains(errs, "JUMPCLOUD_ORG_ID") {
		t.Fatalf("multi-tenant without an org: %d\n%s%s", code, out, errs)
	}
	code, out, errs = setup(t, "--list-orgs")
	noTokens(t, sims.JC, out+errs)
	if code != 0 || !strings.Contains(out, sims.Org.ID+"  Acme Holdings") || !strings.Contains(out, "5c3536e9e0a6840001872783  Acme Retail") ||
		!strings.Contains(out, "next: set JUMPCLOUD_ORG_ID") || !strings.Contains(out, "sees 2 organization(s)") {
		t.Fatalf("--list-orgs: %d\n%s%s", code, out, errs)
	}
	// With the org chosen, setup passes.
	old := getenv
	getenv = func(k string) string {
		if k == "JUMPCLOUD_ORG_ID" {
			return sims.Org.ID
		}
		return old(k)
	}
	t.Cleanup(func() { getenv = old })
	if code, out, errs := setup(t); code != 0 {
		t.Fatalf("with the org id: %d\n%s%s", code, out, errs)
	}
	if code, out, _ := setup(t, "--list-orgs", "-o", "json"); code != 0 || !strings.Contains(out, `"name": "Acme Retail"`) {
		t.Fatalf("json: %s", out)
	}
}

// TestValidateWithAServiceAccount runs `starter validate` through a worker whose integration
// authenticates with a service account.
func TestValidateWithAServiceAccount(t *testing.T) {
	need(t)
	jcs := jumpcloudsim.New(jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 5, Users: 40, Groups: 3, Admins: 3, Apps: 2}), jumpcloudsim.Options{})
	jcs.AddServiceAccount(svcClientID, svcSecret)
	jc := httptest.NewServer(jcs)
	defer jc.Close()
	azs := authomizesim.New(authomizesim.Options{Tokens: []string{azToken}})
	az := httptest.NewServer(azs)
	defer az.Close()
	integ := func(name, secret string) config.Integration {
		return config.Integration{
			Name: name,
			JumpCloud: config.JumpCloud{BaseURL: jc.URL, ClientID: svcClientID, ClientSecret: secret,
				ClientSecretFrom: config.SecretRef{Env: "UNUSED"}, TokenURL: jc.URL + jumpcloudsim.TokenPath},
			Authomize: config.Authomize{BaseURL: az.URL, Token: azToken, AppID: azs.CreateApp(name), TokenFrom: config.SecretRef{Env: "UNUSED"}},
		}
	}
	const queue = "starter-oauth"
	ws, err := routing.New(env.client, queue, &activities.Activities{
		Integrations: config.Integrations{"svc": integ("svc", svcSecret), "svcbad": integ("svcbad", "jcs_WRONG_secret_bbbb")},
		Temporal:     env.client, DefaultRPS: 1000,
	}, func(routing.Carries) worker.Options { return workerOptions() })
	if err == nil {
		err = ws.Start()
	}
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Stop()
	if err := settle(context.Background(), ws.Queues()...); err != nil {
		t.Fatal(err)
	}
	code, out, errs := starter(t, "validate", "--task-queue", queue, "--integration", "svc")
	t.Logf("$ starter validate --integration svc\n%s%s", out, errs)
	noTokens(t, jcs, out+errs)
	if code != 0 || !strings.Contains(out, "JumpCloud credential: service account (client id svc-star…): accepted") {
		t.Fatalf("validate: %d\n%s%s", code, out, errs)
	}
	code, out, errs = starter(t, "validate", "--task-queue", queue, "--integration", "svcbad")
	t.Logf("$ starter validate --integration svcbad\n%s%s", out, errs)
	noTokens(t, jcs, out+errs)
	if code == 0 || !strings.Contains(errs, "invalid_client") || !strings.Contains(errs, "JUMPCLOUD_CLIENT_SECRET") || strings.Contains(errs, "jcs_WRONG_secret_bbbb") {
		t.Fatalf("wrong secret: %d\n%s%s", code, out, errs)
	}
}
