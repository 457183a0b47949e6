package testserver

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/frame/segment"
)

// Connection states.
const (
	stateStartup = iota // expecting OPTIONS or STARTUP
	stateAuth           // AUTHENTICATE sent, expecting AUTH_RESPONSE
	stateReady          // READY or AUTH_SUCCESS sent
)

const (
	readBufSize   = 64 << 10
	retainLimit   = 4 << 20 // larger buffers are dropped after use
	handshakeTime = 10 * time.Second
	// wakeEvery bounds how many requests the reader handles before it wakes
	// the writer, when one read brings many: large enough to batch writes,
	// small enough that replies flow while it goes on.
	wakeEvery = 64
)

// conn is one server-side connection: a reader goroutine (serve) that
// decodes requests and runs the handler, and a writer goroutine (writeLoop)
// that frames and writes the replies the reader queues, as many per system
// call as have accumulated.
type conn struct {
	s        *Server
	nc       net.Conn
	info     ConnInfo
	requests atomic.Int64

	// Reader state (serve's goroutine only).
	req        Request
	state      int
	comp       frame.Compressor // v4 compression, once STARTUP is answered
	canned     *canned          // for info.Version and comp; nil before STARTUP
	sasl       SASLServer
	rbuf       []byte
	segIn      bool // reading v5 segments
	segLZ4     bool
	reasm      segment.Reassembler
	segScratch []byte
	bodyBuf    []byte // decompressed v4 bodies
	emitFn     func([]byte) error
	stop       bool // stop reading: a fatal error was answered
	discard    int  // bytes still to skip (the rest of a rejected frame)
	queued     bool // replies queued since the writer was last woken
	sinceWake  int  // requests handled since then
	echo       echoState

	// Shared with the writer, Broadcast and delayed replies, under wmu.
	wmu      sync.Mutex
	pending  []byte    // encoded envelopes, unframed
	specials []special // actions at offsets of pending
	closed   bool
	events   map[string]bool // REGISTERed event types
	evVer    frame.Version   // version and compression events go out in
	evComp   frame.Compressor
	timers   map[*time.Timer]struct{}
	timerWG  sync.WaitGroup

	wake       chan struct{} // buffered(1): pending has something
	done       chan struct{} // closed when the connection is torn down
	writerDone chan struct{}
	closeOnce  sync.Once

	// Writer state (writeLoop's goroutine only).
	spare     []byte
	spareSpec []special
	out       []byte
	segOut    bool
	segw      segment.Writer
}

// special is a writer action at an offset of pending: a framing switch or
// a fault that needs the wire.
type special struct {
	at   int
	kind specialKind
	data []byte // the envelope (or header) concerned
	cut  int
	lz4  bool // specialSwitch: LZ4 segments
}

type specialKind uint8

const (
	specialSwitch   specialKind = iota // switch to v5 segments
	specialTruncate                    // write cut bytes of data, close
	specialCRC24                       // data alone in a segment with a bad header CRC
	specialCRC32                       // data alone in a segment with a bad payload CRC
	specialOversize                    // data (a 9-byte header) alone, as the start of a large envelope
	specialClose                       // close the connection
)

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{
		s:          s,
		nc:         nc,
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
		events:     map[string]bool{},
		timers:     map[*time.Timer]struct{}{},
	}
	c.info.ID = s.nextID.Add(1)
	c.info.RemoteAddr = nc.RemoteAddr()
	c.emitFn = c.emit
	c.reasm.MaxBodySize = s.maxFrame
	return c
}

// kill closes the socket; the goroutines notice and tear down.
func (c *conn) kill() {
	c.closeOnce.Do(func() {
		c.nc.Close()
		close(c.done)
	})
}

func (c *conn) serve() {
	defer c.s.wg.Done()
	defer c.teardown()
	if tc, ok := c.nc.(*tls.Conn); ok {
		// kill closes the socket, which also ends a handshake in progress.
		tc.SetDeadline(time.Now().Add(handshakeTime))
		err := tc.Handshake()
		tc.SetDeadline(time.Time{})
		if err != nil {
			c.s.logf("conn %d: TLS handshake: %v", c.info.ID, err)
			return
		}
		st := tc.ConnectionState()
		c.info.TLS = &st
	}
	c.readLoop()
}

