package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"jcsync/activities"
	"jcsync/internal/authomize"
	"jcsync/internal/config"
	"jcsync/internal/logging"
	"jcsync/internal/transform"
)

const setupExamples = `  # one integration from the environment (JUMPCLOUD_API_KEY, JUMPCLOUD_ADMIN_EMAIL,
  # AUTHOMIZE_TOKEN, AUTHOMIZE_INTEGRATION_NAME, AUTHOMIZE_OWNER_EMAIL, ...)
  starter setup
  # one integration of a config file
  starter setup --config integrations.json --integration acme
  # a multi-tenant credential: list the organizations it sees, to pick JUMPCLOUD_ORG_ID
  starter setup --list-orgs
`

// setupResult is what `starter setup` did, for --output json.
type setupResult struct {
	Integration string                    `json:"integration"`
	AppID       string                    `json:"appId"`
	AppName     string                    `json:"appName"`
	Action      string                    `json:"action"` // created, found, renamed, unchanged
	Check       activities.ValidateResult `json:"check"`
}

// cmdSetup follows the vendor's setup guide: it checks the read-only administrator's key,
// the Authomize token and the owner, then creates the Authomize app under the integration's
// name (or finds it, or renames the configured one), and prints the app id to configure. It
// runs here rather than on a worker because the app does not exist yet: it reads the same
// secrets the worker would, from the environment or the config file's secret references.
// Running it again creates nothing new.
func cmdSetup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c common
	var file string
	var timeout time.Duration
	var orgs, insecure bool
	fs := newFlags("setup", "Checks an integration's JumpCloud and Authomize credentials and creates (or names) its Authomize\napp. Idempotent: a second run finds the app it created.", setupExamples, &c, stderr)
	addIntegration(fs, &c)
	addOutput(fs, &c)
	fs.StringVar(&file, "config", getenv(config.EnvConfigFile), "JSON file of integrations (env "+config.EnvConfigFile+")")
	fs.DurationVar(&timeout, "timeout", 2*time.Minute, "give up after this long")
	fs.BoolVar(&insecure, "insecure-http", false, "accept http:// JumpCloud and Authomize base URLs to hosts beyond loopback, as the worker's flag does: for simulators reached by name, never for real accounts (env "+config.EnvInsecureHTTP+")")
	fs.BoolVar(&orgs, "list-orgs", false, "only list the JumpCloud organizations the credential can see (ids and names), to choose JUMPCLOUD_ORG_ID")
	if code, done := parse(fs, args, &c, stderr); done {
		return code
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	env := getenv
	if insecure {
		env = func(k string) string {
			if k == config.EnvInsecureHTTP {
				return "true"
			}
			return getenv(k)
		}
	}
	ins, err := config.Gather(file, env, os.ReadFile)
	if err != nil {
		return fail(stderr, "setup", err)
	}
	integ, err := ins.Get(c.integration)
	if err != nil {
		return fail(stderr, "setup", err)
	}
	log, err := logging.New(c.log, stderr)
	if err != nil {
		return fail(stderr, "setup", err)
	}
	acts := &activities.Activities{Integrations: ins, Log: log}
	if orgs {
		return listOrgs(ctx, acts, integ, c.output, stdout, stderr)
	}
	check, err := activities.Check(ctx, acts, integ, false)
	if err != nil {
		return fail(stderr, "setup", errors.New(failureMessage(err)))
	}
	if w := activities.InsightsWarning(ctx, acts, integ); w != "" {
		check.Warnings = append(check.Warnings, w)
	}
	res, err := ensureApp(ctx, integ, ins, check.OrgID)
	if err != nil {
		return fail(stderr, "setup", err)
	}
	res.Check = check
	if res.AppID != integ.Authomize.AppID {
		res.Check.AppID = res.AppID
	}
	if c.output == "json" {
		return writeJSON(stdout, stderr, res)
	}
	printSetup(stdout, integ, res)
	return exitOK
}

// appName is the name the Authomize app carries: the integration name of the guide's step 2.
func appName(integ config.Integration) string {
	if n := strings.TrimSpace(integ.Authomize.IntegrationName); n != "" {
		return n
	}
	return integ.Name
}

