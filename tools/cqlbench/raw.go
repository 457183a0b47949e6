package cqlbench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/frame/compress"
	"github.com/cqlwire/cqlwire/frame/segment"
	"github.com/cqlwire/cqlwire/tools/cqlbench/workload"
	"github.com/cqlwire/cqlwire/types"
)

// rawDriver is the ceiling of the machine: no driver logic between the
// workers and the sockets. Each worker owns a stream id; the requests are
// encoded once before the run, one per key the other drivers use (the same
// keys, vectors and rows in the same order, so that a real node does the
// same work), and an operation copies one into the connection's write
// queue, patches in its stream id and waits for its answer. One writer
// goroutine per connection writes whatever is queued with one system call
// (in v5, packed into as few segments as fit, as any v5 client must: a
// segment per request would cost the server a checksum and a frame each),
// and one reader goroutine frames the answers (envelopes, or v5 segments
// with their CRCs, LZ4-decompressed) and hands each body to the worker
// waiting on its stream.
//
// Answers are still checked, at the wire level: the opcode, the result kind
// and the row count (for paged reads, the paging state is read from the
// answer and the next request encoded with it). Values in the rows are not
// decoded: that is driver work.
type rawDriver struct{}

func (rawDriver) Name() string { return "raw" }

type rawClient struct {
	t        Target
	conns    []*rawConn
	prepared map[*workload.Statement]*frame.Prepared

	reqMu    sync.Mutex
	requests map[workload.Kind]*rawRequests
}

func (rawDriver) Open(ctx context.Context, t Target) (Client, error) {
	c := &rawClient{t: t, prepared: map[*workload.Statement]*frame.Prepared{}, requests: map[workload.Kind]*rawRequests{}}
	for range max(t.Conns, 1) {
		rc, err := dialRaw(ctx, &t)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("raw: %w", err)
		}
		c.conns = append(c.conns, rc)
	}
	setup := c.conns[0].slot(0)
	for _, st := range workload.Statements {
		env, err := c.conns[0].roundTripDecoded(ctx, setup, &frame.Prepare{Query: st.CQL})
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("raw: PREPARE %s: %w", st.CQL, err)
		}
		p, ok := env.Message.(*frame.Prepared)
		if !ok {
			c.Close()
			return nil, fmt.Errorf("raw: PREPARE %s answered with %T", st.CQL, env.Message)
		}
		c.prepared[st] = p
	}
	return c, nil
}

func (c *rawClient) Close() error {
	var errs []error
	for _, rc := range c.conns {
		errs = append(errs, rc.close())
	}
	return errors.Join(errs...)
}

// rawExecute returns the EXECUTE of st with the given Go values bound.
func rawExecute(p *frame.Prepared, values ...any) (*frame.Execute, error) {
	e := &frame.Execute{ID: p.ID, ResultMetadataID: p.ResultMetadataID, Params: frame.QueryParams{
		Consistency: frame.One, Values: make([]frame.Value, len(values)), SkipMetadata: len(p.Result.Columns) > 0,
	}}
	if len(values) != len(p.Params.Columns) {
		return nil, fmt.Errorf("%d values for %d bind markers", len(values), len(p.Params.Columns))
	}
	for i, v := range values {
		b, _, err := types.Append(nil, p.Params.Columns[i].Type, v)
		if err != nil {
			return nil, err
		}
		e.Params.Values[i] = frame.Value{Bytes: b}
	}
	return e, nil
}

// rawRequests are the pre-encoded requests of one workload: whole
// envelopes on stream 0, one per key.
type rawRequests struct {
	envs [][]byte
	exec *frame.Execute // the last one, for paged reads to re-encode with a paging state
}

