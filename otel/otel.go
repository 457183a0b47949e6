package cqlotel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/cqlwire/cqlwire/cluster"
	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/query"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/cqlwire/cqlwire/otel"

// DurationBuckets are the bucket boundaries of db.client.operation.duration,
// in seconds: the ones the semantic conventions recommend.
var DurationBuckets = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10}

// Config configures a Telemetry. The zero value records nothing.
type Config struct {
	// TracerProvider makes the statements' spans. Nil means no spans
	// (pass otel.GetTracerProvider() for the global one).
	TracerProvider trace.TracerProvider
	// MeterProvider makes the db.client.operation.duration histogram and
	// the instruments of ObserveSession. Nil means no metrics (pass
	// otel.GetMeterProvider() for the global one).
	MeterProvider metric.MeterProvider
	// QueryText records each statement's CQL text as db.query.text. The
	// driver sends values apart from the text (bind markers), but a
	// statement with literals in its text would show them.
	QueryText bool
}

// Telemetry is a query.StatementObserver for cluster.Config.Observer. It
// is safe for concurrent use, and may serve several sessions.
type Telemetry struct {
	tracer    trace.Tracer            // nil: no spans
	meter     metric.Meter            // nil: no metrics
	duration  metric.Float64Histogram // nil without meter
	queryText bool
}

// New returns a Telemetry making spans and metrics with cfg's providers.
func New(cfg Config) (*Telemetry, error) {
	t := &Telemetry{queryText: cfg.QueryText}
	if cfg.TracerProvider != nil {
		t.tracer = cfg.TracerProvider.Tracer(ScopeName)
	}
	if cfg.MeterProvider != nil {
		t.meter = cfg.MeterProvider.Meter(ScopeName)
		h, err := t.meter.Float64Histogram("db.client.operation.duration",
			metric.WithUnit("s"),
			metric.WithDescription("Duration of database client operations."),
			metric.WithExplicitBucketBoundaries(DurationBuckets...))
		if err != nil {
			return nil, fmt.Errorf("cqlotel: db.client.operation.duration: %w", err)
		}
		t.duration = h
	}
	return t, nil
}

// AttemptStart implements query.Observer: attempts are recorded by the
// statement they belong to (see StatementStart).
func (t *Telemetry) AttemptStart(query.Attempt) {}

// AttemptEnd implements query.Observer.
func (t *Telemetry) AttemptEnd(query.Attempt, query.AttemptResult) {}

// StatementStart implements query.StatementObserver: it starts the
// statement's span (when there is a TracerProvider) and keeps what its
// duration is recorded with.
func (t *Telemetry) StatementStart(ctx context.Context, st *query.Statement) query.ObservedStatement {
	if t.tracer == nil && t.duration == nil {
		return nil
	}
	s := &statement{t: t, ctx: ctx, start: st.Start, namespace: st.Keyspace}
	var keyspace string
	s.operation, keyspace, s.collection = describe(st)
	if keyspace != "" {
		s.namespace = keyspace
	}
	if t.tracer != nil {
		attrs := make([]attribute.KeyValue, 0, 10)
		attrs = append(attrs, semconv.DBSystemNameCassandra, semconv.DBOperationName(s.operation))
		if s.namespace != "" {
			attrs = append(attrs, semconv.DBNamespace(s.namespace))
		}
		if s.collection != "" {
			attrs = append(attrs, semconv.DBCollectionName(s.collection))
		}
		if st.Kind == query.KindBatch {
			attrs = append(attrs, semconv.DBOperationBatchSize(st.BatchSize))
		}
		if t.queryText && st.CQL != "" {
			attrs = append(attrs, semconv.DBQueryText(st.CQL))
		}
		attrs = append(attrs, semconv.CassandraConsistencyLevelKey.String(strings.ToLower(st.Consistency.String())),
			semconv.CassandraQueryIdempotent(st.Idempotent))
		if st.PageSize > 0 {
			attrs = append(attrs, semconv.CassandraPageSize(st.PageSize))
		}
		s.ctx, s.span = t.tracer.Start(ctx, spanName(s.operation, s.collection, s.namespace),
			trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(st.Start), trace.WithAttributes(attrs...))
	}
	return s
}

// statement follows one statement.
type statement struct {
	t     *Telemetry
	ctx   context.Context // the span's, or the caller's
	span  trace.Span      // nil: no tracing
	start time.Time

	operation, namespace, collection string
}

// AttemptStart implements query.ObservedStatement.
func (s *statement) AttemptStart(query.Attempt) {}

