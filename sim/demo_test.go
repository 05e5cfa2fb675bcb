package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestDemoCheck runs the whole demo unattended (build, dev server, simulators, worker, one
// sync) through scripts/demo-check.sh, which also checks that everything stopped.
func TestDemoCheck(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bash, filepath.Join(root, "scripts", "demo-check.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "DEMO_DATA_DIR="+t.TempDir(), "DEMO_USERS=500")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo-check failed: %v\n%s", err, out)
	}
}
