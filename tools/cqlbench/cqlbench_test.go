package cqlbench

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testenv"
	"github.com/cqlwire/cqlwire/tools/cqlbench/answering"
	"github.com/cqlwire/cqlwire/tools/cqlbench/report"
	"github.com/cqlwire/cqlwire/tools/cqlbench/stats"
	"github.com/cqlwire/cqlwire/tools/cqlbench/workload"
)

func TestMain(m *testing.M) {
	answering.ServeIfChild() // for the tests and benchmarks that Spawn
	code := m.Run()
	stopBenchServer()
	os.Exit(code)
}

// inProcess is an answering server in this process as a target source,
// keeping the server for its counters.
func inProcess(t *testing.T, shape Shape, wrong answering.Wrong) (TargetSource, **answering.Server) {
	var srv *answering.Server
	return TargetSource{Server: "answering", Open: func(ctx context.Context) ([]Target, func(), string, error) {
		var err error
		if srv, err = answering.Start(answering.Options{Wrong: wrong, Logf: t.Logf}); err != nil {
			return nil, nil, "", err
		}
		host, port, err := splitHostPort(srv.Addr())
		if err != nil {
			return nil, nil, "", err
		}
		return shape.targets("answering", []string{host}, port, "", ""), func() { srv.Close() }, "", nil
	}}, &srv
}

func testShape(versions ...frame.Version) Shape {
	return Shape{Versions: versions, Compressions: []string{""}, Conns: 2, PageSize: 1000, Timeout: 10 * time.Second}
}

