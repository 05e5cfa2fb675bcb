package temporalconn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// TestWatchedFile follows an API key file through the cases of a rotation, on a clock of
// its own: the file is looked at only when a check is due, a change is picked up, a file
// momentarily missing or empty keeps the last good key (logged once), and an edit that
// keeps the modification time and size is found by the periodic re-read.
func TestWatchedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	write := func(content string, mod time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	write("key-1\n", t0)
	log, hook := logtest.NewNullLogger()
	w, err := watch("API key", []string{path}, parseAPIKey, log, DefaultRotation)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	w.now = func() time.Time { return now }
	w.checked, w.read = now, now
	step := func(d time.Duration) { now = now.Add(d) }

	write("key-2\n", t0.Add(time.Second))
	if got := w.get(); got != "key-1" {
		t.Fatalf("looked at the file before a check was due: %q", got)
	}
	step(DefaultRotation.CheckInterval)
	if got := w.get(); got != "key-2" {
		t.Fatalf("after a change: %q", got)
	}
	if !logged(hook, logrus.InfoLevel, "reloaded") {
		t.Error("the rotation is not logged")
	}

	// Momentarily gone, then empty: the last good key stays, one warning per problem.
	hook.Reset()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		step(DefaultRotation.CheckInterval)
		if got := w.get(); got != "key-2" {
			t.Fatalf("with the file gone: %q", got)
		}
	}
	write("", t0.Add(2*time.Second))
	step(DefaultRotation.CheckInterval)
	if got := w.get(); got != "key-2" {
		t.Fatalf("with the file empty: %q", got)
	}
	if n := count(hook, logrus.WarnLevel); n != 2 {
		t.Errorf("%d warnings for two problems, want 2: %v", n, hook.AllEntries())
	}
	write("key-3\n", t0.Add(3*time.Second))
	step(DefaultRotation.CheckInterval)
	if got := w.get(); got != "key-3" {
		t.Fatalf("after the file came back: %q", got)
	}

	// Same time and size: found by the re-read, not by the stat.
	write("key-4\n", t0.Add(3*time.Second))
	step(DefaultRotation.CheckInterval)
	if got := w.get(); got != "key-3" {
		t.Fatalf("a stat cannot see this change, yet it was read: %q", got)
	}
	step(DefaultRotation.RereadInterval)
	if got := w.get(); got != "key-4" {
		t.Fatalf("after the re-read interval: %q", got)
	}
}

func TestWatchFailsAtStart(t *testing.T) {
	dir := t.TempDir()
	log, _ := logtest.NewNullLogger()
	if _, err := watch("API key", []string{filepath.Join(dir, "none")}, parseAPIKey, log, DefaultRotation); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing file: %v", err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := watch("API key", []string{empty}, parseAPIKey, log, DefaultRotation); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty file: %v", err)
	}
}

func logged(h *logtest.Hook, level logrus.Level, text string) bool {
	for _, e := range h.AllEntries() {
		if e.Level == level && strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}

func count(h *logtest.Hook, level logrus.Level) int {
	n := 0
	for _, e := range h.AllEntries() {
		if e.Level == level {
			n++
		}
	}
	return n
}

// BenchmarkWatchedGet is the cost the API key adds to every request with the default
// rotation settings: a mutex and a clock read, and a stat once a second.
func BenchmarkWatchedGet(b *testing.B) {
	path := filepath.Join(b.TempDir(), "key")
	if err := os.WriteFile(path, []byte("key\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	log, _ := logtest.NewNullLogger()
	w, err := watch("API key", []string{path}, parseAPIKey, log, DefaultRotation)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if w.get() != "key" {
			b.Fatal("wrong key")
		}
	}
}
