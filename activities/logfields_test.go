package activities_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"jcsync/activities"
	"jcsync/internal/sim/jumpcloudsim"
	"jcsync/internal/testenv"
)

// syncBuffer is a log destination that the stage's goroutines may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// entries are the JSON log entries written so far.
func (s *syncBuffer) entries(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// An activity's log lines name the workflow, the run, the activity and its attempt, whether
// the activity logs itself (the sweep) or through one of its stages (a resumed stage), and
// never carry the integration's secrets.
func TestActivityLogLinesNameTheirRun(t *testing.T) {
	sims := testenv.StartSims(t, jumpcloudsim.Generate(jumpcloudsim.GenConfig{Seed: 3, Users: 250, Groups: 1, Admins: 1, Apps: 1}))
	env, a := newActivityEnv(t, sims, false)
	out := &syncBuffer{}
	log := logrus.New()
	log.SetOutput(out)
	log.SetFormatter(&logrus.JSONFormatter{})
	log.SetLevel(logrus.InfoLevel)
	a.Log = log

	var tail []string
	for _, u := range sims.Org.Users[90:99] {
		tail = append(tail, u.ID)
	}
	env.SetHeartbeatDetails(activities.Checkpoint{
		Version: activities.CheckpointVersion, NextSkip: 98, Tail: tail,
		Counts: activities.StageCounts{Read: map[string]int{"users": 99}, Uploaded: map[string]int{"accounts": 99}, Attempts: 1},
	})
	if _, err := env.ExecuteActivity(a.Users, activities.StageInput{Integration: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.ExecuteActivity(a.Sweep, activities.SweepInput{Integration: "acme", Cutoff: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}

	seen := map[string]bool{}
	for _, e := range out.entries(t) {
		msg, _ := e["msg"].(string)
		var want string
		switch msg {
		case "stage resumes from its checkpoint":
			want = "Users"
		case "sweep done":
			want = "Sweep"
		default:
			continue
		}
		seen[msg] = true
		if e["workflow_id"] != "default-test-workflow-id" || e["run_id"] != "default-test-run-id" || e["activity"] != want ||
			e["activity_id"] == "" || e["activity_id"] == nil || e["attempt"] != float64(1) {
			t.Errorf("%q lacks its run's ids: %v", msg, e)
		}
	}
	if !seen["stage resumes from its checkpoint"] || !seen["sweep done"] {
		t.Fatalf("expected lines missing; seen %v in:\n%s", seen, out.b.String())
	}
	for _, secret := range []string{testenv.APIKey, testenv.Token} {
		if strings.Contains(out.b.String(), secret) {
			t.Fatalf("a log line carries a secret:\n%s", out.b.String())
		}
	}
}