func (c *conn) teardown() {
	if c.stop {
		// A close is queued (after a fatal error, or the client's EOF):
		// the writer writes what precedes it, then closes.
		c.signal()
		<-c.writerDone
	}
	c.kill()
	<-c.writerDone
	c.wmu.Lock()
	c.closed = true
	for t := range c.timers {
		if t.Stop() {
			c.timerWG.Done()
		}
	}
	clear(c.timers)
	c.wmu.Unlock()
	c.timerWG.Wait()
	c.s.removeConn(c)
}

// readLoop reads and handles requests until the connection fails or a
// fatal error has been answered.
func (c *conn) readLoop() {
	c.rbuf = make([]byte, readBufSize)
	r, w := 0, 0
	for !c.stop {
		if w == len(c.rbuf) {
			// Full: make room for the rest of the frame in progress.
			need := c.frameSize(c.rbuf[r:w])
			if r > 0 && (need <= len(c.rbuf) || need <= 0) {
				w = copy(c.rbuf, c.rbuf[r:w])
				r = 0
			} else {
				size := max(2*len(c.rbuf), need)
				nb := make([]byte, size)
				w = copy(nb, c.rbuf[r:w])
				r = 0
				c.rbuf = nb
			}
		}
		n, err := c.nc.Read(c.rbuf[w:])
		w += n
		if n > 0 {
			r += c.process(c.rbuf[r:w])
			if c.queued {
				c.queued, c.sinceWake = false, 0
				c.signal()
			}
			if r == w {
				r, w = 0, 0
				if len(c.rbuf) > retainLimit {
					c.rbuf = make([]byte, readBufSize)
				}
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) && !c.stop {
				// The client is done sending: write what is queued (delayed
				// replies aside), then close.
				c.queueSpecial(special{kind: specialClose}, 0)
				c.stop = true
				c.signal()
			} else if !errors.Is(err, net.ErrClosed) && !errors.Is(err, syscall.ECONNRESET) {
				c.s.logf("conn %d: read: %v", c.info.ID, err)
			}
			return
		}
	}
	// A fatal error was queued: let the writer send it, then close.
}

// frameSize is the total size of the frame (v4) or segment (v5) starting
// b, when its header is complete; else 0.
func (c *conn) frameSize(b []byte) int {
	if c.segIn {
		n, err := segment.Len(b, c.segLZ4)
		if err != nil {
			return 0
		}
		return n
	}
	if len(b) < frame.HeaderSize {
		return 0
	}
	return frame.HeaderSize + int(binary.BigEndian.Uint32(b[5:9]))
}

// process handles every complete frame at the start of b and returns the
// number of bytes consumed.
func (c *conn) process(b []byte) int {
	off := 0
	for off < len(b) && !c.stop {
		if c.discard > 0 {
			k := min(c.discard, len(b)-off)
			c.discard -= k
			off += k
			continue
		}
		var n int
		if c.segIn {
			n = c.processSegment(b[off:])
		} else {
			n = c.processEnvelope(b[off:])
		}
		if n == 0 {
			break
		}
		off += n
	}
	return off
}