// TestEveryDriverRunsEveryWorkload runs the harness for a few hundred
// operations of every workload with every driver, in v4 and in v5 with
// LZ4, against the answering server, and checks that every operation
// succeeded (each checks its answer) and reached the server: the server's
// count of EXECUTEs per statement is exactly what the operations sent.
func TestEveryDriverRunsEveryWorkload(t *testing.T) {
	for _, tc := range []struct {
		v    frame.Version
		comp string
	}{{frame.V4, ""}, {frame.V5, "lz4"}} {
		t.Run(report.Key{Proto: int(tc.v), Compression: tc.comp}.String(), func(t *testing.T) {
			shape := testShape(tc.v)
			shape.Compressions = []string{tc.comp}
			src, srv := inProcess(t, shape, answering.Right)
			const ops = 60
			var progress bytes.Buffer
			rows, err := Run(context.Background(), Config{
				Targets: []TargetSource{src}, Drivers: Drivers, Workloads: workload.Kinds,
				Concurrency: []int{1, 8}, Ops: ops, Rounds: 1, Progress: &progress,
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := len(Drivers) * len(workload.Kinds) * 2; len(rows) != want {
				t.Fatalf("%d measurements, want %d", len(rows), want)
			}
			perKind := map[workload.Kind]int64{}
			for _, r := range rows {
				if r.Error != "" || r.Ops != ops || r.OpsPerSec <= 0 || r.P50 <= 0 || r.P999 < r.P50 {
					t.Errorf("%v: %d ops, %v ops/s, p50 %v, p99.9 %v, error %q", r.Key, r.Ops, r.OpsPerSec, r.P50, r.P999, r.Error)
				}
				perKind[workload.Kind(r.Workload)] += r.Ops
			}
			executed := func(st *workload.Statement) int64 {
				n, refused := (*srv).Executed(st.CQL)
				if refused != 0 {
					t.Errorf("%d EXECUTEs of %s refused for their values", refused, st.Table)
				}
				return n
			}
			pages := int64(workload.PagedRows / shape.PageSize)
			checks := []struct {
				what      string
				got, want int64
			}{
				{"select + insert10", executed(&workload.SelectStmt) + executed(&workload.Insert10Stmt),
					perKind[workload.Select] + perKind[workload.Insert10] + perKind[workload.Mixed]},
				{"vector-insert", executed(&workload.VectorInsertStmt), perKind[workload.VectorInsert]},
				{"vector-ann", executed(&workload.VectorANNStmt), perKind[workload.VectorANN]},
				{"paged pages", executed(&workload.PagedStmt), perKind[workload.Paged] * pages},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: the server answered %d EXECUTEs, the operations sent %d", c.what, c.got, c.want)
				}
			}
			if !strings.Contains(progress.String(), "\rcqlbench [1/") {
				t.Errorf("no progress line: %q", progress.String())
			}
		})
	}
}

// TestDriversCheckAnswers proves the checks run: a server that answers
// with wrong values fails the operations of the drivers that decode values
// (every driver but raw), and one that answers with a row missing fails
// every driver.
func TestDriversCheckAnswers(t *testing.T) {
	for _, wrong := range []answering.Wrong{answering.WrongValues, answering.WrongCounts} {
		for _, d := range Drivers {
			if wrong == answering.WrongValues && d.Name() == "raw" {
				continue // raw reads row counts, not values
			}
			for _, kind := range []workload.Kind{workload.Select, workload.VectorANN, workload.Paged} {
				src, _ := inProcess(t, testShape(frame.V5), wrong)
				_, err := Run(context.Background(), Config{
					Targets: []TargetSource{src}, Drivers: []Driver{d}, Workloads: []workload.Kind{kind},
					Concurrency: []int{2}, Ops: 4, Rounds: 1,
				})
				// gocql reports a missing row as ErrNotFound; every other
				// wrong answer is the drivers' own check failing.
				if err == nil || !strings.Contains(err.Error(), "wrong answer") && !(wrong == answering.WrongCounts && strings.Contains(err.Error(), "not found")) {
					t.Errorf("wrong=%d %s %s: error %v, want a wrong answer", wrong, d.Name(), kind, err)
				}
			}
		}
	}
}

// TestAccountingInAChildServer runs the answering server in a child
// process, as the command does, and checks what the harness measures: the
// raw driver allocates almost nothing per operation and gocql a lot, which
// would not hold if the server's allocations were counted; every
// measurement used CPU time.
func TestAccountingInAChildServer(t *testing.T) {
	raw, _ := DriverByName("raw")
	gocqlD, _ := DriverByName("gocql")
	rows, err := Run(context.Background(), Config{
		Targets: []TargetSource{AnsweringServer(testShape(frame.V5), false)},
		Drivers: []Driver{raw, gocqlD}, Workloads: []workload.Kind{workload.Select},
		Concurrency: []int{16}, Ops: 3000, Warmup: 50 * time.Millisecond, Rounds: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.CPUPer1k <= 0 {
			t.Errorf("%s: no CPU time measured", r.Driver)
		}
		switch r.Driver {
		case "raw":
			if r.AllocsPerOp > 0.5 {
				t.Errorf("raw: %.2f allocs/op: the server's allocations counted?", r.AllocsPerOp)
			}
		case "gocql":
			if r.AllocsPerOp < 5 {
				t.Errorf("gocql: %.2f allocs/op: allocations not counted?", r.AllocsPerOp)
			}
		}
	}
}

func TestRunPhase(t *testing.T) {
	var calls atomic.Int64
	op := func(context.Context) error { calls.Add(1); return nil }
	hists := make([]stats.Histogram, 3)
	if err := runPhase(context.Background(), []Op{op, op, op}, hists, 100, 0); err != nil {
		t.Fatal(err)
	}
	var n uint64
	for i := range hists {
		n += hists[i].Count()
	}
	if calls.Load() != 100 || n != 100 {
		t.Fatalf("%d calls, %d recorded, want 100", calls.Load(), n)
	}

	boom := errors.New("boom")
	calls.Store(0)
	failing := func(context.Context) error {
		if calls.Add(1) == 10 {
			return boom
		}
		return nil
	}
	err := runPhase(context.Background(), []Op{failing, failing}, hists[:2], 0, time.Minute)
	if !errors.Is(err, boom) || calls.Load() > 20 {
		t.Fatalf("error %v after %d calls: the first error should stop every worker at once", err, calls.Load())
	}

	start := time.Now()
	if err := runPhase(context.Background(), []Op{op}, hists[:1], 0, 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 30*time.Millisecond || el > 2*time.Second {
		t.Fatalf("a 30ms phase took %v", el)
	}
}

func TestPagedMaxConcurrency(t *testing.T) {
	src, _ := inProcess(t, testShape(frame.V4), answering.Right)
	cw, _ := DriverByName("cqlwire")
	var log bytes.Buffer
	rows, err := Run(context.Background(), Config{
		Targets: []TargetSource{src}, Drivers: []Driver{cw}, Workloads: []workload.Kind{workload.Paged, workload.Select},
		Concurrency: []int{1, 4, 32}, Ops: 8, Rounds: 1, PagedMaxConcurrency: 4, Log: &log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 {
		t.Fatalf("%d measurements, want 2 paged + 3 select", len(rows))
	}
	if !strings.Contains(log.String(), "paged on the answering server runs at concurrency 4 at most") {
		t.Fatalf("log %q", log.String())
	}
}

func TestWriteOutputs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	rows := []report.Row{
		{Key: report.Key{Workload: "select", Server: "answering", Proto: 5, Compression: "none", Concurrency: 1, Driver: "cqlwire-conn"}, Round: 1, Ops: 10, OpsPerSec: 100},
		{Key: report.Key{Workload: "select", Server: "answering", Proto: 5, Compression: "none", Concurrency: 1, Driver: "gocql"}, Round: 1, Ops: 10, OpsPerSec: 50},
	}
	if _, err := WriteOutputs(dir, RunEnv("go run ./cmd/cqlbench -test", 1, "10 operations"), rows, []string{"cqlwire-conn", "gocql"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"results.csv", "results.md", "select-answering-v5-none.png"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "results.md"))
	if !strings.Contains(string(md), "cqlwire-conn/gocql ops/s") || !strings.Contains(string(md), "| 2.00x |") {
		t.Errorf("results.md:\n%s", md)
	}
}

func TestDriverByName(t *testing.T) {
	for _, d := range Drivers {
		if got, err := DriverByName(d.Name()); err != nil || got.Name() != d.Name() {
			t.Errorf("DriverByName(%q) = %v, %v", d.Name(), got, err)
		}
	}
	for _, name := range []string{"cqlwire", "cqlwire-conn", "gocql", "raw"} {
		if _, err := DriverByName(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := DriverByName("odbc"); err == nil || !strings.Contains(err.Error(), "cqlwire-conn") {
		t.Errorf("odbc: %v (want the known drivers listed)", err)
	}
	if Candidate([]string{"gocql", "cqlwire-conn", "raw"}) != "cqlwire-conn" || Candidate([]string{"cqlwire-conn", "cqlwire"}) != "cqlwire" ||
		Candidate([]string{"cqlwire", "gocql", "raw"}) != "cqlwire" {
		t.Error("Candidate should prefer the Session adapter, then cqlwire-conn")
	}
}

// TestRealNode runs every workload with every driver for a few operations
// on the real node (keyspace cqlbench is created and seeded first).
// Skipped when no node is configured or reachable, unless
// CQLWIRE_REQUIRE_CASSANDRA is set (see internal/testenv).
func TestRealNode(t *testing.T) {
	testenv.Require(t)
	rows, err := Run(context.Background(), Config{
		Targets: []TargetSource{RealNode(testShape(frame.V4, frame.V5), true, VectorInsertLimit, t.Logf)},
		Drivers: Drivers, Workloads: workload.Kinds, Concurrency: []int{4}, Ops: 20, Rounds: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	// vector-insert runs at concurrency 4 only without the cap.
	if want := 2 * len(Drivers) * (len(workload.Kinds) - 1); len(rows) != want {
		t.Fatalf("%d measurements, want %d", len(rows), want)
	}
}
