package query_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/query"
)

func serverErr(code frame.ErrorCode, d frame.ErrorDetail) *frame.Error {
	return &frame.Error{Code: code, Message: "test", Detail: d}
}

func TestDefaultRetryPolicy(t *testing.T) {
	readTimeout := func(recv, block int, data byte) error {
		return serverErr(frame.CodeReadTimeout, &frame.ReadTimeout{Consistency: frame.Quorum, Received: recv, BlockFor: block, DataPresent: data})
	}
	writeTimeout := func(wt frame.WriteType) error {
		return serverErr(frame.CodeWriteTimeout, &frame.WriteTimeout{Consistency: frame.Quorum, Received: 1, BlockFor: 2, WriteType: wt})
	}
	unavailable := serverErr(frame.CodeUnavailable, &frame.Unavailable{Consistency: frame.Quorum, Required: 2, Alive: 1})
	readFailure := serverErr(frame.CodeReadFailure, &frame.ReadFailure{Consistency: frame.One, Received: 0, BlockFor: 1, NumFailures: 1})
	writeFailure := serverErr(frame.CodeWriteFailure, &frame.WriteFailure{Consistency: frame.One, BlockFor: 1, NumFailures: 1, WriteType: frame.WriteTypeSimple})
	lost := func(sent bool) error {
		return &conn.Error{Addr: "10.0.0.1:9042", Op: "EXECUTE", Request: true, Sent: sent, Err: conn.ErrConnectionLost}
	}
	wrapped := func(err error) error { return fmt.Errorf("session: %w", err) }
	attemptTimeout := func(sent bool) error {
		return &conn.Error{Addr: "10.0.0.1:9042", Op: "EXECUTE", Request: true, Sent: sent,
			Err: fmt.Errorf("no answer within the request's timeout of 2s: %w", context.DeadlineExceeded)}
	}

	const (
		R  = query.Rethrow
		SH = query.RetrySameHost
		NH = query.RetryNextHost
	)
	tests := []struct {
		name       string
		err        error
		idempotent bool
		nonIdem    query.RetryAction // decision for a non-idempotent statement
		idem       query.RetryAction // decision for an idempotent one
	}{
		{"read timeout, enough replicas, no data", readTimeout(2, 2, 0), false, SH, SH},
		{"read timeout, more than enough, no data", readTimeout(3, 2, 0), false, SH, SH},
		{"read timeout, data present", readTimeout(2, 2, 1), false, R, R},
		{"read timeout, too few replicas", readTimeout(1, 2, 0), false, R, R},
		{"read timeout without detail", serverErr(frame.CodeReadTimeout, nil), false, R, R},
		{"write timeout simple", writeTimeout(frame.WriteTypeSimple), false, R, SH},
		{"write timeout batch", writeTimeout(frame.WriteTypeBatch), false, R, SH},
		{"write timeout unlogged batch", writeTimeout(frame.WriteTypeUnloggedBatch), false, R, SH},
		{"write timeout counter", writeTimeout(frame.WriteTypeCounter), false, R, SH},
		{"write timeout CAS", writeTimeout(frame.WriteTypeCAS), false, R, SH},
		{"write timeout batch log", writeTimeout(frame.WriteTypeBatchLog), false, SH, SH},
		{"unavailable", unavailable, false, NH, NH},
		// An overloaded coordinator may have sent some of a batch's
		// mutations before giving up: retried only when idempotent.
		{"overloaded", serverErr(frame.CodeOverloaded, nil), false, R, NH},
		{"bootstrapping", serverErr(frame.CodeIsBootstrapping, nil), false, NH, NH},
		{"server error", serverErr(frame.CodeServerError, nil), false, R, NH},
		{"truncate error", serverErr(frame.CodeTruncateError, nil), false, R, NH},
		{"read failure", readFailure, false, R, NH},
		{"write failure", writeFailure, false, R, NH},
		{"syntax", serverErr(frame.CodeSyntaxError, nil), false, R, R},
		{"invalid", serverErr(frame.CodeInvalid, nil), false, R, R},
		{"unauthorized", serverErr(frame.CodeUnauthorized, nil), false, R, R},
		{"already exists", serverErr(frame.CodeAlreadyExists, &frame.AlreadyExists{Keyspace: "ks"}), false, R, R},
		{"unprepared", serverErr(frame.CodeUnprepared, &frame.Unprepared{ID: []byte{1}}), false, R, R},
		{"function failure", serverErr(frame.CodeFunctionFailure, &frame.FunctionFailure{}), false, R, R},
		{"CAS write unknown", serverErr(frame.CodeCASWriteUnknown, &frame.CASWriteUnknown{}), false, R, R},
		{"protocol error", serverErr(frame.CodeProtocolError, nil), false, R, R},
		{"unknown code", serverErr(0x7777, nil), false, R, R},
		{"wrapped unavailable", wrapped(unavailable), false, NH, NH},
		// A request that never left the client was never executed: always safe.
		{"connection lost, not sent", lost(false), false, NH, NH},
		// A request that may have reached the server is retried only when
		// applying it twice is harmless.
		{"connection lost, sent", lost(true), false, R, NH},
		{"wrapped connection lost, sent", wrapped(lost(true)), false, R, NH},
		{"closed, not sent", &conn.Error{Op: "QUERY", Request: true, Err: conn.ErrClosed}, false, NH, NH},
		{"canceled by caller", context.Canceled, false, R, R},
		{"attempt timeout", context.DeadlineExceeded, false, R, R},
		{"conn error from canceled context", &conn.Error{Op: "QUERY", Request: true, Err: context.Canceled}, false, R, R},
		// A per-attempt timeout on a connection is not the caller's
		// deadline (the session ends the statement before asking about
		// that): a connection failure like the others.
		{"attempt timeout on the connection, sent", attemptTimeout(true), false, R, NH},
		{"attempt timeout on the connection, not sent", attemptTimeout(false), false, NH, NH},
		{"wrapped caller deadline", wrapped(context.DeadlineExceeded), false, R, R},
		{"other error", fmt.Errorf("boom"), false, R, R},
		{"nil error", nil, false, R, R},
	}
	p := query.DefaultRetryPolicy{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, idem := range []bool{false, true} {
				want := tt.nonIdem
				if idem {
					want = tt.idem
				}
				for _, batch := range []bool{false, true} {
					got := p.Decide(query.RetryInfo{Err: tt.err, Idempotent: idem, Consistency: frame.Quorum, Batch: batch})
					if got.Action != want || got.Consistency != 0 {
						t.Errorf("idempotent=%v batch=%v: %v (consistency %v), want %v", idem, batch, got.Action, got.Consistency, want)
					}
				}
				// Once retried, never again (MaxRetries 0 means 1), except a
				// request that was never sent: moving it on is always safe.
				wantAfter := query.Rethrow
				if ce, ok := tt.err.(*conn.Error); ok && !ce.Sent && tt.idem == query.RetryNextHost {
					wantAfter = query.RetryNextHost
				}
				if got := p.Decide(query.RetryInfo{Err: tt.err, Idempotent: idem, Retries: 1}); got.Action != wantAfter {
					t.Errorf("idempotent=%v after a retry: %v, want %v", idem, got.Action, wantAfter)
				}
			}
		})
	}
}

