package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jcsync/internal/testenv"
)

// TestConnectThroughProfile runs a real command (validate, which starts a workflow and waits
// for the test worker's answer) through an mTLS proxy requiring an API key, with every
// connection setting in a TOML profile chosen by TEMPORAL_CONFIG_FILE and TEMPORAL_PROFILE.
// The same command without the profile's client certificate fails and says which CA and
// certificate the handshake used.
func TestConnectThroughProfile(t *testing.T) {
	need(t)
	proxy := testenv.StartTLSProxy(t, env.hostPort, testenv.TLSProxyOptions{RequireClientCert: true, APIKeys: []string{"cloud-key"}})
	dir := t.TempDir()
	cert, key := proxy.CA.Issue(t, "starter-client", false)
	files := map[string][]byte{"ca.pem": proxy.CA.CertPEM, "client.pem": cert, "client.key": key}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	profile := filepath.Join(dir, "temporal.toml")
	toml := fmt.Sprintf(`[profile.cloud]
address = %q
namespace = "default"
api_key = "cloud-key"
[profile.cloud.tls]
server_ca_cert_path = %q
client_cert_path = %q
client_key_path = %q

[profile.nocert]
address = %q
api_key = "cloud-key"
[profile.nocert.tls]
server_ca_cert_path = %q
`, proxy.Addr, filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key"), proxy.Addr, filepath.Join(dir, "ca.pem"))
	if err := os.WriteFile(profile, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	validate := func(profileName string) (int, string, string) {
		old := getenv
		getenv = func(k string) string {
			return map[string]string{"TEMPORAL_CONFIG_FILE": profile, "TEMPORAL_PROFILE": profileName}[k]
		}
		defer func() { getenv = old }()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var out, errb bytes.Buffer
		code := run(ctx, []string{"validate", "--integration", "acme", "--task-queue", testTaskQueue}, &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, errs := validate("cloud")
	if code != 0 || !strings.Contains(out, "credentials OK") {
		t.Fatalf("validate through the profile: %d\n%s\n%s", code, out, errs)
	}
	if peers := proxy.Peers(); len(peers) == 0 || peers[len(peers)-1] != "starter-client" {
		t.Fatalf("handshakes presented %q, want the profile's client certificate", peers)
	}
	if a := proxy.Authorizations(); len(a) == 0 || a[len(a)-1] != "Bearer cloud-key" {
		t.Fatal("the requests did not carry the profile's API key")
	}
	if strings.Contains(out+errs, "cloud-key") {
		t.Fatal("the output shows the API key")
	}

	code, _, errs = validate("nocert")
	if code == 0 {
		t.Fatal("connected to an mTLS endpoint without a client certificate")
	}
	for _, want := range []string{proxy.Addr, "presenting no client certificate", filepath.Join(dir, "ca.pem"), `profile "nocert" in ` + profile} {
		if !strings.Contains(errs, want) {
			t.Errorf("the error does not say %q:\n%s", want, errs)
		}
	}
}
