package cluster

// Integration tests against the local three-node cluster (make cassandra-cluster).
// They skip without it, and fail instead under CQLWIRE_REQUIRE_CLUSTER=1 (CI).
// Some stop and start nodes through devcluster/cluster.sh stop-node / start-node;
// each leaves every node running when it ends, even when it fails midway.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testenv"
	"github.com/cqlwire/cqlwire/pool"
)

// requireCluster3 returns the settings of the three-node cluster, or skips
// (fails under CQLWIRE_REQUIRE_CLUSTER=1) when it does not run.
func requireCluster3(t *testing.T) testenv.Env {
	t.Helper()
	required := false
	switch strings.ToLower(strings.TrimSpace(os.Getenv("CQLWIRE_REQUIRE_CLUSTER"))) {
	case "1", "true", "yes", "on":
		required = true
	}
	env, err := testenv.Lookup()
	if err == nil && len(env.Hosts) < 3 {
		err = fmt.Errorf("only %d node(s) configured (%s)", len(env.Hosts), strings.Join(env.Hosts, ","))
	}
	if err != nil {
		msg := "the three-node cluster is not running (start it: make cassandra-cluster): " + err.Error()
		if required {
			t.Fatal(msg + " [CQLWIRE_REQUIRE_CLUSTER=1]")
		}
		t.Skip(msg)
	}
	return testenv.Require(t) // reachability check (fails under CQLWIRE_REQUIRE_CASSANDRA=1)
}

func cluster3Conn(env testenv.Env) *conn.Config {
	return &conn.Config{Authenticator: auth.Plain{Username: env.Username, Password: auth.Secret(env.Password)},
		Timeout: 30 * time.Second}
}

