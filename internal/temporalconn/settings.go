// Package temporalconn decides how a process reaches Temporal: it reads the connection
// settings by Temporal's own conventions (a TOML profile, then TEMPORAL_* variables), accepts
// the connector's former variable names and its flags on top, builds the SDK's client options
// (with credentials that follow their files when they are rotated) and explains a failed
// connection in terms of the setting to fix.
package temporalconn

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"

	"go.temporal.io/sdk/contrib/envconfig"
)

// Environment variables, by Temporal's conventions (the CLI and envconfig read the same).
const (
	EnvConfigFile              = "TEMPORAL_CONFIG_FILE"
	EnvProfile                 = "TEMPORAL_PROFILE"
	EnvAddress                 = "TEMPORAL_ADDRESS"
	EnvNamespace               = "TEMPORAL_NAMESPACE"
	EnvAPIKey                  = "TEMPORAL_API_KEY"
	EnvTLS                     = "TEMPORAL_TLS"
	EnvTLSClientCertPath       = "TEMPORAL_TLS_CLIENT_CERT_PATH"
	EnvTLSClientCertData       = "TEMPORAL_TLS_CLIENT_CERT_DATA"
	EnvTLSClientKeyPath        = "TEMPORAL_TLS_CLIENT_KEY_PATH"
	EnvTLSClientKeyData        = "TEMPORAL_TLS_CLIENT_KEY_DATA"
	EnvTLSServerCACertPath     = "TEMPORAL_TLS_SERVER_CA_CERT_PATH"
	EnvTLSServerCACertData     = "TEMPORAL_TLS_SERVER_CA_CERT_DATA"
	EnvTLSServerName           = "TEMPORAL_TLS_SERVER_NAME"
	EnvTLSDisableHostVerifying = "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION"
	EnvClientAuthority         = "TEMPORAL_CLIENT_AUTHORITY"
	EnvGRPCMetaPrefix          = "TEMPORAL_GRPC_META_"
	// EnvAPIKeyFile is the connector's own: Temporal's conventions have no file for the key,
	// and a key in a file can be rotated without a restart.
	EnvAPIKeyFile = "TEMPORAL_API_KEY_FILE"
)

// Former names of the connector (those of Temporal's old CLI), still read.
const (
	EnvFormerTLSCert = "TEMPORAL_TLS_CERT"
	EnvFormerTLSKey  = "TEMPORAL_TLS_KEY"
	EnvFormerTLSCA   = "TEMPORAL_TLS_CA"
)

// EnvVars lists the variables of the connection (TEMPORAL_GRPC_META_* aside), for checks of
// deployment files.
var EnvVars = []string{
	EnvConfigFile, EnvProfile, EnvAddress, EnvNamespace, EnvAPIKey, EnvAPIKeyFile, EnvTLS,
	EnvTLSClientCertPath, EnvTLSClientCertData, EnvTLSClientKeyPath, EnvTLSClientKeyData,
	EnvTLSServerCACertPath, EnvTLSServerCACertData, EnvTLSServerName, EnvTLSDisableHostVerifying,
	EnvClientAuthority,
}

// formerNames maps each former variable to the name that replaced it.
var formerNames = []struct{ former, current string }{
	{EnvFormerTLSCert, EnvTLSClientCertPath},
	{EnvFormerTLSKey, EnvTLSClientKeyPath},
	{EnvFormerTLSCA, EnvTLSServerCACertPath},
}

// Defaults when no layer sets a value.
const (
	DefaultAddress   = "localhost:7233"
	DefaultNamespace = "default"
)

// PEM is certificate or key material: a file (re-read when it changes) or the PEM itself.
type PEM struct {
	Path string
	Data []byte
	// From names the setting that gave it (a variable, a flag, a profile key).
	From string
}

func (p PEM) set() bool { return p.Path != "" || len(p.Data) > 0 }

