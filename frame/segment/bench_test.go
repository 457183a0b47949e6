package segment

import (
	"fmt"
	"testing"
)

var benchData = []struct {
	name string
	data []byte
}{
	{"rows", rowsLike(64 << 10)},
	{"random", randomBytes(64<<10, 42)},
}

func BenchmarkSegmentEncode64K(b *testing.B) {
	for _, compress := range []bool{false, true} {
		for _, d := range benchData {
			b.Run(fmt.Sprintf("%s/%s", mode(compress), d.name), func(b *testing.B) {
				dst := make([]byte, 0, 2*len(d.data))
				b.SetBytes(int64(len(d.data)))
				b.ReportAllocs()
				for b.Loop() {
					var err error
					dst, err = AppendSegment(dst[:0], d.data, true, compress)
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(dst))/float64(len(d.data)), "ratio")
			})
		}
	}
}

func BenchmarkSegmentDecode64K(b *testing.B) {
	for _, compress := range []bool{false, true} {
		for _, d := range benchData {
			b.Run(fmt.Sprintf("%s/%s", mode(compress), d.name), func(b *testing.B) {
				enc, err := AppendSegment(nil, d.data, true, compress)
				if err != nil {
					b.Fatal(err)
				}
				dst := make([]byte, 0, MaxPayloadSize)
				b.SetBytes(int64(len(d.data)))
				b.ReportAllocs()
				for b.Loop() {
					if _, _, _, err := DecodeSegment(enc, compress, dst); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkWriterSmallEnvelopes packs 64 requests of 200 bytes, the shape of
// a busy connection's coalesced write.
func BenchmarkWriterSmallEnvelopes(b *testing.B) {
	envs := make([][]byte, 64)
	total := 0
	for i := range envs {
		envs[i] = envelope(i, 191)
		total += len(envs[i])
	}
	for _, compress := range []bool{false, true} {
		b.Run(mode(compress), func(b *testing.B) {
			w := Writer{Compress: compress}
			dst := make([]byte, 0, 2*total)
			b.SetBytes(int64(total))
			b.ReportAllocs()
			for b.Loop() {
				dst, _ = w.Append(dst[:0], envs...)
			}
		})
	}
}

// BenchmarkReassemble300K reassembles a 300 KiB envelope from three
// segments' payloads.
func BenchmarkReassemble300K(b *testing.B) {
	env := envelope(1, 300<<10)
	var payloads [][]byte
	for p := env; len(p) > 0; {
		n := min(len(p), MaxPayloadSize)
		payloads = append(payloads, p[:n])
		p = p[n:]
	}
	var r Reassembler
	done := 0
	emit := func(e []byte) error {
		if len(e) == len(env) {
			done++
		}
		return nil
	}
	b.SetBytes(int64(len(env)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		for _, p := range payloads {
			if err := r.Add(p, false, emit); err != nil {
				b.Fatal(err)
			}
		}
	}
	if done != n {
		b.Fatalf("%d envelopes for %d iterations", done, n)
	}
}

func mode(compress bool) string {
	if compress {
		return "lz4"
	}
	return "plain"
}
