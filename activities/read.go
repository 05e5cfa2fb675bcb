package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"jcsync/internal/jumpcloud"
)

// The list reader. JumpCloud lists are paged by offset (skip), and offsets move while the org
// changes: a deletion before a page boundary shifts every later item one place to the left,
// so the item that stood at the boundary is in neither page. A sweep after such a read would
// delete it from Authomize although it still exists. The reader makes that impossible
// without giving up concurrent pages:
//
//   - Pages overlap by one item: page k starts at the last item of page k-1 (stride = page
//     size − 1). Each page is a contiguous run of the list at the moment it was served.
//   - Two runs that share an item leave no gap between them: every item that existed at both
//     moments and lies between the start of the first and the end of the second is in one of
//     them. This holds for any order in which items never overtake each other (JumpCloud's
//     _id sort, or a member list's storage order), so it needs no comparison of ids.
//   - So each page must share an item with the page before it (its "link"), the first page
//     starts the list (skip 0, or the checkpoint's tail), and the last page must prove the end
//     (its own response says nothing lies beyond it). Then every object that existed for the
//     whole read was handed to process.
//   - A page that does not link is repaired, not given up on: fresh windows are read from the
//     earlier page's offset on, each linked to the one before, until one links to the page or
//     ends the list. One extra request per change, typically.
//   - Only a list that keeps moving faster than it can be re-read is reported unstable, and
//     the sync then skips its sweep: the last resort, counted and shown.
//
// Items seen twice (the overlap, a repair window) are handed to process once.

// maxRepairReads bounds the windows read to repair one broken link.
const maxRepairReads = 10

// tailLen is how many ids of the last committed page the checkpoint keeps, for the first
// page of a resumed attempt to link to.
const tailLen = 8

// errListGone is returned by a fetch when the list's owner (a group, an app) no longer exists.
var errListGone = errors.New("list no longer exists")

// listReader reads one list. T is the item type; key identifies an item within the list.
type listReader[T any] struct {
	name  string // for messages: "users", "members of group …"
	size  int    // the page size asked of JumpCloud
	fetch func(ctx context.Context, skip int) (jumpcloud.Page[T], error)
	key   func(T) string
	// process receives each item once, in batches; page is the offset of the page whose
	// checkpoint tally the batch belongs to.
	process func(ctx context.Context, page int, items []T) error
	// commit, when set, is told the end of the contiguous prefix of finished pages, the ids
	// of the last of them and whether it ended the list.
	commit func(next int, tail []string, ended bool)
	// parallel bounds the pages in flight (fetch, link, process).
	parallel int
	// skipped, when set, is told what the client left out of the page at skip: the records
	// JumpCloud sent that it could not use and the fields it left out of usable ones, by
	// reason, and the ids of the records left out that exist (see jumpcloud.Page.Skipped,
	// Adjusted and Unreadable). Its error fails the fetch.
	skipped func(ctx context.Context, skip int, left leftOut) error
	// first, when set, is told the list's total as the first page of this read gave it.
	first func(total int)
	// changed is told once when the list's total moves during the read; repaired counts the
	// windows read to repair links; unstable says a list could not be proven complete.
	changed  func(list string, first, now int)
	repaired func(reads int)
	unstable func(reason string)
}

// leftOut is what the client left out of one page: records by reason (skipped), fields of
// records it kept by reason (adjusted), and the ids of the records it left out that exist.
type leftOut struct {
	skipped, adjusted map[string]int
	unreadable        []string
}

// run is what the reader keeps of one page: its ids and what its response said of the end.
type run struct {
	skip  int
	ids   []string
	total int
	ends  bool
}

// links reports whether two runs share an item. A record without an id proves nothing.
func links(a, b *run) bool {
	if a == nil || b == nil {
		return false
	}
	small, big := a, b
	if len(small.ids) > len(big.ids) {
		small, big = big, small
	}
	set := make(map[string]struct{}, len(big.ids))
	for _, id := range big.ids {
		set[id] = struct{}{}
	}
	for _, id := range small.ids {
		if _, ok := set[id]; ok && id != "" {
			return true
		}
	}
	return false
}

// lastShared is the index in b of the last item a also holds; -1 when they share none.
func lastShared(a, b *run) int {
	in := make(map[string]struct{}, len(a.ids))
	for _, id := range a.ids {
		in[id] = struct{}{}
	}
	for i := len(b.ids) - 1; i >= 0; i-- {
		if _, ok := in[b.ids[i]]; ok && b.ids[i] != "" {
			return i
		}
	}
	return -1
}

