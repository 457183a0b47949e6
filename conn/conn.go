package conn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/frame/segment"
)

// Request is one request for Do.
type Request struct {
	// Message is the request: *frame.Query, *frame.Execute, *frame.Batch,
	// *frame.Prepare, *frame.Register, *frame.Options. Do only reads it,
	// and not after it returns.
	Message frame.Message
	// CustomPayload is sent as the envelope's custom payload when not nil
	// (e.g. DSE proxy execution).
	CustomPayload map[string][]byte
	// Tracing asks the server to trace the request; the answer's
	// TracingID names the trace session.
	Tracing bool
	// Timeout, when positive, replaces the connection's default Timeout
	// for this request (a session gives each attempt what is left of its
	// statement's time). The context can still shorten it.
	Timeout time.Duration
}

// Conn is one connection to one node, safe for concurrent use. Dial
// returns it ready for requests; it lives until Close is called or the
// connection fails, which Done reports.
type Conn struct {
	addr        string
	version     frame.Version
	compression string
	supported   map[string][]string
	authClass   string

	nc        net.Conn
	raw       net.Conn // the TCP conn under nc; closing it cannot block (a TLS close_notify can, for 5 s)
	rd        *frameReader
	segmented bool
	segw      segment.Writer   // writer goroutine only (handshake before)
	comp      frame.Compressor // v4 body compression of requests, nil in v5
	decOpts   frame.DecodeOptions
	timeout   time.Duration
	heartbeat time.Duration
	events    chan<- frame.Event
	s         *settings

	streams *streams

	// takeMu is held by whoever takes a call out of its stream's slot (the
	// reader delivering an answer, the timeout sweep, the writer or send
	// dropping a call, the final sweep), so that the timeout sweep sees
	// calls that cannot change hands while it looks at them.
	takeMu sync.Mutex
	// epoch is the origin of the connection's clock (now).
	epoch time.Time

	qmu   sync.Mutex
	queue []*call
	wake  chan struct{} // capacity 1: "the queue became non-empty"

	// Liveness, all on the connection's clock (now). lastRead is when the
	// last byte arrived: any progress on the socket is life. writeSince is
	// when the write under way started its current chunk (0: none).
	lastRead     atomic.Int64
	writeSince   atomic.Int64
	bytesRead    atomic.Uint64
	bytesWritten atomic.Uint64
	// orphans counts stream ids held by requests whose caller is gone
	// (timed out or abandoned after being sent) and whose answer has not
	// arrived.
	orphans     atomic.Int32
	timeouts    atomic.Uint64 // requests answered by their timeout
	lastTimeout atomic.Int64  // when the last one was (0: never)
	stalled     atomic.Bool   // set by the sweep: requests wait, nothing arrives
	probeSent   atomic.Int64  // when the probe under way was sent (0: none)
	probeWake   chan struct{} // capacity 1: "probe now"

	dead     atomic.Bool // set by fail, before dying is closed
	failOnce sync.Once
	err      error         // the cause, written once before dead is set
	dying    chan struct{} // closed by fail: goroutines stop
	done     chan struct{} // closed once everything has stopped

	writerDone chan struct{}
	hbDone     chan struct{}
	sweepWake  chan struct{} // capacity 1: a request started while the sweep was parked
	sweepDone  chan struct{}
}

// timeoutResolution is how often the timeout sweep looks for requests whose
// timeout has passed, while any request is in flight: a request's timeout
// (Config.Timeout, Request.Timeout) is enforced to within this. A context's
// deadline is exact.
const timeoutResolution = 10 * time.Millisecond

// now reads the connection's clock: monotonic nanoseconds since the
// connection was made.
func (c *Conn) now() int64 { return int64(time.Since(c.epoch)) }

// errDying is returned internally by waits interrupted by the end of the
// connection; callers replace it with the connection's error.
var errDying = errors.New("connection is closing")

// Addr returns the address the connection was dialled to.
func (c *Conn) Addr() string { return c.addr }

// Version returns the negotiated protocol version. A pool can dial this
// node's next connections with MinVersion = MaxVersion = Version().
func (c *Conn) Version() frame.Version { return c.version }

// Compression returns the compression in use: "", "lz4" or "snappy".
func (c *Conn) Compression() string { return c.compression }

