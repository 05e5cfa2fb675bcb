package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// Environment variables of the worker's deployment version (Temporal Worker Versioning).
const (
	EnvDeploymentName = "TEMPORAL_DEPLOYMENT_NAME"
	EnvWorkerBuildID  = "TEMPORAL_WORKER_BUILD_ID"
	EnvPromote        = "JCSYNC_PROMOTE"
	EnvUnversioned    = "JCSYNC_UNVERSIONED"
)

// DeploymentEnvVars lists the deployment variables, for checks of deployment files.
var DeploymentEnvVars = []string{EnvDeploymentName, EnvWorkerBuildID, EnvPromote, EnvUnversioned}

// DefaultDeploymentName is the worker deployment every build of the connector joins.
const DefaultDeploymentName = "jcsync"

// Deployment is the worker's place in Temporal Worker Versioning: the deployment it belongs
// to, the build it runs (together, its deployment version), and whether it takes new syncs
// from the build that has them now.
type Deployment struct {
	Name    string
	BuildID string
	// Promote makes this build the deployment's current version on start (the upgrade
	// step), unless the current version is a newer build: see internal/versioning.
	Promote bool
	// Unversioned runs without Worker Versioning, for servers without worker deployments;
	// every worker must then be replaced together, after running syncs end.
	Unversioned bool
}

// AddDeploymentFlags registers the deployment flags with environment fallbacks. It returns
// a check to call after parsing: an unreadable boolean variable is an error unless its flag
// was given.
func AddDeploymentFlags(fs *pflag.FlagSet, d *Deployment, getenv func(string) string) (check func() error) {
	name := getenv(EnvDeploymentName)
	if name == "" {
		name = DefaultDeploymentName
	}
	fs.StringVar(&d.Name, "deployment-name", name, "Temporal worker deployment this worker joins; every build of the connector in a namespace shares it (env "+EnvDeploymentName+")")
	fs.StringVar(&d.BuildID, "build-id", getenv(EnvWorkerBuildID), "build id of this worker's deployment version; default: the binary's VCS revision (with -dirty-<hash of the executable> when built from a modified tree), or a hash of the executable when it has none (env "+EnvWorkerBuildID+")")
	promote, promoteErr := envBool(getenv, EnvPromote)
	fs.BoolVar(&d.Promote, "promote", promote, "make this build the deployment's current version on start, so new syncs run on it (the upgrade step); never taken from a newer build (env "+EnvPromote+")")
	unversioned, unversionedErr := envBool(getenv, EnvUnversioned)
	fs.BoolVar(&d.Unversioned, "unversioned", unversioned, "run without Worker Versioning, for a Temporal server without worker deployments (before 1.28); then replace all workers together, after running syncs end (env "+EnvUnversioned+")")
	return func() error {
		if promoteErr != nil && !fs.Changed("promote") {
			return promoteErr
		}
		if unversionedErr != nil && !fs.Changed("unversioned") {
			return unversionedErr
		}
		return nil
	}
}

func envBool(getenv func(string) string, name string) (bool, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want true or false", name, v)
	}
	return b, nil
}

// Resolve fills in the derived build id and checks the names as Temporal will: a bad name
// is refused here, with what to change, rather than by every poll of the worker.
func (d *Deployment) Resolve() error {
	if d.Unversioned {
		if d.Promote {
			return fmt.Errorf("--promote and --unversioned exclude each other: an unversioned worker has no version to promote")
		}
		return nil
	}
	if d.BuildID == "" {
		id, err := DefaultBuildID()
		if err != nil {
			return fmt.Errorf("derive the build id (set %s or --build-id instead): %w", EnvWorkerBuildID, err)
		}
		d.BuildID = id
	}
	switch {
	case d.Name == "":
		return fmt.Errorf("--deployment-name (%s) is empty", EnvDeploymentName)
	case strings.ContainsAny(d.Name, ".:"):
		return fmt.Errorf("deployment name %q: Temporal refuses '.' and ':' in deployment names", d.Name)
	case strings.HasPrefix(d.Name, "__"), strings.HasPrefix(d.BuildID, "__"):
		return fmt.Errorf("deployment name %q / build id %q: Temporal reserves names that start with \"__\"", d.Name, d.BuildID)
	case len(d.Name) > 200 || len(d.BuildID) > 200:
		return fmt.Errorf("deployment name and build id are limited to 200 characters each")
	case strings.TrimSpace(d.BuildID) != d.BuildID:
		return fmt.Errorf("build id %q has leading or trailing spaces", d.BuildID)
	}
	return nil
}

// DefaultBuildID names the running binary's code: its VCS revision when Go stamped one
// (a release built from a clean checkout; the Dockerfile's build is one), with a hash of the
// executable added when the tree was modified (two builds of one revision with different
// local changes must not share a version: a run pinned to one would continue on the
// other's code). Without VCS information it is the executable's hash alone.
func DefaultBuildID() (string, error) {
	info, _ := debug.ReadBuildInfo()
	return buildIDFrom(info, executableHash)
}

func buildIDFrom(info *debug.BuildInfo, hash func() (string, error)) (string, error) {
	var revision string
	modified := false
	if info != nil {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if len(revision) > 12 {
		revision = revision[:12]
	}
	if revision != "" && !modified {
		return revision, nil
	}
	h, err := hash()
	if err != nil {
		return "", err
	}
	if revision != "" {
		return revision + "-dirty-" + h[:8], nil
	}
	return "exe-" + h[:12], nil
}

// executableHash is the SHA-256 of the running executable, in hex.
func executableHash() (string, error) {
	path, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the executable: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read the executable: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash the executable %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
