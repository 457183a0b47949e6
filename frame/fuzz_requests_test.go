package frame

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var fuzzRequestOps = [...]Opcode{OpStartup, OpOptions, OpQuery, OpPrepare, OpExecute, OpRegister, OpBatch, OpAuthResponse}

// specRequestFrames returns the bytes of the hand-written request cases in
// testdata/frames/spec, to seed the fuzzer.
func specRequestFrames(tb testing.TB) [][]byte {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "frames", "spec", "v*", "req_*.case"))
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, p := range paths {
		text, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		var hx strings.Builder
		inBytes := false
		for line := range strings.SplitSeq(string(text), "\n") {
			switch strings.TrimSpace(line) {
			case "--- bytes":
				inBytes = true
				continue
			case "--- decoded":
				inBytes = false
			}
			if !inBytes {
				continue
			}
			if i := strings.IndexByte(line, '#'); i >= 0 {
				line = line[:i]
			}
			hx.WriteString(strings.Join(strings.Fields(line), ""))
		}
		b, err := hex.DecodeString(hx.String())
		if err != nil || len(b) < HeaderSize {
			tb.Fatalf("%s: bad bytes section: %v", p, err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzDecodeRequest decodes arbitrary request bodies. Whatever decodes must
// re-encode, decode again to an equal message and encode to the same bytes.
// Apart from STARTUP (a map: duplicate keys collapse and order is not kept)
// the re-encoding has the length of the input: only non-canonical nulls
// (negative lengths other than -1) may differ.
func FuzzDecodeRequest(f *testing.F) {
	for _, fr := range specRequestFrames(f) {
		h, err := ParseHeader(fr, nil)
		if err != nil {
			f.Fatal(err)
		}
		body := fr[HeaderSize:]
		if h.Flags&FlagCustomPayload != 0 {
			r := newReader(body, "seed", nil)
			r.bytesMap("custom_payload")
			body = body[r.off:]
		}
		for i, op := range fuzzRequestOps {
			if op == h.Opcode {
				f.Add(byte(i), byte(h.Version), body)
			}
		}
	}
	f.Add(byte(6), byte(4), []byte{0, 0, 0, 0, 1, 0x40})
	f.Fuzz(func(t *testing.T, opIndex, version byte, body []byte) {
		op := fuzzRequestOps[int(opIndex)%len(fuzzRequestOps)]
		v := Version(version)
		m, err := DecodeMessage(op, v, body, nil)
		if err != nil {
			if _, ok := err.(*DecodeError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		b1, err := m.AppendBody(nil, v)
		if err != nil {
			t.Fatalf("decoded %s does not re-encode: %v\n%s", op, err, DescribeMessage(m))
		}
		if op != OpStartup && len(b1) != len(body) {
			t.Fatalf("%s v%d re-encoded to %d bytes from %d\n in %x\nout %x", op, v, len(b1), len(body), body, b1)
		}
		m2, err := DecodeMessage(op, v, b1, nil)
		if err != nil {
			t.Fatalf("re-encoded %s does not decode: %v\n%x", op, err, b1)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("%s v%d changed through a round trip\n%s\n%s", op, v, DescribeMessage(m), DescribeMessage(m2))
		}
		b2, err := m2.AppendBody(nil, v)
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("%s v%d second encoding differs (%v)\n%x\n%x", op, v, err, b1, b2)
		}
	})
}
