package authomizesim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// items renders an upload body of n items, each tmpl with every %d replaced by its index.
func items(n int, tmpl string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = strings.ReplaceAll(tmpl, "%d", fmt.Sprint(i))
	}
	return `{"data":[` + strings.Join(parts, ",") + `]}`
}

func (c tclient) mustPost(path, body string) map[string]any {
	c.t.Helper()
	st, m := c.do("POST", "/v2/apps/app1"+path, body)
	if st != 200 {
		c.t.Fatalf("POST %s: %d %v", path, st, m)
	}
	return m
}

func (c tclient) sweep(before time.Time) {
	c.t.Helper()
	q := url.QueryEscape(fmtTS(before))
	if st, m := c.do("DELETE", "/v2/apps/app1/data?modifiedBefore="+q, ""); st != 200 {
		c.t.Fatalf("sweep: %d %v", st, m)
	}
}

func acceptedAt(t *testing.T, m map[string]any) time.Time {
	t.Helper()
	s, _ := m["acceptedTimestamp"].(string)
	ts, err := time.Parse(TimestampLayout, s)
	if err != nil {
		t.Fatalf("acceptedTimestamp %q: %v", s, err)
	}
	return ts
}

func TestStampSkew(t *testing.T) {
	s, c := newTest(t, Options{})
	const n = 50
	s.SetStampSkew(500 * time.Millisecond)
	ts := acceptedAt(t, c.mustPost("/accounts/users", items(n, `{"uniqueId":"u%d"}`)))
	distinct := map[time.Time]bool{}
	for i := range n {
		mt, ok := s.ModifiedAt("app1", KindUsers, fmt.Sprintf("u%d", i))
		if !ok {
			t.Fatalf("u%d not stored", i)
		}
		if mt.After(ts) || mt.Before(ts.Add(-500*time.Millisecond)) || mt.Truncate(time.Microsecond) != mt {
			t.Fatalf("u%d modifiedAt %s outside [ts-500ms, ts] (ts %s) or finer than 1µs", i, fmtTS(mt), fmtTS(ts))
		}
		distinct[mt] = true
	}
	if len(distinct) < n/2 {
		t.Fatalf("only %d distinct stamps for %d items: skew is not drawn per item", len(distinct), n)
	}

	c.sweep(ts.Add(-time.Second))
	if got := len(s.Snapshot("app1").Users); got != n {
		t.Fatalf("sweep at ts-1s left %d of %d users", got, n)
	}
	c.sweep(ts)
	left := len(s.Snapshot("app1").Users)
	if left == n {
		t.Fatalf("sweep at the acceptedTimestamp deleted nothing despite the skew")
	}
	t.Logf("sweep at acceptedTimestamp deleted %d of %d", n-left, n)

	s.SetStampSkew(0)
	ts = acceptedAt(t, c.mustPost("/accounts/users", items(n, `{"uniqueId":"u%d"}`)))
	c.sweep(ts)
	if got := len(s.Snapshot("app1").Users); got != n {
		t.Fatalf("skew 0: sweep at ts left %d of %d users", got, n)
	}
	if mt, _ := s.ModifiedAt("app1", KindUsers, "u7"); !mt.Equal(ts) {
		t.Fatalf("skew 0: modifiedAt %s, want %s", fmtTS(mt), fmtTS(ts))
	}
}

// rawPost returns the status and the undecoded body, so a test can tell a missing field
// from a null or empty one.
func rawPost(t *testing.T, c tclient, path, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", c.url+"/v2/apps/app1"+path, strings.NewReader(body))
	req.Header.Set("Authorization", c.tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: read: %v", path, err)
	}
	return resp.StatusCode, b
}

