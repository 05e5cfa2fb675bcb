package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"
)

func TestServesBothSimulators(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--jumpcloud-address", "127.0.0.1:0", "--authomize-address", "127.0.0.1:0", "--users", "30", "--seed", "3"}, pw, io.Discard)
		pw.Close()
	}()
	re := regexp.MustCompile(`^(JumpCloud|Authomize) simulator: (http://\S+)`)
	urls := map[string]string{}
	sc := bufio.NewScanner(pr)
	for len(urls) < 2 && sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			urls[m[1]] = m[2]
		}
	}
	go io.Copy(io.Discard, pr)
	if len(urls) < 2 {
		t.Fatalf("addresses not printed: %v", urls)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	req, _ := http.NewRequest(http.MethodGet, urls["JumpCloud"]+"/api/systemusers?limit=100", nil)
	req.Header.Set("x-api-key", demoJumpCloudKey)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		TotalCount int `json:"totalCount"`
	}
	json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if resp.StatusCode != 200 || page.TotalCount != 30 {
		t.Fatalf("JumpCloud simulator: %d, totalCount %d", resp.StatusCode, page.TotalCount)
	}
	req, _ = http.NewRequest(http.MethodGet, urls["Authomize"]+"/v2/apps/"+demoAuthomizeApp, nil)
	req.Header.Set("Authorization", demoAuthomizeKey)
	if resp, err = c.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("Authomize simulator: the demo app answers %d", resp.StatusCode)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestInsightsLagFlag: the Directory Insights lag defaults to a realistic 5 s, can be set,
// and a negative one is refused.
func TestInsightsLagFlag(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil || o.insightsLag != 5*time.Second {
		t.Fatalf("default: %v, %v", o.insightsLag, err)
	}
	if o, err = parseFlags([]string{"--insights-lag", "0"}, io.Discard); err != nil || o.insightsLag != 0 {
		t.Fatalf("--insights-lag 0: %v, %v", o.insightsLag, err)
	}
	if _, err = parseFlags([]string{"--insights-lag", "-1s"}, io.Discard); err == nil {
		t.Fatal("a negative lag was accepted")
	}
}
