package oracle

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/frame/compress"
	"github.com/datastax/go-cassandra-native-protocol/compression/lz4"
	"github.com/datastax/go-cassandra-native-protocol/compression/snappy"
	oframe "github.com/datastax/go-cassandra-native-protocol/frame"
	"github.com/datastax/go-cassandra-native-protocol/primitive"
)

var (
	seedFlag = flag.Uint64("seed", 0, "base seed of the random messages (default: $CQLWIRE_ORACLE_SEED, else 1)")
	nFlag    = flag.Int("msgs", 0, "messages per kind and version (default: $CQLWIRE_ORACLE_N, else 2000)")
)

func baseSeed() uint64 {
	if *seedFlag != 0 {
		return *seedFlag
	}
	if s, err := strconv.ParseUint(os.Getenv("CQLWIRE_ORACLE_SEED"), 10, 64); err == nil && s != 0 {
		return s
	}
	return 1
}

func perKind() int {
	if *nFlag > 0 {
		return *nFlag
	}
	if n, err := strconv.Atoi(os.Getenv("CQLWIRE_ORACLE_N")); err == nil && n > 0 {
		return n
	}
	if testing.Short() {
		return 200
	}
	return 2000
}

// subSeed derives the fixed seed of one subtest from the base seed, so that a
// failing subtest reruns alone with -run and the same -seed.
func subSeed(name string) (uint64, uint64) {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", baseSeed(), name)
	s := h.Sum64()
	return s, s*0x9e3779b97f4a7c15 + 1
}

func newRand(name string) *rand.Rand {
	a, b := subSeed(name)
	return rand.New(rand.NewPCG(a, b))
}

// stats counts what was compared, for the summary printed by TestMain.
var stats struct {
	envelopes   atomic.Int64 // generated envelopes
	cqlToOracle atomic.Int64 // cqlwire encoded, oracle decoded and compared
	oracleToCql atomic.Int64 // oracle encoded, cqlwire decoded and compared
	sameBytes   atomic.Int64 // byte-equal encodings
	segments    atomic.Int64 // segments compared
	mutations   atomic.Int64 // corrupted envelopes both decoders accepted
	skips       sync.Map     // skip reason -> *atomic.Int64
}

