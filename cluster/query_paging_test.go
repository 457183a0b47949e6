package cluster

// Paging tests against an in-process fake node (internal/testserver).
//
// Why not the real node: a real Cassandra node sends empty pages followed
// by rows only for some filtered scans over enough data, not on demand, and
// it never answers a page with the paging state it was sent (or with one it
// sent before). The fake node answers each page from a script keyed by the
// request's paging state, so every sequence of pages is exact.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testserver"
)

// scriptedPage is the answer to the request with one paging state.
type scriptedPage struct {
	values []int32 // the rows, one int column v
	next   string  // the paging state of the next page; "" on the last page
	// noState flags more pages but gives an empty paging state.
	noState bool
}

// pageScript answers user statements page by page and records the paging
// state of every request ("" for none).
type pageScript struct {
	pages map[string]scriptedPage
	mu    sync.Mutex
	asked []string
}

// maxScriptedRequests ends a client that keeps asking (a paging loop the
// driver does not see) with a server error instead of letting it spin.
const maxScriptedRequests = 300

func (ps *pageScript) hook() stmtHook {
	return func(req *testserver.Request, _ int) (testserver.Reply, bool) {
		env, err := req.Envelope()
		if err != nil {
			return testserver.Reply{}, false
		}
		var state []byte
		switch m := env.Message.(type) {
		case *frame.Query:
			state = m.Params.PagingState
		case *frame.Execute:
			state = m.Params.PagingState
		default:
			return testserver.Reply{}, false
		}
		ps.mu.Lock()
		ps.asked = append(ps.asked, string(state))
		n := len(ps.asked)
		ps.mu.Unlock()
		if n > maxScriptedRequests {
			return errReply(&frame.Error{Code: frame.CodeServerError, Message: "test: too many pages requested"}), true
		}
		pg, ok := ps.pages[string(state)]
		if !ok {
			return errReply(&frame.Error{Code: frame.CodeInvalid, Message: fmt.Sprintf("test: no page for paging state %q", state)}), true
		}
		return testserver.Reply{Message: scriptedRows(pg)}, true
	}
}

func (ps *pageScript) requests() []string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return slices.Clone(ps.asked)
}

func scriptedRows(pg scriptedPage) *frame.Rows {
	r := &frame.Rows{Metadata: frame.RowsMetadata{Flags: frame.MetaGlobalTablesSpec,
		Columns: []frame.ColumnSpec{{Keyspace: "ks1", Table: "t", Name: "v", Type: intT}}}}
	if pg.next != "" {
		r.Metadata.Flags |= frame.MetaHasMorePages
		r.Metadata.PagingState = []byte(pg.next)
	}
	if pg.noState {
		r.Metadata.Flags |= frame.MetaHasMorePages
		r.Metadata.PagingState = []byte{}
	}
	for _, v := range pg.values {
		if err := r.AppendRow([]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}); err != nil {
			panic(err)
		}
	}
	return r
}

// emptyPages is a script of n empty pages, states "p1" ... "pn", then last.
func emptyPages(n int, last scriptedPage) map[string]scriptedPage {
	pages := map[string]scriptedPage{}
	state := ""
	for i := 1; i <= n; i++ {
		next := fmt.Sprintf("p%d", i)
		pages[state] = scriptedPage{next: next}
		state = next
	}
	pages[state] = last
	return pages
}

