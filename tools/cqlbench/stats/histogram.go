package stats

import (
	"math"
	"math/bits"
	"time"
)

// subBuckets is the number of buckets per power of two of nanoseconds: 16
// keeps every quantile within 1/16 (about 6%) of the true value, and the
// middle of a bucket within about 3%, in 8 KiB per histogram.
const (
	subBits    = 4
	subBuckets = 1 << subBits
	numBuckets = 64 * subBuckets
)

// Histogram counts durations in log-linear buckets. Each worker fills its
// own (Add neither locks nor allocates), and the runner merges them once
// the measurement is over. The zero value is empty and ready to use.
type Histogram struct {
	counts [numBuckets]uint64
	n      uint64
	sum    time.Duration
	max    time.Duration
}

// bucketOf returns the bucket of d: exact below 16ns, then 16 buckets of
// equal width per power of two.
func bucketOf(d time.Duration) int {
	ns := uint64(max(d, 0))
	if ns < subBuckets {
		return int(ns)
	}
	e := bits.Len64(ns) - 1 // ns is in [2^e, 2^(e+1))
	return (e-subBits+1)*subBuckets + int(ns>>(e-subBits))&(subBuckets-1)
}

// bucketLow returns the smallest duration of bucket i.
func bucketLow(i int) time.Duration {
	if i < subBuckets {
		return time.Duration(i)
	}
	e := i/subBuckets + subBits - 1
	m := uint64(i % subBuckets)
	return time.Duration((subBuckets + m) << (e - subBits))
}

// Add records one duration; negative durations count as zero.
func (h *Histogram) Add(d time.Duration) {
	h.counts[bucketOf(d)]++
	h.n++
	h.sum += d
	if d > h.max {
		h.max = d
	}
}

// Merge adds the counts of o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// Reset empties h.
func (h *Histogram) Reset() { *h = Histogram{} }

// Count is the number of durations recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Mean is the exact mean of the durations recorded.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// Max is the exact largest duration recorded.
func (h *Histogram) Max() time.Duration { return h.max }

// Quantile returns the q-quantile (0 < q <= 1) of the recorded durations:
// the middle of the bucket holding the ceil(q*n)-th smallest one, capped at
// the exact maximum. Zero when nothing was recorded.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := max(uint64(math.Ceil(q*float64(h.n))), 1)
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			if i < subBuckets {
				return time.Duration(i) // exact buckets
			}
			return min((bucketLow(i)+bucketLow(i+1))/2, h.max)
		}
	}
	return h.max
}
