package query

import "time"

// SpeculativePolicy starts more executions of a slow statement on other
// hosts, and the first answer wins. The session applies it to idempotent
// statements only: a second execution of anything else could apply it twice.
// NextDelay is called on the request's goroutine; it must be fast and safe
// for concurrent use.
type SpeculativePolicy interface {
	// NextDelay returns how long after the previous execution started to
	// start another one; executions counts those already started (>= 1).
	// ok false means no more.
	NextDelay(executions int) (delay time.Duration, ok bool)
}

// ConstantSpeculative starts a new execution every Delay until
// MaxExecutions have started. There is no other limit than the query
// plan: executions stop when it has no node left.
type ConstantSpeculative struct {
	Delay time.Duration // negative counts as zero
	// MaxExecutions counts every execution, the first included; zero means
	// 2 (one speculative execution).
	MaxExecutions int
}

// NextDelay implements SpeculativePolicy.
func (c ConstantSpeculative) NextDelay(executions int) (time.Duration, bool) {
	limit := c.MaxExecutions
	if limit == 0 {
		limit = 2
	}
	if executions >= limit {
		return 0, false
	}
	return max(c.Delay, 0), true
}
