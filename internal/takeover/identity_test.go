package takeover

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	activitypb "go.temporal.io/api/activity/v1"
	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestIdentityRoundTrip(t *testing.T) {
	for _, host := range []string{"jcsync-worker-7d9f8-x2k4q", "node-1.example.com", "my_host:8", "h"} {
		id, err := New(host)
		if err != nil {
			t.Fatalf("New(%q): %v", host, err)
		}
		got, ok := Parse(id.String())
		if !ok || got != id {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", id.String(), got, ok, id)
		}
	}
	a, _ := New("pod-a")
	b, _ := New("pod-a")
	if a.Token == b.Token {
		t.Fatalf("two processes drew the same start token %q", a.Token)
	}
	if !a.Predecessor(b) || a.Predecessor(a) {
		t.Errorf("same host, other token must be a predecessor; the same process must not")
	}
	other, _ := New("pod-b")
	if a.Predecessor(other) {
		t.Errorf("a process of another host counted as a predecessor")
	}
}

// Identities the connector did not write (the SDK's default, older builds, other tools)
// never parse: their attempts are never taken over.
func TestParseRejectsOtherIdentities(t *testing.T) {
	for _, s := range []string{
		"", "12@host@", "12@host@jcsync/acme", "12@host", "x@host@start-ab12", "12@@start-ab12",
		"12@host@start-", "temporal-cli:root@laptop", "12@a@b@c",
	} {
		if id, ok := Parse(s); ok {
			t.Errorf("Parse(%q) = %+v, want no identity of ours", s, id)
		}
	}
}

func TestCheckHost(t *testing.T) {
	for _, bad := range []string{"", "a@b", "with space", "tab\there", strings.Repeat("h", 129)} {
		if err := CheckHost(bad); err == nil {
			t.Errorf("CheckHost(%q) accepted it", bad)
		}
	}
}

// unique is a host name no other test run on this machine uses.
func unique() string {
	return fmt.Sprintf("takeover-test-%d", time.Now().UnixNano())
}

func TestClaimHostIsExclusive(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	host := unique()
	c, err := ClaimHost(host)
	if err != nil {
		t.Fatal(err)
	}
	// flock belongs to the open file: a second open, even in this process, is refused as
	// another process's would be.
	if _, err := ClaimHost(host); !errors.Is(err, ErrHeld) {
		t.Fatalf("second claim of %s: %v, want ErrHeld", host, err)
	}
	c.Release()
	c2, err := ClaimHost(host)
	if err != nil {
		t.Fatalf("claim after release (as after the holder's death): %v", err)
	}
	c2.Release()
}

func TestClaimSlotTakesTheFirstFree(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	host := unique()
	first, err := ClaimSlot(host)
	if err != nil || first.Host != host {
		t.Fatalf("first slot: %+v, %v", first, err)
	}
	second, err := ClaimSlot(host)
	if err != nil || second.Host != host+"-2" {
		t.Fatalf("second slot: %+v, %v; want %s-2", second, err, host)
	}
	// The first process dies: the next one started takes its slot, and so its attempts.
	first.Release()
	again, err := ClaimSlot(host)
	if err != nil || again.Host != host {
		t.Fatalf("after the first holder's end: %+v, %v; want %s", again, err, host)
	}
	again.Release()
	second.Release()
}

func TestSkipReason(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	started := func(lastBeat time.Duration, hb time.Duration) *workflowpb.PendingActivityInfo {
		return &workflowpb.PendingActivityInfo{
			State:             enumspb.PENDING_ACTIVITY_STATE_STARTED,
			LastStartedTime:   timestamppb.New(now.Add(-time.Minute)),
			LastHeartbeatTime: timestamppb.New(now.Add(-lastBeat)),
			ActivityOptions:   &activitypb.ActivityOptions{HeartbeatTimeout: durationpb.New(hb)},
		}
	}
	if r := skipReason(started(time.Second, 30*time.Second), now, DefaultMargin); r != "" {
		t.Errorf("a dead attempt with 29 s of heartbeat timeout left was skipped: %s", r)
	}
	if r := skipReason(started(28*time.Second, 30*time.Second), now, DefaultMargin); r == "" {
		t.Error("an attempt 2 s from its heartbeat timeout was failed: the failure could land on the retry after the timeout")
	}
	scheduled := started(time.Second, 30*time.Second)
	scheduled.State = enumspb.PENDING_ACTIVITY_STATE_SCHEDULED
	if r := skipReason(scheduled, now, DefaultMargin); r == "" {
		t.Error("an activity waiting for its next attempt was failed")
	}
	paused := started(time.Second, 30*time.Second)
	paused.Paused = true
	if r := skipReason(paused, now, DefaultMargin); r == "" {
		t.Error("a paused activity was failed")
	}
}

func TestRunsOn(t *testing.T) {
	mine := Version{Deployment: "jcsync", BuildID: "b1"}
	pinned := func(build string) *workflowpb.WorkflowExecutionVersioningInfo {
		return &workflowpb.WorkflowExecutionVersioningInfo{Behavior: enumspb.VERSIONING_BEHAVIOR_PINNED,
			DeploymentVersion: &deploymentpb.WorkerDeploymentVersion{DeploymentName: "jcsync", BuildId: build}}
	}
	cases := []struct {
		name string
		vi   *workflowpb.WorkflowExecutionVersioningInfo
		v    Version
		want bool
	}{
		{"pinned to this build", pinned("b1"), mine, true},
		{"pinned to another build", pinned("b0"), mine, false},
		{"unversioned run, versioned worker", nil, mine, false},
		{"unversioned run, unversioned worker", nil, Version{}, true},
		{"pinned run, unversioned worker", pinned("b1"), Version{}, false},
		{"overridden to another build", &workflowpb.WorkflowExecutionVersioningInfo{Behavior: enumspb.VERSIONING_BEHAVIOR_PINNED,
			DeploymentVersion:  &deploymentpb.WorkerDeploymentVersion{DeploymentName: "jcsync", BuildId: "b1"},
			VersioningOverride: &workflowpb.VersioningOverride{Override: &workflowpb.VersioningOverride_Pinned{Pinned: &workflowpb.VersioningOverride_PinnedOverride{Version: &deploymentpb.WorkerDeploymentVersion{DeploymentName: "jcsync", BuildId: "b2"}}}}}, mine, false},
	}
	for _, c := range cases {
		if got := RunsOn(c.vi, c.v); got != c.want {
			t.Errorf("%s: RunsOn = %v, want %v", c.name, got, c.want)
		}
	}
}
