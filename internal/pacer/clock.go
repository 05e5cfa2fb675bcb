package pacer

import (
	"context"
	"time"

	"jcsync/internal/httpretry"
)

// Clock is the pacer's source of time. Tests replace it with a fake clock so that pacing,
// pauses and rate changes can be checked without real sleeps.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx is done, whichever comes first, and returns ctx's error
	// in the latter case. A done ctx wins even when d is not positive.
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// Sleep waits on a timer or ctx (httpretry.Sleep).
func (RealClock) Sleep(ctx context.Context, d time.Duration) error { return httpretry.Sleep(ctx, d) }
