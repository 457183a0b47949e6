package cluster

import (
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/cqlwire/cqlwire/pool"
)

// twoDCs is the layout of the replica tests: three nodes in dc1 on two
// racks, one in dc2.
var twoDCs = []vnodeSpec{{"dc1", "r1"}, {"dc1", "r2"}, {"dc1", "r1"}, {"dc2", "r1"}}

// simpleReplicas is SimpleStrategy computed from the nodes' tokens, by
// the textbook rule and independently of package pool: the owner of the
// first token at or after the key's token, then the owners of the
// following tokens, skipping nodes already taken, rf in all.
func simpleReplicas(t *testing.T, nodes []*vnode, key []byte, rf int) []string {
	t.Helper()
	type tok struct {
		v int64
		n *vnode
	}
	var ring []tok
	for _, n := range nodes {
		for _, s := range n.tokens {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			ring = append(ring, tok{v, n})
		}
	}
	sort.Slice(ring, func(i, j int) bool { return ring[i].v < ring[j].v })
	p, _ := pool.PartitionerByName("org.apache.cassandra.dht.Murmur3Partitioner")
	kt, _ := p.Token(key).Int64()
	start := sort.Search(len(ring), func(i int) bool { return ring[i].v >= kt }) % len(ring)
	var out []string
	for i := 0; len(out) < rf && i < len(ring); i++ {
		if n := ring[(start+i)%len(ring)].n; !slices.Contains(out, n.id) {
			out = append(out, n.id)
		}
	}
	return out
}

func infoIDs(hs []HostInfo) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.ID().String()
	}
	return out
}

