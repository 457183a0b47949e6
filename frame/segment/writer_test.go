package segment

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// envelope builds a v5 QUERY-like envelope with a body of n patterned bytes.
func envelope(stream int, n int) []byte {
	b := make([]byte, envelopeHeaderSize+n)
	b[0], b[2], b[3], b[4] = 0x05, byte(stream>>8), byte(stream), 0x07
	b[5], b[6], b[7], b[8] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	for i := range n {
		b[envelopeHeaderSize+i] = byte(i*7 + stream)
	}
	return b
}

type decoded struct {
	payload       []byte
	selfContained bool
}

// decodeAll decodes a whole stream of segments, failing on leftovers.
func decodeAll(t testing.TB, stream []byte, compressed bool) []decoded {
	t.Helper()
	var out []decoded
	for len(stream) > 0 {
		p, sc, n, err := DecodeSegment(stream, compressed, nil)
		if err != nil {
			t.Fatalf("segment %d: %v", len(out), err)
		}
		out = append(out, decoded{bytes.Clone(p), sc})
		stream = stream[n:]
	}
	return out
}

func TestWriterTwoEnvelopesOneSegment(t *testing.T) {
	// Expected bytes from the independent Python script: one self-contained
	// segment holding both envelopes back to back.
	e1 := unhex(t, "05 00 00 01 07 00 00 00 01 aa")
	e2 := unhex(t, "05 00 00 02 07 00 00 00 00")
	want := unhex(t, "13 00 02 ee ab a7 05 00 00 01 07 00 00 00 01 aa 05 00 00 02 07 00 00 00 00 8d a0 41 12")
	var w Writer
	got, err := w.Append(nil, e1, e2)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Append = % x, %v\nwant     % x", got, err, want)
	}
	got, err = w.AppendBatch(nil, append(bytes.Clone(e1), e2...))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("AppendBatch = % x, %v", got, err)
	}
}

func TestWriterPacking(t *testing.T) {
	small := func(i int) []byte { return envelope(i, 100) }
	fill := envelope(50, MaxPayloadSize-envelopeHeaderSize) // exactly one full segment
	big := envelope(60, 300<<10)                            // 300 KiB body
	// Two envelopes that together fill a segment to the byte.
	half1 := envelope(70, 60000)
	half2 := envelope(71, MaxPayloadSize-len(half1)-envelopeHeaderSize)

	type seg struct {
		sc    bool
		parts [][]byte // envelopes (or pieces) in the payload
	}
	tests := []struct {
		name string
		in   [][]byte
		want []seg
	}{
		{"none", nil, nil},
		{"one small", [][]byte{small(1)}, []seg{{true, [][]byte{small(1)}}}},
		{"three small share", [][]byte{small(1), small(2), small(3)},
			[]seg{{true, [][]byte{small(1), small(2), small(3)}}}},
		{"exactly full", [][]byte{fill}, []seg{{true, [][]byte{fill}}}},
		{"full then small", [][]byte{fill, small(1)}, []seg{{true, [][]byte{fill}}, {true, [][]byte{small(1)}}}},
		{"small then full", [][]byte{small(1), fill}, []seg{{true, [][]byte{small(1)}}, {true, [][]byte{fill}}}},
		{"two halves fill one", [][]byte{half1, half2, small(3)},
			[]seg{{true, [][]byte{half1, half2}}, {true, [][]byte{small(3)}}}},
		{"large split", [][]byte{big}, []seg{
			{false, [][]byte{big[:MaxPayloadSize]}},
			{false, [][]byte{big[MaxPayloadSize : 2*MaxPayloadSize]}},
			{false, [][]byte{big[2*MaxPayloadSize:]}},
		}},
		{"small, large, small", [][]byte{small(1), small(2), big, small(3)}, []seg{
			{true, [][]byte{small(1), small(2)}},
			{false, [][]byte{big[:MaxPayloadSize]}},
			{false, [][]byte{big[MaxPayloadSize : 2*MaxPayloadSize]}},
			{false, [][]byte{big[2*MaxPayloadSize:]}},
			{true, [][]byte{small(3)}},
		}},
		{"one past the limit", [][]byte{envelope(80, MaxPayloadSize-envelopeHeaderSize+1)}, []seg{
			{false, [][]byte{envelope(80, MaxPayloadSize-envelopeHeaderSize+1)[:MaxPayloadSize]}},
			{false, [][]byte{envelope(80, MaxPayloadSize-envelopeHeaderSize+1)[MaxPayloadSize:]}},
		}},
	}
	for _, compress := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/lz4=%v", tt.name, compress), func(t *testing.T) {
				w := Writer{Compress: compress}
				out, err := w.Append([]byte("pre"), tt.in...)
				if err != nil {
					t.Fatal(err)
				}
				if string(out[:3]) != "pre" {
					t.Fatal("dst prefix lost")
				}
				got := decodeAll(t, out[3:], compress)
				if len(got) != len(tt.want) {
					t.Fatalf("%d segments, want %d", len(got), len(tt.want))
				}
				for i, s := range tt.want {
					if got[i].selfContained != s.sc || !bytes.Equal(got[i].payload, bytes.Join(s.parts, nil)) {
						t.Errorf("segment %d: self-contained %v, %d bytes; want %v, %d bytes",
							i, got[i].selfContained, len(got[i].payload), s.sc, len(bytes.Join(s.parts, nil)))
					}
				}
				batch, err := w.AppendBatch([]byte("pre"), bytes.Join(tt.in, nil))
				if err != nil || !bytes.Equal(batch, out) {
					t.Errorf("AppendBatch differs from Append: %v", err)
				}
			})
		}
	}
}

