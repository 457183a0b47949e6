package query_test

import (
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/query"
	"github.com/cqlwire/cqlwire/types"
)

func col(name string, t *types.Type) frame.ColumnSpec {
	return frame.ColumnSpec{Keyspace: "ks", Table: "t", Name: name, Type: t}
}

var (
	tInt    = types.Native(types.Int)
	tBigint = types.Native(types.Bigint)
	tText   = types.Native(types.Varchar)
	tBlob   = types.Native(types.Blob)
	tDouble = types.Native(types.Double)
	tFloat  = types.Native(types.Float)
	tBool   = types.Native(types.Boolean)
	tVec3   = types.VectorOf(types.Native(types.Float), 3)
)

// checkValue decodes v's bytes with typ into a new value of want's type and
// compares.
func checkValue(t *testing.T, what string, typ *types.Type, v frame.Value, want any) {
	t.Helper()
	if v.Unset {
		t.Fatalf("%s: unset, want %v", what, want)
	}
	if want == nil {
		if !v.IsNull() {
			t.Fatalf("%s: got %x, want null", what, v.Bytes)
		}
		return
	}
	got := reflect.New(reflect.TypeOf(want))
	if err := types.Decode(typ, v.Bytes, got.Interface()); err != nil {
		t.Fatalf("%s: decode %x as %v: %v", what, v.Bytes, typ, err)
	}
	if !reflect.DeepEqual(got.Elem().Interface(), want) {
		t.Fatalf("%s: decoded %#v, want %#v", what, got.Elem().Interface(), want)
	}
}

