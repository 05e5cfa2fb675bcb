package codecserver

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"jcsync/internal/codec"
	"jcsync/internal/jwtauth/jwtauthtest"
	"jcsync/internal/logging"
)

const (
	cloudUI  = "https://cloud.temporal.io"
	issuer   = "https://login.example.test/"
	audience = "https://codec.example.test"
)

func keyringSpec() string {
	return "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, codec.KeySize))
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func noFiles(name string) ([]byte, error) { return nil, errors.New("no file " + name) }

// start parses args as the command does and serves until the test ends; it returns the base
// URL and the log.
func start(t *testing.T, args []string, env map[string]string) (string, *syncBuffer) {
	t.Helper()
	c, err := ParseFlags(args, envOf(env), noFiles, io.Discard)
	if err != nil {
		t.Fatalf("ParseFlags(%v): %v", args, err)
	}
	logBuf := &syncBuffer{}
	log, err := logging.New(c.Log, logBuf)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, c, noFiles, log, func(addr string) { ready <- addr }) }()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve ended with %v", err)
		}
	})
	return base, logBuf
}

// syncBuffer is the server's log, written by its goroutines and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// encrypted is what a worker with the keyring stores in Temporal: the UI's request body for it.
func encrypted(t *testing.T, values ...string) []byte {
	t.Helper()
	k, err := codec.ParseKeyring(keyringSpec())
	if err != nil {
		t.Fatal(err)
	}
	var ps []*commonpb.Payload
	for _, v := range values {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	enc, err := codec.NewCodec(k).Encode(ps)
	if err != nil {
		t.Fatal(err)
	}
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func call(t *testing.T, method, url string, body []byte, hdr map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, b}
}

// uiHeaders are what the Web UI sends with a decode call: its origin, the namespace, JSON, and
// the authorization when it passes one.
func uiHeaders(auth string) map[string]string {
	h := map[string]string{"Origin": cloudUI, "Content-Type": "application/json", "X-Namespace": "jcsync.a1b2c"}
	if auth != "" {
		h["Authorization"] = auth
	}
	return h
}

// decoded reads a /decode answer back into the strings that were encrypted.
func decoded(t *testing.T, r response) []string {
	t.Helper()
	var out commonpb.Payloads
	if err := protojson.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("answer is not payloads JSON: %v: %s", err, r.body)
	}
	var got []string
	for _, p := range out.Payloads {
		var s string
		if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
			t.Fatalf("decoded payload unreadable (still encrypted?): %v", err)
		}
		got = append(got, s)
	}
	return got
}

// The preflight a browser sends before the UI's call, and the call itself: the headers the
// Temporal UI sends are allowed, credentials only when configured.
func TestCORSForTheWebUI(t *testing.T) {
	preflight := map[string]string{
		"Origin":                         cloudUI,
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "authorization,content-type,x-namespace",
	}
	env := map[string]string{codec.EnvKeys: keyringSpec(), EnvAuthToken: "tok-123"}

	for _, credentials := range []bool{false, true} {
		args := []string{"--listen", "127.0.0.1:0", "--cors-origin", cloudUI + "/,http://localhost:8233"}
		if credentials {
			args = append(args, "--cors-credentials")
		}
		base, _ := start(t, args, env)

		pre := call(t, http.MethodOptions, base+"/decode", nil, preflight)
		if pre.code != http.StatusNoContent {
			t.Fatalf("preflight = %d %s", pre.code, pre.body)
		}
		if got := pre.header.Get("Access-Control-Allow-Origin"); got != cloudUI {
			t.Errorf("preflight Access-Control-Allow-Origin = %q", got)
		}
		if m := pre.header.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "POST") {
			t.Errorf("preflight Access-Control-Allow-Methods = %q", m)
		}
		allowed := strings.ToLower(pre.header.Get("Access-Control-Allow-Headers"))
		for _, h := range []string{"authorization", "content-type", "x-namespace"} {
			if !strings.Contains(allowed, h) {
				t.Errorf("preflight allows headers %q, not %s", allowed, h)
			}
		}
		wantCred := map[bool]string{false: "", true: "true"}[credentials]
		if got := pre.header.Get("Access-Control-Allow-Credentials"); got != wantCred {
			t.Errorf("credentials %v: preflight Access-Control-Allow-Credentials = %q, want %q", credentials, got, wantCred)
		}

		r := call(t, http.MethodPost, base+"/decode", encrypted(t, "alice@example.com"), uiHeaders("Bearer tok-123"))
		if r.code != http.StatusOK {
			t.Fatalf("POST /decode = %d %s", r.code, r.body)
		}
		if got := r.header.Get("Access-Control-Allow-Origin"); got != cloudUI {
			t.Errorf("POST Access-Control-Allow-Origin = %q", got)
		}
		if got := r.header.Get("Access-Control-Allow-Credentials"); got != wantCred {
			t.Errorf("credentials %v: POST Access-Control-Allow-Credentials = %q, want %q", credentials, got, wantCred)
		}
		if got := decoded(t, r); len(got) != 1 || got[0] != "alice@example.com" {
			t.Errorf("decoded %q", got)
		}
		// Another site's page may not make the server decrypt.
		other := uiHeaders("Bearer tok-123")
		other["Origin"] = "https://evil.example"
		if r := call(t, http.MethodPost, base+"/decode", encrypted(t, "x"), other); r.code != http.StatusForbidden {
			t.Errorf("unlisted origin = %d, want 403", r.code)
		}
	}
}

