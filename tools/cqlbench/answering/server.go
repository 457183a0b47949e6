package answering

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testserver"
	"github.com/cqlwire/cqlwire/tools/cqlbench/workload"
	"github.com/cqlwire/cqlwire/types"
)

// Wrong makes the server give wrong answers on purpose, so that tests can
// prove the drivers check what they read.
type Wrong uint8

const (
	// Right answers are correct.
	Right Wrong = iota
	// WrongValues answers with the right number of rows holding a wrong
	// value: the kv row of the next key, the vector of another id, a paged
	// row whose v is off by one.
	WrongValues
	// WrongCounts answers with a row missing: no kv row, one neighbour
	// fewer, a last page one row short.
	WrongCounts
)

// Options configures a Server.
type Options struct {
	// Addr is the address to listen on; empty means 127.0.0.1 on a free
	// port.
	Addr string
	// Wrong makes answers wrong on purpose (tests only).
	Wrong Wrong
	// Logf receives the server's protocol errors; nil discards them.
	Logf func(format string, args ...any)
}

// Server is a running answering server.
type Server struct {
	ts    *testserver.Server
	wrong Wrong
	sys   *SystemTables

	byCQL map[string]*statement
	byID  map[string]*statement

	kv  [workload.KVRows]rowsPair
	ann rowsPair

	pagesMu sync.Mutex
	pages   map[int32][]rowsPair // by page size: page i starts at row i*size
}

// statement is one prepared statement the server knows.
type statement struct {
	spec     *workload.Statement
	prepared [2]*frame.Prepared // v4, v5
	executed atomic.Int64
	rejected atomic.Int64
}

// rowsPair is one result with its column specs (full) and without them
// (bare, for requests with the skip-metadata flag).
type rowsPair struct{ full, bare *frame.Rows }

func pair(full *frame.Rows) rowsPair {
	bare := *full
	bare.Metadata.Flags = frame.MetaNoMetadata
	bare.Metadata.ColumnCount = len(full.Metadata.Columns)
	bare.Metadata.Columns = nil
	return rowsPair{full: full, bare: &bare}
}

func (p rowsPair) pick(skipMetadata bool) *frame.Rows {
	if skipMetadata {
		return p.bare
	}
	return p.full
}

