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

	"github.com/sirupsen/logrus"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"jcsync/internal/testenv"
)

// tlsFiles are a CA and a client certificate written where the settings can name them.
type tlsFiles struct{ CA, Cert, Key string }

func writeTLSFiles(t *testing.T, dir string, ca *testenv.CA, commonName string) tlsFiles {
	t.Helper()
	cert, key := ca.Issue(t, commonName, false)
	f := tlsFiles{CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "client.pem"), Key: filepath.Join(dir, "client.key")}
	for path, b := range map[string][]byte{f.CA: ca.CertPEM, f.Cert: cert, f.Key: key} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// connectWorker connects the way the worker does (flags, environment, client options, dial)
// and returns the client, or the error, and the worker's log.
func connectWorker(t *testing.T, args []string, env map[string]string) (client.Client, string, error) {
	t.Helper()
	var logs bytes.Buffer
	c, err := parseFlags(args, envOf(env), &logs)
	if err != nil {
		return nil, logs.String(), err
	}
	log := logrus.New()
	log.SetOutput(&logs)
	opts, err := clientOptions(&c, log, nil)
	if err != nil {
		return nil, logs.String(), err
	}
	// Failures are expected within seconds; the deadline only bounds a broken test.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tc, err := c.Temporal.Dial(ctx, opts)
	if err == nil {
		t.Cleanup(tc.Close)
	}
	return tc, logs.String(), err
}

