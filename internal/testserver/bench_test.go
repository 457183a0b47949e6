package testserver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/frame/segment"
)

// BenchmarkServer measures the server alone: a raw client writes
// pre-encoded QUERY envelopes, `window` at a time in flight (two half
// windows: one being answered while the next is sent), and only counts the
// answers. No driver logic: this is the ceiling the answering machine puts
// on any driver benchmark on this machine.
func BenchmarkServer(b *testing.B) {
	for _, vr := range []variant{{frame.V4, ""}, {frame.V4, "lz4"}, {frame.V5, ""}, {frame.V5, "lz4"}} {
		for _, window := range []int{2, 32, 512} {
			b.Run(fmt.Sprintf("%v/inflight=%d", vr, window), func(b *testing.B) {
				benchServer(b, Options{}, vr, window)
			})
		}
	}
	b.Run("v5/echo/inflight=512", func(b *testing.B) { benchServer(b, Options{Echo: true}, variant{frame.V5, ""}, 512) })
	b.Run("v5/strict/inflight=512", func(b *testing.B) { benchServer(b, Options{Strict: true}, variant{frame.V5, ""}, 512) })
}

func benchServer(b *testing.B, opts Options, vr variant, window int) {
	opts.Logf = b.Logf
	s := start(b, opts)
	c := dialRaw(b, s.Addr(), vr.v)
	c.ready(vr.comp)
	half := max(window/2, 1)
	q := &frame.Query{Query: "SELECT v FROM ks.t WHERE k = ?", Params: frame.QueryParams{Consistency: frame.One,
		Values: []frame.Value{{Bytes: []byte("key-0001")}}}}
	envs := make([][]byte, half)
	for i := range envs {
		envs[i] = c.encode(int16(i), q)
	}
	var batch []byte
	if c.seg {
		var err error
		if batch, err = c.segw.Append(nil, envs...); err != nil {
			b.Fatal(err)
		}
	} else {
		for _, e := range envs {
			batch = append(batch, e...)
		}
	}
	cr := countingReader{c: c}
	b.ResetTimer()
	t0 := time.Now()
	sent, got := 0, 0
	c.nc.SetDeadline(time.Now().Add(time.Minute))
	for got < b.N {
		for sent < b.N && sent-got < window {
			if _, err := c.nc.Write(batch); err != nil {
				b.Fatal(err)
			}
			sent += half
		}
		n, err := cr.read()
		if err != nil {
			b.Fatal(err)
		}
		got += n
	}
	el := time.Since(t0)
	b.StopTimer()
	// Answers beyond b.N (the last half window) are left unread.
	b.ReportMetric(float64(got)/el.Seconds(), "req/s")
}

// countingReader counts answers without decoding them.
type countingReader struct {
	c    *rawConn
	buf  []byte
	r, w int
	dst  []byte // LZ4 segment payloads
}

func (cr *countingReader) read() (int, error) {
	if cr.buf == nil {
		cr.buf = make([]byte, 1<<20)
	}
	if cr.r > 0 {
		cr.w = copy(cr.buf, cr.buf[cr.r:cr.w])
		cr.r = 0
	}
	n, err := cr.c.nc.Read(cr.buf[cr.w:])
	if err != nil {
		return 0, err
	}
	cr.w += n
	count := 0
	for {
		b := cr.buf[cr.r:cr.w]
		if !cr.c.seg {
			if len(b) < frame.HeaderSize || len(b) < frame.HeaderSize+int(binary.BigEndian.Uint32(b[5:])) {
				return count, nil
			}
			cr.r += frame.HeaderSize + int(binary.BigEndian.Uint32(b[5:]))
			count++
			continue
		}
		if cr.dst == nil {
			cr.dst = make([]byte, 0, segment.MaxPayloadSize)
		}
		payload, _, n, err := segment.DecodeSegment(b, cr.c.lz4, cr.dst[:0])
		if errors.Is(err, segment.ErrIncomplete) {
			return count, nil
		}
		if err != nil {
			return count, err
		}
		for len(payload) >= frame.HeaderSize { // self-contained: whole envelopes
			payload = payload[frame.HeaderSize+int(binary.BigEndian.Uint32(payload[5:])):]
			count++
		}
		cr.r += n
	}
}
