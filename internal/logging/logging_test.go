package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestTemporalAdapterStructuredAndRedacted(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(Options{Level: "debug", Format: "json"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	tl := NewTemporal(l)
	const secret = "sk-very-secret-value"
	tl.With("Namespace", "default").Info("started worker",
		"TaskQueue", "jcsync", "Attempt", 2, "error", errors.New("boom"),
		"token", secret, "apiKey", secret, "Authorization", "Bearer "+secret, "x-api-key", secret, "JUMPCLOUD_API_KEY", secret)
	tl.Debug("dangling", "lonely")

	out := buf.String()
	if strings.Contains(out, secret) {
		t.Fatalf("secret leaked into the log:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %d:\n%s", len(lines), out)
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil {
		t.Fatalf("not JSON: %v: %s", err, lines[0])
	}
	want := map[string]any{
		"msg": "started worker", "level": "info", "component": "temporal", "Namespace": "default",
		"TaskQueue": "jcsync", "Attempt": float64(2), "error": "boom",
		"token": Redacted, "apiKey": Redacted, "Authorization": Redacted, "x-api-key": Redacted, "JUMPCLOUD_API_KEY": Redacted,
	}
	for k, v := range want {
		if e[k] != v {
			t.Errorf("field %s = %#v, want %#v", k, e[k], v)
		}
	}
	if !strings.Contains(lines[1], `"!BADKEY":"lonely"`) {
		t.Errorf("a dangling key must still be logged: %s", lines[1])
	}
}

func TestHookRedactsDirectLogrusFields(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(Options{Level: "info", Format: "text"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	l.WithField("authomize_token", "abc123secret").WithField("stage", "users").Info("x")
	if strings.Contains(buf.String(), "abc123secret") || !strings.Contains(buf.String(), "stage=users") {
		t.Fatalf("log: %s", buf.String())
	}
}

func TestLevelsAndFormats(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(Options{Level: "warn", Format: "text"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	NewTemporal(l).Info("hidden")
	NewTemporal(l).Warn("shown", "k", "v")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "k=v") {
		t.Fatalf("log: %s", buf.String())
	}
	for _, o := range []Options{{Level: "loud"}, {Format: "xml"}} {
		if _, err := New(o, &buf); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestFlagsTakeEnvDefaults(t *testing.T) {
	old := lookupEnv
	defer func() { lookupEnv = old }()
	lookupEnv = func(k string) string { return map[string]string{"LOG_FORMAT": "json"}[k] }
	var o Options
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	AddFlags(fs, &o)
	if err := fs.Parse([]string{"--log-level", "debug"}); err != nil {
		t.Fatal(err)
	}
	if o.Level != "debug" || o.Format != "json" {
		t.Fatalf("options = %+v", o)
	}
}

func TestIsSensitiveKey(t *testing.T) {
	for k, want := range map[string]bool{
		"token": true, "apiKey": true, "api_key": true, "X-Api-Key": true, "authorization": true,
		"AUTHOMIZE_TOKEN": true, "password": true, "integration": false, "stage": false, "WorkflowID": false,
	} {
		if got := IsSensitiveKey(k); got != want {
			t.Errorf("IsSensitiveKey(%q) = %v", k, got)
		}
	}
}
