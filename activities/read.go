package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
//     starts the list (skip 0, or the checkpoint's tail), and the last page must prove the end:
//     only a page shorter than the limit does. A total is a separate count that can lag the
//     items served with it, so a full page never ends a list, whatever the total says, and a
//     short page ends it even below the total (which may count records the list does not
//     serve). Then every object that existed for the whole read was handed to process.
//   - A page that does not link is repaired, not given up on: fresh windows are read from the
//     earlier page's offset on, each linked to the one before, until one links to the page or
//     ends the list. One extra request per change, typically. A window after one whose last
//     record has no readable id starts at its last readable one, so such a record at a page
//     boundary costs a request, not the list.
//   - Only a list that keeps moving faster than it can be re-read is reported unstable, and
//     the sync then skips its sweep: the last resort, counted and shown.
//   - Lists sorted by id (the stage lists) are resumed from a checkpoint: everything up to its
//     last readable id was counted, so nothing up to it is handed over again, and a window
//     that starts at or before it links to the committed pages even if their last ids are gone.
//   - Lists whose order JumpCloud does not document (members, bindings) can reorder: an item
//     removed and re-added may come back elsewhere, overtaking others. Their pages are read
//     one after another, and a list of more than one page has its first page read again at
//     the end (see reorders).
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
	// short, when set, is told once when the page that ended the list fell short of the total
	// it gave (see fetchPage).
	short func(list string, served, total int)
	// ordered says the list is sorted by key (JumpCloud's id sort; keys compare as strings,
	// as 24-hex ObjectIds do). Only ordered lists are resumed from a checkpoint: the key
	// order tells a retried attempt what the committed pages counted.
	ordered bool
	// reorders says the list's order is not documented and an item removed and re-added may
	// come back at another place (a group's members, an app's bindings). Such a move can
	// carry an item from a page not yet read into one already read, and no link would show
	// it. So the pages are read one after another, never a later one first, which covers a
	// re-added item that goes to the end (storage order), and a list that needed more than
	// one page has its first page read again at the end, which covers one that goes to the
	// front; what that page holds and the read did not is handed over. Such lists are short
	// (one group's members): every key handed over is remembered, and nothing is handed over
	// twice.
	reorders bool
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
	// prefix marks the stand-in for the pages an earlier attempt committed (its ids are the
	// checkpoint's tail, at their offsets).
	prefix bool
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

// lastReadable is the index of r's last record with a readable id; -1 when it has none.
func lastReadable(r *run) int {
	for i := len(r.ids) - 1; i >= 0; i-- {
		if r.ids[i] != "" {
			return i
		}
	}
	return -1
}

// firstReadable is r's first readable id, "" when it has none.
func firstReadable(r *run) string {
	for _, id := range r.ids {
		if id != "" {
			return id
		}
	}
	return ""
}

// step is the offset of the page that links to r, relative to r: its last readable record.
// When r's last record has no readable id (a record that does not decode), the next page
// starting on it could share nothing with r that proves the link.
func (r *listReader[T]) step(w *run) int {
	if i := lastReadable(w); i >= 0 && i < len(w.ids)-1 {
		return max(1, i)
	}
	return r.stride()
}

// inOrder reports whether r's readable ids never decrease.
func inOrder(r *run) bool {
	last := ""
	for _, id := range r.ids {
		if id == "" {
			continue
		}
		if id < last {
			return false
		}
		last = id
	}
	return true
}

// keysInOrder reports whether the readable keys of items ascend.
func keysInOrder[T any](items []T, key func(T) string) bool {
	last := ""
	for _, it := range items {
		k := key(it)
		if k == "" {
			continue
		}
		if k < last {
			return false
		}
		last = k
	}
	return true
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
//
// Only a short page ends the list. The total is not the end: JumpCloud counts it apart from
// the items it serves, so it can lag an insertion (a full page at the total is followed by
// more), and it may count records the list does not serve (a short page below it is still
// the end). A short page below its total is reported (short), not repaired: no re-read would
// find what the list does not serve, and a list judged unstable on every sync is never swept.
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
	if (len(p.Skipped) > 0 || len(p.Adjusted) > 0) && r.skipped != nil {
		if err := r.skipped(ctx, skip, leftOut{p.Skipped, p.Adjusted, p.Unreadable}); err != nil {
			return nil, nil, err
		}
	}
	return &run{skip: skip, ids: ids, total: p.Total, ends: n < r.size}, p.Items, nil
}

