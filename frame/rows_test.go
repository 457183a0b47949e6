package frame

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/cqlwire/cqlwire/types"
)

// decodeRowsBody encodes rows for v and decodes them back.
func decodeRowsBody(t testing.TB, rows *Rows, v Version) (*Rows, []byte) {
	t.Helper()
	body, err := rows.AppendBody(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeMessage(OpResult, v, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m.(*Rows), body
}

func TestRowsIterator(t *testing.T) {
	in := &Rows{Metadata: RowsMetadata{Flags: MetaGlobalTablesSpec, Columns: []ColumnSpec{
		{Keyspace: "k", Table: "t", Name: "a", Type: types.Native(types.Int)},
		{Keyspace: "k", Table: "t", Name: "b", Type: types.Native(types.Varchar)},
		{Keyspace: "k", Table: "t", Name: "c", Type: types.Native(types.Blob)},
	}}}
	want := [][][]byte{
		{int4(1), []byte("one"), nil},
		{int4(2), []byte{}, []byte{0xff}},
		{nil, nil, nil},
	}
	for _, row := range want {
		if err := in.AppendRow(row...); err != nil {
			t.Fatal(err)
		}
	}
	if in.RowCount != 3 || in.Metadata.ColumnCount != 0 {
		t.Fatalf("AppendRow: %d rows, column count %d", in.RowCount, in.Metadata.ColumnCount)
	}
	rows, body := decodeRowsBody(t, in, V5)
	if rows.RowCount != 3 || rows.Metadata.ColumnCount != 3 {
		t.Fatalf("decoded %d rows of %d columns", rows.RowCount, rows.Metadata.ColumnCount)
	}
	// Content aliases the body.
	if &rows.Content[0] != &body[len(body)-len(rows.Content)] {
		t.Fatal("Content was copied")
	}

	it := rows.Iter()
	var cells [][]byte
	for i := 0; ; i++ {
		var ok bool
		cells, ok = it.Next(cells)
		if !ok {
			if i != len(want) {
				t.Fatalf("iterator stopped after %d rows", i)
			}
			break
		}
		if it.Remaining() != len(want)-i-1 {
			t.Fatalf("Remaining %d after row %d", it.Remaining(), i)
		}
		if len(cells) != 3 {
			t.Fatalf("row %d has %d cells", i, len(cells))
		}
		for j, c := range cells {
			w := want[i][j]
			if (c == nil) != (w == nil) || !bytes.Equal(c, w) {
				t.Fatalf("row %d cell %d = %x (nil %t), want %x (nil %t)", i, j, c, c == nil, w, w == nil)
			}
			if cap(c) != len(c) {
				t.Fatalf("row %d cell %d has spare capacity %d: appending would overwrite the body", i, j, cap(c)-len(c))
			}
		}
	}
	if it.Err() != nil {
		t.Fatal(it.Err())
	}
	if _, ok := it.Next(cells); ok {
		t.Fatal("Next after the end returned a row")
	}

	// All gives the same rows and stops early when asked.
	n := 0
	for i, row := range rows.All() {
		if i != n || len(row) != 3 || !bytes.Equal(row[0], want[i][0]) {
			t.Fatalf("All row %d: %x", i, row)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("All gave %d rows", n)
	}
	for i := range rows.All() {
		if i == 1 {
			break
		}
	}
	var zero RowIterator
	if _, ok := zero.Next(nil); ok {
		t.Fatal("zero RowIterator returned a row")
	}
}

func TestRowsIteratorDoesNotAllocate(t *testing.T) {
	rows, _ := decodeRowsBody(t, benchRows(100, false), V4)
	cells := make([][]byte, 0, 10)
	allocs := testing.AllocsPerRun(100, func() {
		it := rows.Iter()
		for {
			var ok bool
			if cells, ok = it.Next(cells); !ok {
				break
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("iterating 100 rows allocated %v times", allocs)
	}
}

// Decoding allocates a constant per result, whatever the number of rows.
func TestDecodeRowsAllocationsDoNotGrowWithRows(t *testing.T) {
	count := func(n int) float64 {
		frame := benchFrame(t, benchRows(n, false))
		return testing.AllocsPerRun(50, func() {
			if _, _, err := DecodeEnvelope(frame, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
	one, many := count(1), count(1000)
	if one != many {
		t.Fatalf("decoding 1 row: %v allocs, 1000 rows: %v allocs", one, many)
	}
	t.Logf("allocations per decoded RESULT of 10 columns: %v", one)
}

func TestRowsNoMetadataUsesPreparedColumns(t *testing.T) {
	prepared := &RowsMetadata{Flags: MetaGlobalTablesSpec, ColumnCount: 2, Columns: []ColumnSpec{
		{Keyspace: "k", Table: "t", Name: "a", Type: types.Native(types.Int)},
		{Keyspace: "k", Table: "t", Name: "b", Type: types.Native(types.Varchar)},
	}}
	in := &Rows{Metadata: RowsMetadata{Flags: MetaNoMetadata, ColumnCount: 2}}
	_ = in.AppendRow(int4(5), []byte("x"))
	rows, _ := decodeRowsBody(t, in, V4)
	if rows.Metadata.Columns != nil || rows.Metadata.ColumnCount != 2 {
		t.Fatalf("metadata %+v", rows.Metadata)
	}
	cols, err := rows.Metadata.ResolveColumns(prepared)
	if err != nil || len(cols) != 2 || cols[1].Name != "b" {
		t.Fatalf("ResolveColumns: %v %v", cols, err)
	}
	if _, err := rows.Metadata.ResolveColumns(nil); err == nil {
		t.Fatal("no columns and no prepared metadata: no error")
	}
	if _, err := rows.Metadata.ResolveColumns(&RowsMetadata{Columns: prepared.Columns[:1]}); err == nil {
		t.Fatal("prepared metadata with the wrong column count: no error")
	}
	// Rows with their own metadata ignore the prepared one.
	own := &RowsMetadata{ColumnCount: 1, Columns: prepared.Columns[1:]}
	if cols, err := own.ResolveColumns(prepared); err != nil || len(cols) != 1 {
		t.Fatalf("own columns: %v %v", cols, err)
	}
	for _, row := range rows.All() {
		if len(row) != 2 || string(row[1]) != "x" {
			t.Fatalf("row %q", row)
		}
	}
}

// A no-metadata result may announce any column count when it has no rows:
// nothing is allocated for it.
func TestRowsHugeColumnCountWithoutRows(t *testing.T) {
	body := cat2(int4(2), int4(int32(MetaNoMetadata)), int4(0x7fffffff), int4(0))
	m, err := DecodeMessage(OpResult, V4, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := m.(*Rows)
	allocs := testing.AllocsPerRun(10, func() {
		for range rows.All() {
			t.Fatal("a row")
		}
	})
	if allocs > 1 {
		t.Fatalf("iterating no rows allocated %v times", allocs)
	}
	if d := rows.Describe().(rowsDescription); len(d.Rows) != 0 {
		t.Fatal("Describe shows rows")
	}
}

// Rows whose Content was changed by hand stop the iterator with an error
// instead of panicking.
func TestRowsIteratorTamperedContent(t *testing.T) {
	rows, _ := decodeRowsBody(t, benchRows(3, false), V4)
	for _, tamper := range []func(r *Rows){
		func(r *Rows) { r.RowCount = 10 },
		func(r *Rows) { r.Content = r.Content[:len(r.Content)-1] },
		func(r *Rows) { r.Content = append([]byte{0x7f, 0, 0, 0}, r.Content[4:]...) },
		func(r *Rows) { r.Content = nil },
	} {
		r := *rows
		tamper(&r)
		it := r.Iter()
		n := 0
		for {
			if _, ok := it.Next(nil); !ok {
				break
			}
			n++
		}
		if it.Err() == nil {
			t.Fatalf("tampered rows: %d rows and no error", n)
		}
		if _, err := r.AppendBody(nil, V4); err == nil {
			t.Fatal("tampered rows encode")
		}
		if _, ok := r.Describe().(invalidRowsDescription); !ok {
			t.Fatal("Describe of tampered rows does not say so")
		}
		for range r.All() {
		}
	}
}

func TestRowsAppendRowChecksColumns(t *testing.T) {
	r := &Rows{Metadata: RowsMetadata{Flags: MetaNoMetadata, ColumnCount: 2}}
	if err := r.AppendRow([]byte{1}); err == nil {
		t.Fatal("1 cell for 2 columns accepted")
	}
	if r.RowCount != 0 || len(r.Content) != 0 {
		t.Fatal("a rejected row was added")
	}
	// Appending to decoded rows never writes into the body.
	rows, body := decodeRowsBody(t, benchRows(2, false), V4)
	saved := bytes.Clone(body)
	cells := make([][]byte, 10)
	if err := rows.AppendRow(cells...); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, saved) || rows.RowCount != 3 {
		t.Fatal("AppendRow changed the decoded body")
	}
}

func TestRowsDescribe(t *testing.T) {
	in := &Rows{Metadata: RowsMetadata{Flags: MetaNoMetadata, ColumnCount: 2}}
	_ = in.AppendRow(int4(1), nil)
	d, ok := in.Describe().(rowsDescription)
	if !ok || d.RowCount != 1 || len(d.Rows) != 1 || !bytes.Equal(d.Rows[0][0], int4(1)) || d.Rows[0][1] != nil {
		t.Fatalf("Describe() = %#v", in.Describe())
	}
}

// Row count times column count is checked against the body before the cells
// are walked, for every combination that could overflow.
func TestRowsCountOverflow(t *testing.T) {
	for _, c := range []struct{ rows, cols int32 }{
		{0x7fffffff, 0x7fffffff}, {0x40000000, 4}, {0x10000, 0x10000}, {1, 0x7fffffff}, {0x7fffffff, 1},
	} {
		t.Run(fmt.Sprintf("%dx%d", c.rows, c.cols), func(t *testing.T) {
			body := cat2(int4(2), int4(int32(MetaNoMetadata)), int4(c.cols), int4(c.rows), make([]byte, 64))
			_, err := DecodeMessage(OpResult, V5, body, nil)
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("got %v", err)
			}
		})
	}
}
