package stats

import (
	"runtime"
	"slices"
	"syscall"
	"time"
)

// Usage is what the process had consumed at one moment: CPU time (user and
// system, from getrusage RUSAGE_SELF, so every thread of the process counts,
// the driver's background goroutines included) and heap allocations (count
// and bytes, from runtime.MemStats, cumulative).
type Usage struct {
	CPU    time.Duration
	Allocs uint64
	Bytes  uint64
}

// ReadUsage reads the process's usage now. ReadMemStats stops the world
// briefly: call it around a measurement, never inside one.
func ReadUsage() (Usage, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return Usage{}, err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return Usage{
		CPU:    time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		Allocs: ms.Mallocs,
		Bytes:  ms.TotalAlloc,
	}, nil
}

// Sub returns the usage between an earlier reading and u.
func (u Usage) Sub(earlier Usage) Usage {
	return Usage{CPU: u.CPU - earlier.CPU, Allocs: u.Allocs - earlier.Allocs, Bytes: u.Bytes - earlier.Bytes}
}

// Cost is a usage spread over the operations that caused it.
type Cost struct {
	CPUPer1k    time.Duration // CPU time per 1,000 operations
	AllocsPerOp float64
	BytesPerOp  float64
}

// PerOp spreads u over ops operations; all zero when ops is not positive.
func (u Usage) PerOp(ops int64) Cost {
	if ops <= 0 {
		return Cost{}
	}
	return Cost{
		CPUPer1k:    time.Duration(float64(u.CPU) * 1000 / float64(ops)),
		AllocsPerOp: float64(u.Allocs) / float64(ops),
		BytesPerOp:  float64(u.Bytes) / float64(ops),
	}
}

// Median returns the median of xs (the mean of the middle two for an even
// count), 0 for none. xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
