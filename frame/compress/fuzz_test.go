package compress

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cqlwire/cqlwire/frame"
)

// fuzzDecompress checks a decompressor on arbitrary input: no panic, output
// within the limit, only the documented errors, and valid output survives a
// round trip.
func fuzzDecompress(t *testing.T, c frame.Compressor, data []byte, max uint16) {
	const prefix = "pre"
	out, err := c.AppendDecompressed([]byte(prefix), data, int(max))
	if err != nil {
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		if string(out) != prefix {
			t.Fatalf("dst changed on error: %q", out)
		}
		return
	}
	lim := int(max)
	if lim <= 0 {
		lim = DefaultMaxSize
	}
	if string(out[:len(prefix)]) != prefix || len(out)-len(prefix) > lim {
		t.Fatalf("%d bytes decompressed, limit %d", len(out)-len(prefix), lim)
	}
	plain := out[len(prefix):]
	enc, err := c.AppendCompressed(nil, plain)
	if err != nil {
		t.Fatal(err)
	}
	back, err := c.AppendDecompressed(nil, enc, len(plain))
	if err != nil || !bytes.Equal(back, plain) {
		t.Fatalf("round trip of decompressed output: %v", err)
	}
}

func FuzzLZ4Decompress(f *testing.F) {
	for _, s := range []string{
		"00 00 00 05 50 68 65 6c 6c 6f",
		"00 00 00 00 00",
		"00 00 00 14 1a 61 01 00 50 61 61 61 61 61",
		"00 00 00 1d 2f 61 62 02 00 03 50 61 62 61 62 61",
		"ff ff ff ff 00",
	} {
		f.Add(unhex(f, s), uint16(1000))
	}
	enc, _ := LZ4{}.AppendCompressed(nil, rowsLike(3000))
	f.Add(enc, uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, max uint16) { fuzzDecompress(t, LZ4{}, data, max) })
}

func FuzzSnappyDecompress(f *testing.F) {
	for _, s := range []string{
		"05 10 68 65 6c 6c 6f",
		"00",
		"14 00 61 1d 01 11 01",
		"0a 04 61 62 1e 02 00",
		"ff ff ff ff 0f",
	} {
		f.Add(unhex(f, s), uint16(1000))
	}
	enc, _ := Snappy{}.AppendCompressed(nil, rowsLike(3000))
	f.Add(enc, uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, max uint16) { fuzzDecompress(t, Snappy{}, data, max) })
}
