package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"jcsync/internal/authomize"
	"jcsync/internal/config"
	"jcsync/internal/jumpcloud"
	"jcsync/internal/searchattrs"
	"jcsync/internal/transform"
)

// ValidateInput names the integration whose credentials to check.
type ValidateInput struct {
	Integration string `json:"integration"`
	// Insights also checks that the credential may read Directory Insights, which the
	// change watcher needs (a warning when not). `starter validate` asks for it; a sync's
	// own check does not, as it costs a JumpCloud request the sync does not need.
	Insights bool `json:"insights,omitempty"`
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
	// AdminRoles are the roles of the administrator whose key is used, when it is named.
	AdminRoles []string `json:"adminRoles,omitempty"`
	// Credential is the kind of JumpCloud credential checked (config.JumpCloud.CredentialKind).
	Credential string `json:"credential,omitempty"`
	// OrgID is the JumpCloud organization the credential reads: the configured org id of a
	// multi-tenant credential, else the org JumpCloud names on its users. No secret: the
	// sync's summary in the Web UI shows it.
	OrgID string `json:"orgId,omitempty"`
	// RateCeiling is the JumpCloud request rate configured for the org (requests per second;
	// zero: the worker's built-in default).
	RateCeiling float64 `json:"rateCeiling,omitempty"`
}

// Validate checks the JumpCloud key (and org), the Authomize token and the app id with one
// cheap call each. A rejected credential is a non-retryable error whose message says which
// credential is wrong and what to check; nothing is uploaded or deleted.
//
// It first checks that the namespace holds the connector's search attributes: a sync runs it
// before it upserts any, so a sync started without them (from the Web UI, say) fails at once
// with what to run, instead of failing its workflow tasks for ever.
func (a *Activities) Validate(ctx context.Context, in ValidateInput) (ValidateResult, error) {
	defer stayAlive(ctx)()
	if err := a.checkSearchAttributes(ctx); err != nil {
		return ValidateResult{Integration: in.Integration}, err
	}
	integ, err := a.integration(in.Integration)
	if err != nil {
		return ValidateResult{}, err
	}
	out, err := Check(ctx, a, integ, true)
	if err == nil && in.Insights {
		if w := InsightsWarning(ctx, a, integ); w != "" {
			out.Warnings = append(out.Warnings, w)
		}
	}
	return out, err
}

// checkSearchAttributes fails non-retryably (ErrTypeSearchAttributes) when the workflow's
// namespace lacks the connector's search attributes. When they cannot be listed (no rights
// to, say) the sync goes on: the worker checked them at start.
func (a *Activities) checkSearchAttributes(ctx context.Context) error {
	if a.Temporal == nil {
		return nil
	}
	srv := searchattrs.Server{Address: a.TemporalAddress, Namespace: activity.GetInfo(ctx).Namespace}
	err := searchattrs.Check(ctx, a.Temporal.OperatorService(), srv)
	var missing *searchattrs.MissingError
	switch {
	case errors.As(err, &missing):
		return temporal.NewNonRetryableApplicationError(missing.Error(), ErrTypeSearchAttributes, nil)
	case err != nil:
		a.logger(ctx).WithError(err).Warn("could not check the namespace's search attributes; going on")
	}
	return nil
}

// Check runs the credential checks of Validate on an integration the caller resolved itself
// (`starter setup` does, before the app exists: requireApp false skips the app check).
func Check(ctx context.Context, a *Activities, integ config.Integration, requireApp bool) (ValidateResult, error) {
	out := ValidateResult{Integration: integ.Name, AppID: integ.Authomize.AppID, OrgID: integ.JumpCloud.OrgID}
	out.Credential = integ.JumpCloud.CredentialKind()
	if out.RateCeiling = integ.JumpCloud.RPS; out.RateCeiling <= 0 {
		out.RateCeiling = a.DefaultRPS
	}
	jc, err := a.jumpCloud(integ)
	if err != nil {
		return out, err
	}
	org, err := jc.ValidateOrg(ctx)
	if err != nil {
		return out, jumpCloudCredentialError(integ, err)
	}
	if out.OrgID == "" {
		out.OrgID = org
	}
	az, err := a.authomize(integ)
	if err != nil {
		return out, err
	}
	me, err := az.Me(ctx)
	if err != nil {
		return out, credentialError(integ.Name, err)
	}
	out.Tenant = me.Tenant
	switch {
	case integ.Authomize.AppID != "":
		app, err := az.App(ctx)
		if err != nil {
			return out, credentialError(integ.Name, err)
		}
		out.AppName = app.IntegrationName
	case requireApp:
		return out, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"integration %q: no Authomize app id configured: set AUTHOMIZE_APP_ID (or authomize.app_id), or run `starter setup` to create the app",
			integ.Name), ErrTypeConfig, nil)
	}
	admins := &adminList{jc: jc}
	if err := checkAdmin(ctx, integ, admins, &out); err != nil {
		return out, err
	}
	if err := resolveOwner(ctx, integ, jc, admins, &out); err != nil {
		return out, err
	}
	return out, nil
}