// Supported returns the server's answer to OPTIONS: the values it accepts
// for each STARTUP option, e.g. "CQL_VERSION", "COMPRESSION" and
// "PROTOCOL_VERSIONS". The map is shared: do not modify it.
func (c *Conn) Supported() map[string][]string { return c.supported }

// Authenticator returns the server's authenticator class when it asked for
// authentication, else "".
func (c *Conn) Authenticator() string { return c.authClass }

// InFlight returns the number of stream ids in use: requests waiting for
// their answer, including abandoned ones whose answer has not arrived.
func (c *Conn) InFlight() int { return c.streams.inFlight() }

// Done returns a channel closed once the connection has ended (by Close or
// by a failure) and every request in flight has been failed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns nil while the connection is usable; after it ended, the
// reason: ErrClosed after Close, or an error wrapping ErrConnectionLost.
func (c *Conn) Err() error {
	if !c.dead.Load() {
		return nil
	}
	return c.err
}

// Close ends the connection, fails every request in flight, and returns
// once all of the connection's goroutines have stopped. It is idempotent
// and always returns nil.
func (c *Conn) Close() error {
	c.fail(ErrClosed)
	<-c.done
	return nil
}

// fail ends the connection with err as its cause; the first cause wins.
func (c *Conn) fail(err error) {
	c.failOnce.Do(func() {
		c.err = err
		c.dead.Store(true)
		close(c.dying)
		c.raw.Close()
		if errors.Is(err, ErrClosed) {
			c.s.log.Debug("connection closed")
		} else {
			c.s.log.Warn("connection lost", "err", err)
		}
	})
}

func (c *Conn) start() {
	c.writerDone = make(chan struct{})
	c.hbDone = make(chan struct{})
	c.sweepWake = make(chan struct{}, 1)
	c.sweepDone = make(chan struct{})
	c.probeWake = make(chan struct{}, 1)
	c.lastRead.Store(c.now())
	go c.writeLoop()
	go c.readLoop()
	go c.timeoutLoop()
	go c.livenessLoop()
}

// Do sends a request and waits for its answer. It returns the answer's
// envelope (with the server's warnings and tracing id), and for an ERROR
// answer also the *frame.Error as the error. Any other failure is an
// *Error that says whether the request may have been executed.
//
// The request waits for a free stream id, then for its answer, until ctx
// is done or the connection's default Timeout passes. A request given up
// on keeps its stream id until the server answers it or the connection
// ends; nothing else is disturbed.
func (c *Conn) Do(ctx context.Context, req Request) (*frame.Envelope, error) {
	if req.Message == nil {
		return nil, &Error{Addr: c.addr, Op: "request", Request: true, Err: errors.New("Request.Message is nil")}
	}
	op := req.Message.Opcode()
	if c.dead.Load() {
		return nil, c.requestErr(op, false, c.err)
	}
	if ctx.Err() != nil {
		return nil, c.requestErr(op, false, context.Cause(ctx))
	}

	// The request's timeout is enforced by the timeout sweep (no timer per
	// request: arming and stopping one, and selecting on its channel,
	// cost more than the rest of the wait), unless the context ends
	// first anyway.
	timeout := c.timeout
	if req.Timeout > 0 {
		timeout = req.Timeout
	}
	var deadline int64
	if timeout > 0 {
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > timeout {
			deadline = c.now() + int64(timeout)
		}
	}
	cl, err := c.send(ctx, op, &req, deadline, timeout)
	if err != nil {
		return nil, err
	}

	done := ctx.Done()
	if done == nil {
		<-cl.ready
		return c.finish(cl, op)
	}
	select {
	case <-cl.ready:
		return c.finish(cl, op)
	case <-done:
	}
	cause := context.Cause(ctx)
	if cl.state.CompareAndSwap(stQueued, stAbandonedUnsent) {
		return nil, c.requestErr(op, false, cause)
	}
	if cl.state.CompareAndSwap(stSent, stAbandonedSent) {
		c.orphans.Add(1)
		return nil, c.requestErr(op, true, cause)
	}
	// The outcome arrived while giving up: use it.
	<-cl.ready
	return c.finish(cl, op)
}

