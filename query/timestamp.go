package query

import (
	"sync/atomic"
	"time"
)

// TimestampGenerator gives client-side write timestamps (the default
// timestamp of QUERY, EXECUTE and BATCH), in microseconds since the epoch.
// Next is called concurrently by every request.
type TimestampGenerator interface {
	Next() int64
}

// NewMonotonicTimestamps returns a generator whose timestamps strictly
// increase across goroutines, even when the clock stands still (two writes
// in one microsecond) or goes back (NTP): each is the later of now and the
// previous one plus 1, so two writes from this client never share a
// timestamp and a later one is never shadowed by an earlier one. It takes
// no lock and allocates nothing.
func NewMonotonicTimestamps() TimestampGenerator {
	return newMonotonic(func() int64 { return time.Now().UnixMicro() })
}

func newMonotonic(now func() int64) *monotonic {
	return &monotonic{now: now}
}

type monotonic struct {
	last atomic.Int64
	now  func() int64
}

func (m *monotonic) Next() int64 {
	now := m.now()
	for {
		last := m.last.Load()
		next := now
		if next <= last {
			next = last + 1
		}
		if m.last.CompareAndSwap(last, next) {
			return next
		}
	}
}
