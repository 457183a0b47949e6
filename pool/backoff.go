package pool

import (
	"math/rand/v2"
	"time"
)

// Backoff is the schedule of delays between attempts to reach a node: the
// first is about Base, each next one doubles, up to Max. Each delay is
// drawn at random between half of its value and all of it, so that the
// many clients of a cluster that lose a node together do not all retry it
// in the same instant. The pools, the sessions' first dials and the
// control connection all use it.
type Backoff struct {
	Base, Max time.Duration
}

// Delay returns the delay before attempt n (counting from 0). A zero Base
// or Max means DefaultReconnectBase or DefaultReconnectMax.
func (b Backoff) Delay(n int) time.Duration {
	base, limit := b.Base, b.Max
	if base <= 0 {
		base = DefaultReconnectBase
	}
	if limit <= 0 {
		limit = DefaultReconnectMax
	}
	d := base
	for range n {
		if d >= limit/2 {
			d = limit
			break
		}
		d *= 2
	}
	d = min(d, limit)
	half := d / 2
	return half + rand.N(d-half+1)
}