// read reads the list from start. A resumed read passes the ids of the last page an earlier
// attempt committed (tail) and whether that page ended the list. In an ordered list the last
// readable id of the tail says what the committed pages counted, and a tail without one is
// refused (the stage starts over instead: see resumeFrom). An unordered list resumed from a
// tail is not de-duplicated against the committed pages; the stages resume only ordered ones.
func (r *listReader[T]) read(ctx context.Context, start int, tail []string, ended bool) error {
	if ended {
		return nil
	}
	p := &pass[T]{r: r, committed: newPrefix(start, r.commit), endAt: -1}
	if r.reorders {
		r.parallel = 1
		p.handed = map[string]struct{}{}
	}
	var prev *slot[T]
	if start > 0 {
		// The committed page stands in as the previous page of the first one. It was full
		// (a short page ends the list), so the tail holds its last ids, up to the offset start.
		ids := append(make([]string, max(0, r.size-len(tail))), tail...)
		prev = newSlot[T](start - len(ids) + 1)
		prev.page = &run{skip: prev.skip, ids: ids, total: -1, prefix: true}
		close(prev.fetched)
		close(prev.linked)
		if l := lastReadable(prev.page); r.ordered && l >= 0 {
			p.floor = ids[l]
		} else if r.ordered {
			return fmt.Errorf("%s: resume at offset %d: %w", r.name, start, errNoFloor)
		}
	}
	first := newSlot[T](start)
	first.page, first.items, first.err = p.fetchPage(ctx, start)
	close(first.fetched)
	if first.err != nil {
		return first.err
	}
	if r.first != nil {
		r.first(first.page.total)
	}
	p.firstTotal = first.page.total
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
	if r.reorders && !first.page.ends {
		return p.confirmFirst(ctx)
	}
	return nil
}

// errNoFloor refuses a resume whose checkpoint names no readable id to continue after.
var errNoFloor = errors.New("the checkpoint's tail holds no readable id")

// pass is one read of a list, from its first page on.
type pass[T any] struct {
	r          *listReader[T]
	committed  *prefix
	firstTotal int // the list's total as the first page gave it (-1: unknown)
	changed    sync.Once
	short      sync.Once
	// floor is, in a resumed read of an ordered list, the last readable id of the committed
	// pages: every item up to it was counted by them, and is not handed over again.
	floor string
	// endAt is the lowest offset of a page found to end the list (-1: none yet): no planned
	// page beyond it is started.
	mu    sync.Mutex
	endAt int
	// handed holds every key handed over, for lists that reorder (see listReader.reorders).
	handed map[string]struct{}
}

// fetchPage fetches one page of the pass and notes what it says of the list's end and order.
func (p *pass[T]) fetchPage(ctx context.Context, skip int) (*run, []T, error) {
	r := p.r
	page, items, err := r.fetchPage(ctx, skip)
	if err != nil {
		return nil, nil, err
	}
	if page.ends {
		p.mu.Lock()
		if p.endAt < 0 || skip < p.endAt {
			p.endAt = skip
		}
		p.mu.Unlock()
		if n := len(page.ids); page.total >= 0 && skip+n < page.total && r.short != nil {
			p.short.Do(func() { r.short(r.name, skip+n, page.total) })
		}
	}
	// The resume and the links of an ordered list rest on its order: a page out of order
	// means they cannot be trusted, and the run must not sweep.
	if r.ordered && !inOrder(page) && r.unstable != nil {
		r.unstable(fmt.Sprintf("%s: the page at offset %d is not in id order", r.name, skip))
	}
	return page, items, nil
}