// describe names the material for messages: the file, or where the inline PEM came from.
func (p PEM) describe() string {
	if p.Path != "" {
		return fmt.Sprintf("%s (from %s)", p.Path, p.From)
	}
	return "the PEM in " + p.From
}

// Settings are the resolved connection settings. From* fields name the setting each value
// came from, so that a message can say what to change.
type Settings struct {
	Address, AddressFrom     string
	Namespace, NamespaceFrom string
	// APIKey is an inline key (environment or profile); never printed.
	APIKey, APIKeyFrom string
	// APIKeyFile holds the key; it is re-read when it changes. It wins over APIKey.
	APIKeyFile, APIKeyFileFrom string
	// TLS is the explicit choice (TEMPORAL_TLS, --tls, a profile's tls.disabled); nil leaves
	// it to the other settings: any TLS setting or an API key turns it on.
	TLS     *bool
	TLSFrom string
	// tlsTable is a profile's [tls] table, which turns TLS on by envconfig's rule.
	tlsTable                    bool
	ClientCert, ClientKey       PEM
	ServerCA                    PEM
	ServerName, ServerNameFrom  string
	DisableHostVerification     bool
	DisableHostVerificationFrom string
	Authority                   string
	GRPCMeta                    map[string]string
	// ConfigFile and Profile are the TOML file and profile read, when one was.
	ConfigFile, Profile string
	// Warnings are for the log, once a logger exists: former names in use, ignored values.
	Warnings []string
}

// TLSEnabled reports whether the connection uses TLS, and why.
func (s Settings) TLSEnabled() (bool, string) {
	if s.TLS != nil {
		return *s.TLS, s.TLSFrom
	}
	switch {
	case s.ClientCert.set():
		return true, "a client certificate is set (" + s.ClientCert.From + ")"
	case s.ServerCA.set():
		return true, "a server CA is set (" + s.ServerCA.From + ")"
	case s.ServerName != "":
		return true, "a TLS server name is set (" + s.ServerNameFrom + ")"
	case s.tlsTable:
		return true, "the profile has a [tls] table (" + s.profileName() + ")"
	case s.APIKeyFile != "":
		return true, "an API key is set (" + s.APIKeyFileFrom + "): Temporal Cloud takes keys over TLS only"
	case s.APIKey != "":
		return true, "an API key is set (" + s.APIKeyFrom + "): Temporal Cloud takes keys over TLS only"
	}
	return false, "no TLS setting is set"
}

// HasAPIKey reports whether requests carry an API key.
func (s Settings) HasAPIKey() bool { return s.APIKey != "" || s.APIKeyFile != "" }

func (s Settings) profileName() string {
	return fmt.Sprintf("profile %q in %s", s.Profile, s.ConfigFile)
}

// Flags are the command line's connection flags that were set explicitly; they override
// every other layer.
type Flags struct {
	Address, Namespace, TLSCert, TLSKey, TLSCA, TLSServerName, APIKeyFile string
	TLS                                                                   *bool
}

// Env is the process environment: a variable set to the empty string counts as unset (a
// compose file's ${VAR:-} passes empty values through).
type Env struct {
	Getenv func(string) string
	// Environ lists "NAME=value" pairs, for TEMPORAL_GRPC_META_*; nil reads none.
	Environ func() []string
}

func (e Env) get(name string) string { return strings.TrimSpace(e.Getenv(name)) }

// envLookup adapts Env to envconfig's lookup.
type envLookup struct{ env Env }

func (e envLookup) LookupEnv(name string) (string, bool) {
	v := e.env.get(name)
	return v, v != ""
}

func (e envLookup) Environ() []string {
	if e.env.Environ == nil {
		return nil
	}
	var out []string
	for _, kv := range e.env.Environ() {
		// Empty meta values delete a key in envconfig; here empty means unset, as above.
		if name, v, ok := strings.Cut(kv, "="); ok && v != "" && strings.HasPrefix(name, EnvGRPCMetaPrefix) {
			out = append(out, kv)
		}
	}
	return out
}

