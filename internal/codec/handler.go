package codec

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"slices"
	"strings"

	"go.temporal.io/sdk/converter"
)

// MaxRequestBytes bounds a codec request body. Temporal rejects payloads over 2 MiB by default
// and the Web UI sends one event's payloads per call, so this is generous while still stopping
// a caller from making the server buffer arbitrarily large bodies.
const MaxRequestBytes = 16 << 20

// HandlerOptions configures Handler.
type HandlerOptions struct {
	// CORSOrigins are the Temporal Web UI origins allowed to call the codec server from a
	// browser, exactly as the browser sends them, e.g. "http://localhost:8233" or
	// "https://temporal.example.com" (a trailing '/' is ignored). There is no wildcard: the
	// endpoint decrypts data, so every origin must be named.
	CORSOrigins []string
	// AuthToken, when set, is required as "Authorization: Bearer <token>" on every request
	// but a CORS preflight (browsers never attach credentials to one), whether or not the
	// request has an Origin: the CLI and scripts send none. In the Web UI, enable "Pass
	// access token" or put the server behind the same auth; with the CLI, pass
	// --codec-auth "Bearer <token>". Without a token the endpoint is open to whoever reaches
	// it, so it belongs on loopback only (the worker refuses anything else).
	AuthToken string
	// Authorize, when set, decides every request but a CORS preflight in place of AuthToken:
	// an error refuses the request with 401. BearerToken, BearerTokenAuthorizer and
	// jwtauth-based checks plug in here.
	Authorize func(*http.Request) error
	// OnRefused, when set, is told why a request was refused, for a log line. The reason
	// never holds the credential itself.
	OnRefused func(r *http.Request, reason error)
	// AllowCredentials answers a listed origin with Access-Control-Allow-Credentials: true,
	// which a browser needs before it hands the response of a request sent with credentials
	// (the UI's "Include cross-origin credentials") to the page.
	AllowCredentials bool
}

// Errors an authorizer returns for a request without usable credentials.
var (
	ErrNoBearer   = errors.New("no \"Authorization: Bearer …\" header")
	ErrWrongToken = errors.New("the bearer token does not match")
)

// BearerToken returns the token of an "Authorization: Bearer <token>" header, or
// ErrNoBearer.
func BearerToken(r *http.Request) (string, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", ErrNoBearer
	}
	return token, nil
}

// BearerTokenAuthorizer accepts requests whose bearer token is token. It compares SHA-256
// digests in constant time, so response timing reveals neither how much of a guessed token
// was right nor (the digests having one length) how long the token is.
func BearerTokenAuthorizer(token string) func(*http.Request) error {
	want := sha256.Sum256([]byte(token))
	return func(r *http.Request) error {
		got, err := BearerToken(r)
		if err != nil {
			return err
		}
		sum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			return ErrWrongToken
		}
		return nil
	}
}

// Handler serves the Temporal codec server protocol: POST .../encode and POST .../decode with a
// JSON body {"payloads":[{"metadata":{...},"data":"..."}]} (protobuf JSON, bytes in base64),
// answered in the same form. Paths are matched by suffix, so it may be mounted under a prefix
// such as /codec/. It adds CORS for opts.CORSOrigins and checks every request but a preflight
// with opts.Authorize (or, without it, against opts.AuthToken when set). One keyring serves every namespace; the X-Namespace header is accepted but
// ignored.
func Handler(k *Keyring, opts HandlerOptions) http.Handler {
	origins := make([]string, 0, len(opts.CORSOrigins))
	for _, o := range opts.CORSOrigins {
		if o = strings.TrimSuffix(strings.TrimSpace(o), "/"); o != "" {
			origins = append(origins, o)
		}
	}
	s := &codecServer{
		codec:            converter.NewPayloadCodecHTTPHandler(NewCodec(k)),
		origins:          origins,
		authorize:        opts.Authorize,
		onRefused:        opts.OnRefused,
		allowCredentials: opts.AllowCredentials,
	}
	if s.authorize == nil && opts.AuthToken != "" {
		s.authorize = BearerTokenAuthorizer(opts.AuthToken)
	}
	return s
}

type codecServer struct {
	codec   http.Handler
	origins []string
	// authorize decides every request but a preflight; nil lets every request through.
	authorize        func(*http.Request) error
	onRefused        func(*http.Request, error)
	allowCredentials bool
}

func (s *codecServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Responses differ by Origin, so caches must not hand one origin's answer to another.
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin != "" {
		if !slices.Contains(s.origins, origin) {
			// Browsers would hide the response from an unlisted origin anyway; refusing up front
			// also stops such a page from making this server decrypt anything at all.
			http.Error(w, "origin not allowed", http.StatusForbidden)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		if s.allowCredentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
	}

	if r.Method == http.MethodOptions {
		// Preflight: browsers never attach Authorization to it, so it must not need the token.
		// It is answered with headers only and never reaches the codec.
		if origin == "" {
			http.Error(w, "CORS preflight without Origin", http.StatusBadRequest)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return
	}

	// Every other request, with or without an Origin, shows its credentials.
	if s.authorize != nil {
		if err := s.authorize(r); err != nil {
			if s.onRefused != nil {
				s.onRefused(r, err)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="jcsync-codec"`)
			http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
			return
		}
	}

	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBytes)
	}
	s.codec.ServeHTTP(w, r)
}
