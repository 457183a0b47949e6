package testserver

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/frame/segment"
)

// faultServer answers QUERY "fault" with the reply rep(req) and everything
// else as the answering machine.
func faultServer(t *testing.T, rep func(req *Request) Reply) *Server {
	return start(t, Options{Handler: func(req *Request) Reply {
		if req.Header.Opcode == frame.OpQuery {
			if env, err := req.Envelope(); err == nil && env.Message.(*frame.Query).Query == "fault" {
				return rep(req)
			}
		}
		return req.Default()
	}})
}

var faultQuery = &frame.Query{Query: "fault", Params: frame.QueryParams{Consistency: frame.One}}
var okQuery = &frame.Query{Query: "ok", Params: frame.QueryParams{Consistency: frame.One}}

func TestFaultWrongStream(t *testing.T) {
	for _, tc := range []struct {
		stream, want int16
	}{{0, 5 + 16384}, {123, 123}, {-1, -1}} {
		s := faultServer(t, func(req *Request) Reply {
			r := req.Default()
			r.Fault, r.Stream = FaultWrongStream, tc.stream
			return r
		})
		for _, vr := range variants {
			c := dialRaw(t, s.Addr(), vr.v)
			c.ready(vr.comp)
			c.send(5, faultQuery)
			e := c.recv()
			if e.Stream != tc.want || e.Message.Opcode() != frame.OpResult {
				t.Fatalf("%v: got stream %d %s, want stream %d", vr, e.Stream, frame.DescribeMessage(e.Message), tc.want)
			}
			c.do(6, okQuery) // the connection goes on
		}
	}
}

// TestFaultTruncate: the client sees a header announcing more bytes than
// arrive before the connection closes.
func TestFaultTruncate(t *testing.T) {
	for _, cut := range []int{0, 4, 12} {
		s := faultServer(t, func(req *Request) Reply {
			r := req.Default()
			r.Fault, r.Cut = FaultTruncate, cut
			return r
		})
		for _, vr := range variants {
			c := dialRaw(t, s.Addr(), vr.v)
			c.ready(vr.comp)
			c.send(2, okQuery)
			c.send(3, faultQuery)
			if e := c.recv(); e.Stream != 2 {
				t.Fatalf("earlier reply: stream %d", e.Stream)
			}
			rest := append(c.rbuf, c.expectEOF()...)
			switch {
			case cut > 0 && len(rest) != cut:
				t.Fatalf("%v cut %d: got %d bytes", vr, cut, len(rest))
			case cut > 0:
			case c.seg:
				n, err := segment.Len(rest, c.lz4)
				if err != nil || n <= len(rest) {
					t.Fatalf("%v: segment of %d bytes announced, %d sent (%v)", vr, n, len(rest), err)
				}
			default:
				h, err := frame.ParseHeader(rest, nil)
				if err != nil || h.Stream != 3 || frame.HeaderSize+h.Length <= len(rest) {
					t.Fatalf("%v: header %+v, %d bytes sent (%v)", vr, h, len(rest), err)
				}
			}
		}
	}
}

func TestFaultBadCRC(t *testing.T) {
	for _, fault := range []Fault{FaultBadCRC24, FaultBadCRC32} {
		s := faultServer(t, func(req *Request) Reply {
			r := req.Default()
			r.Fault = fault
			return r
		})
		for _, vr := range variants {
			c := dialRaw(t, s.Addr(), vr.v)
			c.ready(vr.comp)
			c.send(3, faultQuery)
			if vr.v == frame.V4 {
				// No CRCs in v4: the test is told so.
				e := c.recv()
				if fe, ok := e.Message.(*frame.Error); !ok || fe.Code != frame.CodeServerError || !strings.Contains(fe.Message, "v5") {
					t.Fatalf("v4: got %s", frame.DescribeMessage(e.Message))
				}
				continue
			}
			_, err := c.recvErr(ioTimeout)
			var se *segment.Error
			if !errors.As(err, &se) || !errors.Is(err, segment.ErrChecksum) {
				t.Fatalf("%v %d: got %v", vr, fault, err)
			}
			want := "header crc24"
			if fault == FaultBadCRC32 {
				want = "payload crc32"
			}
			if se.Field != want {
				t.Fatalf("%v: %v, want a bad %s", vr, err, want)
			}
			// The segment is otherwise intact: with the CRC fixed it decodes.
			raw := c.rbuf
			hdr := segment.HeaderSize
			if c.lz4 {
				hdr = segment.CompressedHeaderSize
			}
			if fault == FaultBadCRC24 {
				raw[hdr-3] ^= 1
			} else {
				n, _ := segment.Len(raw, c.lz4)
				raw[n-4] ^= 1
			}
			if e := c.recv(); e.Stream != 3 || e.Message.Opcode() != frame.OpResult {
				t.Fatalf("repaired: %s", frame.DescribeMessage(e.Message))
			}
		}
	}
}