// slot is one page of a read in flight.
type slot[T any] struct {
	skip     int
	fetched  chan struct{} // closed when page/items/err are set
	linked   chan struct{} // closed when the link to the previous page is settled
	finished chan struct{} // closed when the page is handed over and recorded
	page     *run
	items    []T
	err      error
	// ended is true when this page or an earlier one proved the end of the list.
	ended bool
}

func newSlot[T any](skip int) *slot[T] {
	return &slot[T]{skip: skip, fetched: make(chan struct{}), linked: make(chan struct{}), finished: make(chan struct{})}
}

func (r *listReader[T]) stride() int { return max(1, r.size-1) }

// fetchPage fetches the page at skip and tells skipped what the client could not use.
func (r *listReader[T]) fetchPage(ctx context.Context, skip int) (*run, []T, error) {
	p, err := r.fetch(ctx, skip)
	if err != nil {
		return nil, nil, err
	}
	// The keys of every record received, usable or not: a record the client had to skip
	// still holds its place in the list, and may be the one two pages share.
	ids := p.Keys
	if ids == nil {
		ids = make([]string, len(p.Items))
		for i, it := range p.Items {
			ids[i] = r.key(it)
		}
	}
	n := p.Received()
	ends := n == 0
	if p.Total >= 0 {
		ends = ends || skip+n >= p.Total
	} else {
		ends = ends || n < r.size
	}
	if (len(p.Skipped) > 0 || len(p.Adjusted) > 0) && r.skipped != nil {
		if err := r.skipped(ctx, skip, leftOut{p.Skipped, p.Adjusted, p.Unreadable}); err != nil {
			return nil, nil, err
		}
	}
	return &run{skip: skip, ids: ids, total: p.Total, ends: ends}, p.Items, nil
}

// read reads the list from start. A resumed read passes the ids of the last page an earlier
// attempt committed (tail) and whether that page ended the list.
func (r *listReader[T]) read(ctx context.Context, start int, tail []string, ended bool) error {
	if ended {
		return nil
	}
	var prev *slot[T]
	if start > 0 {
		// The committed page stands in as the previous page of the first one.
		prev = newSlot[T](start - r.stride())
		prev.page = &run{skip: prev.skip, ids: tail, total: -1}
		close(prev.fetched)
		close(prev.linked)
	}
	first := newSlot[T](start)
	first.page, first.items, first.err = r.fetchPage(ctx, start)
	close(first.fetched)
	if first.err != nil {
		return first.err
	}
	if r.first != nil {
		r.first(first.page.total)
	}
	p := &pass[T]{r: r, committed: newPrefix(start, r.commit), firstTotal: first.page.total}
	last, err := p.readPlanned(ctx, prev, first)
	if err != nil {
		return err
	}
	// The list may have grown past the planned pages: go on until a page proves the end.
	for !last.ended {
		if err := ctx.Err(); err != nil {
			return err
		}
		s := newSlot[T](last.skip + r.stride())
		if err := p.readPage(ctx, s, last); err != nil {
			return err
		}
		last = s
	}
	return nil
}

// pass is one read of a list, from its first page on.
type pass[T any] struct {
	r          *listReader[T]
	committed  *prefix
	firstTotal int // the list's total as the first page gave it (-1: unknown)
	changed    sync.Once
}

// readPlanned reads the pages the first total asks for, starting with first (whose previous
// page is prev), and returns the last of them. They run concurrently, but never more than a
// window ahead of the first unfinished one: a stuck page must hold the read back, or the
// pages and finished parents beyond the checkpoint would grow without bound.
func (p *pass[T]) readPlanned(ctx context.Context, prev, first *slot[T]) (*slot[T], error) {
	r := p.r
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, r.parallel))
	start := func(s, before *slot[T]) {
		g.Go(func() error { return p.readPage(gctx, s, before) })
	}
	window := max(2, 2*r.parallel)
	last := first
	start(first, prev)
	recent := []*slot[T]{first}
	if !first.page.ends && p.firstTotal >= 0 {
		for skip := first.skip + r.stride(); skip-r.stride()+r.size < p.firstTotal; skip += r.stride() {
			if len(recent) >= window {
				select {
				case <-recent[len(recent)-window].finished:
				case <-gctx.Done():
				}
				recent = recent[len(recent)-window+1:]
			}
			if gctx.Err() != nil {
				break
			}
			s := newSlot[T](skip)
			start(s, last)
			last = s
			recent = append(recent, s)
		}
	}
	return last, g.Wait()
}

