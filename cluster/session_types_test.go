package cluster

// Every CQL type through a real table and the whole Session path (prepared
// INSERT, SELECT, Scan / Map / ScanStruct), on protocol v4 and v5.

import (
	"fmt"
	"math"
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

type phoneUDT struct {
	Kind   string `cql:"kind"`
	Number string `cql:"number"`
}

// addressUDT has a nested UDT field and collection fields (one of UDTs).
type addressUDT struct {
	Street string     `cql:"street"`
	Zip    int32      `cql:"zip"`
	Home   phoneUDT   `cql:"home"`
	Phones []phoneUDT `cql:"phones"`
	Tags   []string   `cql:"tags"`
}

// tupleVal is the tuple<int, text, frozen<list<double>>>, by field order.
type tupleVal struct {
	A int32
	B string
	C []float64
}

// allTypes is one row of the all_types table, one field per column in the
// order of allTypesColumns (Scan relies on it; ScanStruct uses the tags).
type allTypes struct {
	ID       int32               `cql:"id"`
	Ascii    string              `cql:"a"`
	Bigint   int64               `cql:"bi"`
	Blob     []byte              `cql:"bl"`
	Bool     bool                `cql:"bo"`
	Date     time.Time           `cql:"d"`
	Decimal  types.DecimalValue  `cql:"de"`
	Double   float64             `cql:"db"`
	Duration types.DurationValue `cql:"du"`
	Float    float32             `cql:"f"`
	Inet4    netip.Addr          `cql:"i4"`
	Inet6    netip.Addr          `cql:"i6"`
	Int      int32               `cql:"i"`
	Smallint int16               `cql:"si"`
	Text     string              `cql:"t"`
	Time     time.Duration       `cql:"tm"`
	TS       time.Time           `cql:"ts"`
	TimeUUID types.UUIDValue     `cql:"tu"`
	Tinyint  int8                `cql:"ti"`
	UUID     types.UUIDValue     `cql:"u"`
	VarBig   *big.Int            `cql:"vbig"`
	VarNeg   *big.Int            `cql:"vneg"`
	List     []int32             `cql:"l"`
	Set      []string            `cql:"s"`
	Map      map[string]int32    `cql:"m"`
	MapFL    map[string][]int32  `cql:"mfl"`
	SetFM    []map[int32]string  `cql:"sfm"`
	Tup      tupleVal            `cql:"tup"`
	Addr     addressUDT          `cql:"addr"`
	VecF     []float32           `cql:"vf"`
	VecD     []float64           `cql:"vd"`
	VecI     []int32             `cql:"vi"`
	VecT     []string            `cql:"vt"`
	VecB     []int64             `cql:"vb"`
}

var allTypesColumns = []string{"id", "a", "bi", "bl", "bo", "d", "de", "db", "du", "f", "i4", "i6", "i", "si", "t",
	"tm", "ts", "tu", "ti", "u", "vbig", "vneg", "l", "s", "m", "mfl", "sfm", "tup", "addr", "vf", "vd", "vi", "vt", "vb"}

const allTypesDDL = `CREATE TABLE %s.all_types (
	id int PRIMARY KEY,
	a ascii, bi bigint, bl blob, bo boolean, d date, de decimal, db double, du duration, f float,
	i4 inet, i6 inet, i int, si smallint, t text, tm time, ts timestamp, tu timeuuid, ti tinyint, u uuid,
	vbig varint, vneg varint,
	l list<int>, s set<text>, m map<text, int>,
	mfl map<text, frozen<list<int>>>, sfm set<frozen<map<int, text>>>,
	tup tuple<int, text, frozen<list<double>>>,
	addr frozen<address>,
	vf vector<float, 3>, vd vector<double, 2>, vi vector<int, 4>, vt vector<text, 2>, vb vector<bigint, 2>)`

func mustUUID(s string) types.UUIDValue {
	u, err := types.ParseUUID(s)
	if err != nil {
		panic(err)
	}
	return u
}

func bigFrom(s string) *big.Int {
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return b
}

// allTypesRows are two rows: ordinary values, and edge values (extremes,
// empty strings and blobs, negatives, dates and timestamps before 1970).
func allTypesRows() []allTypes {
	return []allTypes{{
		ID: 1, Ascii: "hello ascii", Bigint: 1<<62 + 12345, Blob: []byte{0, 1, 2, 0xfe, 0xff}, Bool: true,
		Date:     time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
		Decimal:  types.DecimalValue{Unscaled: big.NewInt(123456789), Scale: 4},
		Double:   math.Pi,
		Duration: types.DurationValue{Months: 14, Days: 3, Nanoseconds: 3723_000_000_123},
		Float:    1.25,
		Inet4:    netip.MustParseAddr("192.0.2.7"), Inet6: netip.MustParseAddr("2001:db8::1:2"),
		Int: 42, Smallint: 1234, Text: "héllo wörld ✓",
		Time:     13*time.Hour + 45*time.Minute + 30*time.Second + 123456789,
		TS:       time.UnixMilli(1700000000123).UTC(),
		TimeUUID: mustUUID("e2d6a2a0-8e0c-11ee-b9d1-0242ac120002"),
		Tinyint:  7,
		UUID:     mustUUID("6ba7b810-9dad-41d1-80b4-00c04fd430c8"),
		VarBig:   bigFrom("1606938044258990275541962092341162602522202993782792835301377"), // 2^200 + 1
		VarNeg:   bigFrom("-1361129467683753853853498429727072845831"),                     // -(2^130) - 7
		List:     []int32{3, 1, 2},
		Set:      []string{"a", "b", "c"},
		Map:      map[string]int32{"x": 1, "y": -2},
		MapFL:    map[string][]int32{"k1": {1, 2, 3}, "k2": {4}},
		SetFM:    []map[int32]string{{1: "a", 2: "b"}, {3: "c"}},
		Tup:      tupleVal{1, "one", []float64{1.5, 2.5}},
		Addr: addressUDT{Street: "1 Main St", Zip: 12345, Home: phoneUDT{"home", "555-1234"},
			Phones: []phoneUDT{{"work", "555-0000"}, {"cell", "555-9999"}}, Tags: []string{"a", "z"}},
		VecF: []float32{0.5, -1.25, 3},
		VecD: []float64{1e100, -2.5},
		VecI: []int32{1, -2, 3, math.MaxInt32},
		VecT: []string{"one", "two-é"},
		VecB: []int64{math.MinInt64, math.MaxInt64},
	}, {
		ID: 2, Ascii: "", Bigint: math.MinInt64, Blob: []byte{}, Bool: false,
		Date:     time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),
		Decimal:  types.DecimalValue{Unscaled: big.NewInt(-1), Scale: 6},
		Double:   math.SmallestNonzeroFloat64,
		Duration: types.DurationValue{Months: -1, Days: -2, Nanoseconds: -3},
		Float:    math.MaxFloat32,
		Inet4:    netip.MustParseAddr("255.255.255.255"), Inet6: netip.MustParseAddr("fe80::1"),
		Int: math.MinInt32, Smallint: math.MinInt16, Text: "",
		Time:     24*time.Hour - 1,
		TS:       time.UnixMilli(-31536000001).UTC(),
		TimeUUID: mustUUID("00000000-0000-1000-8000-000000000000"),
		Tinyint:  math.MinInt8,
		UUID:     mustUUID("ffffffff-ffff-4fff-bfff-ffffffffffff"),
		VarBig:   big.NewInt(-1),
		VarNeg:   bigFrom("-18446744073709551616"), // -(2^64)
		List:     []int32{math.MinInt32},
		Set:      []string{"only"},
		Map:      map[string]int32{"": 0},
		MapFL:    map[string][]int32{"e": {0}},
		SetFM:    []map[int32]string{{-1: ""}},
		Tup:      tupleVal{0, "", []float64{math.Inf(-1)}},
		Addr:     addressUDT{Street: "", Zip: -1, Home: phoneUDT{}, Phones: []phoneUDT{{"a", "b"}}, Tags: []string{"x"}},
		VecF:     []float32{1e-38, -math.MaxFloat32, 0},
		VecD:     []float64{0, -1},
		VecI:     []int32{math.MinInt32, 0, 0, -1},
		VecT:     []string{"", "x"},
		VecB:     []int64{0, -1},
	}}
}

