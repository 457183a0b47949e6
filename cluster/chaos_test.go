package cluster

// TestChaos: faults on the real three-node cluster (make cassandra-cluster)
// under a Session's traffic, driven through devcluster/cluster.sh (kill-node,
// freeze-node, thaw-node, stop-node, start-node: the pids the harness
// recorded). Run only with CQLWIRE_CHAOS=1 (make chaos, CI phase "chaos (3
// nodes)"); with CQLWIRE_REQUIRE_CLUSTER=1 as well it fails instead of
// skipping when the cluster is not there.
//
// Each scenario runs the workload of chaos_workload_test.go for a bounded
// time, injects its fault, restores the cluster (every node up, and a
// write at ALL coordinated by each node succeeds), then reads back every
// acknowledged write at QUORUM. A lost acknowledged write (or a QUORUM read
// that does not see one) fails the test; failed operations while a quorum
// is up are what the driver aims to avoid, reported, not failures. The
// report (tables; per-second timelines in the file) goes to the log and to
// $CQLWIRE_CHAOS_REPORT (default <repo>/.cache/chaos/report.txt).
//
// Environment: CQLWIRE_CHAOS_RATE, the target rate of all workers together
// in operations per second (default 1000; 0: as fast as the answers come).

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testenv"
	"github.com/cqlwire/cqlwire/query"
)

const (
	chaosWarmup   = 2 * time.Second // not part of the base rate
	chaosBaseline = 5 * time.Second // after the warm-up, before the fault
	chaosTail     = 10 * time.Second
	// chaosTrafficWait bounds the wait for traffic on a node that came back.
	chaosTrafficWait = 60 * time.Second
	chaosDefaultRate = 1000
)

func envTrue(name string) bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(name))) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// requireChaos skips unless CQLWIRE_CHAOS is set; with it, the cluster is
// required as in the other three-node tests, and under
// CQLWIRE_REQUIRE_CLUSTER=1 nothing may skip (an unreachable node fails).
func requireChaos(t *testing.T) testenv.Env {
	t.Helper()
	if !envTrue("CQLWIRE_CHAOS") {
		t.Skip("the chaos suite kills, freezes and restarts the nodes of the three-node cluster: " +
			"run it with CQLWIRE_CHAOS=1 (make chaos)")
	}
	if envTrue("CQLWIRE_REQUIRE_CLUSTER") {
		t.Setenv("CQLWIRE_REQUIRE_CASSANDRA", "1")
	}
	return requireCluster3(t)
}

// chaosSuite is what the scenarios share.
type chaosSuite struct {
	env      testenv.Env
	keyspace string
	rate     float64
}

func (c *chaosSuite) config(contacts []string, rec *chaosRecorder) Config {
	cfg := Config{
		ContactPoints:   contacts,
		LocalDatacenter: "datacenter1",
		Username:        c.env.Username,
		Password:        auth.Secret(c.env.Password),
		DefaultProfile:  query.Profile{Consistency: frame.Quorum, RequestTimeout: chaosRequestTimeout},
	}
	if rec != nil {
		cfg.Observer = rec.Observer()
		cfg.Logger = rec.logger()
	}
	return cfg
}

// session connects a Session with the driver's defaults but for the
// workload's profile; it is closed when the test ends.
func (c *chaosSuite) session(t *testing.T, contacts []string, rec *chaosRecorder) *Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Connect(ctx, c.config(contacts, rec))
	if err != nil {
		t.Fatalf("connecting to %v: %v", contacts, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (c *chaosSuite) cluster(t *testing.T, args ...string) {
	t.Helper()
	if _, err := devcluster(t, args...); err != nil {
		t.Fatal(err)
	}
}

var chaosStatusLine = regexp.MustCompile(`(?m)^node([1-9])\s+\S+\s+(running|frozen|stopped)(?:\s+pid (\d+))?`)

// pids returns the pid of each running node ("" for a stopped one).
func (c *chaosSuite) pids(t *testing.T) map[int]string {
	out, err := devcluster(t, "status")
	pids := map[int]string{}
	if err != nil {
		return pids
	}
	for _, m := range chaosStatusLine.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[1])
		pids[n] = m[3]
	}
	return pids
}

