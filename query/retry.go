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
	// Err is the attempt's error, one of:
	//   - a *frame.Error: the node answered ERROR (errors.Is with a
	//     frame.ErrorCode, errors.As with the code's detail);
	//   - a *conn.Error: the request failed on its connection, and Sent
	//     says whether the node may have executed it. Its cause tells why:
	//     conn.ErrConnectionLost (the connection died: reset, heartbeat or
	//     stall without an answer, stuck writer), conn.ErrClosed (the
	//     connection was closed under the request), or
	//     context.DeadlineExceeded for a per-attempt timeout: no answer
	//     within the attempt's own timeout, which is shorter than the
	//     statement's only when the statement has no deadline of its own
	//     (a negative RequestTimeout) and the connections have one.
	//
	// The session never asks about the end of the statement itself: when
	// the caller's context ends or the statement's timeout passes, the
	// statement fails without a retry, whatever the error.
	Err error
	// Retries is the number of retries already counted for this
	// statement: 0 on the first failure. A request moved on because it
	// was never sent (a *conn.Error with Sent false), and the execution
	// the session sends itself after preparing a statement again, are not
	// counted: the query plan bounds the first, the number of statements
	// in the request the second.
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
// The session handles some failures itself before asking: the caller's
// context ending or the statement's timeout passing (the statement fails),
// and Unprepared (the statement is prepared again on that node and sent
// again there, once per statement id and execution).
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
//   - Unavailable, Is_bootstrapping: on the next host. The coordinator did
//     not execute the statement, so any statement is safe.
//   - Overloaded, Server_error, Truncate_error, Read_failure,
//     Write_failure: on the next host, for idempotent statements only. An
//     overloaded coordinator may already have sent some of a batch's
//     mutations to replicas (as the Java driver 4 does, only idempotent
//     statements are retried).
//   - a *conn.Error: on the next host when the request was never sent
//     (Sent false: certainly not executed; this does not count against
//     MaxRetries, the query plan bounds it), or when it may have been sent
//     and the statement is idempotent. A non-idempotent statement that may
//     have reached the server is never retried: it may have been applied.
//     A per-attempt timeout (the cause is context.DeadlineExceeded) is
//     such an error: the node did not answer in time.
//   - anything else (syntax, invalid, unauthorized, already exists, a
//     request cancelled by its context, an error that is not a
//     connection's and wraps a context error): Rethrow.
type DefaultRetryPolicy struct {
	MaxRetries int // zero means 1
}

// Decide implements RetryPolicy.
func (p DefaultRetryPolicy) Decide(info RetryInfo) RetryDecision {
	limit := p.MaxRetries
	if limit <= 0 {
		limit = 1
	}
	var ce *conn.Error
	onConn := errors.As(info.Err, &ce)
	// Only a caller cancels; and a deadline that is not a connection's
	// per-attempt timeout is the caller's. The session does not ask about
	// those, but a policy wrapping this one may.
	if info.Err == nil || errors.Is(info.Err, context.Canceled) ||
		(!onConn && errors.Is(info.Err, context.DeadlineExceeded)) {
		return RetryDecision{Action: Rethrow}
	}
	// A request that never reached the socket was certainly not executed:
	// moving it to the next host is always safe and does not count against
	// the limit (the query plan bounds it).
	if onConn && !ce.Sent {
		return RetryDecision{Action: RetryNextHost}
	}
	if info.Retries >= limit {
		return RetryDecision{Action: Rethrow}
	}
	var fe *frame.Error
	if errors.As(info.Err, &fe) {
		return RetryDecision{Action: serverErrorAction(fe, info.Idempotent)}
	}
	if onConn && info.Idempotent {
		return RetryDecision{Action: RetryNextHost}
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
	case frame.CodeUnavailable, frame.CodeIsBootstrapping:
		return RetryNextHost
	case frame.CodeOverloaded, frame.CodeServerError, frame.CodeTruncateError, frame.CodeReadFailure, frame.CodeWriteFailure:
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
