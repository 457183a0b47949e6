package frame

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/cqlwire/cqlwire/types"
)

// Inputs the spec allows that a stricter decoder once refused. The
// conformance cases in testdata/frames/spec (resp_*_no_columns*,
// resp_*_trailing_bytes, resp_result_void_ignored_flags, ...) hold the same
// shapes byte for byte; these tests pin the API behind them.

// An answering server answered an unknown SELECT with Global_tables_spec and
// no columns, which made Connect fail: the spec sends <global_table_spec>
// whenever the flag is set, whatever the column count.
func TestRowsGlobalTableSpecWithoutColumns(t *testing.T) {
	for _, v := range []Version{V4, V5} {
		body := cat2(int4(int32(ResultRows)), int4(int32(MetaGlobalTablesSpec)), int4(0), str("ks"), str("users"), int4(0))
		m, err := DecodeMessage(OpResult, v, body, nil)
		if err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		rows := m.(*Rows)
		md := rows.Metadata
		if md.ColumnCount != 0 || len(md.Columns) != 0 || rows.RowCount != 0 {
			t.Fatalf("v%d: %d columns (%d specs), %d rows, want none", v, md.ColumnCount, len(md.Columns), rows.RowCount)
		}
		if md.TableSpec != (TableSpec{Keyspace: "ks", Table: "users"}) {
			t.Errorf("v%d: TableSpec %+v, want ks.users", v, md.TableSpec)
		}
		if cols, err := md.ResolveColumns(nil); err != nil || len(cols) != 0 {
			t.Errorf("v%d: ResolveColumns: %v %v", v, cols, err)
		}
		if n := rows.Iter(); n.Remaining() != 0 {
			t.Errorf("v%d: %d rows to iterate", v, n.Remaining())
		}
		again, err := rows.AppendBody(nil, v)
		if err != nil || !bytes.Equal(again, body) {
			t.Errorf("v%d: re-encoded to %x (%v), want %x", v, again, err, body)
		}
	}

	// Asked to encode the flag with no columns and no TableSpec, the
	// encoder writes two empty strings, which decode back to a zero
	// TableSpec.
	b, err := (&Rows{Metadata: RowsMetadata{Flags: MetaGlobalTablesSpec}}).AppendBody(nil, V5)
	want := cat2(int4(int32(ResultRows)), int4(1), int4(0), str(""), str(""), int4(0))
	if err != nil || !bytes.Equal(b, want) {
		t.Fatalf("encoded %x (%v), want %x", b, err, want)
	}
	m, err := DecodeMessage(OpResult, V5, b, nil)
	if err != nil || m.(*Rows).Metadata.TableSpec != (TableSpec{}) {
		t.Fatalf("decoded %+v, %v", m, err)
	}

	// With columns the spec is theirs: a TableSpec naming the same table
	// is fine and changes nothing.
	col := ColumnSpec{Keyspace: "ks", Table: "users", Name: "id", Type: types.Native(types.Int)}
	withSpec, err1 := (&Rows{Metadata: RowsMetadata{Flags: MetaGlobalTablesSpec, Columns: []ColumnSpec{col},
		TableSpec: TableSpec{"ks", "users"}}}).AppendBody(nil, V4)
	without, err2 := (&Rows{Metadata: RowsMetadata{Flags: MetaGlobalTablesSpec, Columns: []ColumnSpec{col}}}).AppendBody(nil, V4)
	if err1 != nil || err2 != nil || !bytes.Equal(withSpec, without) {
		t.Fatalf("same table spec changed the bytes: %x (%v) vs %x (%v)", withSpec, err1, without, err2)
	}
}