// checkUntouched reports nodes that were restarted although the scenario
// did not touch them: someone else's test (TestCluster3 stops nodes) ran
// against the cluster, and the numbers mean nothing.
func (c *chaosSuite) checkUntouched(t *testing.T, sum *chaosSummary, before map[int]string, touched ...int) {
	after := c.pids(t)
	for n := 1; n <= chaosNodes; n++ {
		if slices.Contains(touched, n) {
			continue
		}
		if before[n] != after[n] {
			sum.note("INTERFERENCE: node%d was restarted during the scenario by something else (pid %s, now %s): the numbers are not valid",
				n, before[n], after[n])
			t.Errorf("%s: node%d was restarted by something else during the scenario (pid %s, now %s): "+
				"is another test using the cluster?", sum.Name, n, before[n], after[n])
		}
	}
}

// restore brings every node back (thaws frozen ones, starts stopped ones)
// and waits until the cluster is whole: a write at ALL coordinated by
// each node in turn succeeds, so every node sees every other alive.
func (c *chaosSuite) restore(t *testing.T) (time.Duration, error) {
	t0 := time.Now()
	out, err := devcluster(t, "status")
	if err != nil {
		return 0, err
	}
	states := map[int]string{}
	for _, m := range chaosStatusLine.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[1])
		states[n] = m[2]
	}
	for n := 1; n <= chaosNodes; n++ {
		switch states[n] {
		case "running":
		case "frozen":
			if _, err := devcluster(t, "thaw-node", strconv.Itoa(n)); err != nil {
				return 0, err
			}
		case "stopped":
			if _, err := devcluster(t, "start-node", strconv.Itoa(n)); err != nil {
				return 0, err
			}
		default:
			return 0, fmt.Errorf("cluster.sh status does not show node%d:\n%s", n, out)
		}
	}
	if err := c.whole(t, 120*time.Second); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// whole waits until a write at ALL succeeds through each node as the
