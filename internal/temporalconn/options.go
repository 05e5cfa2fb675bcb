package temporalconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"
)

// ClientOptions builds the SDK's client options. Files named by the settings are read now, so
// a wrong path stops the process at start; the API key file and the client certificate files
// are then followed (rot): a rotated key or certificate is used from the next request or
// handshake on, without a restart. log receives Resolve's warnings and the rotations.
func (s Settings) ClientOptions(log logrus.FieldLogger, rot Rotation) (client.Options, error) {
	for _, w := range s.Warnings {
		log.Warn(w)
	}
	opts := client.Options{HostPort: s.Address, Namespace: s.Namespace}
	opts.ConnectionOptions.Authority = s.Authority
	if on, _ := s.TLSEnabled(); on {
		cfg, err := s.tlsConfig(log, rot)
		if err != nil {
			return opts, err
		}
		opts.ConnectionOptions.TLS = cfg
	} else {
		// Without this the SDK turns TLS on for an API key by itself.
		opts.ConnectionOptions.TLSDisabled = true
	}
	switch {
	case s.APIKeyFile != "":
		key, err := watch("API key", []string{s.APIKeyFile}, parseAPIKey, log, rot)
		if err != nil {
			return opts, fmt.Errorf("the Temporal API key file (%s): %w", s.APIKeyFileFrom, err)
		}
		opts.Credentials = client.NewAPIKeyDynamicCredentials(func(context.Context) (string, error) { return key.get(), nil })
	case s.APIKey != "":
		opts.Credentials = client.NewAPIKeyStaticCredentials(s.APIKey)
	}
	if len(s.GRPCMeta) > 0 {
		opts.HeadersProvider = fixedHeaders(maps.Clone(s.GRPCMeta))
	}
	return opts, nil
}

func (s Settings) tlsConfig(log logrus.FieldLogger, rot Rotation) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: s.ServerName, InsecureSkipVerify: s.DisableHostVerification}
	if s.ServerCA.set() {
		pem, err := material(s.ServerCA)
		if err != nil {
			return nil, fmt.Errorf("server CA %s: %w", s.ServerCA.describe(), err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("server CA %s holds no PEM certificate", s.ServerCA.describe())
		}
		cfg.RootCAs = pool
	}
	if !s.ClientCert.set() {
		return cfg, nil
	}
	// Inline PEM never changes; the files among the two are followed.
	var paths []string
	for _, p := range []PEM{s.ClientCert, s.ClientKey} {
		if p.Path != "" {
			paths = append(paths, p.Path)
		}
	}
	parse := func(contents [][]byte) (tls.Certificate, error) {
		certPEM, keyPEM := s.ClientCert.Data, s.ClientKey.Data
		if s.ClientCert.Path != "" {
			certPEM, contents = contents[0], contents[1:]
		}
		if s.ClientKey.Path != "" {
			keyPEM = contents[0]
		}
		return tls.X509KeyPair(certPEM, keyPEM)
	}
	what := fmt.Sprintf("client certificate %s with key %s", s.ClientCert.describe(), s.ClientKey.describe())
	if len(paths) == 0 {
		cert, err := parse(nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
		return cfg, nil
	}
	pair, err := watch("client certificate", paths, parse, log, rot)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	// Asked on every handshake, so a new connection presents the current files.
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		cert := pair.get()
		return &cert, nil
	}
	return cfg, nil
}

func material(p PEM) ([]byte, error) {
	if p.Path == "" {
		return p.Data, nil
	}
	b, err := os.ReadFile(p.Path)
	if err != nil {
		return nil, unwrapPath(err)
	}
	return b, nil
}

func parseAPIKey(contents [][]byte) (string, error) {
	key := strings.TrimSpace(string(contents[0]))
	if key == "" {
		return "", errors.New("the file is empty")
	}
	return key, nil
}

// fixedHeaders are the TEMPORAL_GRPC_META_* headers, sent with every request.
type fixedHeaders map[string]string

func (h fixedHeaders) GetHeaders(context.Context) (map[string]string, error) { return h, nil }