// TestQueryOneSkipsEmptyPages: One reads on past pages without rows until
// a row or the last page (issue 11, item 6); Rows over the same pages, for
// comparison.
func TestQueryOneSkipsEmptyPages(t *testing.T) {
	tp := startTopology(t, 1)
	s := tp.connect(t, tp.config())
	ctx := testCtx(t)
	simple := func() Query { return s.Query("SELECT v FROM ks1.t WHERE x > 0 ALLOW FILTERING") }
	prepared := func() Query { return s.Query("SELECT v FROM ks1.t WHERE id = ? AND x > 0 ALLOW FILTERING", 1) }
	cases := []struct {
		name  string
		pages map[string]scriptedPage
		q     func() Query
		want  error // nil: the row v = 7
		asked []string
	}{{
		name:  "two empty pages, then a row",
		pages: emptyPages(2, scriptedPage{values: []int32{7, 8}}),
		q:     simple,
		asked: []string{"", "p1", "p2"},
	}, {
		name:  "prepared: two empty pages, then a row",
		pages: emptyPages(2, scriptedPage{values: []int32{7}}),
		q:     prepared,
		asked: []string{"", "p1", "p2"},
	}, {
		name:  "empty pages with different paging states are legal, however many",
		pages: emptyPages(100, scriptedPage{values: []int32{7}}),
		q:     simple,
		asked: append([]string{""}, func() []string {
			var s []string
			for i := 1; i <= 100; i++ {
				s = append(s, fmt.Sprintf("p%d", i))
			}
			return s
		}()...),
	}, {
		name:  "empty pages to the end: not found, after reading them all",
		pages: emptyPages(2, scriptedPage{}),
		q:     simple,
		want:  ErrNotFound,
		asked: []string{"", "p1", "p2"},
	}, {
		name:  "an empty page continued from Query.PagingState",
		pages: map[string]scriptedPage{"p1": {next: "p2"}, "p2": {values: []int32{7}}},
		q:     func() Query { return simple().PagingState([]byte("p1")) },
		asked: []string{"p1", "p2"},
	}, {
		name:  "a row on the first page: one request",
		pages: map[string]scriptedPage{"": {values: []int32{7}, next: "p1"}, "p1": {values: []int32{8}}},
		q:     simple,
		asked: []string{""},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := &pageScript{pages: c.pages}
			tp.node(0).setHook(ps.hook())
			var v int32
			err := c.q().One(ctx, &v)
			switch {
			case c.want == nil && err != nil:
				t.Fatalf("One: %v", err)
			case c.want == nil && v != 7:
				t.Errorf("One scanned v = %d, want 7", v)
			case c.want != nil && !errors.Is(err, c.want):
				t.Errorf("One: %v, want %v", err, c.want)
			}
			if got := ps.requests(); !slices.Equal(got, c.asked) {
				t.Errorf("One requested the paging states %q, want %q", got, c.asked)
			}

			// Rows reads every page, empty or not.
			ps = &pageScript{pages: c.pages}
			tp.node(0).setHook(ps.hook())
			var got []int32
			for row, err := range c.q().Rows(ctx) {
				if err != nil {
					t.Fatalf("Rows: %v", err)
				}
				var v int32
				if err := row.Scan(&v); err != nil {
					t.Fatal(err)
				}
				got = append(got, v)
			}
			var want []int32
			for _, pg := range c.pages {
				want = append(want, pg.values...)
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("Rows yielded %v, want %v", got, want)
			}
		})
	}
	tp.node(0).setHook(nil)
}