// Resolve reads the settings in layers, each overriding the one before: the TOML profile
// (TEMPORAL_CONFIG_FILE, or the CLI's default file; TEMPORAL_PROFILE or "default"), the
// TEMPORAL_* variables, the former variable names, then the flags set explicitly.
func Resolve(env Env, flags Flags) (Settings, error) {
	var s Settings
	if err := s.applyProfile(env); err != nil {
		return s, err
	}
	var fromEnv envconfig.ClientConfigProfile
	if err := fromEnv.ApplyEnvVars(envLookup{env}); err != nil {
		return s, fmt.Errorf("read the TEMPORAL_* variables: %w", err)
	}
	if v := env.get(EnvTLSDisableHostVerifying); v != "" {
		if _, ok := parseBool(v); !ok {
			return s, fmt.Errorf("%s=%q: want true or false", EnvTLSDisableHostVerifying, v)
		}
	}
	if err := s.apply(fromEnv, false, envNames); err != nil {
		return s, err
	}
	if v := env.get(EnvTLS); v != "" {
		on, ok := parseBool(v)
		if !ok {
			return s, fmt.Errorf("%s=%q: want true or false", EnvTLS, v)
		}
		s.TLS, s.TLSFrom = &on, EnvTLS+"="+v
	}
	if v := env.get(EnvAPIKeyFile); v != "" {
		s.APIKeyFile, s.APIKeyFileFrom = v, EnvAPIKeyFile
	}
	if err := s.applyFormerNames(env); err != nil {
		return s, err
	}
	s.applyFlags(flags)
	if s.Address == "" {
		s.Address, s.AddressFrom = DefaultAddress, "the default"
	}
	if s.Namespace == "" {
		s.Namespace, s.NamespaceFrom = DefaultNamespace, "the default"
	}
	return s, s.check()
}

// applyProfile loads the profile, when there is a file or one was asked for by name.
func (s *Settings) applyProfile(env Env) error {
	file, named := env.get(EnvConfigFile), true
	if file == "" {
		file, named = envconfig.DefaultConfigFilePath(), false
	}
	profile, profileNamed := env.get(EnvProfile), true
	if profile == "" {
		profile, profileNamed = envconfig.DefaultConfigFileProfile, false
	}
	if file == "" {
		if profileNamed {
			return fmt.Errorf("%s=%s: no config file to read it from (set %s)", EnvProfile, profile, EnvConfigFile)
		}
		return nil
	}
	if _, err := os.Stat(file); err != nil {
		switch {
		case named:
			return fmt.Errorf("%s=%s: %w", EnvConfigFile, file, unwrapPath(err))
		case profileNamed:
			return fmt.Errorf("%s=%s: the config file %s cannot be read (%v); set %s to the file that holds it", EnvProfile, profile, file, unwrapPath(err), EnvConfigFile)
		case errors.Is(err, os.ErrNotExist):
			return nil
		default:
			return fmt.Errorf("the Temporal config file %s: %w", file, unwrapPath(err))
		}
	}
	conf, err := envconfig.LoadClientConfig(envconfig.LoadClientConfigOptions{ConfigFilePath: file})
	if err != nil {
		return fmt.Errorf("the Temporal config file %s: %w", file, err)
	}
	p, ok := conf.Profiles[profile]
	if !ok {
		if profileNamed {
			names := make([]string, 0, len(conf.Profiles))
			for n := range conf.Profiles {
				names = append(names, n)
			}
			return fmt.Errorf("%s=%s: %s has no such profile (it has %s)", EnvProfile, profile, file, orNone(names))
		}
		return nil
	}
	s.ConfigFile, s.Profile = file, profile
	where := s.profileName()
	return s.apply(*p, true, func(key string) string { return where + ", key " + key })
}

