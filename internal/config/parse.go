package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"regexp"
	"strings"

	"jcsync/internal/authomize"
)

// nameRe limits integration names to what is safe in a workflow id, a schedule id and a
// visibility query without quoting surprises.
var nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// parse decodes and checks a config document. Each integration is decoded on its own so an
// error can say which one it is in.
func parse(data []byte, pol Policy) ([]Integration, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxErr(data, dec, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("line 1: want a JSON object {\"integrations\":[...]}")
	}
	var ins []Integration
	seen := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxErr(data, dec, err)
		}
		key, _ := tok.(string)
		if key != "integrations" {
			return nil, fmt.Errorf("line %d: unknown field %q (the file has one field, \"integrations\")", lineAt(data, dec.InputOffset()), key)
		}
		if seen {
			return nil, fmt.Errorf("line %d: \"integrations\" appears twice", lineAt(data, dec.InputOffset()))
		}
		seen = true
		if ins, err = parseList(data, dec); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, syntaxErr(data, dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("line %d: unexpected data after the JSON object", lineAt(data, dec.InputOffset()))
	}
	if !seen || len(ins) == 0 {
		return nil, errors.New("no integrations: want {\"integrations\":[{\"name\":...}]}")
	}
	return ins, check(ins, pol)
}

func parseList(data []byte, dec *json.Decoder) ([]Integration, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxErr(data, dec, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, fmt.Errorf("line %d: integrations must be a list [...]", lineAt(data, dec.InputOffset()))
	}
	var ins []Integration
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, syntaxErr(data, dec, err)
		}
		// The raw element ends at the decoder's offset; its start is found by length.
		start := dec.InputOffset() - int64(len(raw))
		in, err := decodeOne(raw)
		if err != nil {
			return nil, elementErr(data, start, i, err)
		}
		ins = append(ins, in)
	}
	if _, err := dec.Token(); err != nil {
		return nil, syntaxErr(data, dec, err)
	}
	return ins, nil
}

func decodeOne(raw []byte) (Integration, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	var in Integration
	if err := d.Decode(&in); err != nil {
		return Integration{}, err
	}
	return in, nil
}

// elementErr turns a decode error of integrations[i] into one that names the field or line.
func elementErr(data []byte, start int64, i int, err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := fmt.Sprintf("integrations[%d].%s", i, te.Field)
		line := lineAt(data, start+te.Offset)
		if te.Value == "string" {
			switch {
			case strings.HasSuffix(te.Field, "api_key"):
				return fmt.Errorf("line %d: %s: api_key must name where the key is ({\"env\":...} or {\"file\":...}), not the key itself", line, field)
			case strings.HasSuffix(te.Field, "token"):
				return fmt.Errorf("line %d: %s: token must name where the token is ({\"env\":...} or {\"file\":...}), not the token itself", line, field)
			}
		}
		return fmt.Errorf("line %d: %s: want %s, got a JSON %s", line, field, te.Type, te.Value)
	case errors.As(err, &se):
		return fmt.Errorf("line %d: %v", lineAt(data, start+se.Offset), se)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// The decoder reports unknown fields without an offset; the element's line is close.
		return fmt.Errorf("line %d: integrations[%d]: unknown field %s", lineAt(data, start), i, strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return fmt.Errorf("line %d: integrations[%d]: %w", lineAt(data, start), i, err)
}

func syntaxErr(data []byte, dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("line %d: %v", lineAt(data, se.Offset), se)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("line %d: unexpected end of file", lineAt(data, int64(len(data))))
	}
	return fmt.Errorf("line %d: %w", lineAt(data, dec.InputOffset()), err)
}

