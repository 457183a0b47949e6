package query

import (
	"reflect"
	"testing"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/types"
)

func TestStructCache(t *testing.T) {
	type S struct {
		A int32
		B string `cql:"bee"`
	}
	cols := []frame.ColumnSpec{
		{Name: "a", Type: types.Native(types.Int)},
		{Name: "bee", Type: types.Native(types.Varchar)},
	}
	var r Row
	r.Set(cols, [][]byte{{0, 0, 0, 1}, []byte("x")})
	var s S
	if err := r.ScanStruct(&s); err != nil {
		t.Fatal(err)
	}
	rt := reflect.TypeFor[S]()
	c, ok := structCache.Load(rt)
	if !ok {
		t.Fatal("struct type not cached")
	}
	info := c.(*structInfo)
	res := info.last.Load()
	if res == nil || !reflect.DeepEqual(res.fields, []int{0, 1}) {
		t.Fatalf("resolution %+v", res)
	}
	for range 3 {
		if err := r.ScanStruct(&s); err != nil {
			t.Fatal(err)
		}
	}
	if c2, _ := structCache.Load(rt); c2 != c {
		t.Error("struct info rebuilt")
	}
	if info.last.Load() != res {
		t.Error("column resolution recomputed for the same columns")
	}
	if s.A != 1 || s.B != "x" {
		t.Errorf("got %+v", s)
	}
}