// allTypesRow1Literals is row 1 of allTypesRows as CQL literals (id 11).
const allTypesRow1Literals = `11, 'hello ascii', 4611686018427400249, 0x000102feff, true, '2024-02-29', 12345.6789,
	3.141592653589793, 1y2mo3d1h2m3s123ns, 1.25, '192.0.2.7', '2001:db8::1:2', 42, 1234, 'héllo wörld ✓',
	'13:45:30.123456789', '2023-11-14T22:13:20.123Z', e2d6a2a0-8e0c-11ee-b9d1-0242ac120002, 7,
	6ba7b810-9dad-41d1-80b4-00c04fd430c8,
	1606938044258990275541962092341162602522202993782792835301377, -1361129467683753853853498429727072845831,
	[3, 1, 2], {'a', 'b', 'c'}, {'x': 1, 'y': -2}, {'k1': [1, 2, 3], 'k2': [4]}, {{1: 'a', 2: 'b'}, {3: 'c'}},
	(1, 'one', [1.5, 2.5]),
	{street: '1 Main St', zip: 12345, home: {kind: 'home', number: '555-1234'},
	 phones: [{kind: 'work', number: '555-0000'}, {kind: 'cell', number: '555-9999'}], tags: {'a', 'z'}},
	[0.5, -1.25, 3], [1e100, -2.5], [1, -2, 3, 2147483647], ['one', 'two-é'],
	[-9223372036854775808, 9223372036854775807]`

