package activities

// Regression tests for the reader: errors, resumes and stuck pages.

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"jcsync/internal/jumpcloud"
)

// The first error a read returns must be the failed page's own error, not the
// "an earlier page failed: context canceled" of the page that waited on it.
func TestReadReturnsTheFailedPagesError(t *testing.T) {
	boom := errors.New("boom")
	wrong := 0
	for i := 0; i < 1000; i++ {
		l := newFakeList(400)
		var res result
		r := testReader(l, 4, &res)
		inner := r.fetch
		r.fetch = func(ctx context.Context, skip int) (jumpcloud.Page[string], error) {
			if skip == 99 {
				time.Sleep(200 * time.Microsecond) // page 99 fails after page 198 is fetched and waiting
				return jumpcloud.Page[string]{}, boom
			}
			return inner(ctx, skip)
		}
		err := r.read(context.Background(), 0, nil, false)
		if !errors.Is(err, boom) {
			wrong++
			if wrong == 1 {
				t.Logf("iteration %d: read returned %v (errors.Is(err, context.Canceled)=%v)", i, err, errors.Is(err, context.Canceled))
			}
		}
	}
	if wrong > 0 {
		t.Fatalf("%d of 1000 reads returned another page's cancellation instead of the failed page's error", wrong)
	}
}

// A crash after the first page was committed, a deletion before the checkpoint, a retry: the
// repair window reaches back into the committed page, whose items must not be handed over (and
// counted) again, or the inflated counts would become the next sync's baseline.
func TestResumedRepairDoesNotRecountCommittedItems(t *testing.T) {
	l := newFakeList(150)
	var first result
	r := testReader(l, 1, &first)
	var tail []string
	next := 0
	r.commit = func(n int, t []string, _ bool) { next, tail = n, slices.Clone(t) }
	l.fail = map[int]error{99: errors.New("boom")}
	if err := r.read(context.Background(), 0, nil, false); err == nil {
		t.Fatal("want the failure")
	}
	l.mu.Lock()
	l.fail = nil
	l.delete(10)
	l.mu.Unlock()
	var second result
	if err := testReader(l, 2, &second).read(context.Background(), next, tail, false); err != nil {
		t.Fatal(err)
	}
	handed := 0
	for _, n := range first.got {
		handed += n
	}
	for _, n := range second.got {
		handed += n
	}
	t.Logf("checkpoint %d; attempt 1 handed %d, attempt 2 handed %d: %d items counted for a list of %d", next, len(first.got), len(second.got), handed, len(l.snapshot()))
	if handed > len(l.snapshot())+1 {
		t.Fatalf("the stage would count %d users read for a list of %d", handed, len(l.snapshot()))
	}
}

// One parent page whose processing is slow and then fails (a group whose members keep
// answering 500 while the client backs off): the read stays within a window of the committed
// prefix, so the parents finished beyond the checkpoint stay few.
func TestReadWaitsForAStuckPage(t *testing.T) {
	l := newFakeList(20000)
	var res result
	r := testReader(l, parentLookahead, &res)
	var mu sync.Mutex
	processed := map[int]bool{}
	r.process = func(ctx context.Context, page int, items []string) error {
		if page == 99 {
			time.Sleep(300 * time.Millisecond)
			return errors.New("members of one group: 500 after retries")
		}
		mu.Lock()
		processed[page] = true
		mu.Unlock()
		return nil
	}
	_ = r.read(context.Background(), 0, nil, false)
	beyond := 0
	for p := range processed {
		if p > 99 {
			beyond++
		}
	}
	t.Logf("committed %v; %d pages (of 100 items each) processed beyond the stuck page", res.commits, beyond)
	if beyond > 2*parentLookahead {
		t.Fatalf("%d parent pages finished beyond the committed prefix while one page was stuck", beyond)
	}
}
