package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.temporal.io/sdk/client"

	"jcsync/internal/searchattrs"
)

// requireSearchAttributes checks that the namespace holds the connector's search attributes
// before a command starts a sync or changes a schedule that starts them: without them
// Temporal refuses the start (or the schedule) with a terse error, and a sync started some
// other way fails at its credential check. It returns the *searchattrs.MissingError that
// says what to run for this kind of server. When the attributes cannot be listed (no rights
// to, say) it warns and lets the command go on: Temporal itself still refuses what it must.
func requireSearchAttributes(ctx context.Context, tc client.Client, c *common, cmd string, stderr io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	err := searchattrs.Check(ctx, tc.OperatorService(), searchattrs.Server{Address: c.temporal.Address, Namespace: c.temporal.Namespace})
	var missing *searchattrs.MissingError
	if errors.As(err, &missing) {
		return err
	}
	if err != nil {
		fmt.Fprintf(stderr, "starter %s: warning: could not check the namespace's search attributes, going on: %v\n", cmd, err)
	}
	return nil
}
