package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"jcsync/internal/takeover"
)

func TestWorkerIdentityFlag(t *testing.T) {
	var stderr bytes.Buffer
	c, err := parseFlags(nil, envOf(map[string]string{envWorkerIdentity: "jcsync-worker-0"}), &stderr)
	if err != nil || c.WorkerIdentity != "jcsync-worker-0" {
		t.Fatalf("from the environment: %q, %v", c.WorkerIdentity, err)
	}
	c, err = parseFlags(nil, envOf(nil), &stderr)
	if err != nil || c.WorkerIdentity != "" {
		t.Fatalf("default: %q, %v; want empty (the host name, at start)", c.WorkerIdentity, err)
	}
	for _, bad := range []string{"pod@node", "two words"} {
		_, err := parseFlags([]string{"--worker-identity", bad}, envOf(nil), &stderr)
		if err == nil || !strings.Contains(err.Error(), "--worker-identity") {
			t.Errorf("--worker-identity %q: %v; want an error naming the flag", bad, err)
		}
	}
}

// A set identity that a live worker of this machine holds stops the next one; the default
// takes the host name's next free slot.
func TestClaimIdentity(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	log := logrus.New()
	log.SetOutput(&bytes.Buffer{})
	set := fmt.Sprintf("claim-test-%d", time.Now().UnixNano())
	first, err := claimIdentity(set, log)
	if err != nil || first.Host != set {
		t.Fatalf("first claim: %+v, %v", first, err)
	}
	defer first.Release()
	if _, err := claimIdentity(set, log); !errors.Is(err, takeover.ErrHeld) || !strings.Contains(err.Error(), fmt.Sprint(os.Getpid())) {
		t.Fatalf("second claim of a held identity: %v; want ErrHeld naming the holder's pid", err)
	}

	host, err := os.Hostname()
	if err != nil || takeover.CheckHost(host) != nil {
		t.Skipf("host name %q unusable here: %v", host, err)
	}
	a, err := claimIdentity("", log)
	if err != nil || a.Host != host {
		t.Fatalf("default claim: %+v, %v; want %s", a, err, host)
	}
	defer a.Release()
	b, err := claimIdentity("", log)
	if err != nil || b.Host != host+"-2" {
		t.Fatalf("second default claim: %+v, %v; want %s-2", b, err, host)
	}
	b.Release()
}