// requestsFor encodes (once per workload) the requests of kind.
func (c *rawClient) requestsFor(kind workload.Kind) (*rawRequests, error) {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	if r := c.requests[kind]; r != nil {
		return r, nil
	}
	st, err := statementOf(kind)
	if err != nil {
		return nil, err
	}
	p := c.prepared[st]
	var n int
	var values func(i int) []any
	switch kind {
	case workload.Select:
		n, values = workload.KVRows, func(k int) []any { return []any{int32(k)} }
	case workload.Insert10:
		n, values = rawWideRows, func(i int) []any {
			r := workload.WideRow(0, uint64(i))
			return []any{r.K, r.Int, r.BigInt, r.Text, r.Double, r.Bool, r.TS, r.UUID, r.Blob, r.Float}
		}
	case workload.VectorInsert:
		n, values = workload.SeedVectors, func(id int) []any { return []any{int32(id), workload.Vec(int32(id))} }
	case workload.VectorANN:
		n, values = workload.SeedVectors, func(id int) []any { return []any{workload.Vec(int32(id))} }
	case workload.Paged:
		n, values = 1, func(int) []any { return []any{int32(workload.PagedPK)} }
	}
	r := &rawRequests{}
	for i := range n {
		exec, err := rawExecute(p, values(i)...)
		if err != nil {
			return nil, fmt.Errorf("raw: %s: %w", kind, err)
		}
		if kind == workload.Paged {
			exec.Params.PageSize = int32(c.t.PageSize)
		}
		env, err := c.conns[0].encode(nil, 0, exec)
		if err != nil {
			return nil, fmt.Errorf("raw: %s: %w", kind, err)
		}
		r.envs = append(r.envs, env)
		r.exec = exec
	}
	c.requests[kind] = r
	return r, nil
}

// rawWideRows is the number of distinct wide10 rows the raw driver writes.
const rawWideRows = 1024

func (c *rawClient) Worker(kind workload.Kind, id int) (Op, error) {
	reqs, err := c.requestsFor(kind)
	if err != nil {
		return nil, err
	}
	rc := c.conns[id%len(c.conns)]
	// Stream 0 of the first connection is the setup's; workers take 1 on.
	stream := int16(id/len(c.conns) + 1)
	slot := rc.slot(stream)
	var i uint64
	// next returns the request of the worker's next operation: the one of
	// the key the other drivers use for it.
	next := func() []byte {
		var k int
		switch kind {
		case workload.Select:
			k = int(workload.SelectKey(id, i))
		case workload.Insert10:
			k = int((uint64(id)*7919 + i) % rawWideRows)
		case workload.VectorInsert, workload.VectorANN:
			k = int(workload.VectorID(id, i))
		}
		i++
		return reqs.envs[k]
	}
	switch kind {
	case workload.Insert10, workload.VectorInsert:
		return func(ctx context.Context) error {
			if err := rc.roundTrip(ctx, slot, stream, next()); err != nil {
				return err
			}
			_, err := slot.rows(kind, resultVoid)
			return err
		}, nil
	case workload.Select, workload.VectorANN:
		want := 1
		if kind == workload.VectorANN {
			want = workload.ANNLimit
		}
		return func(ctx context.Context) error {
			if err := rc.roundTrip(ctx, slot, stream, next()); err != nil {
				return err
			}
			rh, err := slot.rows(kind, resultRows)
			if err != nil {
				return err
			}
			if rh.count != want {
				return wrongAnswer(kind, "%d rows, want %d", rh.count, want)
			}
			return nil
		}, nil
	case workload.Paged:
		exec := *reqs.exec // this worker's copy, to set paging states in
		var state, more []byte
		return func(ctx context.Context) error {
			total := 0
			msg := reqs.envs[0]
			for {
				if err := rc.roundTrip(ctx, slot, stream, msg); err != nil {
					return err
				}
				rh, err := slot.rows(kind, resultRows)
				if err != nil {
					return err
				}
				total += rh.count
				if rh.pagingState == nil {
					break
				}
				state = append(state[:0], rh.pagingState...)
				exec.Params.PagingState = state
				if more, err = rc.encode(more[:0], stream, &exec); err != nil {
					return err
				}
				msg = more
			}
			if total != workload.PagedRows {
				return wrongAnswer(kind, "%d rows, want %d", total, workload.PagedRows)
			}
			return nil
		}, nil
	}
	return nil, fmt.Errorf("raw: no worker for %q", kind)
}

