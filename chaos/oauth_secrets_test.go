package chaos

import (
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"jcsync/internal/config"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/testenv"
	"jcsync/workflows"
)

// The service account's fake secrets; the scans look for them everywhere.
const (
	saClientID    = "svc-chaos-0f1e2d3c4b5a"
	saSecret      = "jcs_CHAOS_secret_aabbccddeeff00112233"
	saWrongSecret = "jcs_CHAOS_wrong_99887766554433221100"
)

func init() { secrets = append(secrets, saSecret, saWrongSecret) }

// serviceAccountEnv is a worker's environment for a service account in place of the key.
func serviceAccountEnv(sims *testenv.Sims, secret string) []string {
	return []string{
		config.EnvJumpCloudClientID + "=" + saClientID,
		config.EnvJumpCloudClientSecret + "=" + secret,
		config.EnvJumpCloudTokenURL + "=" + sims.JCURL + jumpcloudsim.TokenPath,
	}
}

// TestNoServiceAccountSecretsAnywhere runs worker processes at debug level on a service
// account whose tokens expire every second, through a good sync (several token renewals), a
// sync with a wrong secret and a secret revoked mid-sync, and scans every log, /metrics page,
// error and history (decoded payloads included) for the client secret and for every access
// token the simulator issued.
func TestNoServiceAccountSecretsAnywhere(t *testing.T) {
	tc := devServer(t)
	saved := slices.Clone(secrets)
	t.Cleanup(func() { secrets = saved }) // registered first: runs after the scans
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 19, Users: 1200, Groups: 50, Admins: 5, Apps: 10})
	sims := testenv.StartSims(t, org)
	sims.JC.AddServiceAccount(saClientID, saSecret)
	sims.JC.SetTokenLifetime(time.Second)
	sims.JC.SetLatency(20 * time.Millisecond)
	good := sims.Integration("oauth-secrets", false)
	good.JumpCloud.APIKey = ""
	opts := procOptions{temporal: tc.Server.FrontendHostPort(), queue: "chaos-oauth-secrets", in: good, logFormat: "json", env: serviceAccountEnv(sims, saSecret)}
	w := startWorkerProc(t, opts)
	run := startSync(t, tc.Client, opts.queue, workflows.SyncInput{Integration: good.Name, HeartbeatTimeout: killHeartbeat})
	if _, err := waitSync(t, tc.Client, run, 2*time.Minute); err != nil {
		t.Fatalf("good sync: %v", err)
	}
	requireExact(t, sims, expected(sims))
	if st := sims.JC.TokenStats(); st.Issued < 2 {
		t.Fatalf("only %d tokens issued: the scan would not cover renewals", st.Issued)
	}
	metrics := w.scrapeMetrics(t)
	var texts = map[string]string{"metrics after a good sync": metrics}

	// A wrong secret: the sync fails at validation.
	bad := good
	bad.Name = good.Name + "-wrong-secret"
	bo := procOptions{temporal: opts.temporal, queue: opts.queue + "-wrong", in: bad, logFormat: "text", env: serviceAccountEnv(sims, saWrongSecret)}
	bw := startWorkerProc(t, bo)
	brun := startSync(t, tc.Client, bo.queue, workflows.SyncInput{Integration: bad.Name, HeartbeatTimeout: killHeartbeat})
	_, err := waitSync(t, tc.Client, brun, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("wrong secret: %v", err)
	}
	texts["error of the wrong-secret sync"] = err.Error()
	texts["metrics after the wrong-secret sync"] = bw.scrapeMetrics(t)
	bw.signal(syscall.SIGTERM)

	// The secret revoked mid-sync.
	run = startSync(t, tc.Client, opts.queue, workflows.SyncInput{Integration: good.Name, HeartbeatTimeout: killHeartbeat})
	// Revoked once the sync has made a few of its JumpCloud requests: its read is under way,
	// and far from done (the org takes about 90), however fast the pacer lets it go.
	before := sims.JC.Counts().Total
	deadline := time.Now().Add(time.Minute)
	for sims.JC.Counts().Total < before+15 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	sims.JC.RevokeSecret(saClientID)
	_, err = waitSync(t, tc.Client, run, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("revoked secret: %v", err)
	}
	texts["error of the revoked sync"] = err.Error()
	texts["metrics after the revoked sync"] = w.scrapeMetrics(t)
	w.signal(syscall.SIGTERM)

	// Every token issued is now a secret too, for these scans and for the log and history
	// scans of the cleanups.
	secrets = append(secrets, sims.JC.IssuedTokens()...)
	for where, text := range texts {
		scanText(t, where, text)
	}
	t.Logf("scanned for the client secret and %d issued tokens", len(secrets)-len(saved))
}
