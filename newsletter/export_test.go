package newsletter

import (
	"context"
	"time"
)

// SetSleep replaces how the engine waits (backoff, retry-after), so tests
// with many injected faults run fast.
func SetSleep(n *Newsletter, sleep func(context.Context, time.Duration) error) { n.sleep = sleep }
