package pool

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Strategy is a replication strategy class.
type Strategy uint8

const (
	// UnknownStrategy is a class this package does not implement (a
	// custom strategy): its keyspaces have no known replicas.
	UnknownStrategy Strategy = iota
	// SimpleStrategy: the owner of the token's range and the next
	// distinct hosts clockwise, Factor hosts in all.
	SimpleStrategy
	// NetworkTopologyStrategy: per data centre, DCs[dc] hosts, spread over
	// as many racks as possible.
	NetworkTopologyStrategy
	// LocalStrategy: the node's own data (system keyspaces); every node
	// is the one replica of its copy.
	LocalStrategy
	// EverywhereStrategy (DataStax Enterprise): every host.
	EverywhereStrategy
)

var strategyNames = [...]string{"UnknownStrategy", "SimpleStrategy", "NetworkTopologyStrategy", "LocalStrategy", "EverywhereStrategy"}

func (s Strategy) String() string {
	if int(s) < len(strategyNames) {
		return strategyNames[s]
	}
	return "Strategy(" + strconv.Itoa(int(s)) + ")"
}

// ReplicationFactor is a replication factor as Cassandra writes it: "3", or
// "3/1" with transient replication (3 replicas, 1 of them transient, so 2
// full ones).
type ReplicationFactor struct {
	All       int // every replica, full and transient
	Transient int
}

// Full is the number of full (non-transient) replicas.
func (f ReplicationFactor) Full() int { return f.All - f.Transient }

func (f ReplicationFactor) String() string {
	if f.Transient == 0 {
		return strconv.Itoa(f.All)
	}
	return strconv.Itoa(f.All) + "/" + strconv.Itoa(f.Transient)
}

// ParseReplicationFactor parses "3" or "3/1".
func ParseReplicationFactor(s string) (ReplicationFactor, error) {
	all, tr, hasTr := strings.Cut(strings.TrimSpace(s), "/")
	var f ReplicationFactor
	var err error
	if f.All, err = parseCount(all); err != nil {
		return ReplicationFactor{}, fmt.Errorf("pool: replication factor %q: %w", s, err)
	}
	if hasTr {
		if f.Transient, err = parseCount(tr); err != nil {
			return ReplicationFactor{}, fmt.Errorf("pool: replication factor %q: %w", s, err)
		}
		if f.Transient > 0 && f.Transient >= f.All {
			return ReplicationFactor{}, fmt.Errorf("pool: replication factor %q: transient replicas must be fewer than all replicas", s)
		}
	}
	return f, nil
}

func parseCount(s string) (int, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errors.New("not a non-negative integer")
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, errors.New("out of range")
	}
	return int(n), nil
}

// Replication is a keyspace's replication, from the replication map of
// system_schema.keyspaces.
//
// Transient replication ("3/1") is kept in the factors but does not change
// placement: the replicas of a range are the All hosts the strategy picks
// (Cassandra places full and transient replicas by the same walk), so
// token-aware routing may pick a transient replica among them.
type Replication struct {
	Strategy Strategy
	// Class is the class name as given, e.g.
	// "org.apache.cassandra.locator.NetworkTopologyStrategy".
	Class string
	// Factor is SimpleStrategy's replication_factor.
	Factor ReplicationFactor
	// DCs is NetworkTopologyStrategy's factor per data centre.
	DCs map[string]ReplicationFactor
}

// ErrUnknownStrategy is returned (wrapped) by ParseReplication for a class
// this package does not implement.
var ErrUnknownStrategy = errors.New("pool: unknown replication strategy")