// checkAdmin follows the vendor's least-privilege advice: the key should belong to a
// dedicated administrator with the Read Only role. A named admin that does not exist, or is
// suspended, is an error; one with more rights than Read Only is allowed with a warning.
// Warnings name the role, not the person: they end up in the workflow history.
func checkAdmin(ctx context.Context, integ config.Integration, adminsOf *adminList, out *ValidateResult) error {
	email := strings.TrimSpace(integ.JumpCloud.AdminEmail)
	if integ.JumpCloud.UsesServiceAccount() && email == "" {
		return nil // a service account is no administrator; its role is the console's to show
	}
	if email == "" {
		out.Warnings = append(out.Warnings, "JUMPCLOUD_ADMIN_EMAIL (jumpcloud.admin_email) is not set: the check that the key belongs to a Read Only administrator was skipped")
		return nil
	}
	admins, err := adminsOf.get(ctx)
	if err != nil {
		if errors.Is(err, jumpcloud.ErrForbidden) {
			out.Warnings = append(out.Warnings, "the key may not list JumpCloud administrators, so its administrator's role could not be checked")
			return nil
		}
		return classify(fmt.Errorf("list JumpCloud administrators: %w", err))
	}
	var admin *jumpcloud.Admin
	for i := range admins {
		if strings.EqualFold(admins[i].Email, email) {
			admin = &admins[i]
			break
		}
	}
	if admin == nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"integration %q: JumpCloud administrator %q not found among the org's %d administrators: check JUMPCLOUD_ADMIN_EMAIL (the read-only administrator whose API key is used)",
			integ.Name, email, len(admins)), ErrTypeConfig, nil)
	}
	if admin.Suspended {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"integration %q: JumpCloud administrator %q is suspended: reactivate it or use another read-only administrator's key", integ.Name, email),
			ErrTypeConfig, nil)
	}
	out.AdminRoles = adminRoles(*admin)
	if len(out.AdminRoles) == 1 && strings.EqualFold(out.AdminRoles[0], jumpcloud.RoleReadOnly) {
		return nil
	}
	roles := "no role"
	if len(out.AdminRoles) > 0 {
		roles = fmt.Sprintf("the role %q", strings.Join(out.AdminRoles, `", "`))
	}
	out.Warnings = append(out.Warnings, fmt.Sprintf(
		"the JumpCloud administrator whose key is used holds %s, not Read Only: the key could change the directory. The setup guide advises a dedicated Read Only administrator", roles))
	return nil
}

// adminRoles is the union of roleName and roleNames, compared case-insensitively.
func adminRoles(a jumpcloud.Admin) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range append([]string{a.RoleName}, a.RoleNames...) {
		r = strings.TrimSpace(r)
		if r == "" || seen[strings.ToLower(r)] {
			continue
		}
		seen[strings.ToLower(r)] = true
		out = append(out, r)
	}
	return out
}

// resolveOwner finds the account of the app owner (AUTHOMIZE_OWNER_EMAIL): a directory user
// first (the person), else a console administrator. No match is a note, not a failure.
func resolveOwner(ctx context.Context, integ config.Integration, jc *jumpcloud.Client, adminsOf *adminList, out *ValidateResult) error {
	email := strings.TrimSpace(integ.Authomize.OwnerEmail)
	if email == "" {
		return nil
	}
	candidates := []string{email}
	if lower := strings.ToLower(email); lower != email {
		candidates = append(candidates, lower)
	}
	for _, e := range candidates {
		users, err := jc.SystemUsersByEmail(ctx, e)
		if err != nil {
			return classify(fmt.Errorf("look up the app owner among JumpCloud users: %w", err))
		}
		if len(users) > 0 && users[0].ID != "" {
			out.OwnerID = transform.UserAccountID(users[0].ID)
			return nil
		}
	}
	admins, err := adminsOf.get(ctx)
	if err == nil {
		for _, a := range admins {
			if strings.EqualFold(a.Email, email) && a.ID != "" {
				out.OwnerID = transform.AdminAccountID(a.ID)
				return nil
			}
		}
	}
	out.Warnings = append(out.Warnings, "the app owner (AUTHOMIZE_OWNER_EMAIL) matches no JumpCloud user or administrator: assets and groupings are uploaded without an owner")
	return nil
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

// adminList reads the console administrators at most once per check: the least-privilege
// check and the owner lookup both need them.
type adminList struct {
	jc     *jumpcloud.Client
	done   bool
	admins []jumpcloud.Admin
	err    error
}

func (l *adminList) get(ctx context.Context) ([]jumpcloud.Admin, error) {
	if !l.done {
		l.admins, l.err = l.jc.AllAdmins(ctx)
		l.done = true
	}
	return l.admins, l.err
}
