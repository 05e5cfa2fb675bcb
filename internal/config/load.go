package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

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
	for i, in := range ins {
		in.File, in.Index = path, i
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
		if other := ins.AppUsedBy(env.Authomize, env.Name); other != "" {
			return nil, fmt.Errorf("config %s and the environment (%s): %s", file, EnvAuthomizeAppID, sharedAppProblem(env.Name, other, env.Authomize.AppID))
		}
		ins[env.Name] = env
	}
	if len(ins) == 0 {
		return nil, errors.New("no integrations: give --config (" + EnvConfigFile + ") or set JUMPCLOUD_API_KEY and AUTHOMIZE_TOKEN")
	}
	return ResolveAll(ins, getenv, readFile)
}
