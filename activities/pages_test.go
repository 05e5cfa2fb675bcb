package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestPrefixCommitsOnlyContiguousPages(t *testing.T) {
	var commits []int
	p := newPrefix(0, func(next int) { commits = append(commits, next) })
	p.finish(200, 300) // finished early: nothing before it is done yet
	p.finish(100, 200)
	if len(commits) != 0 {
		t.Fatalf("committed past an unfinished page: %v", commits)
	}
	p.finish(0, 100)
	p.finish(300, 400)
	if fmt.Sprint(commits) != "[300 400]" {
		t.Fatalf("commits = %v, want [300 400]", commits)
	}
}

func TestWalkPagesFetchesEveryOffsetOnceAndStopsAtTotal(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]int{}
	var last int
	err := walkPages(context.Background(), 0, 100, 4, func(ctx context.Context, skip int) (int, int, error) {
		mu.Lock()
		seen[skip]++
		mu.Unlock()
		n := min(100, 1050-skip)
		return 1050, n, nil
	}, func(next int) { last = next })
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 11 || last != 1100 {
		t.Fatalf("pages %v, last commit %d; want 11 pages and a commit at 1100", seen, last)
	}
	for skip, n := range seen {
		if n != 1 || skip%100 != 0 {
			t.Fatalf("page %d fetched %d times", skip, n)
		}
	}
}

func TestWalkPagesResumesFromStartAndKeepsCheckpointBeforeAFailure(t *testing.T) {
	var mu sync.Mutex
	var commits []int
	boom := errors.New("boom")
	err := walkPages(context.Background(), 300, 100, 1, func(ctx context.Context, skip int) (int, int, error) {
		if skip < 300 {
			t.Errorf("page %d fetched although the walk resumed at 300", skip)
		}
		if skip == 600 {
			return 0, 0, boom
		}
		return 1000, 100, nil
	}, func(next int) {
		mu.Lock()
		commits = append(commits, next)
		mu.Unlock()
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if got := commits[len(commits)-1]; got != 600 {
		t.Fatalf("last commit %d, want 600: the failed page and those after it are not done", got)
	}
}

func TestWalkPagesWithoutTotalStopsOnShortPage(t *testing.T) {
	calls := 0
	err := walkPages(context.Background(), 0, 100, 4, func(ctx context.Context, skip int) (int, int, error) {
		calls++
		if skip == 200 {
			return -1, 40, nil
		}
		return -1, 100, nil
	}, func(int) {})
	if err != nil || calls != 3 {
		t.Fatalf("calls=%d err=%v, want 3 pages", calls, err)
	}
}

func TestFanOutCommitsAParentPageOnlyWhenAllItsChildrenAreDone(t *testing.T) {
	// 250 parents; parent "p-5" has 350 children (4 pages); the others 1 page.
	var mu sync.Mutex
	children := map[string]int{}
	var commits []int
	list := func(ctx context.Context, skip int) ([]string, int, int, error) {
		var keys []string
		for i := skip; i < min(skip+100, 250); i++ {
			keys = append(keys, fmt.Sprintf("p-%d", i))
		}
		return keys, len(keys), 250, nil
	}
	child := func(ctx context.Context, parentSkip int, key string, skip int) (int, int, error) {
		mu.Lock()
		children[fmt.Sprintf("%s@%d", key, skip)]++
		mu.Unlock()
		if key == "p-5" {
			time.Sleep(time.Millisecond) // finish late, after other parents of the same page
			return 350, min(100, 350-skip), nil
		}
		return 10, 10, nil
	}
	err := fanOut(context.Background(), 0, 100, 8, list, child, func(next int) {
		mu.Lock()
		commits = append(commits, next)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(children) != 249+4 {
		t.Fatalf("%d child pages fetched, want 253", len(children))
	}
	for k, n := range children {
		if n != 1 {
			t.Fatalf("child page %s fetched %d times", k, n)
		}
	}
	if fmt.Sprint(commits) != "[100 200 300]" {
		t.Fatalf("commits %v, want [100 200 300]", commits)
	}
}

func TestFanOutFailureDoesNotCommitTheFailingPage(t *testing.T) {
	var commits []int
	var mu sync.Mutex
	boom := errors.New("boom")
	list := func(ctx context.Context, skip int) ([]string, int, int, error) {
		var keys []string
		for i := skip; i < skip+100; i++ {
			keys = append(keys, fmt.Sprint(i))
		}
		return keys, len(keys), 300, nil
	}
	child := func(ctx context.Context, parentSkip int, key string, skip int) (int, int, error) {
		if key == "150" {
			return 0, 0, boom
		}
		return 1, 1, nil
	}
	err := fanOut(context.Background(), 0, 100, 4, list, child, func(next int) {
		mu.Lock()
		commits = append(commits, next)
		mu.Unlock()
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	for _, c := range commits {
		if c > 100 {
			t.Fatalf("committed %d past the failed parent page: %v", c, commits)
		}
	}
}

// A child that fails while later parent pages finish first must not let the checkpoint pass
// it: the failing page is marked before the group's context is cancelled. Run many times,
// because the window is a race.
func TestFanOutNeverCommitsPastAFailedPageUnderRace(t *testing.T) {
	boom := errors.New("boom")
	for trial := 0; trial < 300; trial++ {
		var mu sync.Mutex
		var commits []int
		list := func(ctx context.Context, skip int) ([]string, int, int, error) {
			return []string{fmt.Sprint(skip)}, 100, 1000, nil
		}
		child := func(ctx context.Context, parentSkip int, key string, skip int) (int, int, error) {
			if parentSkip == 100 {
				return 0, 0, boom
			}
			return 1, 1, nil
		}
		err := fanOut(context.Background(), 0, 100, 4, list, child, func(next int) {
			mu.Lock()
			commits = append(commits, next)
			mu.Unlock()
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		for _, c := range commits {
			if c > 100 {
				t.Fatalf("trial %d committed %d past the failed page at 100: %v", trial, c, commits)
			}
		}
	}
}

// Without a total, a short page ends the walk: counted in items the API returned, not in
// keys the transform kept.
func TestFanOutWithoutTotalCountsRawItems(t *testing.T) {
	pages := 0
	list := func(ctx context.Context, skip int) ([]string, int, int, error) {
		pages++
		if skip == 200 {
			return nil, 10, -1, nil
		}
		return []string{"kept"}, 100, -1, nil // 99 items dropped by the transform
	}
	child := func(ctx context.Context, parentSkip int, key string, skip int) (int, int, error) { return 1, 1, nil }
	if err := fanOut(context.Background(), 0, 100, 2, list, child, func(int) {}); err != nil {
		t.Fatal(err)
	}
	if pages != 3 {
		t.Fatalf("read %d parent pages, want 3", pages)
	}
}