func TestAuthNoneOnLoopbackByDefault(t *testing.T) {
	base, _ := start(t, nil, map[string]string{codec.EnvKeys: keyringSpec(), EnvListen: "127.0.0.1:0"})
	r := call(t, http.MethodPost, base+"/decode", encrypted(t, "bob@example.com"), map[string]string{"Content-Type": "application/json"})
	if r.code != http.StatusOK {
		t.Fatalf("POST without credentials on loopback = %d %s", r.code, r.body)
	}
	if got := decoded(t, r); len(got) != 1 || got[0] != "bob@example.com" {
		t.Errorf("decoded %q", got)
	}
	// The local Web UI's origin is allowed by default.
	pre := call(t, http.MethodOptions, base+"/decode", nil, map[string]string{"Origin": DefaultCORSOrigin, "Access-Control-Request-Method": "POST"})
	if pre.code != http.StatusNoContent || pre.header.Get("Access-Control-Allow-Origin") != DefaultCORSOrigin {
		t.Errorf("default origin preflight = %d %q", pre.code, pre.header.Get("Access-Control-Allow-Origin"))
	}
	if r := call(t, http.MethodGet, base+"/healthz", nil, nil); r.code != http.StatusOK {
		t.Errorf("/healthz = %d", r.code)
	}
}

func TestAuthToken(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("file-token-456\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := ParseFlags([]string{"--listen", "127.0.0.1:0", "--auth-token-file", file}, envOf(map[string]string{codec.EnvKeys: keyringSpec()}), os.ReadFile, io.Discard)
	if err != nil || c.Auth != AuthToken || c.token != "file-token-456" {
		t.Fatalf("token from a file: auth %q, err %v", c.Auth, err)
	}

	base, logBuf := start(t, []string{"--listen", "127.0.0.1:0", "--cors-origin", cloudUI}, map[string]string{codec.EnvKeys: keyringSpec(), EnvAuthToken: "tok-123"})
	for _, tc := range []struct {
		name, auth string
		want       int
	}{
		{"valid", "Bearer tok-123", http.StatusOK},
		{"wrong", "Bearer tok-124", http.StatusUnauthorized},
		{"missing", "", http.StatusUnauthorized},
		{"not bearer", "Basic dG9rLTEyMw==", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, http.MethodPost, base+"/decode", encrypted(t, "carol@example.com"), uiHeaders(tc.auth))
			if r.code != tc.want {
				t.Fatalf("= %d, want %d: %s", r.code, tc.want, r.body)
			}
			if tc.want != http.StatusOK && bytes.Contains(r.body, []byte("carol")) {
				t.Error("a refused request got plaintext")
			}
		})
	}
	// The CLI sends no Origin: the token is still required.
	if r := call(t, http.MethodPost, base+"/decode", encrypted(t, "x"), map[string]string{"Content-Type": "application/json"}); r.code != http.StatusUnauthorized {
		t.Errorf("CLI call without a token = %d", r.code)
	}
	if strings.Contains(logBuf.String(), "tok-12") {
		t.Error("the log holds a token")
	}
	if !strings.Contains(logBuf.String(), "codec request refused") {
		t.Error("refusals are not logged")
	}
}

