package pool

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
)

// HostID is a node's host_id (a UUID), the identity a host keeps when its
// address changes.
type HostID [16]byte

// String formats the id as a UUID.
func (id HostID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], id[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], id[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], id[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], id[8:10])
	b[23] = '-'
	hex.Encode(b[24:], id[10:16])
	return string(b[:])
}

// Host is a node as the ring sees it: its identity and location. The
// topology code owns Host values and hands the ring pointers to them; the
// ring and its snapshots never modify a Host, and return the same pointers
// from Replicas, so that the caller can find its per-host state from them.
// The fields must not change while a ring refers to the Host (a host that
// moves to another rack is a new Host value in a new ring).
type Host struct {
	ID         HostID
	Datacenter string
	Rack       string
}

// TokenOwner is one host and the tokens it owns, as system.local and
// system.peers report them in their tokens column.
type TokenOwner struct {
	Host   *Host
	Tokens []string
}

// Ring is an immutable token ring: every token of the cluster, sorted, with
// the host that owns the range ending at it. Build it with NewRing once per
// topology change; all methods are safe for concurrent use.
type Ring struct {
	p      Partitioner
	kind   tokenKind
	tokens []Token
	owners []int32 // index into hosts, per token

	hosts    []*Host // distinct owners, in the order of their lowest token
	hostDC   []int32 // index into dcs, per host
	hostRack []int32 // rack index (unique across data centres), per host
	dcs      []string
	dcHosts  []int32 // hosts per data centre
	dcRacks  []int32 // distinct racks per data centre
	racks    int     // distinct (data centre, rack) pairs
}

// NewRing builds a ring from the tokens of each host. Hosts without tokens
// are not part of the ring (they own no data). Two owners with the same
// host id are an error, as is a token the partitioner cannot parse. A token
// claimed by two hosts (as can happen for a moment while a node replaces
// another) goes to the host with the lower id, so that the result does not
// depend on the order of owners.
func NewRing(p Partitioner, owners []TokenOwner) (*Ring, error) {
	if p == nil {
		return nil, errors.New("pool: NewRing without a partitioner")
	}
	type entry struct {
		tok  Token
		host *Host
	}
	var entries []entry
	ids := make(map[HostID]bool, len(owners))
	for _, o := range owners {
		if o.Host == nil {
			return nil, errors.New("pool: NewRing: a TokenOwner without a Host")
		}
		if ids[o.Host.ID] {
			return nil, fmt.Errorf("pool: NewRing: host %s appears twice", o.Host.ID)
		}
		ids[o.Host.ID] = true
		for _, s := range o.Tokens {
			t, err := p.ParseToken(s)
			if err != nil {
				return nil, fmt.Errorf("pool: NewRing: host %s: %w", o.Host.ID, err)
			}
			entries = append(entries, entry{t, o.Host})
		}
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if c := a.tok.Compare(b.tok); c != 0 {
			return c
		}
		return slices.Compare(a.host.ID[:], b.host.ID[:])
	})
	entries = slices.CompactFunc(entries, func(a, b entry) bool { return a.tok == b.tok })

	r := &Ring{p: p, kind: p.MinToken().kind,
		tokens: make([]Token, len(entries)), owners: make([]int32, len(entries))}
	hostIndex := make(map[*Host]int32)
	dcIndex := make(map[string]int32)
	type dcRack struct{ dc, rack string }
	rackIndex := make(map[dcRack]int32)
	for i, e := range entries {
		r.tokens[i] = e.tok
		h, ok := hostIndex[e.host]
		if !ok {
			h = int32(len(r.hosts))
			hostIndex[e.host] = h
			r.hosts = append(r.hosts, e.host)
			dc, ok := dcIndex[e.host.Datacenter]
			if !ok {
				dc = int32(len(r.dcs))
				dcIndex[e.host.Datacenter] = dc
				r.dcs = append(r.dcs, e.host.Datacenter)
				r.dcHosts = append(r.dcHosts, 0)
				r.dcRacks = append(r.dcRacks, 0)
			}
			r.dcHosts[dc]++
			rk, ok := rackIndex[dcRack{e.host.Datacenter, e.host.Rack}]
			if !ok {
				rk = int32(r.racks)
				r.racks++
				rackIndex[dcRack{e.host.Datacenter, e.host.Rack}] = rk
				r.dcRacks[dc]++
			}
			r.hostDC = append(r.hostDC, dc)
			r.hostRack = append(r.hostRack, rk)
		}
		r.owners[i] = h
	}
	return r, nil
}

// Partitioner returns the ring's partitioner.
func (r *Ring) Partitioner() Partitioner { return r.p }