// TestQueryPagingLoop: a server whose paging state comes back (the state a
// page was requested with, or an earlier one) would be asked for the same
// pages forever; every paging consumer stops with ErrPagingLoop, naming the
// statement, after the rows that were new (issue 11, item 11).
func TestQueryPagingLoop(t *testing.T) {
	tp := startTopology(t, 1)
	s := tp.connect(t, tp.config())
	ctx := testCtx(t)
	const cql = "SELECT v FROM ks1.t WHERE x > 0 ALLOW FILTERING"
	q := s.Query(cql)

	// cycle is "" -> s1 -> ... -> s<tail+length>, then back to s<tail+1>;
	// every page empty.
	cycle := func(tail, length int) map[string]scriptedPage {
		pages := map[string]scriptedPage{}
		state := ""
		for i := 1; i <= tail+length; i++ {
			next := fmt.Sprintf("s%d", i)
			pages[state] = scriptedPage{next: next}
			state = next
		}
		pages[state] = scriptedPage{next: fmt.Sprintf("s%d", tail+1)}
		return pages
	}
	sameEmpty := map[string]scriptedPage{"": {next: "L"}, "L": {next: "L"}}
	sameWithRows := map[string]scriptedPage{"": {values: []int32{1}, next: "L"}, "L": {values: []int32{2}, next: "L"}}

	rows := func(q Query) func() ([]int32, error) {
		return func() ([]int32, error) {
			var got []int32
			for row, err := range q.Rows(ctx) {
				if err != nil {
					return got, err
				}
				var v int32
				if err := row.Scan(&v); err != nil {
					return got, err
				}
				got = append(got, v)
			}
			return got, nil
		}
	}
	one := func(q Query) func() ([]int32, error) {
		return func() ([]int32, error) {
			var v int32
			if err := q.One(ctx, &v); err != nil {
				return nil, err
			}
			return []int32{v}, nil
		}
	}
	run := func(q Query) func() ([]int32, error) {
		return func() ([]int32, error) {
			res, err := q.Run(ctx)
			if err != nil {
				return nil, err
			}
			var got []int32
			for row := range res.Rows() {
				var v int32
				if err := row.Scan(&v); err != nil {
					return got, err
				}
				got = append(got, v)
			}
			return got, nil
		}
	}
	cases := []struct {
		name     string
		pages    map[string]scriptedPage
		run      func() ([]int32, error)
		wantRows []int32
		wantErr  string // in the ErrPagingLoop error
		asked    int    // requests made
	}{{
		name:    "One: empty pages with the same paging state",
		pages:   sameEmpty,
		run:     one(q),
		wantErr: "page 2 was answered with the paging state it was requested with",
		asked:   2,
	}, {
		name:    "Rows: empty pages with the same paging state",
		pages:   sameEmpty,
		run:     rows(q),
		wantErr: "page 2 was answered with the paging state it was requested with",
		asked:   2,
	}, {
		name:    "Rows with prefetch: empty pages with the same paging state",
		pages:   sameEmpty,
		run:     rows(q.Prefetch(true)),
		wantErr: "page 2 was answered with the paging state it was requested with",
		asked:   2,
	}, {
		name:     "Rows: pages with rows and the same paging state, the rows of each new page first",
		pages:    sameWithRows,
		run:      rows(q),
		wantRows: []int32{1, 2},
		wantErr:  "page 2 was answered with the paging state it was requested with",
		asked:    2,
	}, {
		name:     "Rows with prefetch: pages with rows and the same paging state",
		pages:    sameWithRows,
		run:      rows(q.Prefetch(true)),
		wantRows: []int32{1, 2},
		wantErr:  "page 2 was answered with the paging state it was requested with",
		asked:    2,
	}, {
		name:    "Rows: two paging states in turn",
		pages:   cycle(0, 2),
		run:     rows(q),
		wantErr: "page 3 was answered with the paging state of page 1",
		asked:   3,
	}, {
		name:    "One: a cycle of five paging states after ten",
		pages:   cycle(10, 5),
		run:     one(q),
		wantErr: "page 20 was answered with the paging state of page 15",
		asked:   20,
	}, {
		name:    "Run: a page answered with the paging state it was requested with",
		pages:   sameEmpty,
		run:     run(q.PagingState([]byte("L"))),
		wantErr: "page 1 was answered with the paging state it was requested with",
		asked:   1,
	}, {
		name:    "One from Query.PagingState: the same paging state",
		pages:   sameEmpty,
		run:     one(q.PagingState([]byte("L"))),
		wantErr: "page 1 was answered with the paging state it was requested with",
		asked:   1,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := &pageScript{pages: c.pages}
			tp.node(0).setHook(ps.hook())
			got, err := c.run()
			if !errors.Is(err, ErrPagingLoop) {
				t.Fatalf("err = %v, want ErrPagingLoop (after %d requests)", err, len(ps.requests()))
			}
			for _, part := range []string{c.wantErr, cql} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not say %q", err, part)
				}
			}
			if !slices.Equal(got, c.wantRows) {
				t.Errorf("rows %v, want %v", got, c.wantRows)
			}
			if n := len(ps.requests()); n != c.asked {
				t.Errorf("%d requests, want %d", n, c.asked)
			}
		})
	}

	t.Run("Run: an empty page with a new paging state is returned", func(t *testing.T) {
		ps := &pageScript{pages: sameEmpty}
		tp.node(0).setHook(ps.hook())
		res, err := q.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.RowCount() != 0 || string(res.PagingState) != "L" {
			t.Errorf("Run: %d rows, paging state %q; want 0 and \"L\"", res.RowCount(), res.PagingState)
		}
	})

	// Nothing to continue from is the last page, for Run as for Rows: a
	// manual paging loop must not be handed an empty state to restart from.
	t.Run("Run: more pages flagged without a paging state", func(t *testing.T) {
		ps := &pageScript{pages: map[string]scriptedPage{"": {values: []int32{1}, noState: true}}}
		tp.node(0).setHook(ps.hook())
		res, err := q.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.PagingState != nil {
			t.Errorf("Result.PagingState = %q, want nil", res.PagingState)
		}
	})
	tp.node(0).setHook(nil)
}