// ensureApp makes sure the integration's Authomize app exists under its name. With an app id
// configured, the app is checked and renamed if its name differs; without one, an app of that
// name is looked up first (so a second run does not create a second app), then created. An
// app that another integration of ins already uses is refused, never adopted or renamed: the
// sweep is app-wide, so two integrations on one app would delete each other's records. So is
// an app whose baseline record names another JumpCloud org than org, found or configured:
// another deployment's integration syncs into it.
func ensureApp(ctx context.Context, integ config.Integration, ins config.Integrations, org string) (setupResult, error) {
	shared := func(id string) error {
		app := integ.Authomize
		app.AppID = id
		other := ins.AppUsedBy(app, integ.Name)
		if other == "" {
			return nil
		}
		return fmt.Errorf("the Authomize app %s (named %q) is already integration %q's: the sweep deletes every record of the app that its own sync did not write, "+
			"so the two integrations would delete each other's records. Give %s's app another name (\"integration_name\" in its \"authomize\" settings; %s for an integration from the environment) and run setup again: it then creates an app of its own",
			id, appName(integ), other, integ.Name, config.EnvIntegrationName)
	}
	name := appName(integ)
	res := setupResult{Integration: integ.Name, AppName: name}
	az, err := authomize.New(authomize.Options{BaseURL: integ.Authomize.BaseURL, Token: integ.Authomize.Token, AppID: integ.Authomize.AppID})
	if err != nil {
		return res, fmt.Errorf("the Authomize client: %w", err)
	}
	if id := integ.Authomize.AppID; id != "" {
		// The configuration refuses a shared app id already; checked again here because a
		// rename would change the other integration's app.
		if err := shared(id); err != nil {
			return res, err
		}
		app, err := az.App(ctx)
		if err != nil {
			return res, fmt.Errorf("the Authomize app %s: %w", id, err)
		}
		if err := sameOrg(ctx, integ, app, org); err != nil {
			return res, err
		}
		res.AppID, res.Action = app.ID, "unchanged"
		if app.IntegrationName != name {
			if _, err := az.RenameApp(ctx, name); err != nil {
				return res, fmt.Errorf("rename Authomize app %s to %q: %w", id, name, err)
			}
			res.Action = "renamed"
		}
		return res, nil
	}
	apps, err := az.ListApps(ctx)
	if err != nil {
		return res, fmt.Errorf("list Authomize apps: %w", err)
	}
	for _, app := range apps {
		if app.IntegrationName == name {
			if err := shared(app.ID); err != nil {
				return res, err
			}
			if err := sameOrg(ctx, integ, app, org); err != nil {
				return res, err
			}
			res.AppID, res.Action = app.ID, "found"
			return res, nil
		}
	}
	app, err := az.CreateApp(ctx, name)
	if err != nil {
		return res, fmt.Errorf("create Authomize app %q: %w", name, err)
	}
	res.AppID, res.Action = app.ID, "created"
	return res, nil
}

// sameOrg refuses an app whose baseline record names another JumpCloud org than org. An
// app without a record, or with a record of an earlier version (no org), is adopted.
func sameOrg(ctx context.Context, integ config.Integration, app authomize.App, org string) error {
	az, err := authomize.New(authomize.Options{BaseURL: integ.Authomize.BaseURL, Token: integ.Authomize.Token, AppID: app.ID})
	if err != nil {
		return fmt.Errorf("the Authomize client: %w", err)
	}
	asset, found, err := az.FindAsset(ctx, transform.BaselineAssetID)
	if err != nil {
		return fmt.Errorf("read the baseline record of the Authomize app %s: %w", app.ID, err)
	}
	if !found {
		return nil
	}
	b, err := transform.ParseBaseline(asset)
	if err != nil || b.OrgID == "" || org == "" || b.OrgID == org {
		return nil // an unreadable record is the sync's to judge; it refuses a blind sweep
	}
	return fmt.Errorf("the Authomize app %q (id %s) already holds the data of JumpCloud org %s (integration %q), and integration %s reads org %s: "+
		"two orgs in one app would delete each other's records. Give this integration an app of its own: set another name "+
		"(AUTHOMIZE_INTEGRATION_NAME, or the config file's authomize.integration_name) and run setup again, or configure another app id",
		app.IntegrationName, app.ID, b.OrgID, b.Integration, integ.Name, org)
}

func printSetup(w io.Writer, integ config.Integration, r setupResult) {
	fmt.Fprintf(w, "integration %s: setup OK\n", integ.Name)
	fmt.Fprintf(w, "  %s", credentialAccepted(r.Check.Credential))
	if len(r.Check.AdminRoles) > 0 {
		fmt.Fprintf(w, "; administrator %s holds %s", integ.JumpCloud.AdminEmail, strings.Join(r.Check.AdminRoles, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  Authomize: token accepted")
	if r.Check.Tenant != "" {
		fmt.Fprintf(w, " (tenant %s)", r.Check.Tenant)
	}
	fmt.Fprintln(w)
	switch r.Action {
	case "created":
		fmt.Fprintf(w, "  Authomize app %q created: id %s\n", r.AppName, r.AppID)
	case "found":
		fmt.Fprintf(w, "  Authomize app %q already exists: id %s (nothing created)\n", r.AppName, r.AppID)
	case "renamed":
		fmt.Fprintf(w, "  Authomize app %s renamed to %q\n", r.AppID, r.AppName)
	default:
		fmt.Fprintf(w, "  Authomize app %s is named %q already\n", r.AppID, r.AppName)
	}
	switch {
	case r.Check.OwnerID != "":
		fmt.Fprintf(w, "  owner: %s is JumpCloud account %s: assets and groupings will name it as their owner\n", integ.Authomize.OwnerEmail, r.Check.OwnerID)
	case integ.Authomize.OwnerEmail == "":
		fmt.Fprintln(w, "  owner: none set (AUTHOMIZE_OWNER_EMAIL): assets and groupings will have no owner")
	}
	for _, warn := range r.Check.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
	if integ.Authomize.AppID != r.AppID {
		fmt.Fprintf(w, "next: set AUTHOMIZE_APP_ID=%s (or \"app_id\" in the integration's \"authomize\" settings) for the worker, then run `starter validate --integration %s`\n", r.AppID, integ.Name)
	}
}
