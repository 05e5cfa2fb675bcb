package config

import (
	"os"
	"strings"
	"testing"
)

func TestServiceAccountFromEnv(t *testing.T) {
	base := map[string]string{
		"JUMPCLOUD_CLIENT_ID": "svc-1234567890", "JUMPCLOUD_CLIENT_SECRET": "jcs_secret_value",
		"AUTHOMIZE_TOKEN": "atm_token", "AUTHOMIZE_APP_ID": "app1",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	ins, err := Gather("", envOf(base), os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	in := ins["default"]
	if !in.JumpCloud.UsesServiceAccount() || in.JumpCloud.ClientID != "svc-1234567890" || in.JumpCloud.ClientSecret != "jcs_secret_value" || in.JumpCloud.APIKey != "" {
		t.Fatalf("resolved %+v", in.JumpCloud)
	}
	if got := in.JumpCloud.CredentialKind(); got != "service account (client id svc-1234…)" {
		t.Fatalf("kind %q", got)
	}
	if got := (JumpCloud{APIKey: "k"}).CredentialKind(); got != "administrator API key" {
		t.Fatalf("kind %q", got)
	}

	for _, tc := range []struct {
		label string
		env   map[string]string
		want  []string
	}{
		{"both kinds", with("JUMPCLOUD_API_KEY", "jca_key"), []string{"unset JUMPCLOUD_API_KEY to use the service account", "JUMPCLOUD_CLIENT_ID and JUMPCLOUD_CLIENT_SECRET to use the administrator's API key"}},
		{"both kinds, key file", with("JUMPCLOUD_API_KEY_FILE", "/run/key"), []string{"both an API key"}},
		{"secret without id", with("JUMPCLOUD_CLIENT_ID", ""), []string{"JUMPCLOUD_CLIENT_ID is not set"}},
		{"id without secret", with("JUMPCLOUD_CLIENT_SECRET", ""), []string{"JUMPCLOUD_CLIENT_SECRET (or JUMPCLOUD_CLIENT_SECRET_FILE) is not set"}},
		{"secret twice", with("JUMPCLOUD_CLIENT_SECRET_FILE", "/run/s"), []string{"set JUMPCLOUD_CLIENT_SECRET or JUMPCLOUD_CLIENT_SECRET_FILE, not both"}},
		{"plain http token URL", with("JUMPCLOUD_TOKEN_URL", "http://oauth.example/oauth2/token"), []string{"JUMPCLOUD_TOKEN_URL", "is not https"}},
	} {
		_, err := Gather("", envOf(tc.env), os.ReadFile)
		if err == nil {
			t.Errorf("%s: no error", tc.label)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tc.label, err, w)
			}
		}
		if strings.Contains(err.Error(), "jcs_secret_value") {
			t.Errorf("%s: the error shows the secret", tc.label)
		}
	}
	// A loopback token URL (a simulator) is fine, and so is the secret in a file.
	dir := t.TempDir()
	secretFile := writeFile(t, dir, "secret", "jcs_from_file\n")
	ins, err = Gather("", envOf(with("JUMPCLOUD_CLIENT_SECRET", "", "JUMPCLOUD_CLIENT_SECRET_FILE", secretFile, "JUMPCLOUD_TOKEN_URL", "http://127.0.0.1:8081/oauth2/token")), os.ReadFile)
	if err != nil || ins["default"].JumpCloud.ClientSecret != "jcs_from_file" || ins["default"].JumpCloud.TokenURL != "http://127.0.0.1:8081/oauth2/token" {
		t.Fatalf("%v %+v", err, ins["default"].JumpCloud)
	}
}

func TestServiceAccountInConfigFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "svc.secret", "jcs_file_secret")
	p := writeFile(t, dir, "c.json", `{"integrations":[
  {"name":"acme","jumpcloud":{"client_id":"svc-acme","client_secret":{"file":"svc.secret"},"token_url":"https://admin-oauth.id.eu.jumpcloud.com/oauth2/token","base_url":"https://console.eu.jumpcloud.com"},
   "authomize":{"token":{"env":"T"}}}]}`)
	ins, err := Gather(p, envOf(map[string]string{"T": "t"}), os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	if j := ins["acme"].JumpCloud; j.ClientSecret != "jcs_file_secret" || j.ClientID != "svc-acme" || j.APIKey != "" {
		t.Fatalf("%+v", j)
	}
	for _, tc := range []struct{ label, jc, want string }{
		{"both kinds", `{"api_key":{"env":"K"},"client_id":"svc","client_secret":{"env":"S"}}`, `integrations[0].jumpcloud: both api_key and a service account (client_id, client_secret) are set: remove api_key to use the service account, or client_id and client_secret to use the administrator's API key`},
		{"no client id", `{"client_secret":{"env":"S"}}`, `integrations[0].jumpcloud.client_id: required with client_secret`},
		{"no secret", `{"client_id":"svc"}`, `integrations[0].jumpcloud.client_secret: a secret reference is {"env": "VAR_NAME"} or {"file": "/path/to/file"}; none is set`},
		{"neither", `{}`, `integrations[0].jumpcloud.api_key: a secret reference is {"env": "VAR_NAME"} or {"file": "/path/to/file"}; none is set`},
		{"http token URL", `{"client_id":"svc","client_secret":{"env":"S"},"token_url":"http://oauth.example/t"}`, `integrations[0].jumpcloud.token_url "http://oauth.example/t" is not https`},
	} {
		p := writeFile(t, dir, "bad.json", `{"integrations":[{"name":"acme","jumpcloud":`+tc.jc+`,"authomize":{"token":{"env":"T"}}}]}`)
		_, err := Load(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.label, err, tc.want)
		}
	}
}

func TestEnvVarsListTheServiceAccount(t *testing.T) {
	for _, v := range []string{EnvJumpCloudClientID, EnvJumpCloudClientSecret, EnvJumpCloudClientSecretFile, EnvJumpCloudTokenURL} {
		found := false
		for _, e := range EnvVars {
			found = found || e == v
		}
		if !found {
			t.Errorf("EnvVars lacks %s", v)
		}
	}
}