// within reports whether b lies inside the backing array of buf.
func within(b, buf []byte) bool {
	if len(b) == 0 {
		return true
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= start && p+uintptr(len(b)) <= start+uintptr(len(buf))
}

func TestBindPositional(t *testing.T) {
	cols := []frame.ColumnSpec{
		col("id", tInt), col("n", tBigint), col("name", tText), col("data", tBlob),
		col("score", tDouble), col("ratio", tFloat), col("ok", tBool), col("vec", tVec3),
		col("tags", types.ListOf(tText)),
	}
	values := []any{int32(7), int64(1) << 40, "héllo", []byte{1, 2, 3}, 2.5, float32(0.25), true,
		[]float32{1, 2, 3}, []string{"a", "b"}}
	want := []any{int32(7), int64(1) << 40, "héllo", []byte{1, 2, 3}, 2.5, float32(0.25), true,
		[]float32{1, 2, 3}, []string{"a", "b"}}
	// A small buffer forces the encoding to move while binding: the values
	// must alias the final buffer anyway.
	buf := make([]byte, 2, 4)
	buf[0], buf[1] = 0xAA, 0xBB
	buf, vals, err := query.Bind(buf, nil, cols, values)
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != len(cols) {
		t.Fatalf("%d values, want %d", len(vals), len(cols))
	}
	if buf[0] != 0xAA || buf[1] != 0xBB {
		t.Fatalf("prefix of buf overwritten: %x", buf[:2])
	}
	total := 0
	for i, v := range vals {
		checkValue(t, cols[i].Name, cols[i].Type, v, want[i])
		if !within(v.Bytes, buf) {
			t.Errorf("%s: Bytes do not alias the returned buffer", cols[i].Name)
		}
		if cap(v.Bytes) != len(v.Bytes) {
			t.Errorf("%s: cap %d > len %d: appending would overwrite the next value", cols[i].Name, cap(v.Bytes), len(v.Bytes))
		}
		total += len(v.Bytes)
	}
	if len(buf) != 2+total {
		t.Errorf("buf holds %d bytes, want %d", len(buf), 2+total)
	}
}

func TestBindNullUnsetEmpty(t *testing.T) {
	cols := []frame.ColumnSpec{col("a", tInt), col("b", tText), col("c", tText), col("d", tBlob),
		col("e", tInt), col("f", tInt), col("g", tBlob)}
	var nilPtr *int32
	values := []any{nil, "", query.Unset, []byte(nil), nilPtr, types.UnsetValue{}, []byte{}}
	for _, buf := range [][]byte{nil, {}, make([]byte, 0, 64)} {
		_, vals, err := query.Bind(buf, nil, cols, values)
		if err != nil {
			t.Fatal(err)
		}
		if !vals[0].IsNull() || vals[0].Unset {
			t.Errorf("nil: got %+v, want null", vals[0])
		}
		if vals[1].Bytes == nil || len(vals[1].Bytes) != 0 {
			t.Errorf(`"": got %+v, want empty non-null`, vals[1])
		}
		if !vals[2].Unset {
			t.Errorf("Unset: got %+v, want unset", vals[2])
		}
		if !vals[3].IsNull() {
			t.Errorf("nil []byte: got %+v, want null", vals[3])
		}
		if !vals[4].IsNull() {
			t.Errorf("nil *int32: got %+v, want null", vals[4])
		}
		if !vals[5].Unset {
			t.Errorf("UnsetValue{}: got %+v, want unset", vals[5])
		}
		if vals[6].Bytes == nil || len(vals[6].Bytes) != 0 {
			t.Errorf("[]byte{}: got %+v, want empty non-null", vals[6])
		}
	}
}

func TestBindNamed(t *testing.T) {
	cols := []frame.ColumnSpec{col("id", tInt), col("Name", tText), col("v", tBigint)}
	tests := []struct {
		name   string
		values []any
		want   []any // decoded per column
	}{
		{"exact", []any{query.Named("id", int32(1)), query.Named("Name", "x"), query.Named("v", int64(3))},
			[]any{int32(1), "x", int64(3)}},
		{"any order", []any{query.Named("v", int64(3)), query.Named("Name", "x"), query.Named("id", int32(1))},
			[]any{int32(1), "x", int64(3)}},
		{"case-insensitive", []any{query.Named("ID", int32(1)), query.Named("name", "x"), query.Named("V", int64(3))},
			[]any{int32(1), "x", int64(3)}},
		{"null and unset", []any{query.Named("id", nil), query.Named("Name", "x"), query.Named("v", types.Unset)},
			[]any{nil, "x", "unset"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, vals, err := query.Bind(nil, nil, cols, tt.values)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tt.want {
				if w == "unset" {
					if !vals[i].Unset {
						t.Errorf("%s: got %+v, want unset", cols[i].Name, vals[i])
					}
					continue
				}
				checkValue(t, cols[i].Name, cols[i].Type, vals[i], w)
			}
		})
	}
}

func TestBindNamedExactBeatsFold(t *testing.T) {
	// Two markers that differ only in case (quoted identifiers): each gets
	// its exact match.
	cols := []frame.ColumnSpec{col("a", tInt), col("A", tInt)}
	_, vals, err := query.Bind(nil, nil, cols, []any{query.Named("A", int32(2)), query.Named("a", int32(1))})
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "a", tInt, vals[0], int32(1))
	checkValue(t, "A", tInt, vals[1], int32(2))
}

func TestBindNamedRepeatedMarker(t *testing.T) {
	// A named marker used twice appears twice in the metadata: one value
	// serves both.
	cols := []frame.ColumnSpec{col("x", tInt), col("y", tText), col("x", tInt)}
	_, vals, err := query.Bind(nil, nil, cols, []any{query.Named("x", int32(5)), query.Named("y", "s")})
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "x0", tInt, vals[0], int32(5))
	checkValue(t, "x2", tInt, vals[2], int32(5))
}