// TestConnectThroughTLS connects the worker through a TLS-terminating proxy in front of a dev
// server, with server-only TLS and with mTLS, by each way of giving the settings: a TOML
// profile, Temporal's variables, the former variables and the flags. Without the CA, without
// a client certificate, or without TLS, it must fail with a message that names what to fix.
func TestConnectThroughTLS(t *testing.T) {
	dev, err := testenv.StartTemporal(testenv.TemporalCLI(t), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dev.Stop)
	backend := dev.Server.FrontendHostPort()
	proxies := map[string]*testenv.TLSProxy{
		"server-tls": testenv.StartTLSProxy(t, backend, testenv.TLSProxyOptions{}),
		"mtls":       testenv.StartTLSProxy(t, backend, testenv.TLSProxyOptions{RequireClientCert: true}),
	}
	for mode, proxy := range proxies {
		mtls := mode == "mtls"
		dir := t.TempDir()
		f := writeTLSFiles(t, dir, proxy.CA, "worker-"+mode)
		// A profile file with a decoy default profile: only the one selected may be used.
		profileFile := filepath.Join(dir, "temporal.toml")
		clientKeys := ""
		if mtls {
			clientKeys = fmt.Sprintf("client_cert_path = %q\nclient_key_path = %q\n", f.Cert, f.Key)
		}
		toml := fmt.Sprintf("[profile.default]\naddress = \"127.0.0.1:1\"\n\n[profile.prod]\naddress = %q\nnamespace = \"default\"\n\n[profile.prod.tls]\nserver_ca_cert_path = %q\n%s",
			proxy.Addr, f.CA, clientKeys)
		if err := os.WriteFile(profileFile, []byte(toml), 0o600); err != nil {
			t.Fatal(err)
		}
		ways := []struct {
			name       string
			args       []string
			env        map[string]string
			deprecated []string
		}{
			{name: "profile", env: map[string]string{"TEMPORAL_CONFIG_FILE": profileFile, "TEMPORAL_PROFILE": "prod"}},
			{name: "env", env: map[string]string{"TEMPORAL_ADDRESS": proxy.Addr, "TEMPORAL_TLS": "true", "TEMPORAL_TLS_SERVER_CA_CERT_PATH": f.CA}},
			{name: "former-env", env: map[string]string{"TEMPORAL_ADDRESS": proxy.Addr, "TEMPORAL_TLS_CA": f.CA},
				deprecated: []string{"TEMPORAL_TLS_CA is deprecated: rename it TEMPORAL_TLS_SERVER_CA_CERT_PATH"}},
			{name: "flags", args: []string{"--temporal-address", proxy.Addr, "--tls-ca", f.CA}},
		}
		if mtls {
			ways[1].env["TEMPORAL_TLS_CLIENT_CERT_PATH"], ways[1].env["TEMPORAL_TLS_CLIENT_KEY_PATH"] = f.Cert, f.Key
			ways[2].env["TEMPORAL_TLS_CERT"], ways[2].env["TEMPORAL_TLS_KEY"] = f.Cert, f.Key
			ways[2].deprecated = append(ways[2].deprecated, "TEMPORAL_TLS_CERT is deprecated: rename it TEMPORAL_TLS_CLIENT_CERT_PATH",
				"TEMPORAL_TLS_KEY is deprecated: rename it TEMPORAL_TLS_CLIENT_KEY_PATH")
			ways[3].args = append(ways[3].args, "--tls-cert", f.Cert, "--tls-key", f.Key)
		}
		for _, w := range ways {
			t.Run(mode+"/"+w.name, func(t *testing.T) {
				before := len(proxy.Peers())
				tc, logs, err := connectWorker(t, w.args, w.env)
				if err != nil {
					t.Fatalf("connect: %v\n%s", err, logs)
				}
				if _, err := tc.WorkflowService().DescribeNamespace(context.Background(), &workflowservice.DescribeNamespaceRequest{Namespace: "default"}); err != nil {
					t.Fatalf("a request through the proxy: %v", err)
				}
				peers := proxy.Peers()[before:]
				want := ""
				if mtls {
					want = "worker-" + mode
				}
				if len(peers) == 0 || peers[len(peers)-1] != want {
					t.Fatalf("handshakes presented %q, want the client certificate %q", peers, want)
				}
				for _, d := range w.deprecated {
					if !strings.Contains(logs, d) {
						t.Errorf("the log does not say %q:\n%s", d, logs)
					}
				}
				if len(w.deprecated) == 0 && strings.Contains(logs, "deprecated") {
					t.Errorf("a deprecation warning without a former name:\n%s", logs)
				}
			})
		}
	}

	server, mtlsProxy := proxies["server-tls"], proxies["mtls"]
	dir := t.TempDir()
	f := writeTLSFiles(t, dir, mtlsProxy.CA, "worker-mtls")
	otherCA := filepath.Join(dir, "other-ca.pem")
	if err := os.WriteFile(otherCA, testenv.NewCA(t).CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	profileFile := filepath.Join(dir, "temporal.toml")
	if err := os.WriteFile(profileFile, []byte(fmt.Sprintf("[profile.prod]\naddress = %q\n[profile.prod.tls]\nserver_ca_cert_path = %q\n", server.Addr, otherCA)), 0o600); err != nil {
		t.Fatal(err)
	}
	failures := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"no CA: the system's CAs do not know the server", map[string]string{"TEMPORAL_ADDRESS": server.Addr, "TEMPORAL_TLS": "true"},
			[]string{server.Addr, "x509", "the system's CAs", "TEMPORAL_TLS_SERVER_CA_CERT_PATH", "the address comes from TEMPORAL_ADDRESS"}},
		{"the profile's CA is another", map[string]string{"TEMPORAL_CONFIG_FILE": profileFile, "TEMPORAL_PROFILE": "prod"},
			[]string{server.Addr, "x509", "the CA " + otherCA, `profile "prod" in ` + profileFile + ", key tls.server_ca_cert_path", `the address comes from profile "prod"`}},
		{"mTLS without a client certificate", map[string]string{"TEMPORAL_ADDRESS": mtlsProxy.Addr, "TEMPORAL_TLS_SERVER_CA_CERT_PATH": f.CA},
			[]string{mtlsProxy.Addr, "refuses a client certificate it does not trust or a missing one", "the CA " + f.CA, "presenting no client certificate"}},
		{"TLS off", map[string]string{"TEMPORAL_ADDRESS": server.Addr},
			[]string{server.Addr, "TLS is off", "TEMPORAL_TLS=true"}},
		// TLS follows from an API key (the handshake happens, and fails on the unknown CA)
		// unless it is turned off explicitly.
		{"an API key turns TLS on", map[string]string{"TEMPORAL_ADDRESS": server.Addr, "TEMPORAL_API_KEY": "k"},
			[]string{"x509", "TLS failed", "the system's CAs"}},
		{"an API key with TLS turned off", map[string]string{"TEMPORAL_ADDRESS": server.Addr, "TEMPORAL_API_KEY": "k", "TEMPORAL_TLS": "false"},
			[]string{"TLS is off (TEMPORAL_TLS=false)"}},
		{"TEMPORAL_CONFIG_FILE names no file", map[string]string{"TEMPORAL_CONFIG_FILE": filepath.Join(dir, "none.toml")}, []string{"TEMPORAL_CONFIG_FILE=" + filepath.Join(dir, "none.toml"), "no such file"}},
	}
	for _, c := range failures {
		t.Run("fails/"+c.name, func(t *testing.T) {
			_, logs, err := connectWorker(t, nil, c.env)
			if err == nil {
				t.Fatal("connected")
			}
			t.Log(err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not say %q:\n%v\n%s", w, err, logs)
				}
			}
		})
	}
}