func TestDefaultRetryPolicyMaxRetries(t *testing.T) {
	err := serverErr(frame.CodeUnavailable, &frame.Unavailable{Consistency: frame.Quorum, Required: 2, Alive: 1})
	p := query.DefaultRetryPolicy{MaxRetries: 3}
	for retries, want := range []query.RetryAction{query.RetryNextHost, query.RetryNextHost, query.RetryNextHost, query.Rethrow, query.Rethrow} {
		if got := p.Decide(query.RetryInfo{Err: err, Retries: retries}); got.Action != want {
			t.Errorf("retries %d: %v, want %v", retries, got.Action, want)
		}
	}
	neg := query.DefaultRetryPolicy{MaxRetries: -1}
	if got := neg.Decide(query.RetryInfo{Err: err}); got.Action != query.RetryNextHost {
		t.Errorf("negative MaxRetries: %v", got.Action)
	}
}

func TestNeverRetry(t *testing.T) {
	for _, err := range []error{serverErr(frame.CodeOverloaded, nil), &conn.Error{Err: conn.ErrConnectionLost}} {
		if got := (query.NeverRetry{}).Decide(query.RetryInfo{Err: err, Idempotent: true}); got.Action != query.Rethrow {
			t.Errorf("%v: %v", err, got.Action)
		}
	}
}

func TestRetryActionString(t *testing.T) {
	for a, want := range map[query.RetryAction]string{query.Rethrow: "Rethrow", query.RetrySameHost: "RetrySameHost",
		query.RetryNextHost: "RetryNextHost", query.Ignore: "Ignore", 9: "RetryAction(9)"} {
		if a.String() != want {
			t.Errorf("%d: %q", a, a.String())
		}
	}
}
