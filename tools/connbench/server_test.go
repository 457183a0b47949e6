package connbench

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testserver"
	"github.com/cqlwire/cqlwire/types"
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
// connection: system.local (one row describing the answering server),
// and empty results for system.peers, system.peers_v2 and the
// system_schema tables. Every other request gets the answering machine's
// default answer.
type systemTables struct {
	local, peers, schema *frame.Rows
}

func newSystemTables() (*systemTables, error) {
	varchar := types.Native(types.Varchar)
	inet := types.Native(types.Inet)
	uuid := types.Native(types.UUID)
	tokens := types.SetOf(varchar)
	loopback := netip.MustParseAddr("127.0.0.1")
	hostID, _ := types.ParseUUID("c0ffee00-0000-4000-8000-000000000001")
	schemaVersion, _ := types.ParseUUID("c0ffee00-0000-4000-8000-000000000002")

	type cell struct {
		name string
		typ  *types.Type
		v    any
	}
	localCells := []cell{
		{"key", varchar, "local"},
		{"bootstrapped", varchar, "COMPLETED"},
		{"broadcast_address", inet, loopback},
		{"cluster_name", varchar, "connbench"},
		{"cql_version", varchar, "3.4.7"},
		{"data_center", varchar, "datacenter1"},
		{"host_id", uuid, hostID},
		{"listen_address", inet, loopback},
		{"partitioner", varchar, "org.apache.cassandra.dht.Murmur3Partitioner"},
		{"rack", varchar, "rack1"},
		{"release_version", varchar, "5.0.6"},
		{"rpc_address", inet, loopback},
		{"schema_version", uuid, schemaVersion},
		{"tokens", tokens, []string{"0"}},
	}
	local := &frame.Rows{Metadata: frame.RowsMetadata{Flags: frame.MetaGlobalTablesSpec}}
	var row [][]byte
	for _, c := range localCells {
		local.Metadata.Columns = append(local.Metadata.Columns,
			frame.ColumnSpec{Keyspace: "system", Table: "local", Name: c.name, Type: c.typ})
		b, _, err := types.Append(nil, c.typ, c.v)
		if err != nil {
			return nil, fmt.Errorf("system.local %s: %w", c.name, err)
		}
		row = append(row, b)
	}
	if err := local.AppendRow(row...); err != nil {
		return nil, err
	}

	peers := &frame.Rows{Metadata: frame.RowsMetadata{Flags: frame.MetaGlobalTablesSpec}}
	for _, c := range []cell{
		{"peer", inet, nil}, {"data_center", varchar, nil}, {"host_id", uuid, nil},
		{"rack", varchar, nil}, {"release_version", varchar, nil}, {"rpc_address", inet, nil},
		{"schema_version", uuid, nil}, {"tokens", tokens, nil},
	} {
		peers.Metadata.Columns = append(peers.Metadata.Columns,
			frame.ColumnSpec{Keyspace: "system", Table: "peers", Name: c.name, Type: c.typ})
	}
	schema := &frame.Rows{Metadata: frame.RowsMetadata{Flags: frame.MetaGlobalTablesSpec,
		Columns: []frame.ColumnSpec{{Keyspace: "system_schema", Table: "keyspaces", Name: "keyspace_name", Type: varchar}}}}
	return &systemTables{local: local, peers: peers, schema: schema}, nil
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
		if query != nil {
			switch {
			case bytes.Contains(query, []byte("system.local")):
				return testserver.Reply{Message: s.local}
			case bytes.Contains(query, []byte("system.peers")):
				return testserver.Reply{Message: s.peers}
			case bytes.Contains(query, []byte("system_schema.")):
				return testserver.Reply{Message: s.schema}
			}
		}
		return req.Default()
	}
}

// queryText returns the CQL text at the start of a QUERY body (a [long
// string]), or nil.
func queryText(body []byte) []byte {
	if len(body) < 4 {
		return nil
	}
	n := int(int32(binary.BigEndian.Uint32(body)))
	if n < 0 || n > len(body)-4 {
		return nil
	}
	return body[4 : 4+n]
}