// fieldValues returns the struct's fields as values to bind, in order.
func fieldValues(r *allTypes) []any {
	v := reflect.ValueOf(r).Elem()
	out := make([]any, v.NumField())
	for i := range out {
		out[i] = v.Field(i).Interface()
	}
	return out
}

// fieldPtrs returns pointers to the struct's fields, in order, for Scan.
func fieldPtrs(r *allTypes) []any {
	v := reflect.ValueOf(r).Elem()
	out := make([]any, v.NumField())
	for i := range out {
		out[i] = v.Field(i).Addr().Interface()
	}
	return out
}

// naturalOf is what Row.Map must give for r: each column's natural Go type
// (the package types table), tuples as []any and UDTs as map[string]any.
func naturalOf(r allTypes) map[string]any {
	udtPhone := func(p phoneUDT) map[string]any { return map[string]any{"kind": p.Kind, "number": p.Number} }
	phones := make([]map[string]any, len(r.Addr.Phones))
	for i, p := range r.Addr.Phones {
		phones[i] = udtPhone(p)
	}
	return map[string]any{
		"id": r.ID, "a": r.Ascii, "bi": r.Bigint, "bl": r.Blob, "bo": r.Bool, "d": r.Date, "de": r.Decimal,
		"db": r.Double, "du": r.Duration, "f": r.Float, "i4": r.Inet4, "i6": r.Inet6, "i": r.Int, "si": r.Smallint,
		"t": r.Text, "tm": r.Time, "ts": r.TS, "tu": r.TimeUUID, "ti": r.Tinyint, "u": r.UUID,
		"vbig": r.VarBig, "vneg": r.VarNeg, "l": r.List, "s": r.Set, "m": r.Map, "mfl": r.MapFL, "sfm": r.SetFM,
		"tup": []any{r.Tup.A, r.Tup.B, r.Tup.C},
		"addr": map[string]any{"street": r.Addr.Street, "zip": r.Addr.Zip, "home": udtPhone(r.Addr.Home),
			"phones": phones, "tags": r.Addr.Tags},
		"vf": r.VecF, "vd": r.VecD, "vi": r.VecI, "vt": r.VecT, "vb": r.VecB,
	}
}

