package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jcsync/internal/authomize"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/testenv"
	"jcsync/internal/transform"
)

// setupEnv points the environment the starter reads at fresh simulators.
func setupEnv(t *testing.T, vars map[string]string) *testenv.Sims {
	t.Helper()
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 31, Users: 60, Groups: 4, Admins: 12, Apps: 3}))
	base := map[string]string{
		"JUMPCLOUD_API_KEY": testenv.APIKey, "JUMPCLOUD_BASE_URL": sims.JCURL,
		"AUTHOMIZE_TOKEN": testenv.Token, "AUTHOMIZE_BASE_URL": sims.AZURL,
		"AUTHOMIZE_INTEGRATION_NAME": "acme-jumpcloud",
	}
	for k, v := range vars {
		base[k] = v
	}
	old := getenv
	getenv = func(k string) string { return base[k] }
	t.Cleanup(func() { getenv = old })
	return sims
}

func setup(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	code, out, errs := starter(t, append([]string{"setup"}, args...)...)
	for _, secret := range []string{testenv.APIKey, testenv.Token} {
		if strings.Contains(out+errs, secret) {
			t.Fatal("setup printed a secret")
		}
	}
	t.Logf("$ starter setup %s\n%s%s", strings.Join(args, " "), out, errs)
	return code, out, errs
}

func appsNamed(t *testing.T, sims *testenv.Sims, name string) []authomize.App {
	t.Helper()
	c, err := authomize.New(authomize.Options{BaseURL: sims.AZURL, Token: testenv.Token})
	if err != nil {
		t.Fatal(err)
	}
	apps, err := c.ListApps(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []authomize.App
	for _, a := range apps {
		if a.IntegrationName == name {
			out = append(out, a)
		}
	}
	return out
}

func TestSetupCreatesTheAppOnceAndIsIdempotent(t *testing.T) {
	need(t)
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 31, Users: 60, Groups: 4, Admins: 12, Apps: 3})
	sims := setupEnv(t, map[string]string{
		"JUMPCLOUD_ADMIN_EMAIL": adminEmail(org, "Read Only"), "AUTHOMIZE_OWNER_EMAIL": org.Users[5].Email,
	})
	code, out, errs := setup(t)
	if code != 0 || !strings.Contains(out, `Authomize app "acme-jumpcloud" created: id `) || !strings.Contains(out, "next: set AUTHOMIZE_APP_ID=") {
		t.Fatalf("first setup: %d\n%s%s", code, out, errs)
	}
	if strings.Contains(out, "warning") || !strings.Contains(out, "holds Read Only") || !strings.Contains(out, "owner: "+org.Users[5].Email+" is JumpCloud account "+org.Users[5].ID) {
		t.Fatalf("a read-only admin and a known owner must validate clean:\n%s", out)
	}
	created := appsNamed(t, sims, "acme-jumpcloud")
	if len(created) != 1 {
		t.Fatalf("%d apps named acme-jumpcloud after one setup", len(created))
	}
	code, out, _ = setup(t, "-o", "json")
	var res setupResult
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Action != "found" || res.AppID != created[0].ID {
		t.Fatalf("second setup: %d %s", code, out)
	}
	if n := len(appsNamed(t, sims, "acme-jumpcloud")); n != 1 {
		t.Fatalf("a second setup created another app: %d", n)
	}
}

func TestSetupRenamesTheConfiguredApp(t *testing.T) {
	need(t)
	sims := setupEnv(t, map[string]string{"AUTHOMIZE_APP_ID": testenv.AppID, "AUTHOMIZE_INTEGRATION_NAME": "renamed-integration"})
	code, out, errs := setup(t)
	if code != 0 || !strings.Contains(out, "renamed to \"renamed-integration\"") || strings.Contains(out, "next:") {
		t.Fatalf("setup: %d\n%s%s", code, out, errs)
	}
	if apps := appsNamed(t, sims, "renamed-integration"); len(apps) != 1 || apps[0].ID != testenv.AppID {
		t.Fatalf("the configured app was not renamed: %+v", apps)
	}
}