// rawConn is one connection of the raw driver.
type rawConn struct {
	nc   net.Conn
	v    frame.Version
	comp frame.Compressor // v4 body compression, once negotiated
	seg  bool             // v5 segments, once STARTUP is answered
	lz4  bool             // the v5 segments are LZ4 ones
	rd   rawReader

	wmu    sync.Mutex
	queued []byte // envelopes, back to back
	wake   chan struct{}
	segw   segment.Writer // v5: the writer goroutine's

	slotMu sync.Mutex                // creating slots
	slots  []atomic.Pointer[rawSlot] // by stream id

	dead    chan struct{}
	errOnce sync.Once
	err     error
	done    sync.WaitGroup
}

// rawSlot is where the answer on one stream id is delivered.
type rawSlot struct {
	ready chan struct{}
	hdr   frame.Header
	body  []byte // a copy of the answer's body, reused from answer to answer
}

// maxRawStreams bounds the stream ids the raw driver uses per connection.
const maxRawStreams = 32768

func dialRaw(ctx context.Context, t *Target) (*rawConn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", t.Addr())
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	nc.SetDeadline(deadline)
	c := &rawConn{
		nc: nc, v: t.Version,
		wake:  make(chan struct{}, 1),
		slots: make([]atomic.Pointer[rawSlot], maxRawStreams),
		dead:  make(chan struct{}),
	}
	c.rd = rawReader{nc: nc, buf: make([]byte, 64<<10)}
	if err := c.handshake(t); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	c.done.Add(2)
	go c.readLoop()
	go c.writeLoop()
	return c, nil
}

// handshake sends STARTUP (and the PLAIN token if asked to authenticate),
// switching framing and compression where the protocol says.
func (c *rawConn) handshake(t *Target) error {
	startup, err := frame.AppendEnvelope(nil, &frame.Envelope{Version: c.v,
		Message: frame.NewStartup(t.Compression, "cqlbench raw", "")}, nil)
	if err != nil {
		return err
	}
	if _, err := c.nc.Write(startup); err != nil {
		return err
	}
	if c.v < frame.V5 && t.Compression == "lz4" {
		// The server may compress its very answer to STARTUP.
		c.rd.comp = compress.LZ4{}
	}
	env, err := c.readOne()
	if err != nil {
		return fmt.Errorf("STARTUP: %w", err)
	}
	// From the answer to STARTUP on, v5 frames everything in segments and
	// v4 compresses bodies.
	if c.v >= frame.V5 {
		c.seg, c.lz4 = true, t.Compression == "lz4"
		c.segw.Compress = c.lz4
		c.rd.seg, c.rd.lz4 = true, c.lz4
		c.rd.scratch = make([]byte, 0, segment.MaxPayloadSize)
	} else if t.Compression == "lz4" {
		c.comp = compress.LZ4{}
		c.rd.comp = c.comp
	} else if t.Compression != "" {
		return fmt.Errorf("compression %q not supported here", t.Compression)
	}
	switch m := env.Message.(type) {
	case *frame.Ready:
		return nil
	case *frame.Authenticate:
		if t.Username == "" {
			return fmt.Errorf("the server asks for authentication (%s) and no credentials were given", m.Authenticator)
		}
		token := []byte("\x00" + t.Username + "\x00" + t.Password)
		b, err := c.encode(nil, 0, &frame.AuthResponse{Token: token})
		if err != nil {
			return err
		}
		if c.seg {
			if b, err = c.segw.Append(nil, b); err != nil {
				return err
			}
		}
		if _, err := c.nc.Write(b); err != nil {
			return err
		}
		env, err := c.readOne()
		if err != nil {
			return fmt.Errorf("AUTH_RESPONSE: %w", err)
		}
		switch m := env.Message.(type) {
		case *frame.AuthSuccess:
			return nil
		case *frame.Error:
			return m
		default:
			return fmt.Errorf("AUTH_RESPONSE answered with %T", env.Message)
		}
	case *frame.Error:
		return m
	default:
		return fmt.Errorf("STARTUP answered with %T", env.Message)
	}
}

