package conn

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// chunkSize is the number of stream slots allocated together. Slots are
// allocated as ids are first used, so a connection that never has more
// than a few hundred requests in flight never pays for 32768 slots.
const chunkSize = 256

type slotChunk [chunkSize]atomic.Pointer[call]

// streams hands out stream ids and maps each id in use to its call.
//
// An id is taken from the free list by acquire and given back by release
// only once its answer arrived (or the request was never sent): an id is
// never reused while the server may still answer on it. Free ids are
// reused last-in first-out, which keeps the slots in use few and warm.
type streams struct {
	// sem holds one token per id in use; its capacity is the limit. A
	// request waits on it, bounded by its context, when all ids are taken.
	sem chan struct{}

	mu   sync.Mutex
	free []int16
	next int // ids below next have been used at least once
	// parked is set while the timeout sweep sleeps because no id is in
	// use; the next acquire clears it and wakes the sweep.
	parked bool

	chunks [MaxStreams / chunkSize]atomic.Pointer[slotChunk]
}

func newStreams(max int) *streams {
	return &streams{sem: make(chan struct{}, max)}
}

// errNoStream is returned by acquire when its wait bound passed.
var errNoStream = errors.New("no free stream id in time")

// acquire returns a free stream id, waiting while there is none: until ctx
// ends, dying closes, or wait passes (0: no bound but ctx). wake is true
// when the timeout sweep was parked and must be woken.
func (s *streams) acquire(ctx context.Context, dying <-chan struct{}, wait time.Duration) (id int16, wake bool, err error) {
	select {
	case s.sem <- struct{}{}:
	default:
		// Every id is taken: only now is a timer worth its cost.
		var expired <-chan time.Time
		if wait > 0 {
			t := time.NewTimer(wait)
			defer t.Stop()
			expired = t.C
		}
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			return 0, false, context.Cause(ctx)
		case <-dying:
			return 0, false, errDying
		case <-expired:
			return 0, false, errNoStream
		}
	}
	s.mu.Lock()
	if n := len(s.free); n > 0 {
		id = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		// The semaphore guarantees next < max here.
		id = int16(s.next)
		if s.next%chunkSize == 0 && s.chunks[s.next/chunkSize].Load() == nil {
			s.chunks[s.next/chunkSize].Store(new(slotChunk))
		}
		s.next++
	}
	wake, s.parked = s.parked, false
	s.mu.Unlock()
	return id, wake, nil
}

// park reports whether no id is in use, and if so marks the timeout sweep
// parked: the next acquire will say to wake it.
func (s *streams) park() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.parked = s.next == len(s.free)
	return s.parked
}

// release gives back an id whose answer has arrived, or that was never
// sent. Its slot must already be empty.
func (s *streams) release(id int16) {
	s.mu.Lock()
	s.free = append(s.free, id)
	s.mu.Unlock()
	<-s.sem
}

// slot returns the slot of id, or nil for an id never handed out.
func (s *streams) slot(id int16) *atomic.Pointer[call] {
	if id < 0 {
		return nil
	}
	ch := s.chunks[int(id)/chunkSize].Load()
	if ch == nil {
		return nil
	}
	return &ch[int(id)%chunkSize]
}

// inFlight is the number of ids in use.
func (s *streams) inFlight() int { return len(s.sem) }
