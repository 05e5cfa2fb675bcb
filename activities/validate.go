package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"jcsync/internal/authomize"
	"jcsync/internal/jumpcloud"
)

// ValidateInput names the integration whose credentials to check.
type ValidateInput struct {
	Integration string `json:"integration"`
}

// ValidateResult is what the credential check found.
type ValidateResult struct {
	Integration string   `json:"integration"`
	Tenant      string   `json:"tenant,omitempty"`
	AppID       string   `json:"appId,omitempty"`
	AppName     string   `json:"appName,omitempty"`
	Warnings    []string `json:"warnings,omitempty"`
	// OwnerID is the Authomize uniqueId of the app owner's account, when it was found.
	OwnerID string `json:"ownerId,omitempty"`
}

// Validate checks the JumpCloud key (and org), the Authomize token and the app id with one
// cheap call each. A rejected credential is a non-retryable error whose message says which
// credential is wrong and what to check; nothing is uploaded or deleted.
func (a *Activities) Validate(ctx context.Context, in ValidateInput) (ValidateResult, error) {
	integ, err := a.integration(in.Integration)
	if err != nil {
		return ValidateResult{}, err
	}
	out := ValidateResult{Integration: in.Integration, AppID: integ.Authomize.AppID}
	jc, err := a.jumpCloud(integ)
	if err != nil {
		return out, err
	}
	if err := jc.Validate(ctx); err != nil {
		return out, credentialError(in.Integration, err)
	}
	az, err := a.authomize(integ)
	if err != nil {
		return out, err
	}
	me, err := az.Me(ctx)
	if err != nil {
		return out, credentialError(in.Integration, err)
	}
	out.Tenant = me.Tenant
	if integ.Authomize.AppID == "" {
		return out, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"integration %q: no Authomize app id configured: set AUTHOMIZE_APP_ID (or authomize.app_id), or run `starter setup` to create the app",
			in.Integration), ErrTypeConfig, nil)
	}
	app, err := az.App(ctx)
	if err != nil {
		return out, credentialError(in.Integration, err)
	}
	out.AppName = app.IntegrationName
	return out, nil
}

// credentialError says, in the operator's words, which credential failed.
func credentialError(integration string, err error) error {
	var msg string
	switch {
	case errors.Is(err, jumpcloud.ErrUnauthorized):
		msg = fmt.Sprintf("integration %q: JumpCloud rejected the API key (%v): check JUMPCLOUD_API_KEY (or the integration's api_key source); a multi-tenant key also needs JUMPCLOUD_ORG_ID", integration, err)
	case errors.Is(err, jumpcloud.ErrForbidden):
		msg = fmt.Sprintf("integration %q: the JumpCloud key may not read directory users (%v): use the key of an administrator with at least the Read Only role", integration, err)
	case errors.Is(err, jumpcloud.ErrNotFound):
		msg = fmt.Sprintf("integration %q: JumpCloud organization not found (%v): check JUMPCLOUD_ORG_ID", integration, err)
	case errors.Is(err, authomize.ErrUnauthorized), errors.Is(err, authomize.ErrForbidden):
		msg = fmt.Sprintf("integration %q: Authomize rejected the API token (%v): check AUTHOMIZE_TOKEN (or the integration's token source)", integration, err)
	case errors.Is(err, authomize.ErrAppNotFound):
		msg = fmt.Sprintf("integration %q: Authomize app not found (%v): check AUTHOMIZE_APP_ID, or run `starter setup` to create the app", integration, err)
	default:
		return classify(err)
	}
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeCredentials, nil)
}
