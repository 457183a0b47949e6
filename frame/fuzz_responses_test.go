package frame

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var fuzzResponseOps = [...]Opcode{OpError, OpReady, OpAuthenticate, OpSupported, OpResult, OpEvent, OpAuthChallenge, OpAuthSuccess}

// respCaseFrame is one hand-written response case: the version, opcode and
// message body (without the envelope prefixes).
type respCaseFrame struct {
	v    Version
	op   Opcode
	body []byte
}

// specResponseFrames reads the bytes of testdata/frames/spec/v*/resp_*.case
// to seed the fuzzers.
func specResponseFrames(tb testing.TB) []respCaseFrame {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "frames", "spec", "v*", "resp_*.case"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []respCaseFrame
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
		h, err := ParseHeader(b, nil)
		if err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
		// Skip the envelope prefixes to get the message body.
		r := newReader(b[HeaderSize:], "seed", nil)
		if h.Flags&FlagTracing != 0 {
			r.uuid("tracing_id")
		}
		if h.Flags&FlagWarning != 0 {
			r.stringList("warnings")
		}
		if h.Flags&FlagCustomPayload != 0 {
			r.bytesMap("custom_payload")
		}
		if r.err != nil {
			tb.Fatalf("%s: %v", p, r.err)
		}
		out = append(out, respCaseFrame{h.Version, h.Opcode, b[HeaderSize+r.off:]})
	}
	if len(out) == 0 {
		tb.Fatal("no response cases")
	}
	return out
}

// mayDifferOnReencode reports whether m holds something the wire can say in
// more than one way, so that re-encoding a decoded m may give other bytes
// than were decoded: a map (SUPPORTED: key order, repeated keys) or a null
// [bytes] (any negative length means null; it is written back as -1).
func mayDifferOnReencode(m Message) bool {
	switch m := m.(type) {
	case *Supported:
		return true
	case *AuthChallenge:
		return m.Token == nil
	case *AuthSuccess:
		return m.Token == nil
	case *Rows:
		return m.Metadata.HasMorePages() && m.Metadata.PagingState == nil
	case *Prepared:
		return m.Result.HasMorePages() && m.Result.PagingState == nil
	}
	return false
}

// fuzzLimits bound what the response fuzzers decode, so that an input cannot
// make one execution walk millions of rows without columns.
var fuzzLimits = &Limits{MaxFrameSize: 1 << 20}

// checkResponse decodes body and, when it decodes, checks the round trip:
// re-encoding gives the same bytes, less any bytes after the message, which
// are ignored (or, for the non-canonical forms of mayDifferOnReencode, bytes
// that decode to an equal message and encode to themselves). Rows are also
// walked to the end.
func checkResponse(t *testing.T, op Opcode, v Version, body []byte) {
	m, err := DecodeMessage(op, v, body, fuzzLimits)
	if err != nil {
		if _, ok := err.(*DecodeError); !ok {
			t.Fatalf("error of type %T: %v", err, err)
		}
		return
	}
	if m.Opcode() != op {
		t.Fatalf("decoded %T for opcode %v", m, op)
	}
	if rows, ok := m.(*Rows); ok {
		checkRowsWalk(t, rows)
	}
	_ = DescribeMessage(m)
	b1, err := m.AppendBody(nil, v)
	if err != nil {
		t.Fatalf("decoded %v v%d does not re-encode: %v\n%s", op, v, err, DescribeMessage(m))
	}
	if !bytes.HasPrefix(body, b1) {
		if !mayDifferOnReencode(m) {
			t.Fatalf("%v v%d re-encoded differently\n in %x\nout %x\n%s", op, v, body, b1, DescribeMessage(m))
		}
		if _, ok := m.(*Supported); !ok && len(b1) > len(body) {
			t.Fatalf("%v v%d re-encoded to %d bytes from %d", op, v, len(b1), len(body))
		}
	}
	m2, err := DecodeMessage(op, v, b1, fuzzLimits)
	if err != nil {
		t.Fatalf("re-encoded %v v%d does not decode: %v\n%x", op, v, err, b1)
	}
	if !reflect.DeepEqual(m, m2) {
		t.Fatalf("%v v%d changed through a round trip\n%s\n%s", op, v, DescribeMessage(m), DescribeMessage(m2))
	}
	b2, err := m2.AppendBody(nil, v)
	if err != nil || !bytes.Equal(b1, b2) {
		t.Fatalf("%v v%d second encoding differs (%v)\n%x\n%x", op, v, err, b1, b2)
	}
}