// endedBefore reports whether a page before skip was found to end the list.
func (p *pass[T]) endedBefore(skip int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.endAt >= 0 && p.endAt < skip
}

// linked reports whether the run b links to the run a before it: they share an item, or a
// is the committed prefix of an ordered list and b starts at or before its last id and goes
// past it (or ends the list). In an ordered list each run holds every item between its first
// and last ids, so such a b leaves nothing between the prefix and itself, even when the
// prefix's last ids were deleted.
func (p *pass[T]) linked(a, b *run) bool {
	if p.r.reorders {
		// An item removed and re-added moves to another place; one that moved from a into
		// b's region links nothing. b must start inside a (see listReader.reorders).
		f := firstReadable(b)
		return f != "" && slices.Contains(a.ids, f)
	}
	if links(a, b) {
		return true
	}
	if a == nil || b == nil || !a.prefix || p.floor == "" {
		return false
	}
	f, l := firstReadable(b), lastReadable(b)
	return f != "" && f <= p.floor && (b.ids[l] >= p.floor || b.ends)
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
		// A page that reaches the total exactly is full, and a full page does not end the
		// list: the page after it is planned too.
		for skip := first.skip + r.stride(); skip-r.stride()+r.size <= p.firstTotal; skip += r.stride() {
			if len(recent) >= window {
				select {
				case <-recent[len(recent)-window].finished:
				case <-gctx.Done():
				}
				recent = recent[len(recent)-window+1:]
			}
			if gctx.Err() != nil || p.endedBefore(skip) {
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
		s.page, s.items, s.err = p.fetchPage(ctx, s.skip)
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
		if !before.ended && !p.linked(before.page, s.page) {
			fresh, items, err := p.repair(ctx, before.page, s.page, seen)
			if err != nil {
				return err
			}
			if fresh != nil {
				// Read again after the repair (a list that reorders): the later page takes the
				// place of the first read. Pages of such a list run one at a time, so no page
				// after this one has looked at its end yet.
				s.page, s.items, s.ended = fresh, items, before.ended || fresh.ends
			}
		}
	}
	if err := p.handOver(ctx, s.skip, s.items, seen, p.lastKey(before), ""); err != nil {
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

// lastKey is, in an ordered list, the last readable key of the slot's page ("" otherwise):
// the pages up to it handed over every key up to it.
func (p *pass[T]) lastKey(s *slot[T]) string {
	if s == nil {
		return ""
	}
	return p.lastKeyOf(s.page)
}

func (p *pass[T]) lastKeyOf(r *run) string {
	if l := lastReadable(r); p.r.ordered && l >= 0 {
		return r.ids[l]
	}
	return ""
}

// handOver passes the items whose keys an earlier page of the same read did not hold (seen)
// to process, and adds this page's keys to seen. Within a page nothing is dropped: records
// without an id, or with an id twice, are for the transform to skip and count. Also left
// out, in an ordered list, keys up to after (the pages before handed them over: after a
// resume, the committed ones) and beyond upTo (a repair window reaching past the page it
// repairs: the next page hands those over); and, in a list that reorders, any key handed
// over before. So an ordered list hands each key over once, and so does one that reorders.
func (p *pass[T]) handOver(ctx context.Context, page int, items []T, seen map[string]struct{}, after, upTo string) error {
	r := p.r
	if r.ordered && !keysInOrder(items, r.key) {
		// The order the filters rest on does not hold on this page (the list is reported
		// unstable, so the run does not sweep): hand over what no page of this read holds,
		// rather than leave out records that exist. At worst a record is counted twice.
		after, upTo = "", ""
	}
	fresh := make([]T, 0, len(items))
	p.mu.Lock()
	for _, it := range items {
		k := r.key(it)
		if k != "" {
			if _, ok := seen[k]; ok {
				continue
			}
			if after != "" && k <= after || upTo != "" && k > upTo {
				continue
			}
			if p.handed != nil {
				if _, ok := p.handed[k]; ok {
					continue
				}
				p.handed[k] = struct{}{}
			}
		}
		fresh = append(fresh, it)
	}
	p.mu.Unlock()
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
//
// When from's last record has no readable id, the first window starts at its last readable
// one instead, and so does each next window after one that ends so: a record without an id
// proves no link, and windows stepping past it by the stride would never share anything.
//
// It returns the page that replaces to when to had to be read again (lists that reorder).
func (p *pass[T]) repair(ctx context.Context, from, to *run, seen map[string]struct{}) (*run, []T, error) {
	r := p.r
	// In an ordered list, keys past to's last one are the next page's to hand over (or, when
	// to ended the list, came after it and are not needed).
	upTo := p.lastKeyOf(to)
	anchor, skip := from, from.skip
	if l := lastReadable(from); l >= 0 && l < len(from.ids)-1 {
		skip = from.skip + l
	}
	var fresh *run
	var freshItems []T
	for reads := 1; reads <= maxRepairReads; reads++ {
		w, items, err := p.fetchPage(ctx, max(0, skip))
		if err != nil {
			return nil, nil, err
		}
		if r.repaired != nil {
			r.repaired(1)
		}
		if w.skip > 0 && !p.linked(anchor, w) {
			skip += p.shift(anchor, w)
			continue
		}
		// Items up to the last one the window shares with its anchor were read already, by the
		// anchor or by the pages before it (a committed page, after a resume). Not so in a list
		// that reorders, where the last shared item may have moved past others: there the keys
		// handed over are known exactly.
		if !r.reorders {
			for _, id := range w.ids[:lastShared(anchor, w)+1] {
				seen[id] = struct{}{}
			}
		}
		if err := p.handOver(ctx, to.skip, items, seen, p.lastKeyOf(from), upTo); err != nil {
			return nil, nil, err
		}
		if w.ends {
			return fresh, freshItems, nil
		}
		if p.linked(w, to) {
			if !r.reorders {
				return fresh, freshItems, nil
			}
			// In a list that reorders, pages must be read in order: an item that moved to the
			// end after to was read, while the windows were, would be in no page. So to is read
			// again, after the windows, and takes the place of the first read.
			t, ti, err := p.fetchPage(ctx, to.skip)
			if err != nil {
				return nil, nil, err
			}
			if r.repaired != nil {
				r.repaired(1)
			}
			reads++
			to, fresh, freshItems = t, t, ti
			if p.linked(w, to) {
				return fresh, freshItems, nil
			}
		}
		anchor, skip = w, w.skip+r.step(w)
	}
	if r.unstable != nil {
		r.unstable(fmt.Sprintf("%s kept changing near offset %d: %d re-reads did not close the gap", r.name, to.skip, maxRepairReads))
	}
	return fresh, freshItems, nil
}

// shift is where the next window goes after w failed to link to anchor: back by a stride if
// the list shrank (or w lies past the committed prefix of an ordered list), on by one if it
// grew (or w lies wholly inside that prefix).
func (p *pass[T]) shift(anchor, w *run) int {
	r := p.r
	if anchor.prefix && p.floor != "" {
		if l := lastReadable(w); l >= 0 && w.ids[l] < p.floor && !w.ends {
			return r.stride()
		}
		return -r.stride()
	}
	if anchor.total >= 0 && w.total > anchor.total {
		return r.stride()
	}
	return -r.stride()
}

// confirmFirst reads the first page of a list that reorders again, after the rest: an item
// removed during the read and re-added at the front is there, though no page read before
// held it. Whatever it holds that the read did not hand over is handed over now.
func (p *pass[T]) confirmFirst(ctx context.Context) error {
	page, items, err := p.fetchPage(ctx, 0)
	if err != nil {
		return err
	}
	p.noteTotal(page)
	return p.handOver(ctx, 0, items, map[string]struct{}{}, "", "")
}
