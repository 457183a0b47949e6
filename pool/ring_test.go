package pool

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// th describes a test host: its name (also its id), location and tokens.
type th struct {
	name, dc, rack string
	tokens         []int64
}

func testHost(name, dc, rack string) *Host {
	h := &Host{Datacenter: dc, Rack: rack}
	copy(h.ID[:], name)
	return h
}

func hostName(h *Host) string { return string(bytes.TrimRight(h.ID[:], "\x00")) }

func names(hs []*Host) string {
	s := make([]string, len(hs))
	for i, h := range hs {
		s[i] = hostName(h)
	}
	return strings.Join(s, " ")
}

func testRing(t testing.TB, hosts ...th) *Ring {
	t.Helper()
	owners := make([]TokenOwner, len(hosts))
	for i, h := range hosts {
		owners[i].Host = testHost(h.name, h.dc, h.rack)
		for _, tok := range h.tokens {
			owners[i].Tokens = append(owners[i].Tokens, strconv.FormatInt(tok, 10))
		}
	}
	r, err := NewRing(Murmur3Partitioner, owners)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// placementCase: the replicas (by name) expected for a token.
type placementCase struct {
	token int64
	want  string
}

func checkPlacement(t *testing.T, r *Ring, rep Replication, cases []placementCase) {
	t.Helper()
	s := NewSnapshot(r, nil, map[string]Replication{"ks": rep})
	for _, c := range cases {
		if got := names(s.Replicas("ks", Murmur3(c.token))); got != c.want {
			t.Errorf("%v token %d: replicas %q, want %q", rep, c.token, got, c.want)
		}
	}
}

func simple(rf int) Replication {
	return Replication{Strategy: SimpleStrategy, Factor: ReplicationFactor{All: rf}}
}

func nts(dcs ...any) Replication {
	r := Replication{Strategy: NetworkTopologyStrategy, DCs: map[string]ReplicationFactor{}}
	for i := 0; i < len(dcs); i += 2 {
		r.DCs[dcs[i].(string)] = ReplicationFactor{All: dcs[i+1].(int)}
	}
	return r
}

func TestRingLookup(t *testing.T) {
	r := testRing(t,
		th{"A", "dc1", "r1", []int64{0, 40}},
		th{"B", "dc1", "r1", []int64{10}},
		th{"C", "dc1", "r1", []int64{20}},
		th{"D", "dc1", "r1", []int64{30}})
	if r.Len() != 5 || names(r.Hosts()) != "A B C D" {
		t.Fatalf("ring of %d tokens, hosts %s", r.Len(), names(r.Hosts()))
	}
	// A token belongs to the range (previous token, token]; after the
	// last token the ring wraps.
	for tok, want := range map[int64]string{-100: "A", 0: "A", 1: "B", 10: "B", 11: "C", 35: "A", 40: "A", 41: "A", 1 << 62: "A"} {
		i := r.Index(Murmur3(tok))
		if got := hostName(r.Owner(i)); got != want {
			t.Errorf("owner of %d: %s, want %s", tok, got, want)
		}
	}
	if r.Index(RandomPartitioner.MinToken()) != -1 {
		t.Error("a RandomPartitioner token found a place on a Murmur3 ring")
	}
	empty, err := NewRing(Murmur3Partitioner, nil)
	if err != nil || empty.Index(Murmur3(0)) != -1 {
		t.Errorf("empty ring: %v", err)
	}
	if got := NewSnapshot(empty, nil, map[string]Replication{"ks": simple(3)}).Replicas("ks", Murmur3(0)); got != nil {
		t.Errorf("empty ring replicas %v", got)
	}
}

func TestHostIDString(t *testing.T) {
	id := HostID{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	if got := id.String(); got != "12345678-9abc-def0-0123-456789abcdef" {
		t.Errorf("HostID.String() = %s", got)
	}
}

func TestNewRingErrors(t *testing.T) {
	a := testHost("A", "dc1", "r1")
	if _, err := NewRing(Murmur3Partitioner, []TokenOwner{{Host: a, Tokens: []string{"1"}}, {Host: a, Tokens: []string{"2"}}}); err == nil {
		t.Error("a host twice accepted")
	}
	if _, err := NewRing(Murmur3Partitioner, []TokenOwner{{Host: a, Tokens: []string{"x"}}}); err == nil {
		t.Error("bad token accepted")
	}
	if _, err := NewRing(Murmur3Partitioner, []TokenOwner{{Tokens: []string{"1"}}}); err == nil {
		t.Error("nil host accepted")
	}
	if _, err := NewRing(nil, nil); err == nil {
		t.Error("nil partitioner accepted")
	}
	// A token claimed twice goes to the lower host id, whatever the order.
	b := testHost("B", "dc1", "r1")
	for _, owners := range [][]TokenOwner{
		{{Host: a, Tokens: []string{"5"}}, {Host: b, Tokens: []string{"5", "9"}}},
		{{Host: b, Tokens: []string{"5", "9"}}, {Host: a, Tokens: []string{"5"}}},
	} {
		r, err := NewRing(Murmur3Partitioner, owners)
		if err != nil || r.Len() != 2 || r.Owner(0) != a || r.Owner(1) != b {
			t.Errorf("duplicate token: %v", err)
		}
	}
	// A host without tokens is not in the ring.
	r, _ := NewRing(Murmur3Partitioner, []TokenOwner{{Host: a}, {Host: b, Tokens: []string{"1"}}})
	if names(r.Hosts()) != "B" {
		t.Errorf("hosts %s", names(r.Hosts()))
	}
}

func TestSimpleStrategy(t *testing.T) {
	r := testRing(t,
		th{"A", "dc1", "r1", []int64{0, 40}},
		th{"B", "dc2", "r1", []int64{10}},
		th{"C", "dc1", "r2", []int64{20}},
		th{"D", "dc3", "r1", []int64{30}})
	checkPlacement(t, r, simple(3), []placementCase{
		{5, "B C D"},
		{10, "B C D"},
		{25, "D A B"}, // D, A at 40, A again at 0 (skipped), B
		{35, "A B C"},
		{45, "A B C"}, // wraps
		{-5, "A B C"},
	})
	checkPlacement(t, r, simple(1), []placementCase{{15, "C"}, {31, "A"}})
	checkPlacement(t, r, simple(10), []placementCase{{15, "C D A B"}}) // capped at the host count
	checkPlacement(t, r, simple(0), []placementCase{{15, ""}})
}

// Expected lists below are worked out by hand from Cassandra's algorithm;
// see placeNTS.
func TestNTSOneDCThreeRacks(t *testing.T) {
	r := testRing(t,
		th{"a1", "dc1", "r1", []int64{0}},
		th{"a2", "dc1", "r1", []int64{10}},
		th{"b1", "dc1", "r2", []int64{20}},
		th{"a3", "dc1", "r1", []int64{30}},
		th{"c1", "dc1", "r3", []int64{40}},
		th{"b2", "dc1", "r2", []int64{50}})
	checkPlacement(t, r, nts("dc1", 3), []placementCase{
		{0, "a1 b1 c1"},  // a2, a3 skipped (r1 used); all racks used when c1 is taken
		{10, "a2 b1 c1"}, // a3 skipped
		{30, "a3 c1 b2"},
		{50, "b2 a1 c1"}, // a2, b1, a3 skipped
	})
	// More racks than the factor: one host per rack, never a repeat.
	checkPlacement(t, r, nts("dc1", 2), []placementCase{{0, "a1 b1"}, {30, "a3 c1"}, {50, "b2 a1"}})
	// Factor above the host count: every host, racks first, then the
	// skipped hosts in ring order, then the rest.
	checkPlacement(t, r, nts("dc1", 9), []placementCase{{0, "a1 b1 c1 a2 a3 b2"}})
}

func TestNTSFewerRacksThanFactor(t *testing.T) {
	r := testRing(t,
		th{"a1", "dc1", "r1", []int64{0}},
		th{"a2", "dc1", "r1", []int64{10}},
		th{"a3", "dc1", "r1", []int64{20}},
		th{"b1", "dc1", "r2", []int64{30}},
		th{"b2", "dc1", "r2", []int64{40}})
	checkPlacement(t, r, nts("dc1", 3), []placementCase{
		{0, "a1 b1 a2"},  // a2, a3 skipped; after b1 (the last rack) the first skipped, a2, fills the factor
		{20, "a3 b1 b2"}, // after b1 every rack is used: b2 is taken as met
		{30, "b1 a1 b2"}, // b2 skipped; a1 uses the last rack; b2 from the skipped list
		{40, "b2 a1 a2"}, // nothing skipped; after a1 all racks are used and a2 is next
	})
}

func TestNTSUnevenRacksTwoDCsAndVnodes(t *testing.T) {
	// dc1: rack r1 has x1, x2; rack r2 has y1. dc2: one host z1 in a rack
	// also named r1 (racks are per data centre). dc3 is not in the ring.
	r := testRing(t,
		th{"x1", "dc1", "r1", []int64{0, 30}},
		th{"z1", "dc2", "r1", []int64{10, 50}},
		th{"x2", "dc1", "r1", []int64{20, 60}},
		th{"y1", "dc1", "r2", []int64{40}})
	rep := nts("dc1", 3, "dc2", 2, "dc3", 3)
	checkPlacement(t, r, rep, []placementCase{
		// x1; z1 fills dc2 (2 capped at its 1 host); x2 skipped (r1 used);
		// x1 at 30 is already a replica; y1 uses r2, the last rack, so the
		// skipped x2 completes dc1.
		{0, "x1 z1 y1 x2"},
		// x2; x1 skipped; y1, then x1 from the skipped list: dc1 is
		// full; the walk goes on for dc2 and finds z1 at 50.
		{20, "x2 y1 x1 z1"},
		{45, "z1 x2 y1 x1"},
		{65, "x1 z1 y1 x2"}, // wraps to 0
	})
	checkPlacement(t, r, nts("dc2", 1), []placementCase{{0, "z1"}, {15, "z1"}})
	checkPlacement(t, r, nts("dc9", 3), []placementCase{{0, ""}})
	checkPlacement(t, r, nts("dc1", 0, "dc2", 1), []placementCase{{0, "z1"}})
}

func TestLocalAndEverywhereStrategy(t *testing.T) {
	r := testRing(t,
		th{"A", "dc1", "r1", []int64{0, 40}},
		th{"B", "dc1", "r1", []int64{10}},
		th{"C", "dc2", "r1", []int64{20}})
	local := testHost("L", "dc1", "r1")
	s := NewSnapshot(r, local, map[string]Replication{
		"system":   {Strategy: LocalStrategy},
		"dse":      {Strategy: EverywhereStrategy},
		"custom":   {Strategy: UnknownStrategy, Class: "com.example.MyStrategy"},
		"simple":   simple(2),
		"simple_2": simple(2),
	})
	if got := s.Replicas("system", Murmur3(5)); len(got) != 1 || got[0] != local {
		t.Errorf("LocalStrategy replicas %s", names(got))
	}
	for tok, want := range map[int64]string{5: "B C A", 15: "C A B", 30: "A B C"} {
		if got := names(s.Replicas("dse", Murmur3(tok))); got != want {
			t.Errorf("EverywhereStrategy token %d: %s, want %s", tok, got, want)
		}
	}
	if got := s.Replicas("custom", Murmur3(5)); got != nil {
		t.Errorf("unknown strategy: %s", names(got))
	}
	if got := s.Replicas("nope", Murmur3(5)); got != nil {
		t.Errorf("unknown keyspace: %s", names(got))
	}
	if s.keyspaces["simple"] != s.keyspaces["simple_2"] {
		t.Error("keyspaces with the same replication do not share replica lists")
	}
	if NewSnapshot(r, nil, map[string]Replication{"system": {Strategy: LocalStrategy}}).Replicas("system", Murmur3(0)) != nil {
		t.Error("LocalStrategy without a local host has replicas")
	}
	// WithKeyspaces keeps placements that did not change.
	s2 := s.WithKeyspaces(map[string]Replication{"simple": simple(2), "other": simple(1)})
	if s2.keyspaces["simple"] != s.keyspaces["simple"] || s2.Replicas("system", Murmur3(0)) != nil {
		t.Error("WithKeyspaces")
	}
	if rep, ok := s2.Replication("other"); !ok || rep.Factor.All != 1 {
		t.Errorf("Replication(other) = %v, %v", rep, ok)
	}
	if got := names(s2.ReplicasOfKey("other", []byte("k"))); got != names(s2.Replicas("other", Murmur3Partitioner.Token([]byte("k")))) {
		t.Errorf("ReplicasOfKey: %s", got)
	}
}

func TestReplicasAreCapacityLimited(t *testing.T) {
	r := testRing(t, th{"A", "dc1", "r1", []int64{0}}, th{"B", "dc1", "r1", []int64{10}}, th{"C", "dc1", "r1", []int64{20}})
	s := NewSnapshot(r, nil, map[string]Replication{"ks": simple(2)})
	got := s.Replicas("ks", Murmur3(0))
	_ = append(got, testHost("X", "", ""))
	if names(s.Replicas("ks", Murmur3(5))) != "B C" {
		t.Error("appending to one replica list changed another")
	}
}

// ntsModern is the replica choice of Cassandra 4.0 and later
// (NetworkTopologyStrategy with acceptable rack repeats), written
// independently to cross-check the set placeNTS computes.
func ntsModern(r *Ring, i int, dcs map[string]ReplicationFactor) map[*Host]bool {
	type dcState struct{ left, repeats int }
	state := map[string]*dcState{}
	for dc, f := range dcs {
		nodes, racks := 0, map[string]bool{}
		for _, h := range r.hosts {
			if h.Datacenter == dc {
				nodes++
				racks[h.Rack] = true
			}
		}
		if f.All > 0 && nodes > 0 {
			state[dc] = &dcState{left: min(f.All, nodes), repeats: f.All - len(racks)}
		}
	}
	out := map[*Host]bool{}
	seenRack := map[[2]string]bool{}
	for step := 0; step < len(r.tokens); step++ {
		h := r.Owner((i + step) % len(r.tokens))
		st := state[h.Datacenter]
		if st == nil || st.left == 0 || out[h] {
			continue
		}
		loc := [2]string{h.Datacenter, h.Rack}
		if !seenRack[loc] {
			seenRack[loc] = true
			out[h] = true
			st.left--
		} else if st.repeats > 0 {
			out[h] = true
			st.repeats--
			st.left--
		}
	}
	return out
}

func randomRing(t testing.TB, rnd *rand.Rand, hosts, vnodes int, dcs []string, racksPerDC int) *Ring {
	var ths []th
	for h := range hosts {
		dc := dcs[rnd.IntN(len(dcs))]
		rack := "r" + strconv.Itoa(rnd.IntN(racksPerDC))
		toks := make([]int64, vnodes)
		for j := range toks {
			toks[j] = int64(rnd.Uint64())
		}
		ths = append(ths, th{fmt.Sprintf("h%d", h), dc, rack, toks})
	}
	return testRing(t, ths...)
}

// TestNTSRandomRings checks properties of placeNTS on random rings: the
// set matches Cassandra 4+'s algorithm, the primary replica comes first,
// hosts are distinct, and each DC has min(factor, hosts) replicas.
func TestNTSRandomRings(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 7))
	for iter := range 60 {
		r := randomRing(t, rnd, 2+rnd.IntN(12), 1+rnd.IntN(8), []string{"dc1", "dc2", "dc3"}[:1+rnd.IntN(3)], 1+rnd.IntN(4))
		rep := nts("dc1", rnd.IntN(5), "dc2", rnd.IntN(5), "dc3", rnd.IntN(5))
		s := NewSnapshot(r, nil, map[string]Replication{"ks": rep})
		for i := range r.Len() {
			got := s.Replicas("ks", r.Token(i))
			want := ntsModern(r, i, rep.DCs)
			perDC := map[string]int{}
			seen := map[*Host]bool{}
			for _, h := range got {
				if seen[h] {
					t.Fatalf("iteration %d: %s twice in %s", iter, hostName(h), names(got))
				}
				seen[h] = true
				perDC[h.Datacenter]++
			}
			if len(want) != len(got) || !func() bool {
				for h := range want {
					if !seen[h] {
						return false
					}
				}
				return true
			}() {
				t.Fatalf("iteration %d token %d: replicas %s, Cassandra 4+ gives %d hosts", iter, i, names(got), len(want))
			}
			if owner := r.Owner(i); rep.DCs[owner.Datacenter].All > 0 && got[0] != owner {
				t.Fatalf("iteration %d: primary %s, owner %s", iter, hostName(got[0]), hostName(owner))
			}
			for dc, f := range rep.DCs {
				n := 0
				for _, h := range r.Hosts() {
					if h.Datacenter == dc {
						n++
					}
				}
				if perDC[dc] != min(f.All, n) {
					t.Fatalf("iteration %d: %d replicas in %s, want min(%d, %d)", iter, perDC[dc], dc, f.All, n)
				}
			}
		}
	}
}

