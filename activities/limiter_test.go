package activities

import (
	"testing"

	"jcsync/internal/config"
)

// Every stage of an integration shares one limiter (their sum stays under the org's rate);
// separate integrations have their own, so one busy org never slows another.
func TestLimiterIsPerIntegration(t *testing.T) {
	a := &Activities{DefaultRPS: 50}
	acme := config.Integration{Name: "acme", JumpCloud: config.JumpCloud{BaseURL: "https://console.jumpcloud.com"}}
	other := config.Integration{Name: "other", JumpCloud: config.JumpCloud{BaseURL: "https://console.jumpcloud.com", RPS: 5}}
	first, second := a.limiter(acme), a.limiter(acme)
	if first != second {
		t.Fatal("two stages of one integration got different limiters")
	}
	if a.limiter(acme) == a.limiter(other) {
		t.Fatal("two integrations share a limiter")
	}
	if got := float64(a.limiter(acme).Limit()); got != 50 {
		t.Fatalf("default rate %v, want 50", got)
	}
	if got := float64(a.limiter(other).Limit()); got != 5 {
		t.Fatalf("integration rate %v, want 5", got)
	}
	if a.limiter(acme).Burst() != 1 {
		t.Fatal("requests must be spaced evenly (burst 1)")
	}
}
