package cqlotel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/cqlwire/cqlwire/cluster"
)

// Attribute keys of the session metrics that the conventions do not
// define.
const (
	NodeDCKey      = attribute.Key("cassandra.node.dc")
	RetryReasonKey = attribute.Key("cassandra.retry.reason")
)

// ObserveSession reports s.Metrics() through the Telemetry's meter as the
// observable instruments listed in the package documentation, each
// observation with attrs added (e.g. a session name, to tell several
// sessions apart). Metrics is read once per collection. Unregister the
// returned registration when the session closes. Without a MeterProvider
// it does nothing.
func (t *Telemetry) ObserveSession(s *cluster.Session, attrs ...attribute.KeyValue) (metric.Registration, error) {
	if t.meter == nil {
		return noop.Meter{}.RegisterCallback(func(context.Context, metric.Observer) error { return nil })
	}
	if s == nil {
		return nil, errors.New("cqlotel: ObserveSession: nil Session")
	}
	in, err := newSessionInstruments(t.meter)
	if err != nil {
		return nil, err
	}
	base := attribute.NewSet(attrs...)
	return t.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		in.observe(o, s.Metrics(), base)
		return nil
	}, in.all...)
}

// sessionInstruments are the instruments of ObserveSession.
type sessionInstruments struct {
	requests, failed, timeouts, throttled, evictions          metric.Int64ObservableCounter
	queued, prepared, connectedNodes                          metric.Int64ObservableUpDownCounter
	connections, inFlight, orphaned, available                metric.Int64ObservableUpDownCounter
	io, nodeRequests, errs, retries, ignores, spec, reconnect metric.Int64ObservableCounter
	connErrors                                                metric.Int64ObservableCounter
	all                                                       []metric.Observable
}

func newSessionInstruments(m metric.Meter) (*sessionInstruments, error) {
	in := &sessionInstruments{}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		in.all = append(in.all, c)
		return c
	}
	gauge := func(name, unit, desc string) metric.Int64ObservableUpDownCounter {
		g, err := m.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		in.all = append(in.all, g)
		return g
	}
	in.requests = counter("cassandra.client.requests", "{request}", "Statements the session routed to the nodes (pages, batches, PREPAREs).")
	in.failed = counter("cassandra.client.requests.failed", "{request}", "Statements that ended with an error.")
	in.timeouts = counter("cassandra.client.requests.timeouts", "{request}", "Statements that ended because a deadline passed (client timeouts).")
	in.throttled = counter("cassandra.client.requests.throttled", "{request}", "Statements the session's throttle refused.")
	in.queued = gauge("cassandra.client.throttle.queued", "{request}", "Statements waiting for a throttle slot.")
	in.prepared = gauge("cassandra.client.prepared_statements", "{statement}", "Statements in the prepared statement cache.")
	in.evictions = counter("cassandra.client.prepared_statements.evictions", "{statement}", "Statements evicted from the prepared statement cache.")
	in.connectedNodes = gauge("cassandra.client.connected_nodes", "{node}", "Nodes with a live connection.")
	in.connections = gauge("cassandra.client.node.connections", "{connection}", "Live connections to the node.")
	in.inFlight = gauge("cassandra.client.node.requests.in_flight", "{request}", "Requests waiting for the node's answer.")
	in.orphaned = gauge("cassandra.client.node.streams.orphaned", "{stream}", "Stream ids held by requests given up on, whose answer has not arrived.")
	in.available = gauge("cassandra.client.node.streams.available", "{stream}", "Free stream ids of the node's connections.")
	in.io = counter("cassandra.client.node.io", "By", "Bytes sent to and received from the node.")
	in.nodeRequests = counter("cassandra.client.node.requests", "{request}", "Attempts the node answered or failed.")
	in.errs = counter("cassandra.client.node.errors", "{error}", "Failed attempts on the node, by kind (error.type).")
	in.retries = counter("cassandra.client.node.retries", "{retry}", "Attempts on the node followed by a retry, by the attempt's error.")
	in.ignores = counter("cassandra.client.node.ignores", "{ignore}", "Errors of the node the retry policy ignored.")
	in.spec = counter("cassandra.client.node.speculative_executions", "{execution}", "Speculative executions started on the node.")
	in.reconnect = counter("cassandra.client.node.reconnections", "{connection}", "Broken connections to the node replaced by new ones.")
	in.connErrors = counter("cassandra.client.node.connection.errors", "{error}", "Failed attempts to open a connection to the node (error.type: auth, connect).")
	if len(errs) > 0 {
		return nil, fmt.Errorf("cqlotel: %w", errors.Join(errs...))
	}
	return in, nil
}

