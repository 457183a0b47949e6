package cluster

import (
	"testing"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/pool"
	"github.com/cqlwire/cqlwire/query"
)

// BenchmarkMetricsPerStatement is what the metrics add to the request
// path of a statement answered at its first attempt: the node's counters
// looked up, the attempt and the statement counted. Compare with
// BenchmarkSessionSelect's time per statement (on a machine that runs
// other work, wall-clock Session benchmarks vary far more than this
// costs).
func BenchmarkMetricsPerStatement(b *testing.B) {
	var m sessionMetrics
	ids := []pool.HostID{{1}, {2}, {3}}
	for _, id := range ids {
		m.node(id)
	}
	ok := verdict{action: query.Rethrow}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		node := m.node(ids[i%len(ids)])
		node.attemptEnded(nil, ok)
		m.statementEnded(nil)
	}
}

// BenchmarkMetricsPerFailedAttempt: an attempt that failed with a server
// error and was retried (classification included).
func BenchmarkMetricsPerFailedAttempt(b *testing.B) {
	var m sessionMetrics
	node := m.node(pool.HostID{1})
	err := error(&frame.Error{Code: frame.CodeReadTimeout})
	retry := verdict{action: query.RetrySameHost}
	b.ReportAllocs()
	for b.Loop() {
		node.attemptEnded(err, retry)
	}
}

// BenchmarkSessionMetrics is the cost of a snapshot (one node, two
// connections): what a metrics exporter pays per collection.
func BenchmarkSessionMetrics(b *testing.B) {
	s := benchSession(b, frame.V5)
	b.ReportAllocs()
	for b.Loop() {
		if m := s.Metrics(); len(m.Nodes) != 1 {
			b.Fatalf("%d nodes", len(m.Nodes))
		}
	}
}
