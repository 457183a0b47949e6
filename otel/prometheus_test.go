package cqlotel

import (
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// TestPrometheusReal exports the metrics of a session on the real node
// through the OpenTelemetry Prometheus exporter, scrapes them over HTTP as
// Prometheus would, and checks the names, labels and values.
func TestPrometheusReal(t *testing.T) {
	cfg, nodes := realConfig(t)
	registry := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(registry))
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer mp.Shutdown(t.Context())
	tel, err := New(Config{MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Observer = tel
	s := connect(t, cfg)
	reg, err := tel.ObserveSession(s)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	ctx := testCtx(t)
	setUp(t, ctx, s, nodes)
	waitPools(t, s)
	const n = 7
	for i := range n {
		var name string
		if err := s.Query("SELECT name FROM cqlotel.users WHERE id = ?", 1000+i).One(ctx, &name); err == nil {
			t.Fatalf("row %d exists", 1000+i)
		}
	}

	srv := httptest.NewServer(promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	defer srv.Close()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := s.Metrics() // nothing ran since the scrape

	family := func(name string, typ dto.MetricType) *dto.MetricFamily {
		t.Helper()
		f := families[name]
		if f == nil {
			var names []string
			for k := range families {
				if strings.HasPrefix(k, "cassandra") || strings.HasPrefix(k, "db_") {
					names = append(names, k)
				}
			}
			t.Fatalf("no metric %s in the scrape (have %v)", name, names)
		}
		if f.GetType() != typ {
			t.Fatalf("%s is a %v, want %v", name, f.GetType(), typ)
		}
		return f
	}
	labels := func(m *dto.Metric) map[string]string {
		l := map[string]string{}
		for _, lp := range m.GetLabel() {
			l[lp.GetName()] = lp.GetValue()
		}
		return l
	}

	// The duration histogram: seconds, the recommended buckets, the
	// semantic conventions' attributes as labels.
	var selects uint64
	for _, m := range family("db_client_operation_duration_seconds", dto.MetricType_HISTOGRAM).GetMetric() {
		l := labels(m)
		if l["db_system_name"] != "cassandra" || l["otel_scope_name"] != ScopeName {
			t.Errorf("histogram labels %v", l)
		}
		var bounds []float64
		for _, b := range m.GetHistogram().GetBucket() {
			bounds = append(bounds, b.GetUpperBound())
		}
		if len(bounds) != len(DurationBuckets)+1 || !math.IsInf(bounds[len(bounds)-1], 1) {
			t.Errorf("buckets %v, want %v and +Inf", bounds, DurationBuckets)
		}
		for i := range min(len(bounds), len(DurationBuckets)) {
			if bounds[i] != DurationBuckets[i] {
				t.Errorf("bucket %d: le=%v, want %v", i, bounds[i], DurationBuckets[i])
			}
		}
		if l["db_operation_name"] == "SELECT" && l["db_collection_name"] == "users" && l["db_namespace"] == "cqlotel" {
			selects += m.GetHistogram().GetSampleCount()
			if m.GetHistogram().GetSampleSum() <= 0 {
				t.Errorf("SELECT durations sum to %v", m.GetHistogram().GetSampleSum())
			}
		}
	}
	if selects != n {
		t.Errorf("the histogram counted %d SELECTs of cqlotel.users, want %d", selects, n)
	}

	// Session counters and gauges.
	one := func(name string, typ dto.MetricType) float64 {
		t.Helper()
		ms := family(name, typ).GetMetric()
		if len(ms) != 1 {
			t.Fatalf("%s: %d series, want 1", name, len(ms))
		}
		if typ == dto.MetricType_COUNTER {
			return ms[0].GetCounter().GetValue()
		}
		return ms[0].GetGauge().GetValue()
	}
	if v := one("cassandra_client_requests_total", dto.MetricType_COUNTER); v != float64(want.Requests) || v < n {
		t.Errorf("cassandra_client_requests_total %v, want %d", v, want.Requests)
	}
	if v := one("cassandra_client_connected_nodes", dto.MetricType_GAUGE); v != float64(want.ConnectedNodes) || v < 1 {
		t.Errorf("cassandra_client_connected_nodes %v, want %d", v, want.ConnectedNodes)
	}
	if v := one("cassandra_client_prepared_statements", dto.MetricType_GAUGE); v != float64(want.PreparedStatements) || v < 1 {
		t.Errorf("cassandra_client_prepared_statements %v, want %d", v, want.PreparedStatements)
	}

	// Per node: labelled with the node's address, port and data centre.
	byNode := func(name string, typ dto.MetricType, extra map[string]string) map[string]float64 {
		t.Helper()
		out := map[string]float64{}
	metrics:
		for _, m := range family(name, typ).GetMetric() {
			l := labels(m)
			for k, v := range extra {
				if l[k] != v {
					continue metrics
				}
			}
			v := m.GetGauge().GetValue()
			if typ == dto.MetricType_COUNTER {
				v = m.GetCounter().GetValue()
			}
			out[net.JoinHostPort(l["server_address"], l["server_port"])+" "+l["cassandra_node_dc"]] += v
		}
		return out
	}
	conns := byNode("cassandra_client_node_connections", dto.MetricType_GAUGE, nil)
	sent := byNode("cassandra_client_node_io_bytes_total", dto.MetricType_COUNTER, map[string]string{"network_io_direction": "transmit"})
	received := byNode("cassandra_client_node_io_bytes_total", dto.MetricType_COUNTER, map[string]string{"network_io_direction": "receive"})
	requests := byNode("cassandra_client_node_requests_total", dto.MetricType_COUNTER, nil)
	var total float64
	for _, node := range want.Nodes {
		key := node.Addr + " " + node.Datacenter
		if conns[key] != float64(node.OpenConnections) || (node.Up && conns[key] != 2) {
			t.Errorf("%s: %v connections, want %d (the default pool size, 2, when up: %v)", key, conns[key], node.OpenConnections, node.Up)
		}
		if sent[key] != float64(node.BytesSent) || received[key] != float64(node.BytesReceived) {
			t.Errorf("%s: %v/%v bytes sent/received, want %d/%d", key, sent[key], received[key], node.BytesSent, node.BytesReceived)
		}
		if requests[key] != float64(node.Requests) {
			t.Errorf("%s: %v requests, want %d", key, requests[key], node.Requests)
		}
		total += requests[key]
	}
	if len(conns) != len(want.Nodes) || total < n {
		t.Errorf("series for %d nodes, %v requests in all; want %d nodes and at least %d requests", len(conns), total, len(want.Nodes), n)
	}
	errs := family("cassandra_client_node_errors_total", dto.MetricType_COUNTER)
	if len(errs.GetMetric()) != 9*len(want.Nodes) {
		t.Errorf("cassandra_client_node_errors_total: %d series, want 9 kinds for each of %d nodes", len(errs.GetMetric()), len(want.Nodes))
	}
}