// coordinator (devcluster's own CQL client, not the driver under test).
func (c *chaosSuite) whole(t *testing.T, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for n := 1; n <= chaosNodes; n++ {
		for {
			_, err := devcluster(t, "cql", strconv.Itoa(n), "-c", "ALL", "--timeout", "5",
				fmt.Sprintf("INSERT INTO %s.health (node, at) VALUES (%d, toTimestamp(now()))", c.keyspace, n))
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the cluster is not whole %v after the restore began: %w", limit, err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	return nil
}

// nodeBack notes that node is back now (start-node returned, or the
// SIGCONT) and starts timing its first answer to the session.
func nodeBack(rec *chaosRecorder, node int, what string) time.Time {
	back := time.Now()
	rec.watchReturn(node, back)
	rec.mark("node%d %s", node, what)
	return back
}

// waitTraffic waits until node, back since back (nodeBack), has answered
// the session's requests; it records the return and returns the seconds
// from back to the first answer (negative if none came within
// chaosTrafficWait).
func waitTraffic(rec *chaosRecorder, sum *chaosSummary, node int, back time.Time) float64 {
	_, ok := waitFor3(chaosTrafficWait-time.Since(back), func() bool { _, ok := rec.firstAnswer(node); return ok })
	ret := chaosReturn{Node: node, Back: back.Sub(rec.t0), Traffic: -1}
	if first, answered := rec.firstAnswer(node); ok && answered {
		ret.Traffic = first.Sub(back).Seconds()
		rec.mark("node%d answers the session again (first answer %.2f s after it was back)", node, ret.Traffic)
	} else {
		rec.mark("node%d: no answer to the session %v after it was back", node, chaosTrafficWait)
	}
	sum.Returns = append(sum.Returns, ret)
	return ret.Traffic
}

// nodeOf returns the node number of a HostInfo (1..3), or 0.
func (c *chaosSuite) nodeOf(h HostInfo) int {
	for i, host := range c.env.Hosts {
		if h.Addr.Addr().String() == host {
			return i + 1
		}
	}
	return 0
}

func (c *chaosSuite) controlNode(s *Session) int {
	for _, h := range s.Hosts() {
		if h.Control {
			return c.nodeOf(h)
		}
	}
	return 0
}

// finish ends a scenario: stops the workload, restores the cluster, checks
// the session's view, computes the numbers and reads back every
// acknowledged write.
func (c *chaosSuite) finish(t *testing.T, sum *chaosSummary, rec *chaosRecorder, w *chaosWorkload, s *Session,
	faultAt, windowEnd time.Duration, pidsBefore map[int]string, touched ...int) {
	t.Helper()
	w.stop()
	end := rec.since()
	rec.mark("workload stopped")
	c.checkUntouched(t, sum, pidsBefore, touched...)
	if d, err := c.restore(t); err != nil {
		sum.fill(rec, faultAt, windowEnd, end)
		t.Fatalf("restoring the cluster: %v", err)
	} else {
		sum.note("cluster whole again (every node coordinates a write at ALL) %.1f s after the workload stopped", d.Seconds())
	}
	if s != nil {
		allUp := func() bool {
			hs := s.Hosts()
			for _, h := range hs {
				if !h.Up {
					return false
				}
			}
			return len(hs) == chaosNodes
		}
		if d, ok := waitFor3(30*time.Second, allUp); ok {
			if d > time.Second {
				sum.note("the session saw all 3 nodes up %.1f s after the cluster was whole", d.Seconds())
			}
		} else {
			sum.note("THE SESSION DOES NOT SEE ALL 3 NODES UP 30 s after the cluster was whole: %v", chaosHostStates(s))
			t.Errorf("%s: the session's hosts after the restore: %v", sum.Name, chaosHostStates(s))
		}
	}
	sum.fill(rec, faultAt, windowEnd, end)
	c.verify(t, sum, w)
}

func chaosHostStates(s *Session) string {
	var parts []string
	for _, h := range s.Hosts() {
		st := "down"
		if h.Up {
			st = "up"
		}
		parts = append(parts, h.Addr.String()+" "+st)
	}
	return strings.Join(parts, ", ")
}

// verify reads back every acknowledged write of the scenario at QUORUM,
// through a new Session (not the one the faults may have left in a bad
// state).
func (c *chaosSuite) verify(t *testing.T, sum *chaosSummary, w *chaosWorkload) {
	t.Helper()
	acked := w.ackedKeys()
	sum.Acked = len(acked)
	v := c.session(t, c.env.Addrs(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t0 := time.Now()
	lost, err := chaosVerify(ctx, v, w.table, acked, frame.Quorum)
	v.Close()
	sum.Lost, sum.LostKeys = len(lost), lost
	if err != nil {
		sum.VerifyNote = fmt.Sprintf("not finished: %v", err)
		t.Errorf("%s: reading back the acknowledged writes: %v", sum.Name, err)
		return
	}
	sum.Verified = true
	sum.VerifyNote = fmt.Sprintf("%d acknowledged writes read back at QUORUM in %.1f s, %d lost", len(acked),
		time.Since(t0).Seconds(), len(lost))
	if len(lost) > 0 {
		t.Errorf("%s: %d ACKNOWLEDGED WRITES LOST (of %d), e.g. keys %v", sum.Name, len(lost), len(acked), lost[:min(10, len(lost))])
	}
	if n := sum.Kinds[kindStale]; n > 0 {
		t.Errorf("%s: %d QUORUM reads did not see an acknowledged QUORUM write; first: %s", sum.Name, n, sum.FirstErr[kindStale])
	}
}

func TestChaos(t *testing.T) {
	env := requireChaos(t)
	rate := float64(chaosDefaultRate)
	if v := strings.TrimSpace(os.Getenv("CQLWIRE_CHAOS_RATE")); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			t.Fatalf("CQLWIRE_CHAOS_RATE=%q is not a rate in operations per second", v)
		}
		rate = f
	}
	c := &chaosSuite{env: env, rate: rate, keyspace: fmt.Sprintf("cqlwire_chaos_%d", time.Now().Unix())}
	tStart := time.Now()

	// The schema, through the driver (it waits for schema agreement).
	tSchema := time.Now()
	admin := c.session(t, env.Addrs()[:1], nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mustExecS(t, ctx, admin, "CREATE KEYSPACE "+c.keyspace+" WITH replication = {'class': 'NetworkTopologyStrategy', 'datacenter1': 3}")
	mustExecS(t, ctx, admin, "CREATE TABLE "+c.keyspace+".health (node int PRIMARY KEY, at timestamp)")
	tables := []string{"kv_a", "kv_b", "kv_c", "kv_d"}
	for _, tb := range tables {
		mustExecS(t, ctx, admin, "CREATE TABLE "+c.keyspace+"."+tb+" (k bigint PRIMARY KEY, v bigint)")
	}
	admin.Close()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("keyspace %s kept for investigation", c.keyspace)
			return
		}
		if _, err := devcluster(t, "cql", "1", "DROP KEYSPACE IF EXISTS "+c.keyspace); err != nil {
			t.Logf("dropping %s: %v", c.keyspace, err)
		}
	})
	t.Logf("keyspace %s and its tables created in %.1f s", c.keyspace, time.Since(tSchema).Seconds())
	if d, err := c.restore(t); err != nil {
		t.Fatalf("the cluster is not whole before the first scenario: %v", err)
	} else {
		t.Logf("the cluster is whole (every node coordinates a write at ALL): checked in %.1f s", d.Seconds())
	}

	scenarios := []struct {
		name string
		run  func(t *testing.T, c *chaosSuite, sum *chaosSummary, table string, keyBase int64)
	}{
		{"A_kill_node", chaosKillNode},
		{"B_freeze_node", chaosFreezeNode},
		{"C_rolling_restart", chaosRollingRestart},
		{"D_contact_point_down", chaosContactPointDown},
	}
	var sums []*chaosSummary
	for i, sc := range scenarios {
		sum := &chaosSummary{Name: sc.name}
		t.Run(sc.name, func(t *testing.T) {
			sums = append(sums, sum) // only the scenarios that run (-run may select some)
			t0 := time.Now()
			defer func() { sum.Wall = time.Since(t0) }()
			t.Cleanup(func() {
				if _, err := c.restore(t); err != nil {
					t.Errorf("cleanup: restoring the cluster: %v", err)
				}
			})
			sc.run(t, c, sum, c.keyspace+"."+tables[i], int64(i+1)<<40)
		})
	}

	header := fmt.Sprintf("cqlwire chaos suite, %s, Cassandra %s on %s, target rate %.0f op/s, total %.0f s",
		time.Now().UTC().Format(time.RFC3339), os.Getenv("CQLWIRE_CASSANDRA_VERSION"), strings.Join(env.Hosts, ","),
		rate, time.Since(tStart).Seconds())
	t.Log("\n" + chaosReport(sums, header, false))
	path := os.Getenv("CQLWIRE_CHAOS_REPORT")
	if path == "" {
		if root, err := repoRoot(); err == nil {
			path = filepath.Join(root, ".cache", "chaos", "report.txt")
		}
	}
	if path != "" {
		if err := writeChaosReport(path, chaosReport(sums, header, true), sums); err != nil {
			t.Errorf("writing the report: %v", err)
		} else {
			t.Logf("report with per-second timelines: %s (and %s)", path, jsonPath(path))
		}
	}
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "devcluster", "cluster.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("devcluster/cluster.sh not found above the working directory")
		}
		dir = parent
	}
}

