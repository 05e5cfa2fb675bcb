package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"reflect"
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
	pos := positions{}
	seen := false
	for dec.More() {
		keyAt := nextToken(data, dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxErr(data, dec, err)
		}
		key, _ := tok.(string)
		if key != "integrations" {
			msg := fmt.Sprintf("%s: unknown field %q (the file has one field, \"integrations\"", place(data, keyAt), key)
			if closest(key, []string{"integrations"}) != "" {
				msg += `; did you mean "integrations"?`
			}
			return nil, errors.New(msg + ")")
		}
		if seen {
			return nil, fmt.Errorf("%s: \"integrations\" appears twice", place(data, keyAt))
		}
		seen = true
		pos["integrations"] = keyAt
		if ins, err = parseList(data, dec, pos); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, syntaxErr(data, dec, err)
	}
	if after := nextToken(data, dec.InputOffset()); func() bool { _, err := dec.Token(); return err != io.EOF }() {
		return nil, fmt.Errorf("%s: unexpected data after the JSON object", place(data, after))
	}
	if !seen || len(ins) == 0 {
		return nil, errors.New("no integrations: want {\"integrations\":[{\"name\":...}]}")
	}
	return ins, check(ins, pol, data, pos)
}

// parseList decodes the list of integrations, adding the positions of their fields to pos.
func parseList(data []byte, dec *json.Decoder, pos positions) ([]Integration, error) {
	listAt := nextToken(data, dec.InputOffset())
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxErr(data, dec, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, fmt.Errorf("%s: integrations must be a list [...]", place(data, listAt))
	}
	var ins []Integration
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, syntaxErr(data, dec, err)
		}
		// The raw element ends at the decoder's offset; its start is found by length.
		start := dec.InputOffset() - int64(len(raw))
		path := fmt.Sprintf("integrations[%d]", i)
		pos[path] = start
		// Walked before decoding: the decoder names an unknown field without its object or
		// place. Anything else the walk meets, the decoder reports below.
		var unknown *unknownFieldError
		if err := walkFields(raw, start, path, reflect.TypeFor[Integration](), pos); errors.As(err, &unknown) {
			return nil, fmt.Errorf("%s: %w", place(data, unknown.Offset), unknown)
		}
		in, err := decodeOne(raw)
		if err != nil {
			return nil, elementErr(data, start, i, pos, err)
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

// elementErr turns a decode error of integrations[i] into one that names the field's full
// path and where it is.
func elementErr(data []byte, start int64, i int, pos positions, err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := fmt.Sprintf("integrations[%d].%s", i, te.Field)
		// The key's place, from the walk; the decoder's offset (past the value) otherwise.
		at, ok := pos.at(field)
		if !ok || at < start {
			at = start + te.Offset
		}
		where := place(data, at)
		if te.Type == secretRefType {
			switch {
			case te.Value == "string" && strings.HasSuffix(te.Field, "api_key"):
				return fmt.Errorf("%s: %s: api_key must name where the key is ({\"env\":...} or {\"file\":...}), not the key itself; %s", where, field, secretRefForm)
			case te.Value == "string" && strings.HasSuffix(te.Field, "token"):
				return fmt.Errorf("%s: %s: token must name where the token is ({\"env\":...} or {\"file\":...}), not the token itself; %s", where, field, secretRefForm)
			case te.Value == "string":
				return fmt.Errorf("%s: %s: must name where the secret is, not the secret itself; %s", where, field, secretRefForm)
			}
			return fmt.Errorf("%s: %s: got a JSON %s; %s", where, field, te.Value, secretRefForm)
		}
		want := te.Type.String()
		if te.Type.Kind() == reflect.Struct {
			want = "a JSON object {...}" // not the Go type's name
		}
		return fmt.Errorf("%s: %s: want %s, got a JSON %s", where, field, want, te.Value)
	case errors.As(err, &se):
		return fmt.Errorf("%s: %v", place(data, start+se.Offset), se)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// The walk finds unknown fields first; should it miss one, the element is the place.
		return fmt.Errorf("%s: integrations[%d]: unknown field %s", place(data, start), i, strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return fmt.Errorf("%s: integrations[%d]: %w", place(data, start), i, err)
}

func syntaxErr(data []byte, dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%s: %v", place(data, se.Offset), se)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: unexpected end of file", place(data, int64(len(data))))
	}
	return fmt.Errorf("%s: %w", place(data, dec.InputOffset()), err)
}

// check validates required fields and uniqueness, naming the field of every problem and
// where it is in data (pos: where its fields are).
func check(ins []Integration, pol Policy, data []byte, pos positions) error {
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
		for i, p := range problems {
			problems[i] = locate(p, data, pos)
		}
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// fieldPathRe is the field path every problem of check starts with.
var fieldPathRe = regexp.MustCompile(`^integrations\[\d+\](\.[A-Za-z0-9_]+)*`)

// locate puts before a problem the place of the field it starts with: where the field is
// written or, for a field left out, the object that lacks it.
func locate(problem string, data []byte, pos positions) string {
	if at, ok := pos.at(fieldPathRe.FindString(problem)); ok {
		return place(data, at) + ": " + problem
	}
	return problem
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
	if msg := checkBaseURL(p+".jumpcloud.insights_base_url", in.JumpCloud.InsightsBaseURL, insecure, fix); msg != "" {
		problems = append(problems, msg)
	}
	if in.JumpCloud.RPS < 0 {
		problems = append(problems, p+".jumpcloud.rps: must not be negative")
	}
	_, wrong := in.Watch.resolve(func(field string) string { return p + "." + field })
	return append(problems, wrong...)
}

// checkRef says what is wrong with a secret reference, and how one is written.
func checkRef(r SecretRef) string {
	switch {
	case r.Env == "" && r.File == "":
		return secretRefForm + "; none is set"
	case r.Env != "" && r.File != "":
		return secretRefForm + ", not both"
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
