package query

import (
	"fmt"
	"math"
	"time"

	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
)

// DefaultPageSize is the number of rows per page when a Profile leaves
// PageSize zero.
const DefaultPageSize = 5000

// DefaultRequestTimeout bounds a statement when a Profile leaves
// RequestTimeout zero: it is a little above Cassandra's default server-side
// timeouts (read 5s, write 2s, range 10s), so that the server's own
// timeout error, which says what happened, normally arrives first. It is
// the connection's default request timeout, defined once there.
const DefaultRequestTimeout = conn.DefaultTimeout

// Profile is an execution profile: the options a statement runs with unless
// it sets its own. Every field's zero value means its default, so a
// partial Profile is complete after WithDefaults.
type Profile struct {
	// Consistency of every statement; zero means LOCAL_ONE. frame.Any is
	// 0 on the wire, so a zero here cannot also mean ANY: ANY (writes only,
	// and rarely wanted) can be asked for per statement, where the field
	// has an explicit "set" marker.
	Consistency frame.Consistency
	// SerialConsistency of conditional statements (the Paxos phase):
	// SERIAL or LOCAL_SERIAL. Zero sends none, and the server uses SERIAL.
	SerialConsistency frame.Consistency
	// RequestTimeout bounds one statement, all its attempts (retries,
	// speculative executions, pages are separate statements) together.
	// Zero means DefaultRequestTimeout; negative means only the context
	// bounds it.
	RequestTimeout time.Duration
	// Retry decides what to do after a failed attempt; nil means
	// DefaultRetryPolicy{}.
	Retry RetryPolicy
	// Speculative starts more executions of an idempotent statement when
	// the first is slow; nil means none.
	Speculative SpeculativePolicy
	// PageSize is the number of rows per page; zero means DefaultPageSize,
	// negative disables paging (the server sends every row at once).
	PageSize int
}

// WithDefaults returns p with every zero field replaced by its default,
// after checking it: Consistency must be a level the protocol knows,
// SerialConsistency SERIAL, LOCAL_SERIAL or zero, and PageSize must fit the
// protocol's 32-bit field. Errors name the field.
func (p Profile) WithDefaults() (Profile, error) {
	if p.Consistency == 0 {
		p.Consistency = frame.LocalOne
	}
	if p.Consistency > frame.LocalOne {
		return p, fmt.Errorf("query: Profile.Consistency: unknown consistency level %v", p.Consistency)
	}
	if p.SerialConsistency != 0 && !p.SerialConsistency.IsSerial() {
		return p, fmt.Errorf("query: Profile.SerialConsistency: %v is not a serial consistency (SERIAL or LOCAL_SERIAL)", p.SerialConsistency)
	}
	if p.RequestTimeout == 0 {
		p.RequestTimeout = DefaultRequestTimeout
	}
	if p.Retry == nil {
		p.Retry = DefaultRetryPolicy{}
	}
	if p.PageSize == 0 {
		p.PageSize = DefaultPageSize
	}
	if p.PageSize > math.MaxInt32 {
		return p, fmt.Errorf("query: Profile.PageSize: %d is above the protocol's limit of %d", p.PageSize, math.MaxInt32)
	}
	return p, nil
}
