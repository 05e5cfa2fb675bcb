// Package config describes integrations (one JumpCloud org synced into one Authomize app)
// and resolves their secrets from environment variables or files at the worker. Secrets are
// never part of workflow input: workflows name an integration, the worker looks it up here.
package config

import (
	"errors"
	"fmt"
	"sort"
)

// Integration is everything the worker needs to sync one JumpCloud org into one Authomize app.
type Integration struct {
	Name      string    `json:"name"`
	JumpCloud JumpCloud `json:"jumpcloud"`
	Authomize Authomize `json:"authomize"`
	// Identities also uploads every directory user as an Authomize identity: turn it on where
	// JumpCloud is the organisation's source of truth for people.
	Identities bool `json:"identities,omitempty"`
	// InsecureHTTP accepts http:// base URLs to any host for this integration alone: for a
	// simulator reached by a service name. Without it (or the process's Policy), base URLs
	// must be https unless they point at a loopback host.
	InsecureHTTP bool `json:"insecure_http,omitempty"`
	// Watch is how the integration's change watcher runs (config/watch.go).
	Watch Watch `json:"watch,omitzero"`

	// File and Index say where the integration was configured: the config file and its place
	// in the file's list, or no file for the environment. Errors use them to name the
	// setting to fix (see Setting).
	File  string `json:"-"`
	Index int    `json:"-"`
}

// envSettings are the environment variables that hold the fields of an integration
// described by the environment.
var envSettings = map[string]string{
	"jumpcloud.base_url":  EnvJumpCloudBaseURL,
	"jumpcloud.org_id":    EnvJumpCloudOrgID,
	"jumpcloud.token_url": EnvJumpCloudTokenURL,
	"authomize.base_url":  EnvAuthomizeBaseURL,
	"authomize.app_id":    EnvAuthomizeAppID,
	"watch.poll_interval": EnvWatchPollInterval,
	"watch.sync_interval": EnvWatchSyncInterval,
}

// Setting names where field (a path such as "jumpcloud.base_url") of the integration is set:
// its environment variable, or its path in the config file, so that an error can say what to
// fix in the operator's own terms.
func (in Integration) Setting(field string) string {
	if in.File == "" {
		if env, ok := envSettings[field]; ok {
			return env
		}
		return field
	}
	return fmt.Sprintf("integrations[%d].%s in %s", in.Index, field, in.File)
}

// JumpCloud is the JumpCloud side of an integration.
type JumpCloud struct {
	BaseURL string `json:"base_url,omitempty"`
	OrgID   string `json:"org_id,omitempty"`
	// AdminEmail is the read-only administrator whose API key is used.
	AdminEmail string `json:"admin_email,omitempty"`
	// APIKey is resolved from APIKeyFrom; it is never read from the config file itself.
	APIKey     string    `json:"-"`
	APIKeyFrom SecretRef `json:"api_key"`
	// RPS is the ceiling of this org's request rate: its pacer finds the rate below it from
	// JumpCloud's 429s. 0 takes the worker's ceiling (--jumpcloud-max-rps), if any.
	RPS float64 `json:"rps,omitempty"`

	// ClientID and ClientSecretFrom name a JumpCloud service account, in place of the API key
	// (serviceaccount.go). ClientSecret is resolved from ClientSecretFrom, never read from the
	// file itself. TokenURL overrides the token endpoint, which otherwise follows the region.
	ClientID         string    `json:"client_id,omitempty"`
	ClientSecret     string    `json:"-"`
	ClientSecretFrom SecretRef `json:"client_secret"`
	TokenURL         string    `json:"token_url,omitempty"`

	// InsightsBaseURL is the Directory Insights host (its events route). Empty: derived
	// from BaseURL (EffectiveInsightsBaseURL).
	InsightsBaseURL string `json:"insights_base_url,omitempty"`
}

// Authomize is the Authomize side of an integration.
type Authomize struct {
	BaseURL string `json:"base_url,omitempty"`
	AppID   string `json:"app_id,omitempty"`
	// Token is resolved from TokenFrom; it is never read from the config file itself.
	Token     string    `json:"-"`
	TokenFrom SecretRef `json:"token"`
	// IntegrationName names the Authomize app.
	IntegrationName string `json:"integration_name,omitempty"`
	// OwnerEmail is the app owner: the resource owner for access reviews and incidents.
	OwnerEmail string `json:"owner_email,omitempty"`
}

// SecretRef says where a secret lives: an environment variable or a file.
type SecretRef struct {
	Env  string `json:"env,omitempty"`
	File string `json:"file,omitempty"`
}

// Integrations is the set of integrations a worker serves, by name.
type Integrations map[string]Integration

// ErrUnknownIntegration is returned for a name the worker has no configuration for.
var ErrUnknownIntegration = errors.New("unknown integration")

// Get returns the named integration.
func (s Integrations) Get(name string) (Integration, error) {
	in, ok := s[name]
	if !ok {
		return Integration{}, fmt.Errorf("%w %q: this worker knows %v", ErrUnknownIntegration, name, s.Names())
	}
	return in, nil
}

// Names lists the integration names, sorted.
func (s Integrations) Names() []string {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
