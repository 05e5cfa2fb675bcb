package jumpcloud

import (
	"context"
	"time"

	"jcsync/internal/httpretry"
)

// SetSleep lets external tests observe (and replace) the waits between attempts.
func SetSleep(c *Client, f func(ctx context.Context, d time.Duration) error) { c.loop.Sleep = f }

// RealSleep is the production wait, for tests that record and then really wait.
var RealSleep = httpretry.Sleep
