package oracle

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/frame/segment"
	"github.com/datastax/go-cassandra-native-protocol/compression/lz4"
	oframe "github.com/datastax/go-cassandra-native-protocol/frame"
	osegment "github.com/datastax/go-cassandra-native-protocol/segment"
	pierrec "github.com/pierrec/lz4/v4"
)

// skipLZ4EqualLength: when LZ4 output is exactly as long as the payload, the
// oracle sends it compressed; Cassandra (net/FrameEncoderLZ4: "if
// (compressedLength >= uncompressedLength)" send as is) and cqlwire send the
// payload as is, with an uncompressed length of 0. Both forms decode to the
// same payload, and each library decodes the other's; only the bytes
// differ. The server's form is cqlwire's.
const skipLZ4EqualLength skip = "LZ4 output as long as the payload: oracle compresses, server and cqlwire do not"

const maxPayload = segment.MaxPayloadSize // 131071, the 17-bit limit

func segmentCodec(compressed bool) osegment.Codec {
	if compressed {
		return osegment.NewCodecWithCompression(lz4.Compressor{})
	}
	return osegment.NewCodec()
}

// segHeader decodes a segment header by the layout in reference/README.md,
// independently of both libraries: it returns the total size of the segment,
// the payload length as sent and the uncompressed length field (LZ4 only).
func segHeader(b []byte, compressed bool) (total, sent, uncompressed int) {
	if !compressed {
		w := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
		sent = w & maxPayload
		return 6 + sent + 4, sent, 0
	}
	w := int(b[0]) | int(b[1])<<8 | int(b[2])<<16 | int(b[3])<<24 | int(b[4])<<32
	sent = w & maxPayload
	uncompressed = w >> 17 & maxPayload
	return 8 + sent + 4, sent, uncompressed
}

// payload generates a segment payload of n bytes whose content is random,
// repetitive text, zeros or a mix: from incompressible to highly
// compressible.
func payload(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	switch r.IntN(4) {
	case 0:
		for i := range b {
			b[i] = byte(r.Uint32())
		}
	case 1:
		copy(b, strings.Repeat("SELECT * FROM ks.table WHERE k = ? ", n/34+1))
	case 2:
		// zeros
	default:
		for i := range b {
			if i%64 < 32 {
				b[i] = byte(r.Uint32())
			} else {
				b[i] = byte(i)
			}
		}
	}
	return b
}

func payloadSize(r *rand.Rand) int {
	switch r.IntN(8) {
	case 0:
		return r.IntN(3)
	case 1:
		return maxPayload - r.IntN(3)
	case 2:
		return 1 + r.IntN(maxPayload)
	case 3:
		return 1000 + r.IntN(60000)
	}
	return 1 + r.IntN(300)
}

// oracleDecodeSegment decodes one segment with the oracle. It reports
// skipOracleLZ4Ratio when the oracle's decompressor gives up on a payload
// compressed more than 8:1; the payload is then decoded with a plain LZ4
// block decoder and the declared length.
func oracleDecodeSegment(rd *bytes.Reader, compressed bool) (p []byte, selfContained bool, err error) {
	start := rd.Size() - int64(rd.Len())
	s, err := segmentCodec(compressed).DecodeSegment(rd)
	if err == nil {
		return s.Payload.UncompressedData, s.Header.IsSelfContained, nil
	}
	if !compressed {
		return nil, false, err
	}
	// Re-read the segment by hand to see whether this is the known case.
	all := make([]byte, rd.Size())
	if _, rerr := rd.ReadAt(all, 0); rerr != nil && rerr != io.EOF {
		return nil, false, err
	}
	b := all[start:]
	total, sent, uncompressed := segHeader(b, true)
	if uncompressed <= 8*sent || len(b) < total {
		return nil, false, err
	}
	countSkip(skipOracleLZ4Ratio)
	out := make([]byte, uncompressed)
	n, lerr := pierrec.UncompressBlock(b[8:8+sent], out)
	if lerr != nil || n != uncompressed {
		return nil, false, fmt.Errorf("LZ4 block does not decode to its declared length: %v", lerr)
	}
	if _, serr := rd.Seek(start+int64(total), io.SeekStart); serr != nil {
		return nil, false, serr
	}
	return out, b[4]&0x04 != 0, nil
}

