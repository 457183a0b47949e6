package cluster

// Against the real node: paging over 10,000 rows, re-preparation after the
// server forgets a statement, SELECT * after ALTER TABLE, and conditional
// batches.

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/query"
)

// attemptLog records the attempts of one statement text.
type attemptLog struct {
	cql string

	mu     sync.Mutex
	starts []query.Attempt
	ends   []attemptEnd
}

type attemptEnd struct {
	a query.Attempt
	r query.AttemptResult
}

func (l *attemptLog) observer() query.Observer {
	return query.ObserverFuncs{
		OnStart: func(a query.Attempt) {
			if l.cql == "" || a.Statement == l.cql {
				l.mu.Lock()
				l.starts = append(l.starts, a)
				l.mu.Unlock()
			}
		},
		OnEnd: func(a query.Attempt, r query.AttemptResult) {
			if l.cql == "" || a.Statement == l.cql {
				l.mu.Lock()
				l.ends = append(l.ends, attemptEnd{a, r})
				l.mu.Unlock()
			}
		},
	}
}

func (l *attemptLog) startCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.starts)
}

// take returns the ended attempts and forgets them.
func (l *attemptLog) take() []attemptEnd {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.ends
	l.ends, l.starts = nil, nil
	return e
}

func (l *attemptLog) reset() { l.take() }

// unprepared counts the attempts that ended in an Unprepared error handled by
// preparing again (RetrySameHost).
func unprepared(ends []attemptEnd) int {
	n := 0
	for _, e := range ends {
		var up *frame.Unprepared
		if errors.As(e.r.Err, &up) && e.r.Retry == query.RetrySameHost {
			n++
		}
	}
	return n
}

const pagingRows, pagingPartitions = 10000, 100

// wantPages is the number of pages a scan of pagingRows rows in pages of 100
// takes: 100 full pages, and a 101st, empty one. Cassandra cannot tell that
// a page which filled up exactly was the last (it stops reading when the
// page is full), so it sends a paging state with the 100th page, and the
// page that state asks for is empty. Every driver sees this (gocql, the
// Java driver); guessing that a full page is the last would lose rows.
const wantPages = pagingRows/100 + 1

