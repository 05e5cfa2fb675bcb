package activities

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"jcsync/internal/jumpcloud"
)

// Property: with an unknown total, a crash at a random page and a resume from the checkpoint,
// and churn between every request, no item that existed for the whole sync is missed unless
// a read reports the list unstable.
func TestReadResumedUnderChurnWithoutATotal(t *testing.T) {
	unstable, fails := 0, 0
	for seed := range 3000 {
		rng := rand.New(rand.NewPCG(uint64(seed), 11))
		l := newFakeList(rng.IntN(700))
		noTotal := rng.IntN(2) == 0
		size := 100
		churn := func(n int, l *fakeList) {
			for range rng.IntN(4) {
				if len(l.items) == 0 {
					l.insert(0)
					continue
				}
				switch rng.IntN(4) {
				case 0, 1:
					l.delete(rng.IntN(len(l.items)))
				case 2:
					l.insert(rng.IntN(len(l.items) + 1))
				default:
					l.insert(len(l.items))
				}
			}
		}
		l.before = churn
		failAt := -1
		if rng.IntN(2) == 0 {
			failAt = 99 * (1 + rng.IntN(6))
		}
		boom := errors.New("boom")
		failedOnce := false
		fetch := func(ctx context.Context, skip int) (jumpcloud.Page[string], error) {
			if skip == failAt && !failedOnce {
				failedOnce = true
				return jumpcloud.Page[string]{}, boom
			}
			return l.page(ctx, skip, size, noTotal)
		}
		before := l.snapshot()
		var res1 result
		r := testReader(l, 1+rng.IntN(5), &res1)
		r.size = size
		r.fetch = fetch
		var tail []string
		next, ended := 0, false
		r.commit = func(n int, tl []string, e bool) { next, tail, ended = n, slices.Clone(tl), e }
		err := r.read(context.Background(), 0, nil, false)
		got := map[string]int{}
		for k, v := range res1.got {
			got[k] += v
		}
		uns := len(res1.unstable) > 0
		if err != nil {
			fails++
			// Churn between attempts too.
			l.mu.Lock()
			churn(0, l)
			l.mu.Unlock()
			var res2 result
			r2 := testReader(l, 1+rng.IntN(5), &res2)
			r2.fetch = fetch
			if err := r2.read(context.Background(), next, tail, ended); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			for k, v := range res2.got {
				got[k] += v
			}
			uns = uns || len(res2.unstable) > 0
		}
		if uns {
			unstable++
			continue
		}
		if m := missing(before, l.snapshot(), got); len(m) > 0 {
			t.Fatalf("seed %d (noTotal=%v failAt=%d): missed %d stable items %v", seed, noTotal, failAt, len(m), m[:min(5, len(m))])
		}
	}
	t.Logf("%d resumed, %d unstable", fails, unstable)
}

func sizedFetch(l *fakeList, size int, noTotal bool) func(ctx context.Context, skip int) (jumpcloud.Page[string], error) {
	return func(ctx context.Context, skip int) (jumpcloud.Page[string], error) {
		return l.page(ctx, skip, size, noTotal)
	}
}

func TestReadSmallPagesUnderBurstChurn(t *testing.T) {
	unstable := 0
	for seed := range 20000 {
		rng := rand.New(rand.NewPCG(uint64(seed), 13))
		size := 2 + rng.IntN(12)
		l := newFakeList(rng.IntN(15 * size))
		noTotal := rng.IntN(2) == 0
		burst := 1 + rng.IntN(2*size)
		l.before = func(n int, l *fakeList) {
			if rng.IntN(3) != 0 {
				return
			}
			for range rng.IntN(burst) {
				if len(l.items) == 0 {
					break
				}
				switch rng.IntN(3) {
				case 0, 1:
					l.delete(rng.IntN(len(l.items)))
				default:
					l.insert(rng.IntN(len(l.items) + 1))
				}
			}
		}
		before := l.snapshot()
		var res result
		r := testReader(l, 1+rng.IntN(5), &res)
		r.size = size
		r.fetch = sizedFetch(l, size, noTotal)
		var tail []string
		next, ended := 0, false
		r.commit = func(n int, tl []string, e bool) { next, tail, ended = n, slices.Clone(tl), e }
		failAt := (size - 1) * (1 + rng.IntN(8))
		if rng.IntN(2) == 0 {
			l.fail = map[int]error{failAt: errors.New("boom")}
		}
		got := map[string]int{}
		err := r.read(context.Background(), 0, nil, false)
		for k, v := range res.got {
			got[k] += v
		}
		uns := len(res.unstable) > 0
		if err != nil {
			l.mu.Lock()
			l.fail = nil
			l.mu.Unlock()
			var res2 result
			r2 := testReader(l, 1+rng.IntN(5), &res2)
			r2.size = size
			r2.fetch = sizedFetch(l, size, noTotal)
			if err := r2.read(context.Background(), next, tail, ended); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			for k, v := range res2.got {
				got[k] += v
			}
			uns = uns || len(res2.unstable) > 0
		}
		if uns {
			unstable++
			continue
		}
		if m := missing(before, l.snapshot(), got); len(m) > 0 {
			t.Fatalf("seed %d size %d noTotal=%v: missed %d stable items %v (before %d, after %d)", seed, size, noTotal, len(m), m[:min(5, len(m))], len(before), len(l.snapshot()))
		}
	}
	t.Logf("%d unstable of 20000", unstable)
}
