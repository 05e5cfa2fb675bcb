// Package versioning runs the connector's workers under Temporal Worker Versioning: each
// worker polls as one deployment version (deployment name + build id), every sync is pinned
// to the version that started it, and this package decides, when a worker starts, whether
// its build becomes the deployment's current version (the one new syncs start on).
//
// The rule (DESIGN.md, Upgrades):
//   - the deployment has no current version: this build becomes current (a first deploy,
//     the demo, the tests);
//   - promotion was asked for (--promote): this build becomes current, unless the current
//     version was first seen after this one, or this build was current before and was
//     replaced; so neither a restarted old worker nor a restarted worker of a build rolled
//     back from takes new syncs back;
//   - otherwise the worker serves the runs pinned to its build and says how to promote it.
//
// A deployment that names a manager (Temporal's Worker Controller) is left to it.
package versioning

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"jcsync/internal/config"
)

// DeploymentOptions are the worker options of a worker of d. Workflows declare their own
// behaviour (pinned) where they are registered; the default here covers any other.
func DeploymentOptions(d config.Deployment) worker.DeploymentOptions {
	if d.Unversioned {
		return worker.DeploymentOptions{}
	}
	return worker.DeploymentOptions{
		UseVersioning:             true,
		Version:                   worker.WorkerDeploymentVersion{DeploymentName: d.Name, BuildID: d.BuildID},
		DefaultVersioningBehavior: workflow.VersioningBehaviorPinned,
	}
}

// ErrNoWorkerDeployments is returned when the server (or namespace) cannot run versioned
// workers.
var ErrNoWorkerDeployments = errors.New("this Temporal server or namespace does not support worker deployments")

// CheckSupported asks the server for its worker deployments before any worker polls as a
// version, so that a server without them stops the worker at once with what to do, rather
// than with poll errors forever. (Listing is what a server with the feature switched off
// refuses; describing an unknown deployment answers NotFound either way.)
func CheckSupported(ctx context.Context, c client.Client, d config.Deployment) error {
	it, err := c.WorkerDeploymentClient().List(ctx, client.WorkerDeploymentListOptions{PageSize: 1})
	if err == nil && it.HasNext() {
		_, err = it.Next()
	}
	var unimplemented *serviceerror.Unimplemented
	var denied *serviceerror.PermissionDenied
	switch {
	case err == nil:
		return nil
	case errors.As(err, &unimplemented):
		return fmt.Errorf("%w (it answered %q): upgrade to Temporal Server 1.28 or later, or run the workers with --unversioned (%s=true) and replace all of them together after running syncs end (docs/upgrades.md)",
			ErrNoWorkerDeployments, unimplemented.Message, config.EnvUnversioned)
	case errors.As(err, &denied):
		return fmt.Errorf("%w (it answered %q): worker deployments may be disabled (dynamic config system.enableDeploymentVersions) or the credentials may lack the permission; enable them, or run the workers with --unversioned (%s=true) (docs/upgrades.md)",
			ErrNoWorkerDeployments, denied.Message, config.EnvUnversioned)
	default:
		return fmt.Errorf("list worker deployments (deployment %s): %w", d.Name, err)
	}
}

// Action says what Settle did about the current version.
type Action string

// The outcomes of Settle.
const (
	// AlreadyCurrent: this build was the current version already.
	AlreadyCurrent Action = "already current"
	// BecameCurrent: the deployment had no current version; this build is it now.
	BecameCurrent Action = "became current (the deployment had none)"
	// Promoted: promotion was asked for and this build replaced the current version.
	Promoted Action = "promoted"
	// LeftCurrent: no promotion asked for; the current version stays another build.
	LeftCurrent Action = "not current: promote to start new syncs on it"
	// RefusedOlder: promotion was asked for, but the current version is a newer build.
	RefusedOlder Action = "not promoted: the current version is newer"
	// RefusedDemoted: promotion was asked for, but this build was current before and was
	// replaced (an upgrade, or a rollback away from it): only an operator brings it back.
	RefusedDemoted Action = "not promoted: this build was current before and was replaced"
	// Managed: the deployment names a manager (Temporal's Worker Controller, an operator's
	// tool), which alone changes its versions; the worker leaves routing to it.
	Managed Action = "not changed: the deployment has a manager"
)

// Decision is the outcome of Settle.
type Decision struct {
	Action Action
	// Current is the build id of the deployment's current version afterwards ("" when none).
	Current string
	// Previous is the build id that was current before a promotion.
	Previous string
}

// Settings of Settle's waits; the zero value takes the defaults.
type Settings struct {
	// Wait bounds how long Settle waits for this version to be registered with all its task
	// queues, and retries a promotion the server refuses for now (default 1 min).
	Wait time.Duration
	// Interval between attempts (default 250 ms).
	Interval time.Duration
}

// Settle applies the rule of the package comment for a worker of d that polls taskQueues,
// once its workers have started. It first waits until the server lists this version with
// every one of those task queues: a version is created by its first poll, and setting it
// current before then fails (or, for a queue not registered yet, would leave that queue
// without the version).
func Settle(ctx context.Context, c client.Client, d config.Deployment, taskQueues []string, s Settings) (Decision, error) {
	if d.Unversioned {
		return Decision{}, errors.New("an unversioned worker has no version to settle")
	}
	if s.Wait <= 0 {
		s.Wait = time.Minute
	}
	if s.Interval <= 0 {
		s.Interval = 250 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, s.Wait)
	defer cancel()
	h := c.WorkerDeploymentClient().GetHandle(d.Name)
	var last error
	for {
		dec, retry, err := settleOnce(ctx, h, d, taskQueues)
		if err == nil {
			return dec, nil
		}
		if !retry {
			return Decision{}, err
		}
		last = err
		select {
		case <-ctx.Done():
			return Decision{}, fmt.Errorf("deployment %s, build %s: gave up after %s: %w", d.Name, d.BuildID, s.Wait, last)
		case <-time.After(s.Interval):
		}
	}
}

