package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// File is the shape of a config file: {"integrations":[{...}, ...]}.
type File struct {
	Integrations []Integration `json:"integrations"`
}

// nameRe limits integration names to what is safe in a workflow id, a schedule id and a
// visibility query without quoting surprises.
var nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// Load reads a JSON config file of integrations under the default Policy (base URLs are
// https unless they point at loopback or the integration sets insecure_http). Errors name
// the file and either the line or the field, and say what is wrong. Secrets are never in
// the file: api_key and token say where the secret lives, and Resolve fetches it.
func Load(path string) (Integrations, error) {
	return load(path, Policy{})
}

func load(path string, pol Policy) (Integrations, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	ins, err := parse(data, pol)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	// Relative secret files are relative to the config file, not to wherever the worker
	// happens to be started from.
	dir := filepath.Dir(path)
	out := Integrations{}
	for _, in := range ins {
		in.JumpCloud.APIKeyFrom.File = relTo(dir, in.JumpCloud.APIKeyFrom.File)
		in.JumpCloud.ClientSecretFrom.File = relTo(dir, in.JumpCloud.ClientSecretFrom.File)
		in.Authomize.TokenFrom.File = relTo(dir, in.Authomize.TokenFrom.File)
		out[in.Name] = in
	}
	return out, nil
}

