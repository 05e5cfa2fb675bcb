package temporalconn

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) Env {
	return Env{Getenv: func(k string) string { return m[k] }, Environ: func() []string {
		var out []string
		for k, v := range m {
			out = append(out, k+"="+v)
		}
		return out
	}}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// noProfile keeps the operator's own CLI config file out of a test.
func noProfile(t *testing.T, m map[string]string) map[string]string {
	if _, ok := m[EnvConfigFile]; !ok {
		m[EnvConfigFile] = writeFile(t, t.TempDir(), "empty.toml", "")
	}
	return m
}

func TestResolveLayers(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "temporal.toml", `
[profile.default]
address = "default-profile:7233"

[profile.prod]
address = "prod.acct.tmprl.cloud:7233"
namespace = "prod.acct"
api_key = "profile-key"
[profile.prod.tls]
server_name = "prod.example"
client_cert_path = "/profile/cert.pem"
client_key_path = "/profile/key.pem"
[profile.prod.grpc_meta]
x_tenant = "from-profile"
[profile.prod.codec]
endpoint = "https://codec.example"
`)
	where := `profile "prod" in ` + file

	// The profile alone.
	s, err := Resolve(env(map[string]string{EnvConfigFile: file, EnvProfile: "prod"}), Flags{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Address != "prod.acct.tmprl.cloud:7233" || s.Namespace != "prod.acct" || s.APIKey != "profile-key" || s.ServerName != "prod.example" ||
		s.ClientCert.Path != "/profile/cert.pem" || s.GRPCMeta["x-tenant"] != "from-profile" {
		t.Fatalf("profile: %+v", s)
	}
	if s.AddressFrom != where+", key address" || s.ClientCert.From != where+", key tls.client_cert_path" {
		t.Fatalf("sources: %q %q", s.AddressFrom, s.ClientCert.From)
	}
	if on, _ := s.TLSEnabled(); !on {
		t.Fatal("a profile with a [tls] table and an API key must use TLS")
	}
	if w := strings.Join(s.Warnings, "\n"); !strings.Contains(w, "the codec endpoint of "+where+", key codec is not used") {
		t.Errorf("a profile's codec is ignored silently: %q", s.Warnings)
	}

	// The variables over the profile, the flags over both.
	s, err = Resolve(env(map[string]string{
		EnvConfigFile: file, EnvProfile: "prod", EnvAddress: "env:7233", EnvTLSClientCertData: "PEM", EnvTLSClientKeyPath: "/env/key.pem",
		"TEMPORAL_GRPC_META_X_TENANT": "from-env",
	}), Flags{Namespace: "flag-ns", TLSKey: "/flag/key.pem"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Address != "env:7233" || s.AddressFrom != EnvAddress || s.Namespace != "flag-ns" || s.NamespaceFrom != "--namespace" ||
		string(s.ClientCert.Data) != "PEM" || s.ClientCert.Path != "" || s.ClientCert.From != EnvTLSClientCertData ||
		s.ClientKey.Path != "/flag/key.pem" || s.ClientKey.From != "--tls-key" || s.GRPCMeta["x-tenant"] != "from-env" {
		t.Fatalf("layers: %+v", s)
	}

	// No TEMPORAL_PROFILE: the default profile of the file.
	s, err = Resolve(env(map[string]string{EnvConfigFile: file}), Flags{})
	if err != nil || s.Address != "default-profile:7233" {
		t.Fatalf("default profile: %v %+v", err, s)
	}
}

func TestResolveDefaultsAndTLS(t *testing.T) {
	s, err := Resolve(env(noProfile(t, map[string]string{})), Flags{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Address != DefaultAddress || s.Namespace != DefaultNamespace || s.AddressFrom != "the default" {
		t.Fatalf("defaults: %+v", s)
	}
	if on, _ := s.TLSEnabled(); on {
		t.Fatal("TLS is on by default")
	}
	cases := []struct {
		name  string
		env   map[string]string
		flags Flags
		tls   bool
	}{
		{"TEMPORAL_TLS=true alone (server-only TLS)", map[string]string{EnvTLS: "true"}, Flags{}, true},
		{"--tls alone", map[string]string{}, Flags{TLS: ptr(true)}, true},
		{"an API key implies TLS", map[string]string{EnvAPIKey: "k"}, Flags{}, true},
		{"an API key file implies TLS", map[string]string{EnvAPIKeyFile: "/k"}, Flags{}, true},
		{"an API key with TLS explicitly off", map[string]string{EnvAPIKey: "k", EnvTLS: "false"}, Flags{}, false},
		{"a server name implies TLS", map[string]string{EnvTLSServerName: "x"}, Flags{}, true},
		{"a CA implies TLS", map[string]string{EnvTLSServerCACertPath: "/ca"}, Flags{}, true},
		{"--tls=false over TEMPORAL_TLS=1", map[string]string{EnvTLS: "1"}, Flags{TLS: ptr(false)}, false},
	}
	for _, c := range cases {
		s, err := Resolve(env(noProfile(t, c.env)), c.flags)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if on, why := s.TLSEnabled(); on != c.tls || why == "" {
			t.Errorf("%s: TLS %v (%s), want %v", c.name, on, why, c.tls)
		}
	}
	s, _ = Resolve(env(noProfile(t, map[string]string{EnvAPIKey: "k", EnvTLS: "false"})), Flags{})
	if !strings.Contains(strings.Join(s.Warnings, "\n"), "clear text") {
		t.Errorf("an API key without TLS is not warned about: %q", s.Warnings)
	}
}

func ptr(b bool) *bool { return &b }

func TestResolveFormerNames(t *testing.T) {
	// Alone: used, with a warning naming the new name.
	s, err := Resolve(env(noProfile(t, map[string]string{EnvFormerTLSCert: "/c", EnvFormerTLSKey: "/k", EnvFormerTLSCA: "/ca"})), Flags{})
	if err != nil {
		t.Fatal(err)
	}
	if s.ClientCert.Path != "/c" || s.ClientKey.Path != "/k" || s.ServerCA.Path != "/ca" || s.ServerCA.From != EnvFormerTLSCA {
		t.Fatalf("former names: %+v", s)
	}
	for _, w := range []string{"TEMPORAL_TLS_CERT is deprecated: rename it TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CA is deprecated: rename it TEMPORAL_TLS_SERVER_CA_CERT_PATH"} {
		if !strings.Contains(strings.Join(s.Warnings, "\n"), w) {
			t.Errorf("no warning %q in %q", w, s.Warnings)
		}
	}
	// Beside the new name with the same value: a warning; with another value: an error.
	s, err = Resolve(env(noProfile(t, map[string]string{EnvFormerTLSCA: "/ca", EnvTLSServerCACertPath: "/ca"})), Flags{})
	if err != nil || s.ServerCA.From != EnvTLSServerCACertPath || len(s.Warnings) != 1 {
		t.Fatalf("same value: %v %+v", err, s)
	}
	_, err = Resolve(env(noProfile(t, map[string]string{EnvFormerTLSCA: "/old", EnvTLSServerCACertPath: "/new"})), Flags{})
	if err == nil || !strings.Contains(err.Error(), "TEMPORAL_TLS_CA=/old and TEMPORAL_TLS_SERVER_CA_CERT_PATH=/new disagree") {
		t.Fatalf("disagreeing names: %v", err)
	}
	_, err = Resolve(env(noProfile(t, map[string]string{EnvFormerTLSCert: "/old", EnvTLSClientCertData: "PEM", EnvTLSClientKeyPath: "/k"})), Flags{})
	if err == nil || !strings.Contains(err.Error(), "TEMPORAL_TLS_CERT") {
		t.Fatalf("former path beside new data: %v", err)
	}
}

func TestResolveRefusesContradictions(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "temporal.toml", "[profile.dev]\naddress = \"x:1\"\n[profile.prod]\naddress = \"y:1\"\n")
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{EnvTLSClientCertPath: "/c"}, "without its key"},
		{map[string]string{EnvTLSClientKeyPath: "/k"}, "without its certificate"},
		{map[string]string{EnvTLSClientCertPath: "/c", EnvTLSClientCertData: "PEM", EnvTLSClientKeyPath: "/k"}, "TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_CERT_DATA are both set"},
		{map[string]string{EnvTLS: "false", EnvTLSServerCACertPath: "/ca"}, "TLS is off (TEMPORAL_TLS=false) yet a server CA is set (TEMPORAL_TLS_SERVER_CA_CERT_PATH)"},
		{map[string]string{EnvTLS: "yes"}, `TEMPORAL_TLS="yes": want true or false`},
		{map[string]string{EnvConfigFile: file, EnvProfile: "staging"}, "TEMPORAL_PROFILE=staging: " + file + " has no such profile"},
		{map[string]string{EnvConfigFile: filepath.Join(dir, "missing.toml")}, "TEMPORAL_CONFIG_FILE=" + filepath.Join(dir, "missing.toml") + ": no such file"},
		{map[string]string{EnvConfigFile: writeFile(t, dir, "bad.toml", "[profile.x\n")}, "bad.toml"},
	}
	for _, c := range cases {
		_, err := Resolve(env(noProfile(t, c.env)), Flags{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.env, err, c.want)
		}
	}
}

func TestExplainNamesTheSettingToFix(t *testing.T) {
	dial := errors.New("failed reaching server: context deadline exceeded")
	s, _ := Resolve(env(noProfile(t, map[string]string{})), Flags{})
	if msg := s.Explain(dial).Error(); !strings.Contains(msg, "localhost:7233") || !strings.Contains(msg, "the address is the default: set TEMPORAL_ADDRESS or --temporal-address") {
		t.Errorf("default address: %s", msg)
	}
	s, _ = Resolve(env(noProfile(t, map[string]string{})), Flags{Address: "flag:7233"})
	if msg := s.Explain(dial).Error(); !strings.Contains(msg, "flag:7233") || !strings.Contains(msg, "comes from --temporal-address") {
		t.Errorf("flag address: %s", msg)
	}
	s, _ = Resolve(env(noProfile(t, map[string]string{EnvAPIKey: "secret-key", EnvTLSServerCACertPath: "/ca.pem"})), Flags{})
	msg := s.Explain(errors.New("rpc error: code = Unauthenticated desc = Request unauthorized")).Error()
	if !strings.Contains(msg, "rejected the API key of TEMPORAL_API_KEY") || strings.Contains(msg, "secret-key") {
		t.Errorf("rejected key: %s", msg)
	}
	msg = s.Explain(errors.New(`transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority`)).Error()
	if !strings.Contains(msg, "checked against the CA /ca.pem (from TEMPORAL_TLS_SERVER_CA_CERT_PATH)") {
		t.Errorf("TLS failure: %s", msg)
	}
	msg = s.Explain(errors.New(`tls: first record does not look like a TLS handshake`)).Error()
	if !strings.Contains(msg, "does not speak TLS") || !strings.Contains(msg, "TEMPORAL_TLS=false") {
		t.Errorf("TLS to a plain server: %s", msg)
	}
}