// processEnvelope handles one unframed envelope at the start of b, if it is
// complete.
func (c *conn) processEnvelope(b []byte) int {
	v := frame.Version(b[0] & 0x7F)
	if !c.s.supportedVersion(v) {
		// As Cassandra 4.0+ does: answer at once (the header of versions 1
		// and 2 is shorter), on stream 0, skip the frame and go on.
		c.s.logf("conn %d: request in unsupported protocol version %d", c.info.ID, v)
		c.wmu.Lock()
		c.pending = append(c.pending, c.s.unsupportedVersion(v)...)
		c.wmu.Unlock()
		c.queued = true
		c.requests.Add(1)
		if len(b) < frame.HeaderSize {
			return len(b)
		}
		n := frame.HeaderSize + int(binary.BigEndian.Uint32(b[5:9]))
		if n > len(b) {
			c.discard = n - len(b)
			return len(b)
		}
		return n
	}
	if len(b) < frame.HeaderSize {
		return 0
	}
	h, err := frame.ParseHeader(b, &frame.Limits{MaxFrameSize: c.s.maxFrame})
	if err != nil {
		c.fatalError(h.Version, h.Stream, fmt.Sprintf("Request is too big: length %d exceeds maximum allowed length %d.",
			binary.BigEndian.Uint32(b[5:9]), c.s.maxFrame))
		return 0
	}
	if h.Response {
		c.fatalError(h.Version, h.Stream, "Wrong protocol direction (expected REQUEST, got RESPONSE) for opcode "+h.Opcode.String())
		return 0
	}
	n := frame.HeaderSize + h.Length
	if len(b) < n {
		return 0
	}
	c.handle(h, b[frame.HeaderSize:n])
	return n
}

// processSegment handles one v5 segment at the start of b, if complete.
func (c *conn) processSegment(b []byte) int {
	payload, self, n, err := segment.DecodeSegment(b, c.segLZ4, c.segScratch[:0])
	if errors.Is(err, segment.ErrIncomplete) {
		return 0
	}
	if err != nil {
		c.fatalError(c.info.Version, 0, "Invalid segment: "+err.Error())
		return 0
	}
	if err := c.reasm.Add(payload, self, c.emitFn); err != nil && !c.stop {
		c.fatalError(c.info.Version, 0, "Invalid segment payload: "+err.Error())
		return 0
	}
	return n
}

// emit handles one envelope reassembled from segments.
func (c *conn) emit(b []byte) error {
	if c.stop {
		return errStop
	}
	if v := frame.Version(b[0] & 0x7F); !c.s.supportedVersion(v) {
		// In segments, Cassandra answers on the envelope's stream.
		c.requests.Add(1)
		c.queueError(c.info.Version, int16(binary.BigEndian.Uint16(b[2:])), frame.CodeProtocolError,
			"Invalid or unsupported protocol version ("+strconv.Itoa(int(v))+"); supported versions are ("+c.s.versList+")")
		return nil
	}
	h, err := frame.ParseHeader(b, &frame.Limits{MaxFrameSize: c.s.maxFrame})
	if err != nil || h.Response {
		c.fatalError(c.info.Version, h.Stream, "Invalid envelope header")
		return errStop
	}
	c.handle(h, b[frame.HeaderSize:])
	if c.stop {
		return errStop
	}
	return nil
}

var errStop = errors.New("connection stopping")

// handle runs the handler on one request and queues its reply.
func (c *conn) handle(h frame.Header, body []byte) {
	c.requests.Add(1)
	if c.info.Version != 0 && h.Version != c.info.Version {
		c.queueError(h.Version, h.Stream, frame.CodeProtocolError, fmt.Sprintf(
			"Invalid message version. Got %d/v%d but previous messages on this connection had version %d/v%d",
			h.Version, h.Version, c.info.Version, c.info.Version))
		return
	}
	if h.Flags&frame.FlagCompression != 0 {
		if c.comp == nil || h.Version >= frame.V5 {
			c.queueError(h.Version, h.Stream, frame.CodeProtocolError, "compressed envelope but no envelope compression was negotiated")
			return
		}
		plain, err := c.comp.AppendDecompressed(c.bodyBuf[:0], body, c.s.maxFrame)
		if err != nil {
			c.queueError(h.Version, h.Stream, frame.CodeProtocolError, "cannot decompress the body: "+err.Error())
			return
		}
		if cap(plain) <= retainLimit {
			c.bodyBuf = plain[:0]
		}
		body = plain
		h.Flags &^= frame.FlagCompression
	}
	req := &c.req
	*req = Request{Header: h, Body: body, Conn: &c.info, c: c}
	rep := c.callHandler(req)
	c.dispatch(req, &rep)
	*req = Request{}
	// In a long run of requests, let the writer start on the replies.
	if c.sinceWake++; c.sinceWake >= wakeEvery && c.queued {
		c.queued, c.sinceWake = false, 0
		c.signal()
	}
}