func TestWriterRejectsBadEnvelopes(t *testing.T) {
	good := envelope(1, 3)
	short := good[:8]
	lying := bytes.Clone(good)
	lying[8] = 4 // claims 4 body bytes, 3 follow
	for _, compress := range []bool{false, true} {
		w := Writer{Compress: compress}
		for _, in := range [][][]byte{{short}, {good, lying}, {good, good[:len(good)-1]}} {
			dst := []byte("keep")
			out, err := w.Append(dst, in...)
			if !errors.Is(err, ErrCorrupt) || string(out) != "keep" {
				t.Errorf("lz4=%v: Append = %q, %v; want ErrCorrupt, dst unchanged", compress, out, err)
			}
		}
		for _, batch := range [][]byte{short, append(bytes.Clone(good), lying...), append(bytes.Clone(good), 0x05)} {
			out, err := w.AppendBatch([]byte("keep"), batch)
			if !errors.Is(err, ErrCorrupt) || string(out) != "keep" {
				t.Errorf("lz4=%v: AppendBatch = %q, %v; want ErrCorrupt", compress, out, err)
			}
		}
		// A failed call leaves no state behind.
		out, err := w.Append(nil, good)
		if err != nil || len(decodeAll(t, out, compress)) != 1 {
			t.Errorf("lz4=%v: Append after an error: %v", compress, err)
		}
	}
}

func TestWriterSteadyStateAllocs(t *testing.T) {
	envs := [][]byte{envelope(1, 200), envelope(2, 3000), envelope(3, 50), envelope(4, 200<<10)}
	for _, compress := range []bool{false, true} {
		w := Writer{Compress: compress}
		buf := make([]byte, 0, 1<<20)
		buf, _ = w.Append(buf[:0], envs...) // warm up: LZ4 state, pending buffer
		allocs := testing.AllocsPerRun(50, func() {
			buf, _ = w.Append(buf[:0], envs...)
		})
		if allocs != 0 {
			t.Errorf("lz4=%v: %v allocs per Append", compress, allocs)
		}
	}
}

// Writer -> segments -> DecodeSegment -> Reassembler gives back the same
// envelopes, for random mixes of sizes.
func TestWriterReassemblerRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, compress := range []bool{false, true} {
		w := Writer{Compress: compress}
		var ra Reassembler
		for round := range 30 {
			var in [][]byte
			for i := range 1 + r.IntN(40) {
				n := r.IntN(2000)
				switch r.IntN(10) {
				case 0:
					n = r.IntN(400 << 10)
				case 1:
					n = MaxPayloadSize - envelopeHeaderSize + r.IntN(3) - 1
				}
				in = append(in, envelope(i, n))
			}
			stream, err := w.Append(nil, in...)
			if err != nil {
				t.Fatal(err)
			}
			var out [][]byte
			dst := make([]byte, 0, MaxPayloadSize)
			for len(stream) > 0 {
				p, sc, n, err := DecodeSegment(stream, compress, dst)
				if err != nil {
					t.Fatal(err)
				}
				stream = stream[n:]
				if err := ra.Add(p, sc, func(e []byte) error { out = append(out, bytes.Clone(e)); return nil }); err != nil {
					t.Fatal(err)
				}
			}
			if ra.Pending() != 0 || len(out) != len(in) {
				t.Fatalf("round %d: %d envelopes out of %d, %d bytes pending", round, len(out), len(in), ra.Pending())
			}
			for i := range in {
				if !bytes.Equal(in[i], out[i]) {
					t.Fatalf("round %d: envelope %d differs", round, i)
				}
			}
		}
	}
}
