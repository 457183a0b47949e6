package frame

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/cqlwire/cqlwire/types"
)

// benchRows builds n rows of 10 columns of mixed types: int, bigint, double,
// uuid, text, int, bigint, double, uuid, timestamp. With noMetadata the
// result carries only the column count, as when executing a prepared
// statement with skip-metadata.
func benchRows(n int, noMetadata bool) *Rows {
	kinds := []types.Kind{types.Int, types.Bigint, types.Double, types.UUID, types.Varchar,
		types.Int, types.Bigint, types.Double, types.UUID, types.Timestamp}
	names := []string{"id", "count", "score", "user_id", "name", "rank", "views", "ratio", "session", "created"}
	rows := &Rows{}
	if noMetadata {
		rows.Metadata = RowsMetadata{Flags: MetaNoMetadata, ColumnCount: len(kinds)}
	} else {
		rows.Metadata.Flags = MetaGlobalTablesSpec
		for i, k := range kinds {
			rows.Metadata.Columns = append(rows.Metadata.Columns,
				ColumnSpec{Keyspace: "bench", Table: "events", Name: names[i], Type: types.Native(k)})
		}
		rows.Metadata.ColumnCount = len(kinds)
	}
	cells := make([][]byte, len(kinds))
	for r := range n {
		for i, k := range kinds {
			switch k {
			case types.Int:
				cells[i] = binary.BigEndian.AppendUint32(nil, uint32(r))
			case types.Bigint, types.Timestamp:
				cells[i] = binary.BigEndian.AppendUint64(nil, uint64(r)*1000)
			case types.Double:
				cells[i] = binary.BigEndian.AppendUint64(nil, math.Float64bits(float64(r)/3))
			case types.UUID:
				cells[i] = []byte{byte(r), 1, 2, 3, 4, 5, 0x40, 7, 0x80, 9, 10, 11, 12, 13, 14, 15}
			case types.Varchar:
				cells[i] = []byte("user-name-of-some-length")
			}
		}
		if err := rows.AppendRow(cells...); err != nil {
			panic(err)
		}
	}
	return rows
}

func benchFrame(tb testing.TB, rows *Rows) []byte {
	frame, err := AppendEnvelope(nil, &Envelope{Version: V4, Response: true, Stream: 1, Message: rows}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return frame
}

// readAllCells decodes a RESULT envelope and reads every cell's bytes.
func readAllCells(b *testing.B, frame []byte, cells [][]byte) ([][]byte, int) {
	env, _, err := DecodeEnvelope(frame, nil)
	if err != nil {
		b.Fatal(err)
	}
	rows := env.Message.(*Rows)
	it := rows.Iter()
	total := 0
	for {
		var ok bool
		if cells, ok = it.Next(cells); !ok {
			break
		}
		for _, c := range cells {
			total += len(c)
		}
	}
	return cells, total
}

// BenchmarkDecodeRows100x10 decodes a RESULT envelope of 100 rows × 10
// columns (with column metadata) and reads the bytes of every cell.
func BenchmarkDecodeRows100x10(b *testing.B) {
	frame := benchFrame(b, benchRows(100, false))
	cells := make([][]byte, 0, 10)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		cells, _ = readAllCells(b, frame, cells)
	}
}

// BenchmarkDecodeRows100x10NoMetadata is the prepared-statement path: the
// result has no column specs, only the column count.
func BenchmarkDecodeRows100x10NoMetadata(b *testing.B) {
	frame := benchFrame(b, benchRows(100, true))
	cells := make([][]byte, 0, 10)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		cells, _ = readAllCells(b, frame, cells)
	}
}

// BenchmarkRowsIterate100x10 is only the walk over already decoded rows.
func BenchmarkRowsIterate100x10(b *testing.B) {
	env, _, err := DecodeEnvelope(benchFrame(b, benchRows(100, false)), nil)
	if err != nil {
		b.Fatal(err)
	}
	rows := env.Message.(*Rows)
	cells := make([][]byte, 0, 10)
	b.ReportAllocs()
	for b.Loop() {
		it := rows.Iter()
		for {
			var ok bool
			if cells, ok = it.Next(cells); !ok {
				break
			}
		}
	}
}

func BenchmarkEncodeRows100x10(b *testing.B) {
	env := &Envelope{Version: V4, Response: true, Stream: 1, Message: benchRows(100, false)}
	buf, err := AppendEnvelope(nil, env, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendEnvelope(buf[:0], env, nil)
	}
}

func BenchmarkDecodePrepared(b *testing.B) {
	rows := benchRows(0, false)
	p := &Prepared{ID: make([]byte, 16), ResultMetadataID: make([]byte, 16),
		Params: PreparedMetadata{Flags: MetaGlobalTablesSpec, PKIndexes: []uint16{0}, Columns: rows.Metadata.Columns[:1]},
		Result: rows.Metadata}
	frame, err := AppendEnvelope(nil, &Envelope{Version: V5, Response: true, Stream: 1, Message: p}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := DecodeEnvelope(frame, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeError(b *testing.B) {
	e := &Error{Code: CodeWriteTimeout, Message: "Operation timed out - received only 1 responses.",
		Detail: &WriteTimeout{Consistency: LocalQuorum, Received: 1, BlockFor: 2, WriteType: WriteTypeSimple}}
	frame, err := AppendEnvelope(nil, &Envelope{Version: V4, Response: true, Stream: 1, Message: e}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := DecodeEnvelope(frame, nil); err != nil {
			b.Fatal(err)
		}
	}
}