func (c *conn) callHandler(req *Request) (rep Reply) {
	if c.s.opts.Handler == nil {
		return req.Default()
	}
	defer func() {
		if p := recover(); p != nil {
			c.s.logf("conn %d: handler panic on %v: %v\n%s", c.info.ID, req.Header.Opcode, p, debug.Stack())
			rep = Reply{Message: &frame.Error{Code: frame.CodeServerError, Message: fmt.Sprintf("testserver: handler panic: %v", p)}}
		}
	}()
	return c.s.opts.Handler(req)
}

// fatal queues b (an encoded error), stops reading and has the writer
// close the connection once it is written.
func (c *conn) fatal(b []byte, why string) {
	c.s.logf("conn %d: %s; closing", c.info.ID, why)
	c.wmu.Lock()
	c.pending = append(c.pending, b...)
	c.specials = append(c.specials, special{at: len(c.pending), kind: specialClose})
	c.wmu.Unlock()
	c.stop = true
	c.signal()
}

func (c *conn) fatalError(v frame.Version, stream int16, msg string) {
	if !c.s.supportedVersion(v) {
		v = c.s.newest
	}
	b, err := frame.AppendEnvelope(nil, &frame.Envelope{Version: v, Response: true, Stream: stream,
		Message: &frame.Error{Code: frame.CodeProtocolError, Message: msg}}, c.outComp())
	if err != nil {
		c.s.logf("conn %d: cannot encode an error: %v", c.info.ID, err)
		c.stop = true
		c.kill()
		return
	}
	c.fatal(b, msg)
}

// outComp is the compressor replies are encoded with now (reader goroutine).
func (c *conn) outComp() frame.Compressor {
	if c.info.Version >= frame.V5 {
		return nil
	}
	return c.comp
}

