package cqlotel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/cqlwire/cqlwire/cluster"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/query"
)

func TestParseCQL(t *testing.T) {
	for _, c := range []struct {
		cql, op, ks, table string
	}{
		{"SELECT a, b FROM ks.users WHERE id = ?", "SELECT", "ks", "users"},
		{"select * from users", "SELECT", "", "users"},
		{`SELECT "From" FROM "MyKs"."My""Table"`, "SELECT", "MyKs", `My"Table`},
		{"SELECT 'FROM x' AS s, v FROM t -- FROM y", "SELECT", "", "t"},
		{"  /* hint */ INSERT INTO ks1.t (id, v) VALUES (1, 'a')", "INSERT", "ks1", "t"},
		{"UPDATE t SET v = 1 WHERE id = 2", "UPDATE", "", "t"},
		{"DELETE v FROM ks.t WHERE id = 1", "DELETE", "ks", "t"},
		{"TRUNCATE TABLE ks.t", "TRUNCATE", "ks", "t"},
		{"truncate t", "TRUNCATE", "", "t"},
		{"BEGIN UNLOGGED BATCH INSERT INTO t (a) VALUES (1); APPLY BATCH", "BATCH", "", ""},
		{"CREATE TABLE ks.t (id int PRIMARY KEY)", "CREATE", "", ""},
		{"SELECT now()", "SELECT", "", ""},
		{"SELECT a FROM", "SELECT", "", ""},
		{"", "", "", ""},
		{"'unterminated", "", "", ""},
	} {
		op, ks, table := parseCQL(c.cql)
		if op != c.op || ks != c.ks || table != c.table {
			t.Errorf("parseCQL(%q) = %q, %q, %q; want %q, %q, %q", c.cql, op, ks, table, c.op, c.ks, c.table)
		}
	}
}

func TestErrorType(t *testing.T) {
	for _, c := range []struct {
		err        error
		code, kind string
	}{
		{&frame.Error{Code: frame.CodeInvalid}, "0x2200", "0x2200"},
		{fmt.Errorf("x: %w", &frame.Error{Code: frame.CodeReadTimeout}), "0x1200", "0x1200"},
		{context.DeadlineExceeded, "", "timeout"},
		{context.Canceled, "", "canceled"},
		{&cluster.NoHostAvailableError{}, "", "no_host_available"},
		{errors.New("?"), "", "_OTHER"},
	} {
		if code, kind := errorType(c.err); code != c.code || kind != c.kind {
			t.Errorf("errorType(%v) = %q, %q; want %q, %q", c.err, code, kind, c.code, c.kind)
		}
	}
}

// TestStatementWithoutNode drives the observer as the session would, so
// that what does not need a node (the text only when asked for, no
// tracer without a TracerProvider) is checked without one.
func TestStatementWithoutNode(t *testing.T) {
	st := &query.Statement{Kind: query.KindQuery, CQL: "SELECT v FROM ks.t WHERE id = 1", Consistency: frame.LocalQuorum,
		PageSize: 100, Start: time.Now()}
	for _, text := range []bool{false, true} {
		rec := tracetest.NewSpanRecorder()
		tel, err := New(Config{TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)), QueryText: text})
		if err != nil {
			t.Fatal(err)
		}
		obs := tel.StatementStart(context.Background(), st)
		obs.End(query.StatementResult{Latency: time.Millisecond, Coordinator: "10.0.0.1:9042"})
		spans := rec.Ended()
		if len(spans) != 1 || spans[0].Name() != "SELECT t" {
			t.Fatalf("spans %v", spans)
		}
		a := attrs(spans[0].Attributes())
		if _, got := a["db.query.text"]; got != text {
			t.Errorf("QueryText %v: db.query.text recorded: %v", text, got)
		}
		if a["db.namespace"] != "ks" || a["server.address"] != "10.0.0.1" || a["server.port"] != "9042" ||
			a["cassandra.consistency.level"] != "local_quorum" || a["cassandra.page.size"] != "100" {
			t.Errorf("attributes %v", a)
		}
		if d := spans[0].EndTime().Sub(spans[0].StartTime()); d != time.Millisecond {
			t.Errorf("span lasted %v, want the statement's 1ms", d)
		}
	}
	tel, _ := New(Config{})
	if obs := tel.StatementStart(context.Background(), st); obs != nil {
		t.Errorf("without providers StatementStart returned %v, want nil (nothing on the request path)", obs)
	}
	if reg, err := tel.ObserveSession(nil); err != nil || reg.Unregister() != nil {
		t.Errorf("ObserveSession without a MeterProvider: %v", err)
	}
}

