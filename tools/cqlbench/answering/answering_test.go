package answering

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/tools/cqlbench/workload"
	"github.com/cqlwire/cqlwire/types"
)

func TestMain(m *testing.M) {
	ServeIfChild() // TestSpawn runs this test binary as the server
	os.Exit(m.Run())
}

func TestParseExecute(t *testing.T) {
	for _, v := range []frame.Version{frame.V4, frame.V5} {
		e := &frame.Execute{ID: []byte("statement-id"), Params: frame.QueryParams{
			Consistency: frame.One, SkipMetadata: true, PageSize: 250, PagingState: []byte("state"),
			Values:           []frame.Value{{Bytes: []byte{0, 0, 0, 7}}, {}, {Bytes: []byte("text")}},
			DefaultTimestamp: 12345,
		}}
		if v == frame.V5 {
			e.ResultMetadataID = []byte("rm")
		}
		body, err := e.AppendBody(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := parseExecute(body, v)
		if !ok {
			t.Fatalf("v%d: not parsed", v)
		}
		if string(got.id) != "statement-id" || got.nvalues != 3 || got.pageSize != 250 || string(got.pagingState) != "state" ||
			got.flags&frame.QueryFlagSkipMetadata == 0 {
			t.Fatalf("v%d: parsed %+v", v, got)
		}
		it := got.valueIter()
		if b, null := it.next(); null || !bytes.Equal(b, []byte{0, 0, 0, 7}) {
			t.Fatalf("v%d: value 0 = %x null=%v", v, b, null)
		}
		if _, null := it.next(); !null {
			t.Fatalf("v%d: value 1 should be null", v)
		}
		if b, _ := it.next(); string(b) != "text" {
			t.Fatalf("v%d: value 2 = %q", v, b)
		}
		for cut := range len(body) - 1 {
			if _, ok := parseExecute(body[:cut], v); ok && cut < len(body)-8 {
				t.Fatalf("v%d: a body cut at %d of %d parsed", v, cut, len(body))
			}
		}
	}
}

// dial connects package conn to the server at addr.
func dial(t *testing.T, addr string, v frame.Version) *conn.Conn {
	t.Helper()
	c, err := conn.Dial(context.Background(), addr, &conn.Config{MinVersion: v, MaxVersion: v})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func prepare(t *testing.T, c *conn.Conn, st *workload.Statement) *frame.Prepared {
	t.Helper()
	env, err := c.Do(context.Background(), conn.Request{Message: &frame.Prepare{Query: st.CQL}})
	if err != nil {
		t.Fatal(err)
	}
	return env.Message.(*frame.Prepared)
}

// run executes p with values encoded as its markers say (nil: null).
func run(c *conn.Conn, p *frame.Prepared, params frame.QueryParams, values ...any) (*frame.Envelope, error) {
	params.Consistency = frame.One
	for i, v := range values {
		if v == nil {
			params.Values = append(params.Values, frame.Value{})
			continue
		}
		b, _, err := types.Append(nil, p.Params.Columns[i].Type, v)
		if err != nil {
			return nil, err
		}
		params.Values = append(params.Values, frame.Value{Bytes: b})
	}
	return c.Do(context.Background(), conn.Request{Message: &frame.Execute{ID: p.ID, ResultMetadataID: p.ResultMetadataID, Params: params}})
}

func start(t *testing.T, wrong Wrong) *Server {
	t.Helper()
	srv, err := Start(Options{Wrong: wrong, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func TestPreparedDescribesTheStatement(t *testing.T) {
	srv := start(t, Right)
	for _, v := range []frame.Version{frame.V4, frame.V5} {
		c := dial(t, srv.Addr(), v)
		for _, st := range workload.Statements {
			p := prepare(t, c, st)
			if len(p.Params.Columns) != len(st.Params) || len(p.Result.Columns) != len(st.Result) {
				t.Fatalf("v%d %s: %d params, %d result columns", v, st.CQL, len(p.Params.Columns), len(p.Result.Columns))
			}
			for i, col := range p.Params.Columns {
				if !types.Equal(col.Type, st.Params[i].Type) || col.Name != st.Params[i].Name {
					t.Errorf("v%d %s: marker %d is %s %v", v, st.CQL, i, col.Name, col.Type)
				}
			}
			if (v == frame.V5) != (p.ResultMetadataID != nil) {
				t.Errorf("v%d: result metadata id %x", v, p.ResultMetadataID)
			}
		}
	}
}

func TestAnswers(t *testing.T) {
	srv := start(t, Right)
	c := dial(t, srv.Addr(), frame.V5)
	sel := prepare(t, c, &workload.SelectStmt)
	for _, skip := range []bool{false, true} {
		env, err := run(c, sel, frame.QueryParams{SkipMetadata: skip}, int32(42))
		if err != nil {
			t.Fatal(err)
		}
		rows := env.Message.(*frame.Rows)
		if rows.RowCount != 1 || (len(rows.Metadata.Columns) == 0) != skip {
			t.Fatalf("skip=%v: %d rows, columns %v", skip, rows.RowCount, rows.Metadata.Columns)
		}
		it := rows.Iter()
		cells, _ := it.Next(nil)
		var k int32
		var name string
		var n int64
		if err := errors.Join(types.Decode(workload.Int, cells[0], &k), types.Decode(workload.Text, cells[1], &name),
			types.Decode(workload.BigInt, cells[2], &n)); err != nil {
			t.Fatal(err)
		}
		if k != 42 || name != workload.KVName(42) || n != workload.KVN(42) {
			t.Fatalf("row (%d, %q, %d)", k, name, n)
		}
	}

	ins := prepare(t, c, &workload.Insert10Stmt)
	r := workload.WideRow(1, 2)
	env, err := run(c, ins, frame.QueryParams{}, r.K, r.Int, r.BigInt, r.Text, r.Double, r.Bool, r.TS, r.UUID, r.Blob, r.Float)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := env.Message.(*frame.Void); !ok {
		t.Fatalf("INSERT answered %T", env.Message)
	}

	ann := prepare(t, c, &workload.VectorANNStmt)
	env, err = run(c, ann, frame.QueryParams{SkipMetadata: true}, workload.Vec(3))
	if err != nil {
		t.Fatal(err)
	}
	if rows := env.Message.(*frame.Rows); rows.RowCount != workload.ANNLimit {
		t.Fatalf("ANN: %d rows", rows.RowCount)
	}

	// The paged partition, walked with the paging states the server sends.
	paged := prepare(t, c, &workload.PagedStmt)
	var state []byte
	total, pages := 0, 0
	for {
		env, err := run(c, paged, frame.QueryParams{SkipMetadata: true, PageSize: 3000, PagingState: state}, int32(workload.PagedPK))
		if err != nil {
			t.Fatal(err)
		}
		rows := env.Message.(*frame.Rows)
		for it := rows.Iter(); ; {
			cells, ok := it.Next(nil)
			if !ok {
				break
			}
			var ck int32
			types.Decode(workload.Int, cells[0], &ck)
			if ck != int32(total) {
				t.Fatalf("row %d has ck %d", total, ck)
			}
			total++
		}
		pages++
		if !rows.Metadata.HasMorePages() {
			break
		}
		state = append([]byte(nil), rows.Metadata.PagingState...)
	}
	if total != workload.PagedRows || pages != 4 {
		t.Fatalf("%d rows in %d pages, want %d in 4", total, pages, workload.PagedRows)
	}
	if answered, refused := srv.Executed(workload.PagedStmt.CQL); answered != 4 || refused != 0 {
		t.Fatalf("paged: %d answered, %d refused", answered, refused)
	}
}

func TestRefusesWrongValues(t *testing.T) {
	srv := start(t, Right)
	c := dial(t, srv.Addr(), frame.V4)
	sel := prepare(t, c, &workload.SelectStmt)
	vec := prepare(t, c, &workload.VectorInsertStmt)
	paged := prepare(t, c, &workload.PagedStmt)
	cases := []struct {
		name   string
		p      *frame.Prepared
		params frame.QueryParams
		values []any
		want   string
	}{
		{"no value", sel, frame.QueryParams{}, nil, "markers"},
		{"null key", sel, frame.QueryParams{}, []any{nil}, "null"},
		{"key out of range", sel, frame.QueryParams{}, []any{int32(workload.KVRows)}, "no kv row"},
		{"short vector", vec, frame.QueryParams{}, []any{int32(1), workload.Vec(1)[:10]}, "has 40 bytes"},
		{"other partition", paged, frame.QueryParams{PageSize: 100}, []any{int32(1)}, "no paged partition"},
		{"forged paging state", paged, frame.QueryParams{PageSize: 100, PagingState: []byte("nope")}, []any{int32(0)}, "paging state"},
	}
	for _, tc := range cases {
		// The vector's marker type checks the dimension on the client
		// side: encode the short one as a blob of its floats.
		if tc.name == "short vector" {
			tc.p = &frame.Prepared{ID: vec.ID, Params: frame.PreparedMetadata{Columns: []frame.ColumnSpec{
				{Type: workload.Int}, {Type: types.Native(types.Blob)}}}}
			tc.values[1] = types.AppendFloat32Vector(nil, workload.Vec(1)[:10])
		}
		_, err := run(c, tc.p, tc.params, tc.values...)
		var fe *frame.Error
		if !errors.As(err, &fe) || fe.Code != frame.CodeInvalid || !strings.Contains(fe.Message, tc.want) {
			t.Errorf("%s: error %v, want Invalid mentioning %q", tc.name, err, tc.want)
		}
	}
	if _, refused := srv.Executed(workload.SelectStmt.CQL); refused != 3 {
		t.Errorf("%d selects refused, want 3", refused)
	}
}

func TestWrongAnswersAreWrong(t *testing.T) {
	for _, wrong := range []Wrong{WrongValues, WrongCounts} {
		srv := start(t, wrong)
		c := dial(t, srv.Addr(), frame.V5)
		sel := prepare(t, c, &workload.SelectStmt)
		env, err := run(c, sel, frame.QueryParams{SkipMetadata: true}, int32(5))
		if err != nil {
			t.Fatal(err)
		}
		rows := env.Message.(*frame.Rows)
		if wrong == WrongCounts {
			if rows.RowCount != 0 {
				t.Errorf("WrongCounts: %d kv rows", rows.RowCount)
			}
			continue
		}
		it := rows.Iter()
		cells, _ := it.Next(nil)
		var k int32
		types.Decode(workload.Int, cells[0], &k)
		if k == 5 {
			t.Errorf("WrongValues: the right row")
		}
	}
}

func TestSystemTablesForControlConnections(t *testing.T) {
	srv := start(t, Right)
	c := dial(t, srv.Addr(), frame.V4)
	env, err := c.Do(context.Background(), conn.Request{Message: &frame.Query{Query: "SELECT * FROM system.local WHERE key='local'",
		Params: frame.QueryParams{Consistency: frame.One}}})
	if err != nil {
		t.Fatal(err)
	}
	if rows := env.Message.(*frame.Rows); rows.RowCount != 1 || len(rows.Metadata.Columns) < 10 {
		t.Fatalf("system.local: %d rows, %d columns", rows.RowCount, len(rows.Metadata.Columns))
	}
}

func TestSpawn(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	child, err := Spawn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if child.Pid() == os.Getpid() {
		t.Fatal("the server runs in this process")
	}
	c := dial(t, child.Addr(), frame.V5)
	p := prepare(t, c, &workload.SelectStmt)
	if _, err := run(c, p, frame.QueryParams{}, int32(1)); err != nil {
		t.Fatal(err)
	}
	if err := child.Close(); err != nil {
		t.Fatalf("the child did not exit cleanly: %v", err)
	}
	child.Close() // again: no hang
}