// queueError queues an ERROR reply on a stream.
func (c *conn) queueError(v frame.Version, stream int16, code frame.ErrorCode, msg string) {
	if code == frame.CodeProtocolError {
		c.s.logf("conn %d: protocol error on stream %d: %s", c.info.ID, stream, msg)
	}
	req := Request{Header: frame.Header{Version: v, Stream: stream}, c: c, Conn: &c.info}
	rep := Reply{Message: &frame.Error{Code: code, Message: msg}}
	c.dispatch(&req, &rep)
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// dispatch encodes a reply and queues it (now, or after its delay).
func (c *conn) dispatch(req *Request, rep *Reply) {
	h := req.Header
	if rep.startFraming {
		// The client switches to segments when it receives this reply; the
		// server reads segments from now on.
		c.segIn = true
		c.segLZ4 = c.info.Compression == "lz4"
		if c.segLZ4 {
			c.segScratch = make([]byte, 0, segment.MaxPayloadSize)
		}
	}
	switch rep.Fault {
	case FaultHold:
		if rep.startFraming {
			c.queueSpecial(special{kind: specialSwitch, lz4: c.segLZ4}, 0)
		}
		return
	case FaultClose:
		c.queueSpecial(special{kind: specialClose}, rep.Delay)
		return
	case FaultBadCRC24, FaultBadCRC32:
		if !c.segIn {
			rep = &Reply{Delay: rep.Delay, Message: &frame.Error{Code: frame.CodeServerError,
				Message: "testserver: the CRC faults need a v5 connection past STARTUP"}}
		}
	}
	stream := h.Stream
	if rep.Fault == FaultWrongStream {
		stream = rep.Stream
		if stream == 0 {
			stream = int16((int(h.Stream) + 16384) & 0x7FFF)
		}
	}
	version := h.Version
	if c.info.Version != 0 {
		version = c.info.Version
	}
	if rep.Fault == FaultOversize {
		n := rep.Length
		if n == 0 {
			n = frame.DefaultMaxFrameSize + 1
		}
		hdr := frame.AppendHeader(nil, frame.Header{Version: version, Response: true, Stream: stream, Opcode: frame.OpResult, Length: int(n)})
		c.queueSpecial(special{kind: specialOversize, data: hdr}, rep.Delay)
		return
	}
	if rep.raw == nil && rep.Message == nil && rep.Envelope == nil {
		if rep.startFraming {
			c.queueSpecial(special{kind: specialSwitch, lz4: c.segLZ4}, 0)
		}
		return
	}
	if rep.Fault == FaultNone || rep.Fault == FaultWrongStream {
		if rep.Delay > 0 {
			b, err := c.encode(nil, rep, version, stream)
			if err != nil {
				c.encodeFailed(req, err)
				return
			}
			c.queueBytes(b, rep.startFraming, rep.Delay)
			return
		}
		// The fast path: encode straight into pending.
		c.wmu.Lock()
		start := len(c.pending)
		var err error
		c.pending, err = c.encode(c.pending, rep, version, stream)
		if err != nil {
			c.pending = c.pending[:start]
		} else if rep.startFraming {
			c.specials = append(c.specials, special{at: len(c.pending), kind: specialSwitch, lz4: c.segLZ4})
		}
		c.wmu.Unlock()
		c.queued = true
		if err != nil {
			c.encodeFailed(req, err)
		}
		return
	}
	b, err := c.encode(nil, rep, version, stream)
	if err != nil {
		c.encodeFailed(req, err)
		return
	}
	sp := special{data: b, cut: rep.Cut}
	switch rep.Fault {
	case FaultTruncate:
		sp.kind = specialTruncate
	case FaultBadCRC24:
		sp.kind = specialCRC24
	case FaultBadCRC32:
		sp.kind = specialCRC32
	default:
		c.s.logf("conn %d: unknown fault %d; reply dropped", c.info.ID, rep.Fault)
		return
	}
	c.queueSpecial(sp, rep.Delay)
}

func (c *conn) encodeFailed(req *Request, err error) {
	c.s.logf("conn %d: cannot encode the reply to %v: %v", c.info.ID, req.Header.Opcode, err)
	if req.Header.Stream == -1 {
		return
	}
	rep := Reply{Message: &frame.Error{Code: frame.CodeServerError, Message: "testserver: cannot encode the reply: " + err.Error()}}
	c.dispatch(req, &rep)
}

// encode appends the envelope of rep to dst.
func (c *conn) encode(dst []byte, rep *Reply, v frame.Version, stream int16) ([]byte, error) {
	if rep.raw != nil {
		start := len(dst)
		dst = append(dst, rep.raw...)
		binary.BigEndian.PutUint16(dst[start+2:], uint16(stream))
		return dst, nil
	}
	var e frame.Envelope
	if rep.Envelope != nil {
		e = *rep.Envelope
	} else {
		e.Message = rep.Message
	}
	e.Version, e.Response, e.Stream = v, true, stream
	return frame.AppendEnvelope(dst, &e, c.outComp())
}

// queueBytes queues encoded envelopes, after a delay when d > 0.
func (c *conn) queueBytes(b []byte, switchAfter bool, d time.Duration) {
	lz4 := c.segLZ4
	c.later(d, func() {
		c.pending = append(c.pending, b...)
		if switchAfter {
			c.specials = append(c.specials, special{at: len(c.pending), kind: specialSwitch, lz4: lz4})
		}
	})
}

// queueSpecial queues a writer action, after a delay when d > 0.
func (c *conn) queueSpecial(sp special, d time.Duration) {
	c.later(d, func() {
		sp.at = len(c.pending)
		c.specials = append(c.specials, sp)
	})
}

// later runs f under wmu now (the reader wakes the writer at the end of
// its batch) or after d (and wakes the writer itself).
func (c *conn) later(d time.Duration, f func()) {
	if d <= 0 {
		c.wmu.Lock()
		f()
		c.wmu.Unlock()
		c.queued = true
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return
	}
	c.timerWG.Add(1)
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		defer c.timerWG.Done()
		c.wmu.Lock()
		delete(c.timers, t)
		if c.closed {
			c.wmu.Unlock()
			return
		}
		f()
		c.wmu.Unlock()
		c.signal()
	})
	c.timers[t] = struct{}{}
}