func countSkip(s skip) {
	v, _ := stats.skips.LoadOrStore(s, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func TestMain(m *testing.M) {
	start := time.Now()
	code := m.Run()
	if testing.Verbose() {
		fmt.Printf("oracle: seed %d, %d per kind and version: %d envelopes; %d compared cqlwire->oracle, %d oracle->cqlwire, %d byte-equal; %d segments; %d corrupted envelopes both accepted; %v\n",
			baseSeed(), perKind(), stats.envelopes.Load(), stats.cqlToOracle.Load(), stats.oracleToCql.Load(),
			stats.sameBytes.Load(), stats.segments.Load(), stats.mutations.Load(), time.Since(start).Round(time.Millisecond))
		var lines []string
		stats.skips.Range(func(k, v any) bool {
			lines = append(lines, fmt.Sprintf("  skipped %6d comparisons: %s", v.(*atomic.Int64).Load(), k))
			return true
		})
		sort.Strings(lines)
		fmt.Println(strings.Join(lines, "\n"))
	}
	os.Exit(code)
}

// Body compressions of v4: cqlwire's and the oracle's implementation of each.
var (
	cqlCompressors    = map[string]frame.Compressor{"lz4": compress.LZ4{}, "snappy": compress.Snappy{}}
	oracleCompressors = map[string]oframe.BodyCompressor{"lz4": lz4.Compressor{}, "snappy": snappy.Compressor{}}
)

func codecs(comp string) (frame.Compressor, oframe.Codec) {
	if comp == "" {
		return nil, oframe.NewCodec()
	}
	return cqlCompressors[comp], oframe.NewCodecWithCompression(oracleCompressors[comp])
}

// skipOracleLZ4Ratio: the oracle's LZ4 decompressor ignores the declared
// length and tries output buffers of 2, 4 and 8 times the input, so it fails
// on bodies and segments that compress more than 8:1. An oracle limitation,
// not a wire disagreement: such bytes are checked with a plain LZ4 block
// decoder instead.
const skipOracleLZ4Ratio skip = "LZ4 ratio above 8:1: the oracle's decompressor gives up"

// lz4RatioOver8 reports whether a v4 LZ4 body declares more than 8 times its
// block size.
func lz4RatioOver8(body []byte) bool {
	if len(body) < 4 {
		return false
	}
	n := int(body[0])<<24 | int(body[1])<<16 | int(body[2])<<8 | int(body[3])
	return n > 8*(len(body)-4)
}

// tracedRequestFix: the oracle's frame encoder counts a 16-byte tracing id
// in the body length of every envelope with the tracing flag, but writes the
// id only in responses (as it should: a request's tracing flag carries no
// id, spec section 2.2 and the server's Message.Decoder). Its header is then
// 16 bytes too long for a traced request. Oracle wrong; the test encodes such
// requests without the flag and sets the flag bit in the oracle's output,
// which keeps every other byte the oracle's.

// checkEnvelope runs every comparison the skips allow for one generated
// envelope. comp is "", "lz4" or "snappy" (v4 body compression).
func checkEnvelope(env *frame.Envelope, skips skipSet, comp string) error {
	stats.envelopes.Add(1)
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	diffs := func(what string, d []string) {
		if len(d) > 0 {
			fail("%s differs:\n    %s", what, strings.Join(d, "\n    "))
		}
	}
	cc, oc := codecs(comp)
	opts := &frame.DecodeOptions{Compressor: cc}
	want := normalizeEnv(env)
	wantP := projectEnv(want)

	// cqlwire encodes; cqlwire decodes (strict).
	wire, err := frame.AppendEnvelope(nil, env, cc)
	if err != nil {
		return fmt.Errorf("cqlwire cannot encode a valid message: %v", err)
	}
	if d, n, err := frame.DecodeEnvelope(wire, opts); err != nil {
		fail("cqlwire cannot decode its own encoding: %v\n  bytes %x", err, wire)
	} else {
		if n != len(wire) {
			fail("cqlwire decoded %d of %d bytes", n, len(wire))
		}
		diffs("cqlwire round trip", diff(want, d))
		checkCells(env, d, fail)
	}

	// cqlwire encodes; the oracle decodes.
	switch {
	case skips.oracleDecode != "":
		countSkip(skips.oracleDecode)
	default:
		rd := bytes.NewReader(wire)
		of, err := oc.DecodeFrame(rd)
		switch {
		case err != nil && comp == "lz4" && lz4RatioOver8(wire[frame.HeaderSize:]):
			countSkip(skipOracleLZ4Ratio)
		case err != nil:
			fail("the oracle cannot decode cqlwire's encoding: %v\n  bytes %x", err, wire)
		default:
			if rd.Len() != 0 {
				fail("the oracle left %d bytes of cqlwire's envelope unread", rd.Len())
			}
			if int(of.Header.BodyLength) != len(wire)-frame.HeaderSize {
				fail("the oracle read body length %d, cqlwire sent %d bytes", of.Header.BodyLength, len(wire)-frame.HeaderSize)
			}
			diffs("cqlwire->oracle", diff(wantP, projectEnv(fromOracleEnv(of))))
			stats.cqlToOracle.Add(1)
		}
	}

	// The oracle encodes; cqlwire decodes; the bytes are compared.
	if skips.oracleEncode != "" {
		countSkip(skips.oracleEncode)
	} else {
		var buf bytes.Buffer
		of := toOracleEnv(env, comp != "")
		tracedRequest := !env.Response && env.Tracing
		if tracedRequest {
			// Work around a known oracle bug (see tracedRequestFix).
			of.Header.Flags &^= primitive.HeaderFlagTracing
		}
		if err := oc.EncodeFrame(of, &buf); err != nil {
			fail("the oracle cannot encode the message: %v", err)
		} else {
			wo := buf.Bytes()
			if tracedRequest {
				wo[1] |= byte(primitive.HeaderFlagTracing)
			}
			d, n, err := frame.DecodeEnvelope(wo, opts)
			if err != nil {
				fail("cqlwire cannot decode the oracle's encoding: %v\n  bytes %x", err, wo)
			} else {
				if n != len(wo) {
					fail("cqlwire decoded %d of the oracle's %d bytes", n, len(wo))
				}
				diffs("oracle->cqlwire", diff(wantP, projectEnv(d)))
				checkCells(env, d, fail)
				stats.oracleToCql.Add(1)
			}
			switch {
			case skips.bytes != "":
				countSkip(skips.bytes)
			case !bytes.Equal(wire, wo):
				fail("encodings differ:\n  cqlwire %x\n  oracle  %x", wire, wo)
			default:
				stats.sameBytes.Add(1)
			}
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n  "))
	}
	return nil
}

// checkCells walks decoded rows with cqlwire's iterator and compares each
// cell with the generated content, split by the spec's layout.
func checkCells(gen *frame.Envelope, dec *frame.Envelope, fail func(string, ...any)) {
	g, ok := gen.Message.(*frame.Rows)
	d, ok2 := dec.Message.(*frame.Rows)
	if !ok || !ok2 {
		return
	}
	want := rowsCells(g)
	it := d.Iter()
	var cells [][]byte
	i := 0
	for {
		var more bool
		if cells, more = it.Next(cells); !more {
			break
		}
		if i >= len(want) {
			fail("rows: more than %d rows", len(want))
			return
		}
		if len(cells) != len(want[i]) {
			fail("rows: row %d has %d cells, want %d", i, len(cells), len(want[i]))
			return
		}
		for j, c := range cells {
			if (c == nil) != (want[i][j] == nil) || !bytes.Equal(c, want[i][j]) {
				fail("rows: row %d cell %d = %s, want %s", i, j, showBytes(c), showBytes(want[i][j]))
				return
			}
		}
		i++
	}
	if it.Err() != nil || i != len(want) {
		fail("rows: iterated %d of %d rows, err %v", i, len(want), it.Err())
	}
}

// TestMessages generates messages of every kind, for v4 and v5, and runs
// every comparison on each. v4 envelopes are sometimes LZ4 or Snappy
// compressed.
func TestMessages(t *testing.T) {
	n := perKind()
	for _, v := range []frame.Version{frame.V4, frame.V5} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			t.Parallel()
			for _, k := range kinds {
				name := fmt.Sprintf("v%d/%s", v, k.name)
				t.Run(k.name, func(t *testing.T) {
					t.Parallel()
					r := newRand(name)
					failures := 0
					for i := range n {
						g := newGen(r, v)
						env := g.envelope(k.gen(g))
						comp := ""
						if v == frame.V4 && g.p(0.3) {
							comp = []string{"lz4", "snappy"}[g.r.IntN(2)]
						}
						if err := checkEnvelope(env, g.skips, comp); err != nil {
							t.Errorf("message %d (base seed %d, compression %q, skips %v):\n  %v\n%s",
								i, baseSeed(), comp, g.skips, err, describe(env))
							if failures++; failures >= 3 {
								t.FailNow()
							}
						}
					}
				})
			}
		})
	}
}