func TestBindErrors(t *testing.T) {
	cols := []frame.ColumnSpec{col("id", tInt), col("name", tText)}
	tests := []struct {
		name    string
		cols    []frame.ColumnSpec
		values  []any
		is      error
		index   int
		errName string
		msg     []string // substrings of the message
	}{
		{"too few", cols, []any{int32(1)}, query.ErrValueCount, -1, "",
			[]string{"query: bind: ", "1 values for 2 bind markers"}},
		{"too many", cols, []any{int32(1), "a", "b"}, query.ErrValueCount, -1, "",
			[]string{"3 values for 2 bind markers"}},
		{"none", cols, nil, query.ErrValueCount, -1, "", []string{"0 values for 2"}},
		{"wrong type", cols, []any{"seven", "a"}, nil, 0, "id",
			[]string{`query: bind marker 0 "id" (int): `, "cannot encode string", "as int"}},
		{"wrong type second", cols, []any{int32(1), 12.5}, nil, 1, "name",
			[]string{`bind marker 1 "name" (varchar)`, "float64"}},
		{"out of range", []frame.ColumnSpec{col("t", types.Native(types.Tinyint))}, []any{300}, types.ErrOutOfRange, 0, "t",
			[]string{`bind marker 0 "t" (tinyint)`, "300"}},
		{"vector dimension", []frame.ColumnSpec{col("vec", tVec3)}, []any{[]float32{1, 2}}, nil, 0, "vec",
			[]string{`"vec" (vector<float, 3>)`, "3 elements"}},
		{"mixed", cols, []any{query.Named("id", 1), "x"}, query.ErrMixedValues, -1, "",
			[]string{"mix named and positional", "1 of 2 values are named"}},
		{"missing", cols, []any{query.Named("id", 1)}, query.ErrMissingValue, 1, "name",
			[]string{`bind marker 1 "name" (varchar): no value`}},
		{"duplicate exact", cols, []any{query.Named("id", 1), query.Named("id", 2), query.Named("name", "x")}, query.ErrDuplicateValue, 0, "id",
			[]string{`bind marker 0 "id"`, `2 values are named "id"`}},
		{"duplicate fold", cols, []any{query.Named("ID", 1), query.Named("Id", 2), query.Named("name", "x")}, query.ErrDuplicateValue, 0, "id",
			[]string{`"ID" and "Id" both match`}},
		{"fold duplicates exact", cols, []any{query.Named("id", 1), query.Named("ID", 2), query.Named("name", "x")}, query.ErrDuplicateValue, 0, "id",
			[]string{`value "ID" matches it without regard to case`}},
		{"unknown name", cols, []any{query.Named("id", 1), query.Named("name", "x"), query.Named("zip", 3)}, query.ErrUnknownName, -1, "zip",
			[]string{`query: bind "zip": no bind marker has this name (markers: id, name)`}},
		{"no type", []frame.ColumnSpec{{Name: "x"}}, []any{1}, nil, 0, "x", []string{"no type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := append(make([]byte, 0, 8), 0xFF)
			gotBuf, vals, err := query.Bind(buf, make([]frame.Value, 0, 4), tt.cols, tt.values)
			if err == nil {
				t.Fatalf("no error; values %+v", vals)
			}
			var be *query.BindError
			if !errors.As(err, &be) {
				t.Fatalf("%T %v, want *BindError", err, err)
			}
			if be.Index != tt.index || be.Name != tt.errName {
				t.Errorf("Index %d Name %q, want %d %q", be.Index, be.Name, tt.index, tt.errName)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("%v is not %v", err, tt.is)
			}
			for _, m := range tt.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q lacks %q", err, m)
				}
			}
			if len(gotBuf) != 1 || gotBuf[0] != 0xFF {
				t.Errorf("buf after error %x, want the original ff", gotBuf)
			}
			if len(vals) != 0 {
				t.Errorf("%d values after error", len(vals))
			}
		})
	}
}

func TestBindCodecErrorWrapped(t *testing.T) {
	_, _, err := query.Bind(nil, nil, []frame.ColumnSpec{col("id", tInt)}, []any{"x"})
	var ce *types.CodecError
	if !errors.As(err, &ce) {
		t.Fatalf("%v does not wrap a *types.CodecError", err)
	}
	if ce.CQLType != "int" || ce.GoType != "string" {
		t.Errorf("codec error %+v", ce)
	}
}

