package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/types"
)

// Trace is a statement's query trace, as the coordinator recorded it in
// system_traces.
type Trace struct {
	ID          [16]byte
	Coordinator netip.Addr
	Request     string
	Parameters  map[string]string
	StartedAt   time.Time
	Duration    time.Duration
	Events      []TraceEvent
}

// TraceEvent is one step of a trace.
type TraceEvent struct {
	Activity string
	Source   netip.Addr
	// SourceElapsed is the time since the trace began on Source.
	SourceElapsed time.Duration
	Thread        string
}

// ErrTraceIncomplete is returned by Trace when the trace is not complete
// within the context's time: the server writes traces asynchronously.
var ErrTraceIncomplete = errors.New("cluster: the trace is not complete yet")

// Trace reads the trace of a traced statement (Query.Trace,
// Result.TraceID). The server writes traces in the background, so it polls
// until the trace session has its duration (for at most 5 s, or until ctx
// ends). The events of a trace are written in the background too, and the
// last ones can still be missing when the session row is complete: read
// the trace again to see them.
func (s *Session) Trace(ctx context.Context, id [16]byte) (*Trace, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	uuid := types.UUIDValue(id)
	t := &Trace{ID: id}
	for wait := 10 * time.Millisecond; ; wait = min(wait*2, 200*time.Millisecond) {
		var durationMicros *int32
		err := s.Query(`SELECT coordinator, request, parameters, started_at, duration FROM system_traces.sessions WHERE session_id = ?`, uuid).
			Consistency(frame.One).Idempotent(true).
			One(ctx, &t.Coordinator, &t.Request, &t.Parameters, &t.StartedAt, &durationMicros)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("cluster: reading trace %s: %w", uuid, err)
		}
		if err == nil && durationMicros != nil {
			t.Duration = time.Duration(*durationMicros) * time.Microsecond
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (trace %s): %w", ErrTraceIncomplete, uuid, context.Cause(ctx))
		case <-time.After(wait):
		}
	}
	for row, err := range s.Query(`SELECT activity, source, source_elapsed, thread FROM system_traces.events WHERE session_id = ?`, uuid).
		Consistency(frame.One).Idempotent(true).Rows(ctx) {
		if err != nil {
			return nil, fmt.Errorf("cluster: reading the events of trace %s: %w", uuid, err)
		}
		var ev TraceEvent
		var elapsed *int32
		if err := row.Scan(&ev.Activity, &ev.Source, &elapsed, &ev.Thread); err != nil {
			return nil, fmt.Errorf("cluster: reading the events of trace %s: %w", uuid, err)
		}
		if elapsed != nil {
			ev.SourceElapsed = time.Duration(*elapsed) * time.Microsecond
		}
		t.Events = append(t.Events, ev)
	}
	return t, nil
}
