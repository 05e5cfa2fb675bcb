package takeover

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrHeld is returned by Claim when a live process of this machine holds the host identity.
var ErrHeld = errors.New("held by another worker process of this machine")

// maxSlots is how many worker processes one machine may run under its host name by default:
// "host", "host-2", ... "host-16".
const maxSlots = 16

// A Claim is this process's hold on a host identity on this machine: an exclusive lock on a
// file named after it in the temporary directory, which the kernel releases when the process
// ends, however it ends. So a process that starts after a crash claims the dead one's
// identity at once, and two live processes of one machine never share one. It does not see
// processes of other machines (or other containers, whose temporary directories differ):
// there the host identity must be unique by construction (a pod's name, a node's name).
type Claim struct {
	Host string
	file *os.File
}

// Release gives the identity up; the process's end does the same.
func (c *Claim) Release() {
	if c != nil && c.file != nil {
		_ = c.file.Close()
	}
}

// ClaimHost takes host for this process. It fails with ErrHeld (naming the holder's PID) when a
// live process of this machine holds it.
func ClaimHost(host string) (*Claim, error) {
	if err := CheckHost(host); err != nil {
		return nil, err
	}
	path := lockPath(host)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the lock file of worker identity %q: %w", host, err)
	}
	if err := lockFile(f); err != nil {
		holder, _ := os.ReadFile(path)
		_ = f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, fmt.Errorf("worker identity %q is %w (pid %s, lock file %s)", host, ErrHeld, strings.TrimSpace(string(holder)), path)
		}
		return nil, fmt.Errorf("lock %s for worker identity %q: %w", path, host, err)
	}
	// The holder's PID, for the message of a process refused the identity.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Claim{Host: host, file: f}, nil
}

// ClaimSlot takes the first free identity of host, host-2, ... host-16: the default when the
// identity is not set, so that several workers started by hand on one machine each get one,
// and a process restarted after a crash takes its predecessor's (the lowest free one; two
// crashed at once may swap, which is harmless: both are dead).
func ClaimSlot(host string) (*Claim, error) {
	var errs []error
	for i := 1; i <= maxSlots; i++ {
		h := host
		if i > 1 {
			h = host + "-" + strconv.Itoa(i)
		}
		c, err := ClaimHost(h)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, ErrHeld) {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("all %d worker identities of host %q are held by live worker processes of this machine; set one with --worker-identity: %w", maxSlots, host, errors.Join(errs...))
}

// lockPath is the lock file of a host identity: one per identity, in the temporary directory.
func lockPath(host string) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, host)
	return filepath.Join(os.TempDir(), "jcsync-worker-"+safe+".lock")
}