// ParseReplication reads a replication map as system_schema.keyspaces holds
// it, e.g. {"class": "org.apache.cassandra.locator.SimpleStrategy",
// "replication_factor": "3"}. Class names may be short ("SimpleStrategy").
// For NetworkTopologyStrategy every option but "class" names a data centre,
// except "replication_factor", which Cassandra expands into one entry per
// data centre when the keyspace is created and which is ignored here.
// Options a strategy does not use are ignored.
//
// An unknown class returns a Replication with UnknownStrategy (usable: its
// keyspaces simply have no known replicas) and an error wrapping
// ErrUnknownStrategy.
func ParseReplication(options map[string]string) (Replication, error) {
	class, ok := options["class"]
	if !ok {
		return Replication{}, errors.New("pool: replication without a class")
	}
	r := Replication{Class: class}
	short := class
	if i := strings.LastIndexByte(class, '.'); i >= 0 {
		short = class[i+1:]
	}
	switch short {
	case "SimpleStrategy":
		r.Strategy = SimpleStrategy
		rf, ok := options["replication_factor"]
		if !ok {
			return Replication{}, errors.New("pool: SimpleStrategy without replication_factor")
		}
		f, err := ParseReplicationFactor(rf)
		if err != nil {
			return Replication{}, err
		}
		r.Factor = f
	case "NetworkTopologyStrategy":
		r.Strategy = NetworkTopologyStrategy
		r.DCs = make(map[string]ReplicationFactor, len(options)-1)
		for k, v := range options {
			if k == "class" || k == "replication_factor" {
				continue
			}
			f, err := ParseReplicationFactor(v)
			if err != nil {
				return Replication{}, fmt.Errorf("data centre %q: %w", k, err)
			}
			r.DCs[k] = f
		}
	case "LocalStrategy":
		r.Strategy = LocalStrategy
	case "EverywhereStrategy":
		r.Strategy = EverywhereStrategy
	default:
		return r, fmt.Errorf("%w %q", ErrUnknownStrategy, class)
	}
	return r, nil
}

// String is a readable form, e.g. "NetworkTopologyStrategy{dc1:3, dc2:2}".
func (r Replication) String() string {
	switch r.Strategy {
	case SimpleStrategy:
		return "SimpleStrategy{" + r.Factor.String() + "}"
	case NetworkTopologyStrategy:
		return "NetworkTopologyStrategy{" + r.dcList(":", ", ") + "}"
	case UnknownStrategy:
		return "UnknownStrategy{" + r.Class + "}"
	}
	return r.Strategy.String()
}

func (r Replication) dcList(eq, sep string) string {
	dcs := make([]string, 0, len(r.DCs))
	for dc := range r.DCs {
		dcs = append(dcs, dc)
	}
	slices.Sort(dcs)
	var b strings.Builder
	for i, dc := range dcs {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(dc)
		b.WriteString(eq)
		b.WriteString(strconv.Itoa(r.DCs[dc].All))
	}
	return b.String()
}

// placementKey is equal for replications that place replicas alike.
func (r Replication) placementKey() string {
	switch r.Strategy {
	case SimpleStrategy:
		return "S" + strconv.Itoa(r.Factor.All)
	case NetworkTopologyStrategy:
		// DC names may contain anything: quote them.
		dcs := make([]string, 0, len(r.DCs))
		for dc, f := range r.DCs {
			dcs = append(dcs, strconv.Quote(dc)+"="+strconv.Itoa(f.All))
		}
		slices.Sort(dcs)
		return "N" + strings.Join(dcs, ",")
	case LocalStrategy:
		return "L"
	case EverywhereStrategy:
		return "E"
	}
	return "?"
}

// place computes the replicas of every token range under rep.
func (r *Ring) place(rep Replication, local *Host) [][]*Host {
	n := len(r.tokens)
	if n == 0 {
		return nil
	}
	switch rep.Strategy {
	case SimpleStrategy:
		return r.placeSimple(rep.Factor.All)
	case NetworkTopologyStrategy:
		return r.placeNTS(rep.DCs)
	case LocalStrategy:
		if local == nil {
			return nil
		}
		one := []*Host{local}
		out := make([][]*Host, n)
		for i := range out {
			out[i] = one
		}
		return out
	case EverywhereStrategy:
		return r.placeEverywhere()
	}
	return nil
}

// placeSimple: walking clockwise from each token, the first rf distinct
// hosts.
func (r *Ring) placeSimple(rf int) [][]*Host {
	n, k := len(r.tokens), min(rf, len(r.hosts))
	if k <= 0 {
		return nil
	}
	out := make([][]*Host, n)
	backing := make([]*Host, n*k)
	mark := make([]int, len(r.hosts)) // walk number + 1 of the walk that took the host
	for i := range n {
		dst := backing[i*k : i*k : (i+1)*k]
		for step := 0; step < n && len(dst) < k; step++ {
			h := r.owners[(i+step)%n]
			if mark[h] != i+1 {
				mark[h] = i + 1
				dst = append(dst, r.hosts[h])
			}
		}
		out[i] = dst
	}
	return out
}

