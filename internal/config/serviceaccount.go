package config

// JumpCloud service accounts (OAuth 2.0 client credentials), the alternative to an
// administrator's API key. An integration uses one kind of credential or the other: both
// at once is a configuration error that says which to remove.

import "fmt"

// Environment variables of a service account configured by environment (FromEnv).
const (
	EnvJumpCloudClientID         = "JUMPCLOUD_CLIENT_ID"
	EnvJumpCloudClientSecret     = "JUMPCLOUD_CLIENT_SECRET"
	EnvJumpCloudClientSecretFile = "JUMPCLOUD_CLIENT_SECRET_FILE"
	EnvJumpCloudTokenURL         = "JUMPCLOUD_TOKEN_URL"
)

func init() {
	EnvVars = append(EnvVars, EnvJumpCloudClientID, EnvJumpCloudClientSecret, EnvJumpCloudClientSecretFile, EnvJumpCloudTokenURL)
}

// UsesServiceAccount reports whether the integration names a service account (a client id
// or a client secret) rather than an API key.
func (j JumpCloud) UsesServiceAccount() bool {
	return j.ClientID != "" || j.ClientSecret != "" || j.ClientSecretFrom != (SecretRef{})
}

// CredentialKind says which kind of JumpCloud credential the integration uses, for the
// operator: "service account (client id 0a1b2c3d…)" or "administrator API key". The client
// id is not a secret; only its start is shown.
func (j JumpCloud) CredentialKind() string {
	if !j.UsesServiceAccount() {
		return "administrator API key"
	}
	id := j.ClientID
	if r := []rune(id); len(r) > 8 {
		id = string(r[:8]) + "…"
	}
	return fmt.Sprintf("service account (client id %s)", id)
}

// checkServiceAccount checks the service-account fields of a file's integration (setting
// is its "integrations[i].jumpcloud" prefix).
func checkServiceAccount(setting string, j JumpCloud, insecure bool, fix string) []string {
	if !j.UsesServiceAccount() {
		return nil
	}
	var problems []string
	if j.APIKeyFrom != (SecretRef{}) {
		problems = append(problems, setting+": both api_key and a service account (client_id, client_secret) are set: remove api_key to use the service account, or client_id and client_secret to use the administrator's API key")
	}
	if j.ClientID == "" {
		problems = append(problems, setting+".client_id: required with client_secret (the service account's client id)")
	}
	if msg := checkRef(j.ClientSecretFrom); msg != "" {
		problems = append(problems, setting+".client_secret: "+msg)
	}
	if msg := checkBaseURL(setting+".token_url", j.TokenURL, insecure, fix); msg != "" {
		problems = append(problems, msg)
	}
	return problems
}

// envHasServiceAccount reports whether the environment names a service account.
func envHasServiceAccount(getenv func(string) string) bool {
	return getenv(EnvJumpCloudClientID) != "" || getenv(EnvJumpCloudClientSecret) != "" || getenv(EnvJumpCloudClientSecretFile) != ""
}

// credentialFromEnv sets j's credential from the environment: the API key
// (JUMPCLOUD_API_KEY or its file), or a service account (JUMPCLOUD_CLIENT_ID with
// JUMPCLOUD_CLIENT_SECRET or its file, and optionally JUMPCLOUD_TOKEN_URL).
func credentialFromEnv(getenv func(string) string, j JumpCloud, pol Policy, problems []string) (JumpCloud, []string) {
	key, keyFile := getenv(EnvJumpCloudAPIKey), getenv(EnvJumpCloudAPIKeyFile)
	if !envHasServiceAccount(getenv) {
		j.APIKeyFrom, problems = envRef(EnvJumpCloudAPIKey, key, EnvJumpCloudAPIKeyFile, keyFile, problems)
		return j, problems
	}
	if key != "" || keyFile != "" {
		problems = append(problems, fmt.Sprintf("both an API key (%s) and a service account (%s, %s) are set: unset %s to use the service account, or %s and %s to use the administrator's API key",
			EnvJumpCloudAPIKey, EnvJumpCloudClientID, EnvJumpCloudClientSecret, EnvJumpCloudAPIKey, EnvJumpCloudClientID, EnvJumpCloudClientSecret))
	}
	j.ClientID = getenv(EnvJumpCloudClientID)
	if j.ClientID == "" {
		problems = append(problems, fmt.Sprintf("%s is not set: a service account needs its client id with %s", EnvJumpCloudClientID, EnvJumpCloudClientSecret))
	}
	j.ClientSecretFrom, problems = envRef(EnvJumpCloudClientSecret, getenv(EnvJumpCloudClientSecret), EnvJumpCloudClientSecretFile, getenv(EnvJumpCloudClientSecretFile), problems)
	j.TokenURL = getenv(EnvJumpCloudTokenURL)
	if msg := checkBaseURL(EnvJumpCloudTokenURL, j.TokenURL, pol.InsecureHTTP, insecureFix); msg != "" {
		problems = append(problems, msg)
	}
	return j, problems
}

// resolveServiceAccount is Resolve for an integration with a service account: it reads the
// client secret and the Authomize token. Errors name the variable or file, never the value.
func resolveServiceAccount(in Integration, getenv func(string) string, readFile func(string) ([]byte, error)) (Integration, error) {
	if in.JumpCloud.APIKeyFrom != (SecretRef{}) {
		return Integration{}, fmt.Errorf("integration %q: both a JumpCloud API key and a service account are configured: remove one", in.Name)
	}
	if in.JumpCloud.ClientID == "" {
		return Integration{}, fmt.Errorf("integration %q: JumpCloud service account: no client id", in.Name)
	}
	secret, err := resolveRef(in.JumpCloud.ClientSecretFrom, getenv, readFile)
	if err != nil {
		return Integration{}, fmt.Errorf("integration %q: JumpCloud client secret: %w", in.Name, err)
	}
	tok, err := resolveRef(in.Authomize.TokenFrom, getenv, readFile)
	if err != nil {
		return Integration{}, fmt.Errorf("integration %q: Authomize token: %w", in.Name, err)
	}
	in.JumpCloud.ClientSecret, in.Authomize.Token = secret, tok
	return in, nil
}
