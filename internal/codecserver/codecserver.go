// Package codecserver is the standalone codec server behind `starter codec-server`: it lets a
// Temporal Web UI (Temporal Cloud's or a self-hosted one) and the CLI show the payloads the
// connector encrypts. It needs the payload keyring and nothing else: no integration secret, no
// Temporal connection, so it can run apart from the workers, with only the key that reads
// histories.
//
// Who may call it is one of three modes: none (a private network guards it), a static bearer
// token (a self-hosted UI's proxy, or the CLI's --codec-auth), or the user's own JWT that the
// Temporal Cloud UI sends with "Pass access token" (verified against the identity provider's
// JWKS, with issuer and audience checks).
package codecserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"

	"jcsync/internal/codec"
	"jcsync/internal/config"
	"jcsync/internal/jwtauth"
	"jcsync/internal/logging"
)

// Environment variables of the codec server's settings. The keyring's are codec.EnvKeys and
// codec.EnvKeysFile; the CORS origins and the token share the worker's variables.
const (
	EnvListen          = "JCSYNC_CODEC_LISTEN"
	EnvCORSOrigins     = "JCSYNC_CODEC_CORS_ORIGINS"
	EnvCORSCredentials = "JCSYNC_CODEC_CORS_CREDENTIALS"
	EnvAuth            = "JCSYNC_CODEC_AUTH"
	EnvAuthToken       = "JCSYNC_CODEC_AUTH_TOKEN"
	EnvAuthTokenFile   = "JCSYNC_CODEC_AUTH_TOKEN_FILE"
	EnvJWKSURL         = "JCSYNC_CODEC_JWKS_URL"
	EnvJWTIssuer       = "JCSYNC_CODEC_JWT_ISSUER"
	EnvJWTAudience     = "JCSYNC_CODEC_JWT_AUDIENCE"
	EnvTLSCert         = "JCSYNC_CODEC_TLS_CERT"
	EnvTLSKey          = "JCSYNC_CODEC_TLS_KEY"
)

// Auth modes.
const (
	AuthNone  = "none"
	AuthToken = "token"
	AuthJWT   = "jwt"
)

// DefaultListen keeps the server on loopback unless told otherwise: there, the Web UI of the
// same machine may call it without credentials.
const DefaultListen = "127.0.0.1:8089"

// DefaultCORSOrigin is the Web UI of `make demo` and of the dev server.
const DefaultCORSOrigin = "http://localhost:8233"

// Config is the codec server's parsed command line.
type Config struct {
	Listen          string
	KeysFile        string
	keysEnv         string
	CORSOrigins     []string
	CORSCredentials bool
	// Auth is the resolved mode: none, token or jwt.
	Auth string
	// TokenFile holds the static bearer token; token is the token itself, read from the
	// environment or the file, never from a flag (flags show in process lists).
	TokenFile   string
	token       string
	JWKSURL     string
	JWTIssuer   string
	JWTAudience string
	TLSCert     string
	TLSKey      string
	Log         logging.Options
}

