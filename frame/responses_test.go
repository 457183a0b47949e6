package frame

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/cqlwire/cqlwire/types"
)

// respRoundTrip encodes m for v, decodes it, requires the decoded message to
// equal m (so m must be written in its canonical decoded form) and the
// re-encoding to give the same bytes. It returns the body.
func respRoundTrip(t *testing.T, m Message, v Version) []byte {
	t.Helper()
	prefix := []byte("prefix")
	full, err := m.AppendBody(prefix, v)
	if err != nil {
		t.Fatalf("encode %T v%d: %v", m, v, err)
	}
	if !bytes.HasPrefix(full, prefix) {
		t.Fatalf("encode %T v%d clobbered dst", m, v)
	}
	body := full[len(prefix):]
	got, err := DecodeMessage(m.Opcode(), v, body, nil)
	if err != nil {
		t.Fatalf("decode %T v%d: %v\nbody %x", m, v, err, body)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("%T v%d changed through a round trip\n got %s\nwant %s", m, v, DescribeMessage(got), DescribeMessage(m))
	}
	again, err := got.AppendBody(nil, v)
	if err != nil {
		t.Fatalf("re-encode %T v%d: %v", m, v, err)
	}
	if !bytes.Equal(again, body) {
		t.Fatalf("re-encoded %T v%d differs\n got %x\nwant %x", m, v, again, body)
	}
	return body
}

func int4(n int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(n)) }

func vectorFloat3() *types.Type {
	t := types.VectorOf(types.Native(types.Float), 3)
	t.Class = t.ClassName()
	return t
}

// durationAsSent is a duration as a server sends it to every protocol
// version: v4 has no option id for it, so it travels as its custom class
// (and decoding keeps the class).
var durationAsSent = &types.Type{Kind: types.Duration, Class: types.DurationClass}

func TestV4DurationColumnIsCustomClass(t *testing.T) {
	rows := &Rows{Metadata: RowsMetadata{Flags: MetaGlobalTablesSpec, ColumnCount: 1, Columns: []ColumnSpec{
		{Keyspace: "k", Table: "t", Name: "d", Type: types.ListOf(types.Native(types.Duration))}}}}
	v4, err := rows.AppendBody(nil, V4)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte{0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 'k', 0, 1, 't', 0, 1, 'd', 0, 0x20, 0, 0, 0, byte(len(types.DurationClass))}, types.DurationClass...)
	want = append(want, 0, 0, 0, 0)
	if !bytes.Equal(v4, want) {
		t.Errorf("v4 list<duration> metadata\n got %x\nwant %x", v4, want)
	}
	v5, err := rows.AppendBody(nil, V5)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(v5, []byte{0, 0x20, 0, 0x15}) {
		t.Errorf("v5 list<duration> metadata should use option id 0x0015: %x", v5)
	}
}

func sampleColumns(global bool) []ColumnSpec {
	table := func(i int) string {
		if global {
			return "t"
		}
		return fmt.Sprintf("t%d", i)
	}
	udt := &types.Type{Kind: types.UDT, Keyspace: "ks", Name: "addr", Fields: []types.Field{
		{Name: "street", Type: types.Native(types.Varchar)}, {Name: "zip", Type: types.Native(types.Int)}}}
	return []ColumnSpec{
		{Keyspace: "ks", Table: table(0), Name: "id", Type: types.Native(types.UUID)},
		{Keyspace: "ks", Table: table(1), Name: "tags", Type: types.SetOf(types.Native(types.Varchar))},
		{Keyspace: "ks", Table: table(2), Name: "m", Type: types.MapOf(types.Native(types.Varchar), types.ListOf(types.Native(types.Bigint)))},
		{Keyspace: "ks", Table: table(3), Name: "a", Type: udt},
		{Keyspace: "ks", Table: table(4), Name: "tu", Type: types.TupleOf(types.Native(types.Int), durationAsSent)},
		{Keyspace: "ks", Table: table(5), Name: "v", Type: vectorFloat3()},
		{Keyspace: "ks", Table: table(6), Name: "c", Type: &types.Type{Kind: types.Custom, Class: "com.example.MyType"}},
	}
}

func sampleRows(v Version) []*Rows {
	global := &Rows{Metadata: RowsMetadata{Flags: MetaGlobalTablesSpec, ColumnCount: 7, Columns: sampleColumns(true)}}
	perCol := &Rows{Metadata: RowsMetadata{ColumnCount: 7, Columns: sampleColumns(false)}}
	for _, r := range []*Rows{global, perCol} {
		for i := range 3 {
			cells := make([][]byte, 7)
			for j := range cells {
				if (i+j)%4 != 3 {
					cells[j] = bytes.Repeat([]byte{byte(i*7 + j)}, j)
				}
			}
			if err := r.AppendRow(cells...); err != nil {
				panic(err)
			}
		}
	}
	paging := &Rows{Metadata: RowsMetadata{Flags: MetaGlobalTablesSpec | MetaHasMorePages, ColumnCount: 1,
		PagingState: []byte{1, 2, 3}, Columns: []ColumnSpec{{Keyspace: "k", Table: "t", Name: "x", Type: types.Native(types.Int)}}}}
	_ = paging.AppendRow(int4(5))
	noMeta := &Rows{Metadata: RowsMetadata{Flags: MetaNoMetadata | MetaHasMorePages, ColumnCount: 2, PagingState: []byte{}}}
	_ = noMeta.AppendRow(int4(1), nil)
	_ = noMeta.AppendRow([]byte{}, []byte("x"))
	empty := &Rows{Metadata: RowsMetadata{Flags: MetaGlobalTablesSpec, ColumnCount: 1,
		Columns: []ColumnSpec{{Keyspace: "k", Table: "t", Name: "x", Type: types.Native(types.Int)}}}, Content: []byte{}}
	noCols := &Rows{Metadata: RowsMetadata{Columns: []ColumnSpec{}}, Content: []byte{}}
	out := []*Rows{global, perCol, paging, noMeta, empty, noCols}
	if v >= V5 {
		changed := &Rows{Metadata: RowsMetadata{Flags: MetaGlobalTablesSpec | MetaMetadataChanged, ColumnCount: 1,
			NewMetadataID: []byte{9, 9}, Columns: []ColumnSpec{{Keyspace: "k", Table: "t", Name: "x", Type: types.Native(types.Int)}}}}
		_ = changed.AppendRow(nil)
		out = append(out, changed)
	}
	return out
}

