package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactQuantile is the ceil(q*n)-th smallest of xs, the definition
// Histogram.Quantile approximates.
func exactQuantile(xs []time.Duration, q float64) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := max(int(math.Ceil(q*float64(len(s)))), 1)
	return s[rank-1]
}

func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() time.Duration{
		"uniform 1µs-10ms": func() time.Duration { return time.Microsecond + time.Duration(rng.Int64N(int64(10*time.Millisecond))) },
		"log-normal":       func() time.Duration { return time.Duration(math.Exp(rng.NormFloat64()*1.5 + 11)) },
		"bimodal": func() time.Duration {
			return []time.Duration{50 * time.Microsecond, 40 * time.Millisecond}[rng.IntN(2)]
		},
	}
	for name, next := range dists {
		t.Run(name, func(t *testing.T) {
			var h Histogram
			xs := make([]time.Duration, 20000)
			for i := range xs {
				xs[i] = next()
				h.Add(xs[i])
			}
			if h.Count() != uint64(len(xs)) {
				t.Fatalf("Count %d, want %d", h.Count(), len(xs))
			}
			for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
				got, want := h.Quantile(q), exactQuantile(xs, q)
				// The middle of a bucket 1/16 of a power of two wide is
				// within 1/32 of any value in it.
				if rel := math.Abs(float64(got-want)) / float64(want); rel > 1.0/32 {
					t.Errorf("q%.3f = %v, exact %v (%.1f%% off)", q, got, want, rel*100)
				}
			}
			if h.Max() != slices.Max(xs) {
				t.Errorf("Max %v, want %v", h.Max(), slices.Max(xs))
			}
		})
	}
}

func TestHistogramSmallAndEdgeValues(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Mean() != 0 {
		t.Fatal("an empty histogram should give zeros")
	}
	for _, d := range []time.Duration{0, 1, 7, 15, 16, 31, -5} {
		h.Reset()
		h.Add(d)
		want := max(d, 0)
		if got := h.Quantile(0.5); got != want {
			t.Errorf("one value %v: median %v, want it exactly", d, got)
		}
	}
	// Every bucket's lower bound maps back to that bucket: the buckets
	// tile the durations with no gap or overlap.
	for i := range (63 - subBits) * subBuckets { // lower bounds up to 2^62 ns (int64 holds no 2^63)
		if low := bucketLow(i); bucketOf(low) != i || (i > 0 && bucketOf(low-1) != i-1) {
			t.Fatalf("bucket %d: low %v maps to %d, low-1 to %d", i, low, bucketOf(low), bucketOf(low-1))
		}
	}
}

func TestHistogramMerge(t *testing.T) {
	var a, b, all Histogram
	for i := range 1000 {
		d := time.Duration(i) * time.Microsecond
		all.Add(d)
		if i%3 == 0 {
			a.Add(d)
		} else {
			b.Add(d)
		}
	}
	a.Merge(&b)
	if a != all {
		t.Fatalf("merged histogram differs from the one filled with everything: count %d vs %d, mean %v vs %v",
			a.Count(), all.Count(), a.Mean(), all.Mean())
	}
}

func TestHistogramAddDoesNotAllocate(t *testing.T) {
	var h Histogram
	if n := testing.AllocsPerRun(1000, func() { h.Add(123 * time.Microsecond) }); n != 0 {
		t.Fatalf("Add allocates %.1f times", n)
	}
}

var sink [][]byte

func TestUsageCountsAllocationsAndCPU(t *testing.T) {
	before, err := ReadUsage()
	if err != nil {
		t.Fatal(err)
	}
	const n, size = 1000, 512
	sink = make([][]byte, n)
	for i := range sink {
		sink[i] = make([]byte, size)
	}
	// Burn CPU for 50ms of wall time: the process's CPU time grows by
	// about as much.
	spin := time.Now().Add(50 * time.Millisecond)
	x := 0
	for time.Now().Before(spin) {
		x++
	}
	after, err := ReadUsage()
	if err != nil {
		t.Fatal(err)
	}
	d := after.Sub(before)
	if d.Allocs < n+1 || d.Allocs > 2*n {
		t.Errorf("%d allocations counted, want about %d", d.Allocs, n+1)
	}
	if d.Bytes < n*size || d.Bytes > 2*n*size {
		t.Errorf("%d bytes counted, want about %d", d.Bytes, n*size)
	}
	if d.CPU < 30*time.Millisecond || d.CPU > 5*time.Second {
		t.Errorf("%v of CPU time counted for a 50ms busy loop", d.CPU)
	}
	sink = nil
	_ = x
}

func TestPerOp(t *testing.T) {
	u := Usage{CPU: 2 * time.Second, Allocs: 3000, Bytes: 1 << 20}
	c := u.PerOp(1000)
	if c.CPUPer1k != 2*time.Second || c.AllocsPerOp != 3 || c.BytesPerOp != 1048.576 {
		t.Fatalf("PerOp(1000) = %+v", c)
	}
	if (u.PerOp(0) != Cost{}) {
		t.Fatal("PerOp(0) should be zero")
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0}, {[]float64{5}, 5}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5},
	} {
		in := slices.Clone(tc.in)
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("Median modified its input")
		}
	}
}
