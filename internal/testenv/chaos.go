package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"jcsync/internal/sim/authomizesim"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/temporalnames"
)

// StartSimsWith is StartSims with the simulators' options chosen by the test (a multi-tenant
// JumpCloud, other tokens or apps). Empty APIKey, Tokens and Apps take the fakes above, so
// Integration still works.
func StartSimsWith(t testing.TB, org *jumpcloudsim.Org, jcOpts jumpcloudsim.Options, azOpts authomizesim.Options) *Sims {
	t.Helper()
	if jcOpts.APIKey == "" {
		jcOpts.APIKey = APIKey
	}
	if len(azOpts.Tokens) == 0 {
		azOpts.Tokens = []string{Token}
	}
	if len(azOpts.Apps) == 0 {
		azOpts.Apps = []string{AppID}
	}
	jc := jumpcloudsim.New(org, jcOpts)
	az := authomizesim.New(azOpts)
	jcs, azs := httptest.NewServer(jc), httptest.NewServer(az)
	t.Cleanup(jcs.Close)
	t.Cleanup(azs.Close)
	return &Sims{Org: org, JC: jc, JCURL: jcs.URL, AZ: az, AZURL: azs.URL}
}

// FreeHostPort returns a loopback host:port nobody listens on right now.
func FreeHostPort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// PersistentTemporal is a dev server on a fixed address with a SQLite file, so it can be
// stopped and started again mid-test the way an operator restarts a server: the same port,
// the same data. Client stays usable across restarts (the SDK reconnects).
type PersistentTemporal struct {
	*Temporal
	HostPort string
	cli, db  string
}

// StartTemporalAt starts a dev server on hostPort (host:port) persisting to dbFile.
func StartTemporalAt(cliPath, hostPort, dbFile string) (*PersistentTemporal, error) {
	p := &PersistentTemporal{HostPort: hostPort, cli: cliPath, db: dbFile}
	srv, c, err := p.start()
	if err != nil {
		return nil, err
	}
	p.Temporal = &Temporal{Server: srv, Client: c}
	return p, nil
}

func (p *PersistentTemporal) start() (*testsuite.DevServer, client.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:     p.cli,
		DBFilename:       p.db,
		LogLevel:         "error",
		ClientOptions:    &client.Options{HostPort: p.HostPort, Logger: quietLogger()},
		SearchAttributes: temporalnames.AllAttributes(),
		ExtraArgs:        DevServerArgs,
		Stdout:           os.Stderr,
		Stderr:           os.Stderr,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("start the Temporal dev server on %s: %w", p.HostPort, err)
	}
	return srv, srv.Client(), nil
}

// StopServer stops the server process only; Client is kept for after StartServer.
func (p *PersistentTemporal) StopServer() error { return p.Server.Stop() }

// StartServer starts the server again on the same address and file.
func (p *PersistentTemporal) StartServer() error {
	srv, c, err := p.start()
	if err != nil {
		return err
	}
	// The new server's own client is redundant: Client reconnects by itself.
	c.Close()
	p.Server = srv
	return nil
}
