package config

import (
	"errors"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestBuildIDFromTheBinary(t *testing.T) {
	hash := func() (string, error) { return "0123456789abcdef0123456789abcdef", nil }
	info := func(kv ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{}
		for i := 0; i < len(kv); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return bi
	}
	for _, tc := range []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"clean checkout: the revision", info("vcs.revision", "4f2a9c1e7b3d5a6f8e9d0c1b2a3f4e5d6c7b8a9f", "vcs.modified", "false"), "4f2a9c1e7b3d"},
		// Two builds of one revision with different edits must not share a version.
		{"modified tree: the revision and the executable", info("vcs.revision", "4f2a9c1e7b3d5a6f8e9d0c1b2a3f4e5d6c7b8a9f", "vcs.modified", "true"), "4f2a9c1e7b3d-dirty-01234567"},
		{"no VCS stamp: the executable", info("-trimpath", "true"), "exe-0123456789ab"},
		{"no build info", nil, "exe-0123456789ab"},
	} {
		got, err := buildIDFrom(tc.info, hash)
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if _, err := buildIDFrom(nil, func() (string, error) { return "", errors.New("unreadable") }); err == nil {
		t.Error("an unreadable executable gave a build id")
	}
	// The real thing: this test binary has no VCS stamp, so its hash names it, the same on
	// every call.
	a, err := DefaultBuildID()
	if err != nil || a == "" {
		t.Fatalf("DefaultBuildID: %q, %v", a, err)
	}
	if b, _ := DefaultBuildID(); a != b {
		t.Fatalf("DefaultBuildID changed: %q then %q", a, b)
	}
}

func TestDeploymentFlags(t *testing.T) {
	parse := func(env map[string]string, args ...string) (Deployment, error) {
		var d Deployment
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		check := AddDeploymentFlags(fs, &d, func(k string) string { return env[k] })
		if err := fs.Parse(args); err != nil {
			return d, err
		}
		return d, check()
	}
	d, err := parse(nil)
	if err != nil || d.Name != DefaultDeploymentName || d.BuildID != "" || d.Promote || d.Unversioned {
		t.Fatalf("defaults: %+v, %v", d, err)
	}
	if err := d.Resolve(); err != nil || d.BuildID == "" {
		t.Fatalf("the default build id is derived: %+v, %v", d, err)
	}
	d, err = parse(map[string]string{EnvDeploymentName: "conn", EnvWorkerBuildID: "v2.1", EnvPromote: "true"})
	if err != nil || d.Name != "conn" || d.BuildID != "v2.1" || !d.Promote {
		t.Fatalf("from the environment: %+v, %v", d, err)
	}
	d, err = parse(map[string]string{EnvPromote: "true"}, "--promote=false", "--build-id", "b7", "--deployment-name", "x")
	if err != nil || d.Promote || d.BuildID != "b7" || d.Name != "x" {
		t.Fatalf("flags over the environment: %+v, %v", d, err)
	}
	if _, err := parse(map[string]string{EnvPromote: "yes please"}); err == nil || !strings.Contains(err.Error(), EnvPromote) {
		t.Fatalf("an unreadable %s: %v", EnvPromote, err)
	}
	for _, bad := range []Deployment{
		{Name: "jc.sync", BuildID: "b"},
		{Name: "jc:sync", BuildID: "b"},
		{Name: "__jcsync", BuildID: "b"},
		{Name: "jcsync", BuildID: "__b"},
		{Name: "", BuildID: "b"},
		{Name: "jcsync", BuildID: " b"},
		{Name: "jcsync", Unversioned: true, Promote: true},
	} {
		if err := bad.Resolve(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if err := (&Deployment{Unversioned: true}).Resolve(); err != nil {
		t.Errorf("unversioned needs no name or build id: %v", err)
	}
}
