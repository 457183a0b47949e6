// Package pool is the layer between one connection (package conn) and the
// user-facing session (package cluster): it decides which node a request
// goes to and owns the connections to each node.
//
// It is meant to hold three things:
//
//   - the token ring: partitioners (Murmur3Partitioner, RandomPartitioner,
//     ByteOrderedPartitioner) that turn a partition key into a token,
//     routing keys for single and composite partition keys, and replication
//     strategies (SimpleStrategy, NetworkTopologyStrategy, LocalStrategy,
//     EverywhereStrategy) that say which hosts own a token range;
//   - per-host connection pools, with background reconnection and host
//     up/down state;
//   - load-balancing policies (token-aware, DC-aware round robin, rack-aware).
//
// All three exist: the token ring; the per-host pools ([HostPool]: a few
// multiplexed connections per host, least-busy pick without locks,
// replacement with exponential backoff and jitter, up/down state); and the
// policies ([Policy]: [NewTokenAware] over [NewDCAwareRoundRobin], rack
// preference, [Filter]), which yield a [QueryPlan] of hosts to try.
//
// The token ring is pure computation: no I/O, no goroutines, no locks. A
// [Ring] is built once from the tokens the nodes report (system.local and
// system.peers), a [Snapshot] adds the replica lists of every keyspace,
// computed once per topology or schema change, and both are immutable
// afterwards. A snapshot is shared read-only by every request (the session
// publishes the current one through an atomic pointer), so
// [Snapshot.Replicas] takes no lock and allocates nothing: a binary search
// over the sorted tokens and a slice that is already there.
//
// Layering: pool imports conn and the packages below it, never cluster or
// query. The topology watcher in cluster feeds it plain data (host ids,
// data centres, racks, token strings, replication maps).
package pool
