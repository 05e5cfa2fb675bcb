package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

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
		return "", errors.New(secretRefForm + ", not both")
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
	return "", errors.New("no source configured: " + secretRefForm)
}