// errNotReady is a state that passes by itself: the version or one of its queues is not
// registered yet, or another worker changed the deployment between describe and set.
var errNotReady = errors.New("not ready")

func settleOnce(ctx context.Context, h client.WorkerDeploymentHandle, d config.Deployment, taskQueues []string) (Decision, bool, error) {
	desc, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	if err != nil {
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			return Decision{}, true, fmt.Errorf("%w: deployment %s not registered yet", errNotReady, d.Name)
		}
		return Decision{}, isTransient(err), fmt.Errorf("describe worker deployment %s: %w", d.Name, err)
	}
	var mine *client.WorkerDeploymentVersionSummary
	for i, v := range desc.Info.VersionSummaries {
		if v.Version.BuildID == d.BuildID {
			mine = &desc.Info.VersionSummaries[i]
		}
	}
	if mine == nil {
		return Decision{}, true, fmt.Errorf("%w: build %s not registered in deployment %s yet", errNotReady, d.BuildID, d.Name)
	}
	if err := hasQueues(ctx, h, d.BuildID, taskQueues); err != nil {
		return Decision{}, true, err
	}

	current := ""
	if cv := desc.Info.RoutingConfig.CurrentVersion; cv != nil {
		current = cv.BuildID
	}
	switch {
	case current == d.BuildID:
		return Decision{Action: AlreadyCurrent, Current: current}, false, nil
	case desc.Info.ManagerIdentity != "":
		return Decision{Action: Managed, Current: current}, false, nil
	case current == "":
		return setCurrent(ctx, h, d, desc.ConflictToken, BecameCurrent, "")
	case !d.Promote:
		return Decision{Action: LeftCurrent, Current: current}, false, nil
	}
	for _, v := range desc.Info.VersionSummaries {
		if v.Version.BuildID == current && v.CreateTime.After(mine.CreateTime) {
			return Decision{Action: RefusedOlder, Current: current}, false, nil
		}
	}
	// A version that stopped being current is draining or drained; one never current has
	// no drainage status. Without this, a rollback to an older build would be undone by the
	// first restart of a worker of the newer one.
	if mine.DrainageStatus != client.WorkerDeploymentVersionDrainageStatusUnspecified {
		return Decision{Action: RefusedDemoted, Current: current}, false, nil
	}
	return setCurrent(ctx, h, d, desc.ConflictToken, Promoted, current)
}

// hasQueues checks that the version lists every task queue of this worker.
func hasQueues(ctx context.Context, h client.WorkerDeploymentHandle, buildID string, taskQueues []string) error {
	v, err := h.DescribeVersion(ctx, client.WorkerDeploymentDescribeVersionOptions{BuildID: buildID})
	if err != nil {
		return fmt.Errorf("%w: describe version %s: %v", errNotReady, buildID, err)
	}
	var have []string
	for _, q := range v.Info.TaskQueuesInfos {
		have = append(have, q.Name)
	}
	for _, q := range taskQueues {
		if !slices.Contains(have, q) {
			return fmt.Errorf("%w: task queue %s not registered in version %s yet", errNotReady, q, buildID)
		}
	}
	return nil
}

func setCurrent(ctx context.Context, h client.WorkerDeploymentHandle, d config.Deployment, token []byte, action Action, previous string) (Decision, bool, error) {
	_, err := h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: d.BuildID, ConflictToken: token})
	if err == nil {
		return Decision{Action: action, Current: d.BuildID, Previous: previous}, false, nil
	}
	// A conflict (another worker of a fleet changed the deployment first) is decided again
	// on a fresh describe. A new version without a task queue the current one has is refused
	// by the server; the workers of the new build that poll it may still be starting.
	var failed *serviceerror.FailedPrecondition
	if errors.As(err, &failed) {
		if strings.Contains(failed.Message, "missing active task queues") {
			return Decision{}, true, fmt.Errorf("set build %s current: %w; start this build's workers for every integration first (or, to leave an integration's queue without this build, `temporal worker deployment set-current-version --deployment-name %s --build-id %s --ignore-missing-task-queues`)",
				d.BuildID, err, d.Name, d.BuildID)
		}
		return Decision{}, true, fmt.Errorf("%w: set build %s current: %v", errNotReady, d.BuildID, err)
	}
	return Decision{}, isTransient(err), fmt.Errorf("set build %s current in deployment %s: %w", d.BuildID, d.Name, err)
}

// isTransient tells errors worth another attempt from final ones. Final: what a retry
// cannot change (a bad name, no permission, no such namespace or feature). Everything else
// is retried within Settle's bounded wait: the server busy or restarting, and the
// deployment's own workflow failing a task under concurrent changes ("Unable to perform
// workflow execution update due to unexpected workflow task failure", seen on Server 1.29).
func isTransient(err error) bool {
	var invalid *serviceerror.InvalidArgument
	var denied *serviceerror.PermissionDenied
	var unimplemented *serviceerror.Unimplemented
	var noNamespace *serviceerror.NamespaceNotFound
	return !(errors.As(err, &invalid) || errors.As(err, &denied) || errors.As(err, &unimplemented) || errors.As(err, &noNamespace))
}

// PromoteCommand is the CLI command that makes a build current by hand.
func PromoteCommand(d config.Deployment) string {
	return fmt.Sprintf("temporal worker deployment set-current-version --deployment-name %s --build-id %s", d.Name, d.BuildID)
}
