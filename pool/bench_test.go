package pool

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
)

var sinkToken int64

func BenchmarkMurmur3Token16(b *testing.B) {
	key := []byte("0123456789\x80\x81\x82\x83\xfe\xff")
	b.ReportAllocs()
	b.SetBytes(int64(len(key)))
	for b.Loop() {
		sinkToken += Murmur3Token(key)
	}
}

func BenchmarkMurmur3Token37(b *testing.B) { // two blocks and a tail
	key := []byte("a composite key of thirty-seven bytes")
	b.ReportAllocs()
	b.SetBytes(int64(len(key)))
	for b.Loop() {
		sinkToken += Murmur3Token(key)
	}
}

// benchRing is hosts hosts with vnodes random tokens each, spread over two
// data centres of three racks.
func benchRing(b testing.TB, hosts, vnodes int) *Ring {
	rnd := rand.New(rand.NewPCG(uint64(hosts), uint64(vnodes)))
	owners := make([]TokenOwner, hosts)
	for i := range owners {
		owners[i].Host = testHost(fmt.Sprintf("h%d", i), "dc"+strconv.Itoa(i%2), "r"+strconv.Itoa(i/2%3))
		owners[i].Tokens = make([]string, vnodes)
		for j := range owners[i].Tokens {
			owners[i].Tokens[j] = strconv.FormatInt(int64(rnd.Uint64()), 10)
		}
	}
	r, err := NewRing(Murmur3Partitioner, owners)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkReplicas is the request path: token of a routing key, then its
// replicas, with 256 vnodes per host.
func BenchmarkReplicas(b *testing.B) {
	for _, hosts := range []int{3, 100, 256} {
		r := benchRing(b, hosts, 256)
		s := NewSnapshot(r, nil, map[string]Replication{
			"nts":    nts("dc0", 3, "dc1", 3),
			"simple": simple(3),
		})
		keys := make([][]byte, 1024)
		for i := range keys {
			keys[i] = []byte(fmt.Sprintf("user-%08d", i))
		}
		for _, ks := range []string{"nts", "simple"} {
			b.Run(fmt.Sprintf("hosts=%d/%s", hosts, ks), func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					reps := s.Replicas(ks, Murmur3Partitioner.Token(keys[i&1023]))
					if len(reps) == 0 {
						b.Fatal("no replicas")
					}
					i++
				}
			})
		}
	}
}

// BenchmarkNewSnapshot is the cost of a topology change: building the
// ring and the NetworkTopologyStrategy replicas of every token range.
func BenchmarkNewSnapshot(b *testing.B) {
	for _, hosts := range []int{3, 100, 256} {
		b.Run(fmt.Sprintf("hosts=%d", hosts), func(b *testing.B) {
			r := benchRing(b, hosts, 256)
			b.ReportAllocs()
			for b.Loop() {
				NewSnapshot(r, nil, map[string]Replication{"nts": nts("dc0", 3, "dc1", 3), "simple": simple(3)})
			}
		})
	}
}

// BenchmarkNewSnapshotLonelyDC: 255 hosts of 256 vnodes in dc0 and one
// host with a single token in dc1, the case where a walk from every token
// would cross most of the ring to find dc1.
func BenchmarkNewSnapshotLonelyDC(b *testing.B) {
	r := benchRing(b, 255, 256)
	owners := make([]TokenOwner, 0, 256)
	for _, h := range r.Hosts() {
		o := TokenOwner{Host: &Host{ID: h.ID, Datacenter: "dc0", Rack: h.Rack}}
		for i := range r.Len() {
			if r.Owner(i) == h {
				o.Tokens = append(o.Tokens, r.Token(i).String())
			}
		}
		owners = append(owners, o)
	}
	owners = append(owners, TokenOwner{Host: testHost("lonely", "dc1", "r0"), Tokens: []string{"12345"}})
	r, err := NewRing(Murmur3Partitioner, owners)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s := NewSnapshot(r, nil, map[string]Replication{"nts": nts("dc0", 3, "dc1", 1)})
		if len(s.Replicas("nts", Murmur3(0))) != 4 {
			b.Fatal("want 4 replicas")
		}
	}
}

func TestHotPathDoesNotAllocate(t *testing.T) {
	r := benchRing(t, 20, 16)
	s := NewSnapshot(r, nil, map[string]Replication{"ks": nts("dc0", 3, "dc1", 2)})
	key := []byte("0123456789\x80\x81\x82\x83\xfe\xff")
	if n := testing.AllocsPerRun(200, func() {
		if len(s.Replicas("ks", Murmur3Partitioner.Token(key))) != 5 {
			t.Fatal("want 5 replicas")
		}
		_ = s.ReplicasOfKey("ks", key)
		sinkToken += Murmur3Token(key)
		_ = RandomPartitioner.Token(key)
	}); n != 0 {
		t.Errorf("the lookup allocates %v times", n)
	}
}
