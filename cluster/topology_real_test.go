package cluster

// Integration tests against a multi-data-centre devcluster layout, e.g.
//
//	devcluster/cluster.sh start --layout dc1:2,dc2:1
//	eval "$(devcluster/cluster.sh env)"
//	go test -count=1 -run TestTopology ./cluster
//
// They read CQLWIRE_LAYOUT / CQLWIRE_DCS (printed by cluster.sh env for a
// layout) and skip unless the layout has at least two data centres; under
// CQLWIRE_REQUIRE_LAYOUT=1 they fail instead.

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testenv"
	"github.com/cqlwire/cqlwire/query"
)

// dcLayout is the number of nodes per data centre, in layout order.
type dcLayout struct {
	names []string
	nodes map[string]int
}

// parseDCs reads CQLWIRE_DCS ("dc1:2,dc2:1").
func parseDCs(s string) (dcLayout, error) {
	l := dcLayout{nodes: map[string]int{}}
	for _, entry := range strings.Split(s, ",") {
		name, count, ok := strings.Cut(strings.TrimSpace(entry), ":")
		n, err := strconv.Atoi(count)
		if !ok || name == "" || err != nil || n < 1 {
			return dcLayout{}, fmt.Errorf("CQLWIRE_DCS entry %q is not DC:COUNT", entry)
		}
		l.names = append(l.names, name)
		l.nodes[name] = n
	}
	return l, nil
}

// requireMultiDC returns the cluster's settings and layout, or skips (fails
// under CQLWIRE_REQUIRE_LAYOUT=1) unless a layout of two or more data
// centres runs.
func requireMultiDC(t *testing.T) (testenv.Env, dcLayout) {
	t.Helper()
	required := false
	switch strings.ToLower(strings.TrimSpace(os.Getenv("CQLWIRE_REQUIRE_LAYOUT"))) {
	case "1", "true", "yes", "on":
		required = true
	}
	fail := func(msg string) {
		msg += " (start one: devcluster/cluster.sh start --layout dc1:2,dc2:1; eval \"$(devcluster/cluster.sh env)\")"
		if required {
			t.Fatal(msg + " [CQLWIRE_REQUIRE_LAYOUT=1]")
		}
		t.Skip(msg)
	}
	dcs := os.Getenv("CQLWIRE_DCS")
	if os.Getenv("CQLWIRE_LAYOUT") == "" || dcs == "" {
		fail("no multi-DC layout: CQLWIRE_LAYOUT / CQLWIRE_DCS are not set")
	}
	l, err := parseDCs(dcs)
	if err != nil {
		fail(err.Error())
	}
	if len(l.names) < 2 {
		fail("the layout has one data centre (CQLWIRE_DCS=" + dcs + ")")
	}
	_, err = testenv.Lookup()
	if err != nil {
		fail("the layout's nodes are not configured: " + err.Error())
	}
	return testenv.Require(t), l
}

// attemptCounter counts the attempts per host address (without port).
type attemptCounter struct {
	mu     sync.Mutex
	byHost map[string]int
}

func (c *attemptCounter) AttemptStart(a query.Attempt) {
	host := a.Host
	if h, _, err := net.SplitHostPort(a.Host); err == nil {
		host = h
	}
	c.mu.Lock()
	c.byHost[host]++
	c.mu.Unlock()
}

func (c *attemptCounter) AttemptEnd(query.Attempt, query.AttemptResult) {}

func (c *attemptCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.byHost))
	for h, n := range c.byHost {
		out[h] = n
	}
	return out
}