// TestSessionReplicas: Session.Replicas gives the replicas of a key in
// ring order, primary first, as SimpleStrategy and NetworkTopologyStrategy
// place them, each with what Hosts says of the node (remote data centre
// included); Prepared.RoutingKey gives the key of a statement's values.
// A fake cluster (see vnet_fake_test.go): the test places every token.
func TestSessionReplicas(t *testing.T) {
	v := startVnet(t, twoDCs...)
	v.keyspaces["nts"] = map[string]string{"class": "NetworkTopologyStrategy", "dc1": "2", "dc2": "1"}
	cfg := v.config()
	cfg.LocalDatacenter = "dc1"
	s := v.connect(t, cfg)
	ctx := testCtx(t)
	p, err := s.Prepare(ctx, "INSERT INTO t (id, v) VALUES (?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	primaries := map[string]bool{}
	for k := range int32(200) {
		key, err := p.RoutingKey(k, 7)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(key, intKey(k)) {
			t.Fatalf("RoutingKey(%d) = %x, want %x", k, key, intKey(k))
		}
		reps := s.Replicas("ks1", key)
		if got, want := infoIDs(reps), simpleReplicas(t, v.nodes, key, 2); !slices.Equal(got, want) {
			t.Fatalf("key %d: replicas %v, want %v", k, got, want)
		}
		primaries[reps[0].ID().String()] = true
		for _, h := range reps {
			n := v.byAddr(h.Addr.String())
			if n == nil || n.id != h.ID().String() || h.Datacenter() != n.dc || h.Rack() != n.rack || h.ReleaseVersion != "5.0.6" {
				t.Fatalf("key %d: replica %+v (%s/%s) does not describe its node", k, h, h.Datacenter(), h.Rack())
			}
			want := StateUp
			if n.dc == "dc2" {
				want = StateIgnored
			}
			if h.State != want || h.Up != (want == StateUp) {
				t.Fatalf("key %d: replica %s in %s is %v (up %v), want %v", k, h.Addr, n.dc, h.State, h.Up, want)
			}
		}
		snap := s.Watcher().Snapshot()
		tok := snap.Ring().Partitioner().Token(key)
		if byTok := s.ReplicasOfToken("ks1", tok); !slices.Equal(infoIDs(byTok), infoIDs(reps)) {
			t.Fatalf("key %d: ReplicasOfToken %v, Replicas %v", k, infoIDs(byTok), infoIDs(reps))
		}

		nts := s.Replicas("nts", key)
		var want []string
		for _, h := range snap.ReplicasOfKey("nts", key) {
			want = append(want, h.ID.String())
		}
		if got := infoIDs(nts); !slices.Equal(got, want) || len(got) != 3 {
			t.Fatalf("key %d: nts replicas %v, want the snapshot's %v", k, got, want)
		}
		dcs := map[string]int{}
		for _, h := range nts {
			dcs[h.Datacenter()]++
		}
		if dcs["dc1"] != 2 || dcs["dc2"] != 1 {
			t.Fatalf("key %d: nts replicas in %v, want 2 in dc1 and 1 in dc2", k, dcs)
		}
		if i := snap.Ring().Index(tok); nts[0].ID() != snap.Ring().Owner(i).ID {
			t.Fatalf("key %d: the first nts replica %s is not the owner of the token's range", k, nts[0].Addr)
		}
	}
	if len(primaries) != 4 {
		t.Errorf("only %d nodes were primary replicas of 200 keys: the tokens do not interleave", len(primaries))
	}

	key := intKey(42)
	for _, name := range []string{`"ks1"`, "KS1"} {
		if got, want := infoIDs(s.Replicas(name, key)), infoIDs(s.Replicas("ks1", key)); !slices.Equal(got, want) {
			t.Errorf("Replicas(%s) %v, want those of ks1 %v", name, got, want)
		}
	}
	if r := s.Replicas("nope", key); r != nil {
		t.Errorf("replicas of an unknown keyspace: %+v", r)
	}
	// A statement that binds no partition key column has no routing key.
	sel, err := s.Prepare(ctx, "SELECT v FROM t")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sel.RoutingKey(); err == nil {
		t.Error("RoutingKey of a statement that binds no partition key column succeeded")
	}
	if _, err := p.RoutingKey("not an int", 1); err == nil {
		t.Error("RoutingKey with a value of the wrong type succeeded")
	}
}

// TestSessionHostsMetadata: Hosts lists every node, remote data centre
// included, with host_id, data centre, rack, address, release version and
// state. A fake cluster: two data centres on one machine.
func TestSessionHostsMetadata(t *testing.T) {
	v := startVnet(t, twoDCs...)
	cfg := v.config()
	cfg.LocalDatacenter = "dc1"
	s := v.connect(t, cfg)
	hosts := s.Hosts()
	if len(hosts) != 4 {
		t.Fatalf("Hosts lists %d nodes, want all 4 (dc2's too): %+v", len(hosts), hosts)
	}
	controls := 0
	for i, h := range hosts {
		n := v.node(i) // sorted by address: A, B, C, D
		want := StateUp
		if n.dc == "dc2" {
			want = StateIgnored
		}
		if h.ID().String() != n.id || h.Datacenter() != n.dc || h.Rack() != n.rack || h.Addr.String() != v.addrOf(n) ||
			h.ReleaseVersion != "5.0.6" || h.State != want || len(h.Tokens) != vnodeTokens {
			t.Errorf("host %d: %+v (%s/%s, %v), want node %s %s/%s at %s, %v", i, h, h.Datacenter(), h.Rack(), h.State,
				n.id, n.dc, n.rack, v.addrOf(n), want)
		}
		if h.Control {
			controls++
		}
	}
	if controls != 1 {
		t.Errorf("%d control nodes", controls)
	}
	if got := (HostInfo{}).ID(); got != (pool.HostID{}) {
		t.Error("the zero HostInfo has an id")
	}
	for st, want := range map[HostState]string{StateUp: "up", StateIgnored: "ignored", StateConnecting: "connecting", HostState(99): "HostState(99)"} {
		if st.String() != want {
			t.Errorf("%d.String() = %q, want %q", st, st.String(), want)
		}
	}
	s.Close()
	if h := s.Hosts(); len(h) != 0 {
		t.Errorf("after Close, Hosts lists %d nodes", len(h))
	}
}