func TestBindTypedUsesMarkerType(t *testing.T) {
	// The prepared marker's type is authoritative.
	_, vals, err := query.Bind(nil, nil, []frame.ColumnSpec{col("n", tBigint)}, []any{query.Typed(tInt, 5)})
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "n", tBigint, vals[0], int64(5))
}

func TestBindReuse(t *testing.T) {
	cols := []frame.ColumnSpec{col("a", tText), col("b", tInt)}
	buf, dst, err := query.Bind(nil, nil, cols, []any{"first", int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	buf, dst, err = query.Bind(buf[:0], dst, cols, []any{"second", int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(dst) != 2 {
		t.Fatalf("%d values", len(dst))
	}
	checkValue(t, "a", tText, dst[0], "second")
	checkValue(t, "b", tInt, dst[1], int32(2))
	if !within(dst[0].Bytes, buf) {
		t.Error("values do not alias the buffer")
	}
}

func TestBindSimple(t *testing.T) {
	u := types.UUIDValue{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123e6, time.UTC)
	dec, _ := types.ParseDecimal("12.345")
	seven := int32(7)
	type myInt int64
	tests := []struct {
		v       any
		cqlType string
		want    any // decoded back into a value of this type
	}{
		{true, "boolean", true},
		{int8(-3), "tinyint", int8(-3)},
		{int16(300), "smallint", int16(300)},
		{int32(70000), "int", int32(70000)},
		{int(1 << 40), "bigint", int64(1 << 40)},
		{int64(-1), "bigint", int64(-1)},
		{uint32(4000000000), "bigint", int64(4000000000)},
		{uint8(200), "smallint", int16(200)},
		{uint16(60000), "int", int32(60000)},
		{uint64(1 << 62), "bigint", int64(1 << 62)},
		{myInt(9), "bigint", int64(9)},
		{big.NewInt(-12345678901234), "varint", big.NewInt(-12345678901234)},
		{float32(1.5), "float", float32(1.5)},
		{2.25, "double", 2.25},
		{"text", "varchar", "text"},
		{[]byte{0, 1}, "blob", []byte{0, 1}},
		{[4]byte{9, 8, 7, 6}, "blob", []byte{9, 8, 7, 6}},
		{ts, "timestamp", ts},
		{90 * time.Second, "duration", types.DurationValue{Nanoseconds: 90e9}},
		{types.DurationValue{Months: 1, Days: 2, Nanoseconds: 3}, "duration", types.DurationValue{Months: 1, Days: 2, Nanoseconds: 3}},
		{u, "uuid", u},
		{[16]byte(u), "uuid", u},
		{netip.MustParseAddr("10.0.0.1"), "inet", netip.MustParseAddr("10.0.0.1")},
		{net.ParseIP("::1"), "inet", netip.MustParseAddr("::1")},
		{dec, "decimal", dec},
		{[]float32{1, 2}, "list<float>", []float32{1, 2}},
		{[]int32{1, 2}, "list<int>", []int32{1, 2}},
		{[]string{"a"}, "list<varchar>", []string{"a"}},
		{[2]int64{5, 6}, "list<bigint>", []int64{5, 6}},
		{[][]int8{{1}, {2, 3}}, "list<list<tinyint>>", [][]int8{{1}, {2, 3}}},
		{map[string]int32{"a": 1}, "map<varchar, int>", map[string]int32{"a": 1}},
		{map[int32]struct{}{4: {}}, "set<int>", map[int32]struct{}{4: {}}},
		{[]any{"x", "y"}, "list<varchar>", []string{"x", "y"}},
		{map[string]any{"k": 1.5}, "map<varchar, double>", map[string]float64{"k": 1.5}},
		{&seven, "int", int32(7)},
		{[]*int32{&seven}, "list<int>", []int32{7}},
	}
	for _, tt := range tests {
		name := reflect.TypeOf(tt.v).String()
		t.Run(name, func(t *testing.T) {
			typ, err := query.InferType(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if typ.String() != tt.cqlType {
				t.Fatalf("InferType = %v, want %s", typ, tt.cqlType)
			}
			_, vals, names, err := query.BindSimple(nil, nil, []any{tt.v})
			if err != nil {
				t.Fatal(err)
			}
			if names != nil {
				t.Errorf("names %v for positional values", names)
			}
			checkValue(t, name, typ, vals[0], tt.want)
		})
	}
}

func TestBindSimpleNullUnsetTyped(t *testing.T) {
	var nilPtr *string
	vec := []float32{1, 2, 3}
	_, vals, _, err := query.BindSimple(nil, nil, []any{nil, nilPtr, types.Unset, []int(nil),
		query.Typed(tVec3, vec), query.Typed(types.Native(types.Timestamp), int64(1000)), query.Typed(tText, nil), ""})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if !vals[i].IsNull() || vals[i].Unset {
			t.Errorf("value %d: %+v, want null", i, vals[i])
		}
	}
	if !vals[2].Unset {
		t.Errorf("Unset: %+v", vals[2])
	}
	if !vals[3].IsNull() {
		t.Errorf("nil slice: %+v, want null", vals[3])
	}
	if len(vals[4].Bytes) != 12 {
		t.Errorf("vector<float, 3> took %d bytes, want 12 (no count, no lengths)", len(vals[4].Bytes))
	}
	checkValue(t, "vector", tVec3, vals[4], vec)
	checkValue(t, "timestamp", types.Native(types.Timestamp), vals[5], time.UnixMilli(1000).UTC())
	if !vals[6].IsNull() {
		t.Errorf("Typed nil: %+v, want null", vals[6])
	}
	if vals[7].Bytes == nil {
		t.Errorf(`"": null, want empty`)
	}
}

func TestBindSimpleNamed(t *testing.T) {
	_, vals, names, err := query.BindSimple(nil, nil, []any{query.Named("a", 1), query.Named("b", "x")})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(names, []string{"a", "b"}) {
		t.Errorf("names %q", names)
	}
	checkValue(t, "a", tBigint, vals[0], int64(1))
	checkValue(t, "b", tText, vals[1], "x")
}

func TestBindSimpleErrors(t *testing.T) {
	type point struct{ X, Y int }
	tests := []struct {
		name   string
		values []any
		is     error
		index  int
		msg    []string
	}{
		{"struct", []any{1, point{1, 2}}, query.ErrCannotInfer, 1,
			[]string{"query: bind marker 1: ", "query_test.point", "tuple or a user-defined type", "query.Typed"}},
		{"chan", []any{make(chan int)}, query.ErrCannotInfer, 0, []string{"chan int", "query.Typed"}},
		{"nested struct", []any{[]point{{1, 2}}}, query.ErrCannotInfer, 0, []string{"query_test.point in []query_test.point"}},
		{"mixed any", []any{[]any{1, "x"}}, query.ErrCannotInfer, 0, []string{"different types (bigint and varchar)"}},
		{"empty any", []any{[]any{}}, query.ErrCannotInfer, 0, []string{"no non-null element"}},
		{"mixed named", []any{query.Named("a", 1), 2}, query.ErrMixedValues, -1, []string{"mix named"}},
		{"duplicate name", []any{query.Named("a", 1), query.Named("a", 2)}, query.ErrDuplicateValue, 1, []string{`values 0 and 1 are both named "a"`}},
		{"encode", []any{"ok", query.Typed(tInt, "nope")}, nil, 1, []string{"bind marker 1 (int)", "cannot encode string"}},
		{"typed nil type", []any{query.Typed(nil, 1)}, nil, 0, []string{"nil type"}},
		{"invalid utf8", []any{"\xff"}, nil, 0, []string{"(varchar)", "UTF-8"}},
		{"uint64 overflow", []any{uint64(1 << 63)}, types.ErrOutOfRange, 0, []string{"(bigint)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf, vals, names, err := query.BindSimple([]byte{0xEE}, nil, tt.values)
			if err == nil {
				t.Fatalf("no error: %+v", vals)
			}
			var be *query.BindError
			if !errors.As(err, &be) {
				t.Fatalf("%T %v, want *BindError", err, err)
			}
			if be.Index != tt.index {
				t.Errorf("Index %d, want %d", be.Index, tt.index)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("%v is not %v", err, tt.is)
			}
			for _, m := range tt.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q lacks %q", err, m)
				}
			}
			if len(buf) != 1 || len(vals) != 0 || names != nil {
				t.Errorf("after error: buf %x, %d values, names %v", buf, len(vals), names)
			}
		})
	}
}

func TestInferType(t *testing.T) {
	type named string
	type list []named
	type self []self
	var nilMap map[string]int
	var nilIP net.IP
	var nilBig *big.Int
	tests := []struct {
		v    any
		want string // "" for a nil type
		err  string
	}{
		{nil, "", ""},
		{types.Unset, "", ""},
		{&types.Unset, "", ""},
		{nilMap, "", ""},
		{nilIP, "", ""},
		{nilBig, "", ""},
		{[]float32(nil), "", ""},
		{named("x"), "varchar", ""},
		{list{"a"}, "list<varchar>", ""},
		{map[named]struct{}{"a": {}}, "set<varchar>", ""},
		{map[any]struct{}{int8(1): {}}, "set<tinyint>", ""},
		{map[string][]any{"a": {1.5}}, "map<varchar, list<double>>", ""},
		{[]any{nil, int16(1)}, "list<smallint>", ""},
		{[]any{[]any{1}}, "list<list<bigint>>", ""},
		{big.Int{}, "varint", ""},
		{query.Typed(tVec3, nil), "vector<float, 3>", ""},
		{self{}, "", "nested too deeply"},
		{complex(1, 2), "", "complex128"},
		{func() {}, "", "func()"},
		{struct{}{}, "", "struct {}"},
		{query.Named("a", 1), "", "query.NamedValue"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%T", tt.v), func(t *testing.T) {
			got, err := query.InferType(tt.v)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, %v; want an error containing %q", got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := ""
			if got != nil {
				s = got.String()
			}
			if s != tt.want {
				t.Errorf("got %q, want %q", s, tt.want)
			}
		})
	}
}

func TestInferTypeCycle(t *testing.T) {
	// A []any that contains itself must fail, not recurse forever.
	s := make([]any, 1)
	s[0] = s
	if _, err := query.InferType(s); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Fatalf("got %v", err)
	}
	type p *p
	var x p
	x = &x
	if _, err := query.InferType(x); err == nil {
		t.Fatal("self-pointer: no error")
	}
}

// shrinker is a broken Marshaler: it drops what it was given.
type shrinker struct{}

func (shrinker) AppendCQL(dst []byte, t *types.Type) ([]byte, bool, error) {
	return dst[:0], false, nil
}

func TestBindBrokenMarshaler(t *testing.T) {
	cols := []frame.ColumnSpec{col("a", tText), col("b", tInt)}
	_, _, err := query.Bind(nil, nil, cols, []any{"abc", shrinker{}})
	if err == nil || !strings.Contains(err.Error(), `bind marker 1 "b" (int): the value's AppendCQL`) {
		t.Errorf("got %v", err)
	}
	_, _, _, err = query.BindSimple(nil, nil, []any{"abc", query.Typed(tInt, shrinker{})})
	if err == nil || !strings.Contains(err.Error(), "AppendCQL") {
		t.Errorf("BindSimple: got %v", err)
	}
}