// devcluster runs devcluster/cluster.sh with args from the repository root.
func devcluster(t *testing.T, args ...string) (string, error) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "devcluster", "cluster.sh")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			return "", fmt.Errorf("devcluster/cluster.sh not found above %s", wd)
		}
		root = parent
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "devcluster", "cluster.sh"), args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("cluster.sh %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// stopNode begins to stop node n (SIGTERM, then waiting for the process to
// exit) and registers a cleanup that starts it again. The returned channel
// yields the result of the stop when it has finished.
func stopNode(t *testing.T, n int) <-chan error {
	t.Helper()
	t.Cleanup(func() {
		if _, err := devcluster(t, "start-node", strconv.Itoa(n)); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	done := make(chan error, 1)
	go func() {
		_, err := devcluster(t, "stop-node", strconv.Itoa(n))
		done <- err
	}()
	return done
}

func stopped(t *testing.T, n int, done <-chan error, t0 time.Time) {
	t.Helper()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("stop-node %d finished (process exited) %v after it began", n, time.Since(t0).Round(time.Millisecond))
}

func startNode(t *testing.T, n int) {
	t.Helper()
	if _, err := devcluster(t, "start-node", strconv.Itoa(n)); err != nil {
		t.Fatal(err)
	}
}

func exec3(ctx context.Context, c *conn.Conn, cl frame.Consistency, q string) (frame.Message, error) {
	env, err := c.Do(ctx, conn.Request{Message: &frame.Query{Query: q, Params: frame.QueryParams{Consistency: cl}}})
	if err != nil {
		return nil, err
	}
	if e, ok := env.Message.(*frame.Error); ok {
		return nil, fmt.Errorf("%s: %v", q, e)
	}
	return env.Message, nil
}

func mustExec(t *testing.T, ctx context.Context, c *conn.Conn, q string) {
	t.Helper()
	if _, err := exec3(ctx, c, frame.Quorum, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// waitFor polls cond every 20ms until it holds or limit passes; it returns
// the time it took and whether cond held.
func waitFor3(limit time.Duration, cond func() bool) (time.Duration, bool) {
	t0 := time.Now()
	for {
		if cond() {
			return time.Since(t0), true
		}
		if time.Since(t0) > limit {
			return time.Since(t0), false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startWatcher(t *testing.T, env testenv.Env, onEvent func(HostEvent)) *Watcher {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w, err := StartWatcher(ctx, WatcherConfig{ContactPoints: env.Addrs()[:1], Conn: cluster3Conn(env),
		EventDebounce: 100 * time.Millisecond, ReconnectMax: time.Second, OnHostEvent: onEvent})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func hostAddrs(w *Watcher) map[*pool.Host]netip.AddrPort {
	m := map[*pool.Host]netip.AddrPort{}
	for _, h := range w.Hosts() {
		m[h.Host] = h.Addr
	}
	return m
}

func TestCluster3Discovery(t *testing.T) {
	env := requireCluster3(t)
	t0 := time.Now()
	w := startWatcher(t, env, nil)
	t.Logf("watcher started from %s in %v", env.Addrs()[0], time.Since(t0).Round(time.Millisecond))
	hosts := w.Hosts()
	if len(hosts) != 3 {
		t.Fatalf("%d hosts, want 3: %+v", len(hosts), hosts)
	}
	ids := map[pool.HostID]bool{}
	var addrs []string
	for _, h := range hosts {
		ids[h.Host.ID] = true
		addrs = append(addrs, h.Addr.String())
		if h.Host.Datacenter != "datacenter1" || len(h.Tokens) == 0 || !h.Up {
			t.Errorf("host %s: dc %q, %d tokens, up %v", h.Addr, h.Host.Datacenter, len(h.Tokens), h.Up)
		}
		if h.Control != (h.Addr.String() == env.Addrs()[0]) {
			t.Errorf("host %s: control %v, control address %s", h.Addr, h.Control, w.ControlAddr())
		}
	}
	slices.Sort(addrs)
	if len(ids) != 3 || !slices.Equal(addrs, env.Addrs()[:3]) {
		t.Errorf("host ids %v, addresses %v, want 3 distinct ids at %v", ids, addrs, env.Addrs()[:3])
	}
	if s := w.Snapshot(); s == nil || s.Ring().Len() != 3 {
		t.Errorf("snapshot ring: %v", s)
	}
}

// describeRing parses `nodetool describering KS`: each range (start, end]
// with its endpoint addresses.
type ringRange struct {
	start, end int64
	endpoints  []string
}

var reRange = regexp.MustCompile(`TokenRange\(start_token:(-?\d+), end_token:(-?\d+), endpoints:\[([^\]]*)\]`)

func describeRing(t *testing.T, ks string) []ringRange {
	t.Helper()
	out, err := devcluster(t, "nodetool", "1", "describering", ks)
	if err != nil {
		t.Fatal(err)
	}
	var rs []ringRange
	for _, m := range reRange.FindAllStringSubmatch(out, -1) {
		s, err1 := strconv.ParseInt(m[1], 10, 64)
		e, err2 := strconv.ParseInt(m[2], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("describering: %q", m[0])
		}
		var eps []string
		for _, a := range strings.Split(m[3], ",") {
			eps = append(eps, strings.TrimSpace(a))
		}
		rs = append(rs, ringRange{s, e, eps})
	}
	if len(rs) == 0 {
		t.Fatalf("describering %s: no ranges in\n%s", ks, out)
	}
	return rs
}

func (r ringRange) contains(tok int64) bool {
	if r.start < r.end {
		return tok > r.start && tok <= r.end
	}
	return tok > r.start || tok <= r.end // wraps around
}

func TestCluster3ReplicaPlacement(t *testing.T) {
	env := requireCluster3(t)
	w := startWatcher(t, env, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := conn.Dial(ctx, env.Addrs()[0], cluster3Conn(env))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	suffix := time.Now().UnixNano() % 1e9
	for _, rep := range []string{
		"{'class': 'SimpleStrategy', 'replication_factor': 2}",
		"{'class': 'NetworkTopologyStrategy', 'datacenter1': 2}",
	} {
		ks := fmt.Sprintf("cqlwire_c3_place_%s_%d", map[bool]string{true: "simple", false: "nts"}[strings.Contains(rep, "Simple")], suffix)
		mustExec(t, ctx, c, "CREATE KEYSPACE "+ks+" WITH replication = "+rep)
		defer exec3(context.Background(), c, frame.Quorum, "DROP KEYSPACE IF EXISTS "+ks)
		mustExec(t, ctx, c, "CREATE TABLE "+ks+".t (k text PRIMARY KEY, v int)")
		actx, acancel := context.WithTimeout(ctx, 30*time.Second)
		if err := w.WaitSchemaAgreement(actx); err != nil {
			t.Fatal(err)
		}
		acancel()
		if d, ok := waitFor3(30*time.Second, func() bool { _, ok := w.Snapshot().Replication(ks); return ok }); !ok {
			t.Fatalf("%s never appeared in the snapshot", ks)
		} else {
			t.Logf("%s in the snapshot after %v", ks, d.Round(time.Millisecond))
		}
		for i := range 50 { // é: key bytes >= 0x80 too
			mustExec(t, ctx, c, fmt.Sprintf("INSERT INTO %s.t (k, v) VALUES ('key-%d-é', %d)", ks, i, i))
		}
		msg, err := exec3(ctx, c, frame.Quorum, "SELECT k, token(k) FROM "+ks+".t")
		if err != nil {
			t.Fatal(err)
		}
		rows, ok := msg.(*frame.Rows)
		if !ok {
			t.Fatalf("answer %T", msg)
		}
		ring := describeRing(t, ks)
		snap := w.Snapshot()
		addrOf := hostAddrs(w)
		n := 0
		for _, row := range rows.All() {
			key := row[0]
			if len(row[1]) != 8 {
				t.Fatalf("token(k) of %q: %d bytes", key, len(row[1]))
			}
			serverTok := int64(binary.BigEndian.Uint64(row[1]))
			if ours, _ := snap.Ring().Partitioner().Token(key).Int64(); ours != serverTok {
				t.Errorf("key %q: our token %d, server's %d", key, ours, serverTok)
			}
			var want []string
			for _, r := range ring {
				if r.contains(serverTok) {
					want = slices.Clone(r.endpoints)
				}
			}
			var got []string
			for _, h := range snap.ReplicasOfKey(ks, key) {
				got = append(got, addrOf[h].Addr().String())
			}
			slices.Sort(want)
			slices.Sort(got)
			if len(got) != 2 || !slices.Equal(got, want) {
				t.Errorf("%s key %q (token %d): replicas %v, the cluster says %v", ks, key, serverTok, got, want)
			}
			n++
		}
		if n != 50 {
			t.Errorf("%s: %d rows, want 50", ks, n)
		}
		t.Logf("%s: replicas of %d keys match nodetool describering", ks, n)
	}
}

// hostEvents records the watcher's events with their times.
type hostEvents struct {
	mu  sync.Mutex
	evs []timedEvent
}

type timedEvent struct {
	at   time.Time
	kind HostEventKind
	addr netip.AddrPort
}

func (h *hostEvents) add(ev HostEvent) {
	h.mu.Lock()
	h.evs = append(h.evs, timedEvent{time.Now(), ev.Kind, ev.Host.Addr})
	h.mu.Unlock()
}

// first returns the time of the first event of kind for addr after t0.
func (h *hostEvents) first(kind HostEventKind, addr string, t0 time.Time) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.evs {
		if e.kind == kind && e.addr.String() == addr && !e.at.Before(t0) {
			return e.at, true
		}
	}
	return time.Time{}, false
}

func TestCluster3NodeDownAndUp(t *testing.T) {
	env := requireCluster3(t)
	evs := &hostEvents{}
	w := startWatcher(t, env, evs.add)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ddl, err := conn.Dial(ctx, env.Addrs()[0], cluster3Conn(env))
	if err != nil {
		t.Fatal(err)
	}
	defer ddl.Close()
	ks := fmt.Sprintf("cqlwire_c3_rf3_%d", time.Now().UnixNano()%1e9)
	mustExec(t, ctx, ddl, "CREATE KEYSPACE "+ks+" WITH replication = {'class': 'NetworkTopologyStrategy', 'datacenter1': 3}")
	defer exec3(context.Background(), ddl, frame.Quorum, "DROP KEYSPACE IF EXISTS "+ks)
	mustExec(t, ctx, ddl, "CREATE TABLE "+ks+".t (k int PRIMARY KEY, v int)")
	actx, acancel := context.WithTimeout(ctx, 30*time.Second)
	if err := w.WaitSchemaAgreement(actx); err != nil {
		t.Fatal(err)
	}
	acancel()
	for i := range 20 {
		if _, err := exec3(ctx, ddl, frame.All, fmt.Sprintf("INSERT INTO %s.t (k, v) VALUES (%d, %d)", ks, i, i)); err != nil {
			t.Fatal(err)
		}
	}

	addrs := env.Addrs()[:3]
	pools := make([]*pool.HostPool, 3)
	for i, a := range addrs {
		p, err := pool.NewHostPool(ctx, a, cluster3Conn(env), pool.HostPoolOptions{Size: 2,
			ReconnectBase: 100 * time.Millisecond, ReconnectMax: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		pools[i] = p
	}

	// The traffic: 4 workers, each request on a random UP host; a failure is
	// retried on the other UP hosts. A request that no host could serve fails.
	var (
		stop                atomic.Bool
		ok, retried, failed atomic.Int64
		perHost             [3]atomic.Int64
		firstFail           atomic.Value
		wg                  sync.WaitGroup
	)
	one := func(i, k int) error {
		c, err := pools[i].Pick()
		if err != nil {
			return err
		}
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		defer rcancel()
		_, err = exec3(rctx, c, frame.One, fmt.Sprintf("SELECT v FROM %s.t WHERE k = %d", ks, k))
		return err
	}
	for wkr := range 4 {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				k := (wkr*7 + n) % 20
				order := rand.Perm(3)
				var errs []error
				done := false
				for attempt, i := range order {
					if !pools[i].Up() {
						continue
					}
					if err := one(i, k); err != nil {
						errs = append(errs, fmt.Errorf("%s: %w", addrs[i], err))
						continue
					}
					if attempt > 0 && len(errs) > 0 {
						retried.Add(1)
					}
					perHost[i].Add(1)
					ok.Add(1)
					done = true
					break
				}
				if !done {
					failed.Add(1)
					firstFail.CompareAndSwap(nil, fmt.Sprint(errors.Join(errs...)))
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }()

	time.Sleep(time.Second)
	if perHost[2].Load() == 0 {
		t.Fatalf("no traffic on node 3 before the stop (per host %d %d %d)", perHost[0].Load(), perHost[1].Load(), perHost[2].Load())
	}
	t0 := time.Now()
	stopDone := stopNode(t, 3)

	if d, ok := waitFor3(30*time.Second, func() bool { return !pools[2].Up() }); !ok {
		t.Errorf("pool of node 3 still UP %v after the stop began", d)
	} else {
		t.Logf("pool of node 3 DOWN %v after the stop began", (time.Since(t0)).Round(time.Millisecond))
	}
	if _, ok := waitFor3(60*time.Second, func() bool { _, ok := evs.first(HostDown, addrs[2], t0); return ok }); !ok {
		t.Errorf("no HostDown for %s within 60s", addrs[2])
	} else {
		at, _ := evs.first(HostDown, addrs[2], t0)
		t.Logf("watcher HostDown for node 3 %v after the stop began", at.Sub(t0).Round(time.Millisecond))
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
	if _, ok := waitFor3(60*time.Second, func() bool { return pools[2].Up() }); !ok {
		t.Errorf("pool of node 3 not UP 60s after it accepted logins")
	} else {
		t.Logf("pool of node 3 UP %v after the node accepted logins", time.Since(tStarted).Round(time.Millisecond))
	}
	served := perHost[2].Load()
	if _, ok := waitFor3(60*time.Second, func() bool { return perHost[2].Load() > served }); !ok {
		t.Errorf("node 3 receives no traffic 60s after it accepted logins")
	} else {
		t.Logf("node 3 serving traffic again %v after it accepted logins", time.Since(tStarted).Round(time.Millisecond))
	}
	if _, ok := waitFor3(60*time.Second, func() bool { _, ok := evs.first(HostUp, addrs[2], t1); return ok }); !ok {
		t.Errorf("no HostUp for %s within 60s of the restart", addrs[2])
	} else {
		at, _ := evs.first(HostUp, addrs[2], t1)
		t.Logf("watcher HostUp for node 3 %v after start-node began (%v relative to the first accepted login)",
			at.Sub(t1).Round(time.Millisecond), at.Sub(tStarted).Round(time.Millisecond))
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("requests: %d ok (per host %d/%d/%d), %d served after a retry on another host, %d failed",
		ok.Load(), perHost[0].Load(), perHost[1].Load(), perHost[2].Load(), retried.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Errorf("%d requests failed on every UP host; first: %v", failed.Load(), firstFail.Load())
	}
}

func TestCluster3SchemaChange(t *testing.T) {
	env := requireCluster3(t)
	w := startWatcher(t, env, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// DDL through another node than the control connection's.
	c, err := conn.Dial(ctx, env.Addrs()[1], cluster3Conn(env))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ks := fmt.Sprintf("cqlwire_c3_ddl_%d", time.Now().UnixNano()%1e9)
	mustExec(t, ctx, c, "CREATE KEYSPACE "+ks+" WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}")
	defer exec3(context.Background(), c, frame.Quorum, "DROP KEYSPACE IF EXISTS "+ks)
	if d, ok := waitFor3(30*time.Second, func() bool { _, ok := w.Snapshot().Replication(ks); return ok }); !ok {
		t.Fatalf("created keyspace %s not in the snapshot after %v", ks, d)
	} else {
		t.Logf("created keyspace in the snapshot after %v", d.Round(time.Millisecond))
	}
	if rep, _ := w.Snapshot().Replication(ks); rep.Strategy != pool.SimpleStrategy {
		t.Errorf("replication %+v", rep)
	}
	mustExec(t, ctx, c, "DROP KEYSPACE "+ks)
	if d, ok := waitFor3(30*time.Second, func() bool { _, ok := w.Snapshot().Replication(ks); return !ok }); !ok {
		t.Fatalf("dropped keyspace %s still in the snapshot after %v", ks, d)
	} else {
		t.Logf("dropped keyspace gone from the snapshot after %v", d.Round(time.Millisecond))
	}
}

func TestCluster3ControlMoves(t *testing.T) {
	env := requireCluster3(t)
	w := startWatcher(t, env, nil)
	ctl := w.ControlAddr()
	n := slices.Index(env.Addrs()[:3], ctl) + 1
	if n == 0 {
		t.Fatalf("control connection on %q, not one of %v", ctl, env.Addrs()[:3])
	}
	t0 := time.Now()
	stopDone := stopNode(t, n)
	if _, ok := waitFor3(60*time.Second, func() bool { a := w.ControlAddr(); return a != "" && a != ctl }); !ok {
		t.Fatalf("control connection still %q 60s after node %d began to stop", w.ControlAddr(), n)
	}
	t.Logf("control connection moved from %s to %s %v after the stop began", ctl, w.ControlAddr(),
		time.Since(t0).Round(time.Millisecond))
	stopped(t, n, stopDone, t0)
	// The new control connection keeps the topology: three hosts.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Refresh(ctx); err != nil {
		t.Errorf("refresh on the new control connection: %v", err)
	}
	if h := w.Hosts(); len(h) != 3 {
		t.Errorf("%d hosts after the move, want 3", len(h))
	}
	startNode(t, n)
	if _, ok := waitFor3(60*time.Second, func() bool {
		for _, h := range w.Hosts() {
			if h.Addr.String() == ctl {
				return h.Up
			}
		}
		return false
	}); !ok {
		t.Errorf("node %d not reported up again 60s after its restart", n)
	}
}
