package query_test

import (
	"errors"
	"math/big"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/query"
	"github.com/cqlwire/cqlwire/types"
)

// enc encodes v as t, failing the test on error; nil gives a null cell.
func enc(t testing.TB, typ *types.Type, v any) []byte {
	t.Helper()
	if v == nil {
		return nil
	}
	b, null, err := types.Append([]byte{}, typ, v)
	if err != nil {
		t.Fatalf("encode %v as %v: %v", v, typ, err)
	}
	if null {
		return nil
	}
	return b
}

// makeRow builds a row from (name, type, value) triples.
func makeRow(t testing.TB, spec ...any) *query.Row {
	t.Helper()
	var cols []frame.ColumnSpec
	var cells [][]byte
	for i := 0; i+2 < len(spec); i += 3 {
		typ := spec[i+1].(*types.Type)
		cols = append(cols, col(spec[i].(string), typ))
		cells = append(cells, enc(t, typ, spec[i+2]))
	}
	var r query.Row
	r.Set(cols, cells)
	return &r
}

func TestRowAccessors(t *testing.T) {
	r := makeRow(t, "a", tInt, int32(1), "b", tText, nil)
	if r.Len() != 2 || len(r.Columns()) != 2 || r.Columns()[1].Name != "b" {
		t.Fatalf("Len %d Columns %v", r.Len(), r.Columns())
	}
	if !reflect.DeepEqual(r.Bytes(0), []byte{0, 0, 0, 1}) || r.Bytes(1) != nil {
		t.Errorf("Bytes: %x %x", r.Bytes(0), r.Bytes(1))
	}
	if r.Bytes(-1) != nil || r.Bytes(2) != nil {
		t.Error("Bytes out of range is not nil")
	}
	var zero query.Row
	if zero.Len() != 0 || zero.Scan() != nil {
		t.Error("zero Row")
	}
	var nilRow *query.Row
	if nilRow.Len() != 0 || nilRow.Bytes(0) != nil || nilRow.Scan() == nil {
		t.Error("nil Row")
	}
}