// noteTotal tells the reader, once, that the list's total moved since the first page.
func (p *pass[T]) noteTotal(page *run) {
	if page != nil && p.firstTotal >= 0 && page.total >= 0 && page.total != p.firstTotal && p.r.changed != nil {
		p.changed.Do(func() { p.r.changed(p.r.name, p.firstTotal, page.total) })
	}
}

// readPage fetches one page (unless already fetched), links it to the page before it
// (repairing the link if needed), hands its new items to process and records it as finished.
func (p *pass[T]) readPage(ctx context.Context, s, before *slot[T]) error {
	r := p.r
	select {
	case <-s.fetched:
	default:
		s.page, s.items, s.err = r.fetchPage(ctx, s.skip)
		close(s.fetched)
	}
	if err := p.settleLink(ctx, s, before); err != nil {
		return err
	}
	seen := map[string]struct{}{}
	if before != nil {
		for _, id := range before.page.ids {
			seen[id] = struct{}{}
		}
		if !before.ended && !links(before.page, s.page) {
			if err := r.repair(ctx, before.page, s.page, seen); err != nil {
				return err
			}
		}
	}
	if err := r.handOver(ctx, s.skip, s.items, seen); err != nil {
		return err
	}
	tail := s.page.ids[max(0, len(s.page.ids)-tailLen):]
	p.committed.finish(s.skip, s.skip+r.stride(), tail, s.ended)
	close(s.finished)
	s.items = nil // the ids stay for the next page's link; the items are done with
	return nil
}

// settleLink waits for the page before s to settle its own link, and records whether s or a
// page before it proved the end of the list. The link is settled with the page's error, if
// any: a later page waiting on it returns the same error, so whichever returns first, the
// read fails with the real cause.
func (p *pass[T]) settleLink(ctx context.Context, s, before *slot[T]) (err error) {
	defer func() { s.err = err; close(s.linked) }()
	if s.err != nil {
		return s.err
	}
	p.noteTotal(s.page)
	if before == nil {
		s.ended = s.page.ends
		return nil
	}
	select {
	case <-before.linked:
	case <-ctx.Done():
		return ctx.Err()
	}
	if before.err != nil {
		return before.err
	}
	s.ended = before.ended || s.page.ends
	return nil
}

// handOver passes the items whose keys an earlier page of the same read did not hold (seen)
// to process, and adds this page's keys to seen. Within a page nothing is dropped: records
// without an id, or with an id twice, are for the transform to skip and count.
func (r *listReader[T]) handOver(ctx context.Context, page int, items []T, seen map[string]struct{}) error {
	fresh := make([]T, 0, len(items))
	for _, it := range items {
		if _, ok := seen[r.key(it)]; !ok || r.key(it) == "" {
			fresh = append(fresh, it)
		}
	}
	for _, it := range items {
		seen[r.key(it)] = struct{}{}
	}
	if len(fresh) == 0 {
		return nil
	}
	return r.process(ctx, page, fresh)
}

// repair closes the gap between an earlier page (from) and a later one (to) that share no
// item: windows are read from from's offset on, each linked to the one before it, until one
// shares an item with to or ends the list. Their new items are handed to process with to's
// page. A window that links to nothing means the items moved by more than the overlap: the
// next one is read further back if the list shrank, further on if it grew.
func (r *listReader[T]) repair(ctx context.Context, from, to *run, seen map[string]struct{}) error {
	anchor, skip := from, from.skip
	for reads := 1; reads <= maxRepairReads; reads++ {
		w, items, err := r.fetchPage(ctx, max(0, skip))
		if err != nil {
			return err
		}
		if r.repaired != nil {
			r.repaired(1)
		}
		if w.skip > 0 && !links(anchor, w) {
			if anchor.total >= 0 && w.total > anchor.total {
				skip += r.stride()
			} else {
				skip -= r.stride()
			}
			continue
		}
		// Items up to the last one the window shares with its anchor were read already, by the
		// anchor or by the pages before it (a committed page, after a resume).
		for _, id := range w.ids[:lastShared(anchor, w)+1] {
			seen[id] = struct{}{}
		}
		if err := r.handOver(ctx, to.skip, items, seen); err != nil {
			return err
		}
		if w.ends || links(w, to) {
			return nil
		}
		anchor, skip = w, w.skip+r.stride()
	}
	if r.unstable != nil {
		r.unstable(fmt.Sprintf("%s kept changing near offset %d: %d re-reads did not close the gap", r.name, to.skip, maxRepairReads))
	}
	return nil
}
