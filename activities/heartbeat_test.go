package activities

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Checkpoints are recorded from several goroutines at once (page commits, finished parents,
// the timer): each takes its snapshot under the lock and records it after. Whatever the
// interleaving, a recorded checkpoint never steps back.
func TestRecordedCheckpointsNeverStepBack(t *testing.T) {
	var mu sync.Mutex
	var recorded []int
	s := &stageRun{record: func(_ context.Context, details ...any) {
		cp := details[0].(Checkpoint)
		mu.Lock()
		recorded = append(recorded, cp.NextSkip)
		mu.Unlock()
		time.Sleep(time.Microsecond) // recording takes a moment, as the SDK's does
	}}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				s.mu.Lock()
				if w%2 == 0 { // a committer moves the cursor; the others are timers
					s.cp.NextSkip += 99
				}
				cp, seq := s.snapshot()
				s.mu.Unlock()
				if i%7 == 0 {
					time.Sleep(time.Microsecond)
				}
				s.beat(cp, seq)
			}
		}()
	}
	wg.Wait()
	for i := 1; i < len(recorded); i++ {
		if recorded[i] < recorded[i-1] {
			t.Fatalf("heartbeat %d of %d stepped back: %d after %d", i, len(recorded), recorded[i], recorded[i-1])
		}
	}
	if len(recorded) == 0 || recorded[len(recorded)-1] != 4*2000*99 {
		t.Fatalf("the last recorded checkpoint is not the last one: %v", recorded[len(recorded)-1:])
	}
}