// AttemptEnd adds the attempt's event to the span.
func (s *statement) AttemptEnd(a query.Attempt, r query.AttemptResult) {
	if s.span == nil || !s.span.IsRecording() {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 9)
	attrs = append(attrs, attribute.Int("cassandra.attempt.number", a.Attempt),
		attribute.Bool("cassandra.attempt.speculative", a.Speculative),
		attribute.Float64("cassandra.attempt.duration", r.Latency.Seconds()),
		attribute.String("cassandra.attempt.next", nextName(r)))
	attrs = appendPeer(attrs, a.Host, semconv.NetworkPeerAddressKey, semconv.NetworkPeerPortKey)
	if r.Err != nil {
		code, typ := errorType(r.Err)
		if code != "" {
			attrs = append(attrs, semconv.DBResponseStatusCode(code))
		}
		attrs = append(attrs, semconv.ErrorTypeKey.String(typ), semconv.ExceptionMessage(r.Err.Error()))
	}
	s.span.AddEvent("cassandra.attempt", trace.WithAttributes(attrs...))
}

// End ends the span and records the statement's duration.
func (s *statement) End(r query.StatementResult) {
	var code, typ string
	if r.Err != nil {
		code, typ = errorType(r.Err)
	}
	if s.span != nil {
		if s.span.IsRecording() {
			attrs := make([]attribute.KeyValue, 0, 10)
			attrs = appendPeer(attrs, r.Coordinator, semconv.ServerAddressKey, semconv.ServerPortKey)
			attrs = appendPeer(attrs, r.Coordinator, semconv.NetworkPeerAddressKey, semconv.NetworkPeerPortKey)
			if r.CoordinatorID != "" {
				attrs = append(attrs, semconv.CassandraCoordinatorID(r.CoordinatorID))
			}
			if r.CoordinatorDC != "" {
				attrs = append(attrs, semconv.CassandraCoordinatorDC(r.CoordinatorDC))
			}
			if r.SpeculativeExecutions > 0 {
				attrs = append(attrs, semconv.CassandraSpeculativeExecutionCount(r.SpeculativeExecutions))
			}
			if r.Err != nil {
				if code != "" {
					attrs = append(attrs, semconv.DBResponseStatusCode(code))
				}
				attrs = append(attrs, semconv.ErrorTypeKey.String(typ))
				s.span.SetStatus(codes.Error, r.Err.Error())
			}
			s.span.SetAttributes(attrs...)
		}
		s.span.End(trace.WithTimestamp(s.start.Add(r.Latency)))
	}
	if s.t.duration != nil {
		attrs := make([]attribute.KeyValue, 0, 8)
		attrs = append(attrs, semconv.DBSystemNameCassandra, semconv.DBOperationName(s.operation))
		if s.namespace != "" {
			attrs = append(attrs, semconv.DBNamespace(s.namespace))
		}
		if s.collection != "" {
			attrs = append(attrs, semconv.DBCollectionName(s.collection))
		}
		attrs = appendPeer(attrs, r.Coordinator, semconv.ServerAddressKey, semconv.ServerPortKey)
		if r.Err != nil {
			if code != "" {
				attrs = append(attrs, semconv.DBResponseStatusCode(code))
			}
			attrs = append(attrs, semconv.ErrorTypeKey.String(typ))
		}
		s.t.duration.Record(s.ctx, r.Latency.Seconds(), metric.WithAttributes(attrs...))
	}
}

// spanName follows the database span name convention: "{operation}
// {target}", the target being the table, else the keyspace.
func spanName(operation, collection, namespace string) string {
	switch {
	case collection != "":
		return operation + " " + collection
	case namespace != "":
		return operation + " " + namespace
	}
	return operation
}

// appendPeer appends the host and port of addr ("host:port") under the
// two keys; nothing when addr is empty.
func appendPeer(attrs []attribute.KeyValue, addr string, hostKey, portKey attribute.Key) []attribute.KeyValue {
	if addr == "" {
		return attrs
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return append(attrs, hostKey.String(addr))
	}
	attrs = append(attrs, hostKey.String(host))
	if p, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, portKey.Int(p))
	}
	return attrs
}

// nextName names what followed an attempt.
func nextName(r query.AttemptResult) string {
	switch r.Retry {
	case query.RetrySameHost:
		return "retry_same_host"
	case query.RetryNextHost:
		return "retry_next_host"
	case query.Ignore:
		return "ignore"
	}
	return "done"
}

// errorType returns db.response.status_code (empty when the error is not
// the server's) and error.type for err: the server's code, as the protocol
// specification writes it ("0x2200"), or a low-cardinality class.
func errorType(err error) (code, typ string) {
	var fe *frame.Error
	if errors.As(err, &fe) {
		code = fmt.Sprintf("0x%04X", uint32(fe.Code))
		return code, code
	}
	var ce *conn.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "", "timeout"
	case errors.Is(err, context.Canceled):
		return "", "canceled"
	case errors.Is(err, cluster.ErrThrottled):
		return "", "throttled"
	case errors.Is(err, cluster.ErrNoHostAvailable):
		return "", "no_host_available"
	case errors.As(err, &ce):
		return "", "connection"
	}
	return "", "_OTHER"
}
