package frame_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/frame/compress"
)

// A conformance case is a text file under testdata/frames/spec/ written by
// hand from the protocol specification:
//
//	# comments saying what the case is
//	--- bytes
//	84 00 00 01 08 00 00 00 04   # hex, '#' comments to end of line
//	00 00 00 01
//	--- decoded
//	<the expected frame.Describe output>
//
// The test decodes the bytes, compares the description, re-encodes the
// envelope and requires the very same bytes.
//
// A spec-legal input that cqlwire accepts but does not reproduce (bytes
// after a response's message, header flag bits the spec says to ignore, a
// repeated map key) adds a section after the description:
//
//	--- reencoded
//	84 00 00 01 08 00 00 00 04   # the bytes the envelope re-encodes to
//
// and the re-encoding must give those bytes instead, which must decode to
// the same description.
type conformanceCase struct {
	path    string
	bytes   []byte
	decoded string
	// reencoded, when not nil, is what the envelope re-encodes to, for
	// inputs that are accepted but not canonical.
	reencoded []byte
	// compression names the v4 body compression of the case ("lz4",
	// "snappy"), from a "compression: NAME" line before the bytes.
	compression string
}

func compressorNamed(name string) (frame.Compressor, error) {
	switch name {
	case "":
		return nil, nil
	case "lz4":
		return compress.LZ4{}, nil
	case "snappy":
		return compress.Snappy{}, nil
	}
	return nil, fmt.Errorf("unknown compression %q", name)
}

func parseCase(path string, text string) (conformanceCase, error) {
	c := conformanceCase{path: path}
	section := ""
	var hexText, reencodedHex strings.Builder
	var decoded strings.Builder
	sawReencoded := false
	for i, line := range strings.Split(text, "\n") {
		switch strings.TrimSpace(line) {
		case "--- bytes", "--- decoded", "--- reencoded":
			section = strings.TrimSpace(line)[4:]
			sawReencoded = sawReencoded || section == "reencoded"
			continue
		}
		switch section {
		case "":
			t := strings.TrimSpace(line)
			if name, ok := strings.CutPrefix(t, "compression:"); ok {
				c.compression = strings.TrimSpace(name)
				if _, err := compressorNamed(c.compression); err != nil {
					return c, fmt.Errorf("line %d: %v", i+1, err)
				}
				continue
			}
			if t != "" && !strings.HasPrefix(t, "#") {
				return c, fmt.Errorf("line %d: text before the --- bytes section", i+1)
			}
		case "bytes":
			if j := strings.IndexByte(line, '#'); j >= 0 {
				line = line[:j]
			}
			hexText.WriteString(strings.Join(strings.Fields(line), ""))
		case "decoded":
			decoded.WriteString(line)
			decoded.WriteByte('\n')
		case "reencoded":
			if j := strings.IndexByte(line, '#'); j >= 0 {
				line = line[:j]
			}
			reencodedHex.WriteString(strings.Join(strings.Fields(line), ""))
		}
	}
	if sawReencoded {
		r, err := hex.DecodeString(reencodedHex.String())
		if err != nil || len(r) == 0 {
			return c, fmt.Errorf("reencoded section: no bytes or bad hex (%v)", err)
		}
		c.reencoded = r
	}
	b, err := hex.DecodeString(hexText.String())
	if err != nil {
		return c, fmt.Errorf("bytes section: %v", err)
	}
	if len(b) == 0 {
		return c, fmt.Errorf("no bytes section")
	}
	c.bytes = b
	c.decoded = strings.TrimRight(decoded.String(), "\n") + "\n"
	return c, nil
}