// TestTopologyTwoDCLocalRouting: with LocalDatacenter set to the first data
// centre, every attempt of DDL, writes at LOCAL_QUORUM and reads at
// LOCAL_ONE (prepared and not) goes to a node of that data centre while all
// its nodes are up; and Session.Replicas agrees with the server's
// `nodetool getendpoints` for 50 keys of a NetworkTopologyStrategy keyspace
// replicated in every data centre.
func TestTopologyTwoDCLocalRouting(t *testing.T) {
	env, layout := requireMultiDC(t)
	local := layout.names[0]
	counter := &attemptCounter{byHost: map[string]int{}}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s, err := Connect(ctx, Config{
		ContactPoints:   env.Addrs(),
		LocalDatacenter: local,
		Username:        env.Username,
		Password:        auth.Secret(env.Password),
		DefaultProfile:  query.Profile{RequestTimeout: 30 * time.Second},
		Observer:        counter,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	dcOf := map[string]string{} // address -> data centre
	for _, h := range s.Hosts() {
		dcOf[h.Addr.Addr().String()] = h.Host.Datacenter
	}
	for _, dc := range layout.names {
		n := 0
		for _, d := range dcOf {
			if d == dc {
				n++
			}
		}
		if n != layout.nodes[dc] {
			t.Fatalf("Session.Hosts: %d node(s) in %s, the layout says %d (hosts: %v)", n, dc, layout.nodes[dc], dcOf)
		}
	}

	// RF per DC: its node count, at most 2 locally (so LOCAL_QUORUM needs
	// both local replicas of {dc1: 2, dc2: 1}) and 3 elsewhere.
	var repl []string
	for i, dc := range layout.names {
		rf := min(layout.nodes[dc], 3)
		if i == 0 {
			rf = min(layout.nodes[dc], 2)
		}
		repl = append(repl, fmt.Sprintf("'%s': %d", dc, rf))
	}
	const ks, table = "cqlwire_topology", "kv"
	for _, stmt := range []string{
		"DROP KEYSPACE IF EXISTS " + ks,
		"CREATE KEYSPACE " + ks + " WITH replication = {'class': 'NetworkTopologyStrategy', " + strings.Join(repl, ", ") + "}",
		"CREATE TABLE " + ks + "." + table + " (k int PRIMARY KEY, v int)",
	} {
		if err := s.Query(stmt).Exec(ctx); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = s.Query("DROP KEYSPACE IF EXISTS " + ks).Exec(ctx)
	}()

	ins, err := s.Prepare(ctx, "INSERT INTO "+ks+"."+table+" (k, v) VALUES (?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	sel, err := s.Prepare(ctx, "SELECT v FROM "+ks+"."+table+" WHERE k = ?")
	if err != nil {
		t.Fatal(err)
	}
	const keys = 50
	for k := 0; k < keys; k++ {
		if err := ins.Bind(k, k*10).Consistency(frame.LocalQuorum).Exec(ctx); err != nil {
			t.Fatalf("INSERT k=%d at LOCAL_QUORUM: %v", k, err)
		}
	}
	for k := 0; k < keys; k++ {
		var v int
		if err := sel.Bind(k).Consistency(frame.LocalOne).One(ctx, &v); err != nil {
			t.Fatalf("prepared SELECT k=%d at LOCAL_ONE: %v", k, err)
		}
		if v != k*10 {
			t.Fatalf("prepared SELECT k=%d: v=%d, want %d", k, v, k*10)
		}
		if err := s.Query("SELECT v FROM "+ks+"."+table+" WHERE k = ?", k).Consistency(frame.LocalQuorum).One(ctx, &v); err != nil {
			t.Fatalf("SELECT k=%d at LOCAL_QUORUM: %v", k, err)
		}
	}

	attempts := counter.snapshot()
	localAttempts := 0
	for host, n := range attempts {
		dc, known := dcOf[host]
		switch {
		case !known:
			t.Errorf("%d attempt(s) on %s, which is not in Session.Hosts", n, host)
		case dc != local:
			t.Errorf("%d attempt(s) on %s in %s, with LocalDatacenter %s and every local node up", n, host, dc, local)
		default:
			localAttempts += n
		}
	}
	t.Logf("attempts per node: %v (local DC %s: %d)", attempts, local, localAttempts)
	if localAttempts < 3*keys {
		t.Errorf("only %d attempts counted on %s, want at least %d", localAttempts, local, 3*keys)
	}

	// Replicas against the server's view, `nodetool getendpoints`.
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2) // each nodetool is a JVM: two at once on 2 cores
	for k := 0; k < keys; k++ {
		rk, err := ins.RoutingKey(k, 0)
		if err != nil {
			t.Fatalf("RoutingKey(%d): %v", k, err)
		}
		var got []string
		for _, h := range s.Replicas(ks, rk) {
			got = append(got, h.Addr.Addr().String())
		}
		wg.Add(1)
		go func(k int, got []string) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out, err := devcluster(t, "nodetool", "1", "getendpoints", ks, table, strconv.Itoa(k))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("nodetool getendpoints %s %s %d: %v", ks, table, k, err)
				return
			}
			var want []string
			for _, line := range strings.Split(out, "\n") {
				if a, err := netip.ParseAddr(strings.TrimSpace(line)); err == nil {
					want = append(want, a.String())
				}
			}
			slices.Sort(want)
			sorted := slices.Sorted(slices.Values(got))
			if len(want) == 0 || !slices.Equal(sorted, want) {
				t.Errorf("k=%d: Session.Replicas %v, nodetool getendpoints %v", k, got, want)
			}
		}(k, got)
	}
	wg.Wait()
}
