package pool

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// policyCluster: two data centres of six hosts over three racks (two hosts
// per rack), 16 random tokens per host (fixed seed), keyspaces with NTS
// {dc1:3, dc2:3} and {dc1:3} and SimpleStrategy 2.
func policyCluster(t testing.TB) (*Snapshot, map[string]*Host) {
	t.Helper()
	rnd := rand.New(rand.NewPCG(5, 5))
	var hosts []th
	for _, dc := range []string{"dc1", "dc2"} {
		for i := range 6 {
			h := th{name: fmt.Sprintf("%s-%d", dc, i), dc: dc, rack: fmt.Sprintf("r%d", i%3)}
			for range 16 {
				h.tokens = append(h.tokens, int64(rnd.Uint64()))
			}
			hosts = append(hosts, h)
		}
	}
	r := testRing(t, hosts...)
	s := NewSnapshot(r, nil, map[string]Replication{
		"ks":     nts("dc1", 3, "dc2", 3),
		"ks1":    nts("dc1", 3),
		"simple": simple(2),
	})
	byName := map[string]*Host{}
	for _, h := range r.Hosts() {
		byName[hostName(h)] = h
	}
	return s, byName
}

func collect(q QueryPlan) []*Host {
	var out []*Host
	for h := q.Next(); h != nil; h = q.Next() {
		out = append(out, h)
	}
	return out
}

func downSet(hs map[string]*Host, down ...string) func(*Host) bool {
	d := map[*Host]bool{}
	for _, n := range down {
		d[hs[n]] = true
	}
	return func(h *Host) bool { return !d[h] }
}

// checkPlan checks the invariants of every plan: each host at most once,
// only up hosts.
func checkPlan(t *testing.T, plan []*Host, v *ClusterView) {
	t.Helper()
	seen := map[*Host]bool{}
	for _, h := range plan {
		if seen[h] {
			t.Fatalf("plan %s: %s twice", names(plan), hostName(h))
		}
		seen[h] = true
		if !v.IsUp(h) {
			t.Fatalf("plan %s: %s is down", names(plan), hostName(h))
		}
	}
}

func TestDCAwareRoundRobin(t *testing.T) {
	s, hs := policyCluster(t)
	cases := []struct {
		name   string
		opts   DCAwareOptions
		down   []string
		local  int            // local hosts expected first
		remote map[string]int // then hosts per remote DC
	}{
		{"local only", DCAwareOptions{Locality: Locality{Datacenter: "dc1"}}, nil, 6, nil},
		{"local down skipped", DCAwareOptions{Locality: Locality{Datacenter: "dc1"}}, []string{"dc1-0", "dc1-4"}, 4, nil},
		{"remote 2", DCAwareOptions{Locality: Locality{Datacenter: "dc1"}, RemoteHostsPerDC: 2}, nil, 6, map[string]int{"dc2": 2}},
		{"remote 2 some down", DCAwareOptions{Locality: Locality{Datacenter: "dc2"}, RemoteHostsPerDC: 2},
			[]string{"dc1-0", "dc1-1", "dc1-2", "dc1-3", "dc2-5"}, 5, map[string]int{"dc1": 2}},
		{"remote 2 one left", DCAwareOptions{Locality: Locality{Datacenter: "dc2"}, RemoteHostsPerDC: 2},
			[]string{"dc1-0", "dc1-1", "dc1-2", "dc1-3", "dc1-4"}, 6, map[string]int{"dc1": 1}},
		{"remote more than hosts", DCAwareOptions{Locality: Locality{Datacenter: "dc1"}, RemoteHostsPerDC: 10}, nil, 6, map[string]int{"dc2": 6}},
		{"all local down, remote", DCAwareOptions{Locality: Locality{Datacenter: "dc1"}, RemoteHostsPerDC: 1},
			[]string{"dc1-0", "dc1-1", "dc1-2", "dc1-3", "dc1-4", "dc1-5"}, 0, map[string]int{"dc2": 1}},
		{"unknown local DC", DCAwareOptions{Locality: Locality{Datacenter: "dcX"}, RemoteHostsPerDC: 1}, nil, 0, map[string]int{"dc1": 1, "dc2": 1}},
		{"no local DC: everything", DCAwareOptions{}, []string{"dc2-3"}, 11, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := NewClusterView(s, nil, downSet(hs, c.down...))
			p := NewDCAwareRoundRobin(c.opts)
			for range 20 { // several rotations
				plan := collect(p.Plan(RoutingInfo{}, v))
				checkPlan(t, plan, v)
				want := c.local
				for _, n := range c.remote {
					want += n
				}
				if len(plan) != want {
					t.Fatalf("plan %s: %d hosts, want %d", names(plan), len(plan), want)
				}
				for i, h := range plan[:c.local] {
					if c.opts.Datacenter != "" && h.Datacenter != c.opts.Datacenter {
						t.Fatalf("plan %s: host %d is not local", names(plan), i)
					}
				}
				got := map[string]int{}
				for _, h := range plan[c.local:] {
					got[h.Datacenter]++
				}
				for dc, n := range c.remote {
					if got[dc] != n {
						t.Fatalf("plan %s: %d hosts of %s, want %d", names(plan), got[dc], dc, n)
					}
				}
			}
		})
	}
}