// envNames names the variable behind each profile key, for the env layer.
func envNames(key string) string {
	return map[string]string{
		"address": EnvAddress, "namespace": EnvNamespace, "api_key": EnvAPIKey, "authority": EnvClientAuthority,
		"tls.disabled": EnvTLS, "tls.client_cert_path": EnvTLSClientCertPath, "tls.client_cert_data": EnvTLSClientCertData,
		"tls.client_key_path": EnvTLSClientKeyPath, "tls.client_key_data": EnvTLSClientKeyData,
		"tls.server_ca_cert_path": EnvTLSServerCACertPath, "tls.server_ca_cert_data": EnvTLSServerCACertData,
		"tls.server_name": EnvTLSServerName, "tls.disable_host_verification": EnvTLSDisableHostVerifying,
		"codec": "TEMPORAL_CODEC_ENDPOINT",
	}[key]
}

// apply lays one layer (a profile, or the variables read into a profile) over s; from names
// the setting behind a profile key.
func (s *Settings) apply(p envconfig.ClientConfigProfile, profile bool, from func(key string) string) error {
	set := func(dst, dstFrom *string, v, key string) {
		if v != "" {
			*dst, *dstFrom = v, from(key)
		}
	}
	set(&s.Address, &s.AddressFrom, p.Address, "address")
	set(&s.Namespace, &s.NamespaceFrom, p.Namespace, "namespace")
	set(&s.APIKey, &s.APIKeyFrom, p.APIKey, "api_key")
	if p.Authority != "" {
		s.Authority = p.Authority
	}
	if p.Codec != nil && p.Codec.Endpoint != "" {
		// A remote codec would be called for every payload, replays included; the
		// connector encrypts in process with its own keyring.
		s.Warnings = append(s.Warnings, fmt.Sprintf("the codec endpoint of %s is not used: the connector encrypts payloads itself (JCSYNC_CODEC_KEYS, JCSYNC_CODEC_KEYS_FILE)", from("codec")))
	}
	if len(p.GRPCMeta) > 0 {
		if s.GRPCMeta == nil {
			s.GRPCMeta = map[string]string{}
		}
		maps.Copy(s.GRPCMeta, p.GRPCMeta)
	}
	t := p.TLS
	if t == nil {
		return nil
	}
	// A profile's [tls] table turns TLS on (envconfig's rule). In the env layer the struct
	// only says that some TLS variable was set: Resolve reads TEMPORAL_TLS itself, and each
	// other variable is weighed on its own.
	if profile {
		s.tlsTable = true
		if t.Disabled {
			off := false
			s.TLS, s.TLSFrom = &off, from("tls.disabled")+" = true"
		}
	}
	var err error
	pick := func(dst *PEM, path string, data []byte, pathKey, dataKey string) {
		switch {
		case path != "" && len(data) > 0:
			err = errors.Join(err, fmt.Errorf("%s and %s are both set: keep one", from(pathKey), from(dataKey)))
		case path != "":
			*dst = PEM{Path: path, From: from(pathKey)}
		case len(data) > 0:
			*dst = PEM{Data: data, From: from(dataKey)}
		}
	}
	pick(&s.ClientCert, t.ClientCertPath, t.ClientCertData, "tls.client_cert_path", "tls.client_cert_data")
	pick(&s.ClientKey, t.ClientKeyPath, t.ClientKeyData, "tls.client_key_path", "tls.client_key_data")
	pick(&s.ServerCA, t.ServerCACertPath, t.ServerCACertData, "tls.server_ca_cert_path", "tls.server_ca_cert_data")
	set(&s.ServerName, &s.ServerNameFrom, t.ServerName, "tls.server_name")
	if t.DisableHostVerification {
		s.DisableHostVerification, s.DisableHostVerificationFrom = true, from("tls.disable_host_verification")
	}
	return err
}

