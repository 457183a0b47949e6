package types

import (
	"math/rand/v2"
	"testing"
)

func benchVector() []float32 {
	r := rand.New(rand.NewPCG(1, 2))
	v := make([]float32, 768)
	for i := range v {
		v[i] = r.Float32()*2 - 1
	}
	return v
}

func BenchmarkVectorFloat768Encode(b *testing.B) {
	v := benchVector()
	buf := make([]byte, 0, 4*len(v))
	b.SetBytes(int64(4 * len(v)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendFloat32Vector(buf[:0], v)
	}
}

func BenchmarkVectorFloat768Decode(b *testing.B) {
	data := AppendFloat32Vector(nil, benchVector())
	dst := make([]float32, 768)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = DecodeFloat32Vector(dst, data)
	}
}

// The same through Append/Decode, as a driver binding a value would call.
func BenchmarkVectorFloat768Append(b *testing.B) {
	typ := VectorOf(Native(Float), 768)
	var v any = benchVector()
	buf := make([]byte, 0, 4*768)
	b.SetBytes(4 * 768)
	b.ReportAllocs()
	for b.Loop() {
		buf, _, _ = Append(buf[:0], typ, v)
	}
}

func BenchmarkVectorFloat768DecodeGeneric(b *testing.B) {
	typ := VectorOf(Native(Float), 768)
	data := AppendFloat32Vector(nil, benchVector())
	dst := make([]float32, 768)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		_ = Decode(typ, data, &dst)
	}
}

func benchAppend(b *testing.B, typ *Type, v any) {
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf, _, _ = Append(buf[:0], typ, v)
	}
}

func BenchmarkAppendInt(b *testing.B)    { benchAppend(b, Native(Int), any(int32(123456))) }
func BenchmarkAppendBigint(b *testing.B) { benchAppend(b, Native(Bigint), any(int64(1)<<40)) }
func BenchmarkAppendText(b *testing.B) {
	benchAppend(b, Native(Varchar), any("the quick brown fox jumps over the lazy dog"))
}
func BenchmarkAppendUUID(b *testing.B) {
	benchAppend(b, Native(UUID), any(mustUUID("550e8400-e29b-41d4-a716-446655440000")))
}
func BenchmarkAppendListText(b *testing.B) {
	benchAppend(b, ListOf(Native(Varchar)), any([]string{"a", "bb", "ccc"}))
}

func BenchmarkDecodeInt(b *testing.B) {
	data := []byte{0, 1, 0xE2, 0x40}
	var x int32
	b.ReportAllocs()
	for b.Loop() {
		_ = Decode(tInt, data, &x)
	}
}

func BenchmarkDecodeBigint(b *testing.B) {
	data := []byte{0, 0, 1, 0, 0, 0, 0, 0}
	var x int64
	b.ReportAllocs()
	for b.Loop() {
		_ = Decode(tBigint, data, &x)
	}
}

func BenchmarkDecodeText(b *testing.B) {
	data := []byte("the quick brown fox jumps over the lazy dog")
	var s string
	b.ReportAllocs()
	for b.Loop() {
		_ = Decode(tText, data, &s)
	}
}

func BenchmarkDecodeIntAny(b *testing.B) {
	data := []byte{0, 1, 0xE2, 0x40}
	var x any
	b.ReportAllocs()
	for b.Loop() {
		_ = Decode(tInt, data, &x)
	}
}

func BenchmarkDecodeListTextAny(b *testing.B) {
	typ := ListOf(Native(Varchar))
	data, _, _ := Append(nil, typ, []string{"a", "bb", "ccc"})
	var x any
	b.ReportAllocs()
	for b.Loop() {
		_ = Decode(typ, data, &x)
	}
}

func BenchmarkReadOption(b *testing.B) {
	opt, _ := AppendOption(nil, MapOf(Native(Varchar), ListOf(Native(Int))))
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = ReadOption(opt)
	}
}

var tBigint = Native(Bigint)