func TestDCAwareRotates(t *testing.T) {
	s, _ := policyCluster(t)
	v := NewClusterView(s, nil, nil)
	p := NewDCAwareRoundRobin(DCAwareOptions{Locality: Locality{Datacenter: "dc1"}, RemoteHostsPerDC: 3})
	firsts := map[*Host]int{}
	remoteFirsts := map[*Host]int{}
	for range 60 {
		plan := collect(p.Plan(RoutingInfo{}, v))
		firsts[plan[0]]++
		remoteFirsts[plan[6]]++
	}
	if len(firsts) != 6 || len(remoteFirsts) != 6 {
		t.Fatalf("first hosts %d, first remote hosts %d, want 6 and 6", len(firsts), len(remoteFirsts))
	}
	for h, n := range firsts {
		if n != 10 {
			t.Errorf("%s first %d times of 60, want 10", hostName(h), n)
		}
	}
}

func TestDCAwareRackAware(t *testing.T) {
	s, hs := policyCluster(t)
	v := NewClusterView(s, nil, downSet(hs, "dc1-4")) // dc1-4 is in r1
	p := NewDCAwareRoundRobin(DCAwareOptions{Locality: Locality{Datacenter: "dc1", Rack: "r1"}})
	firsts := map[*Host]bool{}
	for range 10 {
		plan := collect(p.Plan(RoutingInfo{}, v))
		checkPlan(t, plan, v)
		if len(plan) != 5 || plan[0] != hs["dc1-1"] {
			t.Fatalf("plan %s: want dc1-1 (the only up host of r1) then 4 others", names(plan))
		}
		for _, h := range plan[1:] {
			if h.Rack == "r1" || h.Datacenter != "dc1" {
				t.Fatalf("plan %s: %s after the local rack", names(plan), hostName(h))
			}
		}
		firsts[plan[1]] = true
	}
	if len(firsts) < 2 {
		t.Errorf("the rest of the DC does not rotate: %d distinct", len(firsts))
	}
}

// upLocalReplicas is the expected replica prefix: the up replicas of key in
// dc, in ring order.
func upLocalReplicas(s *Snapshot, v *ClusterView, ks string, key []byte, dc string) []*Host {
	var out []*Host
	for _, h := range s.ReplicasOfKey(ks, key) {
		if (dc == "" || h.Datacenter == dc) && v.IsUp(h) {
			out = append(out, h)
		}
	}
	return out
}

func sameSet(a, b []*Host) bool {
	if len(a) != len(b) {
		return false
	}
	for _, h := range a {
		if !slices.Contains(b, h) {
			return false
		}
	}
	return true
}