func jsonPath(path string) string { return strings.TrimSuffix(path, filepath.Ext(path)) + ".json" }

func writeChaosReport(path, text string, sums []*chaosSummary) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(sums, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(jsonPath(path), js, 0o644)
}

// startChaos begins a scenario: recorder, session and workload, then the
// warm-up and the baseline. The workload is stopped when the test ends.
func (c *chaosSuite) startChaos(t *testing.T, table string, keyBase int64, contacts []string) (*chaosRecorder, *Session, *chaosWorkload, map[int]string) {
	t.Helper()
	pids := c.pids(t)
	rec, err := newChaosRecorder(c.env.Hosts)
	if err != nil {
		t.Fatal(err)
	}
	s := c.session(t, contacts, rec)
	w := newChaosWorkload(rec, table, keyBase, c.rate)
	if err := w.start(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.stop)
	rec.mark("workload started (session on %s, control connection on node%d)", strings.Join(contacts, ","), c.controlNode(s))
	time.Sleep(chaosWarmup + chaosBaseline)
	return rec, s, w, pids
}

// A: SIGKILL a node that is not the control connection's, start it again
// 20 s later, run until it serves the session again, then the tail.
func chaosKillNode(t *testing.T, c *chaosSuite, sum *chaosSummary, table string, keyBase int64) {
	rec, s, w, pids := c.startChaos(t, table, keyBase, c.env.Addrs()[:1])
	victim := 2
	if c.controlNode(s) == victim {
		victim = 3
	}
	faultAt := rec.mark("kill-node %d (SIGKILL)", victim)
	c.cluster(t, "kill-node", strconv.Itoa(victim))
	time.Sleep(20 * time.Second)
	rec.mark("start-node %d", victim)
	c.cluster(t, "start-node", strconv.Itoa(victim))
	back := nodeBack(rec, victim, "accepts CQL logins")
	waitTraffic(rec, sum, victim, back)
	windowEnd := rec.since() + 5*time.Second
	time.Sleep(chaosTail)
	c.finish(t, sum, rec, w, s, faultAt, windowEnd, pids, victim)
}