// placeEverywhere: every host, the range's owner first, then the others in
// the ring's host order (one rotation of the host list per owner).
func (r *Ring) placeEverywhere() [][]*Host {
	m := len(r.hosts)
	rot := make([][]*Host, m)
	backing := make([]*Host, m*m)
	for h := range m {
		dst := backing[h*m : h*m : (h+1)*m]
		dst = append(dst, r.hosts[h:]...)
		dst = append(dst, r.hosts[:h]...)
		rot[h] = dst
	}
	out := make([][]*Host, len(r.tokens))
	for i, h := range r.owners {
		out[i] = rot[h]
	}
	return out
}

// placeNTS follows Cassandra's NetworkTopologyStrategy: walk the ring
// clockwise from the token; a host of a data centre that still needs
// replicas is taken if its rack has not been used yet in that data centre,
// and otherwise remembered, in ring order, as skipped. When the last rack
// of the data centre has been used, the skipped hosts are taken, in the
// order they were met, up to the factor; from then on the walk takes every
// new host of the data centre. A data centre's factor is capped at its
// number of hosts, and data centres the ring does not have are ignored.
//
// This is the algorithm of Cassandra 3.x and of the Java driver. Cassandra
// 4.0 and later reach the same set of replicas with a different walk (a
// host of a used rack is taken at once while fewer than factor - racks
// such hosts have been), so the order of the non-primary replicas may
// differ from the server's internal order; the set, which is what decides
// where the data is, does not.
func (r *Ring) placeNTS(dcFactors map[string]ReplicationFactor) [][]*Host {
	n := len(r.tokens)
	want := make([]int, len(r.dcs))
	total, dcsWanted := 0, 0
	for d, name := range r.dcs {
		f, ok := dcFactors[name]
		if !ok || f.All <= 0 {
			continue
		}
		want[d] = min(f.All, int(r.dcHosts[d]))
		total += want[d]
		dcsWanted++
	}
	if total == 0 {
		return nil
	}

	// dist[d*n+j]: steps from token j to the next token (j itself
	// included) of a host of data centre d; only for wanted DCs.
	dist := make([]int32, len(r.dcs)*n)
	for d := range want {
		if want[d] == 0 {
			continue
		}
		next := -1 // index of the nearest DC d token at or after j, unwrapped
		for j := 2*n - 1; j >= 0; j-- {
			if r.hostDC[r.owners[j%n]] == int32(d) {
				next = j
			}
			if j < n {
				dist[d*n+j] = int32(next - j)
			}
		}
	}

	out := make([][]*Host, n)
	backing := make([]*Host, n*total)
	// Per-walk state, reset by bumping walk instead of clearing.
	taken := make([]int, len(r.hosts))     // == walk: host is a replica
	skippedAt := make([]int, len(r.hosts)) // == walk: host is in its DC's skipped list
	rackUsed := make([]int, r.racks)       // == walk: rack has a replica
	count := make([]int, len(r.dcs))
	racksSeen := make([]int32, len(r.dcs))
	skipped := make([][]int32, len(r.dcs))

	for i := range n {
		walk := i + 1
		dst := backing[i*total : i*total : (i+1)*total]
		for d := range count {
			count[d], racksSeen[d], skipped[d] = 0, 0, skipped[d][:0]
		}
		take := func(h int32) {
			if taken[h] != walk {
				taken[h] = walk
				dst = append(dst, r.hosts[h])
				count[r.hostDC[h]]++
			}
		}
		toFill := dcsWanted
		for pos, end := i, i+n; toFill > 0; pos++ {
			// Jump to the next token of a data centre that still needs
			// replicas: the others would be passed over anyway.
			at := pos % n
			jump := n
			for d, w := range want {
				if count[d] < w {
					jump = min(jump, int(dist[d*n+at]))
				}
			}
			if pos += jump; pos >= end {
				break
			}
			h := r.owners[pos%n]
			d := r.hostDC[h]
			if racksSeen[d] == r.dcRacks[d] {
				take(h)
			} else if rk := r.hostRack[h]; rackUsed[rk] == walk {
				if taken[h] != walk && skippedAt[h] != walk {
					skippedAt[h] = walk
					skipped[d] = append(skipped[d], h)
				}
			} else {
				rackUsed[rk] = walk
				racksSeen[d]++
				take(h)
				if racksSeen[d] == r.dcRacks[d] {
					for _, s := range skipped[d] {
						if count[d] >= want[d] {
							break
						}
						take(s)
					}
				}
			}
			if count[d] >= want[d] {
				toFill--
			}
		}
		out[i] = dst
	}
	return out
}
