package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// ErrThrottled is wrapped by the error of a statement that the session's
// throttle turned away: too many statements were running and waiting
// already, or its time ran out while it waited for its turn (then the
// error wraps context.DeadlineExceeded too). It was not sent to any node.
var ErrThrottled = errors.New("cluster: statement throttled")

// Throttle limits the statements a session runs at once, as a bounded
// admission queue in front of the cluster: a burst beyond what the nodes
// can take waits its turn (first come, first served) or is refused at
// once, instead of queueing without bound on the connections. The zero
// value throttles nothing.
//
// A statement holds one slot while it runs, from its first attempt to its
// answer (a page of a paged query is one statement; its implicit PREPARE
// runs within it). Its wait for a slot counts against its own timeout.
type Throttle struct {
	// MaxInFlight is the number of statements that may run at once. Zero
	// disables the throttle.
	MaxInFlight int
	// MaxQueued is the number of statements that may wait for a slot;
	// more are refused at once with ErrThrottled. Zero means MaxInFlight.
	MaxQueued int
}

// throttler enforces a Throttle.
type throttler struct {
	slots     chan struct{} // one token per running statement
	maxQueued int64
	queued    atomic.Int64
	refused   atomic.Uint64
	// full is the error of a statement refused at once: made once, so
	// that refusing a burst costs no formatting or allocation.
	full error
}

func newThrottler(t Throttle) (*throttler, error) {
	switch {
	case t.MaxInFlight == 0:
		return nil, nil
	case t.MaxInFlight < 0:
		return nil, fmt.Errorf("Throttle.MaxInFlight %d is negative", t.MaxInFlight)
	case t.MaxQueued < 0:
		return nil, fmt.Errorf("Throttle.MaxQueued %d is negative", t.MaxQueued)
	}
	q := t.MaxQueued
	if q == 0 {
		q = t.MaxInFlight
	}
	return &throttler{slots: make(chan struct{}, t.MaxInFlight), maxQueued: int64(q),
		full: fmt.Errorf("%w: %d statements running and %d waiting (Config.Throttle)", ErrThrottled, t.MaxInFlight, q)}, nil
}

// acquire takes a slot, waiting until ctx ends or deadline (zero: none)
// passes. Every nil return must be followed by one release.
func (t *throttler) acquire(ctx context.Context, deadline time.Time) error {
	select {
	case t.slots <- struct{}{}:
		return nil
	default:
	}
	if t.queued.Add(1) > t.maxQueued {
		t.queued.Add(-1)
		t.refused.Add(1)
		return t.full
	}
	defer t.queued.Add(-1)
	var expired <-chan time.Time
	if !deadline.IsZero() {
		wait := time.Until(deadline)
		if wait <= 0 {
			t.refused.Add(1)
			return fmt.Errorf("%w: no slot before the statement's timeout: %w", ErrThrottled, context.DeadlineExceeded)
		}
		timer := time.NewTimer(wait)
		defer timer.Stop()
		expired = timer.C
	}
	select {
	case t.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-expired:
		t.refused.Add(1)
		return fmt.Errorf("%w: no slot within the statement's timeout (%d statements running, Config.Throttle): %w", ErrThrottled, cap(t.slots), context.DeadlineExceeded)
	}
}

func (t *throttler) release() { <-t.slots }

// admit waits for r's turn under Config.Throttle (its wait counts against
// r's deadline). After a nil return the caller must call dismiss once the
// statement has ended.
func (s *Session) admit(ctx context.Context, r *execRequest) error {
	if s.throttle == nil {
		return nil
	}
	return s.throttle.acquire(ctx, r.deadline)
}

// dismiss ends a statement admitted by admit.
func (s *Session) dismiss() {
	if s.throttle != nil {
		s.throttle.release()
	}
}