// send takes a stream id, encodes the request into a pooled call and
// queues it for the writer.
func (c *Conn) send(ctx context.Context, op frame.Opcode, req *Request, deadline int64, timeout time.Duration) (*call, error) {
	var wait time.Duration // 0: bounded by ctx alone
	if deadline != 0 {
		if wait = time.Duration(deadline - c.now()); wait <= 0 {
			wait = time.Nanosecond
		}
	}
	id, wake, err := c.streams.acquire(ctx, c.dying, wait)
	if wake {
		select {
		case c.sweepWake <- struct{}{}:
		default:
		}
	}
	if err != nil {
		switch err {
		case errDying:
			return nil, c.requestErr(op, false, c.err)
		case errNoStream:
			return nil, c.requestErr(op, false, fmt.Errorf("%w: all %d stream ids stayed in use (%d held by requests that timed out or were abandoned) for the request's timeout of %v",
				ErrStreamsExhausted, c.streams.inFlight(), c.orphans.Load(), timeout))
		}
		return nil, c.requestErr(op, false,
			fmt.Errorf("waiting for a free stream id (%d requests in flight): %w", c.streams.inFlight(), err))
	}
	cl := getCall()
	env := frame.Envelope{Version: c.version, Stream: id, Tracing: req.Tracing,
		CustomPayload: req.CustomPayload, Message: req.Message}
	cl.buf, err = frame.AppendEnvelope(cl.buf[:0], &env, c.comp)
	if err != nil {
		putCall(cl)
		c.streams.release(id)
		return nil, c.requestErr(op, false, err)
	}
	cl.stream = id
	cl.deadline.Store(deadline)
	cl.timeout = timeout
	cl.state.Store(stQueued)
	slot := c.streams.slot(id)
	slot.Store(cl)
	if c.dead.Load() {
		// The connection ended meanwhile. Either the final sweep has
		// already taken the call from its slot (and will fail it), or it
		// will never look, and the call is ours to fail.
		c.takeMu.Lock()
		mine := slot.CompareAndSwap(cl, nil)
		c.takeMu.Unlock()
		if mine {
			putCall(cl)
			return nil, c.requestErr(op, false, c.err)
		}
		return cl, nil
	}
	c.qmu.Lock()
	c.queue = append(c.queue, cl)
	first := len(c.queue) == 1
	c.qmu.Unlock()
	if first {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	return cl, nil
}

// finish decodes the outcome of a delivered call and recycles it (unless
// the writer may still hold it: see stExpiredUnsent).
func (c *Conn) finish(cl *call, op frame.Opcode) (*frame.Envelope, error) {
	hdr, body, err, sent := cl.hdr, cl.body, cl.err, cl.sent
	if cl.state.Load() != stExpiredUnsent {
		putCall(cl)
	}
	if err != nil {
		return nil, c.requestErr(op, sent, err)
	}
	env, err := frame.DecodeBody(hdr, body, &c.decOpts)
	if err != nil {
		return nil, c.requestErr(op, true, fmt.Errorf("decoding the answer: %w", err))
	}
	if fe, ok := env.Message.(*frame.Error); ok {
		return env, fe
	}
	return env, nil
}

func (c *Conn) requestErr(op frame.Opcode, sent bool, err error) error {
	return &Error{Addr: c.addr, Op: op.String(), Request: true, Sent: sent, Err: err}
}

// writeBufRetain is the largest write buffer kept between batches.
const writeBufRetain = 4 << 20

// writeLoop sends queued requests. It wakes as soon as the queue becomes
// non-empty, takes everything queued, and writes it with one call; what
// arrives during that write goes out in the next one. So an idle
// connection adds no latency, and a busy one batches by itself.
//
// Before each drain it yields the processor once (runtime.Gosched, not a
// timed wait): goroutines that are already runnable, typically callers
// woken by the last answers, get to queue their next requests first. When
// nothing else is runnable it returns at once, so an idle connection pays
// a few hundred nanoseconds; under load it makes batches several times
// larger (at 256 requests in flight, about 15 instead of 2 per write) and
// roughly doubles throughput. While a yield still lets more requests join
// the queue it yields again (up to 8 times): each write system call costs
// several microseconds on both sides of a loopback connection, more than
// a yield, so larger batches save CPU time per request (about 7% of the
// client's at 256 requests in flight through the Session, and some of the
// server's).
func (c *Conn) writeLoop() {
	defer close(c.writerDone)
	var batch []*call
	var buf, segs []byte
	for {
		select {
		case <-c.wake:
		case <-c.dying:
			return
		}
		for {
			runtime.Gosched()
			// While yielding lets more requests join the batch, yield again.
			for n, prev := 0, -1; n < 8; n++ {
				c.qmu.Lock()
				q := len(c.queue)
				c.qmu.Unlock()
				if q == prev {
					break
				}
				prev = q
				runtime.Gosched()
			}
			c.qmu.Lock()
			batch, c.queue = c.queue, batch[:0]
			c.qmu.Unlock()
			if len(batch) == 0 {
				break
			}
			buf = buf[:0]
			sentAt := c.now()
			for i, cl := range batch {
				batch[i] = nil
				// Copy first: until the state moves on, only the writer
				// may recycle a call whose caller gave up.
				n := len(buf)
				buf = append(buf, cl.buf...)
				cl.sentAt.Store(sentAt)
				if !cl.state.CompareAndSwap(stQueued, stSent) {
					// Abandoned, or timed out, before it was sent: drop it
					// unsent. A timed-out one was already taken from its
					// slot and answered by the timeout sweep.
					buf = buf[:n]
					if cl.state.Load() == stExpiredUnsent {
						continue
					}
					c.takeMu.Lock()
					slot := c.streams.slot(cl.stream)
					mine := slot.CompareAndSwap(cl, nil)
					c.takeMu.Unlock()
					if mine {
						id := cl.stream
						putCall(cl)
						c.streams.release(id)
					}
				}
			}
			if len(buf) == 0 {
				continue
			}
			out := buf
			if c.segmented {
				var err error
				segs, err = c.segw.AppendBatch(segs[:0], buf)
				if err != nil {
					c.fail(fmt.Errorf("%w: framing requests into segments: %w", ErrConnectionLost, err))
					return
				}
				out = segs
			}
			if err := c.write(out); err != nil {
				c.fail(fmt.Errorf("%w: write: %w", ErrConnectionLost, err))
				return
			}
			if cap(buf) > writeBufRetain {
				buf = nil
			}
			if cap(segs) > writeBufRetain {
				segs = nil
			}
		}
	}
}

// writeChunk is the most written with one call: the write timeout is about
// progress, so a large batch is written in parts, each of which must get
// through within WriteTimeout.
const writeChunk = 256 << 10

// write writes b, recording when each chunk started for the sweep's write
// timeout.
func (c *Conn) write(b []byte) error {
	for len(b) > 0 {
		n := min(len(b), writeChunk)
		c.writeSince.Store(c.now())
		if _, err := c.nc.Write(b[:n]); err != nil {
			c.writeSince.Store(0)
			return err
		}
		c.bytesWritten.Add(uint64(n))
		b = b[n:]
	}
	c.writeSince.Store(0)
	return nil
}

// readLoop reads answers and hands each to its caller until the connection
// fails, then fails everything still in flight.
func (c *Conn) readLoop() {
	var err error
	for err == nil {
		var h frame.Header
		var body []byte
		h, body, err = c.rd.next()
		if err != nil {
			switch {
			case errors.Is(err, ErrProtocol):
				err = fmt.Errorf("%w: %w", ErrConnectionLost, err)
			case errors.Is(err, io.EOF):
				err = fmt.Errorf("%w: the server closed the connection (%w)", ErrConnectionLost, err)
			case errors.Is(err, io.ErrUnexpectedEOF):
				err = fmt.Errorf("%w: the server closed the connection in the middle of an answer (%w)", ErrConnectionLost, err)
			default:
				err = fmt.Errorf("%w: read: %w", ErrConnectionLost, err)
			}
			break
		}
		err = c.dispatch(h, body)
	}
	c.fail(err)
	c.shutdown()
}

// dispatch delivers one answer.
func (c *Conn) dispatch(h frame.Header, body []byte) error {
	if !h.Response || h.Version != c.version {
		return fmt.Errorf("%w: %w: %s on stream %d with version byte %d (response %t), want a v%d response",
			ErrConnectionLost, ErrProtocol, h.Opcode, h.Stream, h.Version, h.Response, c.version)
	}
	if h.Stream < 0 {
		// Negative ids are the server's own (spec 2.3): -1 carries events;
		// the others have no meaning yet, so they are dropped, not fatal.
		if h.Stream == -1 {
			c.event(h, body)
		} else {
			c.s.log.Warn("dropping a server-initiated message on a reserved stream", "stream", h.Stream, "opcode", h.Opcode.String())
		}
		return nil
	}
	c.takeMu.Lock()
	cl, err := c.take(h)
	c.takeMu.Unlock()
	if cl == nil {
		return err
	}
	cl.hdr, cl.body = h, body
	if cl.state.CompareAndSwap(stSent, stDone) {
		cl.ready <- struct{}{}
	} else {
		// The caller gave up: the late answer frees the stream id.
		c.orphans.Add(-1)
		putCall(cl)
	}
	c.streams.release(h.Stream)
	return nil
}

// take takes the call an answer is for out of its slot (under takeMu). It
// returns nil when there is nothing to deliver: with an error when the
// answer cannot belong to any request, without one for the late answer of
// a timed-out request (whose stream id it frees) or when the connection is
// ending.
func (c *Conn) take(h frame.Header) (*call, error) {
	slot := c.streams.slot(h.Stream)
	var cl *call
	if slot != nil {
		cl = slot.Load()
	}
	if cl == expiredSlot {
		slot.Store(nil)
		c.orphans.Add(-1)
		c.streams.release(h.Stream)
		return nil, nil
	}
	if cl == nil {
		// The id is not in use: the server is answering something we never
		// asked on this stream, so no answer on this connection can be
		// trusted to belong to its request any more.
		return nil, fmt.Errorf("%w: %w: %s on stream %d, which has no request in flight",
			ErrConnectionLost, ErrProtocol, h.Opcode, h.Stream)
	}
	if st := cl.state.Load(); st == stQueued || st == stAbandonedUnsent {
		return nil, fmt.Errorf("%w: %w: %s on stream %d, whose request has not been sent yet",
			ErrConnectionLost, ErrProtocol, h.Opcode, h.Stream)
	}
	if !slot.CompareAndSwap(cl, nil) {
		return nil, nil // only when the connection is ending
	}
	return cl, nil
}

// timeoutLoop runs the timeout sweep every timeoutResolution while any
// stream id is in use, and sleeps while none is.
func (c *Conn) timeoutLoop() {
	defer close(c.sweepDone)
	t := time.NewTimer(timeoutResolution)
	defer t.Stop()
	for {
		if c.streams.park() {
			c.stalled.Store(false)
			select {
			case <-c.sweepWake:
			case <-c.dying:
				return
			}
			t.Reset(timeoutResolution)
		}
		select {
		case <-t.C:
		case <-c.dying:
			return
		}
		if err := c.expire(c.now()); err != nil {
			c.fail(err)
			return
		}
		t.Reset(timeoutResolution)
	}
}

// expire answers every request whose timeout has passed with a timeout
// error. One already sent keeps its stream id (expiredSlot) until its
// answer arrives; one not yet written is left for the writer to drop.
//
// It also judges the connection's health: it returns the error to end the
// connection with when a write is stuck or too many ids are orphaned, and
// asks for a probe when requests wait and nothing arrives.
func (c *Conn) expire(now int64) error {
	c.takeMu.Lock()
	defer c.takeMu.Unlock()
	if c.dead.Load() {
		return nil // the final sweep fails every request
	}
	oldest := int64(0) // when the longest-waiting request was sent
	for i := range c.streams.chunks {
		ch := c.streams.chunks[i].Load()
		if ch == nil {
			break // chunks are allocated in order
		}
		for j := range ch {
			slot := &ch[j]
			cl := slot.Load()
			if cl == nil || cl == expiredSlot {
				continue
			}
			st := cl.state.Load()
			if st == stSent || st == stAbandonedSent {
				if at := cl.sentAt.Load(); at != 0 && (oldest == 0 || at < oldest) {
					oldest = at
				}
			}
			if dl := cl.deadline.Load(); dl == 0 || now < dl {
				continue
			}
			err := fmt.Errorf("no answer within the request's timeout of %v: %w", cl.timeout, context.DeadlineExceeded)
			switch st {
			case stSent:
				// The outcome is written before the state moves to done.
				// The caller may move it to abandoned meanwhile, but
				// reads no outcome field then.
				cl.err, cl.sent = err, true
				if cl.state.CompareAndSwap(stSent, stDone) {
					slot.Store(expiredSlot)
					c.orphans.Add(1)
					c.timeouts.Add(1)
					c.lastTimeout.Store(now)
					cl.ready <- struct{}{}
				} else {
					cl.err, cl.sent = nil, false // the caller gave up first: the reader frees it
				}
			case stQueued:
				// The writer has not taken it (or is stuck writing what
				// it took before): answer it now; the writer drops it
				// when it gets to it.
				cl.err, cl.sent = err, false
				if cl.state.CompareAndSwap(stQueued, stExpiredUnsent) {
					slot.Store(nil)
					c.streams.release(cl.stream)
					c.timeouts.Add(1)
					c.lastTimeout.Store(now)
					cl.ready <- struct{}{}
				} else {
					cl.err = nil // sent, or abandoned, meanwhile: the next sweep sees it
				}
			}
		}
	}
	return c.judge(now, oldest)
}

// judge is the sweep's verdict on the connection's health (see expire).
// oldest is when the longest-waiting request was sent, 0 for none.
func (c *Conn) judge(now, oldest int64) error {
	s := c.s
	if w := c.writeSince.Load(); w != 0 && s.writeTimeout > 0 && now-w >= int64(s.writeTimeout) {
		return fmt.Errorf("%w: a write made no progress for %v (WriteTimeout): the server stopped reading", ErrConnectionLost, s.writeTimeout)
	}
	if n := c.orphans.Load(); s.maxOrphans > 0 && int(n) > s.maxOrphans {
		return fmt.Errorf("%w: %d requests timed out or were abandoned and are still unanswered (MaxOrphanedStreams is %d)", ErrConnectionLost, n, s.maxOrphans)
	}
	stalled := false
	if oldest != 0 && s.stallTimeout > 0 {
		stalled = now-max(oldest, c.lastRead.Load()) >= int64(s.stallTimeout)
	}
	c.stalled.Store(stalled)
	if stalled && c.probeSent.Load() == 0 {
		c.Probe()
	}
	return nil
}

// event passes an EVENT on to Config.Events without ever blocking.
func (c *Conn) event(h frame.Header, body []byte) {
	if c.events == nil {
		return
	}
	env, err := frame.DecodeBody(h, body, &c.decOpts)
	if err != nil {
		c.s.log.Warn("dropping an undecodable event", "err", err)
		return
	}
	ev, ok := env.Message.(frame.Event)
	if !ok {
		c.s.log.Warn("dropping a message on the event stream", "opcode", h.Opcode.String())
		return
	}
	select {
	case c.events <- ev:
	default:
		c.s.log.Warn("dropping an event: the Events channel is full", "event", ev.EventType())
	}
}

// shutdown runs on the reader goroutine once the connection has failed:
// after the writer stops it fails every call still registered, then waits
// for the heartbeat and closes done.
func (c *Conn) shutdown() {
	<-c.writerDone
	cause := c.err
	c.takeMu.Lock()
	for i := range c.streams.chunks {
		ch := c.streams.chunks[i].Load()
		if ch == nil {
			continue
		}
		for j := range ch {
			cl := ch[j].Swap(nil)
			if cl == nil || cl == expiredSlot {
				continue
			}
			for {
				st := cl.state.Load()
				if st == stAbandonedUnsent || st == stAbandonedSent {
					putCall(cl)
					break
				}
				cl.err, cl.sent = cause, st == stSent
				if cl.state.CompareAndSwap(st, stDone) {
					cl.ready <- struct{}{}
					break
				}
			}
		}
	}
	c.takeMu.Unlock()
	c.qmu.Lock()
	clear(c.queue)
	c.queue = nil
	c.qmu.Unlock()
	c.rd.reasm.Reset()
	<-c.hbDone
	<-c.sweepDone
	close(c.done)
}

// Probe checks, in the background, that the server is still there: it
// sends an OPTIONS and closes the connection if nothing at all is received
// within ProbeTimeout. Until something is received the connection reports
// itself Suspect. A probe already under way is not doubled. A session
// calls it when the cluster says the node is down while its connections
// look open.
func (c *Conn) Probe() {
	select {
	case c.probeWake <- struct{}{}:
	default:
	}
}

// livenessLoop runs the probes: after HeartbeatInterval with nothing
// received, and whenever Probe asks (the sweep does when requests stall).
func (c *Conn) livenessLoop() {
	defer close(c.hbDone)
	var tick <-chan time.Time
	var t *time.Timer
	if c.heartbeat > 0 {
		t = time.NewTimer(c.heartbeat)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-c.dying:
			return
		case <-tick:
			if quiet := time.Duration(c.now() - c.lastRead.Load()); quiet < c.heartbeat {
				t.Reset(c.heartbeat - quiet)
				continue
			}
		case <-c.probeWake:
		}
		if err := c.probe(); err != nil {
			c.fail(err)
			return
		}
		if t != nil {
			t.Reset(c.heartbeat)
		}
	}
}

