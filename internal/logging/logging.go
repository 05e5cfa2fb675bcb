// Package logging sets up logrus for the worker and the starter and routes the Temporal SDK's
// own logs through it, so one process writes one format, at one level, with secrets redacted.
package logging

import (
	"fmt"
	"io"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"
	tlog "go.temporal.io/sdk/log"
)

// Options are the logging flags.
type Options struct {
	Level  string
	Format string
}

// AddFlags registers --log-level and --log-format.
func AddFlags(fs *pflag.FlagSet, o *Options) {
	fs.StringVar(&o.Level, "log-level", envOr("LOG_LEVEL", "info"), "log level: debug, info, warn, error (env LOG_LEVEL)")
	fs.StringVar(&o.Format, "log-format", envOr("LOG_FORMAT", "text"), "log format: text or json (env LOG_FORMAT)")
}

// New builds a logger writing to out. Every entry passes through the redaction hook.
func New(o Options, out io.Writer) (*logrus.Logger, error) {
	l := logrus.New()
	l.SetOutput(out)
	lvl := o.Level
	if lvl == "" {
		lvl = "info"
	}
	level, err := logrus.ParseLevel(lvl)
	if err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", o.Level)
	}
	l.SetLevel(level)
	switch strings.ToLower(o.Format) {
	case "", "text":
		l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	case "json":
		l.SetFormatter(&logrus.JSONFormatter{})
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", o.Format)
	}
	l.AddHook(RedactHook{})
	return l, nil
}

// Redacted replaces the value of a sensitive field.
const Redacted = "[REDACTED]"

// sensitive are normalized key names (lower case, no '-', '_' or '.') whose values are
// secrets. Substrings catch variants such as "jumpcloudApiKey" or "x-api-key".
var sensitive = []string{"token", "apikey", "authorization", "password", "secret", "credential", "cookie"}

// IsSensitiveKey reports whether a log field named key would carry a secret.
func IsSensitiveKey(key string) bool {
	k := strings.ToLower(key)
	k = strings.NewReplacer("-", "", "_", "", ".", "", " ", "").Replace(k)
	for _, s := range sensitive {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// RedactHook blanks sensitive fields of every entry, whoever logged it. It is the last line
// of defense: code should not log secrets in the first place.
type RedactHook struct{}

// Levels implements logrus.Hook.
func (RedactHook) Levels() []logrus.Level { return logrus.AllLevels }

// Fire implements logrus.Hook.
func (RedactHook) Fire(e *logrus.Entry) error {
	for k := range e.Data {
		if IsSensitiveKey(k) {
			e.Data[k] = Redacted
		}
	}
	return nil
}

// Temporal adapts a logrus logger to the Temporal SDK's log.Logger.
type Temporal struct {
	entry *logrus.Entry
}

var (
	_ tlog.Logger     = (*Temporal)(nil)
	_ tlog.WithLogger = (*Temporal)(nil)
)

// NewTemporal returns the SDK logger for client.Options.Logger.
func NewTemporal(l *logrus.Logger) *Temporal {
	return &Temporal{entry: logrus.NewEntry(l).WithField("component", "temporal")}
}

// Debug implements log.Logger.
func (t *Temporal) Debug(msg string, keyvals ...any) { t.with(keyvals).Debug(msg) }

// Info implements log.Logger.
func (t *Temporal) Info(msg string, keyvals ...any) { t.with(keyvals).Info(msg) }

// Warn implements log.Logger.
func (t *Temporal) Warn(msg string, keyvals ...any) { t.with(keyvals).Warn(msg) }

// Error implements log.Logger.
func (t *Temporal) Error(msg string, keyvals ...any) { t.with(keyvals).Error(msg) }

// With implements log.WithLogger: the SDK adds workflow and activity tags this way.
func (t *Temporal) With(keyvals ...any) tlog.Logger { return &Temporal{entry: t.with(keyvals)} }

// with turns alternating keys and values into logrus fields. A dangling key or a non-string
// key still shows up rather than being dropped, because a lost log detail is worse than an
// odd field name.
func (t *Temporal) with(keyvals []any) *logrus.Entry {
	if len(keyvals) == 0 {
		return t.entry
	}
	fields := make(logrus.Fields, len(keyvals)/2+1)
	for i := 0; i < len(keyvals); i += 2 {
		key, ok := keyvals[i].(string)
		if !ok {
			key = fmt.Sprint(keyvals[i])
		}
		if i+1 >= len(keyvals) {
			fields["!BADKEY"] = key
			break
		}
		v := keyvals[i+1]
		if IsSensitiveKey(key) {
			v = Redacted
		} else if err, ok := v.(error); ok {
			// logrus's JSON formatter renders error values as {} unless they are strings.
			v = err.Error()
		}
		fields[key] = v
	}
	return t.entry.WithFields(fields)
}

func envOr(name, def string) string {
	if v := lookupEnv(name); v != "" {
		return v
	}
	return def
}