func TestScanKinds(t *testing.T) {
	ts := time.Date(2023, 1, 2, 3, 4, 5, 6e6, time.UTC)
	u := types.UUIDValue{0: 1, 15: 2}
	dec, _ := types.ParseDecimal("-1.50")
	tests := []struct {
		name string
		typ  *types.Type
		v    any // value encoded into the cell (nil: null)
		dest any // pointer to decode into
		want any // what *dest must be after
	}{
		{"int", tInt, int32(-5), new(int32), int32(-5)},
		{"int into int", tInt, int32(-5), new(int), -5},
		{"bigint", tBigint, int64(1) << 50, new(int64), int64(1) << 50},
		{"smallint", types.Native(types.Smallint), int16(-2), new(int16), int16(-2)},
		{"tinyint into int64", types.Native(types.Tinyint), int8(3), new(int64), int64(3)},
		{"varint", types.Native(types.Varint), big.NewInt(99), new(*big.Int), big.NewInt(99)},
		{"double", tDouble, 3.25, new(float64), 3.25},
		{"float", tFloat, float32(1.5), new(float32), float32(1.5)},
		{"float into float64", tFloat, float32(1.5), new(float64), 1.5},
		{"boolean", tBool, true, new(bool), true},
		{"text", tText, "héllo", new(string), "héllo"},
		{"ascii", types.Native(types.Ascii), "abc", new(string), "abc"},
		{"blob", tBlob, []byte{1, 2}, new([]byte), []byte{1, 2}},
		{"timestamp", types.Native(types.Timestamp), ts, new(time.Time), ts},
		{"date", types.Native(types.Date), ts, new(time.Time), time.Date(2023, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"time", types.Native(types.Time), 5 * time.Second, new(time.Duration), 5 * time.Second},
		{"duration", types.Native(types.Duration), types.DurationValue{Days: 1}, new(types.DurationValue), types.DurationValue{Days: 1}},
		{"uuid", types.Native(types.UUID), u, new(types.UUIDValue), u},
		{"inet", types.Native(types.Inet), netip.MustParseAddr("1.2.3.4"), new(netip.Addr), netip.MustParseAddr("1.2.3.4")},
		{"decimal", types.Native(types.Decimal), dec, new(types.DecimalValue), dec},
		{"list", types.ListOf(tText), []string{"a", "b"}, new([]string), []string{"a", "b"}},
		{"set", types.SetOf(tInt), []int32{1}, new([]int32), []int32{1}},
		{"map", types.MapOf(tText, tInt), map[string]int32{"k": 2}, new(map[string]int32), map[string]int32{"k": 2}},
		{"tuple", types.TupleOf(tInt, tText), []any{int32(1), "x"}, new(any), []any{int32(1), "x"}},
		{"vector", tVec3, []float32{1, 2, 3}, new([]float32), []float32{1, 2, 3}},
		{"any int", tInt, int32(4), new(any), int32(4)},
		{"null into pointer-to-pointer", tInt, nil, ptrTo(ptrTo(int32(9))), (*int32)(nil)},
		{"value into pointer-to-pointer", tInt, int32(9), new(*int32), ptrTo(int32(9))},
		{"null into int", tInt, nil, ptrTo(int32(9)), int32(0)},
		{"null into any", tText, nil, ptrTo(any("x")), any(nil)},
		{"null into string", tText, nil, ptrTo("x"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := makeRow(t, "c", tt.typ, tt.v)
			if err := r.Scan(tt.dest); err != nil {
				t.Fatal(err)
			}
			got := reflect.ValueOf(tt.dest).Elem().Interface()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestScanCopies(t *testing.T) {
	r := makeRow(t, "s", tText, "abc", "b", tBlob, []byte{7})
	var s string
	var b []byte
	if err := r.Scan(&s, &b); err != nil {
		t.Fatal(err)
	}
	r.Bytes(0)[0] = 'X' // the session reuses the response buffer
	r.Bytes(1)[0] = 0
	if s != "abc" || b[0] != 7 {
		t.Errorf("scanned values alias the row: %q %v", s, b)
	}
}

func TestScanSkipAndErrors(t *testing.T) {
	r := makeRow(t, "a", tInt, int32(1), "name", tText, "x", "c", tDouble, 2.0)
	var a int32
	var c float64
	if err := r.Scan(&a, nil, &c); err != nil || a != 1 || c != 2 {
		t.Fatalf("skip: %v %d %v", err, a, c)
	}

	err := r.Scan(&a, &c)
	var se *query.ScanError
	if !errors.As(err, &se) || se.Index != -1 || !errors.Is(err, query.ErrColumnCount) ||
		!strings.Contains(err.Error(), "2 destinations for 3 columns") {
		t.Errorf("count mismatch: %v", err)
	}
	if err := r.Scan(&a, &c, &c, &c); err == nil || !strings.Contains(err.Error(), "4 destinations for 3 columns") {
		t.Errorf("count mismatch: %v", err)
	}

	var n int32
	err = r.Scan(nil, &n, nil)
	if !errors.As(err, &se) || se.Index != 1 || se.Column != "name" || se.Type != tText {
		t.Fatalf("wrong type: %v", err)
	}
	if want := `query: scan column 1 "name" (varchar): types: cannot decode`; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message %q, want prefix %q", err, want)
	}
	var ce *types.CodecError
	if !errors.As(err, &ce) {
		t.Errorf("%v does not wrap a *types.CodecError", err)
	}

	if err := r.Scan(a, nil, nil); err == nil || !strings.Contains(err.Error(), "non-nil pointer") {
		t.Errorf("non-pointer: %v", err)
	}
	if err := r.Scan((*int32)(nil), nil, nil); err == nil {
		t.Error("nil pointer: no error")
	}

	// Rows without metadata (columns unknown) fail clearly, not panic.
	var bare query.Row
	bare.Set(nil, [][]byte{{0, 0, 0, 1}})
	if err := bare.Scan(&a); err == nil || !strings.Contains(err.Error(), "no type") {
		t.Errorf("no metadata: %v", err)
	}
	// A cell that does not fit its type.
	bad := makeRow(t, "a", tInt, int32(1))
	bad.Set(bad.Columns(), [][]byte{{1, 2}})
	if err := bad.Scan(&a); err == nil || !strings.Contains(err.Error(), `column 0 "a" (int)`) {
		t.Errorf("short cell: %v", err)
	}
}

func TestScanVectorReuse(t *testing.T) {
	r := makeRow(t, "v", tVec3, []float32{1, 2, 3})
	dst := make([]float32, 0, 3)
	first := &dst[:1][0]
	allocs := testing.AllocsPerRun(100, func() {
		if err := r.Scan(&dst); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocs per Scan into *[]float32 with capacity, want 0", allocs)
	}
	if !reflect.DeepEqual(dst, []float32{1, 2, 3}) || &dst[0] != first {
		t.Errorf("got %v (reused: %v)", dst, &dst[0] == first)
	}
}

func TestScanAllocs(t *testing.T) {
	r := makeRow(t, "a", tInt, int32(1), "b", tBigint, int64(2), "c", tDouble, 3.0)
	var a int32
	var b int64
	var c float64
	if n := testing.AllocsPerRun(100, func() { _ = r.Scan(&a, &b, &c) }); n != 0 {
		t.Errorf("int/bigint/double: %v allocs, want 0", n)
	}
	var ok bool
	var f float32
	var i int
	r2 := makeRow(t, "a", tBool, true, "b", tFloat, float32(1), "c", tInt, int32(5))
	if n := testing.AllocsPerRun(100, func() { _ = r2.Scan(&ok, &f, &i) }); n != 0 {
		t.Errorf("boolean/float/int into int: %v allocs, want 0", n)
	}
	r3 := makeRow(t, "a", tInt, int32(1), "b", tText, "hello", "c", tDouble, 3.0)
	var s string
	if n := testing.AllocsPerRun(100, func() { _ = r3.Scan(&a, &s, &c) }); n != 1 {
		t.Errorf("with a text column: %v allocs, want 1", n)
	}
}

func TestMap(t *testing.T) {
	r := makeRow(t, "id", tInt, int32(1), "name", tText, "x", "gone", tDouble, nil, "tags", types.SetOf(tText), []string{"a"})
	m, err := r.Map()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": int32(1), "name": "x", "gone": nil, "tags": []string{"a"}}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Map = %#v, want %#v", m, want)
	}
	m2 := map[string]any{"other": 5, "id": "old"}
	if err := r.MapInto(m2); err != nil {
		t.Fatal(err)
	}
	if m2["other"] != 5 || m2["id"] != int32(1) || len(m2) != 5 {
		t.Errorf("MapInto = %#v", m2)
	}
	if err := r.MapInto(nil); err == nil {
		t.Error("MapInto(nil): no error")
	}
	bad := makeRow(t, "a", tInt, int32(1))
	bad.Set(bad.Columns(), [][]byte{{1}})
	if _, err := bad.Map(); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("bad cell: %v", err)
	}
}