func TestTokenAware(t *testing.T) {
	s, hs := policyCluster(t)
	cases := []struct {
		name     string
		ks       string
		down     []string
		inOrder  bool
		remote   int
		localDC  string
		byToken  bool
		planSize int
	}{
		{"nts shuffled", "ks", nil, false, 0, "dc1", false, 6},
		{"nts in order", "ks", nil, true, 0, "dc1", false, 6},
		{"nts by token", "ks", nil, true, 0, "dc1", true, 6},
		{"nts down", "ks", []string{"dc1-0", "dc1-2", "dc1-5"}, false, 0, "dc1", false, 3},
		{"nts remote", "ks", []string{"dc2-1"}, true, 2, "dc2", false, 7},
		{"local-only keyspace seen from dc2", "ks1", nil, true, 1, "dc2", false, 7},
		{"simple, no local DC", "simple", []string{"dc2-2"}, true, 0, "", false, 11},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := NewClusterView(s, nil, downSet(hs, c.down...))
			child := NewDCAwareRoundRobin(DCAwareOptions{Locality: Locality{Datacenter: c.localDC}, RemoteHostsPerDC: c.remote})
			p := NewTokenAware(child, TokenAwareOptions{InOrder: c.inOrder})
			for i := range 200 {
				key := fmt.Appendf(nil, "key-%d", i)
				req := RoutingInfo{Keyspace: c.ks, RoutingKey: key}
				if c.byToken {
					req = RoutingInfo{Keyspace: c.ks, Token: Murmur3Partitioner.Token(key)}
				}
				plan := collect(p.Plan(req, v))
				checkPlan(t, plan, v)
				if len(plan) != c.planSize {
					t.Fatalf("key %s: plan %s: %d hosts, want %d", key, names(plan), len(plan), c.planSize)
				}
				want := upLocalReplicas(s, v, c.ks, key, c.localDC)
				got := plan[:len(want)]
				if c.inOrder && !slices.Equal(got, want) {
					t.Fatalf("key %s: plan %s, want replicas %s first", key, names(plan), names(want))
				}
				if !sameSet(got, want) {
					t.Fatalf("key %s: plan %s, want replicas %s first (any order)", key, names(plan), names(want))
				}
				remote := false // local hosts before remote ones
				for _, h := range plan[len(want):] {
					if c.localDC != "" && h.Datacenter != c.localDC {
						remote = true
					} else if remote {
						t.Fatalf("key %s: plan %s: local host after a remote one", key, names(plan))
					}
				}
			}
		})
	}
}

func TestTokenAwareFallsBack(t *testing.T) {
	s, _ := policyCluster(t)
	v := NewClusterView(s, nil, nil)
	p := NewTokenAware(NewDCAwareRoundRobin(DCAwareOptions{Locality: Locality{Datacenter: "dc1"}}), TokenAwareOptions{})
	for _, req := range []RoutingInfo{
		{},
		{Keyspace: "ks"}, // no key
		{Keyspace: "nope", RoutingKey: []byte("k")},            // unknown keyspace
		{RoutingKey: []byte("k")},                              // no keyspace
		{Keyspace: "ks", Token: Murmur3Partitioner.MinToken()}, // fine, replicas exist
	} {
		plan := collect(p.Plan(req, v))
		checkPlan(t, plan, v)
		if len(plan) != 6 {
			t.Errorf("%+v: plan %s, want the 6 local hosts", req, names(plan))
		}
	}
	// No snapshot at all.
	v = NewClusterView(nil, s.Ring().Hosts(), nil)
	if plan := collect(p.Plan(RoutingInfo{Keyspace: "ks", RoutingKey: []byte("k")}, v)); len(plan) != 6 {
		t.Errorf("no snapshot: plan %s", names(plan))
	}
}

func TestTokenAwareShuffleSpreads(t *testing.T) {
	s, _ := policyCluster(t)
	v := NewClusterView(s, nil, nil)
	rnd := rand.New(rand.NewPCG(1, 2))
	p := NewTokenAware(NewDCAwareRoundRobin(DCAwareOptions{Locality: Locality{Datacenter: "dc1"}}),
		TokenAwareOptions{IntN: rnd.IntN})
	key := []byte("hot partition")
	reps := upLocalReplicas(s, v, "ks", key, "dc1")
	if len(reps) != 3 {
		t.Fatalf("replicas %s", names(reps))
	}
	const n = 3000
	firsts := map[*Host]int{}
	for range n {
		for h := range Hosts(p.Plan(RoutingInfo{Keyspace: "ks", RoutingKey: key}, v)) {
			firsts[h]++
			break
		}
	}
	for _, h := range reps {
		if c := firsts[h]; c < n/3-300 || c > n/3+300 {
			t.Errorf("replica %s first %d times of %d, want about %d", hostName(h), c, n, n/3)
		}
	}
	// In order: always the primary local replica.
	p = NewTokenAware(NewDCAwareRoundRobin(DCAwareOptions{Locality: Locality{Datacenter: "dc1"}}), TokenAwareOptions{InOrder: true})
	for range 10 {
		for h := range Hosts(p.Plan(RoutingInfo{Keyspace: "ks", RoutingKey: key}, v)) {
			if h != reps[0] {
				t.Fatalf("in order: first %s, want %s", hostName(h), hostName(reps[0]))
			}
			break
		}
	}
}

