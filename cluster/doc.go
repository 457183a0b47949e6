// Package cluster is the top layer of the driver: what users import. It
// holds the Session, the control connection, the topology watcher, schema
// metadata and server events.
//
// # Session
//
// [Connect] validates a [Config], starts a [Watcher] on the first contact
// point that answers, and keeps a pool.HostPool for every node the
// load-balancing policy may use (by default the nodes of
// Config.LocalDatacenter): pools are added for new nodes, replaced when a
// node's address changes, and drained (their requests in flight answered)
// before they are closed when a node leaves. The request path reads one
// immutable snapshot (ring, replicas, pools) through an atomic pointer and
// takes no lock.
//
// A [Query] is a value: options return modified copies. A statement with
// values is prepared through the session's cache (one PREPARE per statement
// text and keyspace, however many goroutines ask at once), executed with
// its values encoded by the prepared types, and routed to a replica of its
// partition (token-aware routing from the partition key's bind markers).
// A node that answers Unprepared gets the statement again, transparently.
// In protocol v5 the result metadata id is kept current, so skip-metadata
// is safe and SELECT * sees columns added later; in v4 every result
// carries its metadata.
//
// [Session.Hosts] lists every node of the cluster with its host_id, data
// centre, rack, address, release version and [HostState];
// [Session.Replicas] says which nodes hold a partition, in ring order
// (primary replica first), and [Prepared.RoutingKey] builds the routing
// key of a statement's values.
//
// Conditional statements (INSERT ... IF NOT EXISTS, UPDATE and DELETE ...
// IF, alone or in a batch) and reads at SERIAL or LOCAL_SERIAL run Paxos
// among the partition's replicas: they go to the replicas in ring order,
// primary first, not shuffled (pool.RoutingInfo.PrimaryFirst), so that
// every client's rounds on a partition are proposed by one coordinator and
// do not make each other start over. Whether a statement is conditional is
// read from its text (a top-level IF after VALUES or WHERE, literals,
// quoted names and comments skipped), once per prepared statement.
//
// Each statement runs under its execution profile (consistency, timeout,
// retry and speculative policies, page size): attempts go to the hosts of
// the policy's plan as the retry policy decides, never retrying a
// non-idempotent statement that may have been executed; idempotent ones may
// be executed speculatively. A statement that changes the schema waits for
// schema agreement and refreshes the metadata before it returns.
//
// # Metrics and observers
//
// [Session.Metrics] is a snapshot of the session's counters and gauges:
// per node, its connections, streams in flight and orphaned, traffic,
// attempts, errors by kind, retries, ignores and speculative executions;
// per session, statements, client timeouts, throttled statements, the
// prepared statement cache. The Java driver 4's session and node metrics
// are all there (the names are in the field docs). The request path only
// adds to atomic counters; the snapshot reads them. Config.Observer is told
// of every attempt; one that implements query.StatementObserver also of
// every statement as a whole (the OpenTelemetry adapter, module
// github.com/cqlwire/cqlwire/otel, makes a span of each).
//
// # Topology watcher
//
// A [Watcher] keeps one control connection to one node: the first contact
// point that answers, and after a failure any other known host, then the
// contact points again (with exponential backoff and jitter between
// rounds). A contact point's host name is resolved each time the contact
// points are tried (WatcherConfig.Resolver) and each address it resolves
// to is tried: a cluster whose nodes all changed address behind one name
// (a Kubernetes rolling restart) is found again. On it the watcher reads
// system.local and system.peers_v2 (system.peers on servers that answer
// Invalid for peers_v2, i.e. before 4.0) and the replication of every
// keyspace from system_schema.keyspaces, and REGISTERs for TOPOLOGY_CHANGE,
// STATUS_CHANGE and SCHEMA_CHANGE events.
//
// Hosts are keyed by host_id: a known host_id with a new address is the
// same host moving (HostMoved), not a removal and an addition. Events are
// hints, not truth: any event arms a debounce window (WatcherConfig.EventDebounce)
// at the end of which the system tables are read again, once per burst;
// the tables are also re-read every WatcherConfig.RefreshInterval. STATUS_CHANGE
// events additionally mark the host up or down at once (HostUp, HostDown).
//
// After every refresh the watcher builds a [pool.Ring] and a
// [pool.Snapshot] and publishes it through an atomic pointer:
// [Watcher.Snapshot] is a lock-free read for the request path.
//
// # Schema metadata
//
// Each refresh also reads system_schema.types, tables and columns into an
// immutable [Schema] (keyspaces with their replication, user types, and
// tables with partition key, clustering columns and their order, and every
// column's type, vector<float, n> included), published like the snapshot:
// [Watcher.Schema] is a lock-free read. If the schema cannot be read the
// previous one stays and a warning is logged.
//
// Addresses: a peer is reached at native_address:native_port (peers_v2;
// WatcherConfig.Port when the port is null) or rpc_address:WatcherConfig.Port
// (legacy peers). A wildcard one (0.0.0.0, ::) is replaced by the peer's
// broadcast address, with a warning; a peers row with a null address,
// host_id, data_center, rack, tokens or schema_version is skipped, with a
// warning. The control connection's own node is at the address its
// connection reached: the IP:port dialled (only a host name handed as it is
// to a custom DialContext, which may lead to a proxy, puts it at
// system.local's rpc_address and rpc_port by the same rule). WatcherConfig.AddressTranslator maps every address a node reports (not
// the addresses given as contact points) before use, for NAT.
//
// Layering: cluster may import query, pool, conn, auth, frame and types;
// nothing in this module imports it.
package cluster