// TestSessionPaging reads 10,000 rows (100 partitions of 100) in pages of
// 100: every row exactly once, with and without Prefetch (which must ask
// for the next page while the current one is being read), and by manual
// paging with the paging state carried across fresh Query values.
func TestSessionPaging(t *testing.T) {
	const sel = "SELECT p, c FROM cqlwire_paging.rows"
	log := &attemptLog{cql: sel}
	s := connectReal(t, func(c *Config) { c.Observer = log.observer() })
	ctx := testCtx(t)
	mustExecS(t, ctx, s, "CREATE KEYSPACE IF NOT EXISTS cqlwire_paging WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	mustExecS(t, ctx, s, "DROP TABLE IF EXISTS cqlwire_paging.rows")
	mustExecS(t, ctx, s, "CREATE TABLE cqlwire_paging.rows (p int, c int, PRIMARY KEY (p, c))")
	ins, err := s.Prepare(ctx, "INSERT INTO cqlwire_paging.rows (p, c) VALUES (?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, pagingPartitions)
	for p := range pagingPartitions {
		wg.Go(func() {
			b := s.Batch(query.UnloggedBatch)
			for c := range pagingRows / pagingPartitions {
				b.AddPrepared(ins, p, c)
			}
			if err := b.Exec(ctx); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	type key struct{ p, c int32 }
	check := func(t *testing.T, seen map[key]int, n int) {
		t.Helper()
		if n != pagingRows || len(seen) != pagingRows {
			t.Fatalf("%d rows, %d distinct, want %d", n, len(seen), pagingRows)
		}
		for p := range int32(pagingPartitions) {
			for c := range int32(pagingRows / pagingPartitions) {
				if seen[key{p, c}] != 1 {
					t.Fatalf("row (%d, %d) seen %d times", p, c, seen[key{p, c}])
				}
			}
		}
	}

	for _, prefetch := range []bool{false, true} {
		t.Run(fmt.Sprintf("prefetch=%v", prefetch), func(t *testing.T) {
			log.reset()
			it := s.Query(sel).PageSize(100).Prefetch(prefetch).Iter(ctx)
			seen := map[key]int{}
			pageRows := map[int]int{}
			n := 0
			for row, err := range it.All() {
				if err != nil {
					t.Fatal(err)
				}
				var k key
				if err := row.Scan(&k.p, &k.c); err != nil {
					t.Fatal(err)
				}
				seen[k]++
				n++
				pageRows[it.Pages()]++
				if n == 150 {
					// Halfway through page 2.
					if prefetch {
						waitFor(t, "page 3 requested while page 2 is being read", func() bool { return log.startCount() >= 3 })
					} else if got := log.startCount(); got != 2 {
						t.Fatalf("%d pages requested halfway through page 2 without prefetch, want 2", got)
					}
				}
			}
			check(t, seen, n)
			// 100 full pages, then the empty page the server's paging state
			// of the 100th leads to (see wantPages).
			if it.Pages() != wantPages {
				t.Errorf("Iter.Pages() = %d, want %d", it.Pages(), wantPages)
			}
			for page := 1; page <= wantPages; page++ {
				if want := min(100, pagingRows-(page-1)*100); pageRows[page] != want {
					t.Errorf("page %d had %d rows, want %d", page, pageRows[page], want)
				}
			}
			if got := log.startCount(); got != it.Pages() {
				t.Errorf("%d requests for %d pages", got, it.Pages())
			}
		})
	}

	t.Run("manual", func(t *testing.T) {
		seen := map[key]int{}
		n, pages := 0, 0
		var token string // the paging state as an application would carry it (e.g. in a URL)
		for {
			var state []byte
			if token != "" {
				if state, err = base64.URLEncoding.DecodeString(token); err != nil {
					t.Fatal(err)
				}
			}
			res, err := s.Query(sel).PageSize(100).PagingState(state).Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for row := range res.Rows() {
				var k key
				if err := row.Scan(&k.p, &k.c); err != nil {
					t.Fatal(err)
				}
				seen[k]++
				n++
			}
			if want := min(100, pagingRows-(pages-1)*100); res.RowCount() != want {
				t.Fatalf("page %d has %d rows, want %d", pages, res.RowCount(), want)
			}
			if res.PagingState == nil {
				break
			}
			token = base64.URLEncoding.EncodeToString(res.PagingState)
		}
		check(t, seen, n)
		if pages != wantPages {
			t.Errorf("%d pages, want %d", pages, wantPages)
		}
	})
}

// TestSessionReprepareAfterDropTable: Cassandra forgets the prepared
// statements of a dropped table. A statement prepared before DROP TABLE +
// CREATE TABLE of the same table must keep working: the node answers
// Unprepared, the session prepares it again on that node (same id) and runs
// it, once, which the observer sees as an attempt ending in Unprepared with
// RetrySameHost.
func TestSessionReprepareAfterDropTable(t *testing.T) {
	for _, v := range []frame.Version{frame.V4, frame.V5} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			ks := fmt.Sprintf("cqlwire_prep_v%d", v)
			sel := "SELECT v FROM " + ks + ".t WHERE id = ?"
			log := &attemptLog{cql: sel}
			s := connectReal(t, func(c *Config) { c.ProtocolVersion = v; c.Observer = log.observer() })
			ctx := testCtx(t)
			mustExecS(t, ctx, s, "CREATE KEYSPACE IF NOT EXISTS "+ks+" WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
			mustExecS(t, ctx, s, "DROP TABLE IF EXISTS "+ks+".t")
			mustExecS(t, ctx, s, "CREATE TABLE "+ks+".t (id int PRIMARY KEY, v text)")
			mustExecS(t, ctx, s, "INSERT INTO "+ks+".t (id, v) VALUES (1, 'before')")

			p, err := s.Prepare(ctx, sel)
			if err != nil {
				t.Fatal(err)
			}
			id := slices.Clone(p.ID())
			var got string
			if err := p.Bind(1).One(ctx, &got); err != nil || got != "before" {
				t.Fatalf("%q, %v", got, err)
			}
			if n := unprepared(log.take()); n != 0 {
				t.Fatalf("%d Unprepared answers before the drop", n)
			}

			mustExecS(t, ctx, s, "DROP TABLE "+ks+".t")
			mustExecS(t, ctx, s, "CREATE TABLE "+ks+".t (id int PRIMARY KEY, v text)")
			mustExecS(t, ctx, s, "INSERT INTO "+ks+".t (id, v) VALUES (1, 'after')")

			res, err := p.Bind(1).Run(ctx)
			if err != nil {
				t.Fatalf("executing after DROP + CREATE: %v", err)
			}
			ends := log.take()
			if n := unprepared(ends); n != 1 {
				t.Fatalf("%d attempts ended in Unprepared + RetrySameHost, want 1: %+v", n, ends)
			}
			if len(ends) != 2 || ends[1].r.Err != nil || ends[1].a.Attempt != 2 || ends[1].a.Host != ends[0].a.Host {
				t.Errorf("attempts %+v, want the Unprepared one then a success on the same node", ends)
			}
			if res.Attempts != 2 {
				t.Errorf("Result.Attempts = %d, want 2", res.Attempts)
			}
			for row := range res.Rows() {
				if err := row.Scan(&got); err != nil || got != "after" {
					t.Fatalf("%q, %v", got, err)
				}
			}
			if res.RowCount() != 1 {
				t.Fatalf("%d rows", res.RowCount())
			}
			if !slices.Equal(p.ID(), id) {
				t.Errorf("statement id changed: %x -> %x", id, p.ID())
			}
			// Known again: the next execution is one attempt.
			if err := p.Bind(1).One(ctx, &got); err != nil || got != "after" {
				t.Fatalf("%q, %v", got, err)
			}
			if ends := log.take(); len(ends) != 1 || ends[0].r.Err != nil {
				t.Errorf("attempts after re-preparing: %+v", ends)
			}
			// Session.Query goes through the same cache entry.
			if err := s.Query(sel, 1).One(ctx, &got); err != nil || got != "after" {
				t.Fatalf("%q, %v", got, err)
			}
		})
	}
}

// TestSessionSelectStarAfterAlter: a prepared SELECT * executed after ALTER
// TABLE ADD returns the new column.
//
// What happens on the wire (Cassandra 5.0): ALTER TABLE ADD changes the
// table's regular columns, which makes the server drop the table's
// prepared statements (TableMetadata.changeAffectsPreparedStatements), so
// the next EXECUTE is answered Unprepared on both versions and the session
// prepares the statement again:
//   - v5: the new PREPARED carries the new result metadata id and columns;
//     the session keeps them (Prepared.Columns shows the new column) and
//     the retried EXECUTE sends the new id, so the server's rows (which
//     skip metadata) are decoded with the new columns.
//   - v4: there is no result metadata id and the driver never asks to skip
//     metadata, so every page carries its columns: the result shows the new
//     column. Prepared.Columns keeps what the first PREPARE said (documented:
//     it is kept current on v5).
func TestSessionSelectStarAfterAlter(t *testing.T) {
	for _, v := range []frame.Version{frame.V4, frame.V5} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			ks := fmt.Sprintf("cqlwire_alter_v%d", v)
			sel := "SELECT * FROM " + ks + ".t WHERE id = ?"
			log := &attemptLog{cql: sel}
			s := connectReal(t, func(c *Config) { c.ProtocolVersion = v; c.Observer = log.observer() })
			ctx := testCtx(t)
			mustExecS(t, ctx, s, "CREATE KEYSPACE IF NOT EXISTS "+ks+" WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
			mustExecS(t, ctx, s, "DROP TABLE IF EXISTS "+ks+".t")
			mustExecS(t, ctx, s, "CREATE TABLE "+ks+".t (id int PRIMARY KEY, a text)")
			mustExecS(t, ctx, s, "INSERT INTO "+ks+".t (id, a) VALUES (1, 'x')")

			p, err := s.Prepare(ctx, sel)
			if err != nil {
				t.Fatal(err)
			}
			names := func(cols []frame.ColumnSpec) []string {
				var out []string
				for _, c := range cols {
					out = append(out, c.Name)
				}
				return out
			}
			if got := names(p.Columns()); !slices.Equal(got, []string{"id", "a"}) {
				t.Fatalf("prepared columns %v", got)
			}
			res, err := p.Bind(1).Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(res.Columns); !slices.Equal(got, []string{"id", "a"}) {
				t.Fatalf("result columns %v", got)
			}
			log.reset()

			mustExecS(t, ctx, s, "ALTER TABLE "+ks+".t ADD b int")
			mustExecS(t, ctx, s, "UPDATE "+ks+".t SET b = 7 WHERE id = 1")

			it := p.Bind(1).Iter(ctx)
			rows := 0
			for row, err := range it.All() {
				if err != nil {
					t.Fatal(err)
				}
				rows++
				m, err := row.Map()
				if err != nil {
					t.Fatal(err)
				}
				if d := diff(map[string]any{"id": int32(1), "a": "x", "b": int32(7)}, m); d != "" {
					t.Errorf("row after ALTER:%s", d)
				}
				var id, b int32
				var a string
				if err := row.Scan(&id, &a, &b); err != nil || b != 7 {
					t.Errorf("Scan after ALTER: %d %q %d %v", id, a, b, err)
				}
			}
			if rows != 1 {
				t.Fatalf("%d rows", rows)
			}
			if got := names(it.Columns()); !slices.Equal(got, []string{"id", "a", "b"}) {
				t.Errorf("result columns after ALTER: %v, want [id a b]", got)
			}
			if n := unprepared(log.take()); n != 1 {
				t.Errorf("%d Unprepared answers after ALTER TABLE, want 1 (the server drops the table's statements)", n)
			}
			wantPrepared := []string{"id", "a", "b"}
			if v == frame.V4 {
				wantPrepared = []string{"id", "a"}
			}
			if got := names(p.Columns()); !slices.Equal(got, wantPrepared) {
				t.Errorf("Prepared.Columns after ALTER: %v, want %v", got, wantPrepared)
			}
			// Again: no more re-preparation, still the new column.
			var a string
			var id, b int32
			if err := p.Bind(1).One(ctx, &id, &a, &b); err != nil || b != 7 {
				t.Fatalf("second execution after ALTER: %d %q %d %v", id, a, b, err)
			}
			if ends := log.take(); len(ends) != 1 || ends[0].r.Err != nil {
				t.Errorf("attempts of the second execution: %+v", ends)
			}
		})
	}
}

// TestSessionConditionalBatch: a conditional batch applied, then one not
// applied, whose [applied] row brings the existing values (ScanCAS), and
// which changes nothing.
func TestSessionConditionalBatch(t *testing.T) {
	s := connectReal(t, nil)
	ctx := testCtx(t)
	ks := "cqlwire_lwt"
	mustExecS(t, ctx, s, "CREATE KEYSPACE IF NOT EXISTS "+ks+" WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	mustExecS(t, ctx, s, "DROP TABLE IF EXISTS "+ks+".kv")
	mustExecS(t, ctx, s, "CREATE TABLE "+ks+".kv (p int, c int, v text, PRIMARY KEY (p, c))")
	ins := "INSERT INTO " + ks + ".kv (p, c, v) VALUES (?, ?, ?) IF NOT EXISTS"
	upd := "UPDATE " + ks + ".kv SET v = ? WHERE p = ? AND c = ? IF v = ?"

	applied, err := s.Batch(query.LoggedBatch).Add(ins, 1, 1, "a").Add(ins, 1, 2, "b").ScanCAS(ctx)
	if err != nil || !applied {
		t.Fatalf("first conditional batch: applied=%v err=%v", applied, err)
	}

	// Not applied: (1, 1) holds "a", not "nope".
	var p, c int
	var v string
	applied, err = s.Batch(query.LoggedBatch).Add(upd, "z", 1, 1, "nope").Add(ins, 1, 3, "c").ScanCAS(ctx, &p, &c, &v)
	if err != nil || applied {
		t.Fatalf("second conditional batch: applied=%v err=%v", applied, err)
	}
	if p != 1 || c != 1 || v != "a" {
		t.Errorf("existing values (%d, %d, %q), want (1, 1, \"a\")", p, c, v)
	}
	// The whole answer: one row per condition that failed on an existing row.
	res, err := s.Batch(query.LoggedBatch).Add(upd, "z", 1, 1, "nope").Add(upd, "y", 1, 2, "nope").Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for row := range res.Rows() {
		var ap bool
		var p, c int
		var v string
		if err := row.Scan(&ap, &p, &c, &v); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%v %d %d %s", ap, p, c, v))
	}
	if !slices.Equal(got, []string{"false 1 1 a", "false 1 2 b"}) {
		t.Errorf("rows of a failed conditional batch: %q", got)
	}
	if len(res.Columns) == 0 || res.Columns[0].Name != "[applied]" {
		t.Errorf("columns %v", res.Columns)
	}

	// Nothing of the failed batches was applied.
	var n int
	for row, err := range s.Query("SELECT c, v FROM "+ks+".kv WHERE p = ?", 1).Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		var c int
		var v string
		if err := row.Scan(&c, &v); err != nil {
			t.Fatal(err)
		}
		if want := map[int]string{1: "a", 2: "b"}[c]; v != want {
			t.Errorf("row %d = %q, want %q", c, v, want)
		}
		n++
	}
	if n != 2 {
		t.Errorf("%d rows, want 2", n)
	}

	// Applied with a condition that holds.
	applied, err = s.Batch(query.LoggedBatch).Add(upd, "a2", 1, 1, "a").Add(ins, 1, 3, "c").ScanCAS(ctx, &p, &c, &v)
	if err != nil || !applied {
		t.Fatalf("third conditional batch: applied=%v err=%v", applied, err)
	}
	if err := s.Query("SELECT v FROM "+ks+".kv WHERE p = ? AND c = ?", 1, 1).One(ctx, &v); err != nil || v != "a2" {
		t.Errorf("after the applied batch: %q %v", v, err)
	}

	// A batch that is not conditional has no [applied] column.
	if _, err := s.Batch(query.LoggedBatch).Add("INSERT INTO "+ks+".kv (p, c, v) VALUES (?, ?, ?)", 2, 1, "x").ScanCAS(ctx); err == nil {
		t.Error("ScanCAS of a batch without conditions did not fail")
	}
}
