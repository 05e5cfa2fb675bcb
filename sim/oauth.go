package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"jcsync/internal/sim/jumpcloudsim"
)

// The demo's fake service account, when --client-id is given without --client-secret.
const demoClientSecret = "demo-jumpcloud-client-secret"

// oauthOptions register a service account in the JumpCloud simulator and list organizations
// as a multi-tenant account sees them.
type oauthOptions struct {
	clientID, clientSecret string
	tokenLifetime          time.Duration
	orgs                   int
}

func (o *oauthOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.clientID, "client-id", os.Getenv("SIM_JUMPCLOUD_CLIENT_ID"), "register a JumpCloud service account with this client id (env SIM_JUMPCLOUD_CLIENT_ID); its token endpoint is "+jumpcloudsim.TokenPath)
	fs.StringVar(&o.clientSecret, "client-secret", os.Getenv("SIM_JUMPCLOUD_CLIENT_SECRET"), "the service account's secret (env SIM_JUMPCLOUD_CLIENT_SECRET; default "+demoClientSecret+")")
	fs.DurationVar(&o.tokenLifetime, "token-lifetime", jumpcloudsim.DefaultTokenLifetime, "lifetime of the access tokens the simulator issues")
	fs.IntVar(&o.orgs, "orgs", 0, "organizations GET /api/organizations lists; more than one makes the credentials multi-tenant (x-org-id required)")
}

// apply configures jc.
func (o *oauthOptions) apply(jc *jumpcloudsim.Server, orgID string) error {
	if o.tokenLifetime <= 0 || o.orgs < 0 {
		return fmt.Errorf("--token-lifetime must be positive and --orgs not negative")
	}
	jc.SetTokenLifetime(o.tokenLifetime)
	if o.orgs > 0 {
		orgs := []jumpcloudsim.Organization{{ID: orgID, DisplayName: "Demo org"}}
		for i := 1; i < o.orgs; i++ {
			orgs = append(orgs, jumpcloudsim.Organization{ID: fmt.Sprintf("%s%06x", orgID[:18], i), DisplayName: fmt.Sprintf("Demo client org %d", i)})
		}
		jc.SetOrganizations(orgs)
		jc.SetMultiTenant(o.orgs > 1)
	}
	if o.clientID == "" {
		return nil
	}
	if o.clientSecret == "" {
		o.clientSecret = demoClientSecret
	}
	jc.AddServiceAccount(o.clientID, o.clientSecret)
	return nil
}

// print says what a connector needs to use the service account, if one is registered.
func (o *oauthOptions) print(stdout io.Writer, jcAddr string) {
	if o.clientID == "" {
		return
	}
	fmt.Fprintf(stdout, "demo service account (fake, simulator only): JUMPCLOUD_CLIENT_ID=%s JUMPCLOUD_CLIENT_SECRET=%s JUMPCLOUD_TOKEN_URL=http://%s%s (tokens live %s)\n",
		o.clientID, o.clientSecret, jcAddr, jumpcloudsim.TokenPath, o.tokenLifetime)
}
