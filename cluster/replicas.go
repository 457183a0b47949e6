package cluster

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cqlwire/cqlwire/pool"
	"github.com/cqlwire/cqlwire/query"
)

// HostState is a node's state as the session sees it (HostInfo.State in
// Session.Hosts and Session.Replicas).
type HostState uint8

// The host states.
const (
	// StateUnknown is the zero value: Watcher.Hosts does not know the
	// session's state.
	StateUnknown HostState = iota
	// StateConnecting: the session will keep a pool to the node, and its
	// first connection is being made (a node just added or moved).
	StateConnecting
	// StateUp: the node's pool has a live connection.
	StateUp
	// StateSuspect: up, but the node appears not to answer (see
	// HostInfo.Suspect); new requests go to other nodes first.
	StateSuspect
	// StateDown: the node's pool has no live connection, or its first
	// connection failed. The session keeps trying, with pool.Backoff
	// between attempts (at once on a STATUS_CHANGE UP event), until the
	// node leaves the cluster.
	StateDown
	// StateIgnored: the session keeps no pool to the node: its data
	// centre is not Config.LocalDatacenter (and RemoteHostsPerDC is zero),
	// or Config.HostFilter excludes it. No request goes to it.
	StateIgnored
)

func (s HostState) String() string {
	switch s {
	case StateUnknown:
		return "unknown"
	case StateConnecting:
		return "connecting"
	case StateUp:
		return "up"
	case StateSuspect:
		return "suspect"
	case StateDown:
		return "down"
	case StateIgnored:
		return "ignored"
	}
	return "HostState(" + strconv.Itoa(int(s)) + ")"
}

// ID returns the node's host_id, which it keeps when its address changes.
func (h HostInfo) ID() pool.HostID {
	if h.Host == nil {
		return pool.HostID{}
	}
	return h.Host.ID
}

// Datacenter returns the node's data centre.
func (h HostInfo) Datacenter() string {
	if h.Host == nil {
		return ""
	}
	return h.Host.Datacenter
}

// Rack returns the node's rack.
func (h HostInfo) Rack() string {
	if h.Host == nil {
		return ""
	}
	return h.Host.Rack
}

// hostInfos is Hosts in the watcher's order.
func (s *Session) hostInfos() []HostInfo {
	infos := s.watcher.Hosts()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	for i := range infos {
		h := &infos[i]
		h.Up, h.Suspect = false, false
		e := s.hosts[h.Host.ID]
		switch {
		case !s.wanted(*h):
			h.State = StateIgnored
		case e == nil || e.info.Addr != h.Addr:
			// The reconciler has not seen the node (or its move) yet.
			h.State = StateConnecting
		case e.pool != nil:
			h.Up = e.pool.Up()
			h.Suspect = h.Up && e.pool.Suspect()
			switch {
			case h.Suspect:
				h.State = StateSuspect
			case h.Up:
				h.State = StateUp
			default:
				h.State = StateDown
			}
		case e.failed == 0:
			h.State = StateConnecting
		default:
			h.State = StateDown
		}
	}
	return infos
}

// Replicas returns the nodes that hold the partition of routingKey in
// keyspace, in ring order: the primary replica (the owner of the token's
// range) first, then the others in the order the keyspace's replication
// strategy picks them (for NetworkTopologyStrategy, data centres
// interleaved as the ring walk meets them). Each HostInfo is as in Hosts,
// with its State; the nodes of every data centre are included.
//
// routingKey is the partition key's serialized value, or for a composite
// key its components joined as pool.AppendRoutingKey does;
// Prepared.RoutingKey builds it from a statement's values. keyspace is the
// name as stored (case-sensitive; a double-quoted name is unquoted, and an
// unquoted one not found is tried in lower case, as CQL folds it).
//
// The result comes from the session's current view of the ring: it
// changes when nodes join, leave or move, and when a keyspace's
// replication changes. It is nil when the keyspace is unknown, its
// strategy is not one the driver knows, or no ring could be built (an
// unknown partitioner).
func (s *Session) Replicas(keyspace string, routingKey []byte) []HostInfo {
	snap := s.watcher.Snapshot()
	if snap == nil {
		return nil
	}
	return s.replicaInfos(snap.ReplicasOfKey(snapshotKeyspace(snap, keyspace), routingKey))
}

// ReplicasOfToken is Replicas for a token of the cluster's partitioner
// (e.g. pool.Murmur3(v) for the value of CQL's token() function).
func (s *Session) ReplicasOfToken(keyspace string, token pool.Token) []HostInfo {
	snap := s.watcher.Snapshot()
	if snap == nil {
		return nil
	}
	return s.replicaInfos(snap.Replicas(snapshotKeyspace(snap, keyspace), token))
}

// replicaInfos maps the ring's hosts to what Hosts says of them.
func (s *Session) replicaInfos(reps []*pool.Host) []HostInfo {
	if len(reps) == 0 {
		return nil
	}
	infos := s.hostInfos()
	out := make([]HostInfo, 0, len(reps))
	for _, r := range reps {
		for _, h := range infos {
			if h.Host.ID == r.ID {
				out = append(out, h)
				break
			}
		}
	}
	return out
}

// snapshotKeyspace returns the name under which snap may know keyspace.
func snapshotKeyspace(snap *pool.Snapshot, keyspace string) string {
	if _, ok := snap.Replication(keyspace); ok {
		return keyspace
	}
	if len(keyspace) >= 2 && keyspace[0] == '"' && keyspace[len(keyspace)-1] == '"' {
		return strings.ReplaceAll(keyspace[1:len(keyspace)-1], `""`, `"`)
	}
	return strings.ToLower(keyspace)
}

// RoutingKey returns the routing key of an execution of the statement
// with values (as Bind takes them): the bytes the partitioner hashes, for
// Session.Replicas. It fails when a value does not fit its marker's type,
// or when the statement does not bind every partition key column
// (PartitionKeyIndexes is empty) or binds one to null.
func (p *Prepared) RoutingKey(values ...any) ([]byte, error) {
	if len(p.e.params.PKIndexes) == 0 {
		return nil, fmt.Errorf("cluster: %q does not bind every partition key column: no routing key", abbreviate(p.e.key.cql))
	}
	_, vals, err := query.Bind(nil, nil, p.e.params.Columns, values)
	if err != nil {
		return nil, fmt.Errorf("cluster: binding the values of %q: %w", abbreviate(p.e.key.cql), err)
	}
	rk, err := pool.AppendPreparedRoutingKey(nil, p.e.params.PKIndexes, vals)
	if err != nil {
		return nil, fmt.Errorf("cluster: the routing key of %q: %w", abbreviate(p.e.key.cql), err)
	}
	return rk, nil
}
