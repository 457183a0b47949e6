// Package cqlotel connects a cqlwire Session to OpenTelemetry: a CLIENT
// span for every statement, following the semantic conventions for
// Cassandra client operations, with its attempts as span events; the
// db.client.operation.duration histogram; and the session's metrics
// (cluster.Session.Metrics) as observable instruments.
//
// It is a module of its own, github.com/cqlwire/cqlwire/otel, so that the
// driver's module does not depend on OpenTelemetry.
//
//	tel, err := cqlotel.New(cqlotel.Config{
//		TracerProvider: tracerProvider, // nil: no spans
//		MeterProvider:  meterProvider,  // nil: no metrics
//	})
//	cfg.Observer = tel
//	session, err := cluster.Connect(ctx, cfg)
//	reg, err := tel.ObserveSession(session) // the session's metrics, until reg.Unregister()
//
// # Spans
//
// A statement here is what the session routes to the nodes: a page of a
// query, a batch, a PREPARE (see query.StatementObserver). Its span is a
// child of the span in the context the statement was run with (the
// implicit PREPARE of a statement with values runs in the background: its
// span is a root). It is named "{db.operation.name} {db.collection.name}"
// (or the keyspace when the table is unknown, e.g. "SELECT users",
// "CREATE shop"), and has these attributes:
//
//	db.system.name                        "cassandra"
//	db.namespace                          the keyspace
//	db.collection.name                    the table: from a prepared statement's metadata, else parsed from
//	                                      the text of a SELECT, INSERT, UPDATE, DELETE or TRUNCATE
//	db.operation.name                     the statement's first keyword (SELECT, INSERT, ...), BATCH, or PREPARE
//	db.operation.batch.size               the number of statements of a batch
//	db.query.text                         the CQL text, only with Config.QueryText (the first statement's of a batch)
//	db.response.status_code               on a server error, its protocol error code in hexadecimal as the
//	                                      protocol specification writes it ("0x2200" for Invalid)
//	error.type                            on failure: the status code, or timeout, canceled, throttled,
//	                                      no_host_available, connection, _OTHER
//	server.address, server.port           the node that answered (coordinator)
//	network.peer.address, .port           the same node
//	cassandra.consistency.level           "local_quorum", ...
//	cassandra.coordinator.id, .dc         the host_id and data centre of that node
//	cassandra.page.size                   rows per page, when paged
//	cassandra.query.idempotent            whether the statement is idempotent
//	cassandra.speculative_execution.count the speculative executions started, when any
//
// The span's status is Error (with the error's message) when the statement
// failed. Each attempt adds an event "cassandra.attempt" when it ends,
// with its number (cassandra.attempt.number), whether it was a
// speculative execution (cassandra.attempt.speculative), the node
// (network.peer.address/port), its duration in seconds
// (cassandra.attempt.duration), its error (error.type,
// db.response.status_code, exception.message) and what the session did
// next (cassandra.attempt.next: "done", "retry_same_host",
// "retry_next_host", "ignore").
//
// Without a TracerProvider no tracer is called at all.
//
// # Metrics
//
// db.client.operation.duration is a histogram of the statements' durations
// in seconds, with the buckets the conventions recommend (1 ms to 10 s) and
// the attributes db.system.name, db.namespace, db.collection.name,
// db.operation.name, db.response.status_code, error.type, server.address
// and server.port.
//
// ObserveSession reports a session's Metrics as observable instruments,
// read once per collection:
//
//	cassandra.client.requests                      counter   statements routed to the nodes
//	cassandra.client.requests.failed               counter   those that failed
//	cassandra.client.requests.timeouts             counter   those that ended with a deadline (client timeouts)
//	cassandra.client.requests.throttled            counter   statements Config.Throttle refused
//	cassandra.client.throttle.queued               gauge     statements waiting for a throttle slot
//	cassandra.client.prepared_statements           gauge     the prepared statement cache's size
//	cassandra.client.prepared_statements.evictions counter   statements evicted from it
//	cassandra.client.connected_nodes               gauge     nodes with a live connection
//
// and per node (attributes server.address, server.port, cassandra.node.dc):
//
//	cassandra.client.node.connections              gauge     live connections
//	cassandra.client.node.requests.in_flight       gauge     requests waiting for an answer
//	cassandra.client.node.streams.orphaned         gauge     stream ids held by abandoned requests
//	cassandra.client.node.streams.available        gauge     free stream ids
//	cassandra.client.node.io                       counter   bytes, network.io.direction = transmit | receive
//	cassandra.client.node.requests                 counter   attempts
//	cassandra.client.node.errors                   counter   failed attempts, error.type = client_timeout |
//	                                                         unavailable | overloaded | read_timeout | write_timeout |
//	                                                         server_error | connection | unsent | cancelled
//	cassandra.client.node.retries                  counter   retries, cassandra.retry.reason = read_timeout |
//	cassandra.client.node.ignores                  counter   write_timeout | unavailable | aborted | other
//	cassandra.client.node.speculative_executions   counter   speculative executions started there
//	cassandra.client.node.reconnections            counter   broken connections replaced
//	cassandra.client.node.connection.errors        counter   failed connection attempts, error.type = auth | connect
//
// Through the OpenTelemetry Prometheus exporter they become, e.g.,
// cassandra_client_requests_total, cassandra_client_node_io_bytes_total and
// db_client_operation_duration_seconds.
package cqlotel