func TestParseReplication(t *testing.T) {
	for _, c := range []struct {
		in   map[string]string
		want string
		err  bool
	}{
		{map[string]string{"class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "3"}, "SimpleStrategy{3}", false},
		{map[string]string{"class": "SimpleStrategy", "replication_factor": "2"}, "SimpleStrategy{2}", false},
		{map[string]string{"class": "SimpleStrategy", "replication_factor": "3/1"}, "SimpleStrategy{3/1}", false},
		{map[string]string{"class": "org.apache.cassandra.locator.NetworkTopologyStrategy", "dc1": "3", "dc2": "2"}, "NetworkTopologyStrategy{dc1:3, dc2:2}", false},
		{map[string]string{"class": "NetworkTopologyStrategy", "dc1": "5/2", "replication_factor": "3"}, "NetworkTopologyStrategy{dc1:5}", false},
		{map[string]string{"class": "org.apache.cassandra.locator.LocalStrategy"}, "LocalStrategy", false},
		{map[string]string{"class": "org.apache.cassandra.locator.EverywhereStrategy"}, "EverywhereStrategy", false},
		{map[string]string{"class": "com.example.Custom"}, "UnknownStrategy{com.example.Custom}", true},
		{map[string]string{"replication_factor": "3"}, "", true},
		{map[string]string{"class": "SimpleStrategy"}, "", true},
		{map[string]string{"class": "SimpleStrategy", "replication_factor": "x"}, "", true},
		{map[string]string{"class": "NetworkTopologyStrategy", "dc1": "-1"}, "", true},
		{map[string]string{"class": "NetworkTopologyStrategy", "dc1": "3/3"}, "", true},
	} {
		rep, err := ParseReplication(c.in)
		if (err != nil) != c.err || (c.want != "" && rep.String() != c.want) {
			t.Errorf("ParseReplication(%v) = %v, %v; want %s (error %v)", c.in, rep, err, c.want, c.err)
		}
	}
	if _, err := ParseReplication(map[string]string{"class": "x.Y"}); !errors.Is(err, ErrUnknownStrategy) {
		t.Errorf("unknown class error %v", err)
	}
	f, err := ParseReplicationFactor("3/1")
	if err != nil || f.All != 3 || f.Transient != 1 || f.Full() != 2 {
		t.Errorf("3/1: %+v, %v", f, err)
	}
	if f, err := ParseReplicationFactor("0"); err != nil || f.All != 0 {
		t.Errorf("0: %+v, %v", f, err)
	}
	if _, err := ParseReplicationFactor("99999999999"); err == nil {
		t.Error("huge factor accepted")
	}
	// Same placement, same key: transient counts and DC order do not matter.
	a, _ := ParseReplication(map[string]string{"class": "NetworkTopologyStrategy", "dc1": "3", "dc2": "2/1"})
	b, _ := ParseReplication(map[string]string{"class": "org.apache.cassandra.locator.NetworkTopologyStrategy", "dc2": "2", "dc1": "3"})
	if a.placementKey() != b.placementKey() || a.placementKey() == simple(3).placementKey() {
		t.Errorf("placement keys %q %q", a.placementKey(), b.placementKey())
	}
	if !slices.Equal([]string{SimpleStrategy.String(), Strategy(99).String()}, []string{"SimpleStrategy", "Strategy(99)"}) {
		t.Error("Strategy.String")
	}
}
