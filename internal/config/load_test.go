package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodConfig = `{
  "integrations": [
    {
      "name": "acme",
      "jumpcloud": {"api_key": {"env": "ACME_JC_KEY"}, "org_id": "org1", "rps": 5},
      "authomize": {"token": {"file": "acme.token"}, "app_id": "app1", "base_url": "https://api.authomize.com"},
      "identities": true
    },
    {
      "name": "globex",
      "jumpcloud": {"api_key": {"file": "/run/secrets/globex_jc"}},
      "authomize": {"token": {"env": "GLOBEX_AZ_TOKEN"}}
    }
  ]
}
`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadGoodFile(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "jcsync.json", goodConfig)
	ins, err := Load(p)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := ins.Names(); len(got) != 2 || got[0] != "acme" || got[1] != "globex" {
		t.Fatalf("names = %v", got)
	}
	acme := ins["acme"]
	if acme.JumpCloud.APIKeyFrom.Env != "ACME_JC_KEY" || acme.JumpCloud.RPS != 5 || !acme.Identities {
		t.Fatalf("acme = %+v", acme)
	}
	// A relative secret file is relative to the config file.
	if want := filepath.Join(dir, "acme.token"); acme.Authomize.TokenFrom.File != want {
		t.Fatalf("token file = %q, want %q", acme.Authomize.TokenFrom.File, want)
	}
	if ins["globex"].JumpCloud.APIKeyFrom.File != "/run/secrets/globex_jc" {
		t.Fatalf("absolute paths stay as they are: %+v", ins["globex"].JumpCloud.APIKeyFrom)
	}
}