func TestFaultOversize(t *testing.T) {
	for _, length := range []uint32{0, 1 << 20} {
		s := faultServer(t, func(req *Request) Reply {
			return Reply{Fault: FaultOversize, Length: length}
		})
		want := length
		if want == 0 {
			want = frame.DefaultMaxFrameSize + 1
		}
		for _, vr := range variants {
			c := dialRaw(t, s.Addr(), vr.v)
			c.ready(vr.comp)
			c.send(4, faultQuery)
			var hdr []byte
			if c.seg {
				c.fillTo(segmentLen(c.lz4, frame.HeaderSize))
				c.expectSilence(100 * time.Millisecond)
				payload, self, _, err := segment.DecodeSegment(c.rbuf, c.lz4, nil)
				if err != nil || self || len(payload) != frame.HeaderSize {
					t.Fatalf("%v: segment self=%v %d bytes (%v)", vr, self, len(payload), err)
				}
				hdr = payload
				r := segment.Reassembler{MaxBodySize: 1<<20 - 1}
				if err := r.Add(payload, false, func([]byte) error { return nil }); !errors.Is(err, segment.ErrTooLarge) {
					t.Fatalf("%v: reassembler says %v", vr, err)
				}
			} else {
				c.fillTo(frame.HeaderSize)
				c.expectSilence(100 * time.Millisecond)
				hdr = c.rbuf
				if len(hdr) != frame.HeaderSize {
					t.Fatalf("%v: %d bytes", vr, len(hdr))
				}
				if _, err := frame.ParseHeader(hdr, &frame.Limits{MaxFrameSize: 1<<20 - 1}); !errors.Is(err, frame.ErrTooLarge) {
					t.Fatalf("%v: ParseHeader says %v", vr, err)
				}
			}
			if got := binary.BigEndian.Uint32(hdr[5:]); got != want || int16(binary.BigEndian.Uint16(hdr[2:])) != 4 || hdr[0] != 0x80|byte(vr.v) {
				t.Fatalf("%v: header %x", vr, hdr)
			}
		}
	}
}

func TestFaultHoldAndDelay(t *testing.T) {
	s := start(t, Options{Handler: func(req *Request) Reply {
		r := req.Default()
		if req.Header.Opcode == frame.OpQuery {
			env, _ := req.Envelope()
			switch env.Message.(*frame.Query).Query {
			case "hold":
				r.Fault = FaultHold
			case "slow":
				r.Delay = 200 * time.Millisecond
			}
		}
		return r
	}})
	for _, vr := range variants {
		c := dialRaw(t, s.Addr(), vr.v)
		c.ready(vr.comp)
		t0 := time.Now()
		c.send(1, &frame.Query{Query: "hold"})
		c.send(2, &frame.Query{Query: "slow"})
		c.send(3, &frame.Query{Query: "fast"})
		if e := c.recv(); e.Stream != 3 {
			t.Fatalf("%v: first answer on stream %d", vr, e.Stream)
		}
		if e := c.recv(); e.Stream != 2 || time.Since(t0) < 200*time.Millisecond {
			t.Fatalf("%v: second answer on stream %d after %v", vr, e.Stream, time.Since(t0))
		}
		c.expectSilence(200 * time.Millisecond) // stream 1 is never answered
	}
}