// pushEvent queues an EVENT if the connection registered for its type.
func (c *conn) pushEvent(ev frame.Event) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed || !c.events[ev.EventType()] {
		return false
	}
	start := len(c.pending)
	var err error
	c.pending, err = frame.AppendEnvelope(c.pending, &frame.Envelope{Version: c.evVer, Response: true, Stream: -1, Message: ev}, c.evComp)
	if err != nil {
		c.pending = c.pending[:start]
		c.s.logf("conn %d: cannot encode event: %v", c.info.ID, err)
		return false
	}
	c.signal()
	return true
}

// writeLoop writes what the reader (and timers, and Broadcast) queue.
func (c *conn) writeLoop() {
	defer c.s.wg.Done()
	defer close(c.writerDone)
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		c.wmu.Lock()
		buf, specs := c.pending, c.specials
		c.pending, c.specials = c.spare[:0], c.spareSpec[:0]
		c.wmu.Unlock()
		closeNow := c.writeBatch(buf, specs)
		if cap(buf) > retainLimit {
			buf = nil
		}
		c.spare, c.spareSpec = buf[:0], clear0(specs)
		if closeNow {
			c.kill()
			return
		}
	}
}

func clear0(s []special) []special {
	clear(s)
	return s[:0]
}

// writeBatch frames and writes one batch; it reports whether the
// connection must now be closed.
func (c *conn) writeBatch(buf []byte, specs []special) (closeNow bool) {
	out := c.out[:0]
	prev := 0
	for _, sp := range specs {
		out = c.frame(out, buf[prev:sp.at])
		prev = sp.at
		switch sp.kind {
		case specialSwitch:
			c.segOut = true
			c.segw.Compress = sp.lz4
		case specialClose:
			closeNow = true
		case specialTruncate:
			one := c.frame(nil, sp.data)
			cut := sp.cut
			if cut <= 0 {
				hdr := frame.HeaderSize
				if c.segOut {
					hdr = segment.HeaderSize
					if c.segw.Compress {
						hdr = segment.CompressedHeaderSize
					}
				}
				cut = max(len(one)/2, hdr+1)
			}
			cut = min(cut, len(one)-1)
			out = append(out, one[:max(cut, 0)]...)
			closeNow = true
		case specialCRC24, specialCRC32:
			seg, err := segment.AppendSegment(nil, sp.data, true, c.segw.Compress)
			if err != nil {
				c.s.logf("conn %d: CRC fault: %v", c.info.ID, err)
				break
			}
			if sp.kind == specialCRC24 {
				hdr := segment.HeaderSize
				if c.segw.Compress {
					hdr = segment.CompressedHeaderSize
				}
				seg[hdr-3] ^= 1 // low byte of the little-endian CRC24
			} else {
				seg[len(seg)-4] ^= 1 // low byte of the little-endian CRC32
			}
			out = append(out, seg...)
		case specialOversize:
			if c.segOut {
				out, _ = segment.AppendSegment(out, sp.data, false, c.segw.Compress)
			} else {
				out = append(out, sp.data...)
			}
		}
		if closeNow {
			break
		}
	}
	if !closeNow {
		out = c.frame(out, buf[prev:])
	}
	if len(out) > 0 {
		if _, err := c.nc.Write(out); err != nil {
			closeNow = true
		}
	}
	if cap(out) > retainLimit {
		out = nil
	}
	c.out = out[:0]
	return closeNow
}

// frame appends envelopes as they go on the wire: as they are, or packed
// in v5 segments.
func (c *conn) frame(out, envs []byte) []byte {
	if len(envs) == 0 {
		return out
	}
	if !c.segOut {
		return append(out, envs...)
	}
	res, err := c.segw.AppendBatch(out, envs)
	if err != nil {
		c.s.logf("conn %d: cannot frame replies: %v", c.info.ID, err)
		return out
	}
	return res
}
