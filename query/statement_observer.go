package query

import (
	"context"
	"time"

	"github.com/cqlwire/cqlwire/frame"
)

// StatementObserver is an Observer that also follows each statement as a
// whole, for tracing adapters that make one span per statement with its
// attempts as events (see the nested module github.com/cqlwire/cqlwire/otel).
// The session checks once, at Connect, whether its Config.Observer
// implements it; one that does not costs nothing more per statement.
//
// A statement here is one request the session routes through its attempt
// loop: a page of a query, a batch, or a PREPARE (the implicit ones run in
// the background under the session's own context, so their ctx carries
// nothing of the caller's). A statement refused before it is routed
// (throttled, values that do not bind) has no StatementStart.
type StatementObserver interface {
	Observer
	// StatementStart is called on the caller's goroutine before the
	// statement's first attempt, with the caller's context (for a parent
	// span). It returns what follows the statement, or nil to follow
	// this one no further.
	StatementStart(ctx context.Context, st *Statement) ObservedStatement
}

// ObservedStatement follows one statement: each of its attempts (told to
// the Observer too) and its end. Its methods must be safe for concurrent
// use: the attempts of speculative executions run at once. End is called
// once, when the statement returns; the attempt of a speculative execution
// that lost the race may end after it (cancelled).
type ObservedStatement interface {
	AttemptStart(a Attempt)
	AttemptEnd(a Attempt, r AttemptResult)
	End(r StatementResult)
}

// StatementKind is what request a statement is.
type StatementKind uint8

const (
	// KindQuery is a QUERY: a statement sent as text (Query.Simple, or
	// one without values).
	KindQuery StatementKind = iota
	// KindExecute is an EXECUTE of a prepared statement.
	KindExecute
	// KindBatch is a BATCH.
	KindBatch
	// KindPrepare is a PREPARE.
	KindPrepare
)

// String returns the request's opcode name: QUERY, EXECUTE, BATCH or
// PREPARE.
func (k StatementKind) String() string {
	switch k {
	case KindExecute:
		return "EXECUTE"
	case KindBatch:
		return "BATCH"
	case KindPrepare:
		return "PREPARE"
	}
	return "QUERY"
}

// Statement is what the session knows of a statement when it starts.
// The observer must not keep it past StatementStart: copy what it needs.
type Statement struct {
	Kind StatementKind
	// CQL is the statement's text (the first statement's for a batch).
	CQL string
	// Keyspace is the keyspace the statement runs in: its table's (as
	// prepared), its own (Query.Keyspace) or the session's; empty when
	// none is known.
	Keyspace string
	// Table is the table of a prepared statement (from the metadata the
	// node returned when preparing it); empty for statements sent as text,
	// whose table only their text names.
	Table string
	// BatchSize is the number of statements of a batch; 0 otherwise.
	BatchSize int
	// Consistency is the consistency level the first attempt runs at
	// (the retry policy may lower it for later ones).
	Consistency frame.Consistency
	// PageSize is the number of rows per page asked for; 0 when the
	// statement is not paged (paging disabled, a batch, a PREPARE).
	PageSize   int
	Idempotent bool
	Start      time.Time
}

// StatementResult is how a statement ended.
type StatementResult struct {
	// Err is the statement's error; nil on success.
	Err     error
	Latency time.Duration
	// Coordinator is the address of the node that answered (host:port),
	// CoordinatorID its host_id (a UUID) and CoordinatorDC its data
	// centre; empty when no node answered. When the statement failed they
	// name the node of its last attempt.
	Coordinator, CoordinatorID, CoordinatorDC string
	// Attempts is the number of attempts started, the speculative
	// executions' included; SpeculativeExecutions the number of
	// speculative executions started.
	Attempts, SpeculativeExecutions int
}
