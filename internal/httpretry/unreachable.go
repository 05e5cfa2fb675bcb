package httpretry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"syscall"
)

// Unreachable says why a transport failure points at the address of the server rather than
// at its health: a host name that does not resolve, a connection refused, a certificate that
// does not verify. ok is false for every other failure (a reset, a timeout, a body cut
// short), which says nothing about the address. The answer is in the operator's words, for
// an error that then names the setting holding the address.
func Unreachable(err error) (why string, ok bool) {
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		return "the host " + dns.Name + " does not resolve", true
	case errors.As(err, &dns) && !dns.IsTemporary && !dns.IsTimeout:
		return "the host " + dns.Name + " cannot be looked up", true
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing answers at that address (connection refused)", true
	case BadCertificate(err):
		return "the server's certificate does not verify for that host", true
	}
	return "", false
}

// HostNotFound reports a host name that does not resolve: a mistyped base URL, almost
// always. The resolver can say so for a moment during an outage of its own, so a client
// retries it for the few seconds of its backoff; what still fails after that is a
// configuration error, not a transient one.
func HostNotFound(err error) bool {
	var dns *net.DNSError
	return errors.As(err, &dns) && dns.IsNotFound
}

// BadCertificate reports a server certificate that does not verify: it stays so until
// someone fixes the base URL, the server or the trusted roots.
func BadCertificate(err error) bool {
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	return errors.As(err, &unknownCA) || errors.As(err, &badHost) || errors.As(err, &invalid) || errors.As(err, &verify)
}
