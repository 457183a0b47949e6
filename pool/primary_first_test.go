package pool

import (
	"fmt"
	"slices"
	"testing"
)

// localReplicas returns the replicas of key in dc, in ring order.
func localReplicas(s *Snapshot, keyspace, dc string, key []byte) []*Host {
	var out []*Host
	for _, h := range s.ReplicasOfKey(keyspace, key) {
		if h.Datacenter == dc {
			out = append(out, h)
		}
	}
	return out
}

// TestTokenAwarePrimaryFirst: a request with PrimaryFirst gets the local
// replicas in ring order, primary first, whatever the shuffle, the local
// rack and the load say (the primary being the busiest); without it, the
// same policy shuffles them.
func TestTokenAwarePrimaryFirst(t *testing.T) {
	s, hs := policyCluster(t)
	for _, loc := range []Locality{{Datacenter: "dc1"}, {Datacenter: "dc1", Rack: "r1"}} {
		t.Run(fmt.Sprintf("rack=%q", loc.Rack), func(t *testing.T) {
			p := NewTokenAware(NewDCAwareRoundRobin(DCAwareOptions{Locality: loc}), TokenAwareOptions{})
			shuffled := 0
			for k := range 100 {
				key := fmt.Appendf(nil, "key-%d", k)
				want := localReplicas(s, "ks", "dc1", key)
				if len(want) != 3 {
					t.Fatalf("key %d: %d local replicas", k, len(want))
				}
				v := NewClusterView(s, nil, nil).WithLoad(loadOf(hs, map[string]int{hostName(want[0]): 100}))
				req := RoutingInfo{Keyspace: "ks", RoutingKey: key, PrimaryFirst: true}
				plan := collect(p.Plan(req, v))
				checkPlan(t, plan, v)
				if !slices.Equal(plan[:3], want) {
					t.Fatalf("key %d: plan starts %s, want the ring order %s", k, names(plan[:3]), names(want))
				}
				if len(plan) != 6 {
					t.Errorf("key %d: plan %s, want the 3 other dc1 hosts after the replicas", k, names(plan))
				}
				req.PrimaryFirst = false
				if other := collect(p.Plan(req, v)); !slices.Equal(other[:3], want) {
					shuffled++
				}
			}
			if shuffled == 0 {
				t.Error("without PrimaryFirst the replicas were never reordered: the test proves nothing")
			}
		})
	}
}

// TestTokenAwarePrimaryFirstSuspectLast: with PrimaryFirst a suspect
// replica still goes after the healthy ones (which keep their ring order),
// and a down one is left out.
func TestTokenAwarePrimaryFirstSuspectLast(t *testing.T) {
	s, hs := policyCluster(t)
	p := NewTokenAware(NewDCAwareRoundRobin(DCAwareOptions{Locality: Locality{Datacenter: "dc1"}}), TokenAwareOptions{})
	for k := range 30 {
		key := fmt.Appendf(nil, "key-%d", k)
		reps := localReplicas(s, "ks1", "dc1", key)
		req := RoutingInfo{Keyspace: "ks1", RoutingKey: key, PrimaryFirst: true}

		v := NewClusterView(s, nil, nil).WithLoad(loadOf(hs, nil, hostName(reps[0])))
		plan := collect(p.Plan(req, v))
		if want := []*Host{reps[1], reps[2], reps[0]}; !slices.Equal(plan[:3], want) {
			t.Fatalf("key %d, primary suspect: plan starts %s, want %s", k, names(plan[:3]), names(want))
		}

		v = NewClusterView(s, nil, downSet(hs, hostName(reps[1])))
		plan = collect(p.Plan(req, v))
		checkPlan(t, plan, v)
		if want := []*Host{reps[0], reps[2]}; !slices.Equal(plan[:2], want) {
			t.Fatalf("key %d, second replica down: plan starts %s, want %s", k, names(plan[:2]), names(want))
		}
	}
}