func TestLoadBadFiles(t *testing.T) {
	const okJC = `"jumpcloud": {"api_key": {"env": "K"}}`
	const okAZ = `"authomize": {"token": {"env": "T"}}`
	tests := []struct {
		name    string
		content string
		want    []string // substrings of the error
	}{
		{"syntax error names the line", "{\n  \"integrations\": [\n    {\"name\": \"a\",,}\n  ]\n}", []string{"line 3", "invalid character"}},
		{"truncated", "{\"integrations\": [", []string{"unexpected end of file"}},
		{"not an object", `[1,2]`, []string{"want a JSON object"}},
		{"unknown top-level field", "{\n\"integration\": []}", []string{"line 2", `unknown field "integration"`}},
		{"unknown field inside an integration", "{\"integrations\": [\n{\"name\": \"a\", " + okJC + ", " + okAZ + "},\n{\"name\": \"b\", \"colour\": 1, " + okJC + ", " + okAZ + "}]}", []string{"line 3", "integrations[1]", `unknown field "colour"`}},
		{"inline api key", "{\"integrations\": [{\"name\": \"a\",\n \"jumpcloud\": {\"api_key\": \"sk-live-123\"}, " + okAZ + "}]}", []string{"integrations[0].jumpcloud.api_key", "api_key must name where the key is ({\"env\":...} or {\"file\":...}), not the key itself"}},
		{"inline token", "{\"integrations\": [{\"name\": \"a\", " + okJC + ", \"authomize\": {\"token\": \"tok\"}}]}", []string{"integrations[0].authomize.token", "not the token itself"}},
		{"wrong type", `{"integrations": [{"name": 7}]}`, []string{"integrations[0].name", "want string"}},
		{"missing api key source", `{"integrations": [{"name": "a", "jumpcloud": {}, ` + okAZ + `}]}`, []string{"line 1, column 33", "integrations[0].jumpcloud.api_key: a secret reference is {\"env\": \"VAR_NAME\"} or {\"file\": \"/path/to/file\"}; none is set"}},
		{"both sources", `{"integrations": [{"name": "a", "jumpcloud": {"api_key": {"env": "K", "file": "f"}}, ` + okAZ + `}]}`, []string{"integrations[0].jumpcloud.api_key: a secret reference is {\"env\": \"VAR_NAME\"} or {\"file\": \"/path/to/file\"}, not both"}},
		{"missing token", `{"integrations": [{"name": "a", ` + okJC + `}]}`, []string{"integrations[0].authomize.token: a secret reference is {\"env\": \"VAR_NAME\"} or {\"file\": \"/path/to/file\"}; none is set"}},
		{"missing name", `{"integrations": [{` + okJC + `, ` + okAZ + `}]}`, []string{"integrations[0].name: required"}},
		{"bad name", `{"integrations": [{"name": "a b'", ` + okJC + `, ` + okAZ + `}]}`, []string{"integrations[0].name", "letters, digits"}},
		{"duplicate names", `{"integrations": [{"name": "a", ` + okJC + `, ` + okAZ + `}, {"name": "a", ` + okJC + `, ` + okAZ + `}]}`, []string{`integrations[1].name: "a" is already used by integrations[0]`}},
		{"bad url", `{"integrations": [{"name": "a", "jumpcloud": {"api_key": {"env": "K"}, "base_url": "console.jumpcloud.com"}, ` + okAZ + `}]}`, []string{"integrations[0].jumpcloud.base_url", "not an http(s) URL"}},
		{"empty list", `{"integrations": []}`, []string{"no integrations"}},
		{"trailing data", `{"integrations": [{"name": "a", ` + okJC + `, ` + okAZ + `}]} {}`, []string{"unexpected data"}},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, strings.Repeat("x", i+1)+".json", tt.content)
			_, err := Load(p)
			if err == nil {
				t.Fatal("Load accepted a bad file")
			}
			msg := err.Error()
			if !strings.Contains(msg, p) {
				t.Errorf("error does not name the file: %v", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if strings.Contains(msg, "sk-live-123") {
				t.Errorf("error repeats the inline secret: %v", msg)
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Fatalf("missing file: %v", err)
	}
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		ok      bool
		wantErr string
		check   func(t *testing.T, in Integration)
	}{
		{name: "nothing set", env: map[string]string{}, ok: false},
		{name: "complete", env: map[string]string{
			"JUMPCLOUD_API_KEY": "k", "JUMPCLOUD_ORG_ID": "o", "JUMPCLOUD_BASE_URL": "http://127.0.0.1:8081",
			"JUMPCLOUD_ADMIN_EMAIL": "a@x", "AUTHOMIZE_TOKEN": "t", "AUTHOMIZE_APP_ID": "app",
			"AUTHOMIZE_BASE_URL": "http://127.0.0.1:8082", "AUTHOMIZE_OWNER_EMAIL": "o@x", "JUMPCLOUD_IDENTITIES": "true",
		}, ok: true, check: func(t *testing.T, in Integration) {
			if in.Name != "default" || in.JumpCloud.APIKeyFrom.Env != "JUMPCLOUD_API_KEY" || in.Authomize.TokenFrom.Env != "AUTHOMIZE_TOKEN" ||
				in.JumpCloud.OrgID != "o" || in.Authomize.AppID != "app" || !in.Identities || in.Authomize.OwnerEmail != "o@x" ||
				in.JumpCloud.AdminEmail != "a@x" || in.JumpCloud.BaseURL != "http://127.0.0.1:8081" || in.Authomize.BaseURL != "http://127.0.0.1:8082" {
				t.Fatalf("integration = %+v", in)
			}
			if in.JumpCloud.APIKey != "" || in.Authomize.Token != "" {
				t.Fatal("FromEnv must not read secrets; Resolve does")
			}
		}},
		{name: "named, secrets in files", env: map[string]string{
			"AUTHOMIZE_INTEGRATION_NAME": "acme", "JUMPCLOUD_API_KEY_FILE": "/s/k", "AUTHOMIZE_TOKEN_FILE": "/s/t",
		}, ok: true, check: func(t *testing.T, in Integration) {
			if in.Name != "acme" || in.JumpCloud.APIKeyFrom.File != "/s/k" || in.Authomize.TokenFrom.File != "/s/t" {
				t.Fatalf("integration = %+v", in)
			}
		}},
		{name: "token missing", env: map[string]string{"JUMPCLOUD_API_KEY": "secret-value"}, ok: true, wantErr: "AUTHOMIZE_TOKEN (or AUTHOMIZE_TOKEN_FILE) is not set"},
		{name: "bad bool", env: map[string]string{"JUMPCLOUD_API_KEY": "k", "AUTHOMIZE_TOKEN": "t", "JUMPCLOUD_IDENTITIES": "yes please"}, ok: true, wantErr: "JUMPCLOUD_IDENTITIES"},
		{name: "both key sources", env: map[string]string{"JUMPCLOUD_API_KEY": "k", "JUMPCLOUD_API_KEY_FILE": "f", "AUTHOMIZE_TOKEN": "t"}, ok: true, wantErr: "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, ok, err := FromEnv(envOf(tt.env))
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret-value") {
					t.Fatalf("error leaks a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, in)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	files := map[string]string{"/s/key": "  file-key\n", "/s/empty": "\n"}
	readFile := func(p string) ([]byte, error) {
		if v, ok := files[p]; ok {
			return []byte(v), nil
		}
		return nil, &os.PathError{Op: "open", Path: p, Err: os.ErrNotExist}
	}
	env := envOf(map[string]string{"KEY": "env-key", "TOK": "env-token\n"})
	mk := func(key, tok SecretRef) Integration {
		return Integration{Name: "acme", JumpCloud: JumpCloud{APIKeyFrom: key}, Authomize: Authomize{TokenFrom: tok}}
	}
	tests := []struct {
		name             string
		in               Integration
		wantKey, wantTok string
		wantErr          []string
	}{
		{name: "env and file", in: mk(SecretRef{File: "/s/key"}, SecretRef{Env: "TOK"}), wantKey: "file-key", wantTok: "env-token"},
		{name: "env key", in: mk(SecretRef{Env: "KEY"}, SecretRef{Env: "TOK"}), wantKey: "env-key", wantTok: "env-token"},
		{name: "unset env", in: mk(SecretRef{Env: "NOPE"}, SecretRef{Env: "TOK"}), wantErr: []string{`integration "acme"`, "JumpCloud API key", "NOPE is not set"}},
		{name: "missing file", in: mk(SecretRef{Env: "KEY"}, SecretRef{File: "/s/none"}), wantErr: []string{`integration "acme"`, "Authomize token", "/s/none"}},
		{name: "empty file", in: mk(SecretRef{File: "/s/empty"}, SecretRef{Env: "TOK"}), wantErr: []string{"/s/empty is empty"}},
		{name: "no source", in: mk(SecretRef{}, SecretRef{Env: "TOK"}), wantErr: []string{"JumpCloud API key", `a secret reference is {"env": "VAR_NAME"} or {"file": "/path/to/file"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Resolve(tt.in, env, readFile)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("want an error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				for _, secret := range []string{"env-key", "env-token", "file-key"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error leaks a secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.JumpCloud.APIKey != tt.wantKey || out.Authomize.Token != tt.wantTok {
				t.Fatalf("key=%q token=%q", out.JumpCloud.APIKey, out.Authomize.Token)
			}
		})
	}
	// Resolving through the real file system errors with the path, not a content.
	_, err := Resolve(mk(SecretRef{File: filepath.Join(t.TempDir(), "absent")}, SecretRef{Env: "TOK"}), env, os.ReadFile)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("want a not-exist error, got %v", err)
	}
}

// The example in the repository must stay a valid config file.
func TestExampleConfigLoads(t *testing.T) {
	ins, err := Load("../../integrations.example.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 2 || ins["acme"].JumpCloud.APIKeyFrom.Env != "ACME_JUMPCLOUD_API_KEY" || !ins["acme"].Identities {
		t.Fatalf("example: %+v", ins)
	}
}

func TestBaseURLsNeedTLS(t *testing.T) {
	base := map[string]string{"JUMPCLOUD_API_KEY": "k", "AUTHOMIZE_TOKEN": "t"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	t.Run("plain http to another host is refused, naming the setting and the fix", func(t *testing.T) {
		_, _, err := FromEnv(envOf(with("JUMPCLOUD_BASE_URL", "http://console.example.com")))
		want := `integration "default" from the environment: JUMPCLOUD_BASE_URL "http://console.example.com" is not https: ` +
			`use https://, or --insecure-http / JCSYNC_INSECURE_HTTP=true for a simulator`
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v\nwant  %s", err, want)
		}
		_, _, err = FromEnv(envOf(with("AUTHOMIZE_BASE_URL", "http://sim:8082", "JCSYNC_INSECURE_HTTP", "false")))
		if err == nil || !strings.Contains(err.Error(), `AUTHOMIZE_BASE_URL "http://sim:8082" is not https`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a password in the URL is not repeated", func(t *testing.T) {
		_, _, err := FromEnv(envOf(with("AUTHOMIZE_BASE_URL", "http://user:hunter2@proxy.example")))
		if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "is not https") {
			t.Fatalf("err = %v", err)
		}
	})
	for _, u := range []string{
		"https://console.jumpcloud.com", "https://console.eu.jumpcloud.com/", "HTTPS://api.authomize.com",
		"http://127.0.0.1:8081", "http://127.9.8.7", "http://[::1]:8082", "http://localhost:8081", "http://LocalHost.:8081",
		"http://[::ffff:127.0.0.1]:80",
	} {
		t.Run("accepted "+u, func(t *testing.T) {
			in, ok, err := FromEnv(envOf(with("JUMPCLOUD_BASE_URL", u, "AUTHOMIZE_BASE_URL", u)))
			if err != nil || !ok || in.JumpCloud.BaseURL != u {
				t.Fatalf("FromEnv = %+v, %v, %v", in, ok, err)
			}
		})
	}
	t.Run("JCSYNC_INSECURE_HTTP=true accepts http anywhere", func(t *testing.T) {
		in, _, err := FromEnv(envOf(with("JUMPCLOUD_BASE_URL", "http://sim:8081", "AUTHOMIZE_BASE_URL", "http://sim:8082", "JCSYNC_INSECURE_HTTP", "true")))
		if err != nil || in.Authomize.BaseURL != "http://sim:8082" {
			t.Fatalf("FromEnv = %+v, %v", in, err)
		}
	})
	t.Run("JCSYNC_INSECURE_HTTP must be a boolean", func(t *testing.T) {
		_, ok, err := FromEnv(envOf(with("JCSYNC_INSECURE_HTTP", "yes please")))
		if !ok || err == nil || !strings.Contains(err.Error(), `JCSYNC_INSECURE_HTTP="yes please": want true or false`) {
			t.Fatalf("ok=%v err=%v", ok, err)
		}
		if _, ok, err := FromEnv(envOf(map[string]string{"JCSYNC_INSECURE_HTTP": "yes please"})); ok || err != nil {
			t.Fatalf("no integration in the environment: ok=%v err=%v", ok, err)
		}
		if _, err := Gather("", envOf(with("JCSYNC_INSECURE_HTTP", "2")), os.ReadFile); err == nil || !strings.Contains(err.Error(), "JCSYNC_INSECURE_HTTP") {
			t.Fatalf("Gather: %v", err)
		}
	})
}

func TestConfigFileBaseURLsNeedTLS(t *testing.T) {
	dir := t.TempDir()
	doc := func(extra string) string {
		return `{"integrations": [{"name": "demo",` + extra + `
  "jumpcloud": {"api_key": {"env": "K"}, "base_url": "http://sim:8081"},
  "authomize": {"token": {"env": "T"}, "base_url": "https://api.authomize.com"}}]}`
	}
	strict := writeFile(t, dir, "strict.json", doc(""))
	env := envOf(map[string]string{"K": "k", "T": "t"})

	_, err := Load(strict)
	want := strict + `: line 2, column 42: integrations[0].jumpcloud.base_url "http://sim:8081" is not https: use https://, or "insecure_http": true in this integration, ` +
		`or --insecure-http / JCSYNC_INSECURE_HTTP=true for a simulator`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Load = %v\nwant ...%s", err, want)
	}
	// Gather (the starter) and GatherWith without the setting (the worker) refuse the same.
	if _, err := Gather(strict, env, os.ReadFile); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Gather = %v", err)
	}
	if _, err := GatherWith(strict, env, os.ReadFile, Policy{}); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("GatherWith = %v", err)
	}

	// The process-wide setting, from the environment or the worker's flag, accepts it.
	if ins, err := Gather(strict, envOf(map[string]string{"K": "k", "T": "t", "JCSYNC_INSECURE_HTTP": "true"}), os.ReadFile); err != nil || ins["demo"].JumpCloud.BaseURL != "http://sim:8081" {
		t.Fatalf("Gather with JCSYNC_INSECURE_HTTP=true: %v", err)
	}
	if _, err := GatherWith(strict, env, os.ReadFile, Policy{InsecureHTTP: true}); err != nil {
		t.Fatalf("GatherWith(InsecureHTTP): %v", err)
	}

	// So does the integration's own setting, for that integration only.
	own := writeFile(t, dir, "own.json", doc(` "insecure_http": true,`))
	ins, err := Load(own)
	if err != nil || !ins["demo"].InsecureHTTP {
		t.Fatalf("Load with insecure_http: %+v, %v", ins, err)
	}
	mixed := writeFile(t, dir, "mixed.json", `{"integrations": [
  {"name": "a", "insecure_http": true, "jumpcloud": {"api_key": {"env": "K"}, "base_url": "http://sim:8081"}, "authomize": {"token": {"env": "T"}}},
  {"name": "b", "jumpcloud": {"api_key": {"env": "K"}}, "authomize": {"token": {"env": "T"}, "base_url": "http://sim:8082"}}]}`)
	if _, err := Load(mixed); err == nil || !strings.Contains(err.Error(), `integrations[1].authomize.base_url "http://sim:8082" is not https`) ||
		strings.Contains(err.Error(), "integrations[0]") {
		t.Fatalf("Load mixed = %v", err)
	}
}

func TestIsLoopbackHost(t *testing.T) {
	for _, host := range []string{"localhost", "LOCALHOST", "localhost.", "127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1"} {
		if !IsLoopbackHost(host) {
			t.Errorf("IsLoopbackHost(%q) = false", host)
		}
	}
	for _, host := range []string{"", "0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "sim", "example.com", "localhost.example.com", "127.0.0.1.nip.io"} {
		if IsLoopbackHost(host) {
			t.Errorf("IsLoopbackHost(%q) = true", host)
		}
	}
}

// The sweep deletes every record of an app that its sync did not write: two integrations on
// one app would delete each other's records. The file, and the file with the environment,
// refuse it, naming both integrations and the app.
func TestOneAppPerIntegration(t *testing.T) {
	const okJC = `"jumpcloud": {"api_key": {"env": "K"}}`
	file := func(apps ...string) string {
		var parts []string
		for i, app := range apps {
			parts = append(parts, fmt.Sprintf(`{"name": "i%d", %s, "authomize": {"token": {"env": "T"}, "app_id": %q}}`, i, okJC, app))
		}
		return `{"integrations": [` + strings.Join(parts, ",\n") + `]}`
	}
	dir := t.TempDir()
	_, err := Load(writeFile(t, dir, "dup.json", file("app-1", "app-2", "APP-1 ")))
	if err == nil {
		t.Fatal("two integrations on one app were accepted")
	}
	for _, want := range []string{`integrations[2].authomize.app_id`, `"i0" and "i2" both use Authomize app "APP-1"`, "delete the other's records", "starter setup --integration i2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q: %v", want, err)
		}
	}
	// Integrations without an app id yet (before `starter setup`) share nothing.
	if _, err := Load(writeFile(t, dir, "none.json", file("", "", "app-3"))); err != nil {
		t.Fatalf("integrations without an app id: %v", err)
	}

	p := writeFile(t, dir, "one.json", file("app-1"))
	vars := map[string]string{"JUMPCLOUD_API_KEY": "k", "AUTHOMIZE_TOKEN": "t", "K": "k", "T": "t", "AUTHOMIZE_INTEGRATION_NAME": "from-env", "AUTHOMIZE_APP_ID": "app-1"}
	_, err = Gather(p, envOf(vars), os.ReadFile)
	if err == nil || !strings.Contains(err.Error(), `"i0" and "from-env" both use Authomize app "app-1"`) || !strings.Contains(err.Error(), "AUTHOMIZE_APP_ID") {
		t.Fatalf("the environment's integration on the file's app: %v", err)
	}
	vars["AUTHOMIZE_APP_ID"] = "app-2"
	ins, err := Gather(p, envOf(vars), os.ReadFile)
	if err != nil || len(ins) != 2 {
		t.Fatalf("two apps: %v %v", ins, err)
	}
	if got := ins.AppUsedBy(Authomize{AppID: " APP-2"}, "i0"); got != "from-env" {
		t.Fatalf("AppUsedBy = %q", got)
	}
	if got := ins.AppUsedBy(Authomize{AppID: "app-2", BaseURL: "https://api.authomize.com/"}, "i0"); got != "from-env" {
		t.Fatalf("AppUsedBy with the default base URL spelled out = %q", got)
	}
	if got := ins.AppUsedBy(Authomize{AppID: "app-2"}, "from-env"); got != "" {
		t.Fatalf("AppUsedBy excluding its own integration = %q", got)
	}
	// The same id at another Authomize (a simulator per org, a regional tenant) is another app.
	if got := ins.AppUsedBy(Authomize{AppID: "app-2", BaseURL: "http://127.0.0.1:9000"}, "i0"); got != "" {
		t.Fatalf("AppUsedBy of an app at another Authomize = %q", got)
	}
	other := strings.Replace(file("app-1", "app-1"), `"app_id"`, `"base_url": "http://127.0.0.1:9000", "app_id"`, 1)
	if _, err := Load(writeFile(t, dir, "two-authomizes.json", other)); err != nil {
		t.Fatalf("one app id at two Authomizes: %v", err)
	}
}
