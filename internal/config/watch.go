package config

import (
	"fmt"
	"strings"
	"time"
)

// Watch is how an integration's change watcher runs (docs/change-driven-syncs.md): it reads
// JumpCloud's Directory Insights events, applies targeted updates and starts full syncs
// for removals. Zero fields take the defaults.
type Watch struct {
	// Off turns watching off: the integration is synced by its schedule alone.
	Off bool `json:"off,omitempty"`
	// PollInterval is how often the watcher reads new events, as a Go duration ("30s").
	// Each poll costs one JumpCloud request at rest.
	PollInterval string `json:"poll_interval,omitempty"`
	// SyncInterval is the least time between two full syncs the watcher starts (for removals
	// and gaps), as a Go duration ("10m").
	SyncInterval string `json:"sync_interval,omitempty"`
}

// Defaults and bounds of the watcher's settings. At the default poll interval an idle org
// costs two JumpCloud requests a minute, half the budget of four.
const (
	DefaultWatchPollInterval = 30 * time.Second
	DefaultWatchSyncInterval = 10 * time.Minute
	MinWatchPollInterval     = time.Second
	// MinWatchSyncInterval keeps a burst of removals from starting full syncs back to back.
	MinWatchSyncInterval = 10 * time.Second
)

// Environment variables of the watcher of an integration configured by environment.
const (
	EnvWatch             = "JCSYNC_WATCH"               // "off" turns watching off
	EnvWatchPollInterval = "JCSYNC_WATCH_POLL_INTERVAL" // Watch.PollInterval
	EnvWatchSyncInterval = "JCSYNC_WATCH_SYNC_INTERVAL" // Watch.SyncInterval
)

// WatchSettings are Watch resolved: durations, defaults applied.
type WatchSettings struct {
	Off          bool
	PollInterval time.Duration
	SyncInterval time.Duration
}

// Settings resolves w, with errors that name the setting to fix (of integration in).
func (w Watch) Settings(in Integration) (WatchSettings, error) {
	s, problems := w.resolve(in.Setting)
	if len(problems) > 0 {
		return s, fmt.Errorf("integration %q: %s", in.Name, strings.Join(problems, "; "))
	}
	return s, nil
}

// resolve applies the defaults and checks the durations; setting names a field (such as
// "watch.poll_interval") in the operator's terms.
func (w Watch) resolve(setting func(field string) string) (WatchSettings, []string) {
	s := WatchSettings{Off: w.Off, PollInterval: DefaultWatchPollInterval, SyncInterval: DefaultWatchSyncInterval}
	var problems []string
	parse := func(field, v string, minimum time.Duration, into *time.Duration) {
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < minimum {
			problems = append(problems, fmt.Sprintf("%s=%q: want a duration of at least %s, such as \"30s\" or \"10m\"", setting(field), v, minimum))
			return
		}
		*into = d
	}
	parse("watch.poll_interval", w.PollInterval, MinWatchPollInterval, &s.PollInterval)
	parse("watch.sync_interval", w.SyncInterval, MinWatchSyncInterval, &s.SyncInterval)
	return s, problems
}

// watchFromEnv reads the watcher's settings of an integration configured by environment.
func watchFromEnv(getenv func(string) string, problems []string) (Watch, []string) {
	w := Watch{PollInterval: getenv(EnvWatchPollInterval), SyncInterval: getenv(EnvWatchSyncInterval)}
	switch v := strings.ToLower(strings.TrimSpace(getenv(EnvWatch))); v {
	case "", "on", "true":
	case "off", "false":
		w.Off = true
	default:
		problems = append(problems, fmt.Sprintf("%s=%q: want on or off", EnvWatch, v))
	}
	_, wrong := w.resolve(func(field string) string { return envSettings[field] })
	return w, append(problems, wrong...)
}
