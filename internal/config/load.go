package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// Load reads a JSON config file of integrations. Errors name the file and either the line
// or the field, and say what is wrong. Secrets are never in the file: api_key and token say
// where the secret lives, and Resolve fetches it.
func Load(path string) (Integrations, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	ins, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	// Relative secret files are relative to the config file, not to wherever the worker
	// happens to be started from.
	dir := filepath.Dir(path)
	out := Integrations{}
	for _, in := range ins {
		in.JumpCloud.APIKeyFrom.File = relTo(dir, in.JumpCloud.APIKeyFrom.File)
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
func parse(data []byte) ([]Integration, error) {
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
	return ins, check(ins)
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
func check(ins []Integration) error {
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
		problems = append(problems, checkIntegration(p, in)...)
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func checkIntegration(p string, in Integration) []string {
	var problems []string
	if msg := checkRef(in.JumpCloud.APIKeyFrom); msg != "" {
		problems = append(problems, p+".jumpcloud.api_key: "+msg)
	}
	if msg := checkRef(in.Authomize.TokenFrom); msg != "" {
		problems = append(problems, p+".authomize.token: "+msg)
	}
	if msg := checkURL(in.JumpCloud.BaseURL); msg != "" {
		problems = append(problems, p+".jumpcloud.base_url: "+msg)
	}
	if msg := checkURL(in.Authomize.BaseURL); msg != "" {
		problems = append(problems, p+".authomize.base_url: "+msg)
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

func checkURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("%q is not an http(s) URL", s)
	}
	return ""
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

// FromEnv builds one integration from environment variables. ok is false when neither a
// JumpCloud key nor an Authomize token is configured there (the worker then relies on its
// config file). The secrets stay in the environment: the integration refers to them and
// Resolve reads them.
func FromEnv(getenv func(string) string) (Integration, bool, error) {
	key, keyFile := getenv(EnvJumpCloudAPIKey), getenv(EnvJumpCloudAPIKeyFile)
	tok, tokFile := getenv(EnvAuthomizeToken), getenv(EnvAuthomizeTokenFile)
	if key == "" && keyFile == "" && tok == "" && tokFile == "" {
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
	in.JumpCloud.APIKeyFrom, problems = envRef(EnvJumpCloudAPIKey, key, EnvJumpCloudAPIKeyFile, keyFile, problems)
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
	if msg := checkURL(in.JumpCloud.BaseURL); msg != "" {
		problems = append(problems, EnvJumpCloudBaseURL+": "+msg)
	}
	if msg := checkURL(in.Authomize.BaseURL); msg != "" {
		problems = append(problems, EnvAuthomizeBaseURL+": "+msg)
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
// an error rather than a silent choice.
func Gather(file string, getenv func(string) string, readFile func(string) ([]byte, error)) (Integrations, error) {
	ins := Integrations{}
	if file != "" {
		loaded, err := Load(file)
		if err != nil {
			return nil, err
		}
		ins = loaded
	}
	fromEnv, ok, err := FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	if ok {
		if _, dup := ins[fromEnv.Name]; dup {
			return nil, fmt.Errorf("integration %q is in %s and in the environment: rename one (%s)", fromEnv.Name, file, EnvIntegrationName)
		}
		ins[fromEnv.Name] = fromEnv
	}
	if len(ins) == 0 {
		return nil, errors.New("no integrations: give --config (" + EnvConfigFile + ") or set JUMPCLOUD_API_KEY and AUTHOMIZE_TOKEN")
	}
	return ResolveAll(ins, getenv, readFile)
}
