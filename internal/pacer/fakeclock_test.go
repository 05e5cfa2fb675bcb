package pacer

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// fakeClock is a Clock whose time moves only when told to (Advance) or, in a simulation,
// when every actor is blocked (run): it then wakes the earliest sleeper and moves the time
// to its deadline, one sleeper at a time, so a simulation of minutes takes milliseconds and
// never depends on the machine's speed.
type fakeClock struct {
	mu       sync.Mutex
	now      time.Time
	sleepers sleeperHeap
	seq      int
	actors   int
	poke     chan struct{}
	blocked  func() int // actors blocked outside the clock (queued for an in-flight slot)
}

type sleeper struct {
	at    time.Time
	seq   int
	ch    chan struct{}
	index int
}

type sleeperHeap []*sleeper

func (h sleeperHeap) Len() int { return len(h) }
func (h sleeperHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h sleeperHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *sleeperHeap) Push(x any)   { s := x.(*sleeper); s.index = len(*h); *h = append(*h, s) }
func (h *sleeperHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	*h = old[:len(old)-1]
	s.index = -1
	return s
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), poke: make(chan struct{}, 1)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	c.mu.Lock()
	c.seq++
	s := &sleeper{at: c.now.Add(d), seq: c.seq, ch: make(chan struct{})}
	heap.Push(&c.sleepers, s)
	c.mu.Unlock()
	c.notify()
	select {
	case <-s.ch:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		if s.index >= 0 {
			heap.Remove(&c.sleepers, s.index)
		}
		c.mu.Unlock()
		return ctx.Err()
	}
}

func (c *fakeClock) notify() {
	select {
	case c.poke <- struct{}{}:
	default:
	}
}

// sleeping is the number of goroutines in Sleep.
func (c *fakeClock) sleeping() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sleepers)
}

// Advance moves the time by d and wakes every sleeper due by then, earliest first.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for len(c.sleepers) > 0 && !c.sleepers[0].at.After(c.now) {
		close(heap.Pop(&c.sleepers).(*sleeper).ch)
	}
}

// run starts n actors and drives the time until they have all returned. Time moves only
// when all of them are blocked: in Sleep, or queued by blocked. A woken sleeper runs until
// it blocks again before the next one is woken. A sleeper is counted as running from the
// moment it is woken, and an actor queued for an in-flight slot from the moment the slot
// is handed to it, so the count never shows a running actor as blocked.
func (c *fakeClock) run(n int, actor func(i int)) {
	c.mu.Lock()
	c.actors = n
	c.mu.Unlock()
	for i := range n {
		go func() {
			defer func() {
				c.mu.Lock()
				c.actors--
				c.mu.Unlock()
				c.notify()
			}()
			actor(i)
		}()
	}
	for range c.poke {
		c.mu.Lock()
		actors, sleeping := c.actors, len(c.sleepers)
		c.mu.Unlock()
		if actors == 0 {
			return
		}
		blocked := 0
		if c.blocked != nil {
			blocked = c.blocked()
		}
		// Reading the two counts one after the other is safe: only a running actor can
		// raise them or lower the queue, so a sum equal to the actors means none runs.
		if sleeping == 0 || sleeping+blocked < actors {
			continue
		}
		c.mu.Lock()
		s := heap.Pop(&c.sleepers).(*sleeper)
		c.now = s.at
		close(s.ch)
		c.mu.Unlock()
	}
}
