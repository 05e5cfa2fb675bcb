package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"jcsync/internal/takeover"
	"jcsync/internal/temporalnames"
)

// processStart is when this process started, for the takeover's log.
var processStart = time.Now()

// claimIdentity takes the worker's host identity for this process: the one set, or by
// default the host name's first free slot. A set identity that a live worker process of
// this machine holds stops the worker: two live processes under one identity would fail
// each other's attempts on restart. When the lock file cannot be made (a read-only
// temporary directory), the identity is taken unguarded, as in a container it is anyway.
func claimIdentity(set string, log *logrus.Logger) (*takeover.Claim, error) {
	host := set
	if host == "" {
		name, err := os.Hostname()
		if err != nil || takeover.CheckHost(name) != nil {
			log.WithError(err).WithField("hostname", name).Warn("the host name cannot serve as the worker identity; using \"worker\": set --worker-identity")
			name = "worker"
		}
		host = name
	}
	var c *takeover.Claim
	var err error
	if set != "" {
		c, err = takeover.ClaimHost(host)
	} else {
		c, err = takeover.ClaimSlot(host)
	}
	if errors.Is(err, takeover.ErrHeld) {
		return nil, err
	}
	if err != nil {
		// A set identity is the operator's word that it is unique (a pod's name, with a
		// read-only file system); the host name is shared by every process of the machine.
		l := log.WithError(err).WithField("worker_identity", host)
		if set != "" {
			l.Info("worker identity taken without a lock file; it must not be shared by another running worker")
		} else {
			l.Warn("cannot check that no other worker process of this machine uses its host name as worker identity: run one worker per host, or set --worker-identity")
		}
		return &takeover.Claim{Host: host}, nil
	}
	return c, nil
}

// takeOver fails the attempts of the syncs of integrations that a dead earlier process of
// this host left running (internal/takeover), and logs each. A failure is only logged: those
// attempts are retried anyway when their heartbeat timeout runs out.
func takeOver(ctx context.Context, tc client.Client, c workerConfig, self takeover.Identity, fc converter.FailureConverter, integrations []string, log *logrus.Logger) {
	ids := make([]string, len(integrations))
	for i, name := range integrations {
		ids[i] = temporalnames.SyncID(name)
	}
	cfg := takeover.Config{Client: tc, Namespace: c.Temporal.Namespace, Self: self, FailureConverter: fc}
	if !c.Deployment.Unversioned {
		cfg.Version = takeover.Version{Deployment: c.Deployment.Name, BuildID: c.Deployment.BuildID}
	}
	outcomes, err := takeover.Run(ctx, cfg, ids)
	for _, o := range outcomes {
		l := log.WithFields(logrus.Fields{"workflow_id": o.WorkflowID, "run_id": o.RunID, "activity": o.ActivityType,
			"activity_id": o.ActivityID, "attempt": o.Attempt, "predecessor": o.Predecessor})
		if o.Failed {
			l.WithField("since_start", time.Since(processStart).Round(time.Millisecond).String()).
				Info("took over an attempt that a dead earlier worker process of this host left running: it resumes from its checkpoint now")
			continue
		}
		l.WithField("reason", o.Skipped).Info("left an attempt of a dead earlier worker process of this host to Temporal")
	}
	if err != nil && ctx.Err() == nil {
		log.WithError(err).Warn("could not take over every attempt a dead earlier worker process of this host left running; Temporal retries them when their heartbeat timeout runs out")
	}
}