// probe sends an OPTIONS and waits up to ProbeTimeout. It returns the
// error to end the connection with when nothing at all arrived meanwhile.
func (c *Conn) probe() error {
	sent := c.now()
	c.probeSent.Store(sent)
	defer c.probeSent.Store(0)
	wait := c.s.probeTimeout
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	_, err := c.Do(ctx, Request{Message: &frame.Options{}, Timeout: wait})
	cancel()
	var fe *frame.Error
	if err == nil || errors.As(err, &fe) || c.dead.Load() {
		return nil // an ERROR answer is an answer too
	}
	if c.lastRead.Load() > sent {
		return nil // the OPTIONS is behind a large answer still arriving: progress is life
	}
	if n, ok := pendingBytes(c.raw); ok && n > 0 {
		// The server did answer: this process has not read it yet (it is
		// short of CPU), which is no reason to give up on the server.
		c.s.log.Debug("probe: answers wait unread in the socket buffer; the client is slow, not the server", "bytes", n)
		return nil
	}
	return fmt.Errorf("%w: nothing received within %v of an OPTIONS probe (%d requests waiting, nothing received for %v)",
		ErrConnectionLost, wait, c.streams.inFlight(), time.Duration(c.now()-c.lastRead.Load()).Round(time.Millisecond))
}