func (in *sessionInstruments) observe(o metric.Observer, m cluster.Metrics, base attribute.Set) {
	with := func(kvs ...attribute.KeyValue) metric.MeasurementOption {
		if len(kvs) == 0 {
			return metric.WithAttributeSet(base)
		}
		return metric.WithAttributes(append(base.ToSlice(), kvs...)...)
	}
	u := func(v uint64) int64 { return int64(min(v, 1<<63-1)) }
	session := with()
	o.ObserveInt64(in.requests, u(m.Requests), session)
	o.ObserveInt64(in.failed, u(m.Failed), session)
	o.ObserveInt64(in.timeouts, u(m.ClientTimeouts), session)
	o.ObserveInt64(in.throttled, u(m.Throttled), session)
	o.ObserveInt64(in.queued, int64(m.ThrottleQueued), session)
	o.ObserveInt64(in.prepared, int64(m.PreparedStatements), session)
	o.ObserveInt64(in.evictions, u(m.PreparedEvictions), session)
	o.ObserveInt64(in.connectedNodes, int64(m.ConnectedNodes), session)

	for _, n := range m.Nodes {
		node := []attribute.KeyValue{NodeDCKey.String(n.Datacenter)}
		if host, port, err := net.SplitHostPort(n.Addr); err == nil {
			p, _ := strconv.Atoi(port)
			node = append(node, semconv.ServerAddress(host), semconv.ServerPort(p))
		} else {
			node = append(node, semconv.ServerAddress(n.Addr))
		}
		at := with(node...)
		o.ObserveInt64(in.connections, int64(n.OpenConnections), at)
		o.ObserveInt64(in.inFlight, int64(n.InFlight), at)
		o.ObserveInt64(in.orphaned, int64(n.OrphanedStreams), at)
		o.ObserveInt64(in.available, int64(n.AvailableStreams), at)
		o.ObserveInt64(in.nodeRequests, u(n.Requests), at)
		o.ObserveInt64(in.spec, u(n.SpeculativeExecutions), at)
		o.ObserveInt64(in.reconnect, u(n.Reconnections), at)
		o.ObserveInt64(in.io, u(n.BytesSent), with(append(node, semconv.NetworkIODirectionTransmit)...))
		o.ObserveInt64(in.io, u(n.BytesReceived), with(append(node, semconv.NetworkIODirectionReceive)...))
		e := n.Errors
		for _, k := range []struct {
			name string
			v    uint64
		}{
			{"client_timeout", e.ClientTimeouts}, {"unavailable", e.Unavailable}, {"overloaded", e.Overloaded},
			{"read_timeout", e.ReadTimeouts}, {"write_timeout", e.WriteTimeouts}, {"server_error", e.ServerErrors},
			{"connection", e.ConnectionErrors}, {"unsent", e.Unsent}, {"cancelled", e.Cancelled},
		} {
			o.ObserveInt64(in.errs, u(k.v), with(append(node, semconv.ErrorTypeKey.String(k.name))...))
		}
		for _, r := range []struct {
			inst metric.Int64ObservableCounter
			m    cluster.RetryMetrics
		}{{in.retries, n.Retries}, {in.ignores, n.Ignores}} {
			for _, k := range []struct {
				name string
				v    uint64
			}{
				{"read_timeout", r.m.ReadTimeout}, {"write_timeout", r.m.WriteTimeout}, {"unavailable", r.m.Unavailable},
				{"aborted", r.m.Aborted}, {"other", r.m.Other},
			} {
				o.ObserveInt64(r.inst, u(k.v), with(append(node, RetryReasonKey.String(k.name))...))
			}
		}
		o.ObserveInt64(in.connErrors, u(n.AuthErrors), with(append(node, semconv.ErrorTypeKey.String("auth"))...))
		o.ObserveInt64(in.connErrors, u(n.ConnectErrors-min(n.AuthErrors, n.ConnectErrors)), with(append(node, semconv.ErrorTypeKey.String("connect"))...))
	}
}
