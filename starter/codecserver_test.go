package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"jcsync/internal/codec"
)

// The codec server starts from the keyring alone: no JumpCloud or Authomize secret, no
// integration, no Temporal server in its environment. It decrypts what a worker with the
// same keyring wrote, and stops cleanly on its context.
func TestCodecServerStartsWithOnlyTheKeyring(t *testing.T) {
	spec := "2026-12:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, codec.KeySize))
	var asked []string
	old := getenv
	getenv = func(k string) string {
		asked = append(asked, k)
		if k == codec.EnvKeys {
			return spec
		}
		return ""
	}
	t.Cleanup(func() { getenv = old })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	var stderr bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"codec-server", "--listen", "127.0.0.1:0", "--log-level", "warn"}, outW, &stderr)
		outW.Close()
	}()
	line, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatalf("no start line (%v); stderr: %s", err, stderr.String())
	}
	base := strings.TrimSpace(strings.TrimPrefix(line, "codec server listening on "))
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("start line %q", line)
	}
	go func() { _, _ = io.Copy(io.Discard, outR) }()

	k, err := codec.ParseKeyring(spec)
	if err != nil {
		t.Fatal(err)
	}
	p, err := converter.GetDefaultDataConverter().ToPayload("erin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := codec.NewCodec(k).Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/decode", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(answer), base64.StdEncoding.EncodeToString([]byte(`"erin@example.com"`))) {
		t.Fatalf("POST /decode = %d %s", resp.StatusCode, answer)
	}

	cancel()
	if c := <-code; c != exitOK {
		t.Fatalf("exit %d; stderr: %s", c, stderr.String())
	}
	for _, k := range asked {
		if strings.HasPrefix(k, "JUMPCLOUD_") || strings.HasPrefix(k, "AUTHOMIZE_") || k == "JCSYNC_CONFIG" || strings.HasPrefix(k, "TEMPORAL_") {
			t.Errorf("the codec server read %s", k)
		}
	}
}

// Without the keyring it says what to set, and exits with a failure.
func TestCodecServerWithoutKeyring(t *testing.T) {
	old := getenv
	getenv = func(string) string { return "" }
	t.Cleanup(func() { getenv = old })
	var out, stderr bytes.Buffer
	if c := run(context.Background(), []string{"codec-server", "--listen", "127.0.0.1:0"}, &out, &stderr); c != exitFailed {
		t.Fatalf("exit %d, want %d", c, exitFailed)
	}
	if !strings.Contains(stderr.String(), codec.EnvKeys) || !strings.Contains(stderr.String(), codec.EnvKeysFile) {
		t.Errorf("stderr does not say what to set: %s", stderr.String())
	}
	out.Reset()
	stderr.Reset()
	if c := run(context.Background(), []string{"codec-server", "--help"}, &out, &stderr); c != exitOK || !strings.Contains(stderr.String(), "--cors-origin") || !strings.Contains(stderr.String(), "--jwks-url") {
		t.Errorf("help: exit %d\n%s", c, stderr.String())
	}
}