// applyFormerNames reads the connector's former variables: a former name alone still works
// (with a warning naming the new one); set beside its new name, the two must agree.
func (s *Settings) applyFormerNames(env Env) error {
	for _, n := range formerNames {
		v := env.get(n.former)
		if v == "" {
			continue
		}
		dst := map[string]*PEM{EnvTLSClientCertPath: &s.ClientCert, EnvTLSClientKeyPath: &s.ClientKey, EnvTLSServerCACertPath: &s.ServerCA}[n.current]
		current := env.get(n.current)
		dataName := strings.TrimSuffix(n.current, "_PATH") + "_DATA"
		switch {
		case env.get(dataName) != "":
			return fmt.Errorf("%s (the former name of %s) and %s are both set: keep only %s", n.former, n.current, dataName, dataName)
		case current != "" && current != v:
			return fmt.Errorf("%s=%s and %s=%s disagree: %s is the former name of %s; remove it", n.former, v, n.current, current, n.former, n.current)
		case current != "":
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s is set beside %s, which replaces it: remove %s", n.former, n.current, n.former))
		default:
			*dst = PEM{Path: v, From: n.former}
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s is deprecated: rename it %s", n.former, n.current))
		}
	}
	return nil
}

func (s *Settings) applyFlags(f Flags) {
	if f.Address != "" {
		s.Address, s.AddressFrom = f.Address, "--temporal-address"
	}
	if f.Namespace != "" {
		s.Namespace, s.NamespaceFrom = f.Namespace, "--namespace"
	}
	if f.TLSCert != "" {
		s.ClientCert = PEM{Path: f.TLSCert, From: "--tls-cert"}
	}
	if f.TLSKey != "" {
		s.ClientKey = PEM{Path: f.TLSKey, From: "--tls-key"}
	}
	if f.TLSCA != "" {
		s.ServerCA = PEM{Path: f.TLSCA, From: "--tls-ca"}
	}
	if f.TLSServerName != "" {
		s.ServerName, s.ServerNameFrom = f.TLSServerName, "--tls-server-name"
	}
	if f.APIKeyFile != "" {
		s.APIKeyFile, s.APIKeyFileFrom = f.APIKeyFile, "--api-key-file"
	}
	if f.TLS != nil {
		on := *f.TLS
		s.TLS, s.TLSFrom = &on, fmt.Sprintf("--tls=%v", on)
	}
}

// check refuses settings that contradict each other.
func (s *Settings) check() error {
	if s.ClientCert.set() != s.ClientKey.set() {
		if s.ClientCert.set() {
			return fmt.Errorf("a client certificate is set (%s) without its key: set %s (or --tls-key, or the profile's tls.client_key_path)", s.ClientCert.From, EnvTLSClientKeyPath)
		}
		return fmt.Errorf("a client key is set (%s) without its certificate: set %s (or --tls-cert, or the profile's tls.client_cert_path)", s.ClientKey.From, EnvTLSClientCertPath)
	}
	if on, why := s.TLSEnabled(); !on && s.TLS != nil {
		for _, set := range []struct {
			what, from string
		}{{"a client certificate", s.ClientCert.From}, {"a server CA", s.ServerCA.From}, {"a TLS server name", s.ServerNameFrom}} {
			if set.from != "" {
				return fmt.Errorf("TLS is off (%s) yet %s is set (%s): remove one", why, set.what, set.from)
			}
		}
	}
	if s.APIKeyFile != "" && s.APIKey != "" {
		s.Warnings = append(s.Warnings, fmt.Sprintf("the API key of %s is not used: the key comes from the file %s (%s)", s.APIKeyFrom, s.APIKeyFile, s.APIKeyFileFrom))
		s.APIKey, s.APIKeyFrom = "", ""
	}
	if s.DisableHostVerification {
		s.Warnings = append(s.Warnings, "the server's certificate is not verified ("+s.DisableHostVerificationFrom+"): anyone on the path can read and change what the connector sends")
	}
	if on, _ := s.TLSEnabled(); !on && s.HasAPIKey() {
		s.Warnings = append(s.Warnings, "TLS is off ("+s.TLSFrom+") yet an API key is sent: it travels in clear text")
	}
	return nil
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "1", "true":
		return true, true
	case "0", "false":
		return false, true
	}
	return false, false
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