func TestPreparedGlobalTableSpecWithoutBindMarkers(t *testing.T) {
	p := &Prepared{
		ID:               []byte{1},
		ResultMetadataID: []byte{},
		Params:           PreparedMetadata{Flags: MetaGlobalTablesSpec, TableSpec: TableSpec{"ks", "t"}},
		Result:           RowsMetadata{Flags: MetaGlobalTablesSpec, TableSpec: TableSpec{"ks", "t"}},
	}
	b, err := p.AppendBody(nil, V5)
	if err != nil {
		t.Fatal(err)
	}
	want := cat2(int4(int32(ResultPrepared)), []byte{0, 1, 1}, []byte{0, 0},
		int4(1), int4(0), int4(0), str("ks"), str("t"), // bind markers: none, pk_count 0
		int4(1), int4(0), str("ks"), str("t")) // result columns: none
	if !bytes.Equal(b, want) {
		t.Fatalf("encoded %x, want %x", b, want)
	}
	m, err := DecodeMessage(OpResult, V5, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := m.(*Prepared)
	if got.Params.TableSpec != p.Params.TableSpec || got.Result.TableSpec != p.Result.TableSpec ||
		len(got.Params.Columns) != 0 || len(got.Params.PKIndexes) != 0 || len(got.ResultMetadataID) != 0 {
		t.Fatalf("decoded %s", DescribeMessage(got))
	}
}

// "<rows_content> is composed of (<rows_count> * <columns_count>) [bytes]":
// rows without columns take no bytes.
func TestRowsWithoutColumns(t *testing.T) {
	body := cat2(int4(int32(ResultRows)), int4(0), int4(0), int4(3))
	m, err := DecodeMessage(OpResult, V4, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := m.(*Rows)
	n := 0
	for i, cells := range rows.All() {
		if i != n || len(cells) != 0 {
			t.Fatalf("row %d: %d cells", i, len(cells))
		}
		n++
	}
	if n != 3 || rows.RowCount != 3 {
		t.Fatalf("walked %d rows of %d, want 3", n, rows.RowCount)
	}
	if again, err := rows.AppendBody(nil, V4); err != nil || !bytes.Equal(again, body) {
		t.Errorf("re-encoded to %x (%v), want %x", again, err, body)
	}
	if err := rows.AppendRow(); err != nil || rows.RowCount != 4 || len(rows.Content) != 0 {
		t.Errorf("AppendRow(): %v, %d rows, %d content bytes", err, rows.RowCount, len(rows.Content))
	}

	// They cost nothing on the wire, so their number is bounded by what a
	// body of the size limit could hold with one column.
	lim := &Limits{MaxFrameSize: 64}
	if _, err := DecodeMessage(OpResult, V4, cat2(int4(int32(ResultRows)), int4(0), int4(0), int4(16)), lim); err != nil {
		t.Errorf("16 rows with a 64-byte limit: %v", err)
	}
	_, err = DecodeMessage(OpResult, V4, cat2(int4(int32(ResultRows)), int4(0), int4(0), int4(17)), lim)
	var de *DecodeError
	if !errors.As(err, &de) || de.Field != "rows_count" || !errors.Is(err, ErrTooLarge) {
		t.Errorf("17 rows with a 64-byte limit: got %v, want ErrTooLarge on rows_count", err)
	}

	// Describe lists no rows for them, however many there are.
	huge := &Rows{Metadata: RowsMetadata{Flags: MetaNoMetadata}, RowCount: 1 << 30}
	d := DescribeMessage(huge)
	if !strings.Contains(d, "RowCount: 1073741824") || strings.Contains(d, "Rows:") {
		t.Errorf("description:\n%s", d)
	}
}

// "Clients should support extra informations (that they should simply
// discard) to the one described in this document at the end of the frame
// body" (v4 and v5 section 4.2).
func TestResponseBytesAfterTheMessageAreIgnored(t *testing.T) {
	addr := netip.MustParseAddrPort("10.0.0.1:9042")
	col := ColumnSpec{Keyspace: "ks", Table: "t", Name: "c", Type: types.Native(types.Int)}
	rows := &Rows{Metadata: RowsMetadata{Flags: MetaGlobalTablesSpec, Columns: []ColumnSpec{col}}}
	if err := rows.AppendRow([]byte{0, 0, 0, 1}); err != nil {
		t.Fatal(err)
	}
	msgs := []Message{
		&Ready{},
		&Authenticate{Authenticator: "org.apache.cassandra.auth.PasswordAuthenticator"},
		&Supported{Options: map[string][]string{"CQL_VERSION": {"3.4.7"}}},
		&AuthChallenge{Token: []byte{1, 2}},
		&AuthSuccess{},
		&Error{Code: CodeInvalid, Message: "m"},
		&Error{Code: CodeCDCWriteFailure, Message: "cdc"},
		&Error{Code: CodeUnavailable, Message: "u", Detail: &Unavailable{Consistency: Quorum, Required: 2, Alive: 1}},
		&Error{Code: CodeUnprepared, Message: "p", Detail: &Unprepared{ID: []byte{9}}},
		&Void{},
		&SetKeyspace{Keyspace: "ks"},
		&SchemaChangeResult{SchemaChange{ChangeType: SchemaCreated, Target: TargetTable, Keyspace: "ks", Name: "t"}},
		rows,
		&Prepared{ID: []byte{1}, Params: PreparedMetadata{Flags: MetaGlobalTablesSpec, PKIndexes: []uint16{0}, Columns: []ColumnSpec{col}}},
		&TopologyChange{Change: TopologyNewNode, Address: addr},
		&StatusChange{Change: StatusUp, Address: addr},
		&SchemaChangeEvent{SchemaChange{ChangeType: SchemaDropped, Target: TargetKeyspace, Keyspace: "ks"}},
	}
	// Not here: a v5 CAS write timeout without <contentions> (Cassandra's
	// quirk) is told apart only by its body ending there, and an unknown
	// error code keeps what follows its message in Unparsed.
	v5Only := []Message{
		&Error{Code: CodeWriteTimeout, Message: "w", Detail: &WriteTimeout{Consistency: Serial, WriteType: WriteTypeCAS, Contentions: 3}},
		&Prepared{ID: []byte{1}, ResultMetadataID: []byte{2}, Result: RowsMetadata{Columns: []ColumnSpec{col}}},
	}
	for _, v := range []Version{V4, V5} {
		all := msgs
		if v == V5 {
			all = append(all[:len(all):len(all)], v5Only...)
		}
		for _, m := range all {
			body, err := m.AppendBody(nil, v)
			if err != nil {
				t.Fatalf("v%d %T: %v", v, m, err)
			}
			want, err := DecodeMessage(m.Opcode(), v, body, nil)
			if err != nil {
				t.Fatalf("v%d %T: %v", v, m, err)
			}
			got, err := DecodeMessage(m.Opcode(), v, cat2(body, []byte{0, 1, 0xff}), nil)
			if err != nil {
				t.Errorf("v%d %T with 3 more bytes: %v", v, m, err)
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("v%d %T: the extra bytes changed the message\n%s\n%s", v, m, DescribeMessage(got), DescribeMessage(want))
			}
		}
	}
	// A request must still fill its body: the allowance is the client's.
	if _, err := DecodeMessage(OpOptions, V5, []byte{0}, nil); err == nil {
		t.Error("OPTIONS with a body byte decoded")
	}
}

// failingCompressor fails the test if anything asks it to decompress.
type failingCompressor struct{ t *testing.T }

func (failingCompressor) Name() string { return "lz4" }
func (c failingCompressor) AppendCompressed(dst, src []byte) ([]byte, error) {
	c.t.Error("AppendCompressed called")
	return dst, nil
}
func (c failingCompressor) AppendDecompressed(dst, src []byte, max int) ([]byte, error) {
	c.t.Error("a v5 body was decompressed")
	return dst, errors.New("not a compressed body")
}

// "In protocol v5 this flag is deprecated and ignored" (v5 section 2.4.1.2),
// and "The rest of flags is currently unused and ignored".
func TestV5CompressionFlagIgnored(t *testing.T) {
	for _, opts := range []*DecodeOptions{nil, {Compressor: failingCompressor{t}}} {
		h := Header{Version: V5, Response: true, Flags: FlagCompression | 0x80, Opcode: OpResult, Length: 4}
		env, err := DecodeBody(h, int4(int32(ResultVoid)), opts)
		if err != nil {
			t.Fatalf("compressor %v: %v", opts, err)
		}
		if _, ok := env.Message.(*Void); !ok {
			t.Fatalf("decoded %T", env.Message)
		}
	}
	// v4 still decompresses a body with the flag.
	h := Header{Version: V4, Response: true, Flags: FlagCompression, Opcode: OpResult, Length: 4}
	if _, err := DecodeBody(h, int4(int32(ResultVoid)), nil); err == nil {
		t.Error("a v4 body with the compression flag and no compressor decoded")
	}
}
