package connbench

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testserver"
	"github.com/cqlwire/cqlwire/tools/cqlbench/answering"
)

// The workload on the answering server: a SELECT with one int bind marker,
// answered with the answering machine's canned result (one row, one int
// column holding 1).
const (
	answeringCQL = "SELECT v FROM t WHERE k = ?"
	answeringKey = 42
)

// answeringValue is the int cell the canned result carries.
var answeringValue = []byte{0, 0, 0, 1}

// recorder watches the requests of an answering server, for the checks of
// TestAnswers; the benchmarks run without one.
type recorder struct {
	mu       sync.Mutex
	opcodes  map[int64]map[frame.Opcode]int // per connection id
	queries  []string                       // every QUERY text, in order
	executes map[int64][]byte               // per connection: the last EXECUTE body
}

func newRecorder() *recorder {
	return &recorder{opcodes: map[int64]map[frame.Opcode]int{}, executes: map[int64][]byte{}}
}

func (r *recorder) record(req *testserver.Request, query []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.opcodes[req.Conn.ID]
	if m == nil {
		m = map[frame.Opcode]int{}
		r.opcodes[req.Conn.ID] = m
	}
	m[req.Header.Opcode]++
	switch req.Header.Opcode {
	case frame.OpQuery:
		r.queries = append(r.queries, string(query))
	case frame.OpExecute:
		r.executes[req.Conn.ID] = bytes.Clone(req.Body)
	}
}

// count returns how many requests of opcode op connection id received.
func (r *recorder) count(id int64, op frame.Opcode) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.opcodes[id][op]
}

// conns returns the ids of the connections that received a request with
// opcode op.
func (r *recorder) conns(op frame.Opcode) []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []int64
	for id, m := range r.opcodes {
		if m[op] > 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

// startAnswering starts the in-process answering machine for the
// benchmark, with the system tables gocql reads when its session starts
// (see systemHandler). rec, when not nil, records the requests.
func startAnswering(tb testing.TB, v frame.Version, rec *recorder) *testserver.Server {
	tb.Helper()
	sys, err := newSystemTables()
	if err != nil {
		tb.Fatal(err)
	}
	var logged atomic.Int32
	srv, err := testserver.Start(testserver.Options{
		Versions: []frame.Version{v},
		BindType: testserver.BindInt,
		Handler:  sys.handler(rec),
		Logf: func(format string, args ...any) {
			if logged.Add(1) <= 10 {
				tb.Logf("testserver: "+format, args...)
			}
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	return srv
}

// systemTables are the answers to the queries of gocql's control
// connection (answering.SystemTables): system.local (one row describing
// the answering server), and empty results for system.peers,
// system.peers_v2 and the system_schema tables. Every other request gets
// the answering machine's default answer.
type systemTables struct{ *answering.SystemTables }

func newSystemTables() (*systemTables, error) {
	s, err := answering.NewSystemTables()
	if err != nil {
		return nil, err
	}
	return &systemTables{s}, nil
}

// handler answers QUERYs on system tables from s and everything else as
// the answering machine does. The benchmark's EXECUTEs cost it one opcode
// comparison (and, with a recorder, a mutex and a map update).
func (s *systemTables) handler(rec *recorder) testserver.Handler {
	return func(req *testserver.Request) testserver.Reply {
		var query []byte
		if req.Header.Opcode == frame.OpQuery {
			query = queryText(req.Body)
		}
		if rec != nil {
			rec.record(req, query)
		}
		if rows := s.Answer(query); query != nil && rows != nil {
			return testserver.Reply{Message: rows}
		}
		return req.Default()
	}
}

func queryText(body []byte) []byte { return answering.QueryText(body) }
