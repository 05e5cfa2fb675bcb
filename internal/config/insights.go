package config

// The Directory Insights host of an integration: where the connector reads JumpCloud's
// directory change events. Unset, it follows the console host (see InsightsBaseURL).

import "jcsync/internal/jumpcloud"

// EnvJumpCloudInsightsBaseURL overrides the Directory Insights host of the integration
// configured by environment.
const EnvJumpCloudInsightsBaseURL = "JUMPCLOUD_INSIGHTS_BASE_URL"

func init() {
	EnvVars = append(EnvVars, EnvJumpCloudInsightsBaseURL)
	envSettings["jumpcloud.insights_base_url"] = EnvJumpCloudInsightsBaseURL
}

// EffectiveInsightsBaseURL is the Directory Insights host the client will use: the
// configured one, else https://api.jumpcloud.com for the US console (the default),
// https://api.eu.jumpcloud.com for the EU console (UNCONFIRMED by JumpCloud), or the base
// URL itself for any other host (a proxy or a simulator serving both).
func (j JumpCloud) EffectiveInsightsBaseURL() string {
	return jumpcloud.InsightsBaseURLFor(j.InsightsBaseURL, j.BaseURL)
}
