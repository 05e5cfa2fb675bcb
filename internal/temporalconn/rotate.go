package temporalconn

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// Rotation bounds the cost of following credential files. The SDK asks for the API key on
// every request and for the client certificate on every handshake; the files are looked at
// (one stat each) at most once per CheckInterval, and read again only when a stat says they
// changed, or after RereadInterval in any case, which catches an edit that kept the
// modification time and size.
type Rotation struct {
	CheckInterval  time.Duration
	RereadInterval time.Duration
}

// DefaultRotation is what processes use: a rotated file is in use within about a second.
var DefaultRotation = Rotation{CheckInterval: time.Second, RereadInterval: time.Minute}

// watched is a value parsed from files, parsed again when the files change. When the new
// files cannot be read or parsed (a rotation half done: the certificate written, its key not
// yet), the last good value stays in use and the problem is logged, once per distinct error.
type watched[T any] struct {
	what  string // for the log: "client certificate"
	paths []string
	parse func(contents [][]byte) (T, error)
	log   logrus.FieldLogger
	cfg   Rotation
	now   func() time.Time

	mu       sync.Mutex
	value    T
	contents [][]byte
	stamps   []os.FileInfo
	checked  time.Time
	read     time.Time
	lastErr  string
}

// watch loads the files once; an error here stops the process at start, where a wrong path
// belongs.
func watch[T any](what string, paths []string, parse func([][]byte) (T, error), log logrus.FieldLogger, cfg Rotation) (*watched[T], error) {
	w := &watched[T]{what: what, paths: paths, parse: parse, log: log, cfg: cfg, now: time.Now}
	stamps, err := statAll(paths)
	if err != nil {
		return nil, err
	}
	contents, err := readAll(paths)
	if err != nil {
		return nil, err
	}
	if w.value, err = parse(contents); err != nil {
		return nil, err
	}
	w.contents, w.stamps = contents, stamps
	w.checked, w.read = w.now(), w.now()
	return w, nil
}

// get returns the current value, looking at the files first when a check is due.
func (w *watched[T]) get() T {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	if now.Sub(w.checked) < w.cfg.CheckInterval {
		return w.value
	}
	w.checked = now
	stamps, err := statAll(w.paths)
	if err != nil {
		w.keep(err)
		return w.value
	}
	if sameFiles(stamps, w.stamps) && now.Sub(w.read) < w.cfg.RereadInterval {
		return w.value
	}
	contents, err := readAll(w.paths)
	if err != nil {
		w.keep(err)
		return w.value
	}
	w.read = now
	if sameContents(contents, w.contents) {
		w.stamps = stamps
		return w.value
	}
	v, err := w.parse(contents)
	if err != nil {
		// The stamps stay old, so the next check reads the files again.
		w.keep(err)
		return w.value
	}
	w.value, w.contents, w.stamps, w.lastErr = v, contents, stamps, ""
	w.log.WithField("files", strings.Join(w.paths, ", ")).Infof("Temporal %s reloaded: the files changed", w.what)
	return w.value
}

func (w *watched[T]) keep(err error) {
	if msg := err.Error(); msg != w.lastErr {
		w.lastErr = msg
		w.log.WithError(err).Warnf("Temporal %s: the changed files cannot be used yet; the previous one stays in use until they can", w.what)
	}
}

func statAll(paths []string) ([]os.FileInfo, error) {
	out := make([]os.FileInfo, len(paths))
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, unwrapPath(err))
		}
		out[i] = fi
	}
	return out, nil
}

func readAll(paths []string) ([][]byte, error) {
	out := make([][]byte, len(paths))
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, unwrapPath(err))
		}
		out[i] = b
	}
	return out, nil
}

// sameFiles compares what a stat says: a file replaced by a rename (as Kubernetes updates a
// mounted secret) is another file even with the same time and size.
func sameFiles(a, b []os.FileInfo) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !os.SameFile(a[i], b[i]) || !a[i].ModTime().Equal(b[i].ModTime()) || a[i].Size() != b[i].Size() {
			return false
		}
	}
	return true
}

func sameContents(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
