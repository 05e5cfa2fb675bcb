package config

import (
	"strings"
	"testing"
	"time"
)

// The watcher's settings: defaults when unset, durations as written, and errors naming the
// setting for a bad one, from the config file and from the environment.
func TestWatchSettings(t *testing.T) {
	s, err := Watch{}.Settings(Integration{Name: "acme"})
	if err != nil || s.Off || s.PollInterval != DefaultWatchPollInterval || s.SyncInterval != DefaultWatchSyncInterval {
		t.Fatalf("defaults: %+v, %v", s, err)
	}
	s, err = Watch{PollInterval: "5s", SyncInterval: "2m"}.Settings(Integration{Name: "acme"})
	if err != nil || s.PollInterval != 5*time.Second || s.SyncInterval != 2*time.Minute {
		t.Fatalf("set: %+v, %v", s, err)
	}
	problems := checkIntegration("integrations[0]", Integration{Name: "acme", Watch: Watch{PollInterval: "10ms", SyncInterval: "soon"}}, Policy{})
	joined := strings.Join(problems, "\n")
	for _, want := range []string{`integrations[0].watch.poll_interval="10ms": want a duration of at least 1s`, `integrations[0].watch.sync_interval="soon"`} {
		if !strings.Contains(joined, want) {
			t.Errorf("file problems lack %q:\n%s", want, joined)
		}
	}
	env := map[string]string{EnvJumpCloudAPIKey: "k", EnvAuthomizeToken: "t", EnvWatch: "off", EnvWatchPollInterval: "0s"}
	_, _, err = FromEnv(func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), EnvWatchPollInterval+`="0s"`) {
		t.Errorf("a bad poll interval from the environment: %v", err)
	}
	env[EnvWatchPollInterval] = ""
	in, _, err := FromEnv(func(k string) string { return env[k] })
	if err != nil || !in.Watch.Off {
		t.Errorf("%s=off: %+v, %v", EnvWatch, in.Watch, err)
	}
}