// checkRowsWalk walks decoded rows with both iterators: every row has the
// column count, the iterator never fails, and the cells cover Content.
func checkRowsWalk(t *testing.T, rows *Rows) {
	cols := rows.Metadata.ColumnCount
	if rows.Metadata.Flags&MetaNoMetadata == 0 && len(rows.Metadata.Columns) != cols {
		t.Fatalf("%d column specs for column count %d", len(rows.Metadata.Columns), cols)
	}
	it := rows.Iter()
	var cells [][]byte
	n, size := 0, 0
	for {
		var ok bool
		if cells, ok = it.Next(cells); !ok {
			break
		}
		if len(cells) != cols {
			t.Fatalf("row %d has %d cells, want %d", n, len(cells), cols)
		}
		for _, c := range cells {
			size += 4 + len(c)
		}
		n++
	}
	if it.Err() != nil || n != rows.RowCount {
		t.Fatalf("walked %d of %d rows: %v", n, rows.RowCount, it.Err())
	}
	if size != len(rows.Content) {
		t.Fatalf("cells cover %d bytes of %d", size, len(rows.Content))
	}
	seen := 0
	for i, row := range rows.All() {
		if i != seen || len(row) != cols {
			t.Fatalf("All: row %d (%d cells)", i, len(row))
		}
		seen++
	}
	if seen != rows.RowCount {
		t.Fatalf("All walked %d of %d rows", seen, rows.RowCount)
	}
}

// FuzzDecodeResponse decodes arbitrary bodies as any response opcode and
// version (3 to 5 decode; others must fail cleanly).
func FuzzDecodeResponse(f *testing.F) {
	for _, c := range specResponseFrames(f) {
		for i, op := range fuzzResponseOps {
			if op == c.op {
				f.Add(byte(i), byte(c.v), c.body)
			}
		}
	}
	f.Add(byte(0), byte(3), []byte{0, 0, 0, 0xa, 0, 0})
	f.Fuzz(func(t *testing.T, opIndex, version byte, body []byte) {
		checkResponse(t, fuzzResponseOps[int(opIndex)%len(fuzzResponseOps)], Version(version), body)
	})
}

// fuzzResultKind seeds f with the bodies of the cases of one RESULT kind,
// without the kind, and runs the check on kind + body for v4 and v5.
func fuzzResultKind(f *testing.F, kind ResultKind) {
	for _, c := range specResponseFrames(f) {
		if c.op == OpResult && len(c.body) >= 4 && ResultKind(binary.BigEndian.Uint32(c.body)) == kind {
			f.Add(c.v == V5, c.body[4:])
		}
	}
	f.Fuzz(func(t *testing.T, v5 bool, rest []byte) {
		v := V4
		if v5 {
			v = V5
		}
		checkResponse(t, OpResult, v, append(int4(int32(kind)), rest...))
	})
}

func FuzzDecodeRows(f *testing.F)         { fuzzResultKind(f, ResultRows) }
func FuzzDecodePrepared(f *testing.F)     { fuzzResultKind(f, ResultPrepared) }
func FuzzDecodeSchemaChange(f *testing.F) { fuzzResultKind(f, ResultSchemaChange) }

// FuzzDecodeError is seeded with every ERROR case.
func FuzzDecodeError(f *testing.F) {
	for _, c := range specResponseFrames(f) {
		if c.op == OpError {
			f.Add(c.v == V5, c.body)
		}
	}
	f.Fuzz(func(t *testing.T, v5 bool, body []byte) {
		v := V4
		if v5 {
			v = V5
		}
		checkResponse(t, OpError, v, body)
	})
}

// FuzzDecodeEvent is seeded with every EVENT case.
func FuzzDecodeEvent(f *testing.F) {
	for _, c := range specResponseFrames(f) {
		if c.op == OpEvent {
			f.Add(c.v == V5, c.body)
		}
	}
	f.Fuzz(func(t *testing.T, v5 bool, body []byte) {
		v := V4
		if v5 {
			v = V5
		}
		checkResponse(t, OpEvent, v, body)
	})
}

// The seeds alone, as a plain test: every case decodes and round-trips.
func TestResponseSeedsRoundTrip(t *testing.T) {
	for _, c := range specResponseFrames(t) {
		checkResponse(t, c.op, c.v, c.body)
		if _, err := DecodeMessage(c.op, c.v, c.body, nil); err != nil {
			t.Fatalf("%v v%d: %v", c.op, c.v, err)
		}
	}
}
