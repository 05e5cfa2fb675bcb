package main

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

func testKeyring() string {
	return "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
}

func TestCodecAddressNeedsTokenBeyondLoopback(t *testing.T) {
	for _, addr := range []string{":8089", "0.0.0.0:8089", "[::]:8089", "10.1.2.3:8089", "worker.internal:8089", "localhost.example.com:8089"} {
		t.Run("refused "+addr, func(t *testing.T) {
			_, err := parseFlags([]string{"--codec-address", addr}, envOf(map[string]string{"JCSYNC_CODEC_KEYS": testKeyring()}), io.Discard)
			if err == nil {
				t.Fatal("a codec endpoint beyond loopback started without a token")
			}
			for _, w := range []string{"--codec-address", addr, "JCSYNC_CODEC_AUTH_TOKEN", "127.0.0.1"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
	// The environment's address is checked like the flag's, and a blank token is no token.
	_, err := parseFlags(nil, envOf(map[string]string{"JCSYNC_CODEC_ADDRESS": ":8089", "JCSYNC_CODEC_AUTH_TOKEN": "  "}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--codec-address") {
		t.Fatalf("JCSYNC_CODEC_ADDRESS=:8089 with a blank token: %v", err)
	}
	if _, err := parseFlags([]string{"--codec-address", "8089"}, envOf(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "host:port") {
		t.Fatalf("address without a port: %v", err)
	}
	for _, addr := range []string{"127.0.0.1:8089", "localhost:8089", "[::1]:8089", "127.0.0.2:0"} {
		if _, err := parseFlags([]string{"--codec-address", addr}, envOf(nil), io.Discard); err != nil {
			t.Errorf("loopback %s without a token: %v", addr, err)
		}
	}
	c, err := parseFlags([]string{"--codec-address", ":8089"}, envOf(map[string]string{"JCSYNC_CODEC_AUTH_TOKEN": "s3cret\n"}), io.Discard)
	if err != nil || c.codecAuthToken != "s3cret" {
		t.Fatalf("with a token: %v (token %q)", err, c.codecAuthToken)
	}
	// serveCodec checks again, for any caller that did not come through parseFlags.
	c.codecAuthToken = ""
	c.Temporal.CodecKeysFile = ""
	if _, err := clientOptions(&c, logrus.New(), nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := serveCodec(c, logrus.New()); err == nil {
		t.Fatal("serveCodec started without a keyring or a token")
	}
}

// TestCodecEndpointWithToken runs the endpoint the way serve does: keyring from the
// environment through clientOptions, token from JCSYNC_CODEC_AUTH_TOKEN.
func TestCodecEndpointWithToken(t *testing.T) {
	const token, webUI = "codec-s3cret", "http://localhost:8233"
	env := envOf(map[string]string{"JCSYNC_CODEC_KEYS": testKeyring(), "JCSYNC_CODEC_AUTH_TOKEN": token})
	c, err := parseFlags([]string{"--codec-address", "127.0.0.1:0", "--codec-cors-origins", webUI}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	if _, err := clientOptions(&c, log, nil); err != nil {
		t.Fatal(err)
	}
	stop, addr, err := serveCodec(c, log)
	if err != nil {
		t.Fatalf("serveCodec: %v", err)
	}
	defer stop()

	do := func(method string, hdr map[string]string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+addr+"/decode", strings.NewReader(`{"payloads":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := do(http.MethodPost, nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST without the token, no Origin = %d, want 401", r.StatusCode)
	}
	if r := do(http.MethodPost, map[string]string{"Origin": webUI}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST without the token from the Web UI = %d, want 401", r.StatusCode)
	}
	if r := do(http.MethodPost, map[string]string{"Authorization": "Bearer wrong"}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST with a wrong token = %d, want 401", r.StatusCode)
	}
	if r := do(http.MethodPost, map[string]string{"Authorization": "Bearer " + token}); r.StatusCode != http.StatusOK {
		t.Errorf("POST with the token = %d, want 200", r.StatusCode)
	}
	// CORS for the configured origin: the preflight needs no token, the call does.
	pre := do(http.MethodOptions, map[string]string{"Origin": webUI, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"})
	if pre.StatusCode != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != webUI {
		t.Errorf("preflight = %d, ACAO %q", pre.StatusCode, pre.Header.Get("Access-Control-Allow-Origin"))
	}
	r := do(http.MethodPost, map[string]string{"Origin": webUI, "Authorization": "Bearer " + token})
	if r.StatusCode != http.StatusOK || r.Header.Get("Access-Control-Allow-Origin") != webUI {
		t.Errorf("POST from the Web UI with the token = %d, ACAO %q", r.StatusCode, r.Header.Get("Access-Control-Allow-Origin"))
	}
	if r := do(http.MethodPost, map[string]string{"Origin": "https://evil.example", "Authorization": "Bearer " + token}); r.StatusCode != http.StatusForbidden {
		t.Errorf("POST from another origin = %d, want 403", r.StatusCode)
	}
}

// On loopback the local Web UI may use the endpoint without a token.
func TestCodecEndpointLoopbackWithoutToken(t *testing.T) {
	env := envOf(map[string]string{"JCSYNC_CODEC_KEYS": testKeyring()})
	c, err := parseFlags([]string{"--codec-address", "127.0.0.1:0"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	if _, err := clientOptions(&c, log, nil); err != nil {
		t.Fatal(err)
	}
	stop, addr, err := serveCodec(c, log)
	if err != nil {
		t.Fatalf("serveCodec: %v", err)
	}
	defer stop()
	resp, err := http.Post("http://"+addr+"/decode", "application/json", strings.NewReader(`{"payloads":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST on loopback without a token = %d", resp.StatusCode)
	}
}