// lineAt is the 1-based line of a byte offset.
func lineAt(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// check validates required fields and uniqueness, naming the field of every problem.
func check(ins []Integration, pol Policy) error {
	var problems []string
	names := map[string]int{}
	for i, in := range ins {
		p := fmt.Sprintf("integrations[%d]", i)
		switch {
		case in.Name == "":
			problems = append(problems, p+".name: required")
		case !nameRe.MatchString(in.Name):
			problems = append(problems, fmt.Sprintf("%s.name: %q: use letters, digits, '.', '_' or '-' (at most 63)", p, in.Name))
		default:
			if j, dup := names[in.Name]; dup {
				problems = append(problems, fmt.Sprintf("%s.name: %q is already used by integrations[%d]", p, in.Name, j))
			}
			names[in.Name] = i
		}
		problems = append(problems, checkIntegration(p, in, pol)...)
	}
	apps := map[string]int{}
	for i, in := range ins {
		key := appKey(in.Authomize)
		if key == "" {
			continue
		}
		if j, dup := apps[key]; dup {
			problems = append(problems, fmt.Sprintf("integrations[%d].authomize.app_id: %s", i, sharedAppProblem(in.Name, ins[j].Name, in.Authomize.AppID)))
			continue
		}
		apps[key] = i
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func checkIntegration(p string, in Integration, pol Policy) []string {
	var problems []string
	if msg := checkRef(in.JumpCloud.APIKeyFrom); msg != "" && !in.JumpCloud.UsesServiceAccount() {
		problems = append(problems, p+".jumpcloud.api_key: "+msg)
	}
	if msg := checkRef(in.Authomize.TokenFrom); msg != "" {
		problems = append(problems, p+".authomize.token: "+msg)
	}
	// A file's integration may allow plain http for itself; the fix names that setting first.
	insecure, fix := pol.InsecureHTTP || in.InsecureHTTP, `"insecure_http": true in this integration, or `+insecureFix
	problems = append(problems, checkServiceAccount(p+".jumpcloud", in.JumpCloud, insecure, fix)...)
	if msg := checkBaseURL(p+".jumpcloud.base_url", in.JumpCloud.BaseURL, insecure, fix); msg != "" {
		problems = append(problems, msg)
	}
	if msg := checkBaseURL(p+".authomize.base_url", in.Authomize.BaseURL, insecure, fix); msg != "" {
		problems = append(problems, msg)
	}
	if in.JumpCloud.RPS < 0 {
		problems = append(problems, p+".jumpcloud.rps: must not be negative")
	}
	return problems
}

func checkRef(r SecretRef) string {
	switch {
	case r.Env == "" && r.File == "":
		return "set env or file"
	case r.Env != "" && r.File != "":
		return "set env or file, not both"
	}
	return ""
}

// checkBaseURL checks the base URL held by setting (a field or a variable) and returns the
// problem, naming setting and how to fix it, or "". Empty means the client's default.
//
// The rule: https, except to a loopback host (a simulator or a tunnel on this machine) or
// with insecure set. Every request carries the JumpCloud API key or the Authomize token, so
// plain http to another host would hand the secret to anyone on the path.
func checkBaseURL(setting, s string, insecure bool, fix string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("%s: %q is not an http(s) URL", setting, s)
	}
	if u.Scheme == "https" || insecure || IsLoopbackHost(u.Hostname()) {
		return ""
	}
	shown := s
	if _, ok := u.User.Password(); ok {
		shown = u.Redacted()
	}
	return fmt.Sprintf("%s %q is not https: use https://, or %s for a simulator", setting, shown, fix)
}

// insecureFix names the process-wide settings that allow plain http, for error messages.
const insecureFix = "--insecure-http / " + EnvInsecureHTTP + "=true"

// IsLoopbackHost reports whether host (a URL's or a listen address's host, without port or
// brackets) is this machine's loopback: localhost, 127.0.0.0/8 or ::1. Nothing is resolved:
// a name other than localhost counts as remote, whatever it would resolve to. An empty host
// (a listen address on every interface) is not loopback.
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// appKey is how two apps are compared: the same app id at the same Authomize (an id names
// an app of one Authomize; a simulator, or a regional Authomize, at another URL holds other
// apps). Authomize's ids are case-insensitive hex, and a stray space in a file or a variable
// must not hide a shared app. "" when no app id is set.
func appKey(a Authomize) string {
	id := strings.ToLower(strings.TrimSpace(a.AppID))
	if id == "" {
		return ""
	}
	base := strings.ToLower(strings.TrimRight(strings.TrimSpace(a.BaseURL), "/"))
	if base == "" {
		base = authomize.DefaultBaseURL
	}
	return base + " " + id
}

// sharedAppProblem says why integration `in` may not use `other`'s Authomize app, and what
// to do.
func sharedAppProblem(in, other, appID string) string {
	return fmt.Sprintf("integrations %q and %q both use Authomize app %q. The sweep deletes every record of the app that its own sync did not write, "+
		"so each would delete the other's records: give each integration its own app (`starter setup --integration %s` without an app_id creates one under the integration's name)",
		other, in, strings.TrimSpace(appID), in)
}

// AppUsedBy returns the name of an integration other than except whose Authomize app is
// app's (the same id at the same Authomize), or "" when there is none.
func (s Integrations) AppUsedBy(app Authomize, except string) string {
	key := appKey(app)
	if key == "" {
		return ""
	}
	for _, name := range s.Names() {
		if name != except && appKey(s[name].Authomize) == key {
			return name
		}
	}
	return ""
}