// The Temporal Cloud UI's mode: the user's own access token, checked against the provider's
// JWKS (served here by a real HTTP server in the test).
func TestAuthJWT(t *testing.T) {
	is := jwtauthtest.New(t, issuer, audience)
	base, logBuf := start(t, []string{"--listen", "127.0.0.1:0", "--cors-origin", cloudUI, "--cors-credentials", "--auth", "jwt",
		"--jwks-url", is.JWKSURL(), "--jwt-issuer", issuer, "--jwt-audience", audience, "--log-level", "debug"},
		map[string]string{codec.EnvKeys: keyringSpec()})
	k1 := is.Key("k1")
	for _, tc := range []struct {
		name, auth string
		want       int
	}{
		{"valid", "Bearer " + is.Sign(t, k1, "k1", jwtauthtest.Claims{Email: "ada@example.com"}), http.StatusOK},
		{"expired", "Bearer " + is.Sign(t, k1, "k1", jwtauthtest.Claims{ExpiresAt: time.Now().Add(-time.Hour)}), http.StatusUnauthorized},
		{"wrong audience", "Bearer " + is.Sign(t, k1, "k1", jwtauthtest.Claims{Audience: []string{"https://other.example"}}), http.StatusUnauthorized},
		{"wrong issuer", "Bearer " + is.Sign(t, k1, "k1", jwtauthtest.Claims{Issuer: "https://other.example/"}), http.StatusUnauthorized},
		{"wrong key", "Bearer " + is.Sign(t, jwtauthtest.NewKey(t), "k1", jwtauthtest.Claims{}), http.StatusUnauthorized},
		{"missing", "", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, http.MethodPost, base+"/decode", encrypted(t, "dave@example.com"), uiHeaders(tc.auth))
			if r.code != tc.want {
				t.Fatalf("= %d, want %d: %s", r.code, tc.want, r.body)
			}
			if tc.want == http.StatusOK {
				if got := decoded(t, r); len(got) != 1 || got[0] != "dave@example.com" {
					t.Errorf("decoded %q", got)
				}
				return
			}
			if bytes.Contains(r.body, []byte("dave")) {
				t.Error("a refused request got plaintext")
			}
			// Even a refusal carries the CORS headers, so the UI can show the 401.
			if r.header.Get("Access-Control-Allow-Origin") != cloudUI {
				t.Error("refusal without Access-Control-Allow-Origin")
			}
		})
	}
	log := logBuf.String()
	for _, want := range []string{"token is expired", "invalid audience", "invalid issuer", "signature is invalid", "no \\\"Authorization: Bearer", "ada@example.com"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// Settings that would leave the server more open than intended, or cannot work, stop it at
// start with what to set.
func TestParseFlagsRefuses(t *testing.T) {
	keys := map[string]string{codec.EnvKeys: keyringSpec()}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{codec.EnvKeys: keyringSpec()}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"beyond loopback without auth", []string{"--listen", ":8089"}, keys, []string{"--listen", "beyond loopback", "--auth token", "--auth jwt", "--auth none"}},
		{"jwt without settings", []string{"--auth", "jwt"}, keys, []string{"--jwks-url", "--jwt-issuer", "--jwt-audience"}},
		{"jwt over http", []string{"--auth", "jwt", "--jwks-url", "http://idp.example/jwks", "--jwt-issuer", "i", "--jwt-audience", "a"}, keys, []string{"not https"}},
		{"none with a token", []string{"--auth", "none"}, with(map[string]string{EnvAuthToken: "t"}), []string{"--auth none", "token"}},
		{"token without one", []string{"--auth", "token"}, keys, []string{EnvAuthToken, "--auth-token-file"}},
		{"jwt and a token", []string{"--auth", "jwt", "--jwks-url", "https://idp.example/jwks", "--jwt-issuer", "i", "--jwt-audience", "a"}, with(map[string]string{EnvAuthToken: "t"}), []string{"static token"}},
		{"unknown mode", []string{"--auth", "basic"}, keys, []string{"none, token or jwt"}},
		{"half TLS", []string{"--tls-cert", "c.pem"}, keys, []string{"--tls-key"}},
		{"bad credentials env", nil, with(map[string]string{EnvCORSCredentials: "maybe"}), []string{EnvCORSCredentials}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFlags(tc.args, envOf(tc.env), noFiles, io.Discard)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	// Explicitly open beyond loopback is allowed (a private network), and a token alone
	// chooses token mode.
	if c, err := ParseFlags([]string{"--listen", ":8089", "--auth", "none"}, envOf(keys), noFiles, io.Discard); err != nil || c.Auth != AuthNone {
		t.Errorf("explicit --auth none beyond loopback: %q %v", c.Auth, err)
	}
	if c, err := ParseFlags([]string{"--listen", ":8089"}, envOf(with(map[string]string{EnvAuthToken: "t"})), noFiles, io.Discard); err != nil || c.Auth != AuthToken {
		t.Errorf("token set, no --auth: %q %v", c.Auth, err)
	}
}

func TestServeNeedsTheKeyring(t *testing.T) {
	c, err := ParseFlags([]string{"--listen", "127.0.0.1:0"}, envOf(nil), noFiles, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	err = Serve(context.Background(), c, noFiles, logrus.New(), nil)
	if err == nil || !strings.Contains(err.Error(), codec.EnvKeys) {
		t.Fatalf("Serve without a keyring: %v", err)
	}
}

// A page on https (the Cloud UI) may call only an https endpoint beyond localhost: with
// --tls-cert and --tls-key the server speaks TLS itself.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	base, _ := start(t, []string{"--listen", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile, "--cors-origin", cloudUI},
		map[string]string{codec.EnvKeys: keyringSpec(), EnvAuthToken: "tok-123"})
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("base URL %q is not https", base)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, err := http.NewRequest(http.MethodPost, base+"/decode", bytes.NewReader(encrypted(t, "frank@example.com")))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range uiHeaders("Bearer tok-123") {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /decode over TLS = %d %s", resp.StatusCode, body)
	}
	if got := decoded(t, response{resp.StatusCode, resp.Header, body}); len(got) != 1 || got[0] != "frank@example.com" {
		t.Errorf("decoded %q", got)
	}
	// A certificate that cannot be read stops the server before it listens.
	c, err := ParseFlags([]string{"--listen", "127.0.0.1:0", "--tls-cert", filepath.Join(dir, "missing.crt"), "--tls-key", keyFile},
		envOf(map[string]string{codec.EnvKeys: keyringSpec()}), noFiles, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := Serve(context.Background(), c, noFiles, logrus.New(), nil); err == nil || !strings.Contains(err.Error(), "--tls-cert") {
		t.Errorf("unreadable certificate: %v", err)
	}
	// Plain http to the TLS port gets no payload.
	if r, err := http.Post(strings.Replace(base, "https://", "http://", 1)+"/decode", "application/json", bytes.NewReader(encrypted(t, "x"))); err == nil {
		r.Body.Close()
		if r.StatusCode == http.StatusOK {
			t.Error("plain http answered 200 on the TLS port")
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns a pool trusting it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "codec test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// The SDK's own remote codec client (what the CLI and remote data converters use) works
// against the server in jwt mode, both ways: what the server encodes, the keyring decodes.
func TestRemoteCodecWithJWT(t *testing.T) {
	is := jwtauthtest.New(t, issuer, audience)
	base, _ := start(t, []string{"--listen", "127.0.0.1:0", "--auth", "jwt", "--jwks-url", is.JWKSURL(), "--jwt-issuer", issuer, "--jwt-audience", audience},
		map[string]string{codec.EnvKeys: keyringSpec()})
	token := is.Sign(t, is.Key("k1"), "k1", jwtauthtest.Claims{})
	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: base + "/jcsync",
		ModifyRequest: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+token)
			return nil
		},
	})
	p, err := converter.GetDefaultDataConverter().ToPayload("grace@example.com")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := remote.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatalf("remote Encode: %v", err)
	}
	k, err := codec.ParseKeyring(keyringSpec())
	if err != nil {
		t.Fatal(err)
	}
	local, err := codec.NewCodec(k).Decode(enc)
	if err != nil || !bytes.Equal(local[0].Data, p.Data) {
		t.Fatalf("the keyring does not read what the server encoded: %v", err)
	}
	if bytes.Equal(enc[0].Data, p.Data) {
		t.Fatal("remote Encode returned plaintext")
	}
	dec, err := remote.Decode(enc)
	if err != nil || !bytes.Equal(dec[0].Data, p.Data) {
		t.Fatalf("remote Decode: %v", err)
	}
	// Without the token the SDK's client gets the refusal as an error, not plaintext.
	bare := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{Endpoint: base})
	if _, err := bare.Decode(enc); err == nil {
		t.Fatal("remote Decode without a token succeeded")
	}
}