func loadCases(t *testing.T, root string) []conformanceCase {
	t.Helper()
	var cases []conformanceCase
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".case") {
			return err
		}
		text, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		c, err := parseCase(path, string(text))
		if err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		cases = append(cases, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestConformanceSpecCases(t *testing.T) {
	cases := loadCases(t, filepath.Join("..", "testdata", "frames", "spec"))
	if len(cases) == 0 {
		t.Fatal("no conformance cases found under testdata/frames/spec")
	}
	for _, c := range cases {
		t.Run(filepath.ToSlash(c.path), func(t *testing.T) {
			env, n, err := frame.DecodeEnvelope(c.bytes, nil)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if n != len(c.bytes) {
				t.Fatalf("decode used %d of %d bytes", n, len(c.bytes))
			}
			if got := frame.Describe(env); got != c.decoded {
				t.Errorf("decoded fields differ\n--- got\n%s--- want\n%s", got, c.decoded)
			}
			again, err := frame.AppendEnvelope(nil, env, nil)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			want := c.bytes
			if c.reencoded != nil {
				want = c.reencoded
				if bytes.Equal(c.reencoded, c.bytes) {
					t.Errorf("the reencoded section repeats the bytes: drop it")
				}
			}
			if !bytes.Equal(again, want) {
				t.Errorf("re-encoded bytes differ\n got %x\nwant %x", again, want)
			}
			if c.reencoded != nil {
				env2, _, err := frame.DecodeEnvelope(again, nil)
				if err != nil {
					t.Fatalf("decoding the re-encoded bytes: %v", err)
				}
				if got := frame.Describe(env2); got != c.decoded {
					t.Errorf("the re-encoded bytes decode differently\n--- got\n%s--- want\n%s", got, c.decoded)
				}
			}
		})
	}
}

func TestParseCaseRejectsBadFiles(t *testing.T) {
	for _, text := range []string{
		"no sections at all",
		"--- bytes\nzz\n--- decoded\n",
		"--- bytes\n# only a comment\n--- decoded\nx\n",
		"compression: zstd\n--- bytes\n00\n",
		"--- bytes\n00\n--- decoded\nx\n--- reencoded\n# nothing\n",
		"--- bytes\n00\n--- decoded\nx\n--- reencoded\nzz\n",
	} {
		if _, err := parseCase("x.case", text); err == nil {
			t.Errorf("parseCase(%q) succeeded, want an error", text)
		}
	}
}

func TestEnvelopeCompressionRoundTrip(t *testing.T) {
	msg := &frame.Query{Query: strings.Repeat("SELECT * FROM ks.t WHERE k = ? ", 20),
		Params: frame.QueryParams{Consistency: frame.LocalQuorum, Values: []frame.Value{{Bytes: []byte{0, 0, 0, 7}}}}}
	plain, err := frame.AppendEnvelope(nil, &frame.Envelope{Version: frame.V4, Stream: 9, Message: msg}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []frame.Compressor{compress.LZ4{}, compress.Snappy{}} {
		t.Run(c.Name(), func(t *testing.T) {
			env := &frame.Envelope{Version: frame.V4, Stream: 9, Message: msg}
			prefix := []byte("keep")
			b, err := frame.AppendEnvelope(prefix, env, c)
			if err != nil {
				t.Fatal(err)
			}
			if string(b[:4]) != "keep" {
				t.Fatalf("the bytes before the envelope changed: %q", b[:4])
			}
			b = b[4:]
			if b[1]&byte(frame.FlagCompression) == 0 {
				t.Fatal("compression flag not set")
			}
			if len(b) >= len(plain) {
				t.Errorf("compressed envelope of %d bytes is not smaller than the plain %d", len(b), len(plain))
			}
			got, n, err := frame.DecodeEnvelope(b, &frame.DecodeOptions{Compressor: c})
			if err != nil || n != len(b) {
				t.Fatalf("decode: %v (%d of %d bytes)", err, n, len(b))
			}
			again, err := frame.AppendEnvelope(nil, got, nil)
			if err != nil || !bytes.Equal(again, plain) {
				t.Errorf("decoded envelope re-encodes (uncompressed) to %x (%v), want %x", again, err, plain)
			}
			buf := make([]byte, 0, 4096)
			allocs := testing.AllocsPerRun(50, func() {
				if _, err := frame.AppendEnvelope(buf[:0], env, c); err != nil {
					t.Fatal(err)
				}
			})
			if c.Name() == "snappy" && allocs != 0 {
				t.Errorf("AppendEnvelope with %s into a large enough buffer: %v allocs, want 0", c.Name(), allocs)
			}
		})
	}
}

// FuzzDecodeEnvelope feeds whole envelopes (header, prefixes, compressed or
// not) to DecodeEnvelope: it must never panic, and whatever decodes must
// re-encode to an envelope that decodes to the same description.
func FuzzDecodeEnvelope(f *testing.F) {
	for _, dir := range []string{"spec", "captured"} {
		root := filepath.Join("..", "testdata", "frames", dir)
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".case") {
				return err
			}
			text, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if c, err := parseCase(path, string(text)); err == nil && len(c.bytes) < 4096 {
				f.Add(c.bytes, c.compression == "lz4", c.compression == "snappy")
			}
			return nil
		})
	}
	f.Fuzz(func(t *testing.T, b []byte, lz4, snappy bool) {
		opts := &frame.DecodeOptions{Limits: frame.Limits{MaxFrameSize: 1 << 20}}
		switch {
		case lz4:
			opts.Compressor = compress.LZ4{}
		case snappy:
			opts.Compressor = compress.Snappy{}
		}
		env, n, err := frame.DecodeEnvelope(b, opts)
		if err != nil {
			return
		}
		if n > len(b) {
			t.Fatalf("used %d of %d bytes", n, len(b))
		}
		again, err := frame.AppendEnvelope(nil, env, nil)
		if err != nil {
			// Decoded requests may hold what only responses encode
			// (a compressed v5 body is refused before this point).
			t.Fatalf("decoded envelope does not re-encode: %v\n%s", err, frame.Describe(env))
		}
		env2, _, err := frame.DecodeEnvelope(again, nil)
		if err != nil {
			t.Fatalf("re-encoded envelope does not decode: %v", err)
		}
		if frame.Describe(env2) != frame.Describe(env) {
			t.Fatalf("round trip changed the envelope\n%s\nvs\n%s", frame.Describe(env), frame.Describe(env2))
		}
	})
}
