package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"
)

// CA is a certificate authority made for one test: it signs the proxy's server certificate
// and the clients' certificates.
type CA struct {
	CertPEM []byte
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	serial  int64
	mu      sync.Mutex
}

// NewCA makes a self-signed CA.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "jcsync test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), cert: cert, key: key, serial: 1}
}

// Issue signs a certificate for commonName: a server certificate for localhost and
// 127.0.0.1, or a client certificate. It returns the certificate and its key in PEM.
func (ca *CA) Issue(t testing.TB, commonName string, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca.mu.Lock()
	ca.serial++
	serial := ca.serial
	ca.mu.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// TLSProxy stands in front of a dev server (which has no TLS of its own) the way Temporal
// Cloud or a self-hosted frontend with TLS would: it terminates TLS with a certificate of
// its CA, can require a client certificate signed by that CA, can require an API key, and
// forwards the gRPC requests to the dev server. It records what clients presented.
type TLSProxy struct {
	// Addr is the proxy's host:port.
	Addr string
	CA   *CA

	srv *http.Server

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	peers    []string // client certificate common names, one per handshake
	keys     []string // Authorization headers, one per request
	headers  []http.Header
	refused  map[string]bool // client certificate common names refused from now on
	apiKeys  map[string]bool // accepted keys; nil accepts any request
	requests int
}

// TLSProxyOptions choose what the proxy demands of clients.
type TLSProxyOptions struct {
	// RequireClientCert makes it an mTLS endpoint: a client certificate signed by the CA.
	RequireClientCert bool
	// APIKeys, when set, are the only keys accepted ("Authorization: Bearer <key>").
	APIKeys []string
}

// StartTLSProxy starts a proxy to the plain gRPC server at backend (host:port).
func StartTLSProxy(t testing.TB, backend string, o TLSProxyOptions) *TLSProxy {
	t.Helper()
	ca := NewCA(t)
	certPEM, keyPEM := ca.Issue(t, "localhost", true)
	serverCert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	p := &TLSProxy{CA: ca, conns: map[net.Conn]struct{}{}, refused: map[string]bool{}}
	p.SetAPIKeys(o.APIKeys...)
	cfg := &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2"},
		VerifyConnection: func(cs tls.ConnectionState) error {
			p.mu.Lock()
			defer p.mu.Unlock()
			if len(cs.PeerCertificates) == 0 {
				p.peers = append(p.peers, "")
				return nil
			}
			cn := cs.PeerCertificates[0].Subject.CommonName
			p.peers = append(p.peers, cn)
			if p.refused[cn] {
				return errors.New("client certificate " + cn + " is no longer accepted")
			}
			return nil
		},
	}
	if o.RequireClientCert {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(ca.CertPEM)
		cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, pool
	}
	// The dev server speaks gRPC over HTTP/2 without TLS (h2c).
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	target := &url.URL{Scheme: "http", Host: backend}
	rp := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport:     &http.Transport{Protocols: protocols},
		FlushInterval: -1,
	}
	p.srv = &http.Server{
		TLSConfig: cfg,
		Handler:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.serve(w, r, rp) }),
		ConnState: func(c net.Conn, st http.ConnState) {
			p.mu.Lock()
			defer p.mu.Unlock()
			switch st {
			case http.StateNew:
				p.conns[c] = struct{}{}
			case http.StateClosed, http.StateHijacked:
				delete(p.conns, c)
			}
		},
		// Refused handshakes are what the tests provoke; the clients report them.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.Addr = l.Addr().String()
	go func() { _ = p.srv.ServeTLS(l, "", "") }()
	t.Cleanup(func() { _ = p.srv.Close() })
	return p
}

func (p *TLSProxy) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	auth := r.Header.Get("Authorization")
	p.mu.Lock()
	p.requests++
	p.keys = append(p.keys, auth)
	p.headers = append(p.headers, r.Header.Clone())
	ok := p.apiKeys == nil || (len(auth) > len("Bearer ") && p.apiKeys[auth[len("Bearer "):]])
	p.mu.Unlock()
	if !ok {
		// A trailers-only gRPC answer: UNAUTHENTICATED, as Temporal Cloud answers a bad key.
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Grpc-Status", "16")
		w.Header().Set("Grpc-Message", "Request unauthorized: invalid API key")
		w.WriteHeader(http.StatusOK)
		return
	}
	next.ServeHTTP(w, r)
}

// SetAPIKeys replaces the accepted API keys; none accepts any request.
func (p *TLSProxy) SetAPIKeys(keys ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.apiKeys = nil
	if len(keys) > 0 {
		p.apiKeys = map[string]bool{}
		for _, k := range keys {
			p.apiKeys[k] = true
		}
	}
}

// Refuse makes later handshakes that present the certificate named commonName fail.
func (p *TLSProxy) Refuse(commonName string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refused[commonName] = true
}

// CloseConns closes every client connection, so the next request needs a new handshake.
func (p *TLSProxy) CloseConns() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
}

// Peers returns the client certificates' common names, one per handshake ("" for none).
func (p *TLSProxy) Peers() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.peers...)
}

// Authorizations returns the Authorization header of each request, in order.
func (p *TLSProxy) Authorizations() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.keys...)
}

// LastHeaders returns the headers of the last request, nil before any.
func (p *TLSProxy) LastHeaders() http.Header {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.headers) == 0 {
		return nil
	}
	return p.headers[len(p.headers)-1]
}
