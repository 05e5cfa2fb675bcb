// Command sim serves the JumpCloud and Authomize simulators on two ports, with a generated
// demo org, for the demo, the benchmark and docker-compose's demo profile. Its credentials
// are fixed, fake and printed: they only open these simulators.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"jcsync/internal/sim/authomizesim"
	"jcsync/internal/sim/control"
	"jcsync/internal/sim/jumpcloudsim"
)

// The demo's fake credentials. They are not secrets: they exist only in the simulators.
const (
	demoJumpCloudKey  = "demo-jumpcloud-api-key"
	demoAuthomizeKey  = "demo-authomize-token"
	demoAuthomizeApp  = "demo-jumpcloud-app"
	defaultUsers      = 2000
	readHeaderTimeout = 10 * time.Second
	// defaultInsightsLag is a realistic ingestion delay of Directory Insights (JumpCloud
	// does not document it; seconds are typical), so the demo shows the watcher's lag.
	defaultInsightsLag = 5 * time.Second
)

type options struct {
	jcAddr, azAddr, controlAddr string
	users, groups, admins, apps int
	maxGroupSize, avgGroupSize  int
	userBindings, groupBindings int
	seed                        int64
	latency, authomizeLatency   time.Duration
	insightsLag                 time.Duration
	rateLimit                   float64
	rateBurst                   int
	noRetryAfter, identities    bool
	apiKey, token, appID        string
	oauth                       oauthOptions
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := pflag.NewFlagSet("sim", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: sim [flags]\n\nServes the JumpCloud and Authomize simulators with a generated org.\n\nFlags:\n%s", fs.FlagUsages())
	}
	fs.StringVar(&o.jcAddr, "jumpcloud-address", ":8081", "listen address of the JumpCloud simulator")
	fs.StringVar(&o.azAddr, "authomize-address", ":8082", "listen address of the Authomize simulator")
	// The generated org's sizes.
	for _, f := range []struct {
		p     *int
		name  string
		def   int
		usage string
	}{
		{&o.users, "users", defaultUsers, "directory users in the generated org"},
		{&o.groups, "groups", 60, "user groups"},
		{&o.admins, "admins", 5, "console administrators"},
		{&o.apps, "apps", 25, "SSO applications"},
		{&o.maxGroupSize, "max-group-size", 0, "largest group (0: the generator's default)"},
		{&o.avgGroupSize, "avg-group-size", 0, "average group size (0: the generator's default)"},
		{&o.userBindings, "user-bindings", 10, "average users bound directly to each app"},
		{&o.groupBindings, "group-bindings", 2, "average groups bound to each app"},
	} {
		fs.IntVar(f.p, f.name, f.def, f.usage)
	}
	fs.Int64Var(&o.seed, "seed", 1, "generator seed: the same seed gives the same org")
	fs.DurationVar(&o.latency, "latency", 0, "added latency of every JumpCloud request")
	fs.DurationVar(&o.authomizeLatency, "authomize-latency", 0, "added latency of every Authomize request")
	fs.DurationVar(&o.insightsLag, "insights-lag", defaultInsightsLag, "Directory Insights ingestion lag: an event is served this long after its change")
	fs.Float64Var(&o.rateLimit, "rate-limit", 0, "JumpCloud requests per second before 429s (0: unlimited)")
	fs.IntVar(&o.rateBurst, "rate-burst", 0, "requests JumpCloud accepts above the rate in a burst (0: a tenth of --rate-limit)")
	fs.BoolVar(&o.noRetryAfter, "no-retry-after", false, "answer 429 without a Retry-After header")
	fs.StringVar(&o.controlAddr, "control-address", "", "listen address of the admin endpoint (/counts, /verify, /reset, /churn/start, /churn/stop, /window/begin, /window/check, /change, /insights); empty: off")
	fs.BoolVar(&o.identities, "identities", false, "whether the connector under test uploads identities (for /verify)")
	fs.StringVar(&o.apiKey, "api-key", demoJumpCloudKey, "the one JumpCloud API key the simulator accepts")
	fs.StringVar(&o.token, "token", demoAuthomizeKey, "the one Authomize token the simulator accepts")
	fs.StringVar(&o.appID, "app-id", demoAuthomizeApp, "the Authomize app that exists")
	o.oauth.addFlags(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.users < 0 || o.groups < 0 || o.admins < 0 || o.apps < 0 || o.latency < 0 || o.authomizeLatency < 0 || o.insightsLag < 0 || o.rateLimit < 0 || o.rateBurst < 0 {
		return o, errors.New("sizes, latencies and rates must not be negative")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "sim: %v\n", err)
		return 2
	}
	org := jumpcloudsim.Generate(jumpcloudsim.GenConfig{
		Seed: o.seed, Users: o.users, Groups: o.groups, Admins: o.admins, Apps: o.apps,
		MaxGroupSize: o.maxGroupSize, AvgGroupSize: o.avgGroupSize,
		UserBindingsPerApp: o.userBindings, GroupBindingsPerApp: o.groupBindings,
	})
	jc := jumpcloudsim.New(org, jumpcloudsim.Options{APIKey: o.apiKey})
	az := authomizesim.New(authomizesim.Options{Tokens: []string{o.token}, Apps: []string{o.appID}})
	if err := o.oauth.apply(jc, org.ID); err != nil {
		fmt.Fprintf(stderr, "sim: %v\n", err)
		return 2
	}
	if o.latency > 0 {
		jc.SetLatency(o.latency)
	}
	jc.SetInsightsLag(o.insightsLag)
	if o.authomizeLatency > 0 {
		az.SetLatency(o.authomizeLatency)
	}
	if o.rateLimit > 0 {
		burst := o.rateBurst
		if burst == 0 {
			burst = max(1, int(o.rateLimit/10))
		}
		jc.SetRateLimit(o.rateLimit, burst, !o.noRetryAfter)
	}
	jcLn, err := net.Listen("tcp", o.jcAddr)
	if err != nil {
		fmt.Fprintf(stderr, "sim: JumpCloud simulator: listen on %s: %v\n", o.jcAddr, err)
		return 1
	}
	azLn, err := net.Listen("tcp", o.azAddr)
	if err != nil {
		jcLn.Close()
		fmt.Fprintf(stderr, "sim: Authomize simulator: listen on %s: %v\n", o.azAddr, err)
		return 1
	}
	servers := []*http.Server{
		{Handler: jc, ReadHeaderTimeout: readHeaderTimeout},
		{Handler: az, ReadHeaderTimeout: readHeaderTimeout},
	}
	listeners := []net.Listener{jcLn, azLn}
	if o.controlAddr != "" {
		ctlLn, err := net.Listen("tcp", o.controlAddr)
		if err != nil {
			jcLn.Close()
			azLn.Close()
			fmt.Fprintf(stderr, "sim: admin endpoint: listen on %s: %v\n", o.controlAddr, err)
			return 1
		}
		ctl := &control.Control{JC: jc, AZ: az, AppID: o.appID, Identities: o.identities}
		servers = append(servers, &http.Server{Handler: ctl.Handler(), ReadHeaderTimeout: readHeaderTimeout})
		listeners = append(listeners, ctlLn)
	}
	errc := make(chan error, len(servers))
	for i, ln := range listeners {
		go func() { errc <- servers[i].Serve(ln) }()
	}
	fmt.Fprintf(stdout, "JumpCloud simulator: http://%s (org %s: %d users, %d groups, %d admins, %d apps)\n",
		jcLn.Addr(), org.ID, o.users, o.groups, o.admins, o.apps)
	fmt.Fprintf(stdout, "Authomize simulator: http://%s\n", azLn.Addr())
	fmt.Fprintf(stdout, "demo credentials (fake, simulator only): JUMPCLOUD_API_KEY=%s AUTHOMIZE_TOKEN=%s AUTHOMIZE_APP_ID=%s\n",
		o.apiKey, o.token, o.appID)
	o.oauth.print(stdout, jcLn.Addr().String())

	code := 0
	select {
	case <-ctx.Done():
	case err := <-errc:
		fmt.Fprintf(stderr, "sim: server stopped: %v\n", err)
		code = 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(sctx) // best effort: the process exits next
	}
	return code
}