var (
	bigIntPtrType = reflect.TypeOf((*big.Int)(nil))
	decimalType   = reflect.TypeOf(types.DecimalValue{})
	timeType      = reflect.TypeOf(time.Time{})
)

// diffValues compares want and got exactly: same Go types all the way down,
// same values (big integers and decimals by value, times by instant and
// location name), nil and empty slices told apart. It returns a
// description of the first difference, or "".
func diffValues(path string, want, got reflect.Value) string {
	if !want.IsValid() || !got.IsValid() {
		if want.IsValid() != got.IsValid() {
			return fmt.Sprintf("%s: want %v, got %v", path, fmtValue(want), fmtValue(got))
		}
		return ""
	}
	if want.Type() != got.Type() {
		return fmt.Sprintf("%s: want type %v (%v), got type %v (%v)", path, want.Type(), fmtValue(want), got.Type(), fmtValue(got))
	}
	switch want.Type() {
	case bigIntPtrType:
		w, g := want.Interface().(*big.Int), got.Interface().(*big.Int)
		if (w == nil) != (g == nil) || (w != nil && w.Cmp(g) != 0) {
			return fmt.Sprintf("%s: want %v, got %v", path, w, g)
		}
		return ""
	case decimalType:
		w, g := want.Interface().(types.DecimalValue), got.Interface().(types.DecimalValue)
		wu, gu := w.Unscaled, g.Unscaled
		if wu == nil {
			wu = new(big.Int)
		}
		if gu == nil {
			gu = new(big.Int)
		}
		if w.Scale != g.Scale || wu.Cmp(gu) != 0 {
			return fmt.Sprintf("%s: want %v, got %v", path, w, g)
		}
		return ""
	case timeType:
		w, g := want.Interface().(time.Time), got.Interface().(time.Time)
		if !w.Equal(g) || w.Location().String() != g.Location().String() {
			return fmt.Sprintf("%s: want %v, got %v", path, w, g)
		}
		return ""
	}
	switch want.Kind() {
	case reflect.Interface, reflect.Pointer:
		if want.IsNil() || got.IsNil() {
			if want.IsNil() != got.IsNil() {
				return fmt.Sprintf("%s: want %v, got %v", path, fmtValue(want), fmtValue(got))
			}
			return ""
		}
		return diffValues(path, want.Elem(), got.Elem())
	case reflect.Slice:
		if want.IsNil() != got.IsNil() || want.Len() != got.Len() {
			return fmt.Sprintf("%s: want %v (nil %v), got %v (nil %v)", path, fmtValue(want), want.IsNil(), fmtValue(got), got.IsNil())
		}
		for i := range want.Len() {
			if d := diffValues(fmt.Sprintf("%s[%d]", path, i), want.Index(i), got.Index(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Map:
		if want.IsNil() != got.IsNil() || want.Len() != got.Len() {
			return fmt.Sprintf("%s: want %v, got %v", path, fmtValue(want), fmtValue(got))
		}
		for _, k := range want.MapKeys() {
			gv := got.MapIndex(k)
			if !gv.IsValid() {
				return fmt.Sprintf("%s: key %v missing (got %v)", path, k, fmtValue(got))
			}
			if d := diffValues(fmt.Sprintf("%s[%v]", path, k), want.MapIndex(k), gv); d != "" {
				return d
			}
		}
		return ""
	case reflect.Struct:
		if want.Type().PkgPath() == reflect.TypeOf(allTypes{}).PkgPath() {
			for i := range want.NumField() {
				if d := diffValues(path+"."+want.Type().Field(i).Name, want.Field(i), got.Field(i)); d != "" {
					return d
				}
			}
			return ""
		}
	}
	if !reflect.DeepEqual(want.Interface(), got.Interface()) {
		return fmt.Sprintf("%s: want %v, got %v", path, fmtValue(want), fmtValue(got))
	}
	return ""
}

func fmtValue(v reflect.Value) string {
	if !v.IsValid() {
		return "<nil>"
	}
	return fmt.Sprintf("%#v", v.Interface())
}

func diff(want, got any) string {
	return diffValues("", reflect.ValueOf(want), reflect.ValueOf(got))
}

// TestSessionAllTypes round-trips every CQL type through a real table on v4
// and v5: bound by a prepared INSERT from typed Go values, read back into
// typed variables (Scan), into map[string]any (natural types) and into a
// struct (ScanStruct), compared exactly; then a row of nulls, and counters.
func TestSessionAllTypes(t *testing.T) {
	for _, v := range []frame.Version{frame.V4, frame.V5} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			s := connectReal(t, func(c *Config) { c.ProtocolVersion = v })
			ctx := testCtx(t)
			ks := fmt.Sprintf("cqlwire_types_v%d", v)
			mustExecS(t, ctx, s, "CREATE KEYSPACE IF NOT EXISTS "+ks+" WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
			mustExecS(t, ctx, s, "DROP TABLE IF EXISTS "+ks+".all_types")
			mustExecS(t, ctx, s, "DROP TABLE IF EXISTS "+ks+".counters")
			mustExecS(t, ctx, s, "DROP TYPE IF EXISTS "+ks+".address")
			mustExecS(t, ctx, s, "DROP TYPE IF EXISTS "+ks+".phone")
			mustExecS(t, ctx, s, "CREATE TYPE "+ks+".phone (kind text, number text)")
			mustExecS(t, ctx, s, "CREATE TYPE "+ks+".address (street text, zip int, home frozen<phone>, phones list<frozen<phone>>, tags set<text>)")
			mustExecS(t, ctx, s, fmt.Sprintf(allTypesDDL, ks))

			marks := strings.TrimSuffix(strings.Repeat("?, ", len(allTypesColumns)), ", ")
			insert := fmt.Sprintf("INSERT INTO %s.all_types (%s) VALUES (%s)", ks, strings.Join(allTypesColumns, ", "), marks)
			selectCols := fmt.Sprintf("SELECT %s FROM %s.all_types WHERE id = ?", strings.Join(allTypesColumns, ", "), ks)
			selectStar := "SELECT * FROM " + ks + ".all_types WHERE id = ?"

			rows := allTypesRows()
			for i := range rows {
				if err := s.Query(insert, fieldValues(&rows[i])...).Exec(ctx); err != nil {
					t.Fatalf("insert row %d: %v", rows[i].ID, err)
				}
			}
			for _, want := range rows {
				// Typed variables, columns in struct order.
				var got allTypes
				if err := s.Query(selectCols, want.ID).One(ctx, fieldPtrs(&got)...); err != nil {
					t.Fatalf("row %d: Scan: %v", want.ID, err)
				}
				if d := diff(want, got); d != "" {
					t.Errorf("row %d: Scan into typed variables:%s", want.ID, d)
				}

				// SELECT *: map[string]any and ScanStruct.
				var n int
				for row, err := range s.Query(selectStar, want.ID).Rows(ctx) {
					if err != nil {
						t.Fatal(err)
					}
					n++
					if len(row.Columns()) != len(allTypesColumns) {
						t.Errorf("SELECT * has %d columns, want %d", len(row.Columns()), len(allTypesColumns))
					}
					m, err := row.Map()
					if err != nil {
						t.Fatalf("row %d: Map: %v", want.ID, err)
					}
					if d := diff(naturalOf(want), m); d != "" {
						t.Errorf("row %d: Map:%s", want.ID, d)
					}
					var st allTypes
					if err := row.ScanStruct(&st); err != nil {
						t.Fatalf("row %d: ScanStruct: %v", want.ID, err)
					}
					if d := diff(want, st); d != "" {
						t.Errorf("row %d: ScanStruct:%s", want.ID, d)
					}
				}
				if n != 1 {
					t.Fatalf("row %d: SELECT * gave %d rows", want.ID, n)
				}
			}

			// The same values as row 1 written as CQL literals, which the
			// server encodes itself: every cell must hold the same bytes, so
			// that a mistake made alike by the driver's encoder and decoder
			// (which the round trip above cannot see) shows here.
			mustExecS(t, ctx, s, "INSERT INTO "+ks+".all_types ("+strings.Join(allTypesColumns, ", ")+") VALUES ("+allTypesRow1Literals+")")
			cellsOf := func(id int) [][]byte {
				var out [][]byte
				for row, err := range s.Query(selectCols, id).Rows(ctx) {
					if err != nil {
						t.Fatal(err)
					}
					for i := range row.Len() {
						out = append(out, append([]byte{}, row.Bytes(i)...))
					}
				}
				if len(out) != len(allTypesColumns) {
					t.Fatalf("row %d: %d cells", id, len(out))
				}
				return out
			}
			bound, literal := cellsOf(1), cellsOf(11)
			for i := 1; i < len(allTypesColumns); i++ {
				if string(bound[i]) != string(literal[i]) {
					t.Errorf("column %s: the driver wrote %x, the server's own encoding of the literal is %x", allTypesColumns[i], bound[i], literal[i])
				}
			}

			// vector<float, 3> into a []float32 with capacity: decoded in
			// place (the zero-copy path), for every row of an iteration.
			vbuf := make([]float32, 0, 3)
			backing := &vbuf[:1][0]
			seen := 0
			for row, err := range s.Query("SELECT id, vf FROM " + ks + ".all_types").Rows(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				var id int32
				if err := row.Scan(&id, &vbuf); err != nil {
					t.Fatal(err)
				}
				if len(vbuf) != 3 || &vbuf[0] != backing {
					t.Errorf("row %d: the vector was not decoded into the given slice (len %d)", id, len(vbuf))
				}
				want := rows[0].VecF // id 1 and its literal twin 11
				if id == 2 {
					want = rows[1].VecF
				}
				if d := diff(want, vbuf); d != "" {
					t.Errorf("row %d: vector:%s", id, d)
				}
				seen++
			}
			if seen != 3 {
				t.Fatalf("%d rows, want 3", seen)
			}

			// A row of nulls: every nullable column bound to nil.
			nulls := make([]any, len(allTypesColumns))
			nulls[0] = int32(3)
			if err := s.Query(insert, nulls...).Exec(ctx); err != nil {
				t.Fatalf("insert nulls: %v", err)
			}
			anys := make([]any, len(allTypesColumns))
			dest := make([]any, len(anys))
			for i := range anys {
				anys[i] = "not null" // must be overwritten with nil
				dest[i] = &anys[i]
			}
			if err := s.Query(selectCols, 3).One(ctx, dest...); err != nil {
				t.Fatal(err)
			}
			if anys[0] != int32(3) {
				t.Errorf("id %#v", anys[0])
			}
			for i, a := range anys[1:] {
				if a != nil {
					t.Errorf("null column %s scanned into *any: %#v, want nil", allTypesColumns[i+1], a)
				}
			}
			var pi *int32 = new(int32)
			var pv *[]float32 = &[]float32{1}
			var pu *addressUDT = &addressUDT{}
			if err := s.Query("SELECT i, vf, addr FROM "+ks+".all_types WHERE id = ?", 3).One(ctx, &pi, &pv, &pu); err != nil {
				t.Fatal(err)
			}
			if pi != nil || pv != nil || pu != nil {
				t.Errorf("null into **T: %v %v %v, want nil pointers", pi, pv, pu)
			}
			for row, err := range s.Query(selectStar, 3).Rows(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				m, err := row.Map()
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range allTypesColumns[1:] {
					if v, ok := m[c]; !ok || v != nil {
						t.Errorf("Map of the null row: %s = %#v (present %v), want nil", c, v, ok)
					}
				}
				// ScanStruct over a filled struct: null resets every field.
				st := allTypesRows()[0]
				if err := row.ScanStruct(&st); err != nil {
					t.Fatal(err)
				}
				sv := reflect.ValueOf(st)
				for i := 1; i < sv.NumField(); i++ {
					if !sv.Field(i).IsZero() {
						t.Errorf("ScanStruct of the null row: field %s = %#v, want its zero value", sv.Type().Field(i).Name, sv.Field(i).Interface())
					}
				}
				if st.ID != 3 {
					t.Errorf("ID %d", st.ID)
				}
			}

			// Counters: their own table, UPDATE c = c + ?, and a counter batch.
			mustExecS(t, ctx, s, "CREATE TABLE "+ks+".counters (id int PRIMARY KEY, c counter)")
			for _, d := range []int64{5, -2, 1 << 40} {
				if err := s.Query("UPDATE "+ks+".counters SET c = c + ? WHERE id = ?", d, 1).Exec(ctx); err != nil {
					t.Fatal(err)
				}
			}
			b := s.Batch(query.CounterBatch).
				Add("UPDATE "+ks+".counters SET c = c + ? WHERE id = ?", int64(10), 1).
				Add("UPDATE "+ks+".counters SET c = c - ? WHERE id = ?", int64(7), 2)
			if err := b.Exec(ctx); err != nil {
				t.Fatal(err)
			}
			var c1 int64
			if err := s.Query("SELECT c FROM "+ks+".counters WHERE id = ?", 1).One(ctx, &c1); err != nil {
				t.Fatal(err)
			}
			if want := int64(5 - 2 + 1<<40 + 10); c1 != want {
				t.Errorf("counter 1 = %d, want %d", c1, want)
			}
			for row, err := range s.Query("SELECT id, c FROM "+ks+".counters WHERE id = ?", 2).Rows(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				m, err := row.Map()
				if err != nil {
					t.Fatal(err)
				}
				if d := diff(map[string]any{"id": int32(2), "c": int64(-7)}, m); d != "" {
					t.Errorf("counter 2 Map:%s", d)
				}
				var st struct {
					ID int32
					C  int64
				}
				if err := row.ScanStruct(&st); err != nil || st.ID != 2 || st.C != -7 {
					t.Errorf("counter 2 ScanStruct: %+v %v", st, err)
				}
			}
		})
	}
}

func TestDiffValues(t *testing.T) {
	// The comparison the type tests rely on must see differences.
	for _, c := range []struct{ a, b any }{
		{int32(1), int64(1)},
		{[]byte{}, []byte(nil)},
		{big.NewInt(1), big.NewInt(2)},
		{types.DecimalValue{Unscaled: big.NewInt(1), Scale: 1}, types.DecimalValue{Unscaled: big.NewInt(1), Scale: 2}},
		{time.UnixMilli(1).UTC(), time.UnixMilli(2).UTC()},
		{time.UnixMilli(1).UTC(), time.UnixMilli(1).In(time.FixedZone("x", 3600))},
		{map[string]any{"a": int32(1)}, map[string]any{"a": int64(1)}},
		{[]map[int32]string{{1: "a"}}, []map[int32]string{{1: "b"}}},
		{tupleVal{C: []float64{1}}, tupleVal{C: []float64{2}}},
		{netip.MustParseAddr("::1"), netip.MustParseAddr("::2")},
	} {
		if diff(c.a, c.b) == "" {
			t.Errorf("diff(%#v, %#v) saw no difference", c.a, c.b)
		}
	}
	r := allTypesRows()[0]
	if d := diff(r, allTypesRows()[0]); d != "" {
		t.Errorf("equal rows differ: %s", d)
	}
}