func relTo(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

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

// EnvInsecureHTTP, set to true, accepts http:// base URLs to any host in every integration
// of the process (the worker's --insecure-http): for simulators reached by a service name,
// never for real accounts.
const EnvInsecureHTTP = "JCSYNC_INSECURE_HTTP"

// Policy is what a process allows of every integration it loads, beyond what each says.
type Policy struct {
	// InsecureHTTP accepts http:// base URLs to hosts beyond loopback.
	InsecureHTTP bool
}

// PolicyFromEnv reads the Policy from the environment (JCSYNC_INSECURE_HTTP); a value that is
// not a boolean is an error rather than a silent default either way.
func PolicyFromEnv(getenv func(string) string) (Policy, error) {
	v := strings.TrimSpace(getenv(EnvInsecureHTTP))
	if v == "" {
		return Policy{}, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return Policy{}, fmt.Errorf("%s=%q: want true or false", EnvInsecureHTTP, v)
	}
	return Policy{InsecureHTTP: b}, nil
}

// Environment variables of a single integration configured by environment (FromEnv).
const (
	EnvIntegrationName     = "AUTHOMIZE_INTEGRATION_NAME"
	EnvJumpCloudAPIKey     = "JUMPCLOUD_API_KEY"
	EnvJumpCloudAPIKeyFile = "JUMPCLOUD_API_KEY_FILE"
	EnvJumpCloudOrgID      = "JUMPCLOUD_ORG_ID"
	EnvJumpCloudBaseURL    = "JUMPCLOUD_BASE_URL"
	EnvJumpCloudAdminEmail = "JUMPCLOUD_ADMIN_EMAIL"
	EnvJumpCloudRPS        = "JUMPCLOUD_RPS"
	EnvJumpCloudIdentities = "JUMPCLOUD_IDENTITIES"
	EnvAuthomizeToken      = "AUTHOMIZE_TOKEN"
	EnvAuthomizeTokenFile  = "AUTHOMIZE_TOKEN_FILE"
	EnvAuthomizeAppID      = "AUTHOMIZE_APP_ID"
	EnvAuthomizeBaseURL    = "AUTHOMIZE_BASE_URL"
	EnvAuthomizeOwnerEmail = "AUTHOMIZE_OWNER_EMAIL"
)

// EnvVars lists every variable FromEnv reads, so deployment files can be checked against it.
var EnvVars = []string{
	EnvIntegrationName, EnvJumpCloudAPIKey, EnvJumpCloudAPIKeyFile, EnvJumpCloudOrgID,
	EnvJumpCloudBaseURL, EnvJumpCloudAdminEmail, EnvJumpCloudRPS, EnvJumpCloudIdentities,
	EnvAuthomizeToken, EnvAuthomizeTokenFile, EnvAuthomizeAppID, EnvAuthomizeBaseURL,
	EnvAuthomizeOwnerEmail,
}

// DefaultIntegrationName names the integration configured by environment when
// AUTHOMIZE_INTEGRATION_NAME is unset.
const DefaultIntegrationName = "default"

// FromEnv builds one integration from environment variables, under the Policy of the same
// environment (JCSYNC_INSECURE_HTTP). ok is false when neither a JumpCloud key nor an
// Authomize token is configured there (the worker then relies on its config file). The
// secrets stay in the environment: the integration refers to them and Resolve reads them.
func FromEnv(getenv func(string) string) (Integration, bool, error) {
	pol, perr := PolicyFromEnv(getenv)
	in, ok, err := fromEnv(getenv, pol)
	if ok && perr != nil {
		// The policy's own mistake comes first: under the strict policy it fell back to, a
		// simulator's URL would be reported as the problem.
		return Integration{}, true, perr
	}
	return in, ok, err
}

func fromEnv(getenv func(string) string, pol Policy) (Integration, bool, error) {
	key, keyFile := getenv(EnvJumpCloudAPIKey), getenv(EnvJumpCloudAPIKeyFile)
	tok, tokFile := getenv(EnvAuthomizeToken), getenv(EnvAuthomizeTokenFile)
	if key == "" && keyFile == "" && tok == "" && tokFile == "" && !envHasServiceAccount(getenv) {
		return Integration{}, false, nil
	}
	in := Integration{
		Name: getenv(EnvIntegrationName),
		JumpCloud: JumpCloud{
			BaseURL:    getenv(EnvJumpCloudBaseURL),
			OrgID:      getenv(EnvJumpCloudOrgID),
			AdminEmail: getenv(EnvJumpCloudAdminEmail),
		},
		Authomize: Authomize{
			BaseURL:    getenv(EnvAuthomizeBaseURL),
			AppID:      getenv(EnvAuthomizeAppID),
			OwnerEmail: getenv(EnvAuthomizeOwnerEmail),
		},
	}
	if in.Name == "" {
		in.Name = DefaultIntegrationName
	}
	var problems []string
	in.JumpCloud, problems = credentialFromEnv(getenv, in.JumpCloud, pol, problems)
	in.Authomize.TokenFrom, problems = envRef(EnvAuthomizeToken, tok, EnvAuthomizeTokenFile, tokFile, problems)
	if v := getenv(EnvJumpCloudIdentities); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s=%q: want true or false", EnvJumpCloudIdentities, v))
		}
		in.Identities = b
	}
	if v := getenv(EnvJumpCloudRPS); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			problems = append(problems, fmt.Sprintf("%s=%q: want a non-negative number", EnvJumpCloudRPS, v))
		}
		in.JumpCloud.RPS = f
	}
	if !nameRe.MatchString(in.Name) {
		problems = append(problems, fmt.Sprintf("%s=%q: use letters, digits, '.', '_' or '-' (at most 63)", EnvIntegrationName, in.Name))
	}
	if msg := checkBaseURL(EnvJumpCloudBaseURL, in.JumpCloud.BaseURL, pol.InsecureHTTP, insecureFix); msg != "" {
		problems = append(problems, msg)
	}
	if msg := checkBaseURL(EnvAuthomizeBaseURL, in.Authomize.BaseURL, pol.InsecureHTTP, insecureFix); msg != "" {
		problems = append(problems, msg)
	}
	if len(problems) > 0 {
		return Integration{}, true, fmt.Errorf("integration %q from the environment: %s", in.Name, strings.Join(problems, "; "))
	}
	return in, true, nil
}

// envRef picks the variable or the file holding a secret; val is only tested for presence.
func envRef(name, val, fileName, file string, problems []string) (SecretRef, []string) {
	switch {
	case val != "" && file != "":
		return SecretRef{}, append(problems, fmt.Sprintf("set %s or %s, not both", name, fileName))
	case val != "":
		return SecretRef{Env: name}, problems
	case file != "":
		return SecretRef{File: file}, problems
	}
	return SecretRef{}, append(problems, fmt.Sprintf("%s (or %s) is not set", name, fileName))
}

