package types

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"testing"
	"time"
)

// fuzzTypes is the set of types FuzzDecode picks from.
var fuzzTypes = []*Type{
	Native(Ascii), Native(Bigint), Native(Blob), Native(Boolean), Native(Counter),
	Native(Decimal), Native(Double), Native(Float), Native(Int), Native(Timestamp),
	Native(UUID), Native(Varchar), Native(Varint), Native(Timeuuid), Native(Inet),
	Native(Date), Native(Time), Native(Smallint), Native(Tinyint), Native(Duration),
	&Type{Kind: Custom, Class: "com.example.X"},
	ListOf(tInt), SetOf(tText), MapOf(tText, tInt), MapOf(Native(Blob), ListOf(tInt)),
	MapOf(Native(Double), Native(Varint)),
	TupleOf(tInt, tText, Native(UUID)), tAddress,
	tVecFloat, VectorOf(tText, 2), VectorOf(Native(Smallint), 2), VectorOf(ListOf(tInt), 2),
	VectorOf(Native(Varint), 1), VectorOf(VectorOf(Native(Double), 2), 2),
	ListOf(MapOf(tInt, TupleOf(tText, Native(Varint)))), SetOf(Native(Date)),
	TupleOf(Native(Decimal), Native(Duration), ListOf(tAddress)),
}

// checkReencode decodes data into *any and, if that works, checks that the
// value re-encodes and that a second round gives the same bytes and value.
func checkReencode(t *testing.T, typ *Type, data []byte) {
	var v any
	if err := Decode(typ, data, &v); err != nil {
		var ce *CodecError
		if !errors.As(err, &ce) {
			t.Fatalf("Decode(%v) error %T: %v", typ, err, err)
		}
		return
	}
	// A non-nil dst, so an empty value stays distinct from null (nil).
	b1, null, err := Append([]byte{}, typ, v)
	if err != nil {
		t.Fatalf("Append(%v, %#v) after decoding %x: %v", typ, v, data, err)
	}
	if null != (v == nil) {
		t.Fatalf("null = %v for %#v", null, v)
	}
	if null {
		return
	}
	var v2 any
	if err := Decode(typ, b1, &v2); err != nil {
		t.Fatalf("Decode(%v, %x) of re-encoded value: %v", typ, b1, err)
	}
	if reflect.TypeOf(v) != reflect.TypeOf(v2) || fmt.Sprint(v) != fmt.Sprint(v2) {
		t.Fatalf("round trip of %v: %v then %v", typ, v, v2)
	}
	b2, _, err := Append([]byte{}, typ, v2)
	if err != nil {
		t.Fatalf("second Append: %v", err)
	}
	if len(b1) != len(b2) {
		t.Fatalf("second encoding %x, first %x", b2, b1)
	}
	if !hasMap(typ) && !bytes.Equal(b1, b2) {
		t.Fatalf("second encoding %x, first %x", b2, b1)
	}
}

// hasMap reports types whose encoding follows Go's random map order.
func hasMap(t *Type) bool {
	switch t.Kind {
	case Map, UDT:
		return true
	case List, Set, Vector:
		return hasMap(t.Elem)
	case Tuple:
		for _, e := range t.Elems {
			if hasMap(e) {
				return true
			}
		}
	}
	return false
}

func FuzzDecode(f *testing.F) {
	for _, c := range knownAnswers() {
		b, _, err := Append(nil, c.typ, c.in)
		if err != nil {
			f.Fatal(err)
		}
		for i, typ := range fuzzTypes {
			if Equal(typ, c.typ) {
				f.Add(uint8(i), b)
			}
		}
	}
	f.Add(uint8(21), []byte{0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		checkReencode(t, fuzzTypes[int(which)%len(fuzzTypes)], data)
	})
}

// FuzzDecodeOption reads a type from the input and decodes the rest as a
// value of it, so the fuzzer explores types as well as values.
func FuzzDecodeOption(f *testing.F) {
	for _, c := range knownAnswers() {
		opt, err := AppendOption(nil, c.typ)
		if err != nil {
			f.Fatal(err)
		}
		b, _, _ := Append(opt, c.typ, c.in)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, n, err := ReadOption(b)
		if err != nil {
			return
		}
		checkReencode(t, typ, b[n:])
	})
}

