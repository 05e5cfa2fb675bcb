package config

import (
	"os"
	"strings"
	"testing"
)

// TestInsightsBaseURLSettings: the Directory Insights host comes from
// JUMPCLOUD_INSIGHTS_BASE_URL or the file's jumpcloud.insights_base_url, is held to the
// same TLS rule as the other base URLs, and otherwise follows the console host.
func TestInsightsBaseURLSettings(t *testing.T) {
	env := map[string]string{"JUMPCLOUD_API_KEY": "k", "AUTHOMIZE_TOKEN": "t"}
	t.Run("default follows the console", func(t *testing.T) {
		in, _, err := FromEnv(envOf(env))
		if err != nil || in.JumpCloud.InsightsBaseURL != "" || in.JumpCloud.EffectiveInsightsBaseURL() != "https://api.jumpcloud.com" {
			t.Fatalf("FromEnv = %+v, %v; effective %q", in.JumpCloud, err, in.JumpCloud.EffectiveInsightsBaseURL())
		}
		for base, want := range map[string]string{
			"https://console.eu.jumpcloud.com": "https://api.eu.jumpcloud.com",
			"http://127.0.0.1:8081":            "http://127.0.0.1:8081",
		} {
			j := JumpCloud{BaseURL: base}
			if got := j.EffectiveInsightsBaseURL(); got != want {
				t.Errorf("base %s: insights %s, want %s", base, got, want)
			}
		}
	})
	t.Run("from the environment", func(t *testing.T) {
		e := map[string]string{"JUMPCLOUD_INSIGHTS_BASE_URL": "https://insights.example.com"}
		for k, v := range env {
			e[k] = v
		}
		in, _, err := FromEnv(envOf(e))
		if err != nil || in.JumpCloud.InsightsBaseURL != "https://insights.example.com" || in.JumpCloud.EffectiveInsightsBaseURL() != "https://insights.example.com" {
			t.Fatalf("FromEnv = %+v, %v", in.JumpCloud, err)
		}
		e["JUMPCLOUD_INSIGHTS_BASE_URL"] = "http://insights.example.com"
		_, _, err = FromEnv(envOf(e))
		if err == nil || !strings.Contains(err.Error(), `JUMPCLOUD_INSIGHTS_BASE_URL "http://insights.example.com" is not https`) {
			t.Fatalf("plain http: %v", err)
		}
	})
	t.Run("from the file", func(t *testing.T) {
		dir := t.TempDir()
		doc := func(u string) string {
			return `{"integrations": [{"name": "demo",
  "jumpcloud": {"api_key": {"env": "K"}, "insights_base_url": "` + u + `"},
  "authomize": {"token": {"env": "T"}}}]}`
		}
		ok := writeFile(t, dir, "ok.json", doc("https://api.eu.jumpcloud.com"))
		ins, err := Gather(ok, envOf(map[string]string{"K": "k", "T": "t"}), os.ReadFile)
		if err != nil || ins["demo"].JumpCloud.InsightsBaseURL != "https://api.eu.jumpcloud.com" {
			t.Fatalf("Gather = %+v, %v", ins, err)
		}
		bad := writeFile(t, dir, "bad.json", doc("http://insights.example.com"))
		_, err = Load(bad)
		if err == nil || !strings.Contains(err.Error(), `integrations[0].jumpcloud.insights_base_url "http://insights.example.com" is not https`) {
			t.Fatalf("Load = %v", err)
		}
	})
	found := false
	for _, v := range EnvVars {
		found = found || v == EnvJumpCloudInsightsBaseURL
	}
	if !found {
		t.Fatal("EnvVars does not list JUMPCLOUD_INSIGHTS_BASE_URL, so deployment files are not checked for it")
	}
}