// readOne reads and decodes the next envelope (handshake only).
func (c *rawConn) readOne() (*frame.Envelope, error) {
	var got *frame.Envelope
	var derr error
	for got == nil && derr == nil {
		if err := c.rd.readSome(func(h frame.Header, body []byte) {
			got, derr = frame.DecodeBody(h, append([]byte(nil), body...), nil)
		}); err != nil {
			return nil, err
		}
	}
	return got, derr
}

// encode appends to dst the envelope of request msg on stream (the writer
// frames it in v5).
func (c *rawConn) encode(dst []byte, stream int16, msg frame.Message) ([]byte, error) {
	return frame.AppendEnvelope(dst, &frame.Envelope{Version: c.v, Stream: stream, Message: msg}, c.comp)
}

// slot returns the slot of a stream id, creating it.
func (c *rawConn) slot(stream int16) *rawSlot {
	c.slotMu.Lock()
	defer c.slotMu.Unlock()
	if c.slots[stream].Load() == nil {
		c.slots[stream].Store(&rawSlot{ready: make(chan struct{}, 1)})
	}
	return c.slots[stream].Load()
}

// roundTrip queues the envelope req on stream and waits for its answer in
// slot (the stream's).
func (c *rawConn) roundTrip(ctx context.Context, s *rawSlot, stream int16, req []byte) error {
	c.wmu.Lock()
	wasEmpty := len(c.queued) == 0
	start := len(c.queued)
	c.queued = append(c.queued, req...)
	binary.BigEndian.PutUint16(c.queued[start+2:], uint16(stream))
	c.wmu.Unlock()
	if wasEmpty {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	select {
	case <-s.ready:
		return nil
	case <-c.dead:
		return c.err
	case <-ctx.Done():
		// The answer may still come on this stream: the connection can no
		// longer be trusted to match answers, so it ends.
		c.fail(ctx.Err())
		return ctx.Err()
	}
}

// roundTripDecoded sends msg on slot's stream (the setup's: stream 0) and
// decodes the answer; an ERROR is returned as the error.
func (c *rawConn) roundTripDecoded(ctx context.Context, s *rawSlot, msg frame.Message) (*frame.Envelope, error) {
	req, err := c.encode(nil, 0, msg)
	if err != nil {
		return nil, err
	}
	if err := c.roundTrip(ctx, s, 0, req); err != nil {
		return nil, err
	}
	env, err := frame.DecodeBody(s.hdr, append([]byte(nil), s.body...), nil)
	if err != nil {
		return nil, err
	}
	if e, ok := env.Message.(*frame.Error); ok {
		return nil, e
	}
	return env, nil
}

func (c *rawConn) writeLoop() {
	defer c.done.Done()
	var spare, framed []byte
	for {
		select {
		case <-c.wake:
		case <-c.dead:
			return
		}
		// Let the workers that the reader just woke queue their next
		// requests first, so that one write carries them all: without
		// this yield the writer makes a system call for every request or
		// two (package conn's writer does the same).
		runtime.Gosched()
		c.wmu.Lock()
		buf := c.queued
		c.queued = spare[:0]
		c.wmu.Unlock()
		if len(buf) > 0 {
			out := buf
			if c.seg {
				var err error
				if framed, err = c.segw.AppendBatch(framed[:0], buf); err != nil {
					c.fail(err)
					return
				}
				out = framed
			}
			if _, err := c.nc.Write(out); err != nil {
				c.fail(err)
				return
			}
		}
		spare = buf
	}
}

func (c *rawConn) readLoop() {
	defer c.done.Done()
	var bad error
	// One closure for the connection's life: made in the loop, it would
	// be allocated for every read.
	deliver := func(h frame.Header, body []byte) {
		if bad != nil || h.Stream < 0 {
			return // an event: nobody registered for one
		}
		s := c.slots[h.Stream].Load()
		if s == nil {
			bad = fmt.Errorf("an answer on stream %d, on which nothing was sent", h.Stream)
			return
		}
		s.hdr = h
		s.body = append(s.body[:0], body...)
		select {
		case s.ready <- struct{}{}:
		default:
			bad = fmt.Errorf("a second answer on stream %d", h.Stream)
		}
	}
	for {
		err := c.rd.readSome(deliver)
		if err == nil {
			err = bad
		}
		if err != nil {
			c.fail(err)
			return
		}
	}
}

// fail ends the connection with err (the first error wins).
func (c *rawConn) fail(err error) {
	c.errOnce.Do(func() {
		c.err = fmt.Errorf("raw connection: %w", err)
		close(c.dead)
		c.nc.Close()
	})
}

func (c *rawConn) close() error {
	c.fail(net.ErrClosed)
	c.done.Wait()
	return nil
}

// Result kinds.
const (
	resultVoid int32 = 1
	resultRows int32 = 2
)

// rowsHead is what the raw driver reads of a Rows answer.
type rowsHead struct {
	count       int
	pagingState []byte // nil on the last page; aliases the slot's body
}

// rows checks that the answer in s is a RESULT of the wanted kind and, for
// Rows, reads its row count and paging state. The fast path reads the
// metadata of a skip-metadata answer by hand; anything else (warnings,
// tracing, column specs, changed metadata) is decoded by package frame.
func (s *rawSlot) rows(kind workload.Kind, want int32) (rowsHead, error) {
	h, b := s.hdr, s.body
	if h.Opcode == frame.OpResult && h.Flags&(frame.FlagTracing|frame.FlagWarning|frame.FlagCustomPayload) == 0 && len(b) >= 4 {
		got := int32(binary.BigEndian.Uint32(b))
		if got != want {
			return rowsHead{}, wrongAnswer(kind, "result kind %d, want %d", got, want)
		}
		if want != resultRows {
			return rowsHead{}, nil
		}
		if rh, ok := fastRowsHead(b[4:]); ok {
			return rh, nil
		}
	}
	env, err := frame.DecodeBody(h, b, nil)
	if err != nil {
		return rowsHead{}, err
	}
	switch m := env.Message.(type) {
	case *frame.Error:
		return rowsHead{}, m
	case *frame.Void:
		if want == resultVoid {
			return rowsHead{}, nil
		}
	case *frame.Rows:
		if want == resultRows {
			return rowsHead{count: m.RowCount, pagingState: m.Metadata.PagingState}, nil
		}
	}
	return rowsHead{}, wrongAnswer(kind, "answer %T", env.Message)
}

// fastRowsHead reads <flags><columns_count>[<paging_state>]<rows_count> of
// a Rows result without column specs; ok is false for any other layout.
func fastRowsHead(b []byte) (rowsHead, bool) {
	if len(b) < 8 {
		return rowsHead{}, false
	}
	flags := frame.MetadataFlags(binary.BigEndian.Uint32(b))
	if flags&frame.MetaNoMetadata == 0 || flags&frame.MetaMetadataChanged != 0 {
		return rowsHead{}, false
	}
	b = b[8:]
	var rh rowsHead
	if flags&frame.MetaHasMorePages != 0 {
		if len(b) < 4 {
			return rowsHead{}, false
		}
		n := int(int32(binary.BigEndian.Uint32(b)))
		if n < 0 || n > len(b)-4 {
			return rowsHead{}, false
		}
		rh.pagingState = b[4 : 4+n]
		b = b[4+n:]
	}
	if len(b) < 4 {
		return rowsHead{}, false
	}
	rh.count = int(int32(binary.BigEndian.Uint32(b)))
	return rh, rh.count >= 0
}

// rawReader frames what a connection receives: envelopes (v4, bodies
// decompressed when flagged) or v5 segments (checked, LZ4-decompressed,
// reassembled into envelopes).
type rawReader struct {
	nc   net.Conn
	buf  []byte // unread bytes are buf[r:w]
	r, w int

	comp    frame.Compressor // v4
	seg     bool             // v5 segments
	lz4     bool
	scratch []byte // v4 decompressed bodies; v5 decompressed payloads
	reasm   segment.Reassembler

	// The envelope handler and what it reports to, for one parse.
	handle func(env []byte) error
	emit   func(h frame.Header, body []byte)
	count  int
}

// readSome reads until at least one whole envelope has arrived and passes
// each whole envelope received to emit. The body emit gets is only valid
// during the call.
func (rd *rawReader) readSome(emit func(h frame.Header, body []byte)) error {
	for {
		n, err := rd.parse(emit)
		if err != nil || n > 0 {
			return err
		}
		if err := rd.fill(); err != nil {
			return err
		}
	}
}

// fill reads more bytes, making room first.
func (rd *rawReader) fill() error {
	if rd.w == len(rd.buf) {
		if rd.r > 0 {
			rd.w = copy(rd.buf, rd.buf[rd.r:rd.w])
			rd.r = 0
		} else {
			rd.buf = append(rd.buf, make([]byte, len(rd.buf))...)
		}
	}
	n, err := rd.nc.Read(rd.buf[rd.w:])
	rd.w += n
	if n > 0 {
		return nil
	}
	return err
}

// parse emits the envelopes that are whole in the buffer and returns how
// many.
func (rd *rawReader) parse(emit func(h frame.Header, body []byte)) (int, error) {
	rd.emit, rd.count = emit, 0
	if rd.handle == nil {
		rd.handle = rd.handleEnvelope // a method value allocates: make it once
	}
	handle := rd.handle
	for {
		in := rd.buf[rd.r:rd.w]
		if !rd.seg {
			if len(in) < frame.HeaderSize {
				return rd.count, nil
			}
			h, err := frame.ParseHeader(in, nil)
			if err != nil {
				return rd.count, err
			}
			if len(in) < frame.HeaderSize+h.Length {
				rd.reserve(frame.HeaderSize + h.Length)
				return rd.count, nil
			}
			rd.r += frame.HeaderSize + h.Length
			if err := handle(in[:frame.HeaderSize+h.Length]); err != nil {
				return rd.count, err
			}
			continue
		}
		size, err := segment.Len(in, rd.lz4)
		if err == segment.ErrIncomplete {
			return rd.count, nil
		}
		if err != nil {
			return rd.count, err
		}
		if len(in) < size {
			rd.reserve(size)
			return rd.count, nil
		}
		payload, self, n, err := segment.DecodeSegment(in, rd.lz4, rd.scratch[:0])
		if err != nil {
			return rd.count, err
		}
		rd.r += n
		if err := rd.reasm.Add(payload, self, handle); err != nil {
			return rd.count, err
		}
	}
}

// handleEnvelope decompresses (v4) and emits one whole envelope.
func (rd *rawReader) handleEnvelope(env []byte) error {
	h, err := frame.ParseHeader(env, nil)
	if err != nil {
		return err
	}
	body := env[frame.HeaderSize:]
	if len(body) != h.Length {
		return fmt.Errorf("envelope of %d body bytes announces %d", len(body), h.Length)
	}
	if h.Flags&frame.FlagCompression != 0 {
		if rd.comp == nil {
			return errors.New("a compressed envelope on a connection without compression")
		}
		if rd.scratch, err = rd.comp.AppendDecompressed(rd.scratch[:0], body, 0); err != nil {
			return err
		}
		body = rd.scratch
		h.Flags &^= frame.FlagCompression
		h.Length = len(body)
	}
	rd.count++
	rd.emit(h, body)
	return nil
}

// reserve makes sure the buffer can hold n unread bytes.
func (rd *rawReader) reserve(n int) {
	switch {
	case n <= len(rd.buf)-rd.r:
	case n <= len(rd.buf):
		rd.w = copy(rd.buf, rd.buf[rd.r:rd.w])
		rd.r = 0
	default:
		grown := make([]byte, max(n, 2*len(rd.buf)))
		rd.w = copy(grown, rd.buf[rd.r:rd.w])
		rd.r = 0
		rd.buf = grown
	}
}