// Start starts a server.
func Start(opts Options) (*Server, error) {
	sys, err := NewSystemTables()
	if err != nil {
		return nil, err
	}
	s := &Server{
		wrong: opts.Wrong, sys: sys,
		byCQL: map[string]*statement{}, byID: map[string]*statement{},
		pages: map[int32][]rowsPair{},
	}
	for _, spec := range workload.Statements {
		st := &statement{spec: spec}
		id := md5.Sum([]byte(workload.Keyspace + "." + spec.CQL))
		resultID := md5.Sum([]byte("result metadata of " + spec.CQL))
		for i, v := range []frame.Version{frame.V4, frame.V5} {
			p := &frame.Prepared{ID: id[:]}
			p.Params.Flags = frame.MetaGlobalTablesSpec
			p.Params.PKIndexes = spec.PKIndexes
			p.Params.Columns = columnSpecs(spec, spec.Params)
			p.Result.Flags = frame.MetaGlobalTablesSpec
			p.Result.Columns = columnSpecs(spec, spec.Result)
			if len(spec.Result) == 0 {
				p.Result.Flags = frame.MetaNoMetadata
			}
			if v >= frame.V5 {
				p.ResultMetadataID = resultID[:]
			}
			st.prepared[i] = p
		}
		s.byCQL[spec.CQL] = st
		s.byID[string(id[:])] = st
	}
	if err := s.buildAnswers(); err != nil {
		return nil, err
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	s.ts, err = testserver.Start(testserver.Options{Addr: opts.Addr, Handler: s.handle, Logf: logf})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Addr is the address the server listens on, host:port.
func (s *Server) Addr() string { return s.ts.Addr() }

// Close stops the server and closes its connections.
func (s *Server) Close() error { return s.ts.Close() }

// Executed returns how many EXECUTEs of the statement with this CQL text
// were answered, and how many were refused for their bound values.
func (s *Server) Executed(cql string) (answered, refused int64) {
	st := s.byCQL[cql]
	if st == nil {
		return 0, 0
	}
	return st.executed.Load(), st.rejected.Load()
}

// Connections returns how many connections the server has accepted.
func (s *Server) Connections() int64 { return s.ts.Stats().Accepted }

func columnSpecs(spec *workload.Statement, cols []workload.Column) []frame.ColumnSpec {
	if len(cols) == 0 {
		return nil
	}
	out := make([]frame.ColumnSpec, len(cols))
	for i, c := range cols {
		out[i] = frame.ColumnSpec{Keyspace: workload.Keyspace, Table: spec.Table, Name: c.Name, Type: c.Type}
	}
	return out
}

func newRows(spec *workload.Statement) *frame.Rows {
	return &frame.Rows{Metadata: frame.RowsMetadata{
		Flags:   frame.MetaGlobalTablesSpec,
		Columns: columnSpecs(spec, spec.Result),
	}}
}

func appendCells(rows *frame.Rows, spec *workload.Statement, values ...any) error {
	cells := make([][]byte, len(values))
	for i, v := range values {
		b, _, err := types.Append(nil, spec.Result[i].Type, v)
		if err != nil {
			return fmt.Errorf("%s column %s: %w", spec.Table, spec.Result[i].Name, err)
		}
		cells[i] = b
	}
	return rows.AppendRow(cells...)
}

// buildAnswers builds the kv rows and the ANN result (pages are built on
// first use, one set per page size).
func (s *Server) buildAnswers() error {
	for k := range int32(workload.KVRows) {
		rows := newRows(&workload.SelectStmt)
		key := k
		switch s.wrong {
		case WrongValues:
			key = (k + 1) % workload.KVRows
		case WrongCounts:
			s.kv[k] = pair(rows)
			continue
		}
		if err := appendCells(rows, &workload.SelectStmt, key, workload.KVName(key), workload.KVN(key)); err != nil {
			return err
		}
		s.kv[k] = pair(rows)
	}
	rows := newRows(&workload.VectorANNStmt)
	n := int32(workload.ANNLimit)
	if s.wrong == WrongCounts {
		n--
	}
	vec := make([]float32, workload.Dim)
	for id := range n {
		vecID := id
		if s.wrong == WrongValues && id == n-1 {
			vecID = id + 1
		}
		if err := appendCells(rows, &workload.VectorANNStmt, id, workload.FillVector(vec, vecID)); err != nil {
			return err
		}
	}
	s.ann = pair(rows)
	return nil
}

// pagingStateMagic starts every paging state the server sends, so that a
// paging state it did not send is recognised.
const pagingStateMagic = "cqlb"

func pagingState(offset int) []byte {
	return binary.BigEndian.AppendUint32([]byte(pagingStateMagic), uint32(offset))
}

func pagingOffset(state []byte) (int, bool) {
	if len(state) != len(pagingStateMagic)+4 || string(state[:len(pagingStateMagic)]) != pagingStateMagic {
		return 0, false
	}
	return int(binary.BigEndian.Uint32(state[len(pagingStateMagic):])), true
}

// pagesOf returns the pages of the paged partition for a page size.
func (s *Server) pagesOf(size int32) ([]rowsPair, error) {
	s.pagesMu.Lock()
	defer s.pagesMu.Unlock()
	if p, ok := s.pages[size]; ok {
		return p, nil
	}
	var pages []rowsPair
	total := workload.PagedRows
	if s.wrong == WrongCounts {
		total--
	}
	for start := 0; start < total; start += int(size) {
		rows := newRows(&workload.PagedStmt)
		end := min(start+int(size), total)
		for ck := int32(start); ck < int32(end); ck++ {
			v := workload.PagedV(ck)
			if s.wrong == WrongValues && ck == int32(total-1) {
				v++
			}
			if err := appendCells(rows, &workload.PagedStmt, ck, v); err != nil {
				return nil, err
			}
		}
		if end < total {
			rows.Metadata.PagingState = pagingState(end)
		}
		pages = append(pages, pair(rows))
	}
	s.pages[size] = pages
	return pages, nil
}

var void = &frame.Void{}

// handle answers one request (see the package documentation).
func (s *Server) handle(req *testserver.Request) testserver.Reply {
	switch req.Header.Opcode {
	case frame.OpQuery:
		if rows := s.sys.Answer(QueryText(req.Body)); rows != nil {
			return testserver.Reply{Message: rows}
		}
	case frame.OpPrepare:
		env, err := req.Envelope()
		if err != nil {
			return req.Default()
		}
		if st := s.byCQL[env.Message.(*frame.Prepare).Query]; st != nil {
			i := 0
			if req.Header.Version >= frame.V5 {
				i = 1
			}
			return testserver.Reply{Message: st.prepared[i]}
		}
	case frame.OpExecute:
		e, ok := parseExecute(req.Body, req.Header.Version)
		if !ok {
			return invalid("cqlbench answering server: EXECUTE parameters it cannot read")
		}
		if st := s.byID[string(e.id)]; st != nil {
			rep := s.execute(st, &e)
			if _, refused := rep.Message.(*frame.Error); refused {
				st.rejected.Add(1)
			} else {
				st.executed.Add(1)
			}
			return rep
		}
	}
	return req.Default()
}

func invalid(msg string) testserver.Reply {
	return testserver.Reply{Message: &frame.Error{Code: frame.CodeInvalid, Message: msg}}
}

// fixedSize is the size of a value of t, or -1 for variable-size types.
func fixedSize(t *types.Type) int {
	switch t.Kind {
	case types.Int, types.Float:
		return 4
	case types.Bigint, types.Double, types.Timestamp:
		return 8
	case types.Boolean:
		return 1
	case types.UUID:
		return 16
	case types.Vector:
		if n := fixedSize(t.Elem); n > 0 {
			return n * t.Dimension
		}
	}
	return -1
}

// execute checks the bound values of an EXECUTE of st and answers it.
func (s *Server) execute(st *statement, e *execute) testserver.Reply {
	spec := st.spec
	if e.nvalues != len(spec.Params) {
		return invalid(fmt.Sprintf("there were %d markers(?) in CQL but %d bound variables", len(spec.Params), e.nvalues))
	}
	var first []byte
	it := e.valueIter()
	for i, col := range spec.Params {
		v, null := it.next()
		if null {
			return invalid(fmt.Sprintf("cqlbench answering server: %s is null", col.Name))
		}
		if n := fixedSize(col.Type); n >= 0 && len(v) != n {
			return invalid(fmt.Sprintf("cqlbench answering server: %s (%s) has %d bytes, want %d", col.Name, col.Type.Kind, len(v), n))
		}
		if i == 0 {
			first = v
		}
	}
	skip := e.flags&frame.QueryFlagSkipMetadata != 0
	switch spec {
	case &workload.SelectStmt:
		k := int32(binary.BigEndian.Uint32(first))
		if k < 0 || k >= workload.KVRows {
			return invalid(fmt.Sprintf("cqlbench answering server: no kv row %d", k))
		}
		return testserver.Reply{Message: s.kv[k].pick(skip)}
	case &workload.VectorANNStmt:
		return testserver.Reply{Message: s.ann.pick(skip)}
	case &workload.PagedStmt:
		if pk := int32(binary.BigEndian.Uint32(first)); pk != workload.PagedPK {
			return invalid(fmt.Sprintf("cqlbench answering server: no paged partition %d", pk))
		}
		size := e.pageSize
		if size <= 0 || size > workload.PagedRows {
			size = workload.PagedRows
		}
		pages, err := s.pagesOf(size)
		if err != nil {
			return invalid(err.Error())
		}
		offset := 0
		if e.pagingState != nil {
			var ok bool
			if offset, ok = pagingOffset(e.pagingState); !ok || offset%int(size) != 0 || offset/int(size) >= len(pages) {
				return invalid(fmt.Sprintf("cqlbench answering server: paging state %x is not one it sent for page size %d", e.pagingState, size))
			}
		}
		return testserver.Reply{Message: pages[offset/int(size)].pick(skip)}
	}
	return testserver.Reply{Message: void}
}
