package config

import (
	"fmt"
	"strconv"
	"strings"
)

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
			BaseURL:         getenv(EnvJumpCloudBaseURL),
			InsightsBaseURL: getenv(EnvJumpCloudInsightsBaseURL),
			OrgID:           getenv(EnvJumpCloudOrgID),
			AdminEmail:      getenv(EnvJumpCloudAdminEmail),
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
	in.Watch, problems = watchFromEnv(getenv, problems)
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
	if msg := checkBaseURL(EnvJumpCloudInsightsBaseURL, in.JumpCloud.InsightsBaseURL, pol.InsecureHTTP, insecureFix); msg != "" {
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
