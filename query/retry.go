package query

import (
	"context"
	"errors"
	"strconv"

	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
)

// RetryAction is what to do after a failed attempt.
type RetryAction uint8

const (
	// Rethrow returns the error to the caller.
	Rethrow RetryAction = iota
	// RetrySameHost tries again on the host that failed.
	RetrySameHost
	// RetryNextHost tries the next host of the query plan.
	RetryNextHost
	// Ignore treats the attempt as a success with no rows.
	Ignore
)

func (a RetryAction) String() string {
	switch a {
	case Rethrow:
		return "Rethrow"
	case RetrySameHost:
		return "RetrySameHost"
	case RetryNextHost:
		return "RetryNextHost"
	case Ignore:
		return "Ignore"
	}
	return "RetryAction(" + strconv.Itoa(int(a)) + ")"
}

// RetryDecision is a RetryPolicy's answer.
type RetryDecision struct {
	Action RetryAction
	// Consistency, when not zero, is the consistency of the next attempt;
	// zero keeps the statement's (so ANY cannot be retried down to).
	Consistency frame.Consistency
}

// RetryInfo describes a failed attempt to a RetryPolicy.
type RetryInfo struct {
	// Err is the attempt's error: a *frame.Error (the server answered
	// ERROR), a *conn.Error (the connection failed), or
	// context.DeadlineExceeded for a per-attempt timeout.
	Err error
	// Retries is the number of retries already made for this statement:
	// 0 on the first failure.
	Retries int
	// Idempotent reports that the statement may be applied twice with the
	// same effect as once.
	Idempotent bool
	// Consistency is the consistency the attempt ran with.
	Consistency frame.Consistency
	// Batch reports a BATCH.
	Batch bool
}

// RetryPolicy decides what the session does after a failed attempt. Decide
// is called on the request's goroutine; it must be fast and safe for
// concurrent use.
//
// The session handles some errors itself before asking: Unprepared
// (prepare again and retry) and the statement's own context ending.
type RetryPolicy interface {
	Decide(info RetryInfo) RetryDecision
}

// DefaultRetryPolicy retries only where that is safe and likely to help,
// at most MaxRetries times per statement (zero means 1):
//
//   - Read_timeout: on the same host, when enough replicas answered but the
//     one asked for the data did not (Received >= BlockFor and no data): the
//     data replica was probably just slow.
//   - Write_timeout: on the same host, when the statement is idempotent, or
//     when the batch log write timed out (BATCH_LOG: the batch was not
//     applied, and the coordinator will write the log again).
//   - Unavailable, Overloaded, Is_bootstrapping: on the next host. The
//     coordinator did not execute the statement, so any statement is safe.
//   - Server_error, Truncate_error, Read_failure, Write_failure: on the next
//     host, for idempotent statements only.
//   - a *conn.Error: on the next host when the request was never sent
//     (Sent false: certainly not executed; this does not count against
//     MaxRetries, the query plan bounds it), or when it may have been sent
//     and the statement is idempotent. A non-idempotent statement that may
//     have reached the server is never retried: it may have been applied.
//   - anything else (syntax, invalid, unauthorized, already exists, context
//     errors, per-attempt timeouts): Rethrow.
type DefaultRetryPolicy struct {
	MaxRetries int // zero means 1
}

// Decide implements RetryPolicy.
func (p DefaultRetryPolicy) Decide(info RetryInfo) RetryDecision {
	limit := p.MaxRetries
	if limit <= 0 {
		limit = 1
	}
	// Context errors first: a conn.Error can wrap the request's own
	// cancellation or deadline, and no retry can outlive that.
	if info.Err == nil || errors.Is(info.Err, context.Canceled) || errors.Is(info.Err, context.DeadlineExceeded) {
		return RetryDecision{Action: Rethrow}
	}
	// A request that never reached the socket was certainly not executed:
	// moving it to the next host is always safe and does not count against
	// the limit (the query plan bounds it).
	var unsent *conn.Error
	if errors.As(info.Err, &unsent) && !unsent.Sent {
		return RetryDecision{Action: RetryNextHost}
	}
	if info.Retries >= limit {
		return RetryDecision{Action: Rethrow}
	}
	var fe *frame.Error
	if errors.As(info.Err, &fe) {
		return RetryDecision{Action: serverErrorAction(fe, info.Idempotent)}
	}
	var ce *conn.Error
	if errors.As(info.Err, &ce) {
		if !ce.Sent || info.Idempotent {
			return RetryDecision{Action: RetryNextHost}
		}
	}
	return RetryDecision{Action: Rethrow}
}

func serverErrorAction(fe *frame.Error, idempotent bool) RetryAction {
	switch fe.Code {
	case frame.CodeReadTimeout:
		if d, ok := fe.Detail.(*frame.ReadTimeout); ok && d.Received >= d.BlockFor && !d.DataReceived() {
			return RetrySameHost
		}
	case frame.CodeWriteTimeout:
		if d, ok := fe.Detail.(*frame.WriteTimeout); ok && (idempotent || d.WriteType == frame.WriteTypeBatchLog) {
			return RetrySameHost
		}
	case frame.CodeUnavailable, frame.CodeOverloaded, frame.CodeIsBootstrapping:
		return RetryNextHost
	case frame.CodeServerError, frame.CodeTruncateError, frame.CodeReadFailure, frame.CodeWriteFailure:
		if idempotent {
			return RetryNextHost
		}
	}
	return Rethrow
}

// NeverRetry returns every error to the caller.
type NeverRetry struct{}

// Decide implements RetryPolicy.
func (NeverRetry) Decide(RetryInfo) RetryDecision { return RetryDecision{Action: Rethrow} }