func TestSetupAdministratorWarnsAndUnknownAdminFails(t *testing.T) {
	need(t)
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 31, Users: 60, Groups: 4, Admins: 12, Apps: 3})
	setupEnv(t, map[string]string{"JUMPCLOUD_ADMIN_EMAIL": adminEmail(org, "Administrator"), "AUTHOMIZE_OWNER_EMAIL": "nobody@example.invalid"})
	code, out, _ := setup(t)
	if code != 0 || !strings.Contains(out, `warning: the JumpCloud administrator whose key is used holds the role "Administrator", not Read Only`) {
		t.Fatalf("an Administrator key must pass with a warning: %d\n%s", code, out)
	}
	if !strings.Contains(out, "app owner (AUTHOMIZE_OWNER_EMAIL) matches no JumpCloud user") {
		t.Fatalf("an unknown owner must be noted:\n%s", out)
	}

	setupEnv(t, map[string]string{"JUMPCLOUD_ADMIN_EMAIL": "ghost@example.invalid"})
	code, out, errs := setup(t)
	if code == 0 || !strings.Contains(errs, `JumpCloud administrator "ghost@example.invalid" not found`) {
		t.Fatalf("an unknown admin must fail naming the email: %d\n%s%s", code, out, errs)
	}
}

func TestValidateReportsTheAdministratorsRole(t *testing.T) {
	need(t)
	code, out, errs := starter(t, "validate", "--integration", "readonly")
	t.Logf("$ starter validate --integration readonly\n%s%s", out, errs)
	if code != 0 || strings.Contains(out, "warning") || !strings.Contains(out, "Read Only") {
		t.Fatalf("read-only admin: %d\n%s%s", code, out, errs)
	}
	code, out, errs = starter(t, "validate", "--integration", "fulladm")
	t.Logf("$ starter validate --integration fulladm\n%s%s", out, errs)
	if code != 0 || !strings.Contains(out, `holds the role "Administrator", not Read Only`) || !strings.Contains(out, "matches no JumpCloud user") {
		t.Fatalf("administrator: %d\n%s%s", code, out, errs)
	}
	code, out, errs = starter(t, "validate", "--integration", "ghost")
	t.Logf("$ starter validate --integration ghost\n%s%s", out, errs)
	if code == 0 || !strings.Contains(errs, `"ghost@example.invalid" not found`) {
		t.Fatalf("unknown admin: %d\n%s%s", code, out, errs)
	}
}

// Setup refuses plain http to a host beyond loopback and names the way out; --insecure-http
// takes it, as the worker's flag does, and setup goes on to reach the host.
func TestSetupInsecureHTTP(t *testing.T) {
	need(t)
	setupEnv(t, map[string]string{"JUMPCLOUD_BASE_URL": "http://jumpcloud-sim.invalid:1"})
	code, _, errs := setup(t, "--timeout", "20s")
	if code == 0 || !strings.Contains(errs, "is not https") || !strings.Contains(errs, "--insecure-http") {
		t.Fatalf("plain http to a named host: exit %d, %s", code, errs)
	}
	code, _, errs = setup(t, "--insecure-http", "--timeout", "20s")
	if code == 0 || strings.Contains(errs, "is not https") || !strings.Contains(errs, "jumpcloud-sim.invalid") {
		t.Fatalf("with --insecure-http setup must get past the check and fail on the unreachable host: exit %d, %s", code, errs)
	}
}

