package compress

import (
	"testing"
)

var benchInputs = []struct {
	name string
	data []byte
}{
	{"rows64K", rowsLike(64 << 10)},
	{"random64K", randomBytes(64<<10, 42)},
}

func BenchmarkCompress(b *testing.B) {
	for _, c := range compressors {
		for _, in := range benchInputs {
			b.Run(c.Name()+"/"+in.name, func(b *testing.B) {
				dst := make([]byte, 0, 2*len(in.data))
				b.SetBytes(int64(len(in.data)))
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if dst, err = c.AppendCompressed(dst[:0], in.data); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(dst))/float64(len(in.data)), "ratio")
			})
		}
	}
}

func BenchmarkDecompress(b *testing.B) {
	for _, c := range compressors {
		for _, in := range benchInputs {
			b.Run(c.Name()+"/"+in.name, func(b *testing.B) {
				enc, err := c.AppendCompressed(nil, in.data)
				if err != nil {
					b.Fatal(err)
				}
				dst := make([]byte, 0, len(in.data))
				b.SetBytes(int64(len(in.data)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.AppendDecompressed(dst[:0], enc, 0); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
