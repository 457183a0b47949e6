package query_test

import (
	"testing"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/query"
	"github.com/cqlwire/cqlwire/types"
)

// A prepared INSERT of the usual shape: key, counters, text, blob, a score
// and an embedding.
var (
	benchCols = []frame.ColumnSpec{
		col("id", tBigint), col("n", tInt), col("name", tText), col("data", tBlob),
		col("score", tDouble), col("vec", types.VectorOf(types.Native(types.Float), 768)),
	}
	benchValues = []any{int64(123456789), int32(42), "a name of some length", []byte("0123456789abcdef"),
		3.14159, make([]float32, 768)}
	benchSmallValues = []any{int64(123456789), int32(42), "a name of some length", []byte("0123456789abcdef"),
		3.14159, []float32{1, 2, 3}}
)

func TestBindAllocs(t *testing.T) {
	buf := make([]byte, 0, 8192)
	dst := make([]frame.Value, 0, len(benchCols))
	values := []any{int(7), int64(1), "s", []byte{1}, float32(1), []float32(nil)}
	cols := []frame.ColumnSpec{col("a", tBigint), col("b", tBigint), col("c", tText), col("d", tBlob), col("e", tFloat), col("f", tVec3)}
	n := testing.AllocsPerRun(100, func() {
		var err error
		if buf, dst, err = query.Bind(buf[:0], dst, cols, values); err != nil {
			t.Fatal(err)
		}
		if buf, dst, err = query.Bind(buf[:0], dst, benchCols, benchValues); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("%v allocs per Bind with capacity, want 0", n)
	}
	named := []any{query.Named("ID", int64(1)), query.Named("n", int32(2)), query.Named("name", "x"),
		query.Named("data", []byte{}), query.Named("score", 1.0), query.Named("vec", make([]float32, 768))}
	n = testing.AllocsPerRun(100, func() {
		var err error
		if buf, dst, err = query.Bind(buf[:0], dst, benchCols, named); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("%v allocs per named Bind with capacity, want 0", n)
	}
}

func BenchmarkBind(b *testing.B) {
	buf := make([]byte, 0, 8192)
	dst := make([]frame.Value, 0, len(benchCols))
	var err error
	for b.Loop() {
		if buf, dst, err = query.Bind(buf[:0], dst, benchCols, benchValues); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkBindNamed(b *testing.B) {
	buf := make([]byte, 0, 8192)
	dst := make([]frame.Value, 0, len(benchCols))
	named := make([]any, len(benchCols))
	for i := range benchCols {
		named[len(named)-1-i] = query.Named(benchCols[i].Name, benchValues[i])
	}
	var err error
	for b.Loop() {
		if buf, dst, err = query.Bind(buf[:0], dst, benchCols, named); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBindSimple(b *testing.B) {
	buf := make([]byte, 0, 8192)
	dst := make([]frame.Value, 0, len(benchSmallValues))
	var err error
	for b.Loop() {
		if buf, dst, _, err = query.BindSimple(buf[:0], dst, benchSmallValues); err != nil {
			b.Fatal(err)
		}
	}
}

func benchRow(b *testing.B, spec ...any) *query.Row {
	return makeRow(b, spec...)
}

func BenchmarkScan3Fixed(b *testing.B) {
	r := benchRow(b, "a", tInt, int32(1), "b", tBigint, int64(2), "c", tDouble, 3.0)
	var x int32
	var y int64
	var z float64
	for b.Loop() {
		if err := r.Scan(&x, &y, &z); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScanWithText(b *testing.B) {
	r := benchRow(b, "a", tInt, int32(1), "b", tText, "some text value", "c", tDouble, 3.0)
	var x int32
	var s string
	var z float64
	for b.Loop() {
		if err := r.Scan(&x, &s, &z); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScanVector768(b *testing.B) {
	r := benchRow(b, "id", tBigint, int64(1), "vec", types.VectorOf(types.Native(types.Float), 768), make([]float32, 768))
	var id int64
	vec := make([]float32, 0, 768)
	for b.Loop() {
		if err := r.Scan(&id, &vec); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(768 * 4)
}

func BenchmarkScanStruct(b *testing.B) {
	type S struct {
		A int32
		B int64
		C float64
	}
	r := benchRow(b, "a", tInt, int32(1), "b", tBigint, int64(2), "c", tDouble, 3.0)
	var s S
	for b.Loop() {
		if err := r.ScanStruct(&s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMap(b *testing.B) {
	r := benchRow(b, "a", tInt, int32(1), "b", tText, "x", "c", tDouble, 3.0)
	m := make(map[string]any, 3)
	for b.Loop() {
		if err := r.MapInto(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMonotonicTimestamps(b *testing.B) {
	gen := query.NewMonotonicTimestamps()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			gen.Next()
		}
	})
}
