package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"jcsync/internal/codecserver"
	"jcsync/internal/logging"
)

// cmdCodecServer serves the codec endpoint for the Web UI and the CLI. It lives in the
// starter, the operator's tool, rather than in the worker: it needs only the payload keyring,
// so it runs where the UI can reach it without the integrations' JumpCloud and Authomize
// secrets, which a worker cannot start without.
func cmdCodecServer(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := codecserver.ParseFlags(args, getenv, os.ReadFile, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "starter codec-server: %v\n", err)
		return exitUsage
	}
	log, err := logging.New(c.Log, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "starter codec-server: %v\n", err)
		return exitUsage
	}
	ready := func(addr string) { fmt.Fprintf(stdout, "codec server listening on %s\n", addr) }
	if err := codecserver.Serve(ctx, c, os.ReadFile, log, ready); err != nil {
		fmt.Fprintf(stderr, "starter codec-server: %v\n", err)
		return exitFailed
	}
	return exitOK
}