// TestSegmentsSingle compares one segment at a time: cqlwire's AppendSegment
// and DecodeSegment against the oracle's segment codec, uncompressed and LZ4,
// for payloads from empty to 128 KiB - 1.
func TestSegmentsSingle(t *testing.T) {
	n := perKind() / 4
	for _, compressed := range []bool{false, true} {
		name := fmt.Sprintf("segments/single/lz4=%t", compressed)
		t.Run(fmt.Sprintf("lz4=%t", compressed), func(t *testing.T) {
			t.Parallel()
			r := newRand(name)
			for i := range n {
				p := payload(r, payloadSize(r))
				sc := r.IntN(2) == 0
				if err := checkSegment(p, sc, compressed); err != nil {
					t.Fatalf("segment %d (base seed %d, %d bytes, self-contained %t): %v", i, baseSeed(), len(p), sc, err)
				}
			}
		})
	}
}

func checkSegment(p []byte, sc, compressed bool) error {
	stats.segments.Add(1)
	seg, err := segment.AppendSegment(nil, p, sc, compressed)
	if err != nil {
		return fmt.Errorf("cqlwire cannot encode: %v", err)
	}
	if n, err := segment.Len(seg, compressed); err != nil || n != len(seg) {
		return fmt.Errorf("cqlwire Len = %d, %v; segment is %d bytes", n, err, len(seg))
	}
	if total, _, _ := segHeader(seg, compressed); total != len(seg) {
		return fmt.Errorf("cqlwire's header declares %d bytes, the segment has %d", total, len(seg))
	}

	// cqlwire encodes, the oracle decodes.
	rd := bytes.NewReader(seg)
	got, gotSC, err := oracleDecodeSegment(rd, compressed)
	switch {
	case err != nil:
		return fmt.Errorf("the oracle cannot decode cqlwire's segment: %v\n  %x", err, head(seg))
	case rd.Len() != 0:
		return fmt.Errorf("the oracle left %d bytes unread", rd.Len())
	case !bytes.Equal(got, p) || gotSC != sc:
		return fmt.Errorf("the oracle decoded %d bytes (self-contained %t), want %d (%t)", len(got), gotSC, len(p), sc)
	}

	// The oracle encodes, cqlwire decodes.
	var buf bytes.Buffer
	s := &osegment.Segment{Header: &osegment.Header{IsSelfContained: sc}, Payload: &osegment.Payload{UncompressedData: p}}
	if err := segmentCodec(compressed).EncodeSegment(s, &buf); err != nil {
		return fmt.Errorf("the oracle cannot encode: %v", err)
	}
	so := buf.Bytes()
	dp, dsc, n, err := segment.DecodeSegment(so, compressed, nil)
	switch {
	case err != nil:
		return fmt.Errorf("cqlwire cannot decode the oracle's segment: %v\n  %x", err, head(so))
	case n != len(so):
		return fmt.Errorf("cqlwire decoded %d of %d bytes", n, len(so))
	case !bytes.Equal(dp, p) || dsc != sc:
		return fmt.Errorf("cqlwire decoded %d bytes (self-contained %t), want %d (%t)", len(dp), dsc, len(p), sc)
	}
	return compareSegmentBytes(seg, so, compressed)
}

// compareSegmentBytes compares cqlwire's and the oracle's encoding of one
// segment, allowing only skipLZ4EqualLength.
func compareSegmentBytes(seg, so []byte, compressed bool) error {
	if bytes.Equal(seg, so) {
		stats.sameBytes.Add(1)
		return nil
	}
	if compressed {
		_, sentC, uncC := segHeader(seg, true)
		_, sentO, uncO := segHeader(so, true)
		if uncC == 0 && uncO == sentC && sentO == sentC {
			countSkip(skipLZ4EqualLength)
			return nil
		}
	}
	return fmt.Errorf("encodings differ:\n  cqlwire %x\n  oracle  %x", head(seg), head(so))
}

