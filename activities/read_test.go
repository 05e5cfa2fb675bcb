package activities

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"

	"jcsync/internal/jumpcloud"
)

// fakeList is a JumpCloud list served by offset that a test can change between requests.
// Items keep their relative order, as under an _id sort or a member list's storage order.
type fakeList struct {
	mu      sync.Mutex
	items   []string
	fetches int
	fail    map[int]error // skip → error
	// before runs under the lock before the n-th request (1-based) is served.
	before func(n int, l *fakeList)
	next   int // id counter for inserted items
	// ordered keeps the ids in string order, as JumpCloud's id sort does: an inserted item
	// gets an id between its neighbours'.
	ordered bool
	// total, when set, is the total the list reports for n items served (a count that lags,
	// or counts records the list does not serve).
	total func(n int) int
	used  map[string]bool // ids inserted into an ordered list
}

// newOrderedList is a list of n items whose ids sort in list order, as users, groups and
// apps do under sort=_id.
func newOrderedList(n int) *fakeList {
	l := &fakeList{ordered: true, used: map[string]bool{}}
	for i := range n {
		l.items = append(l.items, orderedID(uint64(i+1)<<32))
		l.used[l.items[i]] = true
	}
	return l
}

func orderedID(v uint64) string { return fmt.Sprintf("%020d", v) }

func newFakeList(n int) *fakeList {
	l := &fakeList{next: n}
	for i := range n {
		l.items = append(l.items, fmt.Sprintf("%06d", i))
	}
	return l
}

func (l *fakeList) fetch(ctx context.Context, skip int) (jumpcloud.Page[string], error) {
	return l.page(ctx, skip, 100, false)
}

// page serves size items at skip; noTotal leaves the total out, as some endpoints may.
func (l *fakeList) page(_ context.Context, skip, size int, noTotal bool) (jumpcloud.Page[string], error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fetches++
	if l.before != nil {
		l.before(l.fetches, l)
	}
	if err := l.fail[skip]; err != nil {
		return jumpcloud.Page[string]{}, err
	}
	end := min(len(l.items), skip+size)
	var out []string
	if skip < end {
		out = slices.Clone(l.items[skip:end])
	}
	total := len(l.items)
	if l.total != nil {
		total = l.total(total)
	}
	if noTotal {
		total = -1
	}
	return jumpcloud.Page[string]{Items: out, Skip: skip, Limit: size, Total: total}, nil
}

// delete removes the item at position i; insert adds a new item at position i.
func (l *fakeList) delete(i int) { l.items = slices.Delete(l.items, i, i+1) }
func (l *fakeList) insert(i int) {
	l.next++
	id := fmt.Sprintf("n%05d", l.next)
	if l.ordered {
		var lo, hi uint64
		if i > 0 {
			lo, _ = strconv.ParseUint(l.items[i-1], 10, 64)
		}
		if i < len(l.items) {
			hi, _ = strconv.ParseUint(l.items[i], 10, 64)
		} else {
			hi = lo + 2<<32
		}
		// A new item never takes the id of one deleted before, as ObjectIds are never reused.
		mid := lo + (hi-lo)/2
		for l.used[orderedID(mid)] && mid > lo+1 {
			mid = lo + (mid-lo)/2
		}
		if mid <= lo || l.used[orderedID(mid)] {
			panic("fakeList: no id left between two neighbours")
		}
		id = orderedID(mid)
		if l.used == nil {
			l.used = map[string]bool{}
		}
		l.used[id] = true
	}
	l.items = slices.Insert(l.items, i, id)
}

func (l *fakeList) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.items)
}

// result is what a read handed over and reported.
type result struct {
	mu       sync.Mutex
	got      map[string]int
	commits  []int
	ended    bool
	repairs  int
	unstable []string
}

func testReader(l *fakeList, parallel int, res *result) *listReader[string] {
	res.got = map[string]int{}
	return &listReader[string]{
		name: "test", size: 100, fetch: l.fetch, key: func(s string) string { return s }, parallel: parallel,
		process: func(_ context.Context, _ int, items []string) error {
			res.mu.Lock()
			defer res.mu.Unlock()
			for _, it := range items {
				res.got[it]++
			}
			return nil
		},
		commit: func(next int, _ []string, ended bool) {
			res.mu.Lock()
			defer res.mu.Unlock()
			res.commits = append(res.commits, next)
			res.ended = ended
		},
		repaired: func(n int) { res.mu.Lock(); res.repairs += n; res.mu.Unlock() },
		unstable: func(r string) { res.mu.Lock(); res.unstable = append(res.unstable, r); res.mu.Unlock() },
	}
}