// ParseFlags reads the command line, with environment variables as defaults, and checks that
// the settings fit together. readFile reads the token file.
func ParseFlags(args []string, getenv func(string) string, readFile func(string) ([]byte, error), stderr io.Writer) (Config, error) {
	var c Config
	fs := pflag.NewFlagSet("codec-server", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: starter codec-server [flags]\n\n"+
			"Serves /encode and /decode for the Temporal Web UI and CLI with the payload keyring, so they show\n"+
			"what the connector encrypts. Needs only the keyring: no integration secret, no Temporal connection.\n\n"+
			"Examples:\n"+
			"  JCSYNC_CODEC_KEYS_FILE=/run/secrets/codec-keys starter codec-server        # local Web UI, loopback, no auth\n"+
			"  JCSYNC_CODEC_AUTH_TOKEN=... starter codec-server --listen :8089 --cors-origin https://temporal.example.com\n"+
			"  starter codec-server --listen :8443 --tls-cert c.pem --tls-key k.pem --cors-origin https://cloud.temporal.io \\\n"+
			"    --cors-credentials --auth jwt --jwks-url https://login.tmprl.cloud/.well-known/jwks.json \\\n"+
			"    --jwt-issuer <iss of your tokens> --jwt-audience <aud of your tokens>\n\n"+
			"Flags:\n%s", fs.FlagUsages())
	}
	or := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Listen, "listen", or(EnvListen, DefaultListen), "host:port to serve on; beyond loopback it needs --auth (env "+EnvListen+")")
	fs.StringVar(&c.KeysFile, "codec-keys-file", getenv(codec.EnvKeysFile), "file holding the payload keyring \"id:base64key,...\" (env "+codec.EnvKeysFile+", or the keyring itself in "+codec.EnvKeys+")")
	c.keysEnv = getenv(codec.EnvKeys)
	origins := []string{DefaultCORSOrigin}
	if v := getenv(EnvCORSOrigins); v != "" {
		origins = strings.Split(v, ",")
	}
	fs.StringSliceVar(&c.CORSOrigins, "cors-origin", origins, "Web UI origin allowed to call from a browser, e.g. https://cloud.temporal.io; repeat or separate with commas (env "+EnvCORSOrigins+")")
	credDefault, credErr := envBool(getenv, EnvCORSCredentials)
	fs.BoolVar(&c.CORSCredentials, "cors-credentials", credDefault, "answer the listed origins with Access-Control-Allow-Credentials: true, for a UI set to \"Include cross-origin credentials\" (env "+EnvCORSCredentials+")")
	fs.StringVar(&c.Auth, "auth", strings.ToLower(or(EnvAuth, "")), "who may call: none, token or jwt; unset is token when a token is configured, else none on loopback (env "+EnvAuth+")")
	fs.StringVar(&c.TokenFile, "auth-token-file", getenv(EnvAuthTokenFile), "file holding the static bearer token of --auth token (env "+EnvAuthTokenFile+", or the token itself in "+EnvAuthToken+")")
	fs.StringVar(&c.JWKSURL, "jwks-url", getenv(EnvJWKSURL), "--auth jwt: the identity provider's signing keys, e.g. https://login.tmprl.cloud/.well-known/jwks.json (env "+EnvJWKSURL+")")
	fs.StringVar(&c.JWTIssuer, "jwt-issuer", getenv(EnvJWTIssuer), "--auth jwt: the iss claim tokens must carry (env "+EnvJWTIssuer+")")
	fs.StringVar(&c.JWTAudience, "jwt-audience", getenv(EnvJWTAudience), "--auth jwt: a value the tokens' aud claim must hold (env "+EnvJWTAudience+")")
	fs.StringVar(&c.TLSCert, "tls-cert", getenv(EnvTLSCert), "serve HTTPS with this certificate (env "+EnvTLSCert+"); a UI on https calls only https endpoints beyond localhost")
	fs.StringVar(&c.TLSKey, "tls-key", getenv(EnvTLSKey), "the certificate's private key (env "+EnvTLSKey+")")
	c.Log = logging.Options{Level: or("LOG_LEVEL", "info"), Format: or("LOG_FORMAT", "text")}
	fs.StringVar(&c.Log.Level, "log-level", c.Log.Level, "debug, info, warn or error (env LOG_LEVEL); debug logs every accepted caller")
	fs.StringVar(&c.Log.Format, "log-format", c.Log.Format, "text or json (env LOG_FORMAT)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if credErr != nil && !fs.Changed("cors-credentials") {
		return c, credErr
	}
	if err := c.resolve(getenv, readFile); err != nil {
		return c, err
	}
	return c, nil
}

// resolve reads the token, settles the auth mode and refuses combinations that would leave
// the server more open than the operator believes.
func (c *Config) resolve(getenv func(string) string, readFile func(string) ([]byte, error)) error {
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("--listen %q: want host:port, e.g. %s: %w", c.Listen, DefaultListen, err)
	}
	loopback := config.IsLoopbackHost(host)

	envToken := strings.TrimSpace(getenv(EnvAuthToken))
	switch {
	case envToken != "" && c.TokenFile != "":
		return fmt.Errorf("both %s and --auth-token-file are set; set only one", EnvAuthToken)
	case c.TokenFile != "":
		b, err := readFile(c.TokenFile)
		if err != nil {
			return fmt.Errorf("read --auth-token-file: %w", err)
		}
		if c.token = strings.TrimSpace(string(b)); c.token == "" {
			return fmt.Errorf("--auth-token-file %s is empty", c.TokenFile)
		}
	default:
		c.token = envToken
	}

	if c.Auth == "" {
		switch {
		case c.token != "":
			c.Auth = AuthToken
		case loopback:
			c.Auth = AuthNone
		default:
			return fmt.Errorf("--listen %q is beyond loopback and no auth is chosen: use --auth token (with %s), --auth jwt (the Temporal Cloud UI's access token), or --auth none if a private network alone guards the server", c.Listen, EnvAuthToken)
		}
	}
	jwtSet := c.JWKSURL != "" || c.JWTIssuer != "" || c.JWTAudience != ""
	switch c.Auth {
	case AuthNone:
		if c.token != "" || jwtSet {
			return errors.New("--auth none, but a token or JWT settings are configured: remove them, or choose --auth token or --auth jwt")
		}
	case AuthToken:
		if c.token == "" {
			return fmt.Errorf("--auth token needs the token: set %s or --auth-token-file", EnvAuthToken)
		}
		if jwtSet {
			return errors.New("--auth token, but JWT settings are configured: choose --auth jwt, or remove --jwks-url, --jwt-issuer and --jwt-audience")
		}
	case AuthJWT:
		if c.token != "" {
			return fmt.Errorf("--auth jwt, but a static token is configured: unset %s / --auth-token-file", EnvAuthToken)
		}
		var missing []string
		for _, f := range []struct{ name, v string }{{"--jwks-url", c.JWKSURL}, {"--jwt-issuer", c.JWTIssuer}, {"--jwt-audience", c.JWTAudience}} {
			if f.v == "" {
				missing = append(missing, f.name)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("--auth jwt needs %s: the key set that signs the tokens, and the iss and aud they must carry", strings.Join(missing, ", "))
		}
		u, err := url.Parse(c.JWKSURL)
		if err != nil || u.Host == "" {
			return fmt.Errorf("--jwks-url %q is not an absolute URL", c.JWKSURL)
		}
		// Keys fetched over plain http could be swapped on the way, and with them who is let in.
		if u.Scheme != "https" && !(u.Scheme == "http" && config.IsLoopbackHost(u.Hostname())) {
			return fmt.Errorf("--jwks-url %q is not https: the signing keys decide who may decrypt, so fetch them over TLS", c.JWKSURL)
		}
	default:
		return fmt.Errorf("--auth %q: want none, token or jwt", c.Auth)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together: set both or neither")
	}
	return nil
}

