package pool

import (
	"fmt"
	"slices"
	"testing"
)

// loadOf returns a load function marking the named hosts suspect and
// giving the others the in-flight counts of inFlight.
func loadOf(hs map[string]*Host, inFlight map[string]int, suspect ...string) func(*Host) Load {
	sus := map[*Host]bool{}
	for _, n := range suspect {
		sus[hs[n]] = true
	}
	flights := map[*Host]int{}
	for n, f := range inFlight {
		flights[hs[n]] = f
	}
	return func(h *Host) Load { return Load{InFlight: flights[h], Suspect: sus[h]} }
}

// TestTokenAwareSuspectReplicaLast: a suspect replica (up, but not
// answering) comes after the healthy ones, whatever the shuffle.
func TestTokenAwareSuspectReplicaLast(t *testing.T) {
	s, hs := policyCluster(t)
	base := NewClusterView(s, nil, nil)
	p := NewTokenAware(NewDCAwareRoundRobin(DCAwareOptions{Locality: Locality{Datacenter: "dc1"}}), TokenAwareOptions{})
	for k := range 50 {
		req := RoutingInfo{Keyspace: "ks1", RoutingKey: fmt.Appendf(nil, "key-%d", k)}
		reps := s.ReplicasOfKey("ks1", req.RoutingKey)
		if len(reps) != 3 {
			t.Fatalf("%d replicas", len(reps))
		}
		bad := hostName(reps[k%3])
		v := base.WithLoad(loadOf(hs, nil, bad))
		plan := collect(p.Plan(req, v))
		checkPlan(t, plan, v)
		if len(plan) < 3 || hostName(plan[2]) != bad || !slices.Contains(reps, plan[0]) || !slices.Contains(reps, plan[1]) {
			t.Fatalf("key %d: plan %s, want the suspect replica %s third, after the two healthy replicas", k, names(plan), bad)
		}
	}
}

// TestTokenAwareLessBusyFirst: of two healthy replicas, the one with fewer
// requests in flight is tried first.
func TestTokenAwareLessBusyFirst(t *testing.T) {
	s, hs := policyCluster(t)
	p := NewTokenAware(NewDCAwareRoundRobin(DCAwareOptions{Locality: Locality{Datacenter: "dc1"}}), TokenAwareOptions{})
	busyFirst := 0
	for k := range 200 {
		req := RoutingInfo{Keyspace: "ks1", RoutingKey: fmt.Appendf(nil, "key-%d", k)}
		reps := s.ReplicasOfKey("ks1", req.RoutingKey)
		busy := hostName(reps[0])
		v := NewClusterView(s, nil, nil).WithLoad(loadOf(hs, map[string]int{busy: 100}))
		if plan := collect(p.Plan(req, v)); hostName(plan[0]) == busy {
			busyFirst++
		}
	}
	// The busy replica can only come first from the first two places, where
	// it is compared with an idle one and loses.
	if busyFirst != 0 {
		t.Errorf("the busy replica came first in %d of 200 plans", busyFirst)
	}
}

// TestDCAwareSuspectHostLast: the round robin returns a suspect local host
// after the other local hosts, but before the remote data centres.
func TestDCAwareSuspectHostLast(t *testing.T) {
	s, hs := policyCluster(t)
	p := NewDCAwareRoundRobin(DCAwareOptions{Locality: Locality{Datacenter: "dc1"}, RemoteHostsPerDC: 2})
	v := NewClusterView(s, nil, nil).WithLoad(loadOf(hs, nil, "dc1-2"))
	for range 12 {
		plan := collect(p.Plan(RoutingInfo{}, v))
		checkPlan(t, plan, v)
		if len(plan) != 8 || hostName(plan[5]) != "dc1-2" || plan[6].Datacenter != "dc2" {
			t.Fatalf("plan %s: want 5 healthy dc1 hosts, then dc1-2, then 2 of dc2", names(plan))
		}
	}
}
