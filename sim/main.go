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
	"jcsync/internal/sim/jumpcloudsim"
)

// The demo's fake credentials. They are not secrets: they exist only in the simulators.
const (
	DemoJumpCloudKey  = "demo-jumpcloud-api-key"
	DemoAuthomizeKey  = "demo-authomize-token"
	DemoAuthomizeApp  = "demo-jumpcloud-app"
	defaultUsers      = 2000
	readHeaderTimeout = 10 * time.Second
)

type options struct {
	jcAddr, azAddr              string
	users, groups, admins, apps int
	seed                        int64
	latency                     time.Duration
	rateLimit                   float64
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
	fs.IntVar(&o.users, "users", defaultUsers, "directory users in the generated org")
	fs.IntVar(&o.groups, "groups", 60, "user groups")
	fs.IntVar(&o.admins, "admins", 5, "console administrators")
	fs.IntVar(&o.apps, "apps", 25, "SSO applications")
	fs.Int64Var(&o.seed, "seed", 1, "generator seed: the same seed gives the same org")
	fs.DurationVar(&o.latency, "latency", 0, "added latency of every JumpCloud and Authomize request")
	fs.Float64Var(&o.rateLimit, "rate-limit", 0, "JumpCloud requests per second before 429s (0: unlimited)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.users < 0 || o.groups < 0 || o.admins < 0 || o.apps < 0 || o.latency < 0 || o.rateLimit < 0 {
		return o, errors.New("sizes, --latency and --rate-limit must not be negative")
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
		UserBindingsPerApp: 10, GroupBindingsPerApp: 2,
	})
	jc := jumpcloudsim.New(org, jumpcloudsim.Options{APIKey: DemoJumpCloudKey})
	az := authomizesim.New(authomizesim.Options{Tokens: []string{DemoAuthomizeKey}, Apps: []string{DemoAuthomizeApp}})
	if o.latency > 0 {
		jc.SetLatency(o.latency)
		az.SetLatency(o.latency)
	}
	if o.rateLimit > 0 {
		jc.SetRateLimit(o.rateLimit, max(1, int(o.rateLimit)), true)
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
	errc := make(chan error, 2)
	for i, ln := range []net.Listener{jcLn, azLn} {
		go func() { errc <- servers[i].Serve(ln) }()
	}
	fmt.Fprintf(stdout, "JumpCloud simulator: http://%s (org %s: %d users, %d groups, %d admins, %d apps)\n",
		jcLn.Addr(), org.ID, o.users, o.groups, o.admins, o.apps)
	fmt.Fprintf(stdout, "Authomize simulator: http://%s\n", azLn.Addr())
	fmt.Fprintf(stdout, "demo credentials (fake, simulator only): JUMPCLOUD_API_KEY=%s AUTHOMIZE_TOKEN=%s AUTHOMIZE_APP_ID=%s\n",
		DemoJumpCloudKey, DemoAuthomizeKey, DemoAuthomizeApp)

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
