package config

import (
	"context"
	"fmt"
	"os"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"

	"jcsync/internal/codec"
	"jcsync/internal/temporalconn"
)

// EnvTemporalTaskQueue names the task queue of the sync workers; the other connection
// variables are Temporal's own (temporalconn).
const EnvTemporalTaskQueue = "TEMPORAL_TASK_QUEUE"

// TemporalEnvVars lists the connection variables, for checks of deployment files.
var TemporalEnvVars = append(append([]string{EnvTemporalTaskQueue}, temporalconn.EnvVars...), codec.EnvKeys, codec.EnvKeysFile)

// Temporal is how a process reaches the Temporal service: a local dev server, a self-hosted
// cluster with TLS or mTLS, or Temporal Cloud with an API key or mTLS. The settings come from
// a TOML profile, the TEMPORAL_* variables and the flags (temporalconn.Resolve).
type Temporal struct {
	// Address and Namespace are the resolved values, set by Resolve.
	Address   string
	Namespace string
	TaskQueue string
	// Conn holds every resolved connection setting with where it came from.
	Conn temporalconn.Settings
	// Environ lists the process environment, for TEMPORAL_GRPC_META_*; nil is os.Environ.
	Environ func() []string
	// Rotation is how often credential files are looked at; zero is the default.
	Rotation temporalconn.Rotation
	// CodecKeysFile holds the payload-encryption keyring (see internal/codec); codecKeysEnv
	// is JCSYNC_CODEC_KEYS as read at flag registration. Either turns encryption on.
	CodecKeysFile string
	codecKeysEnv  string
	// Keyring is the loaded payload-encryption keyring, set by ClientOptions; nil when off.
	Keyring *codec.Keyring

	flags    temporalconn.Flags
	tlsFlag  bool
	fs       *pflag.FlagSet
	getenv   func(string) string
	resolved bool
}

// String keeps the API key out of any %v of the options.
func (t Temporal) String() string {
	on, _ := t.Conn.TLSEnabled()
	return fmt.Sprintf("temporal{address=%s namespace=%s taskQueue=%s tls=%v mtls=%v apiKey=%v}",
		t.Address, t.Namespace, t.TaskQueue, on, t.Conn.ClientCert.Path != "" || len(t.Conn.ClientCert.Data) > 0, t.Conn.HasAPIKey())
}

// AddTemporalFlags registers the connection flags. They override the profile and the
// environment when given; Resolve, after parsing, combines them.
func AddTemporalFlags(fs *pflag.FlagSet, t *Temporal, getenv func(string) string, defaultTaskQueue string) {
	t.fs, t.getenv = fs, getenv
	taskQueue := getenv(EnvTemporalTaskQueue)
	if taskQueue == "" {
		taskQueue = defaultTaskQueue
	}
	fs.StringVar(&t.flags.Address, "temporal-address", "", "Temporal frontend host:port (env "+temporalconn.EnvAddress+", or the profile's address; "+temporalconn.DefaultAddress+" when none is set)")
	fs.StringVar(&t.flags.Namespace, "namespace", "", "Temporal namespace (env "+temporalconn.EnvNamespace+", or the profile's namespace; \""+temporalconn.DefaultNamespace+"\" when none is set)")
	fs.StringVar(&t.TaskQueue, "task-queue", taskQueue, "base task queue: each integration's syncs run on <this>/<integration>, polled only by workers that hold it (env "+EnvTemporalTaskQueue+")")
	fs.BoolVar(&t.tlsFlag, "tls", false, "use TLS even without a CA or client certificate (a server with a public certificate); --tls=false turns it off (env "+temporalconn.EnvTLS+"; on by default with an API key or any TLS setting)")
	fs.StringVar(&t.flags.TLSCert, "tls-cert", "", "client certificate file for mTLS, re-read when it changes (env "+temporalconn.EnvTLSClientCertPath+")")
	fs.StringVar(&t.flags.TLSKey, "tls-key", "", "client key file for mTLS, re-read when it changes (env "+temporalconn.EnvTLSClientKeyPath+")")
	fs.StringVar(&t.flags.TLSCA, "tls-ca", "", "CA certificate file to verify the server (env "+temporalconn.EnvTLSServerCACertPath+")")
	fs.StringVar(&t.flags.TLSServerName, "tls-server-name", "", "server name to verify, when it differs from the address (env "+temporalconn.EnvTLSServerName+")")
	fs.StringVar(&t.flags.APIKeyFile, "api-key-file", "", "file holding a Temporal Cloud API key, re-read when it changes (env "+temporalconn.EnvAPIKeyFile+", or the key itself in "+temporalconn.EnvAPIKey+")")
	fs.StringVar(&t.CodecKeysFile, "codec-keys-file", getenv(codec.EnvKeysFile), "file holding the payload-encryption keyring \"id:base64key,...\" (env "+codec.EnvKeysFile+", or the keyring itself in "+codec.EnvKeys+"); the first key encrypts")
	t.codecKeysEnv = getenv(codec.EnvKeys)
}

// Resolve combines the profile, the environment and the flags given (after parsing). It
// fails on settings that contradict each other, such as a former variable name that
// disagrees with its new name.
func (t *Temporal) Resolve() error {
	flags := t.flags
	if t.fs != nil && t.fs.Changed("tls") {
		on := t.tlsFlag
		flags.TLS = &on
	}
	environ := t.Environ
	if environ == nil {
		environ = os.Environ
	}
	s, err := temporalconn.Resolve(temporalconn.Env{Getenv: t.getenv, Environ: environ}, flags)
	if err != nil {
		return fmt.Errorf("Temporal connection: %w", err)
	}
	t.Conn, t.Address, t.Namespace, t.resolved = s, s.Address, s.Namespace, true
	return nil
}

// ClientOptions builds the SDK's client options (resolving the settings first if that has
// not happened yet). log receives the warnings about the settings and the credential files'
// rotations.
func (t *Temporal) ClientOptions(log logrus.FieldLogger) (client.Options, error) {
	if !t.resolved {
		if err := t.Resolve(); err != nil {
			return client.Options{}, err
		}
	}
	rot := t.Rotation
	if rot == (temporalconn.Rotation{}) {
		rot = temporalconn.DefaultRotation
	}
	opts, err := t.Conn.ClientOptions(log, rot)
	if err != nil {
		return opts, err
	}
	// Payload encryption: what enters the workflow history (counts, cursors, error text) is
	// encrypted at rest. Every worker and starter of a namespace needs the same keyring.
	env := map[string]string{codec.EnvKeys: t.codecKeysEnv, codec.EnvKeysFile: t.CodecKeysFile}
	k, on, err := codec.LoadKeyring(func(name string) string { return env[name] }, os.ReadFile)
	if err != nil {
		return opts, fmt.Errorf("payload encryption: %w", err)
	}
	if on {
		t.Keyring = k
		codec.ClientOptions(k)(&opts)
	}
	return opts, nil
}

// Dial connects with opts; a failure names the address, the setting it came from and what
// TLS used.
func (t *Temporal) Dial(ctx context.Context, opts client.Options) (client.Client, error) {
	return t.Conn.Dial(ctx, opts)
}