// respSamples are messages in their canonical decoded form, for each version.
func respSamples(v Version) []Message {
	addr4 := netip.MustParseAddrPort("10.1.2.3:9042")
	addr6 := netip.MustParseAddrPort("[2001:db8::1]:19042")
	var resultMetaID []byte
	if v >= V5 {
		resultMetaID = []byte{0xaa, 0xbb}
	}
	reasons := []FailureReason(nil)
	numFailures := 2
	if v >= V5 {
		reasons = []FailureReason{{Endpoint: netip.MustParseAddr("10.0.0.1"), Code: FailureReadTooManyTombstones},
			{Endpoint: netip.MustParseAddr("2001:db8::2"), Code: 999}}
	}
	contentions := uint16(0)
	if v >= V5 {
		contentions = 7
	}
	msgs := []Message{
		&Ready{},
		&Authenticate{Authenticator: "org.apache.cassandra.auth.PasswordAuthenticator"},
		&Supported{Options: map[string][]string{}},
		&Supported{Options: map[string][]string{"CQL_VERSION": {"3.4.7"}, "COMPRESSION": {"lz4", "snappy"}, "EMPTY": {}}},
		&AuthChallenge{Token: []byte{1, 2}},
		&AuthChallenge{Token: []byte{}},
		&AuthChallenge{},
		&AuthSuccess{},
		&AuthSuccess{Token: []byte("done")},
		&Void{},
		&SetKeyspace{Keyspace: "system"},
		&SchemaChangeResult{SchemaChange{ChangeType: SchemaCreated, Target: TargetKeyspace, Keyspace: "ks"}},
		&SchemaChangeResult{SchemaChange{ChangeType: SchemaUpdated, Target: TargetTable, Keyspace: "ks", Name: "t"}},
		&SchemaChangeResult{SchemaChange{ChangeType: SchemaDropped, Target: TargetType, Keyspace: "ks", Name: "u"}},
		&SchemaChangeResult{SchemaChange{ChangeType: SchemaCreated, Target: TargetFunction, Keyspace: "ks", Name: "f", ArgTypes: []string{"int", "list<text>"}}},
		&SchemaChangeResult{SchemaChange{ChangeType: "FUTURE", Target: TargetAggregate, Keyspace: "ks", Name: "a", ArgTypes: []string{}}},
		&Prepared{ID: []byte{1, 2, 3, 4}, ResultMetadataID: resultMetaID,
			Params: PreparedMetadata{Flags: MetaGlobalTablesSpec, PKIndexes: []uint16{1, 0},
				Columns: []ColumnSpec{{Keyspace: "ks", Table: "t", Name: "b", Type: types.Native(types.Int)}, {Keyspace: "ks", Table: "t", Name: "a", Type: types.Native(types.Varchar)}}},
			Result: RowsMetadata{Flags: MetaGlobalTablesSpec, ColumnCount: 7, Columns: sampleColumns(true)}},
		&Prepared{ID: []byte{}, ResultMetadataID: resultMetaID,
			Params: PreparedMetadata{PKIndexes: []uint16{}, Columns: []ColumnSpec{}},
			Result: RowsMetadata{Flags: MetaNoMetadata}},
		&Prepared{ID: []byte{5}, ResultMetadataID: resultMetaID,
			Params: PreparedMetadata{Flags: 0x40, PKIndexes: []uint16{}, Columns: sampleColumns(false)},
			Result: RowsMetadata{ColumnCount: 7, Columns: sampleColumns(false)}},
		&TopologyChange{Change: TopologyNewNode, Address: addr4},
		&TopologyChange{Change: TopologyRemovedNode, Address: addr6},
		&TopologyChange{Change: TopologyMovedNode, Address: netip.AddrPortFrom(netip.MustParseAddr("::ffff:10.0.0.9"), 1)},
		&StatusChange{Change: StatusUp, Address: addr4},
		&StatusChange{Change: StatusDown, Address: addr6},
		&SchemaChangeEvent{SchemaChange{ChangeType: SchemaCreated, Target: TargetKeyspace, Keyspace: "ks"}},
		&SchemaChangeEvent{SchemaChange{ChangeType: SchemaUpdated, Target: TargetTable, Keyspace: "ks", Name: "t"}},
		&SchemaChangeEvent{SchemaChange{ChangeType: SchemaDropped, Target: TargetType, Keyspace: "ks", Name: "u"}},
		&SchemaChangeEvent{SchemaChange{ChangeType: SchemaCreated, Target: TargetFunction, Keyspace: "ks", Name: "f", ArgTypes: []string{"int"}}},
		&SchemaChangeEvent{SchemaChange{ChangeType: SchemaDropped, Target: TargetAggregate, Keyspace: "ks", Name: "g", ArgTypes: []string{"double", "double"}}},
	}
	for _, code := range []ErrorCode{CodeServerError, CodeProtocolError, CodeAuthenticationError, CodeOverloaded,
		CodeIsBootstrapping, CodeTruncateError, CodeCDCWriteFailure, CodeSyntaxError, CodeUnauthorized, CodeInvalid, CodeConfigError} {
		msgs = append(msgs, &Error{Code: code, Message: "msg " + code.String()})
	}
	msgs = append(msgs,
		&Error{Code: CodeUnavailable, Message: "u", Detail: &Unavailable{Consistency: Quorum, Required: 3, Alive: 1}},
		&Error{Code: CodeWriteTimeout, Message: "wt", Detail: &WriteTimeout{Consistency: LocalQuorum, Received: 1, BlockFor: 2, WriteType: WriteTypeBatchLog}},
		&Error{Code: CodeWriteTimeout, Message: "cas", Detail: &WriteTimeout{Consistency: Serial, Received: 0, BlockFor: 2, WriteType: WriteTypeCAS, Contentions: contentions}},
		&Error{Code: CodeReadTimeout, Message: "rt", Detail: &ReadTimeout{Consistency: One, Received: 0, BlockFor: 1, DataPresent: 0x7f}},
		&Error{Code: CodeReadFailure, Message: "rf", Detail: &ReadFailure{Consistency: All, Received: 1, BlockFor: 3, NumFailures: numFailures, Reasons: reasons, DataPresent: 1}},
		&Error{Code: CodeWriteFailure, Message: "wf", Detail: &WriteFailure{Consistency: Two, Received: 0, BlockFor: 2, NumFailures: numFailures, Reasons: reasons, WriteType: WriteTypeCDC}},
		&Error{Code: CodeCASWriteUnknown, Message: "cwu", Detail: &CASWriteUnknown{Consistency: LocalSerial, Received: 1, BlockFor: 2}},
		&Error{Code: CodeFunctionFailure, Message: "ff", Detail: &FunctionFailure{Keyspace: "ks", Function: "f", ArgTypes: []string{}}},
		&Error{Code: CodeAlreadyExists, Message: "ae", Detail: &AlreadyExists{Keyspace: "ks"}},
		&Error{Code: CodeUnprepared, Message: "up", Detail: &Unprepared{ID: []byte{0xde, 0xad}}},
		&Error{Code: 0x7000, Message: "future"},
		&Error{Code: 0xffffffff, Message: "future", Unparsed: []byte{0, 1}},
	)
	for _, r := range sampleRows(v) {
		msgs = append(msgs, r)
	}
	return msgs
}