func TestTokenAwareRackAware(t *testing.T) {
	s, hs := policyCluster(t)
	for _, down := range [][]string{nil, {"dc1-0", "dc1-3"}} { // r0 of dc1 entirely down
		v := NewClusterView(s, nil, downSet(hs, down...))
		// The locality comes from the child.
		p := NewTokenAware(NewDCAwareRoundRobin(DCAwareOptions{Locality: Locality{Datacenter: "dc1", Rack: "r0"}}), TokenAwareOptions{})
		for i := range 100 {
			key := fmt.Appendf(nil, "key-%d", i)
			plan := collect(p.Plan(RoutingInfo{Keyspace: "ks", RoutingKey: key}, v))
			checkPlan(t, plan, v)
			want := upLocalReplicas(s, v, "ks", key, "dc1")
			var rack []*Host
			for _, h := range want {
				if h.Rack == "r0" {
					rack = append(rack, h)
				}
			}
			// NTS over three racks: one replica per rack.
			if len(rack) != 1-len(down)/2 {
				t.Fatalf("key %s: local rack replicas %s", key, names(rack))
			}
			if !slices.Equal(plan[:len(rack)], rack) || !sameSet(plan[:len(want)], want) {
				t.Fatalf("key %s: plan %s, want %s then the rest of %s", key, names(plan), names(rack), names(want))
			}
			// Then the child's plan: local rack first among the non-replicas.
			rest := plan[len(want):]
			for j, h := range rest {
				if h.Rack != "r0" && j+1 < len(rest) && rest[j+1].Rack == "r0" {
					t.Fatalf("key %s: plan %s: r0 host after another rack", key, names(plan))
				}
			}
		}
	}
}

// A user policy as child: the replicas are not repeated.
func TestTokenAwareCustomChild(t *testing.T) {
	s, _ := policyCluster(t)
	v := NewClusterView(s, nil, nil)
	allBackwards := PolicyFunc(func(_ RoutingInfo, v *ClusterView) QueryPlan {
		hs := slices.Clone(v.Hosts())
		slices.Reverse(hs)
		return (*SlicePlan)(&hs)
	})
	p := NewTokenAware(allBackwards, TokenAwareOptions{Locality: Locality{Datacenter: "dc2"}})
	key := []byte("k")
	plan := collect(p.Plan(RoutingInfo{Keyspace: "ks", RoutingKey: key}, v))
	checkPlan(t, plan, v)
	want := upLocalReplicas(s, v, "ks", key, "dc2")
	if len(plan) != 12 || !sameSet(plan[:3], want) {
		t.Fatalf("plan %s, want %s first, then the 9 others", names(plan), names(want))
	}
	// Stopping early stops the child.
	n := 0
	for range Hosts(p.Plan(RoutingInfo{Keyspace: "ks", RoutingKey: key}, v)) {
		if n++; n == 5 {
			break
		}
	}
}

func TestFilter(t *testing.T) {
	s, hs := policyCluster(t)
	v := NewClusterView(s, nil, downSet(hs, "dc1-1"))
	notR0 := func(h *Host) bool { return h.Rack != "r0" }
	p := Filter(NewTokenAware(NewDCAwareRoundRobin(DCAwareOptions{Locality: Locality{Datacenter: "dc1"}, RemoteHostsPerDC: 10}),
		TokenAwareOptions{InOrder: true}), notR0)
	for i := range 100 {
		key := fmt.Appendf(nil, "key-%d", i)
		plan := collect(p.Plan(RoutingInfo{Keyspace: "ks", RoutingKey: key}, v))
		checkPlan(t, plan, v)
		if len(plan) != 7 { // 12 - 4 in r0 - dc1-1 down
			t.Fatalf("plan %s: want 7 hosts", names(plan))
		}
		for _, h := range plan {
			if h.Rack == "r0" {
				t.Fatalf("plan %s: filtered host %s", names(plan), hostName(h))
			}
		}
		var want []*Host
		for _, h := range upLocalReplicas(s, v, "ks", key, "dc1") {
			if notR0(h) {
				want = append(want, h)
			}
		}
		if !slices.Equal(plan[:len(want)], want) {
			t.Fatalf("plan %s, want replicas %s first", names(plan), names(want))
		}
	}
	// The derived view is cached per view.
	req := RoutingInfo{Keyspace: "ks", RoutingKey: []byte("k")}
	if a := testing.AllocsPerRun(100, func() {
		sinkHost = p.Plan(req, v).Next()
	}); a > 1 {
		t.Errorf("filtered token-aware plan: %v allocs, want <= 1", a)
	}
}

