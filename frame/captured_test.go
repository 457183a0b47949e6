package frame_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/types"
)

// The captured cases are envelopes of real traffic between the Python driver
// (cassandra-driver 3.30) and Cassandra 5.0, extracted from the pcaps beside
// them by tools/cmd/cqlcap (see testdata/frames/captured/README.md).
//
// Each must decode, match its recorded description, and re-encode to the
// same bytes, except where the encoding is not canonical:
//   - string maps (STARTUP options, SUPPORTED, custom payloads) with several
//     entries: the wire fixes no order and we write keys sorted;
//   - compressed v4 bodies: another LZ4/Snappy implementation may compress
//     the same body to other bytes; the decompressed body must match.

var captureName = regexp.MustCompile(`^c(\d+)-(req|resp)-(\d+)-`)

type capturedFrame struct {
	conformanceCase
	conn string
	req  bool
	seq  int
	env  *frame.Envelope
}

func canonical(e *frame.Envelope) bool {
	if len(e.CustomPayload) > 1 {
		return false
	}
	switch m := e.Message.(type) {
	case *frame.Startup:
		return len(m.Options) <= 1
	case *frame.Supported:
		return len(m.Options) <= 1
	}
	return true
}

func TestConformanceCaptured(t *testing.T) {
	root := filepath.Join("..", "testdata", "frames", "captured")
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var captures []string
	for _, d := range dirs {
		if d.IsDir() {
			captures = append(captures, d.Name())
		}
	}
	// Both protocol versions, with and without compression, must be there.
	for _, want := range []string{"python-v4-none", "python-v4-lz4", "python-v4-snappy", "python-v5-none", "python-v5-lz4"} {
		if !strings.Contains(strings.Join(captures, " "), want) {
			t.Errorf("capture %s is missing from %s", want, root)
		}
	}
	for _, name := range captures {
		t.Run(name, func(t *testing.T) {
			cases := loadCases(t, filepath.Join(root, name))
			if len(cases) < 20 {
				t.Fatalf("only %d envelopes", len(cases))
			}
			var frames []capturedFrame
			for _, c := range cases {
				frames = append(frames, checkCaptured(t, c))
			}
			checkQueryAnswers(t, name, frames)
		})
	}
}

