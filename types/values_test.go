package types

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func bigFromString(s string) *big.Int {
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return b
}

func pow2(n uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), n) }

func mustUUID(s string) UUIDValue {
	u, err := ParseUUID(s)
	if err != nil {
		panic(err)
	}
	return u
}

func mustDecimal(s string) DecimalValue {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// sameValue compares decoded values by type and printed form, which treats
// big.Int and DecimalValue by value and NaN as equal to NaN.
func sameValue(a, b any) bool {
	return reflect.TypeOf(a) == reflect.TypeOf(b) && fmt.Sprint(a) == fmt.Sprint(b)
}

var (
	tInt      = Native(Int)
	tText     = Native(Varchar)
	tAddress  = &Type{Kind: UDT, Keyspace: "ks", Name: "address", Fields: []Field{{"street", tText}, {"zip", tInt}}}
	tVecFloat = VectorOf(Native(Float), 3)
)

type knownAnswer struct {
	name string
	typ  *Type
	in   any    // Go value to encode
	hex  string // expected encoding; spaces ignored
	out  any    // what decoding into *any gives; nil means same as in
}

func knownAnswers() []knownAnswer {
	utc := time.UTC
	return []knownAnswer{
		{"tinyint -1", Native(Tinyint), int8(-1), "ff", nil},
		{"tinyint from int", Native(Tinyint), 127, "7f", int8(127)},
		{"tinyint min", Native(Tinyint), int64(-128), "80", int8(-128)},
		{"smallint", Native(Smallint), int16(-2), "fffe", nil},
		{"smallint from uint8", Native(Smallint), uint8(200), "00c8", int16(200)},
		{"int", tInt, int32(1), "00000001", nil},
		{"int -1 from int", tInt, -1, "ffffffff", int32(-1)},
		{"int max", tInt, int64(math.MaxInt32), "7fffffff", int32(math.MaxInt32)},
		{"bigint", Native(Bigint), int64(1) << 40, "0000010000000000", nil},
		{"bigint min", Native(Bigint), int64(math.MinInt64), "8000000000000000", nil},
		{"bigint from big.Int", Native(Bigint), big.NewInt(-2), "fffffffffffffffe", int64(-2)},
		{"counter", Native(Counter), int64(5), "0000000000000005", nil},
		{"varint 0", Native(Varint), 0, "00", big.NewInt(0)},
		{"varint 1", Native(Varint), 1, "01", big.NewInt(1)},
		{"varint 127", Native(Varint), 127, "7f", big.NewInt(127)},
		{"varint 128", Native(Varint), 128, "0080", big.NewInt(128)},
		{"varint 129", Native(Varint), 129, "0081", big.NewInt(129)},
		{"varint 255", Native(Varint), uint8(255), "00ff", big.NewInt(255)},
		{"varint -1", Native(Varint), -1, "ff", big.NewInt(-1)},
		{"varint -128", Native(Varint), -128, "80", big.NewInt(-128)},
		{"varint -129", Native(Varint), -129, "ff7f", big.NewInt(-129)},
		{"varint 2^63 from uint64", Native(Varint), uint64(1) << 63, "00 8000000000000000", pow2(63)},
		{"varint 2^63 from big", Native(Varint), pow2(63), "00 8000000000000000", nil},
		{"varint -2^63", Native(Varint), int64(math.MinInt64), "8000000000000000", bigFromString("-9223372036854775808")},
		{"varint -2^63-1", Native(Varint), new(big.Int).Sub(big.NewInt(math.MinInt64), big.NewInt(1)), "ff 7fffffffffffffff", nil},
		{"varint 2^200", Native(Varint), pow2(200), "01" + strings.Repeat("00", 25), nil},
		{"varint -2^200", Native(Varint), new(big.Int).Neg(pow2(200)), "ff" + strings.Repeat("00", 25), nil},
		{"varint 2^200-1", Native(Varint), new(big.Int).Sub(pow2(200), big.NewInt(1)), "00" + strings.Repeat("ff", 25), nil},
		{"varint big.Int value", Native(Varint), *big.NewInt(300), "012c", big.NewInt(300)},
		{"decimal 123.45", Native(Decimal), DecimalValue{big.NewInt(12345), 2}, "00000002 3039", nil},
		{"decimal -1", Native(Decimal), DecimalValue{big.NewInt(-1), 0}, "00000000 ff", nil},
		{"decimal 0.001", Native(Decimal), mustDecimal("0.001"), "00000003 01", nil},
		{"decimal 1E+3", Native(Decimal), mustDecimal("1E+3"), "fffffffd 01", nil},
		{"decimal nil unscaled", Native(Decimal), DecimalValue{Scale: 1}, "00000001 00", DecimalValue{big.NewInt(0), 1}},
		{"decimal from float64", Native(Decimal), 0.1, "00000001 01", DecimalValue{big.NewInt(1), 1}},
		{"decimal from int", Native(Decimal), 128, "00000000 0080", DecimalValue{big.NewInt(128), 0}},
		{"decimal huge", Native(Decimal), DecimalValue{pow2(200), -5}, "fffffffb 01" + strings.Repeat("00", 25), nil},
		{"double", Native(Double), 1.5, "3ff8000000000000", nil},
		{"double from int", Native(Double), 3, "4008000000000000", float64(3)},
		{"double NaN", Native(Double), math.NaN(), "7ff8000000000001", nil},
		{"float", Native(Float), float32(1.5), "3fc00000", nil},
		{"float from float64 rounds", Native(Float), 0.1, "3dcccccd", float32(0.1)},
		{"float -Inf", Native(Float), math.Inf(-1), "ff800000", float32(math.Inf(-1))},
		{"boolean true", Native(Boolean), true, "01", nil},
		{"boolean false", Native(Boolean), false, "00", nil},
		{"ascii", Native(Ascii), "abc", "616263", nil},
		{"text", tText, "héllo", "68c3a96c6c6f", nil},
		{"text empty is not null", tText, "", "", nil},
		{"text from []byte", tText, []byte("hi"), "6869", "hi"},
		{"blob", Native(Blob), []byte{1, 2, 3}, "010203", nil},
		{"blob empty", Native(Blob), []byte{}, "", nil},
		{"blob from string", Native(Blob), "hi", "6869", []byte("hi")},
		{"blob from array", Native(Blob), [2]byte{9, 8}, "0908", []byte{9, 8}},
		{"custom", &Type{Kind: Custom, Class: "com.example.X"}, []byte{0xCA, 0xFE}, "cafe", nil},
		{"timestamp epoch+1ms", Native(Timestamp), time.UnixMilli(1).UTC(), "0000000000000001", nil},
		{"timestamp -1ms", Native(Timestamp), time.UnixMilli(-1).UTC(), "ffffffffffffffff", nil},
		{"timestamp 2024", Native(Timestamp), time.Date(2024, 1, 2, 3, 4, 5, 6e6, utc), "0000018cc820d88e", nil},
		{"timestamp drops sub-ms", Native(Timestamp), time.Date(2024, 1, 2, 3, 4, 5, 6999999, utc), "0000018cc820d88e", time.Date(2024, 1, 2, 3, 4, 5, 6e6, utc)},
		{"timestamp from int64 ms", Native(Timestamp), int64(1000), "00000000000003e8", time.Unix(1, 0).UTC()},
		{"date epoch", Native(Date), time.Date(1970, 1, 1, 0, 0, 0, 0, utc), "80000000", nil},
		{"date day before epoch", Native(Date), time.Date(1969, 12, 31, 0, 0, 0, 0, utc), "7fffffff", nil},
		{"date day after epoch", Native(Date), time.Date(1970, 1, 2, 0, 0, 0, 0, utc), "80000001", nil},
		{"date wire 0", Native(Date), time.Date(-5877641, 6, 23, 0, 0, 0, 0, utc), "00000000", nil},
		{"date wire 2^32-1", Native(Date), time.Date(5881580, 7, 11, 0, 0, 0, 0, utc), "ffffffff", nil},
		{"date keeps local calendar day", Native(Date), time.Date(1970, 1, 2, 23, 30, 0, 0, time.FixedZone("x", -5*3600)), "80000001", time.Date(1970, 1, 2, 0, 0, 0, 0, utc)},
		{"time 1ns", Native(Time), time.Duration(1), "0000000000000001", nil},
		{"time last ns", Native(Time), time.Duration(maxTimeOfDay), "00004e94914effff", nil},
		{"time from int64", Native(Time), int64(time.Hour), "0000034630b8a000", time.Hour},
		{"time from time.Time", Native(Time), time.Date(2000, 1, 1, 1, 0, 0, 0, utc), "0000034630b8a000", time.Hour},
		{"duration 1mo2d3ns", Native(Duration), DurationValue{1, 2, 3}, "020406", nil},
		{"duration negative", Native(Duration), DurationValue{-1, -2, -3}, "010305", nil},
		{"duration 1h", Native(Duration), time.Hour, "0000fc068c61714000", DurationValue{0, 0, int64(time.Hour)}},
		{"duration max nanos", Native(Duration), DurationValue{0, 0, math.MaxInt64}, "0000 ff fffffffffffffffe", nil},
		{"duration min", Native(Duration), DurationValue{math.MinInt32, math.MinInt32, math.MinInt64}, "f0ffffffff f0ffffffff ffffffffffffffffff", nil},
		{"duration zero", Native(Duration), DurationValue{}, "000000", nil},
		{"inet v4", Native(Inet), netip.MustParseAddr("127.0.0.1"), "7f000001", nil},
		{"inet v6", Native(Inet), netip.MustParseAddr("::1"), "00000000000000000000000000000001", nil},
		{"inet net.IP v4 in 16 bytes", Native(Inet), net.ParseIP("10.0.0.1"), "0a000001", netip.MustParseAddr("10.0.0.1")},
		{"inet v4-mapped netip stays 16", Native(Inet), netip.MustParseAddr("::ffff:10.0.0.1"), "00000000000000000000ffff0a000001", nil},
		{"inet from string", Native(Inet), "2001:db8::1", "20010db8000000000000000000000001", netip.MustParseAddr("2001:db8::1")},
		{"uuid", Native(UUID), mustUUID("550e8400-e29b-41d4-a716-446655440000"), "550e8400e29b41d4a716446655440000", nil},
		{"uuid from string", Native(UUID), "550e8400-e29b-41d4-a716-446655440000", "550e8400e29b41d4a716446655440000", mustUUID("550e8400-e29b-41d4-a716-446655440000")},
		{"uuid from [16]byte", Native(UUID), [16]byte{15: 1}, "00000000000000000000000000000001", UUIDValue{15: 1}},
		{"timeuuid", Native(Timeuuid), mustUUID("a0eebc99-9c0b-11d1-8f3e-0800200c9a66"), "a0eebc999c0b11d18f3e0800200c9a66", nil},
		{"list<int>", ListOf(tInt), []int32{1, 2}, "00000002 00000004 00000001 00000004 00000002", nil},
		{"list<int> from []int", ListOf(tInt), []int{7}, "00000001 00000004 00000007", []int32{7}},
		{"list<int> empty", ListOf(tInt), []int32{}, "00000000", nil},
		{"set<text>", SetOf(tText), []string{"a"}, "00000001 00000001 61", nil},
		{"set<text> from map set", SetOf(tText), map[string]struct{}{"a": {}}, "00000001 00000001 61", []string{"a"}},
		{"list<any>", ListOf(tText), []any{"a", "b"}, "00000002 00000001 61 00000001 62", []string{"a", "b"}},
		{"map<text,int>", MapOf(tText, tInt), map[string]int32{"a": 1}, "00000001 00000001 61 00000004 00000001", nil},
		{"map<text, frozen<list<int>>>", MapOf(tText, ListOf(tInt)), map[string][]int32{"k": {1}}, "00000001 00000001 6b 0000000c 00000001 00000004 00000001", nil},
		{"map<blob,int> as entries", MapOf(Native(Blob), tInt), []MapEntry{{[]byte{1}, int32(2)}}, "00000001 00000001 01 00000004 00000002", nil},
		{"list<list<text>>", ListOf(ListOf(tText)), [][]string{{"x"}, {}}, "00000002 00000009 00000001 00000001 78 00000004 00000000", nil},
		{"tuple<int,text> with null", TupleOf(tInt, tText), []any{int32(1), nil}, "00000004 00000001 ffffffff", nil},
		{"tuple from struct", TupleOf(tInt, tText), struct {
			A int32
			B string
		}{3, "z"}, "00000004 00000003 00000001 7a", []any{int32(3), "z"}},
		{"udt from map", tAddress, map[string]any{"street": "x", "zip": int32(5)}, "00000001 78 00000004 00000005", nil},
		{"udt missing field is null", tAddress, map[string]any{"street": "x"}, "00000001 78 ffffffff", map[string]any{"street": "x", "zip": nil}},
		{"udt from struct", tAddress, struct {
			Street string `cql:"street"`
			Zip    int
			Note   string `cql:"-"`
		}{"x", 5, "ignored"}, "00000001 78 00000004 00000005", map[string]any{"street": "x", "zip": int32(5)}},
		{"vector<float,3>", tVecFloat, []float32{1.0, -2.5, 0.1}, "3f800000 c0200000 3dcccccd", nil},
		{"vector<float,3> from []float64", tVecFloat, []float64{1, -2.5, 0.5}, "3f800000 c0200000 3f000000", []float32{1, -2.5, 0.5}},
		{"vector<float,3> from array", tVecFloat, [3]float32{1, 2, 3}, "3f800000 40000000 40400000", []float32{1, 2, 3}},
		{"vector<text,2>", VectorOf(tText, 2), []string{"a", "bc"}, "01 61 02 6263", nil},
		{"vector<int,2> fixed", VectorOf(tInt, 2), []int32{1, 2}, "00000001 00000002", nil},
		{"vector<smallint,2> variable", VectorOf(Native(Smallint), 2), []int16{1, -1}, "02 0001 02 ffff", nil},
		{"vector<uuid,1>", VectorOf(Native(UUID), 1), []UUIDValue{{15: 1}}, "00000000000000000000000000000001", nil},
		{"vector<vector<float,2>,2>", VectorOf(VectorOf(Native(Float), 2), 2), [][]float32{{1, 2}, {3, 4}}, "3f800000 40000000 40400000 40800000", nil},
		{"vector<list<int>,1>", VectorOf(ListOf(tInt), 1), [][]int32{{1}}, "0c 00000001 00000004 00000001", nil},
		{"vector<text,1> long element", VectorOf(tText, 1), []string{strings.Repeat("a", 200)}, "80c8" + strings.Repeat("61", 200), nil},
	}
}

func TestKnownAnswers(t *testing.T) {
	for _, c := range knownAnswers() {
		t.Run(c.name, func(t *testing.T) {
			want, err := hex.DecodeString(strings.ReplaceAll(c.hex, " ", ""))
			if err != nil {
				t.Fatal(err)
			}
			got, null, err := Append([]byte{0xAA}, c.typ, c.in)
			if err != nil || null {
				t.Fatalf("Append: null=%v err=%v", null, err)
			}
			if !bytes.Equal(got[1:], want) {
				t.Fatalf("Append = %x, want %x", got[1:], want)
			}
			var v any
			if err := Decode(c.typ, want, &v); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			wantOut := c.out
			if wantOut == nil {
				wantOut = c.in
			}
			if !sameValue(v, wantOut) {
				t.Fatalf("Decode = %#v (%T), want %#v (%T)", v, v, wantOut, wantOut)
			}
			// Decoding into the natural type's pointer gives the same.
			p := reflect.New(reflect.TypeOf(v))
			if err := Decode(c.typ, want, p.Interface()); err != nil {
				t.Fatalf("Decode into %v: %v", p.Type(), err)
			}
			if !sameValue(p.Elem().Interface(), wantOut) {
				t.Fatalf("Decode into %v = %v", p.Type(), p.Elem())
			}
			// And re-encoding the decoded value gives the same bytes.
			again, _, err := Append(nil, c.typ, v)
			if err != nil || !bytes.Equal(again, want) {
				t.Fatalf("re-encode = %x, %v", again, err)
			}
		})
	}
}

func TestNullAndUnset(t *testing.T) {
	var nilInt *int32
	var nilSlice []int32
	var nilMap map[string]int32
	var nilBytes []byte
	cases := []struct {
		name string
		typ  *Type
		v    any
	}{
		{"nil", tInt, nil},
		{"nil pointer", tInt, nilInt},
		{"nil slice", ListOf(tInt), nilSlice},
		{"nil map", MapOf(tText, tInt), nilMap},
		{"nil blob", Native(Blob), nilBytes},
		{"nil float vector", tVecFloat, []float32(nil)},
		{"nil big", Native(Varint), (*big.Int)(nil)},
		{"nil time pointer", Native(Timestamp), (*time.Time)(nil)},
	}
	for _, c := range cases {
		out, null, err := Append([]byte{1}, c.typ, c.v)
		if err != nil || !null || len(out) != 1 {
			t.Errorf("%s: Append = %x, %v, %v; want null", c.name, out, null, err)
		}
	}
	if _, _, err := Append(nil, tInt, Unset); err != ErrUnset {
		t.Errorf("Unset: err = %v, want ErrUnset", err)
	}
	if _, _, err := Append(nil, tInt, &Unset); err != ErrUnset {
		t.Errorf("&Unset: err = %v, want ErrUnset", err)
	}
	_, _, err := Append(nil, ListOf(tInt), []any{1, Unset})
	if err == nil || err == ErrUnset || !strings.Contains(err.Error(), "[1]") {
		t.Errorf("Unset in list: %v", err)
	}

	// Decoding null.
	x := int32(7)
	p := &x
	if err := Decode(tInt, nil, &p); err != nil || p != nil {
		t.Errorf("null into **int32: %v %v", p, err)
	}
	y := int32(7)
	if err := Decode(tInt, nil, &y); err != nil || y != 0 {
		t.Errorf("null into *int32: %v %v", y, err)
	}
	var a any = 5
	if err := Decode(tInt, nil, &a); err != nil || a != nil {
		t.Errorf("null into *any: %v %v", a, err)
	}
	// Empty is null for non-string types, empty for strings.
	if err := Decode(tInt, []byte{}, &a); err != nil || a != nil {
		t.Errorf("empty int into *any: %v %v", a, err)
	}
	if err := Decode(tText, []byte{}, &a); err != nil || a != "" {
		t.Errorf("empty text into *any: %#v %v", a, err)
	}
	var b []byte
	if err := Decode(Native(Blob), []byte{}, &b); err != nil || b == nil || len(b) != 0 {
		t.Errorf("empty blob: %#v %v", b, err)
	}
	if err := Decode(Native(Blob), nil, &b); err != nil || b != nil {
		t.Errorf("null blob: %#v %v", b, err)
	}
	s := []int32{1}
	if err := Decode(ListOf(tInt), nil, &s); err != nil || s != nil {
		t.Errorf("null list: %#v %v", s, err)
	}
}

func TestTypedDecode(t *testing.T) {
	type Address struct {
		Street string `cql:"street"`
		Zip    *int64
		Extra  string
	}
	udt, _, err := Append(nil, tAddress, map[string]any{"street": "main", "zip": 42})
	if err != nil {
		t.Fatal(err)
	}
	var addr Address
	if err := Decode(tAddress, udt, &addr); err != nil {
		t.Fatal(err)
	}
	if addr.Street != "main" || addr.Zip == nil || *addr.Zip != 42 {
		t.Fatalf("got %+v", addr)
	}
	// A short UDT value (written before a field was added): the rest is null.
	short, _, _ := Append(nil, TupleOf(tText), []any{"s"})
	addr = Address{Zip: new(int64)}
	if err := Decode(tAddress, short, &addr); err != nil || addr.Street != "s" || addr.Zip != nil {
		t.Fatalf("short UDT: %+v %v", addr, err)
	}

	var i8 int8
	if err := Decode(tInt, []byte{0, 0, 0, 100}, &i8); err != nil || i8 != 100 {
		t.Fatalf("int into int8: %v %v", i8, err)
	}
	var u16 uint16
	if err := Decode(Native(Smallint), []byte{0x7f, 0xff}, &u16); err != nil || u16 != 0x7fff {
		t.Fatalf("smallint into uint16: %v %v", u16, err)
	}
	var z big.Int
	if err := Decode(Native(Varint), []byte{0xff, 0x7f}, &z); err != nil || z.Int64() != -129 {
		t.Fatalf("varint into big.Int: %v %v", &z, err)
	}
	var ip net.IP
	if err := Decode(Native(Inet), []byte{1, 2, 3, 4}, &ip); err != nil || ip.String() != "1.2.3.4" {
		t.Fatalf("inet into net.IP: %v %v", ip, err)
	}
	var us string
	uu := mustUUID("550e8400-e29b-41d4-a716-446655440000")
	if err := Decode(Native(UUID), uu[:], &us); err != nil || us != "550e8400-e29b-41d4-a716-446655440000" {
		t.Fatalf("uuid into string: %v %v", us, err)
	}
	var set map[string]struct{}
	data, _, _ := Append(nil, SetOf(tText), []string{"a", "b"})
	if err := Decode(SetOf(tText), data, &set); err != nil || len(set) != 2 {
		t.Fatalf("set into map: %v %v", set, err)
	}
	var arr [2]string
	if err := Decode(SetOf(tText), data, &arr); err != nil || arr != [2]string{"a", "b"} {
		t.Fatalf("set into array: %v %v", arr, err)
	}
	var tup struct {
		N int
		S *string
	}
	data, _, _ = Append(nil, TupleOf(tInt, tText), []any{9, nil})
	if err := Decode(TupleOf(tInt, tText), data, &tup); err != nil || tup.N != 9 || tup.S != nil {
		t.Fatalf("tuple into struct: %+v %v", tup, err)
	}
	var d time.Duration
	data, _, _ = Append(nil, Native(Duration), 5*time.Second)
	if err := Decode(Native(Duration), data, &d); err != nil || d != 5*time.Second {
		t.Fatalf("duration into time.Duration: %v %v", d, err)
	}
	var ms int64
	if err := Decode(Native(Timestamp), []byte{0, 0, 0, 0, 0, 0, 0x03, 0xe8}, &ms); err != nil || ms != 1000 {
		t.Fatalf("timestamp into int64: %v %v", ms, err)
	}
}

func TestFloatVectorDecodeReusesBuffer(t *testing.T) {
	data, _, err := Append(nil, tVecFloat, []float32{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 0, 8)
	if err := Decode(tVecFloat, data, &buf); err != nil {
		t.Fatal(err)
	}
	if len(buf) != 3 || cap(buf) != 8 || buf[2] != 3 {
		t.Fatalf("got %v cap %d", buf, cap(buf))
	}
	allocs := testing.AllocsPerRun(100, func() {
		_ = Decode(tVecFloat, data, &buf)
	})
	if allocs != 0 {
		t.Fatalf("Decode into *[]float32 allocates %v times", allocs)
	}
	out := make([]byte, 0, 64)
	var boxed any = buf // callers hold values as any already
	allocs = testing.AllocsPerRun(100, func() {
		out, _, _ = Append(out[:0], tVecFloat, boxed)
	})
	if allocs != 0 {
		t.Fatalf("Append of []float32 allocates %v times", allocs)
	}
	allocs = testing.AllocsPerRun(100, func() {
		out, _, _ = Append(out[:0], tVecFloat, &buf)
	})
	if allocs != 0 {
		t.Fatalf("Append of []float32 allocates %v times", allocs)
	}
}

func TestEncodeErrors(t *testing.T) {
	cases := []struct {
		name string
		typ  *Type
		v    any
		want string
	}{
		{"tinyint overflow", Native(Tinyint), int64(300), "types: cannot encode int64 300 as tinyint: out of range"},
		{"string as int", tInt, "x", "types: cannot encode string as int"},
		{"vector length", tVecFloat, []float32{1, 2}, "types: cannot encode []float32 as vector<float, 3>: needs 3 elements, got 2"},
		{"vector length generic", VectorOf(tText, 2), []string{"a"}, "types: cannot encode []string as vector<varchar, 2>: needs 2 elements, got 1"},
		{"bigint from huge uint64", Native(Bigint), uint64(1) << 63, "types: cannot encode uint64 9223372036854775808 as bigint: out of range"},
		{"int from huge big", tInt, pow2(40), "types: cannot encode *big.Int 1099511627776 as int: out of range"},
		{"smallint underflow", Native(Smallint), -40000, "types: cannot encode int -40000 as smallint: out of range"},
		{"float overflow", Native(Float), 1e39, "types: cannot encode float64 1e+39 as float: out of range"},
		{"float inexact int", Native(Float), int64(1<<24 + 1), "types: cannot encode int64 16777217 as float: not exactly representable"},
		{"int as float kind", tInt, 1.5, "types: cannot encode float64 as int"},
		{"ascii non-ascii", Native(Ascii), "é", "types: cannot encode string as ascii: byte 0xc3 at offset 0 is not ASCII"},
		{"text invalid utf8", tText, string([]byte{0xff}), "types: cannot encode string as varchar: invalid UTF-8"},
		{"time out of range", Native(Time), 25 * time.Hour, "types: cannot encode time.Duration 25h0m0s as time: out of range"},
		{"time negative", Native(Time), -1, "as time: out of range"},
		{"duration mixed signs", Native(Duration), DurationValue{1, -1, 0}, "different signs"},
		{"inet zone", Native(Inet), netip.MustParseAddr("fe80::1%eth0"), "zone"},
		{"inet bad string", Native(Inet), "nope", "types: cannot encode string as inet"},
		{"inet short bytes", Native(Inet), net.IP{1, 2}, "address of 2 bytes"},
		{"uuid v4 as timeuuid", Native(Timeuuid), mustUUID("550e8400-e29b-41d4-a716-446655440000"), "version 4 UUID, timeuuid needs version 1"},
		{"uuid bad string", Native(UUID), "xyz", "invalid UUID"},
		{"uuid short bytes", Native(UUID), []byte{1}, "need 16 bytes, got 1"},
		{"bool as int", tInt, true, "types: cannot encode bool as int"},
		{"int as bool", Native(Boolean), 1, "types: cannot encode int as boolean"},
		{"int as text", tText, 5, "types: cannot encode int as varchar"},
		{"timestamp from string", Native(Timestamp), "2024-01-01", "types: cannot encode string as timestamp"},
		{"date from int", Native(Date), 5, "types: cannot encode int as date"},
		{"list null element", ListOf(tInt), []any{1, nil}, "types: cannot encode nil as int at [1]: null elements are not allowed"},
		{"list bad element", ListOf(tInt), []any{1, "x"}, "types: cannot encode string as int at [1]"},
		{"list from int", ListOf(tInt), 5, "types: cannot encode int as list<int>"},
		{"list<blob> from []byte", ListOf(Native(Blob)), []byte{1}, "types: cannot encode []uint8 as list<blob>"},
		{"map bad key", MapOf(tInt, tText), map[string]string{"k": "v"}, "types: cannot encode string as int at [k].key"},
		{"map bad value", MapOf(tText, tInt), map[string]string{"k": "v"}, "types: cannot encode string as int at [k]"},
		{"tuple length", TupleOf(tInt, tText), []any{1}, "types: cannot encode []interface {} as tuple<int, varchar>: needs 2 components, got 1"},
		{"udt unknown key", tAddress, map[string]any{"strete": "x"}, `no field "strete" in the type`},
		{"udt bad field", tAddress, map[string]any{"zip": "x"}, "types: cannot encode string as int at .zip"},
		{"udt struct stray field", tAddress, struct{ Street, Town string }{}, "struct field Town matches no field"},
		{"vector null element", VectorOf(tText, 2), []any{"a", nil}, "null elements are not allowed"},
		{"vector element kind", VectorOf(tInt, 1), []string{"a"}, "types: cannot encode string as int at [0]"},
		{"nested path", ListOf(MapOf(tText, ListOf(tInt))), []any{map[string]any{"a": []any{1, "x"}}}, "types: cannot encode string as int at [0][a][1]"},
		{"nil type", nil, 1, "types: cannot encode int as <nil type>: nil type"},
		{"list without elem", &Type{Kind: List}, []int{1}, "incomplete type descriptor"},
		{"vector without dimension", &Type{Kind: Vector, Elem: tInt}, []int{}, "incomplete type descriptor"},
		{"decimal NaN", Native(Decimal), math.NaN(), "not a finite number"},
		{"unknown kind", &Type{Kind: 0x99}, 1, "unknown kind"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Append(nil, c.typ, c.v)
			var ce *CodecError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *CodecError", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %q, want it to contain %q", err, c.want)
			}
		})
	}
	_, _, err := Append(nil, Native(Tinyint), int64(300))
	if !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("range errors wrap ErrOutOfRange: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	h := func(s string) []byte {
		b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		if err != nil {
			panic(err)
		}
		return b
	}
	var (
		i32  int32
		str  string
		f32  float32
		any_ any
		ip   netip.Addr
		tm   time.Time
		dur  time.Duration
	)
	cases := []struct {
		name string
		typ  *Type
		data []byte
		dst  any
		want string
	}{
		{"int 3 bytes", tInt, h("000001"), &i32, "types: cannot decode int into int32: needs 4 bytes, got 3"},
		{"int 3 bytes any", tInt, h("000001"), &any_, "types: cannot decode int into int32: needs 4 bytes, got 3"},
		{"bigint into int32 overflow", Native(Bigint), h("0000010000000000"), &i32, "types: cannot decode bigint into int32: out of range"},
		{"timestamp into string", Native(Timestamp), h("0000000000000001"), &str, "types: cannot decode timestamp into string"},
		{"double into float32", Native(Double), h("3ff8000000000000"), &f32, "types: cannot decode double into float32"},
		{"int into string", tInt, h("00000001"), &str, "types: cannot decode int into string"},
		{"inet 5 bytes", Native(Inet), h("0102030405"), &ip, "address of 5 bytes"},
		{"date 3 bytes", Native(Date), h("800000"), &tm, "needs 4 bytes"},
		{"time out of range", Native(Time), h("00004e94914f0000"), &dur, "not a time of day"},
		{"time negative", Native(Time), h("ffffffffffffffff"), &any_, "not a time of day"},
		{"ascii high byte", Native(Ascii), h("61ff"), &str, "not ASCII"},
		{"text invalid utf8", tText, h("ff"), &any_, "invalid UTF-8"},
		{"decimal short", Native(Decimal), h("00000001"), &any_, "truncated"},
		{"duration truncated vint", Native(Duration), h("02 04 c0"), &any_, "truncated"},
		{"duration trailing", Native(Duration), h("020406 00"), &any_, "1 bytes after the duration"},
		{"duration months overflow", Native(Duration), h("f100000000 00 00"), &any_, "exceed 32 bits"},
		{"duration mixed signs", Native(Duration), h("02 03 00"), &any_, "different signs"},
		{"uuid 15 bytes", Native(UUID), make([]byte, 15), &any_, "needs 16 bytes, got 15"},
		{"list huge count", ListOf(tInt), h("7fffffff 00000004 00000001"), &any_, "truncated: 2147483647 elements need at least"},
		{"list negative count", ListOf(tInt), h("ffffffff"), &any_, "negative element count"},
		{"list truncated element", ListOf(tInt), h("00000001 00000008 00000001"), &any_, "element of 8 bytes, 4 remain"},
		{"list trailing", ListOf(tInt), h("00000001 00000004 00000001 00"), &any_, "1 bytes after the last element"},
		{"list element bad size", ListOf(tInt), h("00000001 00000002 0001"), &any_, "types: cannot decode int into int32 at [0]: needs 4 bytes, got 2"},
		{"list into array wrong size", ListOf(tInt), h("00000001 00000004 00000001"), &[2]int32{}, "1 elements for an array of 2"},
		{"map huge count", MapOf(tText, tInt), h("00100000 00000000"), &any_, "truncated"},
		{"map into []int", MapOf(tText, tInt), h("00000000"), &[]int{}, "types: cannot decode map<varchar, int> into []int"},
		{"tuple trailing", TupleOf(tInt), h("00000004 00000001 ffffffff"), &any_, "4 bytes after the last component"},
		{"tuple truncated", TupleOf(tInt, tInt), h("00000004 00000001 000000"), &any_, "truncated"},
		{"udt into int", tAddress, h("ffffffff"), &i32, "types: cannot decode ks.address into int32"},
		{"vector wrong size", tVecFloat, h("3f800000"), &any_, "needs 12 bytes for 3 floats, got 4"},
		{"vector wrong size typed", tVecFloat, h("3f800000"), &[]float32{}, "needs 12 bytes for 3 floats, got 4"},
		{"vector wrong size generic", VectorOf(tInt, 2), h("00000001"), &any_, "needs 8 bytes for 2 elements of 4, got 4"},
		{"vector variable truncated", VectorOf(tText, 2), h("05 61"), &any_, "truncated"},
		{"vector variable count", VectorOf(tText, 3), h("00 00"), &any_, "3 elements cannot fit in 2 bytes"},
		{"vector trailing", VectorOf(tText, 1), h("01 61 62"), &any_, "1 bytes after the last element"},
		{"list null element", ListOf(tInt), h("00000001 ffffffff"), &any_, "at [0]: null elements are not allowed"},
		{"list empty int element", ListOf(tInt), h("00000001 00000000"), &any_, "null elements are not allowed"},
		{"map null value", MapOf(tText, tInt), h("00000001 00000001 61 ffffffff"), &any_, "null elements are not allowed"},
		{"map null value entries", MapOf(Native(Blob), tInt), h("00000001 00000001 61 ffffffff"), &any_, "null elements are not allowed"},
		{"vector empty smallint", VectorOf(Native(Smallint), 1), h("00"), &any_, "null elements are not allowed"},
		{"timeuuid v4", Native(Timeuuid), h("550e8400e29b41d4a716446655440000"), &any_, "version 4 UUID, timeuuid needs version 1"},
		{"not a pointer", tInt, h("00000001"), i32, "destination must be a non-nil pointer"},
		{"nil pointer", tInt, h("00000001"), (*int32)(nil), "destination must be a non-nil pointer"},
		{"nil type", nil, h("00000001"), &i32, "nil type"},
		{"map with unhashable key", MapOf(Native(Blob), tInt), h("00000001 00000001 01 00000004 00000002"), &map[any]int32{}, "not comparable"},
		{"non-empty interface", tInt, h("00000001"), new(error), "non-empty interface"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Decode(c.typ, c.data, c.dst)
			var ce *CodecError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *CodecError", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %q, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestVint(t *testing.T) {
	cases := []struct {
		v   uint64
		hex string
	}{
		{0, "00"}, {1, "01"}, {127, "7f"}, {128, "8080"}, {16383, "bfff"}, {16384, "c04000"},
		{256000, "c3e800"}, // the spec's example
		{1<<56 - 1, "feffffffffffffff"}, {1 << 56, "ff0100000000000000"}, {math.MaxUint64, "ffffffffffffffffff"},
	}
	for _, c := range cases {
		got := hex.EncodeToString(AppendUvint(nil, c.v))
		if got != c.hex {
			t.Errorf("AppendUvint(%d) = %s, want %s", c.v, got, c.hex)
		}
		b, _ := hex.DecodeString(c.hex)
		v, n, err := ReadUvint(b)
		if err != nil || v != c.v || n != len(b) {
			t.Errorf("ReadUvint(%s) = %d, %d, %v", c.hex, v, n, err)
		}
		if _, _, err := ReadUvint(b[:len(b)-1]); err == nil {
			t.Errorf("ReadUvint(%s truncated) succeeded", c.hex)
		}
	}
	for _, v := range []int64{0, -1, 1, -2, 2, math.MaxInt64, math.MinInt64, math.MinInt32} {
		b := AppendVint(nil, v)
		got, n, err := ReadVint(b)
		if err != nil || got != v || n != len(b) {
			t.Errorf("vint %d: got %d %d %v", v, got, n, err)
		}
	}
	// Longer-than-needed encodings are accepted.
	if v, n, err := ReadUvint([]byte{0x80, 0x01}); v != 1 || n != 2 || err != nil {
		t.Errorf("non-minimal vint: %d %d %v", v, n, err)
	}
}

func TestUUIDAndDecimalText(t *testing.T) {
	u := mustUUID("550E8400-E29B-41D4-A716-446655440000")
	if u.String() != "550e8400-e29b-41d4-a716-446655440000" || u.Version() != 4 {
		t.Fatalf("got %v v%d", u, u.Version())
	}
	if v, err := ParseUUID("550e8400e29b41d4a716446655440000"); err != nil || v != u {
		t.Fatalf("32-digit form: %v %v", v, err)
	}
	for _, bad := range []string{"", "550e8400-e29b-41d4-a716-44665544000g", "550e8400+e29b-41d4-a716-446655440000", "abc"} {
		if _, err := ParseUUID(bad); err == nil {
			t.Errorf("ParseUUID(%q) succeeded", bad)
		}
	}
	for _, c := range []struct{ in, out string }{
		{"123.45", "123.45"}, {"-0.001", "-0.001"}, {"0", "0"}, {"1E+3", "1E+3"}, {"1.50", "1.50"},
		{"0.0000001", "1E-7"}, {"-12e-2", "-0.12"}, {"+5", "5"}, {".5", "0.5"}, {"123456789012345678901234567890", "123456789012345678901234567890"},
	} {
		d, err := ParseDecimal(c.in)
		if err != nil {
			t.Errorf("ParseDecimal(%q): %v", c.in, err)
			continue
		}
		if d.String() != c.out {
			t.Errorf("ParseDecimal(%q).String() = %q, want %q", c.in, d.String(), c.out)
		}
	}
	for _, bad := range []string{"", ".", "1.2.3", "--1", "1e", "e5", "1x", "1e99999999999"} {
		if _, err := ParseDecimal(bad); err == nil {
			t.Errorf("ParseDecimal(%q) succeeded", bad)
		}
	}
	if s := (DurationValue{1, 2, 3}).String(); s != "1mo2d3ns" {
		t.Errorf("duration string %q", s)
	}
	if s := (DurationValue{0, -2, 0}).String(); s != "-2d" {
		t.Errorf("duration string %q", s)
	}
}

type celsius float64

func (c celsius) AppendCQL(dst []byte, t *Type) ([]byte, bool, error) {
	return Append(dst, t, float64(c)*10)
}

type upper string

func (u *upper) UnmarshalCQL(t *Type, data []byte) error {
	*u = upper(strings.ToUpper(string(data)))
	return nil
}

func TestMarshalerHooks(t *testing.T) {
	b, _, err := Append(nil, Native(Double), celsius(1.5))
	if err != nil || hex.EncodeToString(b) != "402e000000000000" {
		t.Fatalf("Marshaler: %x %v", b, err)
	}
	var u upper
	if err := Decode(tText, []byte("abc"), &u); err != nil || u != "ABC" {
		t.Fatalf("Unmarshaler: %q %v", u, err)
	}
	var us []upper
	data, _, _ := Append(nil, ListOf(tText), []string{"x", "y"})
	if err := Decode(ListOf(tText), data, &us); err != nil || len(us) != 2 || us[1] != "Y" {
		t.Fatalf("Unmarshaler in list: %q %v", us, err)
	}
}

func TestNamedTypes(t *testing.T) {
	type myInt int16
	type myString string
	type myUUID [16]byte
	b, _, err := Append(nil, tInt, myInt(5))
	if err != nil || hex.EncodeToString(b) != "00000005" {
		t.Fatalf("named int: %x %v", b, err)
	}
	b, _, err = Append(nil, tText, myString("q"))
	if err != nil || string(b) != "q" {
		t.Fatalf("named string: %x %v", b, err)
	}
	b, _, err = Append(nil, Native(UUID), myUUID{0: 1})
	if err != nil || len(b) != 16 || b[0] != 1 {
		t.Fatalf("named uuid: %x %v", b, err)
	}
	var mu myUUID
	if err := Decode(Native(UUID), b, &mu); err != nil || mu[0] != 1 {
		t.Fatalf("decode named uuid: %v %v", mu, err)
	}
	var ms myString
	if err := Decode(tText, []byte("z"), &ms); err != nil || ms != "z" {
		t.Fatalf("decode named string: %v %v", ms, err)
	}
	v := int32(9)
	pv := &v
	b, _, err = Append(nil, tInt, &pv)
	if err != nil || hex.EncodeToString(b) != "00000009" {
		t.Fatalf("**int32: %x %v", b, err)
	}
}
