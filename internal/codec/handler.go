package codec

import (
	"crypto/subtle"
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
	// AuthToken, when set, is required as "Authorization: Bearer <token>" on /encode and
	// /decode. In the Web UI, enable "Pass access token" or put the server behind the same
	// auth; with the CLI, pass --codec-auth "Bearer <token>".
	AuthToken string
}

// Handler serves the Temporal codec server protocol: POST .../encode and POST .../decode with a
// JSON body {"payloads":[{"metadata":{...},"data":"..."}]} (protobuf JSON, bytes in base64),
// answered in the same form. Paths are matched by suffix, so it may be mounted under a prefix
// such as /codec/. It adds CORS for opts.CORSOrigins and, if opts.AuthToken is set, a bearer
// token check. One keyring serves every namespace; the X-Namespace header is accepted but
// ignored.
func Handler(k *Keyring, opts HandlerOptions) http.Handler {
	origins := make([]string, 0, len(opts.CORSOrigins))
	for _, o := range opts.CORSOrigins {
		if o = strings.TrimSuffix(strings.TrimSpace(o), "/"); o != "" {
			origins = append(origins, o)
		}
	}
	return &codecServer{
		codec:   converter.NewPayloadCodecHTTPHandler(NewCodec(k)),
		origins: origins,
		token:   opts.AuthToken,
	}
}

type codecServer struct {
	codec   http.Handler
	origins []string
	token   string
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
		// The Web UI sends credentials when configured to pass its access token.
		h.Set("Access-Control-Allow-Credentials", "true")
	}

	if r.Method == http.MethodOptions {
		// Preflight: browsers never attach Authorization to it, so it must not need the token.
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

	if s.token != "" && !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="jcsync-codec"`)
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return
	}

	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBytes)
	}
	s.codec.ServeHTTP(w, r)
}

// authorized compares in constant time so response timing does not reveal how much of a
// guessed token was right.
func (s *codecServer) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(s.token)) == 1
}