func head(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

type rawSegment struct {
	payload       []byte
	selfContained bool
}

// packSegments is the segmentation the spec and reference/README.md
// describe, written independently of cqlwire's Writer: whole envelopes
// share self-contained segments up to 131071 bytes, in order; a larger
// envelope is cut into 131071-byte parts (the last shorter), none
// self-contained.
func packSegments(envs [][]byte) []rawSegment {
	var out []rawSegment
	var cur []byte
	flush := func() {
		if len(cur) > 0 {
			out = append(out, rawSegment{cur, true})
			cur = nil
		}
	}
	for _, e := range envs {
		if len(e) > maxPayload {
			flush()
			for len(e) > 0 {
				k := min(len(e), maxPayload)
				out = append(out, rawSegment{e[:k], false})
				e = e[k:]
			}
			continue
		}
		if len(cur)+len(e) > maxPayload {
			flush()
		}
		cur = append(cur, e...)
	}
	flush()
	return out
}

// bigEnvelope is a v5 envelope of about size bytes (a QUERY with a long
// query string, or an AUTH_RESPONSE of exactly size bytes), with content
// that LZ4 compresses about 2:1.
func bigEnvelope(r *rand.Rand, size int) *frame.Envelope {
	b := payload(r, max(size-13, 0))
	if r.IntN(2) == 0 {
		b = make([]byte, max(size-13, 0))
		for i := range b {
			if i%2 == 0 {
				b[i] = byte(r.Uint32())
			} else {
				b[i] = 'x'
			}
		}
	}
	if r.IntN(2) == 0 {
		return &frame.Envelope{Version: frame.V5, Stream: int16(r.Uint32()), Message: &frame.AuthResponse{Token: b}}
	}
	return &frame.Envelope{Version: frame.V5, Stream: int16(r.Uint32()),
		Message: &frame.Query{Query: string(b), Params: frame.QueryParams{Consistency: frame.One}}}
}

// TestSegmentsStream packs several v5 envelopes into a stream of segments:
// cqlwire's Writer against the segmentation of the spec (several envelopes
// per self-contained segment, envelopes over 128 KiB split), decoded by the
// oracle; and the oracle's segments of the same envelopes decoded by
// cqlwire's DecodeSegment and Reassembler.
func TestSegmentsStream(t *testing.T) {
	n := max(perKind()/10, 10)
	for _, compressed := range []bool{false, true} {
		name := fmt.Sprintf("segments/stream/lz4=%t", compressed)
		t.Run(fmt.Sprintf("lz4=%t", compressed), func(t *testing.T) {
			t.Parallel()
			r := newRand(name)
			for i := range n {
				if err := checkStream(r, compressed); err != nil {
					t.Fatalf("stream %d (base seed %d): %v", i, baseSeed(), err)
				}
			}
		})
	}
}

type genEnv struct {
	env   *frame.Envelope
	skips skipSet
	wire  []byte
}

func genStreamEnvelopes(r *rand.Rand) []genEnv {
	var out []genEnv
	for range 1 + r.IntN(40) {
		var e genEnv
		switch r.IntN(20) {
		case 0:
			// Over 128 KiB: split over several segments.
			e.env = bigEnvelope(r, maxPayload+1+r.IntN(3*maxPayload))
		case 1:
			// Around the 131071-byte boundary.
			e.env = bigEnvelope(r, maxPayload-2+r.IntN(5))
		default:
			k := kinds[r.IntN(len(kinds))]
			g := newGen(r, frame.V5)
			e.env = g.envelope(k.gen(g))
			e.skips = g.skips
		}
		wire, err := frame.AppendEnvelope(nil, e.env, nil)
		if err != nil {
			panic(fmt.Sprintf("cqlwire cannot encode a generated envelope: %v\n%s", err, describe(e.env)))
		}
		e.wire = wire
		out = append(out, e)
	}
	return out
}

func checkStream(r *rand.Rand, compressed bool) error {
	envs := genStreamEnvelopes(r)
	wires := make([][]byte, len(envs))
	for i, e := range envs {
		wires[i] = e.wire
	}
	want := packSegments(wires)

	// cqlwire's Writer; the oracle decodes every segment.
	w := segment.Writer{Compress: compressed}
	stream, err := w.Append(nil, wires...)
	if err != nil {
		return fmt.Errorf("cqlwire Writer: %v", err)
	}
	// AppendBatch, for envelopes encoded back to back, packs the same way.
	if batch, err := w.AppendBatch(nil, bytes.Join(wires, nil)); err != nil || !bytes.Equal(batch, stream) {
		return fmt.Errorf("cqlwire Writer.AppendBatch differs from Append (err %v)", err)
	}
	rd := bytes.NewReader(stream)
	for i, ws := range want {
		p, sc, err := oracleDecodeSegment(rd, compressed)
		if err != nil {
			return fmt.Errorf("the oracle cannot decode segment %d of cqlwire's stream: %v", i, err)
		}
		stats.segments.Add(1)
		if !bytes.Equal(p, ws.payload) || sc != ws.selfContained {
			return fmt.Errorf("segment %d: cqlwire packed %d bytes (self-contained %t), the spec's packing gives %d (%t)",
				i, len(p), sc, len(ws.payload), ws.selfContained)
		}
	}
	if rd.Len() != 0 {
		return fmt.Errorf("cqlwire wrote %d bytes after the %d segments expected", rd.Len(), len(want))
	}
	// The envelopes the oracle's segments carry decode with the oracle too.
	if err := oracleDecodeEnvelopes(envs); err != nil {
		return err
	}

	// The oracle encodes the same segmentation; compare segment by segment.
	var obuf bytes.Buffer
	codec := segmentCodec(compressed)
	for _, ws := range want {
		s := &osegment.Segment{Header: &osegment.Header{IsSelfContained: ws.selfContained},
			Payload: &osegment.Payload{UncompressedData: ws.payload}}
		if err := codec.EncodeSegment(s, &obuf); err != nil {
			return fmt.Errorf("the oracle cannot encode a segment: %v", err)
		}
	}
	ostream := obuf.Bytes()
	for a, b := stream, ostream; len(a) > 0 || len(b) > 0; {
		if len(a) == 0 || len(b) == 0 {
			return fmt.Errorf("streams of different lengths: cqlwire %d, oracle %d bytes", len(stream), len(ostream))
		}
		na, _, _ := segHeader(a, compressed)
		nb, _, _ := segHeader(b, compressed)
		if na > len(a) || nb > len(b) {
			return errors.New("a segment header declares more bytes than the stream holds")
		}
		if err := compareSegmentBytes(a[:na], b[:nb], compressed); err != nil {
			return err
		}
		a, b = a[na:], b[nb:]
	}

	// cqlwire decodes the oracle's stream and reassembles the envelopes.
	var got [][]byte
	var re segment.Reassembler
	emit := func(env []byte) error {
		got = append(got, bytes.Clone(env))
		return nil
	}
	// The read loop of package segment's documentation: one LZ4 buffer
	// reused for every segment.
	dst := make([]byte, 0, maxPayload)
	for in := ostream; len(in) > 0; {
		p, sc, n, err := segment.DecodeSegment(in, compressed, dst)
		if err != nil {
			return fmt.Errorf("cqlwire cannot decode the oracle's segment: %v", err)
		}
		if err := re.Add(p, sc, emit); err != nil {
			return fmt.Errorf("cqlwire Reassembler: %v", err)
		}
		in = in[n:]
	}
	if re.Pending() != 0 || len(got) != len(envs) {
		return fmt.Errorf("cqlwire reassembled %d envelopes (%d bytes pending), want %d", len(got), re.Pending(), len(envs))
	}
	for i, e := range envs {
		if !bytes.Equal(got[i], e.wire) {
			return fmt.Errorf("envelope %d: cqlwire reassembled %d bytes that differ from the %d sent", i, len(got[i]), len(e.wire))
		}
		d, _, err := frame.DecodeEnvelope(got[i], nil)
		if err != nil {
			return fmt.Errorf("envelope %d: %v", i, err)
		}
		if ds := diff(normalizeEnv(e.env), d); len(ds) > 0 {
			return fmt.Errorf("envelope %d differs:\n  %s", i, strings.Join(ds, "\n  "))
		}
	}
	return nil
}

// oracleDecodeEnvelopes decodes each envelope with the oracle and compares it
// with the generated one, as TestMessages does, unless a known skip applies.
func oracleDecodeEnvelopes(envs []genEnv) error {
	codec := oframe.NewCodec()
	for i, e := range envs {
		if e.skips.oracleDecode != "" {
			continue
		}
		of, err := codec.DecodeFrame(bytes.NewReader(e.wire))
		if err != nil {
			return fmt.Errorf("envelope %d: the oracle cannot decode it: %v", i, err)
		}
		if ds := diff(projectEnv(normalizeEnv(e.env)), projectEnv(fromOracleEnv(of))); len(ds) > 0 {
			return fmt.Errorf("envelope %d: cqlwire->oracle differs:\n  %s", i, strings.Join(ds, "\n  "))
		}
	}
	return nil
}
