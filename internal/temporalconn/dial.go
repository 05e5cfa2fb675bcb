package temporalconn

import (
	"context"
	"fmt"
	"strings"

	"go.temporal.io/sdk/client"
)

// Dial connects with opts (built by ClientOptions from s) and, when that fails, says which
// setting to fix.
func (s Settings) Dial(ctx context.Context, opts client.Options) (client.Client, error) {
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, s.Explain(err)
	}
	return c, nil
}

// Explain wraps a connection error with the address, where it came from, and what the TLS
// side of the connection used.
func (s Settings) Explain(err error) error {
	msg := err.Error()
	var hints []string
	tlsOn, why := s.TLSEnabled()
	switch {
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		hints = append(hints, fmt.Sprintf("the server does not speak TLS, but TLS is on because %s: set %s=false (or --tls=false) for a server without TLS", why, EnvTLS))
	case tlsOn && (strings.Contains(msg, "remote error: tls:") || isClosed(msg)):
		// The server's alert, or (with TLS 1.3, where the client's handshake ends before the
		// server has checked the client certificate) a connection closed right after.
		hints = append(hints, "the server refused the TLS session, as an mTLS server refuses a client certificate it does not trust or a missing one: "+s.tlsUsed())
	case tlsOn && isTLSFailure(msg):
		hints = append(hints, "TLS failed: "+s.tlsUsed())
	case !tlsOn && (strings.Contains(msg, "server preface") || isClosed(msg)):
		hints = append(hints, fmt.Sprintf("TLS is off (%s): if the server requires TLS, set %s=true (or --tls), and %s for a private CA", why, EnvTLS, EnvTLSServerCACertPath))
	}
	if strings.Contains(msg, "Unauthenticated") || strings.Contains(msg, "PermissionDenied") || strings.Contains(msg, "Request unauthorized") {
		hints = append(hints, s.credentialsUsed())
	}
	hints = append(hints, s.addressHint())
	return fmt.Errorf("connect to Temporal at %s (namespace %s): %w; %s", s.Address, s.Namespace, err, strings.Join(hints, "; "))
}

func isTLSFailure(msg string) bool {
	for _, m := range []string{"x509:", "tls:", "authentication handshake failed", "certificate"} {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

func isClosed(msg string) bool {
	for _, m := range []string{"broken pipe", "connection reset", "EOF"} {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// tlsUsed says what the handshake checked and presented.
func (s Settings) tlsUsed() string {
	ca := "the system's CAs (no server CA is set: " + EnvTLSServerCACertPath + ", --tls-ca or the profile's tls.server_ca_cert_path)"
	if s.ServerCA.set() {
		ca = "the CA " + s.ServerCA.describe()
	}
	name := "the host of the address"
	if s.ServerName != "" {
		name = fmt.Sprintf("%q (from %s)", s.ServerName, s.ServerNameFrom)
	}
	cert := "no client certificate"
	if s.ClientCert.set() {
		cert = "the client certificate " + s.ClientCert.describe()
	}
	return fmt.Sprintf("the server's certificate was checked against %s for the name %s, presenting %s", ca, name, cert)
}

func (s Settings) credentialsUsed() string {
	switch {
	case s.APIKeyFile != "":
		return fmt.Sprintf("the server rejected the API key of the file %s (%s)", s.APIKeyFile, s.APIKeyFileFrom)
	case s.APIKey != "":
		return "the server rejected the API key of " + s.APIKeyFrom
	case s.ClientCert.set():
		return "the server rejected the client certificate " + s.ClientCert.describe()
	}
	return fmt.Sprintf("the server wants credentials: an API key (%s, %s) or a client certificate (%s)", EnvAPIKey, EnvAPIKeyFile, EnvTLSClientCertPath)
}

func (s Settings) addressHint() string {
	switch s.AddressFrom {
	case "the default":
		return fmt.Sprintf("the address is the default: set %s or --temporal-address (or a profile's address)", EnvAddress)
	case EnvAddress, "--temporal-address":
		return fmt.Sprintf("the address comes from %s: check %s / --temporal-address", s.AddressFrom, EnvAddress)
	}
	return fmt.Sprintf("the address comes from %s (%s or --temporal-address override it)", s.AddressFrom, EnvAddress)
}