func TestFaultClose(t *testing.T) {
	s := faultServer(t, func(*Request) Reply { return Reply{Fault: FaultClose} })
	for _, vr := range variants {
		c := dialRaw(t, s.Addr(), vr.v)
		c.ready(vr.comp)
		c.write(c.encode(1, okQuery), c.encode(2, faultQuery), c.encode(3, okQuery))
		if e := c.recv(); e.Stream != 1 {
			t.Fatalf("stream %d", e.Stream)
		}
		if rest := c.expectEOF(); len(rest)+len(c.rbuf) != 0 {
			t.Fatalf("%d bytes after the close", len(rest))
		}
	}
}

// TestFaultDuringHandshake: a handler may delay or hold the handshake too.
func TestFaultDuringHandshake(t *testing.T) {
	s := start(t, Options{Handler: func(req *Request) Reply {
		r := req.Default()
		if req.Header.Opcode == frame.OpStartup {
			r.Delay = 100 * time.Millisecond
		}
		if req.Header.Opcode == frame.OpOptions && req.Conn.ID == 2 {
			r.Fault = FaultHold
		}
		return r
	}})
	c := dialRaw(t, s.Addr(), frame.V5)
	t0 := time.Now()
	c.ready("lz4")
	if time.Since(t0) < 100*time.Millisecond {
		t.Fatal("READY not delayed")
	}
	c.do(2, okQuery) // segments both ways after the delayed READY
	c2 := dialRaw(t, s.Addr(), frame.V5)
	c2.send(0, &frame.Options{})
	c2.expectSilence(200 * time.Millisecond)
}

func TestBroadcast(t *testing.T) {
	s := start(t, Options{})
	ev := &frame.StatusChange{Change: frame.StatusDown, Address: netip.MustParseAddrPort("10.0.0.2:9042")}
	var regs []*rawConn
	for _, vr := range variants {
		c := dialRaw(t, s.Addr(), vr.v)
		c.ready(vr.comp)
		c.do(1, &frame.Register{EventTypes: []string{frame.EventStatusChange, frame.EventTopologyChange}})
		regs = append(regs, c)
	}
	other := dialRaw(t, s.Addr(), frame.V4)
	other.ready("")
	other.do(1, &frame.Register{EventTypes: []string{frame.EventSchemaChange}})
	if n := s.Broadcast(ev); n != len(variants) {
		t.Fatalf("queued on %d connections", n)
	}
	for i, c := range regs {
		e := c.recv()
		got, ok := e.Message.(*frame.StatusChange)
		if e.Stream != -1 || !ok || *got != *ev {
			t.Fatalf("%v: got stream %d %s", variants[i], e.Stream, frame.DescribeMessage(e.Message))
		}
	}
	other.expectSilence(100 * time.Millisecond)
}

func TestKillConnections(t *testing.T) {
	s := start(t, Options{Handler: func(req *Request) Reply {
		r := req.Default()
		if req.Header.Opcode == frame.OpQuery {
			r.Fault = FaultHold // requests in flight when the node dies
		}
		return r
	}})
	var conns []*rawConn
	for _, vr := range variants {
		c := dialRaw(t, s.Addr(), vr.v)
		c.ready(vr.comp)
		c.send(2, okQuery)
		conns = append(conns, c)
	}
	time.Sleep(20 * time.Millisecond)
	if n := s.KillConnections(); n != len(variants) {
		t.Fatalf("killed %d", n)
	}
	for _, c := range conns {
		c.expectEOF()
	}
	deadline := time.Now().Add(2 * time.Second)
	for s.Stats().Open != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st := s.Stats(); st.Open != 0 || st.Accepted != int64(len(variants)) {
		t.Fatalf("stats %+v", st)
	}
	// The node is "back": new connections work.
	c := dialRaw(t, s.Addr(), frame.V4)
	c.ready("")
}

func segmentLen(lz4 bool, payload int) int {
	if lz4 {
		return segment.CompressedHeaderSize + payload + segment.TrailerSize
	}
	return segment.HeaderSize + payload + segment.TrailerSize
}