func TestResponsesRoundTrip(t *testing.T) {
	for _, v := range []Version{V4, V5} {
		for i, m := range respSamples(v) {
			t.Run(fmt.Sprintf("v%d/%d-%T", v, i, m), func(t *testing.T) {
				respRoundTrip(t, m, v)
				// And through a whole envelope with every response prefix.
				env := &Envelope{Version: v, Response: true, Stream: -1, Tracing: true, TracingID: [16]byte{1},
					Warnings: []string{"w"}, CustomPayload: map[string][]byte{"k": {1}}, Message: m}
				frame, err := AppendEnvelope(nil, env, nil)
				if err != nil {
					t.Fatal(err)
				}
				got, n, err := DecodeEnvelope(frame, nil)
				if err != nil || n != len(frame) {
					t.Fatalf("decode envelope: %v (%d of %d bytes)", err, n, len(frame))
				}
				if !reflect.DeepEqual(got, env) {
					t.Fatalf("envelope changed\n got %s\nwant %s", Describe(got), Describe(env))
				}
			})
		}
	}
}

// Layouts that differ between versions, checked byte by byte.
func TestErrorLayoutsByVersion(t *testing.T) {
	head := func(code ErrorCode) []byte {
		return append(int4(int32(code)), 0, 1, 'm')
	}
	reasons := []FailureReason{{Endpoint: netip.MustParseAddr("1.2.3.4"), Code: FailureTimeout}}
	tests := []struct {
		name string
		v    Version
		e    *Error
		tail []byte
	}{
		{"write timeout CAS v4 has no contentions", V4,
			&Error{Code: CodeWriteTimeout, Message: "m", Detail: &WriteTimeout{Consistency: Serial, Received: 1, BlockFor: 2, WriteType: WriteTypeCAS}},
			[]byte{0, 8, 0, 0, 0, 1, 0, 0, 0, 2, 0, 3, 'C', 'A', 'S'}},
		{"write timeout CAS v5 has contentions", V5,
			&Error{Code: CodeWriteTimeout, Message: "m", Detail: &WriteTimeout{Consistency: Serial, Received: 1, BlockFor: 2, WriteType: WriteTypeCAS, Contentions: 0x0102}},
			[]byte{0, 8, 0, 0, 0, 1, 0, 0, 0, 2, 0, 3, 'C', 'A', 'S', 1, 2}},
		{"write timeout CAS v5 without contentions, as Cassandra sometimes sends it", V5,
			&Error{Code: CodeWriteTimeout, Message: "m", Detail: &WriteTimeout{Consistency: Serial, Received: 1, BlockFor: 2, WriteType: WriteTypeCAS, NoContentions: true}},
			[]byte{0, 8, 0, 0, 0, 1, 0, 0, 0, 2, 0, 3, 'C', 'A', 'S'}},
		{"write timeout SIMPLE v5 has no contentions", V5,
			&Error{Code: CodeWriteTimeout, Message: "m", Detail: &WriteTimeout{Consistency: One, Received: 0, BlockFor: 1, WriteType: WriteTypeSimple}},
			[]byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 6, 'S', 'I', 'M', 'P', 'L', 'E'}},
		{"read failure v4 numfailures", V4,
			&Error{Code: CodeReadFailure, Message: "m", Detail: &ReadFailure{Consistency: Quorum, Received: 1, BlockFor: 2, NumFailures: 3, DataPresent: 1}},
			[]byte{0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 1}},
		{"read failure v5 reasonmap", V5,
			&Error{Code: CodeReadFailure, Message: "m", Detail: &ReadFailure{Consistency: Quorum, Received: 1, BlockFor: 2, NumFailures: 1, Reasons: reasons}},
			[]byte{0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 4, 1, 2, 3, 4, 0, 2, 0}},
		{"write failure v5 reasonmap", V5,
			&Error{Code: CodeWriteFailure, Message: "m", Detail: &WriteFailure{Consistency: One, Received: 0, BlockFor: 1, NumFailures: 1, Reasons: reasons, WriteType: WriteTypeView}},
			[]byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 4, 1, 2, 3, 4, 0, 2, 0, 4, 'V', 'I', 'E', 'W'}},
		{"cas write unknown", V5,
			&Error{Code: CodeCASWriteUnknown, Message: "m", Detail: &CASWriteUnknown{Consistency: Serial, Received: 1, BlockFor: 2}},
			[]byte{0, 8, 0, 0, 0, 1, 0, 0, 0, 2}},
		{"v3 error uses the v4 layout", V3,
			&Error{Code: CodeUnavailable, Message: "m", Detail: &Unavailable{Consistency: One, Required: 1, Alive: 0}},
			[]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := append(head(tt.e.Code), tt.tail...)
			got := respRoundTrip(t, tt.e, tt.v)
			if !bytes.Equal(got, want) {
				t.Fatalf("got  %x\nwant %x", got, want)
			}
		})
	}
	// A v5 failure encoded for v4 sends only the count of its reasons.
	e := &Error{Code: CodeWriteFailure, Message: "m", Detail: &WriteFailure{Reasons: reasons, WriteType: WriteTypeSimple}}
	b, err := e.AppendBody(nil, V4)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeMessage(OpError, V4, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if wf := got.(*Error).Detail.(*WriteFailure); wf.NumFailures != 1 || wf.Reasons != nil {
		t.Fatalf("v4 decode of a v5 failure: %+v", wf)
	}
}

