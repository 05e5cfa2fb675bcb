package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"

	"jcsync/internal/codec"
)

// Environment variables of the Temporal connection (shared by the worker and the starter).
const (
	EnvTemporalAddress       = "TEMPORAL_ADDRESS"
	EnvTemporalNamespace     = "TEMPORAL_NAMESPACE"
	EnvTemporalTaskQueue     = "TEMPORAL_TASK_QUEUE"
	EnvTemporalTLSCert       = "TEMPORAL_TLS_CERT"
	EnvTemporalTLSKey        = "TEMPORAL_TLS_KEY"
	EnvTemporalTLSCA         = "TEMPORAL_TLS_CA"
	EnvTemporalTLSServerName = "TEMPORAL_TLS_SERVER_NAME"
	EnvTemporalAPIKey        = "TEMPORAL_API_KEY"
	EnvTemporalAPIKeyFile    = "TEMPORAL_API_KEY_FILE"
)

// TemporalEnvVars lists the connection variables, for checks of deployment files.
var TemporalEnvVars = []string{
	EnvTemporalAddress, EnvTemporalNamespace, EnvTemporalTaskQueue, EnvTemporalTLSCert, EnvTemporalTLSKey,
	EnvTemporalTLSCA, EnvTemporalTLSServerName, EnvTemporalAPIKey, EnvTemporalAPIKeyFile,
	codec.EnvKeys, codec.EnvKeysFile,
}

// Temporal is how a process reaches the Temporal service: a local dev server, a self-hosted
// cluster with mTLS, or Temporal Cloud with an API key.
type Temporal struct {
	Address       string
	Namespace     string
	TaskQueue     string
	TLSCert       string
	TLSKey        string
	TLSCA         string
	TLSServerName string
	APIKeyFile    string
	// apiKeyEnv is TEMPORAL_API_KEY as read at flag registration; never printed.
	apiKeyEnv string
	// CodecKeysFile holds the payload-encryption keyring (see internal/codec); codecKeysEnv
	// is JCSYNC_CODEC_KEYS as read at flag registration. Either turns encryption on.
	CodecKeysFile string
	codecKeysEnv  string
	// Keyring is the loaded payload-encryption keyring, set by ClientOptions; nil when off.
	Keyring *codec.Keyring
}

// String keeps the API key out of any %v of the options.
func (t Temporal) String() string {
	return fmt.Sprintf("temporal{address=%s namespace=%s taskQueue=%s tls=%v apiKey=%v}",
		t.Address, t.Namespace, t.TaskQueue, t.TLSCert != "" || t.TLSCA != "", t.apiKeyEnv != "" || t.APIKeyFile != "")
}

// AddTemporalFlags registers the connection flags with environment fallbacks.
func AddTemporalFlags(fs *pflag.FlagSet, t *Temporal, getenv func(string) string, defaultTaskQueue string) {
	or := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&t.Address, "temporal-address", or(EnvTemporalAddress, "localhost:7233"), "Temporal frontend host:port (env "+EnvTemporalAddress+")")
	fs.StringVar(&t.Namespace, "namespace", or(EnvTemporalNamespace, "default"), "Temporal namespace (env "+EnvTemporalNamespace+")")
	fs.StringVar(&t.TaskQueue, "task-queue", or(EnvTemporalTaskQueue, defaultTaskQueue), "base task queue: each integration's syncs run on <this>/<integration>, polled only by workers that hold it (env "+EnvTemporalTaskQueue+")")
	fs.StringVar(&t.TLSCert, "tls-cert", getenv(EnvTemporalTLSCert), "client certificate file for mTLS (env "+EnvTemporalTLSCert+")")
	fs.StringVar(&t.TLSKey, "tls-key", getenv(EnvTemporalTLSKey), "client key file for mTLS (env "+EnvTemporalTLSKey+")")
	fs.StringVar(&t.TLSCA, "tls-ca", getenv(EnvTemporalTLSCA), "CA certificate file to verify the server (env "+EnvTemporalTLSCA+")")
	fs.StringVar(&t.TLSServerName, "tls-server-name", getenv(EnvTemporalTLSServerName), "server name to verify, when it differs from the address (env "+EnvTemporalTLSServerName+")")
	fs.StringVar(&t.APIKeyFile, "api-key-file", getenv(EnvTemporalAPIKeyFile), "file holding a Temporal Cloud API key (env "+EnvTemporalAPIKeyFile+", or the key itself in "+EnvTemporalAPIKey+")")
	t.apiKeyEnv = strings.TrimSpace(getenv(EnvTemporalAPIKey))
	fs.StringVar(&t.CodecKeysFile, "codec-keys-file", getenv(codec.EnvKeysFile), "file holding the payload-encryption keyring \"id:base64key,...\" (env "+codec.EnvKeysFile+", or the keyring itself in "+codec.EnvKeys+"); the first key encrypts")
	t.codecKeysEnv = getenv(codec.EnvKeys)
}

