// Package takeover lets a worker process that starts after its predecessor on the same host
// died (SIGKILL, OOM, a crash) take over the attempts that process left running, at once
// instead of after their heartbeat timeout. Each process's identity in Temporal names its
// host (stable across restarts: a pod name, a node name) and a start token drawn at random
// when the process starts; an attempt last run under this host and another start token was
// run by an earlier process of this host, which is dead because at most one process holds a
// host identity at a time (Claim). Such an attempt is failed with ErrTypeWorkerRestarted,
// and Temporal retries it at once from its last heartbeat's checkpoint.
package takeover

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode"
)

// tokenPrefix marks the third part of an identity as a start token: identities of other
// programs, and of the connector's builds before start tokens ("pid@host@" or
// "pid@host@queue", the SDK's default), never parse as ours and are never taken over.
const tokenPrefix = "start-"

// maxHostLen bounds a host identity: Temporal shows identities in the Web UI and lists.
const maxHostLen = 128

// Identity is one worker process's identity in Temporal: "pid@host@start-token". The PID is
// for people reading the Web UI; only Host and Token decide anything (a PID is reused after
// a restart, especially as PID 1 in a container).
type Identity struct {
	PID   int
	Host  string
	Token string
}

// New returns this process's identity on host, with a fresh start token.
func New(host string) (Identity, error) {
	if err := CheckHost(host); err != nil {
		return Identity{}, err
	}
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return Identity{}, fmt.Errorf("draw the worker's start token: %w", err)
	}
	return Identity{PID: os.Getpid(), Host: host, Token: hex.EncodeToString(b)}, nil
}

// CheckHost rejects a host identity that could not be read back from an identity string.
func CheckHost(host string) error {
	switch {
	case host == "":
		return fmt.Errorf("the worker identity is empty: set it to the pod's or host's name")
	case len(host) > maxHostLen:
		return fmt.Errorf("the worker identity %q is longer than %d characters", host, maxHostLen)
	case strings.ContainsRune(host, '@'):
		return fmt.Errorf("the worker identity %q contains '@', which separates the parts of Temporal's worker identity: use the pod's or host's name", host)
	case strings.ContainsFunc(host, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }):
		return fmt.Errorf("the worker identity %q contains spaces or control characters: use the pod's or host's name", host)
	}
	return nil
}

// String is the identity as Temporal records it for the process's polls and attempts.
func (id Identity) String() string {
	return strconv.Itoa(id.PID) + "@" + id.Host + "@" + tokenPrefix + id.Token
}

// Parse reads an identity written by String; ok is false for any other identity.
func Parse(s string) (id Identity, ok bool) {
	pid, rest, ok := strings.Cut(s, "@")
	if !ok {
		return Identity{}, false
	}
	i := strings.LastIndex(rest, "@"+tokenPrefix)
	if i <= 0 {
		return Identity{}, false
	}
	host, token := rest[:i], rest[i+len("@"+tokenPrefix):]
	n, err := strconv.Atoi(pid)
	if err != nil || token == "" || CheckHost(host) != nil {
		return Identity{}, false
	}
	return Identity{PID: n, Host: host, Token: token}, true
}

// Predecessor reports whether other is an earlier process of the same host: same host, another
// start token.
func (id Identity) Predecessor(other Identity) bool {
	return other.Host == id.Host && other.Token != id.Token
}
