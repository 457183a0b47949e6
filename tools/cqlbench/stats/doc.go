// Package stats holds the measuring instruments of the cqlbench harness:
// a latency histogram that workers fill without allocating and that merges
// across workers, the process's resource usage (CPU time from getrusage,
// allocations from runtime.MemStats) read before and after a measured run,
// and the median used to combine rounds.
//
// Nothing here knows about drivers or workloads, so each instrument can be
// tested on its own.
package stats