// Serve runs the codec server until ctx ends. ready, when set, is called with the bound
// address once the server accepts connections.
func Serve(ctx context.Context, c Config, readFile func(string) ([]byte, error), log *logrus.Logger, ready func(addr string)) error {
	env := map[string]string{codec.EnvKeys: c.keysEnv, codec.EnvKeysFile: c.KeysFile}
	k, on, err := codec.LoadKeyring(func(name string) string { return env[name] }, readFile)
	if err != nil {
		return fmt.Errorf("payload keyring: %w", err)
	}
	if !on {
		return fmt.Errorf("the codec server needs the payload keyring: set %s or %s (--codec-keys-file), the same keyring the workers use", codec.EnvKeys, codec.EnvKeysFile)
	}
	authorize, describe, err := c.authorizer(ctx, log)
	if err != nil {
		return err
	}
	if host, _, _ := net.SplitHostPort(c.Listen); !config.IsLoopbackHost(host) {
		if c.Auth == AuthNone {
			log.WithField("address", c.Listen).Warn("--auth none beyond loopback: whoever reaches this address can decrypt every payload; a private network must guard it")
		}
		if c.TLSCert == "" {
			log.WithField("address", c.Listen).Warn("serving plain http beyond loopback: decrypted payloads and credentials cross the network in clear unless a TLS proxy fronts this server")
		}
	}
	h := codec.Handler(k, codec.HandlerOptions{
		CORSOrigins:      c.CORSOrigins,
		Authorize:        authorize,
		AllowCredentials: c.CORSCredentials,
		OnRefused: func(r *http.Request, reason error) {
			log.WithFields(logrus.Fields{"remote": r.RemoteAddr, "path": r.URL.Path, "reason": reason.Error()}).Warn("codec request refused")
		},
	})
	mux := http.NewServeMux()
	// The probe answers without credentials and reveals nothing but that the server runs.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.Handle("/", h)

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	scheme := "http"
	if c.TLSCert != "" {
		// Loaded before listening, so a wrong path stops the server at start, not on the
		// first connection. A renewed certificate takes a restart.
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return fmt.Errorf("--tls-cert %s / --tls-key %s: %w", c.TLSCert, c.TLSKey, err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		scheme = "https"
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Listen, err)
	}
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	addr := ln.Addr().String()
	log.WithFields(logrus.Fields{
		"address": scheme + "://" + addr, "auth": describe, "cors_origins": strings.Join(c.CORSOrigins, ","),
		"cors_credentials": c.CORSCredentials, "key_ids": k.IDs(),
	}).Info("codec server on /encode and /decode, probe on /healthz")
	if ready != nil {
		ready(scheme + "://" + addr)
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("codec server on %s: %w", addr, err)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("stop codec server: %w", err)
	}
	return nil
}

// authorizer builds the check of c.Auth and a description of it for the start-up log line.
func (c Config) authorizer(ctx context.Context, log *logrus.Logger) (func(*http.Request) error, string, error) {
	switch c.Auth {
	case AuthToken:
		return codec.BearerTokenAuthorizer(c.token), "static bearer token", nil
	case AuthJWT:
		v, err := jwtauth.New(ctx, jwtauth.Options{JWKSURL: c.JWKSURL, Issuer: c.JWTIssuer, Audience: c.JWTAudience})
		if err != nil {
			return nil, "", fmt.Errorf("--auth jwt: %w", err)
		}
		check := func(r *http.Request) error {
			tok, err := codec.BearerToken(r)
			if err != nil {
				return err
			}
			claims, err := v.Verify(r.Context(), tok)
			if err != nil {
				return err
			}
			log.WithFields(logrus.Fields{"subject": claims.Subject, "email": claims.Email, "path": r.URL.Path}).Debug("codec request by")
			return nil
		}
		return check, fmt.Sprintf("JWT from %s (iss %s, aud %s)", c.JWKSURL, c.JWTIssuer, c.JWTAudience), nil
	default:
		return nil, "none", nil
	}
}

func envBool(getenv func(string) string, name string) (bool, error) {
	switch v := strings.ToLower(strings.TrimSpace(getenv(name))); v {
	case "":
		return false, nil
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	default:
		return false, fmt.Errorf("%s=%q: want true or false", name, v)
	}
}