// Two deployments left at one app name would share one Authomize app, and each sync would
// sweep the other org's records: setup refuses an app whose baseline names another org,
// whether it finds the app by name or has its id configured.
func TestSetupRefusesAnAppThatHoldsAnotherOrg(t *testing.T) {
	need(t)
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 31, Users: 60, Groups: 4, Admins: 12, Apps: 3})
	sims := setupEnv(t, map[string]string{"JUMPCLOUD_ADMIN_EMAIL": adminEmail(org, "Read Only")})
	if code, out, errs := setup(t); code != 0 {
		t.Fatalf("first setup: %d\n%s%s", code, out, errs)
	}
	apps := appsNamed(t, sims, "acme-jumpcloud")
	if len(apps) != 1 {
		t.Fatalf("%d apps after setup", len(apps))
	}
	az, err := authomize.New(authomize.Options{BaseURL: sims.AZURL, Token: testenv.Token, AppID: apps[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	// The same org's baseline: setup runs again as before.
	record := func(orgID string) {
		t.Helper()
		b := transform.Baseline{Counts: map[string]int{"users": 60}, SyncedAt: time.Now(), OrgID: orgID, Integration: "other"}
		if _, err := az.UploadAssets(context.Background(), []authomize.Asset{transform.BaselineAsset(b)}); err != nil {
			t.Fatal(err)
		}
	}
	record(org.ID)
	if code, out, errs := setup(t); code != 0 || !strings.Contains(out, "already exists") {
		t.Fatalf("setup of an app holding its own org: %d\n%s%s", code, out, errs)
	}
	record("5c0ffee00000000000000000")
	for _, env := range []map[string]string{nil, {"AUTHOMIZE_APP_ID": apps[0].ID}} {
		for k, v := range env {
			old := getenv
			getenv = func(key string) string {
				if key == k {
					return v
				}
				return old(key)
			}
			t.Cleanup(func() { getenv = old })
		}
		code, _, errs := setup(t)
		if code == 0 || !strings.Contains(errs, "already holds the data of JumpCloud org 5c0ffee00000000000000000") ||
			!strings.Contains(errs, "reads org "+org.ID) || !strings.Contains(errs, "AUTHOMIZE_INTEGRATION_NAME") {
			t.Fatalf("setup into an app holding another org (env %v): %d\n%s", env, code, errs)
		}
	}
	if n := len(appsNamed(t, sims, "acme-jumpcloud")); n != 1 {
		t.Fatalf("%d apps after a refused setup", n)
	}
}

// Setup never adopts an app another configured integration uses: the app found under the
// name is integration "first"'s, so setup refuses, naming both, and creates nothing.
func TestSetupRefusesAnotherIntegrationsApp(t *testing.T) {
	need(t)
	sims := setupEnv(t, nil)
	if code, out, errs := setup(t); code != 0 || !strings.Contains(out, "created") {
		t.Fatalf("first setup: %d\n%s%s", code, out, errs)
	}
	apps := appsNamed(t, sims, "acme-jumpcloud")
	if len(apps) != 1 {
		t.Fatalf("%d apps after setup", len(apps))
	}
	file := filepath.Join(t.TempDir(), "integrations.json")
	cfg := fmt.Sprintf(`{"integrations": [{"name": "first", "jumpcloud": {"api_key": {"env": "JUMPCLOUD_API_KEY"}, "base_url": %q},
		"authomize": {"token": {"env": "AUTHOMIZE_TOKEN"}, "base_url": %q, "app_id": %q}}]}`, sims.JCURL, sims.AZURL, apps[0].ID)
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := setup(t, "--config", file, "--integration", "acme-jumpcloud")
	if code != exitFailed || !strings.Contains(errs, "the Authomize app "+apps[0].ID) || !strings.Contains(errs, `already integration "first"'s`) ||
		!strings.Contains(errs, "delete each other's records") || strings.Contains(out, "setup OK") {
		t.Fatalf("setup adopting another integration's app: %d\n%s%s", code, out, errs)
	}
	if n := len(appsNamed(t, sims, "acme-jumpcloud")); n != 1 {
		t.Fatalf("%d apps after the refused setup", n)
	}
}
