package testserver

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/frame/compress"
	"github.com/cqlwire/cqlwire/frame/segment"
)

// rawConn is a minimal client for observing the server on the wire: it
// sends envelopes (framed in segments once switched) and reads envelopes or
// raw bytes.
type rawConn struct {
	t     testing.TB
	nc    net.Conn
	v     frame.Version
	seg   bool
	lz4   bool
	comp  frame.Compressor
	rbuf  []byte
	reasm segment.Reassembler
	queue [][]byte
	segw  segment.Writer
}

const ioTimeout = 5 * time.Second

func dialRaw(t testing.TB, addr string, v frame.Version) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc, v: v}
}

func (c *rawConn) encode(stream int16, m frame.Message) []byte {
	c.t.Helper()
	return c.encodeEnv(&frame.Envelope{Version: c.v, Stream: stream, Message: m})
}

func (c *rawConn) encodeEnv(e *frame.Envelope) []byte {
	c.t.Helper()
	b, err := frame.AppendEnvelope(nil, e, c.comp)
	if err != nil {
		c.t.Fatal(err)
	}
	return b
}

// write sends envelopes, framed as the connection is.
func (c *rawConn) write(envs ...[]byte) {
	c.t.Helper()
	var out []byte
	if c.seg {
		var err error
		if out, err = c.segw.Append(nil, envs...); err != nil {
			c.t.Fatal(err)
		}
	} else {
		for _, e := range envs {
			out = append(out, e...)
		}
	}
	c.nc.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := c.nc.Write(out); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawConn) send(stream int16, m frame.Message) {
	c.t.Helper()
	c.write(c.encode(stream, m))
}

func (c *rawConn) fill(deadline time.Time) error {
	c.nc.SetReadDeadline(deadline)
	var tmp [64 << 10]byte
	n, err := c.nc.Read(tmp[:])
	c.rbuf = append(c.rbuf, tmp[:n]...)
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// next returns the bytes of the next envelope.
func (c *rawConn) next(deadline time.Time) ([]byte, error) {
	if !c.seg {
		for {
			if len(c.rbuf) >= frame.HeaderSize {
				h, err := frame.ParseHeader(c.rbuf, nil)
				if err != nil {
					return nil, err
				}
				if n := frame.HeaderSize + h.Length; len(c.rbuf) >= n {
					out := append([]byte(nil), c.rbuf[:n]...)
					c.rbuf = c.rbuf[n:]
					return out, nil
				}
			}
			if err := c.fill(deadline); err != nil {
				return nil, err
			}
		}
	}
	for len(c.queue) == 0 {
		payload, self, n, err := segment.DecodeSegment(c.rbuf, c.lz4, nil)
		if errors.Is(err, segment.ErrIncomplete) {
			if err := c.fill(deadline); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		err = c.reasm.Add(payload, self, func(env []byte) error {
			c.queue = append(c.queue, append([]byte(nil), env...))
			return nil
		})
		c.rbuf = c.rbuf[n:]
		if err != nil {
			return nil, err
		}
	}
	out := c.queue[0]
	c.queue = c.queue[1:]
	return out, nil
}

// recvErr reads and decodes the next envelope.
func (c *rawConn) recvErr(timeout time.Duration) (*frame.Envelope, error) {
	b, err := c.next(time.Now().Add(timeout))
	if err != nil {
		return nil, err
	}
	e, _, err := frame.DecodeEnvelope(b, &frame.DecodeOptions{Compressor: c.comp})
	return e, err
}

func (c *rawConn) recv() *frame.Envelope {
	c.t.Helper()
	e, err := c.recvErr(ioTimeout)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// Show where the server's goroutines are, to tell a stall from a
		// slow machine.
		buf := make([]byte, 1<<20)
		c.t.Fatalf("recv: %v (%d bytes buffered)\n%s", err, len(c.rbuf), buf[:runtime.Stack(buf, true)])
	}
	if err != nil {
		c.t.Fatalf("recv: %v", err)
	}
	return e
}

// do sends a request and returns the next envelope, which must answer it.
func (c *rawConn) do(stream int16, m frame.Message) *frame.Envelope {
	c.t.Helper()
	c.send(stream, m)
	e := c.recv()
	if e.Stream != stream {
		c.t.Fatalf("answer to stream %d came on stream %d: %s", stream, e.Stream, frame.DescribeMessage(e.Message))
	}
	return e
}

// startup performs OPTIONS/STARTUP and expects msg (READY by default) in
// answer, switching to the negotiated framing and compression.
func (c *rawConn) startup(compression string) *frame.Envelope {
	c.t.Helper()
	if e := c.do(0, &frame.Options{}); e.Message.Opcode() != frame.OpSupported {
		c.t.Fatalf("OPTIONS answered %s", frame.DescribeMessage(e.Message))
	}
	c.send(1, frame.NewStartup(compression, "rawclient", "0"))
	switch compression {
	case "lz4":
		if c.v >= frame.V5 {
			c.lz4 = true
		} else {
			c.comp = compress.LZ4{}
		}
	case "snappy":
		c.comp = compress.Snappy{}
	}
	e := c.recv()
	if _, ok := e.Message.(*frame.Error); !ok && c.v >= frame.V5 {
		c.seg = true
		c.segw.Compress = c.lz4
	}
	return e
}

// ready performs the handshake and requires READY.
func (c *rawConn) ready(compression string) {
	c.t.Helper()
	if e := c.startup(compression); e.Message.Opcode() != frame.OpReady {
		c.t.Fatalf("STARTUP answered %s", frame.DescribeMessage(e.Message))
	}
}

// readAll reads raw bytes until EOF (eof true) or until the timeout.
func (c *rawConn) readAll(timeout time.Duration) (b []byte, eof bool) {
	deadline := time.Now().Add(timeout)
	for {
		err := c.fill(deadline)
		if err != nil {
			b, c.rbuf = c.rbuf, nil
			return b, errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err)
		}
	}
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && !errors.Is(err, os.ErrDeadlineExceeded)
}

// expectEOF requires the server to close the connection.
func (c *rawConn) expectEOF() []byte {
	c.t.Helper()
	b, eof := c.readAll(ioTimeout)
	if !eof {
		c.t.Fatalf("connection not closed; got %d bytes", len(b))
	}
	return b
}

// expectSilence requires nothing to arrive for d.
func (c *rawConn) expectSilence(d time.Duration) {
	c.t.Helper()
	err := c.fill(time.Now().Add(d))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		c.t.Fatalf("expected silence, got %d bytes, err %v", len(c.rbuf), err)
	}
}

// fillTo reads until at least n bytes are buffered.
func (c *rawConn) fillTo(n int) {
	c.t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for len(c.rbuf) < n {
		if err := c.fill(deadline); err != nil {
			c.t.Fatalf("read: %v (%d of %d bytes)", err, len(c.rbuf), n)
		}
	}
}
