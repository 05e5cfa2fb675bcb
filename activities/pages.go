package activities

import "sync"

// prefix tracks which pages of a list finished and commits the end of the contiguous
// finished prefix: a page that finished early never lets a retried attempt skip an
// unfinished page before it.
type prefix struct {
	mu     sync.Mutex
	next   int
	ends   map[int]pageEnd // page start → its end, for finished pages beyond next
	commit func(next int, tail []string, ended bool)
}

// pageEnd is what the checkpoint needs of a finished page.
type pageEnd struct {
	end   int
	tail  []string
	ended bool
}

func newPrefix(start int, commit func(next int, tail []string, ended bool)) *prefix {
	return &prefix{next: start, ends: map[int]pageEnd{}, commit: commit}
}

// finish records the page [start, end) as done and commits the prefix if it grew. commit
// runs under the lock, so checkpoints are recorded in order.
func (p *prefix) finish(start, end int, tail []string, ended bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ends[start] = pageEnd{end: end, tail: tail, ended: ended}
	var last pageEnd
	advanced := false
	for {
		e, ok := p.ends[p.next]
		if !ok {
			break
		}
		delete(p.ends, p.next)
		p.next, last, advanced = e.end, e, true
	}
	if advanced && p.commit != nil {
		p.commit(p.next, last.tail, last.ended)
	}
}