// replaceFile swaps a file for new content by a rename, as a secret store or Kubernetes
// updates a mounted secret.
func replaceFile(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// eventually repeats a request until it succeeds; the deadline only bounds a broken test
// (the files are looked at once a second by default).
func eventually(t *testing.T, what string, request func(context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := request(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCredentialRotation rotates the API key file and the client certificate files of a
// connected worker (default rotation settings) while the proxy stops accepting the old
// ones: the next request carries the new key, and the next handshake presents the new
// certificate, without a restart. Headers from TEMPORAL_GRPC_META_* reach the server too.
func TestCredentialRotation(t *testing.T) {
	dev, err := testenv.StartTemporal(testenv.TemporalCLI(t), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dev.Stop)
	proxy := testenv.StartTLSProxy(t, dev.Server.FrontendHostPort(), testenv.TLSProxyOptions{RequireClientCert: true, APIKeys: []string{"key-one"}})
	dir := t.TempDir()
	f := writeTLSFiles(t, dir, proxy.CA, "worker-one")
	keyFile := filepath.Join(dir, "api-key")
	if err := os.WriteFile(keyFile, []byte("key-one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{
		"TEMPORAL_ADDRESS": proxy.Addr, "TEMPORAL_TLS_SERVER_CA_CERT_PATH": f.CA,
		"TEMPORAL_TLS_CLIENT_CERT_PATH": f.Cert, "TEMPORAL_TLS_CLIENT_KEY_PATH": f.Key, "TEMPORAL_API_KEY_FILE": keyFile,
	}
	// A key the server does not take: the error names the file it came from.
	proxy.SetAPIKeys("another-key")
	if _, _, err := connectWorker(t, nil, settings); err == nil || !strings.Contains(err.Error(), "the server rejected the API key of the file "+keyFile+" (TEMPORAL_API_KEY_FILE)") {
		t.Fatalf("a refused key: %v", err)
	}
	proxy.SetAPIKeys("key-one")

	t.Setenv("TEMPORAL_GRPC_META_X_JCSYNC_TENANT", "acme")
	tc, logs, err := connectWorker(t, nil, settings)
	if err != nil {
		t.Fatalf("connect: %v\n%s", err, logs)
	}
	describe := func(ctx context.Context) error {
		_, err := tc.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
		return err
	}
	if err := describe(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := proxy.LastHeaders().Get("x-jcsync-tenant"); got != "acme" {
		t.Errorf("TEMPORAL_GRPC_META_X_JCSYNC_TENANT: the server got %q", got)
	}
	lastOf := func(s []string) string {
		if len(s) == 0 {
			return ""
		}
		return s[len(s)-1]
	}
	if a, p := lastOf(proxy.Authorizations()), lastOf(proxy.Peers()); a != "Bearer key-one" || p != "worker-one" {
		t.Fatalf("before the rotation: key %q, certificate %q", a, p)
	}

	// The key: the proxy takes only the new one from now on; the connection stays.
	replaceFile(t, keyFile, []byte("key-two\n"))
	proxy.SetAPIKeys("key-two")
	eventually(t, "a request with the rotated API key", describe)
	if a := lastOf(proxy.Authorizations()); a != "Bearer key-two" {
		t.Fatalf("after the key's rotation the request carried %q", a)
	}

	// The certificate: a new one from the same CA, written the way a renewal tool does (the
	// certificate first, its key a moment later: in between the pair does not match, and the
	// old one must stay in use). The proxy refuses the old one and drops every connection.
	cert, key := proxy.CA.Issue(t, "worker-two", false)
	replaceFile(t, f.Cert, cert)
	proxy.CloseConns()
	eventually(t, "a request on a new connection while the certificate and key do not match", describe)
	if p := lastOf(proxy.Peers()); p != "worker-one" {
		t.Fatalf("with a mismatched pair on disk the handshake presented %q, want the last good worker-one", p)
	}
	replaceFile(t, f.Key, key)
	proxy.Refuse("worker-one")
	proxy.CloseConns()
	eventually(t, "a request on a new connection with the rotated certificate", describe)
	if p := lastOf(proxy.Peers()); p != "worker-two" {
		t.Fatalf("the new handshake presented %q, want worker-two", p)
	}
}