func TestOmitAcceptedTimestamp(t *testing.T) {
	s, c := newTest(t, Options{})
	s.OmitAcceptedTimestamp(KindUsers, KindAccountAssociations)
	st, body := rawPost(t, c, "/accounts/users", `{"data":[{"uniqueId":"u1"}]}`)
	if st != 200 || strings.Contains(string(body), "acceptedTimestamp") {
		t.Fatalf("users: %d %s", st, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m["requestId"] == nil || m["numberOfAcceptedEntities"] != float64(1) {
		t.Fatalf("users answer lost other fields: %s (%v)", body, err)
	}
	if _, ok := s.ModifiedAt("app1", KindUsers, "u1"); !ok {
		t.Fatal("u1 not stored while its timestamp was omitted")
	}
	st, body = rawPost(t, c, "/access/grouping", `{"data":[{"uniqueId":"g1","name":"G"}]}`)
	if st != 200 || !strings.Contains(string(body), `"acceptedTimestamp":"`) {
		t.Fatalf("groupings (not omitted): %d %s", st, body)
	}
	st, body = rawPost(t, c, "/association/accounts", `{"data":[{"sourceId":"u1","targetId":"g1"}]}`)
	if st != 200 || strings.Contains(string(body), "acceptedTimestamp") {
		t.Fatalf("associations: %d %s", st, body)
	}
	if _, ok := s.ModifiedAt("app1", KindAccountAssociations, "u1", "g1"); !ok {
		t.Fatal("membership not stored")
	}
	if _, m := c.do("DELETE", "/v2/apps/app1/data?modifiedBefore=2000-01-01T00:00:00Z", ""); m["acceptedTimestamp"] == nil {
		t.Fatalf("DELETE answer lost its timestamp: %v", m)
	}

	s.OmitAcceptedTimestamp()
	st, body = rawPost(t, c, "/accounts/users", `{"data":[{"uniqueId":"u1"}]}`)
	if st != 200 || !strings.Contains(string(body), `"acceptedTimestamp":"`) {
		t.Fatalf("after clearing: %d %s", st, body)
	}
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	sort.Strings(out)
	return out
}

func TestRejectRelations(t *testing.T) {
	s, c := newTest(t, Options{})
	const n = 100
	c.mustPost("/accounts/users", items(n, `{"uniqueId":"u%d"}`))
	c.mustPost("/access/grouping", items(10, `{"uniqueId":"g%d","name":"G%d"}`))
	member := func(i int) [2]string { return [2]string{fmt.Sprintf("u%d", i), fmt.Sprintf("g%d", i%10)} }

	// Stored before the knob: u0..u9 → g0..g9 are re-sent below, u0..u9 → g(i+1) are not.
	old := map[[2]string]time.Time{}
	var pre []string
	for i := range 10 {
		pre = append(pre, fmt.Sprintf(`{"sourceId":"u%d","targetId":"g%d"}`, i, i), fmt.Sprintf(`{"sourceId":"u%d","targetId":"g%d"}`, i, (i+1)%10))
	}
	c.mustPost("/association/accounts", `{"data":[`+strings.Join(pre, ",")+`]}`)
	for k := range s.Snapshot("app1").Memberships {
		old[k], _ = s.ModifiedAt("app1", KindAccountAssociations, k[0], k[1])
	}
	if len(old) != 20 {
		t.Fatalf("pre-stored %d memberships, want 20", len(old))
	}

	s.RejectRelations(KindAccountAssociations, 0.8)
	batch := make([]string, n)
	for i := range batch {
		k := member(i)
		batch[i] = fmt.Sprintf(`{"sourceId":%q,"targetId":%q}`, k[0], k[1])
	}
	body := `{"data":[` + strings.Join(batch, ",") + `]}`
	resp := c.mustPost("/association/accounts", body)
	ts := acceptedAt(t, resp)
	accepted := int(resp["numberOfAcceptedEntities"].(float64))
	if accepted < 10 || accepted > 30 {
		t.Fatalf("accepted %d of %d at fraction 0.8, want about 20", accepted, n)
	}
	d := resp["data"].(map[string]any)
	var wantInvalid, wantValid []string
	newKeys := 0 // accepted and not stored before
	for i := range n {
		k := member(i)
		mt, ok := s.ModifiedAt("app1", KindAccountAssociations, k[0], k[1])
		if ok && mt.Equal(ts) {
			wantValid = append(wantValid, k[0])
			if _, wasOld := old[k]; !wasOld {
				newKeys++
			}
			continue
		}
		wantInvalid = append(wantInvalid, k[0])
		if prev, wasOld := old[k]; wasOld != ok || (ok && !mt.Equal(prev)) {
			t.Fatalf("rejected %v: stored=%v modifiedAt %s, want untouched (old=%v %s)", k, ok, fmtTS(mt), wasOld, fmtTS(prev))
		}
	}
	sort.Strings(wantInvalid)
	sort.Strings(wantValid)
	if len(wantValid) != accepted || fmt.Sprint(strs(d["invalidSourceIds"])) != fmt.Sprint(wantInvalid) {
		t.Fatalf("stored %d, counted %d; invalidSourceIds %v, want %v", len(wantValid), accepted, d["invalidSourceIds"], wantInvalid)
	}
	if fmt.Sprint(strs(d["validSourceIds"])) != fmt.Sprint(wantValid) || len(strs(d["invalidTargetIds"])) == 0 {
		t.Fatalf("id lists: %v", d)
	}
	t.Logf("fraction 0.8: accepted %d of %d", accepted, n)
	snap := s.Snapshot("app1")
	for k := range old {
		if _, ok := snap.Memberships[k]; !ok {
			t.Fatalf("previously stored %v is gone", k)
		}
	}
	if want := len(old) + newKeys; len(snap.Memberships) != want {
		t.Fatalf("%d memberships stored, want %d", len(snap.Memberships), want)
	}

	// Same items, same verdicts.
	again := c.mustPost("/association/accounts", body)
	if again["numberOfAcceptedEntities"] != resp["numberOfAcceptedEntities"] ||
		fmt.Sprint(strs(again["data"].(map[string]any)["validSourceIds"])) != fmt.Sprint(wantValid) {
		t.Fatalf("re-upload changed verdicts: %v then %v", resp, again)
	}

	s.RejectRelations(KindAccountAssociations, 0)
	if r := c.mustPost("/association/accounts", body); r["numberOfAcceptedEntities"] != float64(n) {
		t.Fatalf("after clearing: %v", r)
	}
}

func TestRejectPermissions(t *testing.T) {
	s, c := newTest(t, Options{})
	c.mustPost("/accounts/users", `{"data":[{"uniqueId":"u1"}]}`)
	c.mustPost("/privileges", `{"data":[{"uniqueId":"p1","originName":"Use"}]}`)
	c.mustPost("/assets", `{"data":[{"uniqueId":"a1","name":"A"}]}`)
	s.RejectRelations(KindPermissions, 1)
	r := c.mustPost("/access/permissions", `{"data":[{"sourceUniqueId":"u1","sourceType":"User","privilegeId":"p1","assetId":"a1"}]}`)
	d := r["data"].(map[string]any)
	if r["numberOfAcceptedEntities"] != float64(0) || fmt.Sprint(d["invalidUserIds"], d["invalidPrivilegeIds"], d["invalidAssetIds"]) != "[u1] [p1] [a1]" ||
		len(d["validUserIds"].([]any)) != 0 || len(s.Snapshot("app1").Permissions) != 0 {
		t.Fatalf("permission at fraction 1: %v", r)
	}
	for _, bad := range []func(){
		func() { s.RejectRelations(KindUsers, 0.5) },
		func() { s.RejectRelations(KindPermissions, 1.5) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("want a panic for a misuse of RejectRelations")
				}
			}()
			bad()
		}()
	}
}

