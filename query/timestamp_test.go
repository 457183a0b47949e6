package query

import (
	"sync"
	"testing"
)

func TestMonotonicClock(t *testing.T) {
	clock := []int64{100, 100, 100, 50, 40, 200, 200, 103}
	i := 0
	m := newMonotonic(func() int64 { v := clock[i]; i++; return v })
	want := []int64{100, 101, 102, 103, 104, 200, 201, 202}
	for k, w := range want {
		if got := m.Next(); got != w {
			t.Errorf("call %d (clock %d): %d, want %d", k, clock[k], got, w)
		}
	}
}

func TestMonotonicConcurrent(t *testing.T) {
	const goroutines, calls = 8, 10000
	gen := NewMonotonicTimestamps()
	out := make([][]int64, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			ts := make([]int64, calls)
			for i := range ts {
				ts[i] = gen.Next()
			}
			out[g] = ts
		})
	}
	wg.Wait()
	seen := make(map[int64]bool, goroutines*calls)
	for g, ts := range out {
		for i, v := range ts {
			if i > 0 && v <= ts[i-1] {
				t.Fatalf("goroutine %d: %d after %d", g, v, ts[i-1])
			}
			if seen[v] {
				t.Fatalf("duplicate timestamp %d", v)
			}
			seen[v] = true
		}
	}
	if len(seen) != goroutines*calls {
		t.Fatalf("%d distinct timestamps, want %d", len(seen), goroutines*calls)
	}
}

func TestMonotonicAllocs(t *testing.T) {
	gen := NewMonotonicTimestamps()
	if n := testing.AllocsPerRun(1000, func() { gen.Next() }); n != 0 {
		t.Errorf("%v allocs per Next", n)
	}
}
