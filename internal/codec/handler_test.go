package codec

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
)

const webUI = "http://localhost:8233"

// uiBody renders payloads as the Web UI and CLI send them: protobuf JSON, bytes in base64.
// It is built by hand rather than with protojson so the test pins the wire format itself.
func uiBody(t *testing.T, ps []*commonpb.Payload) string {
	t.Helper()
	type jsonPayload struct {
		Metadata map[string]string `json:"metadata"`
		Data     string            `json:"data"`
	}
	var body struct {
		Payloads []jsonPayload `json:"payloads"`
	}
	for _, p := range ps {
		jp := jsonPayload{Metadata: map[string]string{}, Data: base64.StdEncoding.EncodeToString(p.Data)}
		for k, v := range p.Metadata {
			jp.Metadata[k] = base64.StdEncoding.EncodeToString(v)
		}
		body.Payloads = append(body.Payloads, jp)
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func serve(h http.Handler, method, path, body string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandlerDecodesWhatCodecEncoded(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	enc, err := NewCodec(k).Encode(payloads(t, "alice@example.com", user{Email: "bob@example.com"}))
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	h := Handler(k, HandlerOptions{CORSOrigins: []string{webUI + "/"}, AuthToken: "s3cret"})

	rec := serve(h, http.MethodPost, "/decode", uiBody(t, enc), map[string]string{
		"Content-Type":  "application/json",
		"X-Namespace":   "default",
		"Origin":        webUI,
		"Authorization": "Bearer s3cret",
	})
	if rec.Code != http.StatusOK {
		t.Fatalf("POST /decode = %d %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != webUI {
		t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, webUI)
	}
	var out commonpb.Payloads
	if err := protojson.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("response is not payloads JSON: %v\n%s", err, rec.Body)
	}
	var s string
	var u user
	dc := converter.GetDefaultDataConverter()
	if len(out.Payloads) != 2 || dc.FromPayload(out.Payloads[0], &s) != nil || dc.FromPayload(out.Payloads[1], &u) != nil {
		t.Fatalf("decoded payloads unreadable: %v", out.Payloads)
	}
	if s != "alice@example.com" || u.Email != "bob@example.com" {
		t.Errorf("decoded %q, %+v", s, u)
	}
}

// TestHandlerWithRemoteCodec drives the handler with the SDK's own remote codec client, the one
// the CLI and remote data converters use, under a prefix path.
func TestHandlerWithRemoteCodec(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	mux := http.NewServeMux()
	mux.Handle("/codec/", Handler(k, HandlerOptions{AuthToken: "s3cret"}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: srv.URL + "/codec",
		ModifyRequest: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer s3cret")
			return nil
		},
	})
	in := payloads(t, "carol@example.com")
	enc, err := remote.Encode(in)
	if err != nil {
		t.Fatalf("remote Encode: %v", err)
	}
	if keyIDOf(enc[0]) != "k1" {
		t.Fatalf("remote Encode did not encrypt: %v", enc[0].Metadata)
	}
	// What the server encoded, the local codec reads, and the other way round.
	local, err := NewCodec(k).Decode(enc)
	if err != nil || string(local[0].Data) != string(in[0].Data) {
		t.Fatalf("local Decode of remote encoding = %v, %v", local, err)
	}
	dec, err := remote.Decode(enc)
	if err != nil || string(dec[0].Data) != string(in[0].Data) {
		t.Fatalf("remote Decode = %v, %v", dec, err)
	}
}

func TestHandlerCORSPreflight(t *testing.T) {
	h := Handler(mustKeyring(t, "k1:"+testKey(1)), HandlerOptions{CORSOrigins: []string{webUI}, AuthToken: "s3cret", AllowCredentials: true})
	preflight := map[string]string{
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "content-type,x-namespace,authorization",
	}

	t.Run("listed origin", func(t *testing.T) {
		hdr := map[string]string{"Origin": webUI}
		for k, v := range preflight {
			hdr[k] = v
		}
		// No Authorization: browsers never send it on a preflight.
		rec := serve(h, http.MethodOptions, "/decode", "", hdr)
		if rec.Code != http.StatusNoContent {
			t.Fatalf("OPTIONS = %d %s", rec.Code, rec.Body)
		}
		want := map[string]string{
			"Access-Control-Allow-Origin":      webUI,
			"Access-Control-Allow-Credentials": "true",
			"Access-Control-Allow-Methods":     "POST, OPTIONS",
		}
		for k, v := range want {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		allowed := strings.ToLower(rec.Header().Get("Access-Control-Allow-Headers"))
		for _, h := range []string{"content-type", "x-namespace", "authorization"} {
			if !strings.Contains(allowed, h) {
				t.Errorf("Access-Control-Allow-Headers %q lacks %s", allowed, h)
			}
		}
		if !strings.Contains(rec.Header().Get("Vary"), "Origin") {
			t.Error("response does not vary by Origin")
		}
	})

	t.Run("unlisted origin", func(t *testing.T) {
		hdr := map[string]string{"Origin": "https://evil.example"}
		for k, v := range preflight {
			hdr[k] = v
		}
		rec := serve(h, http.MethodOptions, "/decode", "", hdr)
		if rec.Code != http.StatusForbidden {
			t.Errorf("OPTIONS from unlisted origin = %d", rec.Code)
		}
		if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("Access-Control-Allow-Origin = %q for an unlisted origin", got)
		}
		// Nor may such a page make the server decode anything.
		post := serve(h, http.MethodPost, "/decode", `{"payloads":[]}`, map[string]string{
			"Origin": "https://evil.example", "Authorization": "Bearer s3cret",
		})
		if post.Code != http.StatusForbidden || post.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("POST from unlisted origin = %d, ACAO %q", post.Code, post.Header().Get("Access-Control-Allow-Origin"))
		}
	})

	t.Run("no CORS origins configured", func(t *testing.T) {
		h := Handler(mustKeyring(t, "k1:"+testKey(1)), HandlerOptions{})
		rec := serve(h, http.MethodOptions, "/decode", "", map[string]string{"Origin": webUI})
		if rec.Code == http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight allowed with no origins configured: %d", rec.Code)
		}
		// Clients without an Origin header (the CLI) are unaffected.
		ok := serve(h, http.MethodPost, "/decode", `{"payloads":[]}`, nil)
		if ok.Code != http.StatusOK {
			t.Errorf("POST without Origin = %d %s", ok.Code, ok.Body)
		}
	})
}

