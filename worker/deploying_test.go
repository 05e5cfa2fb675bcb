package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"regexp"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// k8sDeployment is the part of a Kubernetes Deployment whose numbers must agree with the
// worker's.
type k8sDeployment struct {
	Kind string `yaml:"kind"`
	Spec struct {
		Strategy struct {
			RollingUpdate struct {
				MaxUnavailable any `yaml:"maxUnavailable"`
			} `yaml:"rollingUpdate"`
		} `yaml:"strategy"`
		Template struct {
			Spec struct {
				TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
				Containers                    []struct {
					Command []string `yaml:"command"`
					Ports   []struct {
						Name          string `yaml:"name"`
						ContainerPort int    `yaml:"containerPort"`
					} `yaml:"ports"`
					ReadinessProbe k8sProbe `yaml:"readinessProbe"`
					LivenessProbe  k8sProbe `yaml:"livenessProbe"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sProbe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
	PeriodSeconds    int `yaml:"periodSeconds"`
	FailureThreshold int `yaml:"failureThreshold"`
}

// TestDeployingManifest checks the Kubernetes Deployment that docs/deploying.md tells
// operators to apply against the worker itself: the grace period outlasts the stop timeout,
// the probes ask the paths and port the worker serves, and a rolling update starts new
// workers first.
func TestDeployingManifest(t *testing.T) {
	doc, err := os.ReadFile("../docs/deploying.md")
	if err != nil {
		t.Fatal(err)
	}
	var deps []k8sDeployment
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(doc, -1) {
		dec := yaml.NewDecoder(bytes.NewReader(m[1]))
		for {
			var d k8sDeployment
			if err := dec.Decode(&d); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("a yaml block of docs/deploying.md does not parse: %v", err)
			}
			if d.Kind == "Deployment" && len(d.Spec.Template.Spec.Containers) > 0 && len(d.Spec.Template.Spec.Containers[0].Command) > 0 &&
				d.Spec.Template.Spec.Containers[0].Command[0] == "/usr/local/bin/worker" {
				deps = append(deps, d)
			}
		}
	}
	if len(deps) != 1 {
		t.Fatalf("docs/deploying.md holds %d Deployments of the worker, want 1", len(deps))
	}
	d := deps[0]
	grace := time.Duration(d.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
	if grace < stopTimeout+stopMargin {
		t.Errorf("terminationGracePeriodSeconds %s leaves less than %s after the worker's %s stop timeout", grace, stopMargin, stopTimeout)
	}
	if u := d.Spec.Strategy.RollingUpdate.MaxUnavailable; u != 0 {
		t.Errorf("maxUnavailable = %v: a phase handed over on SIGTERM may find no worker", u)
	}

	c := d.Spec.Template.Spec.Containers[0]
	// The default metrics address, where the worker serves its probes.
	cfg, err := parseFlags(nil, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	portOf := func(p any) int {
		switch v := p.(type) {
		case int:
			return v
		case string:
			return ports[v]
		}
		return 0
	}
	if cfg.MetricsAddress != ":9090" {
		t.Fatalf("the worker's default metrics address is %q; update docs/deploying.md", cfg.MetricsAddress)
	}
	for _, pr := range []struct {
		name, path string
		probe      k8sProbe
	}{{"readiness", "/readyz", c.ReadinessProbe}, {"liveness", "/healthz", c.LivenessProbe}} {
		if pr.probe.HTTPGet.Path != pr.path || portOf(pr.probe.HTTPGet.Port) != 9090 {
			t.Errorf("%s probe asks %s on port %v, want %s on 9090", pr.name, pr.probe.HTTPGet.Path, pr.probe.HTTPGet.Port, pr.path)
		}
	}
	// A liveness probe that gives up within a minute restarts workers for a Temporal outage
	// a restart cannot cure.
	if lp := c.LivenessProbe; time.Duration(lp.PeriodSeconds*lp.FailureThreshold)*time.Second < 2*time.Minute {
		t.Errorf("liveness probe fails after %d × %d s; give it minutes", lp.FailureThreshold, lp.PeriodSeconds)
	}
}
