package conn

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/frame/segment"
)

// envelopes encodes a few answers of version v back to back.
func envelopes(t testing.TB, v frame.Version, n int) []byte {
	var out []byte
	for i := range n {
		var err error
		out, err = frame.AppendEnvelope(out, &frame.Envelope{Version: v, Response: true, Stream: int16(i),
			Message: &frame.SetKeyspace{Keyspace: "ks"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func readAll(r *frameReader) (n int, err error) {
	for {
		_, _, err := r.next()
		if err != nil {
			return n, err
		}
		n++
	}
}

func TestFrameReader(t *testing.T) {
	t.Run("v4", func(t *testing.T) {
		r := newFrameReader(bytes.NewReader(envelopes(t, frame.V4, 3)), 0)
		if n, err := readAll(r); n != 3 || err != io.EOF {
			t.Fatalf("%d envelopes, %v", n, err)
		}
	})
	for _, lz4 := range []bool{false, true} {
		t.Run("v5 lz4="+map[bool]string{false: "no", true: "yes"}[lz4], func(t *testing.T) {
			// Small envelopes share a segment; a large one spans several.
			raw := envelopes(t, frame.V5, 5)
			big, err := frame.AppendEnvelope(nil, &frame.Envelope{Version: frame.V5, Response: true, Stream: 9,
				Message: &frame.AuthSuccess{Token: bytes.Repeat([]byte("x"), 300_000)}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			w := segment.Writer{Compress: lz4}
			segs, err := w.AppendBatch(nil, append(raw, big...))
			if err != nil {
				t.Fatal(err)
			}
			r := newFrameReader(bytes.NewReader(segs), 0)
			r.useSegments(lz4)
			var bodies [][]byte
			for {
				h, body, err := r.next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(body) != h.Length {
					t.Fatalf("stream %d: body of %d bytes, header says %d", h.Stream, len(body), h.Length)
				}
				bodies = append(bodies, body)
			}
			if len(bodies) != 6 || len(bodies[5]) != len(big)-frame.HeaderSize {
				t.Fatalf("%d envelopes", len(bodies))
			}
			// Bodies are owned: they survive the reader's buffer reuse.
			for i := range 5 {
				if !bytes.Equal(bodies[i], raw[i*len(raw)/5+frame.HeaderSize:(i+1)*len(raw)/5]) {
					t.Errorf("body %d changed", i)
				}
			}
		})
	}
	t.Run("limit", func(t *testing.T) {
		r := newFrameReader(bytes.NewReader(envelopes(t, frame.V4, 1)), 4)
		if _, _, err := r.next(); !errors.Is(err, ErrProtocol) || !errors.Is(err, frame.ErrTooLarge) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		raw := envelopes(t, frame.V4, 1)
		r := newFrameReader(bytes.NewReader(raw[:len(raw)-1]), 0)
		if _, _, err := r.next(); !errors.Is(err, errMidFrame) {
			t.Fatalf("got %v", err)
		}
	})
}

// FuzzFrameReader feeds arbitrary bytes to the reader in each framing: it
// must return envelopes or an error, never panic, and never hand out a
// body whose length differs from its header's.
func FuzzFrameReader(f *testing.F) {
	f.Add(envelopes(f, frame.V4, 2), byte(0))
	segs, _ := (&segment.Writer{}).AppendBatch(nil, envelopes(f, frame.V5, 2))
	f.Add(segs, byte(1))
	lz, _ := (&segment.Writer{Compress: true}).AppendBatch(nil, envelopes(f, frame.V5, 2))
	f.Add(lz, byte(2))
	f.Fuzz(func(t *testing.T, data []byte, mode byte) {
		r := newFrameReader(bytes.NewReader(data), 1<<20)
		switch mode % 3 {
		case 1:
			r.useSegments(false)
		case 2:
			r.useSegments(true)
		}
		for range 1000 {
			h, body, err := r.next()
			if err != nil {
				return
			}
			if len(body) != h.Length {
				t.Fatalf("body of %d bytes, header says %d", len(body), h.Length)
			}
		}
	})
}

// TestFrameReaderHugeBody: a header announcing a large body costs memory
// only as its bytes arrive, and a real large body reads back intact.
func TestFrameReaderHugeBody(t *testing.T) {
	hdr := frame.AppendHeader(nil, frame.Header{Version: frame.V4, Response: true, Opcode: frame.OpResult, Length: 200 << 20})
	r := newFrameReader(io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(make([]byte, 1000))), 0)
	var before, after runtimeMem
	before.read()
	if _, _, err := r.next(); !errors.Is(err, errMidFrame) {
		t.Fatalf("got %v", err)
	}
	after.read()
	if grew := after.total - before.total; grew > 16<<20 {
		t.Errorf("a lying header cost %d bytes", grew)
	}
	big := bytes.Repeat([]byte{7}, 5<<20+3)
	raw, err := frame.AppendEnvelope(nil, &frame.Envelope{Version: frame.V4, Response: true, Message: &frame.AuthSuccess{Token: big}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r = newFrameReader(bytes.NewReader(raw), 0)
	_, body, err := r.next()
	if err != nil || !bytes.Equal(body, raw[frame.HeaderSize:]) {
		t.Fatalf("body of %d bytes, %v", len(body), err)
	}
}

type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.total = ms.TotalAlloc
}