// Health is a connection's state as a load balancer judges it.
type Health struct {
	// InFlight is the number of stream ids in use.
	InFlight int
	// Orphaned is the number of stream ids held by requests that timed out
	// or were abandoned after being sent, whose answer has not arrived.
	Orphaned int
	// Suspect reports that requests wait and nothing arrived for
	// StallTimeout, or that a probe has received nothing yet: new requests
	// are better sent elsewhere.
	Suspect bool
	// Timeouts is the number of requests answered by their timeout;
	// SinceTimeout is how long ago the last was (negative: never).
	Timeouts     uint64
	SinceTimeout time.Duration
	// BytesRead and BytesWritten count the socket's traffic since the
	// handshake ended.
	BytesRead, BytesWritten uint64
}

// Health returns the connection's health. It is cheap (atomic loads) and
// safe for concurrent use.
func (c *Conn) Health() Health {
	now := c.now()
	h := Health{
		InFlight:     c.streams.inFlight(),
		Orphaned:     int(c.orphans.Load()),
		Timeouts:     c.timeouts.Load(),
		SinceTimeout: -1,
		BytesRead:    c.bytesRead.Load(),
		BytesWritten: c.bytesWritten.Load(),
	}
	if at := c.lastTimeout.Load(); at != 0 {
		h.SinceTimeout = time.Duration(now - at)
	}
	h.Suspect = c.Suspect()
	return h
}

// Suspect reports what Health.Suspect does, more cheaply.
func (c *Conn) Suspect() bool {
	if c.stalled.Load() {
		return true
	}
	p := c.probeSent.Load()
	return p != 0 && c.lastRead.Load() < p
}

// TimedOutWithin reports that a request on the connection timed out less
// than d ago.
func (c *Conn) TimedOutWithin(d time.Duration) bool {
	at := c.lastTimeout.Load()
	return at != 0 && c.now()-at < int64(d)
}

// progressReader records, for the liveness checks, every read that made
// progress.
type progressReader struct {
	r io.Reader
	c *Conn
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.c.lastRead.Store(p.c.now())
		p.c.bytesRead.Add(uint64(n))
	}
	return n, err
}