// ClientOptions builds the SDK's client options. The API key (if any) is read here, from the
// file or the environment, and only handed to the SDK's credentials.
func (t *Temporal) ClientOptions(readFile func(string) ([]byte, error)) (client.Options, error) {
	opts := client.Options{HostPort: t.Address, Namespace: t.Namespace}
	if t.Address == "" {
		return opts, errors.New("--temporal-address is empty")
	}
	if (t.TLSCert == "") != (t.TLSKey == "") {
		return opts, errors.New("--tls-cert and --tls-key go together: set both or neither")
	}
	apiKey := t.apiKeyEnv
	if t.APIKeyFile != "" {
		b, err := readFile(t.APIKeyFile)
		if err != nil {
			return opts, fmt.Errorf("read Temporal API key file %s: %w", t.APIKeyFile, unwrapPath(err))
		}
		if apiKey = strings.TrimSpace(string(b)); apiKey == "" {
			return opts, fmt.Errorf("Temporal API key file %s is empty", t.APIKeyFile)
		}
	}
	useTLS := t.TLSCert != "" || t.TLSCA != "" || t.TLSServerName != "" || apiKey != ""
	if useTLS {
		// API keys only travel over TLS: Temporal Cloud requires it, and a key in clear text
		// would be a leak.
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.TLSServerName}
		if t.TLSCert != "" {
			cert, err := loadKeyPair(t.TLSCert, t.TLSKey, readFile)
			if err != nil {
				return opts, err
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		if t.TLSCA != "" {
			pem, err := readFile(t.TLSCA)
			if err != nil {
				return opts, fmt.Errorf("read --tls-ca %s: %w", t.TLSCA, unwrapPath(err))
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return opts, fmt.Errorf("--tls-ca %s holds no PEM certificate", t.TLSCA)
			}
			cfg.RootCAs = pool
		}
		opts.ConnectionOptions.TLS = cfg
	}
	if apiKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(apiKey)
	}
	// Payload encryption: what enters the workflow history (counts, cursors, error text) is
	// encrypted at rest. Every worker and starter of a namespace needs the same keyring.
	env := map[string]string{codec.EnvKeys: t.codecKeysEnv, codec.EnvKeysFile: t.CodecKeysFile}
	k, on, err := codec.LoadKeyring(func(name string) string { return env[name] }, readFile)
	if err != nil {
		return opts, fmt.Errorf("payload encryption: %w", err)
	}
	if on {
		t.Keyring = k
		codec.ClientOptions(k)(&opts)
	}
	return opts, nil
}

func loadKeyPair(certFile, keyFile string, readFile func(string) ([]byte, error)) (tls.Certificate, error) {
	certPEM, err := readFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("read --tls-cert %s: %w", certFile, unwrapPath(err))
	}
	keyPEM, err := readFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("read --tls-key %s: %w", keyFile, unwrapPath(err))
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The parse error describes the PEM structure, not the key material.
		return tls.Certificate{}, fmt.Errorf("--tls-cert %s / --tls-key %s: %w", certFile, keyFile, err)
	}
	return cert, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
