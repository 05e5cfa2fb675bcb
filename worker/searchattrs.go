package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"

	"jcsync/internal/config"
	"jcsync/internal/searchattrs"
)

// searchAttrsTimeout bounds the check at start, creation included (the server may take a
// moment before it lists attributes it has just added).
const searchAttrsTimeout = 30 * time.Second

// ensureSearchAttributes makes sure the namespace holds the connector's search attributes
// before the worker polls: the ones a sync sets (temporalnames.SearchAttributeTypes). On a
// self-hosted server it creates those missing. When it cannot (Temporal Cloud, no operator
// rights, SQL visibility's limit reached, an attribute of that name with another type) it
// returns the *searchattrs.MissingError that says what to run, and the worker stops: polling
// would only fail every sync's first workflow task. When the attributes cannot even be
// listed the worker goes on: each sync checks them again before its first upsert.
func ensureSearchAttributes(ctx context.Context, tc client.Client, t config.Temporal, log *logrus.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, searchAttrsTimeout)
	defer cancel()
	created, err := searchattrs.Ensure(ctx, tc.OperatorService(), searchattrs.Server{Address: t.Address, Namespace: t.Namespace})
	var missing *searchattrs.MissingError
	switch {
	case errors.As(err, &missing):
		return err
	case err != nil:
		log.WithError(err).Warn("could not check the namespace's search attributes (JCSyncIntegration, JCSyncOutcome: Keyword; JCSyncUsers: Int); going on, but syncs cannot start or record how they ended while one is missing: see docs/search-attributes.md")
	case len(created) > 0:
		log.WithFields(logrus.Fields{"namespace": t.Namespace, "search_attributes": strings.Join(created, ",")}).Info("created search attributes")
	}
	return nil
}
