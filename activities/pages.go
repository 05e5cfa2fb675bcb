package activities

import (
	"context"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// The page engine: JumpCloud lists are read at known offsets (skip), so once the first page
// has told us the total, the remaining pages can be fetched concurrently. The rate limiter in
// the JumpCloud client sets the pace; the concurrency bound here only caps pages in flight
// (and so memory). The checkpoint advances only over a contiguous prefix of finished pages:
// a page that finished early never lets a retried attempt skip an unfinished page before it.

// pageFunc fetches, transforms and uploads the page at skip. It reports the list's total
// (-1 when the API did not say) and how many items the page held.
type pageFunc func(ctx context.Context, skip int) (total, n int, err error)

// prefix tracks which pages finished and reports the end of the contiguous finished prefix.
type prefix struct {
	mu     sync.Mutex
	next   int
	ends   map[int]int // page start → page end, for finished pages beyond next
	commit func(next int)
}

func newPrefix(start int, commit func(next int)) *prefix {
	return &prefix{next: start, ends: map[int]int{}, commit: commit}
}

// finish records the page [start, end) as done and commits the prefix if it grew. commit
// runs under the lock, so checkpoints are recorded in order.
func (p *prefix) finish(start, end int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ends[start] = end
	advanced := false
	for {
		e, ok := p.ends[p.next]
		if !ok {
			break
		}
		delete(p.ends, p.next)
		p.next = e
		advanced = true
	}
	if advanced {
		p.commit(p.next)
	}
}

// walkPages processes every page of a list from start on. The first page is fetched alone to
// learn the total; the others follow with at most concurrency pages in flight. Without a
// total it pages sequentially until a short page.
func walkPages(ctx context.Context, start, pageSize, concurrency int, page pageFunc, commit func(next int)) error {
	tr := newPrefix(start, commit)
	total, n, err := page(ctx, start)
	if err != nil {
		return err
	}
	tr.finish(start, start+pageSize)
	if total < 0 {
		for skip := start + pageSize; n == pageSize; skip += pageSize {
			if _, n, err = page(ctx, skip); err != nil {
				return err
			}
			tr.finish(skip, skip+pageSize)
		}
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, concurrency))
	for skip := start + pageSize; skip < total; skip += pageSize {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if _, _, err := page(gctx, skip); err != nil {
				return err
			}
			tr.finish(skip, skip+pageSize)
			return nil
		})
	}
	return g.Wait()
}

// listFunc reads one page of a parent list (groups, apps) and returns the child keys on it,
// the number of items the page held (keys can be fewer: the transform may drop an item) and
// the list's total (-1 when the API did not say).
type listFunc func(ctx context.Context, skip int) (keys []string, n, total int, err error)

// childFunc processes the child page at skip of one key, found on the parent page at
// parentSkip.
type childFunc func(ctx context.Context, parentSkip int, key string, skip int) (total, n int, err error)

// fanOut walks a parent list page by page and, for every key on it, every page of its
// children (members of a group, bindings of an app). Child pages of all parents share one
// concurrency bound, and a few parent pages are read ahead so the bound stays full. The
// checkpoint is the offset into the parent list: it advances past a parent page only when
// all of its children are uploaded.
// parents lets fanOut skip parents an earlier attempt finished and report the ones it
// finishes, so a checkpoint can be finer than a parent page. Either func may be nil.
type parents struct {
	done   func(parentSkip int, key string) bool // finished by an earlier attempt
	finish func(parentSkip int, key string)      // all children of key uploaded
}

func fanOut(ctx context.Context, start, pageSize, concurrency int, list listFunc, child childFunc, commit func(next int), ps ...parents) error {
	var hooks parents
	if len(ps) > 0 {
		hooks = ps[0]
	}
	const lookahead = 2
	sem := make(chan struct{}, max(1, concurrency))
	acquire := func(ctx context.Context) error {
		select {
		case sem <- struct{}{}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	release := func() { <-sem }

	childPage := func(ctx context.Context, parentSkip int, key string, skip int) (int, int, error) {
		if err := acquire(ctx); err != nil {
			return 0, 0, err
		}
		defer release()
		return child(ctx, parentSkip, key, skip)
	}
	// parent processes every child page of one key: the first page alone, then the rest
	// concurrently once the total is known.
	parent := func(ctx context.Context, parentSkip int, key string) error {
		total, n, err := childPage(ctx, parentSkip, key, 0)
		if err != nil {
			return err
		}
		if total < 0 {
			for skip := pageSize; n == pageSize; skip += pageSize {
				if _, n, err = childPage(ctx, parentSkip, key, skip); err != nil {
					return err
				}
			}
			return nil
		}
		cg, cctx := errgroup.WithContext(ctx)
		for skip := pageSize; skip < total; skip += pageSize {
			cg.Go(func() error {
				_, _, err := childPage(cctx, parentSkip, key, skip)
				return err
			})
		}
		return cg.Wait()
	}

	type pending struct {
		end    int
		wg     *sync.WaitGroup
		failed *atomic.Bool
	}
	g, gctx := errgroup.WithContext(ctx)
	queue := make(chan pending, lookahead)
	g.Go(func() error {
		// Pages are committed in order, and never past one that failed: a failing child
		// marks its page before the group's context is cancelled, so the pages after it may
		// still look finished here.
		stopped := false
		for p := range queue {
			p.wg.Wait()
			if p.failed.Load() || gctx.Err() != nil {
				stopped = true
			}
			if !stopped {
				commit(p.end)
			}
		}
		return nil
	})
	g.Go(func() error {
		defer close(queue)
		for skip := start; ; skip += pageSize {
			keys, n, total, err := list(gctx, skip)
			if err != nil {
				return err
			}
			p := pending{end: skip + pageSize, wg: &sync.WaitGroup{}, failed: &atomic.Bool{}}
			for _, key := range keys {
				if hooks.done != nil && hooks.done(skip, key) {
					continue
				}
				p.wg.Add(1)
				g.Go(func() error {
					err := parent(gctx, skip, key)
					if err != nil {
						p.failed.Store(true)
					} else if hooks.finish != nil {
						hooks.finish(skip, key)
					}
					p.wg.Done()
					return err
				})
			}
			select {
			case queue <- p:
			case <-gctx.Done():
				return nil
			}
			more := n == pageSize
			if total >= 0 {
				more = skip+pageSize < total
			}
			if !more {
				return nil
			}
		}
	})
	return g.Wait()
}
