package conn

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cqlwire/cqlwire/frame"
)

// The life of a call. Whoever moves a call out of "queued" or "sent" owns
// its next step:
//
//	queued -> sent              the writer took it for the socket
//	queued -> abandonedUnsent   the caller gave up first; the writer (or the
//	                            final sweep) frees it without sending it
//	sent   -> done              the reader (or the sweep) delivered an answer
//	                            or error and signalled ready
//	sent   -> abandonedSent     the caller gave up; the stream id stays taken
//	                            until the answer arrives or the connection
//	                            dies, and the reader (or sweep) frees it
//	queued -> done              the sweep failed it (connection lost)
//	sent   -> done              the timeout sweep delivered a timeout; the
//	                            slot keeps the stream id (expiredSlot)
//	                            until the answer arrives
//	queued -> expiredUnsent     the timeout sweep delivered a timeout before
//	                            the writer took the call: the writer drops
//	                            it unsent, and nobody recycles it (the
//	                            writer may still hold it)
const (
	stQueued int32 = iota
	stSent
	stDone
	stAbandonedUnsent
	stAbandonedSent
	stExpiredUnsent
)

// call is one request in flight. Calls are pooled: the struct, its ready
// channel and its encode buffer are reused, so a request costs no
// allocation here.
type call struct {
	state  atomic.Int32
	stream int16
	buf    []byte        // the encoded request envelope
	ready  chan struct{} // capacity 1: one signal per use

	// deadline is when the request times out, on the connection's clock
	// (Conn.now), 0 for never; timeout is the duration it came from, for
	// the error. Both are written before the call is put in its slot.
	deadline atomic.Int64
	timeout  time.Duration
	// sentAt is when the writer took the request for the socket (the
	// connection's clock): the sweep's measure of how long the server has
	// owed an answer.
	sentAt atomic.Int64

	// The outcome, written before the state moves to done.
	hdr  frame.Header
	body []byte
	err  error
	sent bool // with err: the request had been sent
}

// callBufRetain is the largest encode buffer a pooled call keeps.
const callBufRetain = 64 << 10

// expiredSlot stands in a stream's slot for a request that timed out after
// it was sent: the id stays taken until the late answer arrives (or the
// connection ends), which then frees it.
var expiredSlot = new(call)

var callPool = sync.Pool{New: func() any { return &call{ready: make(chan struct{}, 1)} }}

func getCall() *call { return callPool.Get().(*call) }

func putCall(cl *call) {
	cl.hdr, cl.body, cl.err, cl.sent = frame.Header{}, nil, nil, false
	cl.deadline.Store(0)
	cl.sentAt.Store(0)
	if cap(cl.buf) > callBufRetain {
		cl.buf = nil
	}
	callPool.Put(cl)
}
