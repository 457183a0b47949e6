package query

import "time"

// Observer is told when each attempt of a statement starts and ends: the
// hook metrics and tracing adapters (OpenTelemetry, Prometheus) implement
// outside the core. Methods are called on the request's goroutine, so they
// must be fast, and concurrently for concurrent requests, so they must be
// safe for concurrent use. Every AttemptStart is followed by exactly one
// AttemptEnd for the same Attempt (re-preparing a statement the node had
// forgotten is part of the attempt that was told Unprepared).
type Observer interface {
	AttemptStart(a Attempt)
	AttemptEnd(a Attempt, result AttemptResult)
}

// Attempt is one execution of a statement on one host.
type Attempt struct {
	Statement   string // the CQL text
	Keyspace    string
	Host        string // the host's address
	Attempt     int    // 1-based, counting retries and speculative executions
	Speculative bool   // started by the SpeculativePolicy
	Start       time.Time
}

// AttemptResult is how an attempt ended.
type AttemptResult struct {
	Latency time.Duration
	Err     error // nil on success
	// Retry is what the session does next: Rethrow when the statement is
	// done (succeeded or failed for good).
	Retry RetryAction
}

// ObserverFuncs is an Observer made of functions; a nil one is not called.
type ObserverFuncs struct {
	OnStart func(Attempt)
	OnEnd   func(Attempt, AttemptResult)
}

// AttemptStart implements Observer.
func (o ObserverFuncs) AttemptStart(a Attempt) {
	if o.OnStart != nil {
		o.OnStart(a)
	}
}

// AttemptEnd implements Observer.
func (o ObserverFuncs) AttemptEnd(a Attempt, r AttemptResult) {
	if o.OnEnd != nil {
		o.OnEnd(a, r)
	}
}
