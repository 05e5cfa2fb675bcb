package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"go.temporal.io/sdk/temporal"

	"jcsync/internal/config"
	"jcsync/internal/jumpcloud"
)

// serviceAccounts holds one token source per integration that uses a JumpCloud service
// account: every stage of every sync of that integration on this worker shares its token,
// so a token is fetched once an hour, not once per activity.
type serviceAccounts struct {
	m sync.Map // integration|client id|token URL → *jumpcloud.ServiceAccount
}

// serviceAccount returns the integration's shared token source, or nil when it uses an API
// key. A mistake in its settings is a non-retryable configuration error.
func (a *Activities) serviceAccount(in config.Integration) (*jumpcloud.ServiceAccount, error) {
	j := in.JumpCloud
	if !j.UsesServiceAccount() {
		return nil, nil
	}
	if j.APIKey != "" {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"integration %q: both a JumpCloud API key and a service account are set: remove %s (api_key) to use the service account, or %s and %s (client_id, client_secret) to use the key",
			in.Name, config.EnvJumpCloudAPIKey, config.EnvJumpCloudClientID, config.EnvJumpCloudClientSecret), ErrTypeConfig, nil)
	}
	key := in.Name + "|" + j.ClientID + "|" + j.TokenURL + "|" + j.BaseURL
	if sa, ok := a.tokens.m.Load(key); ok {
		return sa.(*jumpcloud.ServiceAccount), nil
	}
	sa, err := jumpcloud.NewServiceAccount(jumpcloud.ServiceAccountOptions{
		ClientID: j.ClientID, ClientSecret: j.ClientSecret, TokenURL: j.TokenURL, BaseURL: j.BaseURL,
		HTTPClient: a.httpClient(),
	})
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("integration %q: JumpCloud service account: %v (check %s, %s and %s)", in.Name, err,
				config.EnvJumpCloudClientID, config.EnvJumpCloudClientSecret, config.EnvJumpCloudTokenURL), ErrTypeConfig, nil)
	}
	actual, _ := a.tokens.m.LoadOrStore(key, sa)
	return actual.(*jumpcloud.ServiceAccount), nil
}

// ServiceAccountStats returns the token counters of an integration's service account on a,
// and false when it has none there (yet). (A function, not a method: every exported method
// of Activities is registered as an activity.)
func ServiceAccountStats(a *Activities, integration string) (jumpcloud.ServiceAccountStats, bool) {
	var out jumpcloud.ServiceAccountStats
	found := false
	a.tokens.m.Range(func(k, v any) bool {
		if strings.HasPrefix(k.(string), integration+"|") {
			st := v.(*jumpcloud.ServiceAccount).Stats()
			out.Fetches += st.Fetches
			out.Rejected += st.Rejected
			found = true
		}
		return true
	})
	return out, found
}

// jumpCloudCredentialError is credentialError with the words of the integration's kind of
// credential: a service account's rejections name its settings, and a multi-tenant
// credential without an org id is told how to find one.
func jumpCloudCredentialError(integ config.Integration, err error) error {
	var ae *jumpcloud.APIError
	if errors.As(err, &ae) && ae.Status == 401 && strings.Contains(strings.ToLower(ae.Message), "no organization selected") {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"integration %q: the JumpCloud %s is multi-tenant and no organization is selected (%v): run `starter setup --list-orgs` to list the organizations it can see, then set %s (or jumpcloud.org_id)",
			integ.Name, integ.JumpCloud.CredentialKind(), err, config.EnvJumpCloudOrgID), ErrTypeCredentials, nil)
	}
	if !integ.JumpCloud.UsesServiceAccount() {
		return credentialError(integ.Name, err)
	}
	var msg string
	var te *jumpcloud.TokenError
	switch {
	case errors.As(err, &te) && te.Rejected() && te.Code == "invalid_client":
		msg = fmt.Sprintf("integration %q: JumpCloud refused the service account's credentials (%s): check that %s (%q) names an existing service account and that %s is its current secret (a secret expires, and an administrator may have revoked it), or the integration's client_id and client_secret",
			integ.Name, tokenCause(te), config.EnvJumpCloudClientID, integ.JumpCloud.ClientID, config.EnvJumpCloudClientSecret)
	case errors.As(err, &te) && te.Rejected():
		msg = fmt.Sprintf("integration %q: JumpCloud refused a token to the service account %q (%s): check %s and %s, and that the account may use the client-credentials grant with scope %q",
			integ.Name, integ.JumpCloud.ClientID, tokenCause(te), config.EnvJumpCloudClientID, config.EnvJumpCloudClientSecret, jumpcloud.TokenScope)
	case errors.Is(err, jumpcloud.ErrUnauthorized):
		msg = fmt.Sprintf("integration %q: JumpCloud rejected the service account's token (%v): check %s and %s; a multi-tenant account also needs %s",
			integ.Name, err, config.EnvJumpCloudClientID, config.EnvJumpCloudClientSecret, config.EnvJumpCloudOrgID)
	case errors.Is(err, jumpcloud.ErrForbidden):
		msg = fmt.Sprintf("integration %q: the JumpCloud service account %q may not read directory users (%v): give it the Read Only role (or a role with read access to users, groups and applications)",
			integ.Name, integ.JumpCloud.ClientID, err)
	default:
		return credentialError(integ.Name, err)
	}
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeCredentials, nil)
}

// tokenCause is the short form of a refused token request: status, OAuth error code and the
// endpoint's description (already scrubbed of the secret), and the token URL.
func tokenCause(te *jumpcloud.TokenError) string {
	s := fmt.Sprintf("%d %s", te.Status, te.Code)
	if te.Description != "" {
		s += ": " + te.Description
	}
	return s + ", from " + te.TokenURL
}

// ListOrganizations lists the JumpCloud organizations the integration's credential can see,
// for `starter setup --list-orgs`. The org id, if set, is not sent.
func ListOrganizations(ctx context.Context, a *Activities, integ config.Integration) ([]jumpcloud.Organization, error) {
	integ.JumpCloud.OrgID = ""
	jc, err := a.jumpCloud(integ)
	if err != nil {
		return nil, err
	}
	orgs, err := jc.Organizations(ctx)
	if err != nil {
		return nil, jumpCloudCredentialError(integ, err)
	}
	return orgs, nil
}