func checkCaptured(t *testing.T, c conformanceCase) capturedFrame {
	t.Helper()
	base := filepath.Base(c.path)
	m := captureName.FindStringSubmatch(base)
	if m == nil {
		t.Fatalf("%s: name does not say connection, direction and order", base)
	}
	f := capturedFrame{conformanceCase: c, conn: m[1], req: m[2] == "req"}
	f.seq = atoi(m[3])
	comp, err := compressorNamed(c.compression)
	if err != nil {
		t.Fatal(err)
	}
	env, n, err := frame.DecodeEnvelope(c.bytes, &frame.DecodeOptions{Compressor: comp})
	if err != nil {
		t.Fatalf("%s: %v", base, err)
	}
	f.env = env
	if n != len(c.bytes) {
		t.Errorf("%s: decode used %d of %d bytes", base, n, len(c.bytes))
	}
	// The header fields, read straight from the bytes.
	if got, want := env.Message.Opcode(), frame.Opcode(c.bytes[4]); got != want {
		t.Errorf("%s: opcode %v, header byte says %v", base, got, want)
	}
	if got, want := env.Stream, int16(c.bytes[2])<<8|int16(c.bytes[3]); got != want {
		t.Errorf("%s: stream %d, header says %d", base, got, want)
	}
	if env.Response == f.req || env.Message.Opcode().IsRequest() != f.req {
		t.Errorf("%s: direction does not match the message %v", base, env.Message.Opcode())
	}
	if got := frame.Describe(env); got != c.decoded {
		t.Errorf("%s: decoded fields differ\n--- got\n%s--- want\n%s", base, got, c.decoded)
	}
	plain, err := frame.AppendEnvelope(nil, env, nil)
	if err != nil {
		t.Fatalf("%s: re-encode: %v", base, err)
	}
	switch {
	case comp != nil && c.bytes[1]&byte(frame.FlagCompression) != 0:
		want, err := comp.AppendDecompressed(nil, c.bytes[frame.HeaderSize:], 0)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(plain[frame.HeaderSize:], want) {
			t.Errorf("%s: re-encoded body differs from the decompressed body", base)
		}
		if plain[1] != c.bytes[1]&^byte(frame.FlagCompression) {
			t.Errorf("%s: flags %#x, captured %#x", base, plain[1], c.bytes[1])
		}
	case canonical(env):
		if !bytes.Equal(plain, c.bytes) {
			t.Errorf("%s: re-encoded bytes differ\n got %x\nwant %x", base, plain, c.bytes)
		}
	default:
		again, _, err := frame.DecodeEnvelope(plain, nil)
		if err != nil || frame.Describe(again) != frame.Describe(env) || len(plain) != len(c.bytes) {
			t.Errorf("%s: re-encoding (map order aside) changed the envelope: %v", base, err)
		}
	}
	return f
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// checkQueryAnswers pairs each QUERY with its answer (the k-th answer on a
// stream answers the k-th request on it) and checks the results of the
// quickstart's statements against what those statements must return.
func checkQueryAnswers(t *testing.T, capture string, frames []capturedFrame) {
	type key struct {
		conn   string
		stream int16
	}
	sort.SliceStable(frames, func(i, j int) bool { return frames[i].seq < frames[j].seq })
	requests := map[key][]*frame.Envelope{}
	for _, f := range frames {
		if f.req {
			k := key{f.conn, f.env.Stream}
			requests[k] = append(requests[k], f.env)
		}
	}
	seen := map[string]bool{}
	for _, f := range frames {
		if f.req || f.env.Stream < 0 {
			continue
		}
		k := key{f.conn, f.env.Stream}
		if len(requests[k]) == 0 {
			t.Errorf("%s: answer on connection %s stream %d has no request", capture, f.conn, f.env.Stream)
			continue
		}
		req := requests[k][0]
		requests[k] = requests[k][1:]
		q, ok := req.Message.(*frame.Query)
		if !ok {
			continue
		}
		rows, _ := f.env.Message.(*frame.Rows)
		switch {
		case q.Query == "SELECT release_version FROM system.local":
			seen["release_version"] = true
			checkRows(t, capture, q.Query, rows, 1, []string{"release_version"}, []string{"varchar"})
		case strings.Contains(q.Query, "ANN OF"):
			if _, failed := f.env.Message.(*frame.Error); failed {
				continue // the SAI index was still being built: the client retried
			}
			seen["ann"] = true
			checkRows(t, capture, q.Query, rows, 3, []string{"id", "item_vector"}, []string{"int", "vector<float, 5>"})
			if rows != nil {
				var ids []int32
				for _, cells := range rows.All() {
					var id int32
					if err := types.Decode(rows.Metadata.Columns[0].Type, cells[0], &id); err != nil {
						t.Error(err)
					}
					ids = append(ids, id)
				}
				if len(ids) != 3 || ids[0] != 1 || ids[1] != 3 || ids[2] != 2 {
					t.Errorf("%s: ANN ids %v, want [1 3 2]", capture, ids)
				}
			}
		case strings.Contains(q.Query, "no_such_table"):
			seen["error"] = true
			if e, ok := f.env.Message.(*frame.Error); !ok || e.Code != frame.CodeInvalid {
				t.Errorf("%s: query of a missing table answered by %s", capture, frame.DescribeMessage(f.env.Message))
			}
		}
	}
	for _, what := range []string{"release_version", "ann", "error"} {
		if !seen[what] {
			t.Errorf("%s: the capture lacks the quickstart's %s query and its answer", capture, what)
		}
	}
}

func checkRows(t *testing.T, capture, query string, rows *frame.Rows, n int, names, kinds []string) {
	t.Helper()
	if rows == nil {
		t.Errorf("%s: %q not answered by rows", capture, query)
		return
	}
	if rows.RowCount != n {
		t.Errorf("%s: %q: %d rows, want %d", capture, query, rows.RowCount, n)
	}
	cols := rows.Metadata.Columns
	if len(cols) != len(names) {
		t.Fatalf("%s: %q: %d columns, want %d", capture, query, len(cols), len(names))
	}
	for i := range cols {
		if cols[i].Name != names[i] || cols[i].Type.String() != kinds[i] {
			t.Errorf("%s: %q column %d is %s %s, want %s %s", capture, query, i, cols[i].Name, cols[i].Type, names[i], kinds[i])
		}
	}
}
