package workload

import (
	"strings"
	"testing"
)

func TestParseKinds(t *testing.T) {
	got, err := ParseKinds(" select,paged ,mixed")
	if err != nil || len(got) != 3 || got[0] != Select || got[1] != Paged || got[2] != Mixed {
		t.Fatalf("ParseKinds = %v, %v", got, err)
	}
	for _, bad := range []string{"", "select,nope", ","} {
		if _, err := ParseKinds(bad); err == nil {
			t.Errorf("ParseKinds(%q) succeeded", bad)
		}
	}
}

func TestStatementsMatchTheirMarkers(t *testing.T) {
	for _, st := range Statements {
		if n := strings.Count(st.CQL, "?"); n != len(st.Params) {
			t.Errorf("%s: %d markers, %d params", st.CQL, n, len(st.Params))
		}
		for _, i := range st.PKIndexes {
			if int(i) >= len(st.Params) {
				t.Errorf("%s: pk index %d out of range", st.CQL, i)
			}
		}
		if strings.HasPrefix(st.CQL, "SELECT") == (len(st.Result) == 0) {
			t.Errorf("%s: a SELECT has result columns, nothing else does", st.CQL)
		}
	}
}

func TestVectors(t *testing.T) {
	v := Vec(7)
	if len(v) != Dim || !IsVector(v, 7) || IsVector(v, 8) {
		t.Fatal("vector 7 is not recognised as itself only")
	}
	for _, x := range v {
		if x <= 0 || x > 1 {
			t.Fatalf("element %v outside (0, 1]", x)
		}
	}
	if !IsVector(FillVector(nil, SeedVectors+3), SeedVectors+3) {
		t.Fatal("an unseeded id's vector is not recognised")
	}
	if IsVector(v[:Dim-1], 7) {
		t.Fatal("a short vector is accepted")
	}
}

func TestRowsAreDeterministicAndFree(t *testing.T) {
	a, b := WideRow(3, 99), WideRow(3, 99)
	if a.K != b.K || a.UUID != b.UUID || a.TS != b.TS || a.Text != b.Text {
		t.Fatal("WideRow is not a function of its arguments")
	}
	if a.UUID[6]>>4 != 4 || a.UUID[8]>>6 != 2 {
		t.Fatalf("UUID %x is not a version 4 UUID", a.UUID)
	}
	if WideRow(3, 100).K == a.K {
		t.Fatal("consecutive operations write the same key")
	}
	if n := testing.AllocsPerRun(100, func() { _ = WideRow(1, 2) }); n != 0 {
		t.Fatalf("WideRow allocates %.0f times", n)
	}
	seen := map[int32]bool{}
	for i := range uint64(KVRows) {
		k := SelectKey(5, i)
		if k < 0 || k >= KVRows || seen[k] {
			t.Fatalf("SelectKey(5, %d) = %d: out of range or repeated within a pass", i, k)
		}
		seen[k] = true
		if KVName(k) == "" {
			t.Fatal("empty name")
		}
	}
	writes := 0
	for i := range uint64(100) {
		if MixedIsWrite(i) {
			writes++
		}
	}
	if writes != 20 {
		t.Fatalf("mixed: %d writes in 100 operations, want 20", writes)
	}
}
