package pool

import (
	"fmt"
	"testing"
)

// BenchmarkPolicyPlan is the request path of load balancing on a 100-host
// ring (256 vnodes per host, two DCs of three racks): make a plan and take
// its first host, or drain it, then release it (plans that can be
// recycled are).
func BenchmarkPolicyPlan(b *testing.B) {
	r := benchRing(b, 100, 256)
	s := NewSnapshot(r, nil, map[string]Replication{"ks": nts("dc0", 3, "dc1", 3)})
	v := NewClusterView(s, nil, func(*Host) bool { return true })
	keys := make([][]byte, 1024)
	for i := range keys {
		keys[i] = []byte(fmt.Sprintf("user-%08d", i))
	}
	dca := func() *DCAwareRoundRobin {
		return NewDCAwareRoundRobin(DCAwareOptions{Locality: Locality{Datacenter: "dc0", Rack: "r1"}, RemoteHostsPerDC: 2})
	}
	for _, c := range []struct {
		name  string
		p     Policy
		drain bool
	}{
		{"TokenAware/first", NewTokenAware(dca(), TokenAwareOptions{}), false},
		{"TokenAwareInOrder/first", NewTokenAware(dca(), TokenAwareOptions{InOrder: true}), false},
		{"TokenAware/drain", NewTokenAware(dca(), TokenAwareOptions{}), true},
		{"DCAware/first", dca(), false},
		{"FilterTokenAware/first", Filter(NewTokenAware(dca(), TokenAwareOptions{}), func(h *Host) bool { return h.Rack != "r2" }), false},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				q := c.p.Plan(RoutingInfo{Keyspace: "ks", RoutingKey: keys[i&1023]}, v)
				i++
				h := q.Next()
				for c.drain && h != nil {
					h = q.Next()
				}
				sinkHost = h
				// As the session does once a request is over.
				if r, ok := q.(PlanReleaser); ok {
					r.Release()
				}
			}
		})
	}
}