func FuzzIntRoundTrip(f *testing.F) {
	f.Add(int64(0))
	f.Add(int64(-1))
	f.Add(int64(math.MaxInt64))
	f.Add(int64(math.MinInt64))
	f.Add(int64(128))
	f.Add(int64(-129))
	f.Fuzz(func(t *testing.T, i int64) {
		for _, k := range []Kind{Tinyint, Smallint, Int, Bigint, Counter, Varint} {
			typ := Native(k)
			b, _, err := Append(nil, typ, i)
			lo, hi, _ := intRange(k)
			if k != Varint && (i < lo || i > hi) {
				if !errors.Is(err, ErrOutOfRange) {
					t.Fatalf("%v %d: err = %v, want out of range", k, i, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%v %d: %v", k, i, err)
			}
			var got int64
			if err := Decode(typ, b, &got); err != nil || got != i {
				t.Fatalf("%v %d: decoded %d, %v (bytes %x)", k, i, got, err, b)
			}
			// A varint is the shortest form: dropping its first byte
			// changes the value.
			if k == Varint && len(b) > 1 {
				if varint64(b[1:]) == i {
					t.Fatalf("varint %d: %x is not minimal", i, b)
				}
			}
		}
		// Unsigned values beyond MaxInt64 for varint.
		u := uint64(i) | 1<<63
		b, _, err := Append(nil, Native(Varint), u)
		if err != nil {
			t.Fatal(err)
		}
		var got uint64
		if err := Decode(Native(Varint), b, &got); err != nil || got != u {
			t.Fatalf("varint %d: decoded %d, %v", u, got, err)
		}
	})
}

func FuzzVarintRoundTrip(f *testing.F) {
	f.Add([]byte{0x00}, false)
	f.Add([]byte{0x80}, true)
	f.Add(bytes.Repeat([]byte{0xff}, 40), true)
	f.Fuzz(func(t *testing.T, mag []byte, neg bool) {
		x := new(big.Int).SetBytes(mag)
		if neg {
			x.Neg(x)
		}
		b := AppendVarint(nil, x)
		if got := DecodeVarint(b); got.Cmp(x) != 0 {
			t.Fatalf("%v encoded %x decoded %v", x, b, got)
		}
		if len(b) > 1 && DecodeVarint(b[1:]).Cmp(x) == 0 {
			t.Fatalf("%v: %x is not minimal", x, b)
		}
		var d any
		if err := Decode(Native(Varint), b, &d); err != nil || d.(*big.Int).Cmp(x) != 0 {
			t.Fatalf("Decode(%x) = %v, %v", b, d, err)
		}
	})
}

func FuzzDecimalRoundTrip(f *testing.F) {
	f.Add([]byte{0x30, 0x39}, false, int32(2))
	f.Add([]byte{}, true, int32(-7))
	f.Add([]byte{0x01, 0x00}, false, int32(math.MinInt32))
	f.Fuzz(func(t *testing.T, mag []byte, neg bool, scale int32) {
		u := new(big.Int).SetBytes(mag)
		if neg {
			u.Neg(u)
		}
		d := DecimalValue{Unscaled: u, Scale: scale}
		b, _, err := Append(nil, Native(Decimal), d)
		if err != nil {
			t.Fatal(err)
		}
		if int32(binary.BigEndian.Uint32(b)) != scale {
			t.Fatalf("scale bytes %x", b[:4])
		}
		var got DecimalValue
		if err := Decode(Native(Decimal), b, &got); err != nil {
			t.Fatal(err)
		}
		if got.Scale != scale || got.Unscaled.Cmp(u) != 0 {
			t.Fatalf("%v round-tripped to %v", d, got)
		}
		// The text form parses back to the same value.
		if len(mag) <= 64 {
			back, err := ParseDecimal(d.String())
			if err != nil || back.Scale != scale || back.Unscaled.Cmp(u) != 0 {
				t.Fatalf("ParseDecimal(%q) = %v, %v", d.String(), back, err)
			}
		}
	})
}

func FuzzDurationRoundTrip(f *testing.F) {
	f.Add(int32(1), int32(2), int64(3))
	f.Add(int32(-1), int32(-2), int64(-3))
	f.Add(int32(math.MinInt32), int32(0), int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, months, days int32, nanos int64) {
		d := DurationValue{months, days, nanos}
		b, _, err := Append(nil, Native(Duration), d)
		if !d.valid() {
			if err == nil {
				t.Fatalf("%v encoded despite mixed signs", d)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var got DurationValue
		if err := Decode(Native(Duration), b, &got); err != nil || got != d {
			t.Fatalf("%v: got %v, %v (bytes %x)", d, got, err, b)
		}
	})
}

func FuzzFloatVectorRoundTrip(f *testing.F) {
	f.Add([]byte{0x3f, 0x80, 0, 0, 0xc0, 0x20, 0, 0, 0x3d, 0xcc, 0xcc, 0xcd})
	f.Add([]byte{0x7f, 0xc0, 0, 1})
	f.Fuzz(func(t *testing.T, raw []byte) {
		raw = raw[:len(raw)/4*4]
		v, err := DecodeFloat32Vector(nil, raw)
		if err != nil {
			t.Fatal(err)
		}
		if len(v) != len(raw)/4 {
			t.Fatalf("%d floats from %d bytes", len(v), len(raw))
		}
		// Bit-exact, NaN payloads included.
		if b := AppendFloat32Vector(nil, v); !bytes.Equal(b, raw) {
			t.Fatalf("re-encoded %x, want %x", b, raw)
		}
		if len(v) == 0 {
			return
		}
		typ := VectorOf(Native(Float), len(v))
		b, _, err := Append(nil, typ, v)
		if err != nil || !bytes.Equal(b, raw) {
			t.Fatalf("Append: %x %v", b, err)
		}
		// The generic path (through reflection) must agree with the fast one.
		generic := make([]any, len(v))
		for i, x := range v {
			generic[i] = x
		}
		b, _, err = Append(nil, typ, generic)
		if err != nil || !bytes.Equal(b, raw) {
			t.Fatalf("generic Append: %x %v", b, err)
		}
	})
}

func FuzzTextListRoundTrip(f *testing.F) {
	f.Add("a", "bc", "")
	f.Add("héllo", "\x00", "日本")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		in := []string{a, b, c}
		for _, typ := range []*Type{ListOf(tText), VectorOf(tText, 3), ListOf(Native(Ascii))} {
			enc, _, err := Append(nil, typ, in)
			if err != nil {
				var ce *CodecError
				if !errors.As(err, &ce) {
					t.Fatalf("%v: %v", typ, err)
				}
				continue // invalid UTF-8 or non-ASCII
			}
			var out []string
			if err := Decode(typ, enc, &out); err != nil {
				t.Fatalf("%v: %v", typ, err)
			}
			if !reflect.DeepEqual(in, out) {
				t.Fatalf("%v: %q became %q", typ, in, out)
			}
		}
	})
}

func FuzzTimestampDate(f *testing.F) {
	f.Add(int64(0), int64(0))
	f.Add(int64(math.MinInt64), int64(-1))
	f.Add(int64(math.MaxInt64), int64(999999))
	f.Fuzz(func(t *testing.T, ms int64, extraNanos int64) {
		extra := extraNanos % 1e6
		if extra < 0 {
			extra = -extra
		}
		// Sub-millisecond parts are dropped, so every ms value is reachable.
		tm := time.UnixMilli(ms).Add(time.Duration(extra))
		b, _, err := Append(nil, Native(Timestamp), tm)
		if err != nil {
			t.Fatalf("%v: %v", tm, err)
		}
		var got time.Time
		if err := Decode(Native(Timestamp), b, &got); err != nil || got.UnixMilli() != ms {
			t.Fatalf("%v: got %v, %v", tm, got, err)
		}
		// Dates: any 32-bit wire value round-trips.
		var wire [4]byte
		binary.BigEndian.PutUint32(wire[:], uint32(ms))
		if err := Decode(Native(Date), wire[:], &got); err != nil {
			t.Fatal(err)
		}
		b, _, err = Append(nil, Native(Date), got)
		if err != nil || !bytes.Equal(b, wire[:]) {
			t.Fatalf("date %x: %v re-encoded %x, %v", wire, got, b, err)
		}
	})
}