func TestErrorMatching(t *testing.T) {
	server := &Error{Code: CodeUnavailable, Message: "Cannot achieve consistency level QUORUM",
		Detail: &Unavailable{Consistency: Quorum, Required: 2, Alive: 1}}
	if got, want := server.Error(), "cassandra error 0x1000 (Unavailable): Cannot achieve consistency level QUORUM"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := (&Error{Code: CodeInvalid, Message: "bad"}).Error(), "cassandra error 0x2200 (Invalid): bad"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := (&Error{Code: 0x4242, Message: "x"}).Error(), "cassandra error 0x4242 (unknown): x"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	wrapped := fmt.Errorf("query failed on host 10.0.0.1: %w", server)

	var fe *Error
	if !errors.As(wrapped, &fe) || fe != server {
		t.Fatalf("errors.As *Error: %v", fe)
	}
	var unavail *Unavailable
	if !errors.As(wrapped, &unavail) || unavail.Alive != 1 || unavail.Required != 2 {
		t.Fatalf("errors.As *Unavailable: %v", unavail)
	}
	var wt *WriteTimeout
	if errors.As(wrapped, &wt) {
		t.Fatal("an Unavailable matched *WriteTimeout")
	}

	// Every detail type is reachable with errors.As, from a decoded error.
	details := []ErrorDetail{&Unavailable{}, &WriteTimeout{WriteType: WriteTypeSimple}, &ReadTimeout{},
		&ReadFailure{}, &WriteFailure{WriteType: WriteTypeSimple}, &CASWriteUnknown{},
		&FunctionFailure{}, &AlreadyExists{}, &Unprepared{ID: []byte{1}}}
	for _, d := range details {
		body, err := (&Error{Code: d.errorCode(), Message: "m", Detail: d}).AppendBody(nil, V5)
		if err != nil {
			t.Fatal(err)
		}
		m, err := DecodeMessage(OpError, V5, body, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = fmt.Errorf("wrapped: %w", m.(*Error))
		target := reflect.New(reflect.TypeOf(d)) // a **Detail
		if !errors.As(err, target.Interface()) {
			t.Errorf("errors.As did not find %T", d)
		}
		if d.Error() == "" {
			t.Errorf("%T has an empty Error()", d)
		}
	}
	// Codes without detail unwrap to nothing.
	if errors.Unwrap(&Error{Code: CodeOverloaded}) != nil {
		t.Error("Unwrap of a detail-less error is not nil")
	}
	if got := (&ReadTimeout{DataPresent: 2}).DataReceived(); !got {
		t.Error("DataPresent 2 is not data received")
	}
}

func TestUnknownErrorCodeKeepsBytes(t *testing.T) {
	body := append(int4(0x1004), 0, 2, 'h', 'i', 0xca, 0xfe)
	m, err := DecodeMessage(OpError, V5, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := m.(*Error)
	if e.Code != 0x1004 || e.Message != "hi" || e.Detail != nil || !bytes.Equal(e.Unparsed, []byte{0xca, 0xfe}) {
		t.Fatalf("decoded %+v", e)
	}
	if e.Code.Known() || !CodeCASWriteUnknown.Known() {
		t.Fatal("Known")
	}
	again, err := e.AppendBody(nil, V5)
	if err != nil || !bytes.Equal(again, body) {
		t.Fatalf("re-encode %x, %v", again, err)
	}
}

func respWantDecodeError(t *testing.T, op Opcode, v Version, body []byte, msg, field string, offset int, is error) {
	t.Helper()
	_, err := DecodeMessage(op, v, body, nil)
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("got %v, want a *DecodeError", err)
	}
	if de.Message != msg || de.Field != field || de.Offset != offset {
		t.Fatalf("got message %q field %q offset %d, want %q %q %d (%v)", de.Message, de.Field, de.Offset, msg, field, offset, err)
	}
	if is != nil && !errors.Is(err, is) {
		t.Fatalf("%v does not wrap %v", err, is)
	}
}

func cat2(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func str(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }

func TestResponseDecodeErrors(t *testing.T) {
	rowsHead := func(flags, cols int32) []byte { return cat2(int4(2), int4(flags), int4(cols)) }
	tests := []struct {
		name   string
		op     Opcode
		v      Version
		body   []byte
		msg    string
		field  string
		offset int
		is     error
	}{
		{"unknown result kind", OpResult, V4, int4(6), "RESULT", "kind", 0, nil},
		{"negative result kind", OpResult, V5, int4(-1), "RESULT", "kind", 0, nil},
		{"unknown event type", OpEvent, V4, str("NODE_EXPLODED"), "EVENT", "event_type", 0, nil},
		{"unknown schema target", OpEvent, V4, cat2(str("SCHEMA_CHANGE"), str("CREATED"), str("INDEX"), str("ks")),
			"EVENT(SCHEMA_CHANGE)", "target", 24, nil},
		{"unknown schema target in result", OpResult, V5, cat2(int4(5), str("CREATED"), str("VIEW")),
			"RESULT(Schema_change)", "target", 13, nil},
		{"inet size 5", OpEvent, V4, cat2(str("STATUS_CHANGE"), str("UP"), []byte{5, 1, 2, 3, 4, 5}, int4(1)),
			"EVENT(STATUS_CHANGE)", "address", 19, nil},
		{"port out of range", OpEvent, V5, cat2(str("STATUS_CHANGE"), str("UP"), []byte{4, 1, 2, 3, 4}, int4(70000)),
			"EVENT(STATUS_CHANGE)", "address", 24, nil},
		{"negative column count", OpResult, V4, rowsHead(0, -1), "RESULT(Rows)", "columns_count", 8, nil},
		{"column count beyond the body", OpResult, V4, cat2(rowsHead(0, 1000), make([]byte, 40)), "RESULT(Rows)", "columns_count", 8, ErrTruncated},
		{"global column count beyond the body", OpResult, V4, cat2(rowsHead(1, 30), str("k"), str("t"), make([]byte, 100)), "RESULT(Rows)", "columns_count", 8, ErrTruncated},
		{"negative rows count", OpResult, V4, cat2(rowsHead(4, 1), int4(-1)), "RESULT(Rows)", "rows_count", 12, nil},
		{"global spec cut before the table", OpResult, V4, cat2(rowsHead(1, 0), str("k"), []byte{0}), "RESULT(Rows)", "global_table_spec.table", 15, ErrTruncated},
		{"rows count beyond the body", OpResult, V4, cat2(rowsHead(4, 2), int4(3), make([]byte, 20)), "RESULT(Rows)", "rows_count", 12, ErrTruncated},
		{"huge rows times columns", OpResult, V5, cat2(rowsHead(4, 0x7fffffff), int4(0x7fffffff), make([]byte, 8)), "RESULT(Rows)", "rows_count", 12, ErrTruncated},
		{"cell past the end", OpResult, V4, cat2(rowsHead(4, 2), int4(1), int4(4), int4(7), int4(9), []byte{1, 2}), "RESULT(Rows)", "rows_content", 24, ErrTruncated},
		{"unknown option id", OpResult, V4, cat2(rowsHead(1, 1), str("k"), str("t"), str("c"), []byte{0x00, 0x99}, int4(0)),
			"RESULT(Rows)", "col_spec[0].type", 21, nil},
		{"truncated nested option", OpResult, V4, cat2(rowsHead(1, 1), str("k"), str("t"), str("c"), []byte{0x00, 0x20, 0x00}),
			"RESULT(Rows)", "col_spec[0].type", 23, ErrTruncated},
		{"per-column name cut", OpResult, V4, cat2(rowsHead(0, 1), str("k"), str("t"), []byte{0, 5, 'a'}, make([]byte, 1)),
			"RESULT(Rows)", "col_spec[0].name", 20, ErrTruncated},
		{"paging state too long", OpResult, V4, cat2(rowsHead(2, 0), int4(100), int4(0)), "RESULT(Rows)", "paging_state", 16, ErrTruncated},
		{"negative pk count", OpResult, V4, cat2(int4(4), []byte{0, 0}, int4(0), int4(0), int4(-2)), "RESULT(Prepared)", "pk_count", 14, nil},
		{"pk count beyond the body", OpResult, V4, cat2(int4(4), []byte{0, 0}, int4(0), int4(0), int4(100), make([]byte, 10)), "RESULT(Prepared)", "pk_count", 14, ErrTruncated},
		{"prepared result metadata negative count", OpResult, V4, cat2(int4(4), []byte{0, 0}, int4(0), int4(0), int4(0), int4(4), int4(-3)),
			"RESULT(Prepared)", "result_metadata.columns_count", 22, nil},
		{"v5 prepared without result_metadata_id", OpResult, V5, cat2(int4(4), []byte{0, 1, 7}), "RESULT(Prepared)", "result_metadata_id", 7, ErrTruncated},
		{"reasonmap count beyond the body", OpError, V5, cat2(int4(0x1300), str(""), []byte{0, 1}, int4(0), int4(1), int4(50), make([]byte, 20)),
			"ERROR(Read_failure)", "reasonmap", 16, ErrTruncated},
		{"reasonmap negative count", OpError, V5, cat2(int4(0x1500), str(""), []byte{0, 1}, int4(0), int4(1), int4(-1)),
			"ERROR(Write_failure)", "reasonmap", 16, nil},
		{"reasonmap bad address size", OpError, V5, cat2(int4(0x1300), str(""), []byte{0, 1}, int4(0), int4(1), int4(1), []byte{6, 1, 2, 3, 4, 5, 6, 0, 0, 1}),
			"ERROR(Read_failure)", "reasonmap[0].endpoint", 20, nil},
		{"unavailable cut", OpError, V4, cat2(int4(0x1000), str("x"), []byte{0, 1}, int4(1)), "ERROR(Unavailable)", "alive", 13, ErrTruncated},
		{"RESULT in v3", OpResult, V3, int4(1), "RESULT", "version", 0, nil},
		{"EVENT in v6", OpEvent, 6, str(EventStatusChange), "EVENT", "version", 0, nil},
		{"ERROR in v2", OpError, 2, int4(0), "ERROR", "version", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			respWantDecodeError(t, tt.op, tt.v, tt.body, tt.msg, tt.field, tt.offset, tt.is)
		})
	}
}

func TestResponseVersionErrorsAreTyped(t *testing.T) {
	_, err := DecodeMessage(OpResult, V3, int4(1), nil)
	var uv *UnsupportedVersionError
	if !errors.As(err, &uv) || uv.Version != V3 {
		t.Fatalf("got %v", err)
	}
	// v3 reads an ERROR (what an old server answers a newer client with).
	m, err := DecodeMessage(OpError, V3, cat2(int4(0x000a), str("Invalid or unsupported protocol version (4)")), nil)
	if err != nil || m.(*Error).Code != CodeProtocolError {
		t.Fatalf("v3 error: %v %v", m, err)
	}
}

func respWantEncodeError(t *testing.T, m Message, v Version, field string) {
	t.Helper()
	dst := []byte("keep")
	out, err := m.AppendBody(dst, v)
	var ee *EncodeError
	if !errors.As(err, &ee) {
		t.Fatalf("got %v, want an *EncodeError", err)
	}
	if ee.Field != field {
		t.Fatalf("field %q, want %q (%v)", ee.Field, field, err)
	}
	if string(out) != "keep" {
		t.Fatalf("dst changed on error: %q", out)
	}
}

func TestResponseEncodeErrors(t *testing.T) {
	col := ColumnSpec{Keyspace: "k", Table: "t", Name: "c", Type: types.Native(types.Int)}
	other := ColumnSpec{Keyspace: "k", Table: "u", Name: "d", Type: types.Native(types.Int)}
	tests := []struct {
		name  string
		m     Message
		v     Version
		field string
	}{
		{"detail of another code", &Error{Code: CodeReadTimeout, Detail: &Unavailable{}}, V4, "detail"},
		{"missing detail", &Error{Code: CodeUnavailable}, V4, "detail"},
		{"unparsed on a known code", &Error{Code: CodeInvalid, Unparsed: []byte{1}}, V4, "unparsed"},
		{"contentions without CAS", &Error{Code: CodeWriteTimeout, Detail: &WriteTimeout{WriteType: WriteTypeSimple, Contentions: 1}}, V5, "contentions"},
		{"contentions with NoContentions", &Error{Code: CodeWriteTimeout, Detail: &WriteTimeout{WriteType: WriteTypeCAS, Contentions: 1, NoContentions: true}}, V5, "contentions"},
		{"contentions in v4", &Error{Code: CodeWriteTimeout, Detail: &WriteTimeout{WriteType: WriteTypeCAS, Contentions: 1}}, V4, "contentions"},
		{"numfailures disagree", &Error{Code: CodeReadFailure, Detail: &ReadFailure{NumFailures: 2, Reasons: []FailureReason{{Endpoint: netip.MustParseAddr("1.1.1.1")}}}}, V5, "numfailures"},
		{"v5 failures without reasons", &Error{Code: CodeReadFailure, Detail: &ReadFailure{NumFailures: 2}}, V5, "reasonmap"},
		{"invalid reason address", &Error{Code: CodeWriteFailure, Detail: &WriteFailure{Reasons: []FailureReason{{}}}}, V5, "reasonmap[0].endpoint"},
		{"count out of range", &Error{Code: CodeUnavailable, Detail: &Unavailable{Required: 1 << 40}}, V4, "required"},
		{"long message", &Error{Code: CodeInvalid, Message: strings.Repeat("x", 70000)}, V4, "message"},
		{"error in v6", &Error{Code: CodeInvalid}, 6, "version"},
		{"result in v3", &Void{}, V3, "version"},
		{"event in v3", &StatusChange{Change: StatusUp, Address: netip.MustParseAddrPort("1.1.1.1:1")}, V3, "version"},
		{"result metadata id in v4", &Prepared{ResultMetadataID: []byte{1}}, V4, "result_metadata_id"},
		{"new metadata id in v4", &Rows{Metadata: RowsMetadata{NewMetadataID: []byte{1}}}, V4, "new_metadata_id"},
		{"columns with no metadata", &Rows{Metadata: RowsMetadata{Flags: MetaNoMetadata, ColumnCount: 1, Columns: []ColumnSpec{col}}}, V4, "columns"},
		{"column count mismatch", &Rows{Metadata: RowsMetadata{ColumnCount: 2, Columns: []ColumnSpec{col}}}, V4, "columns_count"},
		{"negative column count", &Rows{Metadata: RowsMetadata{Flags: MetaNoMetadata, ColumnCount: -1}}, V4, "columns_count"},
		{"global spec with two tables", &Rows{Metadata: RowsMetadata{Flags: MetaGlobalTablesSpec, Columns: []ColumnSpec{col, other}}}, V4, "col_spec[1].table"},
		{"table spec without the global flag", &Rows{Metadata: RowsMetadata{TableSpec: TableSpec{"k", "t"}}}, V4, "global_table_spec"},
		{"table spec with no metadata", &Rows{Metadata: RowsMetadata{Flags: MetaNoMetadata | MetaGlobalTablesSpec, TableSpec: TableSpec{"k", "t"}}}, V4, "global_table_spec"},
		{"table spec of another table", &Rows{Metadata: RowsMetadata{Flags: MetaGlobalTablesSpec, TableSpec: TableSpec{"k", "u"}, Columns: []ColumnSpec{col}}}, V4, "global_table_spec"},
		{"prepared table spec without the flag", &Prepared{Params: PreparedMetadata{TableSpec: TableSpec{Table: "t"}}}, V4, "global_table_spec"},
		{"rows content without columns", &Rows{RowCount: 1, Content: int4(-1)}, V4, "rows_content"},
		{"nil column type", &Rows{Metadata: RowsMetadata{Columns: []ColumnSpec{{Name: "x"}}}}, V4, "col_spec[0].type"},
		{"prepared result column type", &Prepared{ResultMetadataID: []byte{}, Result: RowsMetadata{Columns: []ColumnSpec{{Name: "x"}}}}, V5, "result_metadata.col_spec[0].type"},
		{"rows content too short", &Rows{Metadata: RowsMetadata{Flags: MetaNoMetadata, ColumnCount: 2}, RowCount: 1, Content: int4(-1)}, V4, "rows_content"},
		{"rows content too long", &Rows{Metadata: RowsMetadata{Flags: MetaNoMetadata, ColumnCount: 1}, RowCount: 1, Content: cat2(int4(-1), int4(-1))}, V4, "rows_content"},
		{"negative rows", &Rows{Metadata: RowsMetadata{Flags: MetaNoMetadata, ColumnCount: 1}, RowCount: -1}, V4, "rows_count"},
		{"invalid event address", &TopologyChange{Change: TopologyNewNode}, V4, "address"},
		{"unknown schema target", &SchemaChangeEvent{SchemaChange{Target: "VIEW"}}, V4, "target"},
		{"keyspace change with a name", &SchemaChangeResult{SchemaChange{Target: TargetKeyspace, Keyspace: "k", Name: "n"}}, V4, "name"},
		{"table change with arg types", &SchemaChangeEvent{SchemaChange{Target: TargetTable, ArgTypes: []string{}}}, V5, "arg_types"},
		{"long authenticator", &Authenticate{Authenticator: strings.Repeat("a", 1<<16)}, V4, "authenticator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { respWantEncodeError(t, tt.m, tt.v, tt.field) })
	}
}

// Implied flags: a PagingState or NewMetadataID sets its flag when encoding.
func TestRowsMetadataImpliedFlags(t *testing.T) {
	rows := &Rows{Metadata: RowsMetadata{Flags: MetaNoMetadata, ColumnCount: 1, PagingState: []byte{7}, NewMetadataID: []byte{8}}}
	_ = rows.AppendRow(int4(1))
	body, err := rows.AppendBody(nil, V5)
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeMessage(OpResult, V5, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := m.(*Rows).Metadata
	if want := MetaNoMetadata | MetaHasMorePages | MetaMetadataChanged; got.Flags != want || !got.HasMorePages() {
		t.Fatalf("flags %v, want %v", got.Flags, want)
	}
	if !bytes.Equal(got.PagingState, []byte{7}) || !bytes.Equal(got.NewMetadataID, []byte{8}) {
		t.Fatalf("decoded %+v", got)
	}
	// v4 ignores flag 0x08 (it has no meaning there) but keeps it.
	body4 := cat2(int4(2), int4(int32(MetaNoMetadata|MetaMetadataChanged)), int4(1), int4(0))
	m4, err := DecodeMessage(OpResult, V4, body4, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := m4.AppendBody(nil, V4); !bytes.Equal(again, body4) {
		t.Fatalf("v4 re-encode %x, want %x", again, body4)
	}
}

func TestResultAndEventInterfaces(t *testing.T) {
	results := map[Result]ResultKind{&Void{}: ResultVoid, &Rows{}: ResultRows, &SetKeyspace{}: ResultSetKeyspace,
		&Prepared{}: ResultPrepared, &SchemaChangeResult{}: ResultSchemaChange}
	for r, k := range results {
		if r.ResultKind() != k || r.Opcode() != OpResult {
			t.Errorf("%T: kind %v opcode %v", r, r.ResultKind(), r.Opcode())
		}
	}
	events := map[Event]string{&TopologyChange{}: EventTopologyChange, &StatusChange{}: EventStatusChange, &SchemaChangeEvent{}: EventSchemaChange}
	for e, typ := range events {
		if e.EventType() != typ || e.Opcode() != OpEvent {
			t.Errorf("%T: type %v opcode %v", e, e.EventType(), e.Opcode())
		}
	}
	if ResultKind(9).String() != "result_kind(9)" || ResultRows.String() != "Rows" {
		t.Error("ResultKind.String")
	}
	if got := (MetaGlobalTablesSpec | MetaHasMorePages | 0x100).String(); got != "0x103 (GLOBAL_TABLES_SPEC|HAS_MORE_PAGES|0x100)" {
		t.Errorf("MetadataFlags.String() = %q", got)
	}
	if FailureCode(1).String() != "1 (READ_TOO_MANY_TOMBSTONES)" || FailureCode(77).String() != "77 (unknown)" {
		t.Error("FailureCode.String")
	}
}

// truncSamples are the samples whose every proper prefix must fail to
// decode. An Error with an unknown code is left out (its Unparsed tail
// absorbs whatever bytes there are), and so is a v5 CAS write timeout.
func truncSamples() []struct {
	v Version
	m Message
} {
	var out []struct {
		v Version
		m Message
	}
	for _, v := range []Version{V4, V5} {
		for _, m := range respSamples(v) {
			if e, ok := m.(*Error); ok && !e.Code.Known() {
				continue
			}
			// A v5 CAS write timeout cut before its <contentions> is the
			// form without contentions (TestErrorLayoutsByVersion).
			if e, ok := m.(*Error); ok && v >= V5 && e.Code == CodeWriteTimeout && e.Detail.(*WriteTimeout).WriteType == WriteTypeCAS {
				continue
			}
			out = append(out, struct {
				v Version
				m Message
			}{v, m})
		}
	}
	return out
}

func TestResponseTruncatedAtEveryOffset(t *testing.T) {
	for _, s := range truncSamples() {
		body, err := s.m.AppendBody(nil, s.v)
		if err != nil {
			t.Fatal(err)
		}
		for n := range len(body) {
			_, err := DecodeMessage(s.m.Opcode(), s.v, body[:n], nil)
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, ErrTruncated) {
				t.Fatalf("%T v%d truncated to %d of %d bytes: got %v, want a DecodeError wrapping ErrTruncated\n%s",
					s.m, s.v, n, len(body), err, DescribeMessage(s.m))
			}
			if de.Offset > n || de.Offset < 0 {
				t.Fatalf("%T v%d truncated to %d: error offset %d out of range", s.m, s.v, n, de.Offset)
			}
		}
	}
}

func TestResponseDecodeRespectsLimits(t *testing.T) {
	body := cat2(int4(0), int4(200), make([]byte, 200))
	lim := &Limits{MaxFrameSize: 100}
	_, err := DecodeMessage(OpAuthSuccess, V4, body[4:], lim)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("token over the limit: %v", err)
	}
	rows := cat2(int4(2), int4(int32(MetaHasMorePages|MetaNoMetadata)), int4(1), int4(200), make([]byte, 200), int4(0))
	if _, err := DecodeMessage(OpResult, V4, rows, lim); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("paging state over the limit: %v", err)
	}
}

func TestV4RejectsNativeDurationOption(t *testing.T) {
	// Rows metadata: global spec k.t, one column d of type list<duration>
	// with duration as option id 0x0015, which only v5 defines.
	body := []byte{0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 'k', 0, 1, 't', 0, 1, 'd', 0, 0x20, 0, 0x15, 0, 0, 0, 0}
	if _, err := DecodeMessage(OpResult, V5, body, nil); err != nil {
		t.Fatalf("v5: %v", err)
	}
	_, err := DecodeMessage(OpResult, V4, body, nil)
	var de *DecodeError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "0x0015") {
		t.Fatalf("v4: got %v, want an error about option id 0x0015", err)
	}
	// The same type given by its class names is fine in v4.
	list := []byte{0, 0}
	class := types.MarshalPackage + "ListType(" + types.DurationClass + ")"
	list = append(append(list, 0, byte(len(class))), class...)
	body = append(append([]byte{0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 'k', 0, 1, 't', 0, 1, 'd'}, list...), 0, 0, 0, 0)
	if _, err := DecodeMessage(OpResult, V4, body, nil); err != nil {
		t.Fatalf("v4 with class names: %v", err)
	}
}