// Resolve returns in with APIKey and Token read from where their refs point. Errors name the
// integration and the variable or file, never the value.
func Resolve(in Integration, getenv func(string) string, readFile func(string) ([]byte, error)) (Integration, error) {
	if in.JumpCloud.UsesServiceAccount() {
		return resolveServiceAccount(in, getenv, readFile)
	}
	key, err := resolveRef(in.JumpCloud.APIKeyFrom, getenv, readFile)
	if err != nil {
		return Integration{}, fmt.Errorf("integration %q: JumpCloud API key: %w", in.Name, err)
	}
	tok, err := resolveRef(in.Authomize.TokenFrom, getenv, readFile)
	if err != nil {
		return Integration{}, fmt.Errorf("integration %q: Authomize token: %w", in.Name, err)
	}
	in.JumpCloud.APIKey, in.Authomize.Token = key, tok
	return in, nil
}

// ResolveAll resolves every integration; the first failure is returned.
func ResolveAll(ins Integrations, getenv func(string) string, readFile func(string) ([]byte, error)) (Integrations, error) {
	out := Integrations{}
	for _, name := range ins.Names() {
		r, err := Resolve(ins[name], getenv, readFile)
		if err != nil {
			return nil, err
		}
		out[name] = r
	}
	return out, nil
}

func resolveRef(r SecretRef, getenv func(string) string, readFile func(string) ([]byte, error)) (string, error) {
	switch {
	case r.Env != "" && r.File != "":
		return "", errors.New("set env or file, not both")
	case r.Env != "":
		v := strings.TrimSpace(getenv(r.Env))
		if v == "" {
			return "", fmt.Errorf("environment variable %s is not set", r.Env)
		}
		return v, nil
	case r.File != "":
		b, err := readFile(r.File)
		if err != nil {
			// The error of a failed read names the path and the reason, never content.
			var pe *os.PathError
			if errors.As(err, &pe) {
				return "", fmt.Errorf("read file %s: %w", r.File, pe.Err)
			}
			return "", fmt.Errorf("read file %s: %w", r.File, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("file %s is empty", r.File)
		}
		return v, nil
	}
	return "", errors.New("no source configured: set env or file")
}

// EnvConfigFile names the JSON file of integrations (the worker's --config).
const EnvConfigFile = "JCSYNC_CONFIG"

// Gather collects the integrations of a process: those of the config file (if any) and the
// one described by the environment (if any), with every secret resolved. A name in both is
// an error rather than a silent choice. The Policy comes from the environment
// (JCSYNC_INSECURE_HTTP); GatherWith takes it from the caller.
func Gather(file string, getenv func(string) string, readFile func(string) ([]byte, error)) (Integrations, error) {
	pol, err := PolicyFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return GatherWith(file, getenv, readFile, pol)
}

// GatherWith is Gather under pol, for a process whose flags decide it (the worker's
// --insecure-http, which defaults to JCSYNC_INSECURE_HTTP).
func GatherWith(file string, getenv func(string) string, readFile func(string) ([]byte, error), pol Policy) (Integrations, error) {
	ins := Integrations{}
	if file != "" {
		loaded, err := load(file, pol)
		if err != nil {
			return nil, err
		}
		ins = loaded
	}
	env, ok, err := fromEnv(getenv, pol)
	if err != nil {
		return nil, err
	}
	if ok {
		if _, dup := ins[env.Name]; dup {
			return nil, fmt.Errorf("integration %q is in %s and in the environment: rename one (%s)", env.Name, file, EnvIntegrationName)
		}
		ins[env.Name] = env
	}
	if len(ins) == 0 {
		return nil, errors.New("no integrations: give --config (" + EnvConfigFile + ") or set JUMPCLOUD_API_KEY and AUTHOMIZE_TOKEN")
	}
	return ResolveAll(ins, getenv, readFile)
}