// missing lists the items present both before and after the read that it did not hand over.
func missing(before, after []string, got map[string]int) []string {
	in := map[string]bool{}
	for _, id := range after {
		in[id] = true
	}
	var out []string
	for _, id := range before {
		if in[id] && got[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

func TestReadStillListOverlapsPagesAndHandsEachItemOnce(t *testing.T) {
	l := newFakeList(1050)
	var res result
	if err := testReader(l, 4, &res).read(context.Background(), 0, nil, false); err != nil {
		t.Fatal(err)
	}
	// Pages start at 0, 99, 198, ..., 990: 11 requests, each page sharing one item with the
	// one before.
	if l.fetches != 11 || res.repairs != 0 {
		t.Fatalf("%d requests, %d repairs; want 11 and 0", l.fetches, res.repairs)
	}
	if len(res.got) != 1050 {
		t.Fatalf("handed over %d items, want 1050", len(res.got))
	}
	for id, n := range res.got {
		if n != 1 {
			t.Fatalf("item %s handed over %d times", id, n)
		}
	}
	if !res.ended || res.commits[len(res.commits)-1] != 1089 {
		t.Fatalf("last commit %v ended=%v; want 1089 and ended", res.commits, res.ended)
	}
}

func TestReadSmallAndExactLists(t *testing.T) {
	for _, n := range []int{0, 1, 99, 100, 101, 199, 200} {
		l := newFakeList(n)
		var res result
		if err := testReader(l, 2, &res).read(context.Background(), 0, nil, false); err != nil {
			t.Fatal(err)
		}
		// Only a short page ends a list: a list of exactly 100 (or 199, ...) items takes one
		// request more, whose empty or short answer proves the end.
		want := 1
		if n >= 100 {
			want = (n-100)/99 + 2
		}
		if len(res.got) != n || l.fetches != want || !res.ended {
			t.Errorf("n=%d: handed %d, %d requests (want %d), ended=%v", n, len(res.got), l.fetches, want, res.ended)
		}
	}
}

func TestReadRepairsADeletionBeforeABoundary(t *testing.T) {
	l := newFakeList(300)
	// After the first page, delete an item it held: every later item shifts left by one and
	// the item at the first boundary would fall between the pages.
	l.before = func(n int, l *fakeList) {
		if n == 2 {
			l.delete(5)
		}
	}
	before := l.snapshot()
	var res result
	if err := testReader(l, 1, &res).read(context.Background(), 0, nil, false); err != nil {
		t.Fatal(err)
	}
	if m := missing(before, l.snapshot(), res.got); len(m) > 0 {
		t.Fatalf("missed %v", m)
	}
	if res.repairs == 0 || len(res.unstable) > 0 {
		t.Fatalf("repairs %d unstable %v; want a repair and a stable read", res.repairs, res.unstable)
	}
	if res.repairs > 2 {
		t.Errorf("%d repair reads for one deletion", res.repairs)
	}
}

func TestReadInsertionsNeedNoRepair(t *testing.T) {
	l := newFakeList(300)
	l.before = func(n int, l *fakeList) {
		if n == 2 {
			l.insert(0)
			l.insert(50)
		}
	}
	before := l.snapshot()
	var res result
	if err := testReader(l, 1, &res).read(context.Background(), 0, nil, false); err != nil {
		t.Fatal(err)
	}
	if m := missing(before, l.snapshot(), res.got); len(m) > 0 {
		t.Fatalf("missed %v", m)
	}
	if res.repairs != 0 {
		t.Errorf("%d repairs; insertions before a boundary keep the overlap", res.repairs)
	}
}

func TestReadListThatGrowsPastThePlannedPages(t *testing.T) {
	l := newFakeList(250)
	l.before = func(n int, l *fakeList) {
		if n == 2 {
			for range 150 {
				l.insert(len(l.items))
			}
		}
	}
	var res result
	if err := testReader(l, 1, &res).read(context.Background(), 0, nil, false); err != nil {
		t.Fatal(err)
	}
	if len(res.got) != 400 || !res.ended {
		t.Fatalf("handed %d of 400, ended=%v", len(res.got), res.ended)
	}
}

// A property test: random deletions (half of them in the first pages) and insertions
// between requests, pages in parallel. Whatever happens, every item that existed for the
// whole read is handed over, unless the read says the list was unstable.
func TestReadUnderChurnNeverMissesAStableItem(t *testing.T) {
	unstable := 0
	for seed := range 300 {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		l := newFakeList(200 + rng.IntN(900))
		l.before = func(n int, l *fakeList) {
			for range rng.IntN(3) {
				if len(l.items) == 0 {
					break
				}
				switch rng.IntN(3) {
				case 0:
					l.delete(rng.IntN(min(len(l.items), 150)))
				case 1:
					l.delete(rng.IntN(len(l.items)))
				default:
					l.insert(rng.IntN(len(l.items) + 1))
				}
			}
		}
		before := l.snapshot()
		var res result
		if err := testReader(l, 1+rng.IntN(6), &res).read(context.Background(), 0, nil, false); err != nil {
			t.Fatal(err)
		}
		if len(res.unstable) > 0 {
			unstable++
			continue
		}
		if m := missing(before, l.snapshot(), res.got); len(m) > 0 {
			t.Fatalf("seed %d: missed %d stable items (%v) without reporting the list unstable", seed, len(m), m[:min(5, len(m))])
		}
	}
	if unstable > 15 {
		t.Errorf("%d of 300 reads gave up; repairs should close nearly every gap", unstable)
	}
}

func TestReadResumesFromTheCheckpointTail(t *testing.T) {
	l := newFakeList(500)
	var first result
	r := testReader(l, 1, &first)
	var tail []string
	next := 0
	r.commit = func(n int, t []string, _ bool) { next, tail = n, slices.Clone(t) }
	l.fail = map[int]error{297: errors.New("boom")}
	if err := r.read(context.Background(), 0, nil, false); err == nil {
		t.Fatal("want the failure")
	}
	if next != 297 || len(tail) != tailLen {
		t.Fatalf("checkpoint at %d with tail %v; want 297 and %d ids", next, tail, tailLen)
	}
	// Between attempts, three items before the checkpoint are deleted: the resumed read must
	// still reach the items that slid back across it.
	l.mu.Lock()
	l.fail = nil
	l.delete(10)
	l.delete(20)
	l.delete(30)
	l.mu.Unlock()
	before := l.snapshot()
	var second result
	if err := testReader(l, 2, &second).read(context.Background(), next, tail, false); err != nil {
		t.Fatal(err)
	}
	for id := range first.got {
		second.got[id]++
	}
	if m := missing(before, l.snapshot(), second.got); len(m) > 0 {
		t.Fatalf("missed %v after resuming", m)
	}
	if second.repairs == 0 {
		t.Error("the shifted list was not repaired")
	}
}

func TestReadNeverCommitsPastAFailedPage(t *testing.T) {
	boom := errors.New("boom")
	for range 50 {
		l := newFakeList(2000)
		l.fail = map[int]error{99 * 7: boom}
		var res result
		err := testReader(l, 6, &res).read(context.Background(), 0, nil, false)
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		for _, c := range res.commits {
			if c > 99*7 {
				t.Fatalf("committed %d past the failed page at %d", c, 99*7)
			}
		}
	}
}

func TestReadReportsAListThatOutrunsItsRepairs(t *testing.T) {
	l := newFakeList(400)
	// Every request after the first replaces every item: no two responses share one, so no
	// page can be linked to another.
	l.before = func(n int, l *fakeList) {
		if n > 1 {
			for i := range l.items {
				l.next++
				l.items[i] = fmt.Sprintf("r%06d", l.next)
			}
		}
	}
	var res result
	if err := testReader(l, 1, &res).read(context.Background(), 0, nil, false); err != nil {
		t.Fatal(err)
	}
	if len(res.unstable) == 0 {
		t.Fatal("a list that moved on every request was not reported unstable")
	}
}

func TestReadAfterTheEndReadsNothing(t *testing.T) {
	l := newFakeList(50)
	var res result
	if err := testReader(l, 1, &res).read(context.Background(), 99, []string{"x"}, true); err != nil {
		t.Fatal(err)
	}
	if l.fetches != 0 {
		t.Fatalf("%d requests after a checkpoint that ended the list", l.fetches)
	}
}

func TestPrefixCommitsOnlyContiguousPages(t *testing.T) {
	var commits []int
	p := newPrefix(0, func(next int, _ []string, _ bool) { commits = append(commits, next) })
	p.finish(200, 300, nil, false) // finished early: nothing before it is done yet
	p.finish(100, 200, nil, false)
	if len(commits) != 0 {
		t.Fatalf("committed past an unfinished page: %v", commits)
	}
	p.finish(0, 100, nil, false)
	p.finish(300, 400, nil, true)
	if fmt.Sprint(commits) != "[300 400]" {
		t.Fatalf("commits = %v, want [300 400]", commits)
	}
}
