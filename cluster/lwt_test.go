package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testserver"
	"github.com/cqlwire/cqlwire/query"
)

func TestIsConditional(t *testing.T) {
	for _, c := range []struct {
		cql  string
		want bool
	}{
		{"INSERT INTO t (k, v) VALUES (1, 2) IF NOT EXISTS", true},
		{"insert into ks.t (k, v) values (?, ?) if not exists using ttl 10", true},
		{"INSERT INTO t JSON '{\"k\": 1}' IF NOT EXISTS", true},
		{"UPDATE t SET v = 1 WHERE k = 1 IF v = 2", true},
		{"UPDATE t USING TTL 5 SET v = ? WHERE k = ? IF EXISTS", true},
		{"UPDATE t SET m['a'] = 1 WHERE k = 1 IF m['a'] = null", true},
		{"DELETE FROM t WHERE k = 1 IF EXISTS", true},
		{"DELETE v FROM t USING TIMESTAMP 5 WHERE k = ? IF v > 3", true},
		{"  /* lead */ INSERT INTO t (k) VALUES (1) -- no\n IF NOT EXISTS;", true},
		{"BEGIN BATCH INSERT INTO t (k) VALUES (1); UPDATE t SET v = 1 WHERE k = 1 IF v = 2; APPLY BATCH", true},
		{"BEGIN UNLOGGED BATCH USING TIMESTAMP 1 INSERT INTO t (k) VALUES (1) IF NOT EXISTS APPLY BATCH", true},
		{`UPDATE "If" SET "if" = 1 WHERE k = 1 IF "if" = 2`, true},

		{"INSERT INTO t (k, v) VALUES (1, 2)", false},
		{"INSERT INTO t (k, v) VALUES (1, 'x IF NOT EXISTS')", false},
		{"INSERT INTO t (k, v) VALUES (1, $$ IF NOT EXISTS $$)", false},
		{"INSERT INTO t (k, v) VALUES (1, 2) -- IF NOT EXISTS", false},
		{"INSERT INTO t (k, v) VALUES (1, 2) // IF NOT EXISTS", false},
		{"INSERT INTO t (k, v) VALUES (1, 2) /* IF NOT EXISTS */", false},
		{"INSERT INTO t (k, v) VALUES (1, 'it''s IF NOT EXISTS')", false},
		{`UPDATE t SET "IF" = 1 WHERE "IF" = 2`, false},
		{`UPDATE t SET v = 1 WHERE k = 1 AND "a""IF" = 2`, false},
		{"UPDATE t SET v = if_x WHERE k = 1", false},
		{"UPDATE t SET v = 0x1f WHERE k = 1", false},
		{"DELETE FROM t WHERE k IN (1, 2)", false},
		{"SELECT * FROM t WHERE k = 1", false},
		{"CREATE TABLE IF NOT EXISTS t (k int PRIMARY KEY)", false},
		{"CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy'}", false},
		{"DROP TABLE IF EXISTS t", false},
		{"ALTER TABLE t ADD IF NOT EXISTS v int", false},
		{"CREATE INDEX IF NOT EXISTS ON t (v)", false},
		{"BEGIN BATCH INSERT INTO t (k) VALUES (1); DELETE FROM t WHERE k = 2; APPLY BATCH", false},
		{"INSERT INTO t (k) VALUES (1); DROP TABLE IF EXISTS t", false},
		{"INSERT INTO t (k) VALUES ('unterminated IF NOT EXISTS", false},
		{"INSERT INTO t (k) VALUES (1) /* unterminated IF", false},
		{"", false},
		{"IF", false},
	} {
		if got := isConditional(c.cql); got != c.want {
			t.Errorf("isConditional(%q) = %v, want %v", c.cql, got, c.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { isConditional("UPDATE t SET v = 'a' WHERE k = 1 IF v = 'b'") }); n != 0 {
		t.Errorf("isConditional allocates %v times", n)
	}
}

// TestConditionalStatementsPrimaryFirst: with the default (token-aware)
// policy, conditional statements, prepared or not, alone or in a batch,
// and reads at SERIAL go to the primary replica of their partition, every
// time, while other statements spread over the replicas. A fake cluster
// (see vnet_fake_test.go): the test knows every token, so it knows each
// key's primary replica, and reads the coordinator of every statement.
func TestConditionalStatementsPrimaryFirst(t *testing.T) {
	v := startVnet(t, vnodeSpec{"dc1", "r1"}, vnodeSpec{"dc1", "r2"}, vnodeSpec{"dc1", "r1"})
	v.keyspaces["ks1"] = map[string]string{"class": "SimpleStrategy", "replication_factor": "3"}
	cfg := v.config()
	cfg.Keyspace = "ks1"
	cfg.LocalRack = "r1" // rack preference must not decide a conditional statement's coordinator
	cfg.LocalDatacenter = "dc1"
	s := v.connect(t, cfg)
	ctx := testCtx(t)

	const keys = 30
	type stmt struct {
		name string
		run  func(k int32) (*Result, error)
	}
	conditional := []stmt{
		{"INSERT IF NOT EXISTS", func(k int32) (*Result, error) {
			return s.Query("INSERT INTO t (id, v) VALUES (?, ?) IF NOT EXISTS", k, 1).Run(ctx)
		}},
		{"UPDATE IF", func(k int32) (*Result, error) {
			return s.Query("UPDATE t SET v = 2 WHERE id = ? IF v = ?", k, 1).Run(ctx)
		}},
		{"DELETE IF EXISTS, prepared", func(k int32) (*Result, error) {
			p, err := s.Prepare(ctx, "DELETE FROM t WHERE id = ? IF EXISTS")
			if err != nil {
				return nil, err
			}
			return p.Bind(k).Run(ctx)
		}},
		{"BATCH with a condition", func(k int32) (*Result, error) {
			return s.Batch(query.LoggedBatch).
				Add("INSERT INTO t (id, v) VALUES (?, ?) IF NOT EXISTS", k, 1).
				Add("UPDATE t SET v = 3 WHERE id = ?", k).Run(ctx)
		}},
		{"BATCH with a condition in a statement sent as text", func(k int32) (*Result, error) {
			return s.Batch(query.LoggedBatch).
				Add("UPDATE t SET v = 3 WHERE id = ?", k).
				AddSimple("UPDATE t SET v = 4 WHERE id = 1 IF v = 3").Run(ctx)
		}},
		{"SELECT at SERIAL", func(k int32) (*Result, error) {
			return s.Query("SELECT v FROM t WHERE id = ?", k).Consistency(frame.Serial).Run(ctx)
		}},
		{"INSERT IF NOT EXISTS as text with a routing key", func(k int32) (*Result, error) {
			return s.Query(fmt.Sprintf("INSERT INTO t (id, v) VALUES (%d, 1) IF NOT EXISTS", k)).RoutingKey(intKey(k)).Run(ctx)
		}},
	}
	// (The fake's prepared statements have their first marker as the
	// partition key.)
	primary := func(k int32) string { return s.Replicas("ks1", intKey(k))[0].Addr.String() }
	for _, st := range conditional {
		t.Run(st.name, func(t *testing.T) {
			for k := range int32(keys) {
				for range 3 {
					res, err := st.run(k)
					if err != nil {
						t.Fatal(err)
					}
					if want := primary(k); res.Coordinator != want {
						t.Fatalf("key %d: coordinator %s, want the primary replica %s (replicas %v)", k, res.Coordinator, want, infoIDs(s.Replicas("ks1", intKey(k))))
					}
				}
			}
		})
	}

	// The same statements without a condition are spread: the test
	// would see a conditional one that is spread too.
	elsewhere := 0
	for k := range int32(keys) {
		res, err := s.Query("INSERT INTO t (id, v) VALUES (?, ?)", k, 1).Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Coordinator != primary(k) {
			elsewhere++
		}
	}
	if elsewhere == 0 {
		t.Errorf("all %d unconditional inserts went to the primary replica: the test proves nothing", keys)
	}

	// Decided once per prepared statement.
	e, _ := s.prepared.lookup(preparedKey{keyspace: "ks1", cql: "INSERT INTO t (id, v) VALUES (?, ?) IF NOT EXISTS"})
	plain, _ := s.prepared.lookup(preparedKey{keyspace: "ks1", cql: "INSERT INTO t (id, v) VALUES (?, ?)"})
	if !e.conditional || plain.conditional {
		t.Errorf("cached: conditional %v and %v, want true and false", e.conditional, plain.conditional)
	}
}

// TestConditionalStatementSuspectPrimary: a conditional statement whose
// primary replica is suspect (a request to it just timed out) goes to the
// next replica in ring order, not to a random one. A fake cluster: a node
// that stops answering on cue.
func TestConditionalStatementSuspectPrimary(t *testing.T) {
	v := startVnet(t, vnodeSpec{"dc1", "r1"}, vnodeSpec{"dc1", "r1"}, vnodeSpec{"dc1", "r1"})
	v.keyspaces["ks1"] = map[string]string{"class": "SimpleStrategy", "replication_factor": "3"}
	cfg := v.config()
	cfg.Keyspace = "ks1"
	s := v.connect(t, cfg)
	ctx := testCtx(t)
	ins := "INSERT INTO t (id, v) VALUES (?, ?) IF NOT EXISTS"
	if err := s.Query(ins, int32(0), 1).Exec(ctx); err != nil { // prepared everywhere
		t.Fatal(err)
	}
	A := v.node(0)
	var key int32 = -1 // a key whose primary replica is A
	for k := range int32(1000) {
		if v.byAddr(s.Replicas("ks1", intKey(k))[0].Addr.String()) == A {
			key = k
			break
		}
	}
	if key < 0 {
		t.Fatal("no key with A as its primary replica")
	}
	second := s.Replicas("ks1", intKey(key))[1].Addr.String()
	A.setHook(func(*testserver.Request, int) (testserver.Reply, bool) {
		return testserver.Reply{Fault: testserver.FaultHold}, true
	})
	// A serial read goes to A, and times out: A is suspect for a second.
	if err := s.Query("SELECT v FROM t WHERE id = ?", key).Consistency(frame.Serial).Timeout(100 * time.Millisecond).Exec(ctx); err == nil {
		t.Fatal("a statement A never answered succeeded")
	}
	for i := range 10 {
		res, err := s.Query(ins, key, 1).Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Coordinator != second {
			t.Fatalf("statement %d: with the primary suspect, coordinator %s, want the second replica %s", i, res.Coordinator, second)
		}
	}
}