func TestHandlerAuth(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	enc, err := NewCodec(k).Encode(payloads(t, "alice@example.com"))
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	body := uiBody(t, enc)
	h := Handler(k, HandlerOptions{CORSOrigins: []string{webUI}, AuthToken: "s3cret"})

	for name, auth := range map[string]string{
		"missing":      "",
		"wrong token":  "Bearer nope",
		"wrong scheme": "Basic s3cret",
		"prefix only":  "Bearer s3cre",
		"no scheme":    "s3cret",
	} {
		t.Run(name, func(t *testing.T) {
			hdr := map[string]string{"Origin": webUI, "Content-Type": "application/json"}
			if auth != "" {
				hdr["Authorization"] = auth
			}
			rec := serve(h, http.MethodPost, "/decode", body, hdr)
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("POST /decode = %d, want 401", rec.Code)
			}
			if strings.Contains(rec.Body.String(), "alice") {
				t.Error("401 response contains decoded data")
			}
			// CORS headers stay on the 401 so the Web UI can show the real reason.
			if rec.Header().Get("Access-Control-Allow-Origin") != webUI {
				t.Error("401 lacks Access-Control-Allow-Origin")
			}
		})
	}

	rec := serve(h, http.MethodPost, "/decode", body, map[string]string{"Authorization": "bearer s3cret"})
	if rec.Code != http.StatusOK {
		t.Errorf("POST with the token = %d %s", rec.Code, rec.Body)
	}
}

func TestHandlerRejectsBadRequests(t *testing.T) {
	h := Handler(mustKeyring(t, "k1:"+testKey(1)), HandlerOptions{})
	other := NewCodec(mustKeyring(t, "k2:"+testKey(2)))
	enc, err := other.Encode(payloads(t, "x"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path, body string
		want                     int
		wantIn                   string
	}{
		{"unknown key id", http.MethodPost, "/decode", uiBody(t, enc), http.StatusBadRequest, `"k2"`},
		{"not JSON", http.MethodPost, "/decode", "{", http.StatusBadRequest, ""},
		{"unknown path", http.MethodPost, "/other", `{"payloads":[]}`, http.StatusNotFound, ""},
		{"GET", http.MethodGet, "/decode", "", http.StatusNotFound, ""},
		{"too large", http.MethodPost, "/decode", `{"payloads":[{"data":"` + strings.Repeat("A", MaxRequestBytes) + `"}]}`, http.StatusBadRequest, ""},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(h, tt.method, tt.path, tt.body, nil)
			if rec.Code != tt.want {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, rec.Code, tt.want)
			}
			b, _ := io.ReadAll(rec.Body)
			if !strings.Contains(string(b), tt.wantIn) {
				t.Errorf("body %q does not mention %q", b, tt.wantIn)
			}
		})
	}
}

// TestHandlerAuthWithoutOrigin pins that the token guards requests without an Origin header
// (the CLI, scripts, anything that is not a browser) exactly as it guards the Web UI's.
func TestHandlerAuthWithoutOrigin(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	enc, err := NewCodec(k).Encode(payloads(t, "alice@example.com"))
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	body := uiBody(t, enc)
	h := Handler(k, HandlerOptions{CORSOrigins: []string{webUI}, AuthToken: "s3cret"})
	for name, hdr := range map[string]map[string]string{
		"no Authorization":       nil,
		"wrong token":            {"Authorization": "Bearer s3cret-but-longer"},
		"empty bearer":           {"Authorization": "Bearer "},
		"token in another field": {"X-Auth": "Bearer s3cret"},
	} {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/decode", "/encode", "/codec/decode", "/other"} {
				rec := serve(h, http.MethodPost, path, body, hdr)
				if rec.Code != http.StatusUnauthorized {
					t.Errorf("POST %s = %d, want 401", path, rec.Code)
				}
				if strings.Contains(rec.Body.String(), "alice") {
					t.Errorf("POST %s: 401 response contains decoded data", path)
				}
				if rec.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("POST %s: 401 without WWW-Authenticate", path)
				}
			}
		})
	}
	// A preflight never reaches the codec, so it cannot be used to get around the token.
	if rec := serve(h, http.MethodOptions, "/decode", body, nil); rec.Code != http.StatusBadRequest || strings.Contains(rec.Body.String(), "alice") {
		t.Errorf("OPTIONS without Origin = %d %s", rec.Code, rec.Body)
	}
	rec := serve(h, http.MethodPost, "/decode", body, map[string]string{"Authorization": "Bearer s3cret"})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "payloads") {
		t.Errorf("POST with the token and no Origin = %d %s", rec.Code, rec.Body)
	}
}