// RejectEntities refuses a fixed share of an entity kind's items: not stored, not counted,
// an earlier copy left as it was; the same items in every request.
func TestRejectEntities(t *testing.T) {
	s, c := newTest(t, Options{})
	first := c.mustPost("/accounts/users", items(200, `{"uniqueId":"u%d","name":"one"}`))
	s.RejectEntities(KindUsers, 0.1)
	again := func() (accepted int, refused []string) {
		r := c.mustPost("/accounts/users", items(200, `{"uniqueId":"u%d","name":"two"}`))
		for i := range 200 {
			id := fmt.Sprintf("u%d", i)
			if at, ok := s.ModifiedAt("app1", KindUsers, id); !ok || !at.After(acceptedAt(t, first)) {
				refused = append(refused, id)
			}
		}
		return int(r["numberOfAcceptedEntities"].(float64)), refused
	}
	time.Sleep(2 * time.Millisecond) // a later acceptedTimestamp than the first upload's
	n, refused := again()
	if len(refused) == 0 || len(refused) > 50 || n != 200-len(refused) || len(s.Snapshot("app1").Users) != 200 {
		t.Fatalf("at 0.1: accepted %d, not refreshed %v", n, refused)
	}
	if n2, refused2 := again(); n2 != n || fmt.Sprint(refused2) != fmt.Sprint(refused) {
		t.Fatalf("the verdict changed between requests: %d %v, then %d %v", n, refused, n2, refused2)
	}
	s.RejectEntities(KindUsers, 0)
	if n, refused := again(); n != 200 || len(refused) != 0 {
		t.Fatalf("cleared: accepted %d, not refreshed %v", n, refused)
	}
	for _, bad := range []func(){
		func() { s.RejectEntities(KindPermissions, 0.5) },
		func() { s.RejectEntities(KindUsers, -1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("want a panic for a misuse of RejectEntities")
				}
			}()
			bad()
		}()
	}
}

// TestKnobsWhileServing flips every knob while uploads run; with -race it checks the
// setters are safe to call mid-traffic.
func TestKnobsWhileServing(t *testing.T) {
	s, c := newTest(t, Options{})
	c.mustPost("/accounts/users", items(20, `{"uniqueId":"u%d"}`))
	c.mustPost("/access/grouping", items(20, `{"uniqueId":"g%d","name":"G%d"}`))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			s.SetStampSkew(time.Duration(i%3) * time.Millisecond)
			s.OmitAcceptedTimestamp(KindAccountAssociations)
			s.RejectRelations(KindAccountAssociations, float64(i%5)/4)
			s.OmitAcceptedTimestamp()
		}
	}()
	for range 20 {
		c.mustPost("/association/accounts", items(20, `{"sourceId":"u%d","targetId":"g%d"}`))
	}
	<-done
}