var sinkHost *Host

func TestPolicyAllocs(t *testing.T) {
	s, _ := policyCluster(t)
	v := NewClusterView(s, nil, func(*Host) bool { return true })
	ta := NewTokenAware(NewDCAwareRoundRobin(DCAwareOptions{Locality: Locality{Datacenter: "dc1"}, RemoteHostsPerDC: 2}), TokenAwareOptions{})
	dca := NewDCAwareRoundRobin(DCAwareOptions{Locality: Locality{Datacenter: "dc1"}})
	req := RoutingInfo{Keyspace: "ks", RoutingKey: []byte("some key")}
	for _, c := range []struct {
		name string
		p    Policy
		all  bool
	}{{"token-aware first", ta, false}, {"token-aware whole plan", ta, true}, {"dc-aware first", dca, false}} {
		a := testing.AllocsPerRun(200, func() {
			q := c.p.Plan(req, v)
			sinkHost = q.Next()
			for c.all && sinkHost != nil {
				sinkHost = q.Next()
			}
		})
		if a > 1 {
			t.Errorf("%s: %v allocs per plan, want <= 1", c.name, a)
		}
	}
}

func TestPolicyConcurrent(t *testing.T) {
	s, _ := policyCluster(t)
	hosts := s.Ring().Hosts()
	var down [12]atomic.Bool
	idx := map[*Host]int{}
	for i, h := range hosts {
		idx[h] = i
	}
	v := NewClusterView(s, nil, func(h *Host) bool { return !down[idx[h]].Load() })
	p := Filter(NewTokenAware(NewDCAwareRoundRobin(DCAwareOptions{Locality: Locality{Datacenter: "dc1", Rack: "r2"}, RemoteHostsPerDC: 2}),
		TokenAwareOptions{}), func(h *Host) bool { return h.ID != hosts[0].ID })
	stop := make(chan struct{})
	var flipper sync.WaitGroup
	flipper.Go(func() {
		rnd := rand.New(rand.NewPCG(3, 3))
		for {
			select {
			case <-stop:
				return
			default:
			}
			i := rnd.IntN(len(down))
			down[i].Store(!down[i].Load())
		}
	})
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				seen := map[*Host]bool{}
				for h := range Hosts(p.Plan(RoutingInfo{Keyspace: "ks", RoutingKey: fmt.Appendf(nil, "%d-%d", g, i)}, v)) {
					if seen[h] || h == hosts[0] {
						errs <- fmt.Sprintf("plan repeats or yields filtered %s", hostName(h))
						return
					}
					seen[h] = true
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	flipper.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestClusterView(t *testing.T) {
	s, hs := policyCluster(t)
	extra := testHost("no-tokens", "dc3", "r9")
	v := NewClusterView(s, append(slices.Clone(s.Ring().Hosts()), extra, hs["dc1-0"]), nil)
	if len(v.Hosts()) != 13 {
		t.Errorf("hosts %d, want 13 (duplicate dropped)", len(v.Hosts()))
	}
	if got := v.Datacenters(); !slices.Equal(got, []string{"dc1", "dc2", "dc3"}) && !slices.Equal(got, []string{"dc2", "dc1", "dc3"}) {
		t.Errorf("datacenters %v", got)
	}
	if len(v.HostsIn("dc1")) != 6 || len(v.HostsInRack("dc2", "r1")) != 2 || v.HostsIn("nope") != nil || len(v.HostsInRack("dc3", "r9")) != 1 {
		t.Errorf("grouping wrong")
	}
	if !v.IsUp(extra) || v.Snapshot() != s {
		t.Errorf("accessors")
	}
	// A remote DC with a host without tokens is planned too.
	p := NewDCAwareRoundRobin(DCAwareOptions{Locality: Locality{Datacenter: "dc3"}, RemoteHostsPerDC: 1})
	if plan := collect(p.Plan(RoutingInfo{}, v)); len(plan) != 3 || plan[0] != extra {
		t.Errorf("plan %s", names(plan))
	}
}