// Len returns the number of tokens.
func (r *Ring) Len() int { return len(r.tokens) }

// Token returns the i-th token in ring order, 0 <= i < Len().
func (r *Ring) Token(i int) Token { return r.tokens[i] }

// Owner returns the host of the i-th token, 0 <= i < Len(): the primary
// replica of the range that ends at that token.
func (r *Ring) Owner(i int) *Host { return r.hosts[r.owners[i]] }

// Hosts returns the distinct hosts of the ring, in the order of their
// lowest token. The slice is shared: do not modify it.
func (r *Ring) Hosts() []*Host { return r.hosts[:len(r.hosts):len(r.hosts)] }

// Index returns the index of the token whose range holds t: the first ring
// token >= t, wrapping to 0 after the last. It returns -1 when the ring is
// empty or t belongs to another partitioner.
func (r *Ring) Index(t Token) int {
	if len(r.tokens) == 0 || t.kind != r.kind {
		return -1
	}
	return r.search(t)
}

func (r *Ring) search(t Token) int {
	lo, hi := 0, len(r.tokens)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if r.tokens[m].less(t) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(r.tokens) {
		return 0
	}
	return lo
}

// Snapshot is a ring with the replica lists of every keyspace, computed
// once. It is immutable and safe for concurrent use; Replicas takes no lock
// and allocates nothing.
type Snapshot struct {
	ring      *Ring
	local     *Host
	keyspaces map[string]*placement
	reps      map[string]Replication
}

// placement is the replicas of every token range under one replication.
type placement struct {
	key      string
	replicas [][]*Host // per ring token index; nil: no replica known
}

// NewSnapshot computes the replicas of every keyspace of keyspaces on ring.
// Keyspaces with the same placement (e.g. the same NetworkTopologyStrategy
// options) share one set of replica lists. local is the host that
// LocalStrategy keyspaces resolve to (every node holds its own data of such
// a keyspace, e.g. the control connection's node); nil gives them no
// replicas, so that a load balancer spreads their requests.
func NewSnapshot(ring *Ring, local *Host, keyspaces map[string]Replication) *Snapshot {
	return buildSnapshot(ring, local, keyspaces, nil)
}

// WithKeyspaces returns a snapshot of the same ring and local host for a new
// set of keyspaces (after a schema change), reusing the replica lists of s
// for placements that did not change.
func (s *Snapshot) WithKeyspaces(keyspaces map[string]Replication) *Snapshot {
	return buildSnapshot(s.ring, s.local, keyspaces, s)
}

func buildSnapshot(ring *Ring, local *Host, keyspaces map[string]Replication, prev *Snapshot) *Snapshot {
	s := &Snapshot{ring: ring, local: local,
		keyspaces: make(map[string]*placement, len(keyspaces)),
		reps:      make(map[string]Replication, len(keyspaces))}
	byKey := map[string]*placement{}
	if prev != nil {
		for _, p := range prev.keyspaces {
			byKey[p.key] = p
		}
	}
	for name, rep := range keyspaces {
		k := rep.placementKey()
		p := byKey[k]
		if p == nil {
			p = &placement{key: k, replicas: ring.place(rep, local)}
			byKey[k] = p
		}
		s.keyspaces[name] = p
		s.reps[name] = rep
	}
	return s
}

// Ring returns the snapshot's ring.
func (s *Snapshot) Ring() *Ring { return s.ring }

// Replication returns the replication of a keyspace, and whether the
// snapshot knows the keyspace.
func (s *Snapshot) Replication(keyspace string) (Replication, bool) {
	r, ok := s.reps[keyspace]
	return r, ok
}

// Replicas returns the hosts that hold token t of keyspace, the primary
// replica (the owner of t's range) first, then in the order Cassandra's
// replication strategy picks them. It returns nil for an unknown keyspace,
// a strategy this package does not know, an empty ring or a token of
// another partitioner. The slice is shared by every caller: do not modify
// it.
func (s *Snapshot) Replicas(keyspace string, t Token) []*Host {
	p := s.keyspaces[keyspace]
	if p == nil || p.replicas == nil {
		return nil
	}
	i := s.ring.Index(t)
	if i < 0 {
		return nil
	}
	return p.replicas[i]
}

// ReplicasOfKey is Replicas of the token of a routing key (see
// AppendRoutingKey).
func (s *Snapshot) ReplicasOfKey(keyspace string, routingKey []byte) []*Host {
	if s.keyspaces[keyspace] == nil {
		return nil
	}
	return s.Replicas(keyspace, s.ring.p.Token(routingKey))
}
