package cluster

// The Session on the local three-node cluster (make cassandra-cluster):
// token-aware routing proven with the server's own traces, and a node
// stopped and started under the Session's traffic. Gated like the other
// TestCluster3 tests.

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testenv"
	"github.com/cqlwire/cqlwire/pool"
	"github.com/cqlwire/cqlwire/query"
)

// routingKeyOf builds the routing key of a partition key given as Go
// values (text and int components), as the server hashes it.
func routingKeyOf(t *testing.T, key []any) []byte {
	t.Helper()
	var comps [][]byte
	for _, k := range key {
		switch v := k.(type) {
		case string:
			comps = append(comps, []byte(v))
		case int:
			comps = append(comps, []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		default:
			t.Fatalf("key component %T", k)
		}
	}
	rk, err := pool.AppendRoutingKey(nil, comps...)
	if err != nil {
		t.Fatal(err)
	}
	return rk
}

func cluster3Session(t *testing.T, env testenv.Env, mutate func(*Config)) *Session {
	t.Helper()
	cfg := Config{
		ContactPoints:   env.Addrs()[:1],
		LocalDatacenter: "datacenter1",
		Username:        env.Username,
		Password:        auth.Secret(env.Password),
		DefaultProfile:  query.Profile{RequestTimeout: 30 * time.Second},
		EventDebounce:   100 * time.Millisecond,
		ReconnectBase:   100 * time.Millisecond,
		ReconnectMax:    time.Second,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestCluster3SessionTokenAware proves that a prepared statement goes to a
// replica of its partition. With replication factor 1 exactly one node holds
// each partition; the server's trace of each SELECT names its coordinator
// and where the read ran: when the coordinator is the replica, the read is
// executed locally and no READ message is sent to another node.
func TestCluster3SessionTokenAware(t *testing.T) {
	env := requireCluster3(t)
	s := cluster3Session(t, env, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if h := s.Hosts(); len(h) != 3 {
		t.Fatalf("the session found %d nodes from one contact point, want 3: %+v", len(h), h)
	}
	ks := fmt.Sprintf("cqlwire_c3_route_%d", time.Now().UnixNano()%1e9)
	mustExecS(t, ctx, s, "CREATE KEYSPACE "+ks+" WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	defer s.Query("DROP KEYSPACE IF EXISTS " + ks).Exec(context.Background())
	mustExecS(t, ctx, s, "CREATE TABLE "+ks+".single (k text PRIMARY KEY, v int)")
	mustExecS(t, ctx, s, "CREATE TABLE "+ks+".composite (a text, b int, v int, PRIMARY KEY ((a, b)))")

	type statement struct {
		name   string
		insert string
		sel    string
		key    func(i int) []any
	}
	stmts := []statement{
		{"single", "INSERT INTO " + ks + ".single (k, v) VALUES (?, ?)", "SELECT v, token(k) FROM " + ks + ".single WHERE k = ?",
			func(i int) []any { return []any{fmt.Sprintf("key-%d-é€", i)} }}, // bytes >= 0x80 in the key
		{"composite", "INSERT INTO " + ks + ".composite (a, b, v) VALUES (?, ?, ?)", "SELECT v, token(a, b) FROM " + ks + ".composite WHERE a = ? AND b = ?",
			func(i int) []any { return []any{fmt.Sprintf("ä-%d", i), i * 7919} }},
	}
	addrByID := map[pool.HostID]string{}
	for _, h := range s.Hosts() {
		addrByID[h.Host.ID] = h.Addr.Addr().String()
	}
	coordinators := map[string]int{}
	for _, st := range stmts {
		sel, err := s.Prepare(ctx, st.sel)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 24 {
			key := st.key(i)
			if err := s.Query(st.insert, append(slices.Clone(key), i)...).Exec(ctx); err != nil {
				t.Fatal(err)
			}
			res, err := sel.Bind(key...).Trace(true).Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var v int
			var serverTok int64
			for row := range res.Rows() {
				if err := row.Scan(&v, &serverTok); err != nil {
					t.Fatal(err)
				}
			}
			if v != i || !res.Traced {
				t.Fatalf("%s %v: v=%d traced %v", st.name, key, v, res.Traced)
			}
			coordinator, _, _ := strings.Cut(res.Coordinator, ":")
			coordinators[coordinator]++

			// Our ring agrees with the server's token and replica.
			if ours := pool.Murmur3Token(routingKeyOf(t, key)); ours != serverTok {
				t.Errorf("%s %v: our token %d, the server's %d", st.name, key, ours, serverTok)
			}
			replicas := s.Watcher().Snapshot().Replicas(ks, pool.Murmur3(serverTok))
			if len(replicas) != 1 || addrByID[replicas[0].ID] != coordinator {
				t.Errorf("%s %v: token %d, our replica %v, coordinator %s", st.name, key, serverTok, replicas, coordinator)
			}

			// The read of our table must run on the coordinator. Other
			// events may involve other nodes (the coordinator reads
			// system_auth.roles, RF 3, to check the login's permissions),
			// so only the events about this table count. Events are
			// written in the background: poll until the read shows up.
			readOn := func() (sources []string, err error) {
				tr, err := s.Trace(ctx, res.TraceID)
				if err != nil {
					return nil, err
				}
				if tr.Coordinator.String() != coordinator {
					t.Errorf("%s %v: the trace's coordinator is %s, the answer came from %s", st.name, key, tr.Coordinator, coordinator)
				}
				for _, ev := range tr.Events {
					if strings.HasPrefix(ev.Activity, "Executing single-partition query on "+st.name) {
						sources = append(sources, ev.Source.String())
					}
				}
				return sources, nil
			}
			var sources []string
			for try := 0; try < 20 && len(sources) == 0; try++ {
				if try > 0 {
					time.Sleep(100 * time.Millisecond)
				}
				if sources, err = readOn(); err != nil {
					t.Fatal(err)
				}
			}
			if len(sources) == 0 {
				t.Errorf("%s %v: no read of the table in the trace", st.name, key)
			}
			for _, src := range sources {
				if src != coordinator {
					t.Errorf("%s %v: the table was read on %s, not on the coordinator %s: the coordinator was not the replica",
						st.name, key, src, coordinator)
				}
			}
		}
	}
	t.Logf("48 traced reads, coordinators %v: each on the partition's only replica", coordinators)
	if len(coordinators) != 3 {
		t.Errorf("the reads went to %d nodes, want all 3 (keys spread over the ring)", len(coordinators))
	}
}

// TestCluster3SessionNodeDownAndUp stops node 3 under the Session's traffic
// (idempotent reads at ONE of RF 3 data), then starts it again: no request
// may fail, the node must be seen down and then up and serving within
// seconds.
func TestCluster3SessionNodeDownAndUp(t *testing.T) {
	env := requireCluster3(t)
	s := cluster3Session(t, env, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ks := fmt.Sprintf("cqlwire_c3_sdown_%d", time.Now().UnixNano()%1e9)
	mustExecS(t, ctx, s, "CREATE KEYSPACE "+ks+" WITH replication = {'class': 'NetworkTopologyStrategy', 'datacenter1': 3}")
	defer s.Query("DROP KEYSPACE IF EXISTS " + ks).Exec(context.Background())
	mustExecS(t, ctx, s, "CREATE TABLE "+ks+".t (k int PRIMARY KEY, v int)")
	for i := range 50 {
		if err := s.Query("INSERT INTO "+ks+".t (k, v) VALUES (?, ?)", i, i).Consistency(frame.All).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sel, err := s.Prepare(ctx, "SELECT v FROM "+ks+".t WHERE k = ?")
	if err != nil {
		t.Fatal(err)
	}
	node3 := env.Hosts[2]
	var (
		stop       atomic.Bool
		ok, failed atomic.Int64
		retried    atomic.Int64
		mu         sync.Mutex
		perHost    = map[string]int64{}
		firstFail  atomic.Value
		wg         sync.WaitGroup
	)
	served := func(host string) int64 { mu.Lock(); defer mu.Unlock(); return perHost[host] }
	for w := range 6 {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				k := (w*7 + n) % 50
				res, err := sel.Bind(k).Consistency(frame.One).Idempotent(true).Run(ctx)
				if err != nil {
					failed.Add(1)
					firstFail.CompareAndSwap(nil, err.Error())
					continue
				}
				var v int
				for row := range res.Rows() {
					row.Scan(&v)
				}
				if v != k {
					failed.Add(1)
					firstFail.CompareAndSwap(nil, fmt.Sprintf("key %d read %d", k, v))
				}
				if res.Attempts > 1 {
					retried.Add(1)
				}
				host, _, _ := strings.Cut(res.Coordinator, ":")
				mu.Lock()
				perHost[host]++
				mu.Unlock()
				ok.Add(1)
				time.Sleep(time.Millisecond)
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }()
	hostUp := func(addr string) (up, known bool) {
		for _, h := range s.Hosts() {
			if h.Addr.Addr() == netip.MustParseAddr(addr) {
				return h.Up, true
			}
		}
		return false, false
	}

	time.Sleep(time.Second)
	if served(node3) == 0 {
		t.Fatalf("no traffic on node 3 before the stop: %v", perHost)
	}
	t0 := time.Now()
	stopDone := stopNode(t, 3)
	if d, good := waitFor3(30*time.Second, func() bool { up, known := hostUp(node3); return known && !up }); !good {
		t.Errorf("node 3 still up for the session %v after the stop began", d)
	} else {
		t.Logf("session: node 3 DOWN %v after the stop began", d.Round(time.Millisecond))
	}
	stopped(t, 3, stopDone, t0)
	before := ok.Load()
	time.Sleep(2 * time.Second)
	if ok.Load() == before {
		t.Errorf("no traffic while node 3 is down")
	}

	t1 := time.Now()
	startNode(t, 3)
	tStarted := time.Now()
	t.Logf("start-node 3 took %v (until it accepted a CQL login)", tStarted.Sub(t1).Round(time.Millisecond))
	if d, good := waitFor3(60*time.Second, func() bool { up, _ := hostUp(node3); return up }); !good {
		t.Errorf("node 3 not up for the session 60s after it accepted logins")
	} else {
		t.Logf("session: node 3 UP %v after the node accepted logins", d.Round(time.Millisecond))
	}
	n3 := served(node3)
	if d, good := waitFor3(60*time.Second, func() bool { return served(node3) > n3 }); !good {
		t.Errorf("node 3 receives no traffic 60s after it accepted logins")
	} else {
		t.Logf("session: node 3 serving again %v after it accepted logins", (time.Since(tStarted) - 0*d).Round(time.Millisecond))
	}
	stop.Store(true)
	wg.Wait()
	mu.Lock()
	t.Logf("requests: %d ok (per node %v), %d needed more than one attempt, %d failed", ok.Load(), perHost, retried.Load(), failed.Load())
	mu.Unlock()
	if failed.Load() != 0 {
		t.Errorf("%d requests failed; first: %v", failed.Load(), firstFail.Load())
	}
}

// TestCluster3SessionSchema: DDL through the Session is visible in its
// metadata as soon as the statement returns (it waits for schema agreement
// and refreshes), on a cluster where the DDL's coordinator is not
// necessarily the control connection's node.
func TestCluster3SessionSchema(t *testing.T) {
	env := requireCluster3(t)
	s := cluster3Session(t, env, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ks := fmt.Sprintf("cqlwire_c3_sschema_%d", time.Now().UnixNano()%1e9)
	res, err := s.Query("CREATE KEYSPACE " + ks + " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}").Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Query("DROP KEYSPACE IF EXISTS " + ks).Exec(context.Background())
	if res.SchemaChange == nil || res.SchemaChange.Keyspace != ks {
		t.Errorf("schema change %+v", res.SchemaChange)
	}
	for _, w := range res.Warnings {
		if strings.Contains(w, "schema agreement") {
			t.Errorf("warning: %s", w)
		}
	}
	if s.Schema().Keyspaces[ks] == nil {
		t.Fatalf("keyspace %s not in the metadata when CREATE KEYSPACE returned", ks)
	}
	if _, known := s.Watcher().Snapshot().Replication(ks); !known {
		t.Fatalf("keyspace %s not in the ring snapshot when CREATE KEYSPACE returned", ks)
	}
	mustExecS(t, ctx, s, "CREATE TABLE "+ks+".t (k int PRIMARY KEY, embedding vector<float, 4>)")
	tm := s.Schema().Keyspaces[ks].Tables["t"]
	if tm == nil || tm.Columns["embedding"] == nil {
		t.Fatalf("table not in the metadata: %+v", tm)
	}
	mustExecS(t, ctx, s, "DROP KEYSPACE "+ks)
	if s.Schema().Keyspaces[ks] != nil {
		t.Fatalf("dropped keyspace %s still in the metadata", ks)
	}
	if err := s.Query("SELECT * FROM " + ks + ".t").Exec(ctx); !errors.Is(err, frame.CodeInvalid) {
		t.Errorf("SELECT from the dropped keyspace: %v, want an Invalid error", err)
	}
}
