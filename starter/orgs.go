package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"jcsync/activities"
	"jcsync/internal/config"
)

// OrgsResult is what `starter setup --list-orgs` found, for --output json.
type OrgsResult struct {
	Integration   string `json:"integration"`
	Credential    string `json:"credential"`
	Organizations []Org  `json:"organizations"`
}

// Org is one JumpCloud organization the credential can see.
type Org struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// listOrgs lists the organizations the integration's JumpCloud credential can see, so an
// operator of a multi-tenant account can pick JUMPCLOUD_ORG_ID. Nothing is created.
func listOrgs(ctx context.Context, acts *activities.Activities, integ config.Integration, output string, stdout, stderr io.Writer) int {
	orgs, err := activities.ListOrganizations(ctx, acts, integ)
	if err != nil {
		return fail(stderr, "setup", errors.New(failureMessage(err)))
	}
	res := OrgsResult{Integration: integ.Name, Credential: integ.JumpCloud.CredentialKind(), Organizations: []Org{}}
	for _, o := range orgs {
		res.Organizations = append(res.Organizations, Org{ID: o.ID, Name: o.DisplayName})
	}
	if output == "json" {
		return writeJSON(stdout, stderr, res)
	}
	fmt.Fprintf(stdout, "integration %s: the JumpCloud %s sees %d organization(s)\n", integ.Name, res.Credential, len(orgs))
	for _, o := range res.Organizations {
		mark := ""
		if o.ID == integ.JumpCloud.OrgID {
			mark = "  (configured)"
		}
		fmt.Fprintf(stdout, "  %s  %s%s\n", o.ID, o.Name, mark)
	}
	switch {
	case len(orgs) > 1 && integ.JumpCloud.OrgID == "":
		fmt.Fprintf(stdout, "next: set %s to the id of the organization to sync (or \"org_id\" in the integration's \"jumpcloud\" settings), then run `starter setup` again\n", config.EnvJumpCloudOrgID)
	case len(orgs) == 1 && integ.JumpCloud.OrgID == "":
		fmt.Fprintf(stdout, "one organization: %s is not needed\n", config.EnvJumpCloudOrgID)
	}
	return exitOK
}

// credentialAccepted is the JumpCloud line's start: which credential was accepted.
func credentialAccepted(kind string) string {
	if kind == "" {
		kind = "key" // a worker that does not report the kind
	}
	return "JumpCloud credential: " + kind + ": accepted"
}
