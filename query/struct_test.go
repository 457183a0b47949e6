package query_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/query"
	"github.com/cqlwire/cqlwire/types"
)

type Base struct {
	ID      int32
	Created int64 `cql:"created_at"`
}

type inner struct {
	Zone string
}

type Deep struct {
	Level string
	ID    int32 // at the depth of Base.ID, but declared after it: not filled
}

type Node struct {
	Base
	inner
	*Deep
	ReleaseVersion string
	Name           string `cql:"node_name"`
	Skipped        string `cql:"-"`
	secret         string
	Tags           []string
	Maybe          *int32
	Untouched      string
	Host_ID        string
}

func TestScanStruct(t *testing.T) {
	r := makeRow(t,
		"id", tInt, int32(7),
		"created_at", tBigint, int64(99),
		"zone", tText, "z1",
		"level", tText, "L",
		"release_version", tText, "5.0",
		"node_name", tText, "n1",
		"name", tText, "not-this", // Name is tagged node_name
		"skipped", tText, "s",
		"secret", tText, "s",
		"tags", types.ListOf(tText), []string{"a"},
		"maybe", tInt, nil,
		"host_id", tText, "h",
		"extra", tText, "ignored",
	)
	n := Node{Untouched: "keep", Skipped: "keep", Maybe: new(int32)}
	if err := r.ScanStruct(&n); err != nil {
		t.Fatal(err)
	}
	want := Node{
		Base:           Base{ID: 7, Created: 99},
		inner:          inner{Zone: "z1"},
		Deep:           &Deep{Level: "L"}, // ID goes to the shallower Base.ID
		ReleaseVersion: "5.0",
		Name:           "n1",
		Skipped:        "keep",
		Tags:           []string{"a"},
		Untouched:      "keep",
		Host_ID:        "h",
	}
	if !reflect.DeepEqual(n, want) {
		t.Errorf("got  %+v %+v\nwant %+v %+v", n, n.Deep, want, want.Deep)
	}
}

func TestScanStructCaseAndUnderscores(t *testing.T) {
	type S struct {
		UserID  int32
		Email   string
		CamelCa string `cql:"CamelCa"`
	}
	r := makeRow(t, "user_id", tInt, int32(1), "EMAIL", tText, "e", "camelca", tText, "no")
	var s S
	if err := r.ScanStruct(&s); err != nil {
		t.Fatal(err)
	}
	// Tags match exactly: "camelca" is not "CamelCa", but the untagged
	// matching does not apply to a tagged field either.
	if s != (S{UserID: 1, Email: "e"}) {
		t.Errorf("got %+v", s)
	}
}

func TestScanStructFirstAtSameDepthWins(t *testing.T) {
	type A struct{ Name string }
	type B struct{ Name string }
	type S struct {
		A
		B
	}
	r := makeRow(t, "name", tText, "x")
	var s S
	if err := r.ScanStruct(&s); err != nil {
		t.Fatal(err)
	}
	if s.A.Name != "x" || s.B.Name != "" {
		t.Errorf("got %+v", s)
	}
}

func TestScanStructSelfEmbedding(t *testing.T) {
	type Loop struct {
		*Loop
		V int32
	}
	r := makeRow(t, "v", tInt, int32(3))
	var l Loop
	if err := r.ScanStruct(&l); err != nil || l.V != 3 || l.Loop != nil {
		t.Errorf("got %+v, %v", l, err)
	}
}

func TestScanStructErrors(t *testing.T) {
	r := makeRow(t, "id", tInt, int32(1))
	for _, dst := range []any{nil, 5, new(int), (*Base)(nil), Base{}} {
		err := r.ScanStruct(dst)
		if err == nil || !strings.Contains(err.Error(), "non-nil pointer to a struct") {
			t.Errorf("%T: %v", dst, err)
		}
	}
	type S struct{ ID string }
	err := r.ScanStruct(&S{})
	var se *query.ScanError
	if !errors.As(err, &se) || se.Column != "id" || se.Index != 0 || !strings.Contains(err.Error(), "field ID") {
		t.Errorf("wrong field type: %v", err)
	}
	if err := (*query.Row)(nil).ScanStruct(&S{}); err == nil {
		t.Error("nil Row: no error")
	}
}

func TestScanStructAllocs(t *testing.T) {
	type S struct {
		A int32
		B int64
		C float64
	}
	r := makeRow(t, "a", tInt, int32(1), "b", tBigint, int64(2), "c", tDouble, 3.0)
	var s S
	n := testing.AllocsPerRun(100, func() {
		if err := r.ScanStruct(&s); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("%v allocs per ScanStruct, want 0 (mapping cached)", n)
	}
	// A new column list with the same names (the next page) still hits.
	cols := append([]frame.ColumnSpec(nil), r.Columns()...)
	var r2 query.Row
	r2.Set(cols, [][]byte{r.Bytes(0), r.Bytes(1), r.Bytes(2)})
	if n := testing.AllocsPerRun(100, func() { _ = r2.ScanStruct(&s) }); n != 0 {
		t.Errorf("%v allocs with an equal column list", n)
	}
	// Different columns are resolved again, and correctly.
	r3 := makeRow(t, "c", tDouble, 9.0, "a", tInt, int32(8))
	if err := r3.ScanStruct(&s); err != nil || s != (S{A: 8, B: 2, C: 9}) {
		t.Errorf("got %+v, %v", s, err)
	}
	if err := r.ScanStruct(&s); err != nil || s != (S{A: 1, B: 2, C: 3}) {
		t.Errorf("got %+v, %v", s, err)
	}
}
