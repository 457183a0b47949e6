package query_test

import (
	"math"
	"testing"
	"unicode/utf8"

	"github.com/cqlwire/cqlwire/query"
	"github.com/cqlwire/cqlwire/types"
)

// FuzzBindSimpleRoundTrip binds inferred values and decodes them back: what
// BindSimple encodes must be what a server (or Scan) reads.
func FuzzBindSimpleRoundTrip(f *testing.F) {
	f.Add(int64(0), int32(0), "", []byte(nil), 0.0, false, "n")
	f.Add(int64(-1), int32(math.MaxInt32), "héllo", []byte{0, 1}, math.Inf(-1), true, "")
	f.Add(int64(math.MinInt64), int32(-7), "\xff", []byte{}, math.NaN(), true, "Name")
	f.Fuzz(func(t *testing.T, i64 int64, i32 int32, s string, b []byte, d float64, ok bool, name string) {
		values := []any{i64, i32, s, b, d, ok, []string{s, s}, map[int32]string{i32: s}}
		if name != "" {
			for i, v := range values {
				values[i] = query.Named(name+string(rune('a'+i)), v)
			}
		}
		_, vals, names, err := query.BindSimple(nil, nil, values)
		if err != nil {
			if utf8.ValidString(s) {
				t.Fatalf("BindSimple: %v", err)
			}
			return
		}
		if (name != "") != (names != nil) {
			t.Fatalf("names %q for name %q", names, name)
		}
		var (
			g64 int64
			g32 int32
			gs  string
			gb  []byte
			gd  float64
			gok bool
			gl  []string
			gm  map[int32]string
		)
		decode := func(i int, typ *types.Type, dst any) {
			t.Helper()
			if err := types.Decode(typ, vals[i].Bytes, dst); err != nil {
				t.Fatalf("value %d: %v", i, err)
			}
		}
		decode(0, tBigint, &g64)
		decode(1, tInt, &g32)
		decode(2, tText, &gs)
		decode(3, tBlob, &gb)
		decode(4, tDouble, &gd)
		decode(5, tBool, &gok)
		decode(6, types.ListOf(tText), &gl)
		decode(7, types.MapOf(tInt, tText), &gm)
		if g64 != i64 || g32 != i32 || gs != s || string(gb) != string(b) || (b == nil) != (gb == nil) ||
			math.Float64bits(gd) != math.Float64bits(d) || gok != ok ||
			len(gl) != 2 || gl[0] != s || gm[i32] != s {
			t.Fatalf("round trip: %v %v %q %x %v %v %q %v", g64, g32, gs, gb, gd, gok, gl, gm)
		}
	})
}