// attrs maps attribute keys to their values as strings.
func attrs(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	return m
}

// realTelemetry connects a session to the test node with a Telemetry
// recording into memory.
func realTelemetry(t *testing.T, queryText bool) (*cluster.Session, *tracetest.SpanRecorder, *sdkmetric.ManualReader, *Telemetry, int) {
	t.Helper()
	cfg, nodes := realConfig(t)
	rec := tracetest.NewSpanRecorder()
	reader := sdkmetric.NewManualReader()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { tp.Shutdown(context.Background()); mp.Shutdown(context.Background()) })
	tel, err := New(Config{TracerProvider: tp, MeterProvider: mp, QueryText: queryText})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Observer = tel
	return connect(t, cfg), rec, reader, tel, nodes
}

// setUp creates the test keyspace and table.
func setUp(t *testing.T, ctx context.Context, s *cluster.Session, nodes int) {
	t.Helper()
	rf := min(nodes, 3)
	for _, cql := range []string{
		fmt.Sprintf("CREATE KEYSPACE IF NOT EXISTS cqlotel WITH replication = {'class': 'SimpleStrategy', 'replication_factor': %d}", rf),
		"CREATE TABLE IF NOT EXISTS cqlotel.users (id int PRIMARY KEY, name text)",
	} {
		if err := s.Query(cql).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// waitPools waits (20 s at most) until every node's pool has its two
// connections: the three-node cluster may be in someone else's chaos
// test, and a node it restarts is checked only once it is back.
func waitPools(t *testing.T, s *cluster.Session) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		full := true
		for _, n := range s.Metrics().Nodes {
			full = full && n.OpenConnections == 2
		}
		if full {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("not every pool is full: %+v", s.Metrics().Nodes)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestSpansReal runs statements against the real node and checks their
// spans: names, kind, parent, attributes, attempt events, error status.
func TestSpansReal(t *testing.T) {
	s, rec, _, _, nodes := realTelemetry(t, true)
	ctx := testCtx(t)
	setUp(t, ctx, s, nodes)

	parentTP := sdktrace.NewTracerProvider()
	ctx, parent := parentTP.Tracer("test").Start(ctx, "parent")
	const ins = "INSERT INTO cqlotel.users (id, name) VALUES (?, ?)"
	if err := s.Query(ins, 1, "ada").Idempotent(true).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	const sel = "SELECT name FROM cqlotel.users WHERE id = ?"
	var name string
	if err := s.Query(sel, 1).PageSize(10).Consistency(frame.One).One(ctx, &name); err != nil || name != "ada" {
		t.Fatalf("%q, %v", name, err)
	}
	err := s.Query("SELECT nothing FROM cqlotel.users").Exec(ctx)
	if !errors.Is(err, frame.CodeInvalid) {
		t.Fatalf("%v, want Invalid", err)
	}
	if err := s.Batch(query.LoggedBatch).Add(ins, 2, "bob").Add(ins, 3, "cy").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	parent.End()

	var (
		insert, selectSpan, invalid, batch sdktrace.ReadOnlySpan
		prepares                           int
	)
	for _, sp := range rec.Ended() {
		a := attrs(sp.Attributes())
		switch {
		case sp.Name() == "PREPARE users":
			prepares++
			if sp.Parent().IsValid() {
				t.Errorf("the implicit PREPARE has a parent span %v: it runs under the session's context", sp.Parent())
			}
		case sp.Name() == "INSERT users" && a["db.query.text"] == ins:
			insert = sp
		case sp.Name() == "SELECT users" && a["db.query.text"] == sel:
			selectSpan = sp
		case sp.Name() == "SELECT users":
			invalid = sp
		case sp.Name() == "BATCH cqlotel":
			batch = sp
		}
	}
	if prepares != 2 || insert == nil || selectSpan == nil || invalid == nil || batch == nil {
		var names []string
		for _, sp := range rec.Ended() {
			names = append(names, sp.Name())
		}
		t.Fatalf("spans %q: want 2 PREPAREs, the INSERT, both SELECTs and the BATCH", names)
	}

	_, port, _ := net.SplitHostPort(s.Metrics().Nodes[0].Addr)
	for _, sp := range []sdktrace.ReadOnlySpan{insert, selectSpan, invalid, batch} {
		if sp.SpanKind() != trace.SpanKindClient {
			t.Errorf("%s: kind %v, want client", sp.Name(), sp.SpanKind())
		}
		if sp.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("%s: parent %v, want the caller's span", sp.Name(), sp.Parent().SpanID())
		}
		a := attrs(sp.Attributes())
		if a["db.system.name"] != "cassandra" || a["db.namespace"] != "cqlotel" || a["cassandra.query.idempotent"] == "" ||
			a["server.address"] == "" || a["server.port"] != port || a["network.peer.address"] != a["server.address"] ||
			a["network.peer.port"] != port || len(a["cassandra.coordinator.id"]) != 36 || a["cassandra.coordinator.dc"] == "" {
			t.Errorf("%s: attributes %v", sp.Name(), a)
		}
		var known bool
		for _, n := range s.Metrics().Nodes {
			known = known || (n.Addr == net.JoinHostPort(a["server.address"], a["server.port"]) &&
				n.HostID.String() == a["cassandra.coordinator.id"] && n.Datacenter == a["cassandra.coordinator.dc"])
		}
		if !known {
			t.Errorf("%s: coordinator %s %s %s is no node of the session", sp.Name(), a["server.address"], a["cassandra.coordinator.id"], a["cassandra.coordinator.dc"])
		}
		events := sp.Events()
		if len(events) == 0 || events[0].Name != "cassandra.attempt" {
			t.Fatalf("%s: events %v, want the attempts", sp.Name(), events)
		}
		ea := attrs(events[len(events)-1].Attributes)
		if ea["cassandra.attempt.number"] != strconv.Itoa(len(events)) || ea["cassandra.attempt.next"] != "done" ||
			ea["network.peer.address"] != a["network.peer.address"] || ea["cassandra.attempt.speculative"] != "false" {
			t.Errorf("%s: last attempt %v", sp.Name(), ea)
		}
	}
	if a := attrs(insert.Attributes()); a["db.operation.name"] != "INSERT" || a["db.collection.name"] != "users" ||
		a["cassandra.consistency.level"] != "local_one" || a["cassandra.query.idempotent"] != "true" || insert.Status().Code != codes.Unset {
		t.Errorf("INSERT: %v, status %v", a, insert.Status())
	}
	if a := attrs(selectSpan.Attributes()); a["db.operation.name"] != "SELECT" || a["cassandra.page.size"] != "10" ||
		a["cassandra.consistency.level"] != "one" || a["cassandra.query.idempotent"] != "false" {
		t.Errorf("SELECT: %v", a)
	}
	a := attrs(invalid.Attributes())
	if invalid.Status().Code != codes.Error || a["db.response.status_code"] != "0x2200" || a["error.type"] != "0x2200" {
		t.Errorf("invalid SELECT: %v, status %v", a, invalid.Status())
	}
	if ea := attrs(invalid.Events()[0].Attributes); ea["error.type"] != "0x2200" || ea["exception.message"] == "" {
		t.Errorf("invalid SELECT's attempt: %v", ea)
	}
	if a := attrs(batch.Attributes()); a["db.operation.name"] != "BATCH" || a["db.operation.batch.size"] != "2" ||
		a["db.query.text"] != ins {
		t.Errorf("BATCH: %v", a)
	}
}

// TestMetricsReal checks db.client.operation.duration and the session's
// observable instruments, read through a ManualReader, against the
// session's own Metrics.
func TestMetricsReal(t *testing.T) {
	s, _, reader, tel, nodes := realTelemetry(t, false)
	ctx := testCtx(t)
	setUp(t, ctx, s, nodes)
	waitPools(t, s)
	reg, err := tel.ObserveSession(s, attribute.String("session", "test"))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	const n = 5
	for i := range n {
		if err := s.Query("INSERT INTO cqlotel.users (id, name) VALUES (?, ?)", 10+i, "x").Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Query("SELECT nothing FROM cqlotel.users").Exec(ctx); err == nil {
		t.Fatal("no error selecting an unknown column")
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	want := s.Metrics() // nothing ran since the collection
	got := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != ScopeName {
			t.Errorf("scope %q, want %q", sm.Scope.Name, ScopeName)
		}
		for _, m := range sm.Metrics {
			got[m.Name] = m
		}
	}

	d, ok := got["db.client.operation.duration"]
	if !ok || d.Unit != "s" {
		t.Fatalf("db.client.operation.duration: %+v", d)
	}
	h := d.Data.(metricdata.Histogram[float64])
	var inserts, failed uint64
	for _, dp := range h.DataPoints {
		if !slices.Equal(dp.Bounds, DurationBuckets) {
			t.Errorf("bucket boundaries %v, want %v", dp.Bounds, DurationBuckets)
		}
		a := attrs(dp.Attributes.ToSlice())
		if a["db.system.name"] != "cassandra" || a["server.address"] == "" || a["server.port"] == "" {
			t.Errorf("data point attributes %v", a)
		}
		switch {
		case a["db.operation.name"] == "INSERT" && a["db.collection.name"] == "users" && a["db.namespace"] == "cqlotel":
			inserts += dp.Count
			if mx, ok := dp.Max.Value(); dp.Sum <= 0 || !ok || mx <= 0 || mx > 30 {
				t.Errorf("INSERT durations: sum %v, max %v", dp.Sum, mx)
			}
		case a["error.type"] == "0x2200":
			failed += dp.Count
			if a["db.response.status_code"] != "0x2200" || a["db.operation.name"] != "SELECT" {
				t.Errorf("failed statement's data point: %v", a)
			}
		}
		if _, ok := a["db.query.text"]; ok {
			t.Errorf("db.query.text on a metric: %v", a)
		}
	}
	if inserts != n || failed != 1 {
		t.Errorf("recorded %d INSERTs and %d failures, want %d and 1", inserts, failed, n)
	}

	sum := func(name string, match func(map[string]string) bool) (int64, int) {
		m, ok := got[name]
		if !ok {
			t.Errorf("no %s", name)
			return 0, 0
		}
		var v int64
		var points int
		add := func(a attribute.Set, value int64) {
			am := attrs(a.ToSlice())
			if am["session"] != "test" {
				t.Errorf("%s: attributes %v lack the session's", name, am)
			}
			if match == nil || match(am) {
				v += value
				points++
			}
		}
		switch data := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, dp := range data.DataPoints {
				add(dp.Attributes, dp.Value)
			}
		default:
			t.Errorf("%s: %T", name, m.Data)
		}
		return v, points
	}
	if v, _ := sum("cassandra.client.requests", nil); v != int64(want.Requests) {
		t.Errorf("cassandra.client.requests %d, want %d", v, want.Requests)
	}
	if v, _ := sum("cassandra.client.requests.failed", nil); v != int64(want.Failed) || v < 1 {
		t.Errorf("cassandra.client.requests.failed %d, want %d", v, want.Failed)
	}
	if v, _ := sum("cassandra.client.connected_nodes", nil); v != int64(want.ConnectedNodes) || v < 1 {
		t.Errorf("cassandra.client.connected_nodes %d, want %d", v, want.ConnectedNodes)
	}
	if v, _ := sum("cassandra.client.prepared_statements", nil); v != int64(want.PreparedStatements) || v < 1 {
		t.Errorf("cassandra.client.prepared_statements %d, want %d", v, want.PreparedStatements)
	}
	for _, node := range want.Nodes {
		host, port, _ := net.SplitHostPort(node.Addr)
		this := func(a map[string]string) bool {
			return a["server.address"] == host && a["server.port"] == port && a["cassandra.node.dc"] == node.Datacenter
		}
		if v, _ := sum("cassandra.client.node.connections", this); v != int64(node.OpenConnections) || (node.Up && v != 2) {
			t.Errorf("%s: %d connections, want %d (the default pool size, 2, when up: %v)", node.Addr, v, node.OpenConnections, node.Up)
		}
		if v, _ := sum("cassandra.client.node.requests", this); v != int64(node.Requests) {
			t.Errorf("%s: %d requests, want %d", node.Addr, v, node.Requests)
		}
		sent, _ := sum("cassandra.client.node.io", func(a map[string]string) bool { return this(a) && a["network.io.direction"] == "transmit" })
		received, _ := sum("cassandra.client.node.io", func(a map[string]string) bool { return this(a) && a["network.io.direction"] == "receive" })
		if sent != int64(node.BytesSent) || received != int64(node.BytesReceived) || (node.Requests > 0 && (sent == 0 || received == 0)) {
			t.Errorf("%s: io %d/%d bytes, want %d/%d", node.Addr, sent, received, node.BytesSent, node.BytesReceived)
		}
		if v, points := sum("cassandra.client.node.errors", this); v != int64(node.Errors.Total()) || points != 9 {
			t.Errorf("%s: %d errors in %d kinds, want %d in 9", node.Addr, v, points, node.Errors.Total())
		}
		if v, _ := sum("cassandra.client.node.errors", func(a map[string]string) bool { return this(a) && a["error.type"] == "server_error" }); v != int64(node.Errors.ServerErrors) {
			t.Errorf("%s: %d server errors, want %d", node.Addr, v, node.Errors.ServerErrors)
		}
	}
	var serverErrors uint64
	for _, node := range want.Nodes {
		serverErrors += node.Errors.ServerErrors
	}
	if serverErrors < 1 {
		t.Errorf("no node counted the Invalid answer: %+v", want.Nodes)
	}
}