// B: SIGSTOP a node (not the control connection's) for 30 s: its sockets
// stay open but nothing answers; then SIGCONT.
func chaosFreezeNode(t *testing.T, c *chaosSuite, sum *chaosSummary, table string, keyBase int64) {
	rec, s, w, pids := c.startChaos(t, table, keyBase, c.env.Addrs()[:1])
	victim := 3
	if c.controlNode(s) == victim {
		victim = 2
	}
	faultAt := rec.mark("freeze-node %d (SIGSTOP)", victim)
	c.cluster(t, "freeze-node", strconv.Itoa(victim))
	time.Sleep(30 * time.Second)
	c.cluster(t, "thaw-node", strconv.Itoa(victim))
	back := nodeBack(rec, victim, "thawed (SIGCONT)")
	waitTraffic(rec, sum, victim, back)
	windowEnd := rec.since() + 5*time.Second
	time.Sleep(chaosTail)
	c.finish(t, sum, rec, w, s, faultAt, windowEnd, pids) // a frozen node keeps its pid
}

// C: a rolling restart, node 1 (the contact point and the control
// connection's node) first: stop-node (SIGTERM, a clean shutdown), start-node,
// then wait until the cluster is whole and the node serves the session
// before the next.
func chaosRollingRestart(t *testing.T, c *chaosSuite, sum *chaosSummary, table string, keyBase int64) {
	rec, s, w, pids := c.startChaos(t, table, keyBase, c.env.Addrs()[:1])
	var faultAt time.Duration
	for n := 1; n <= chaosNodes; n++ {
		at := rec.mark("stop-node %d (control connection on node%d)", n, c.controlNode(s))
		if n == 1 {
			faultAt = at
		}
		c.cluster(t, "stop-node", strconv.Itoa(n))
		rec.mark("node%d stopped; start-node %d", n, n)
		c.cluster(t, "start-node", strconv.Itoa(n))
		back := nodeBack(rec, n, "accepts CQL logins")
		if err := c.whole(t, 90*time.Second); err != nil {
			t.Fatal(err)
		}
		rec.mark("cluster whole (node%d)", n)
		waitTraffic(rec, sum, n, back)
	}
	windowEnd := rec.since() + 5*time.Second
	time.Sleep(chaosTail)
	c.finish(t, sum, rec, w, s, faultAt, windowEnd, pids, 1, 2, 3)
}

// D: the contact point (node 1) is killed and stays down; a new Session
// given node 1 and node 2 as contact points must connect and serve; then
// node 1 comes back and must serve that session too. The base rate comes
// from a first session (contact point node 1) that runs until the kill.
func chaosContactPointDown(t *testing.T, c *chaosSuite, sum *chaosSummary, table string, keyBase int64) {
	rec, first, w, pids := c.startChaos(t, table, keyBase, c.env.Addrs()[:1])
	w.stop()
	first.Close()
	faultAt := rec.mark("first session closed; kill-node 1 (SIGKILL)")
	c.cluster(t, "kill-node", "1")
	contacts := c.env.Addrs()[:2]
	tc := time.Now()
	rec.mark("connecting a new session to %s", strings.Join(contacts, ","))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	s, err := Connect(ctx, c.config(contacts, rec))
	cancel()
	if err != nil {
		rec.mark("Connect failed after %.1f s: %v", time.Since(tc).Seconds(), err)
		sum.fill(rec, faultAt, rec.since(), rec.since())
		t.Fatalf("with node 1 down, Connect(%v) failed after %v: %v", contacts, time.Since(tc), err)
	}
	t.Cleanup(func() { s.Close() })
	sum.note("with node 1 down, Connect(%s) took %.2f s", strings.Join(contacts, ","), time.Since(tc).Seconds())
	rec.mark("new session connected in %.2f s (control connection on node%d)", time.Since(tc).Seconds(), c.controlNode(s))
	if err := w.start(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	time.Sleep(15 * time.Second)
	rec.mark("start-node 1")
	c.cluster(t, "start-node", "1")
	back := nodeBack(rec, 1, "accepts CQL logins")
	waitTraffic(rec, sum, 1, back)
	windowEnd := rec.since() + 5*time.Second
	time.Sleep(chaosTail)
	c.finish(t, sum, rec, w, s, faultAt, windowEnd, pids, 1)
}
