package cluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/pool"
	"github.com/cqlwire/cqlwire/types"
)

// The queries of a refresh.
const (
	queryLocal     = "SELECT * FROM system.local WHERE key='local'"
	queryPeersV2   = "SELECT * FROM system.peers_v2"
	queryPeers     = "SELECT * FROM system.peers"
	queryKeyspaces = "SELECT keyspace_name, replication FROM system_schema.keyspaces"
)

// table is a decoded RESULT Rows: cells found by column name.
type table struct {
	cols  map[string]int
	specs []frame.ColumnSpec
	rows  [][][]byte
}

func selectRows(ctx context.Context, c *conn.Conn, q string) (*table, error) {
	env, err := c.Do(ctx, conn.Request{Message: &frame.Query{Query: q,
		Params: frame.QueryParams{Consistency: frame.One}}})
	if err != nil {
		return nil, err
	}
	rows, ok := env.Message.(*frame.Rows)
	if !ok {
		return nil, fmt.Errorf("cluster: %s: answered %T, not rows", q, env.Message)
	}
	t := &table{cols: map[string]int{}, specs: rows.Metadata.Columns}
	for i, s := range t.specs {
		t.cols[s.Name] = i
	}
	for _, row := range rows.All() {
		t.rows = append(t.rows, slices.Clone(row))
	}
	if len(t.specs) == 0 && len(t.rows) > 0 {
		return nil, fmt.Errorf("cluster: %s: rows without metadata", q)
	}
	return t, nil
}

// get decodes column col of row into dst; a column the table lacks leaves
// dst unchanged.
func (t *table) get(row [][]byte, col string, dst any) error {
	i, ok := t.cols[col]
	if !ok {
		return nil
	}
	if err := types.Decode(t.specs[i].Type, row[i], dst); err != nil {
		return fmt.Errorf("column %s: %w", col, err)
	}
	return nil
}

// nodeRow is one row of system.local or system.peers(_v2).
type nodeRow struct {
	id             pool.HostID
	dc, rack       string
	releaseVersion string
	tokens         []string
	schemaVersion  [16]byte
	addr           netip.AddrPort
	partitioner    string
}

func (t *table) node(row [][]byte) (nodeRow, error) {
	var n nodeRow
	for _, c := range []struct {
		name string
		dst  any
	}{
		{"host_id", (*[16]byte)(&n.id)},
		{"data_center", &n.dc},
		{"rack", &n.rack},
		{"release_version", &n.releaseVersion},
		{"tokens", &n.tokens},
		{"schema_version", &n.schemaVersion},
		{"partitioner", &n.partitioner},
	} {
		if err := t.get(row, c.name, c.dst); err != nil {
			return n, err
		}
	}
	return n, nil
}

// isInvalid reports whether err is the server's Invalid error (a table
// that does not exist).
func isInvalid(err error) bool {
	var fe *frame.Error
	return errors.As(err, &fe) && fe.Code == frame.CodeInvalid
}

// readPeers reads system.peers_v2, or system.peers when the server has no
// peers_v2 (remembered until the next control connection).
func (w *Watcher) readPeers(ctx context.Context, c *conn.Conn) (*table, bool, error) {
	w.mu.Lock()
	legacy := w.legacy
	w.mu.Unlock()
	if !legacy {
		t, err := selectRows(ctx, c, queryPeersV2)
		if err == nil {
			return t, false, nil
		}
		if !isInvalid(err) {
			return nil, false, err
		}
		w.log.Info("cluster: no system.peers_v2, using system.peers", "addr", c.Addr())
		w.mu.Lock()
		w.legacy = true
		w.mu.Unlock()
	}
	t, err := selectRows(ctx, c, queryPeers)
	return t, true, err
}

// refresh reads the system tables on c and applies them.
func (w *Watcher) refresh(ctx context.Context, c *conn.Conn) error {
	w.refreshMu.Lock()
	defer w.refreshMu.Unlock()
	lt, err := selectRows(ctx, c, queryLocal)
	if err != nil {
		return err
	}
	if len(lt.rows) != 1 {
		return fmt.Errorf("cluster: system.local has %d rows", len(lt.rows))
	}
	local, err := lt.node(lt.rows[0])
	if err != nil {
		return fmt.Errorf("cluster: system.local: %w", err)
	}
	if local.id == (pool.HostID{}) {
		return errors.New("cluster: system.local has no host_id")
	}
	if local.addr, err = w.localAddress(c, lt, lt.rows[0]); err != nil {
		return err
	}

	pt, legacy, err := w.readPeers(ctx, c)
	if err != nil {
		return err
	}
	nodes := []nodeRow{local}
	for _, row := range pt.rows {
		n, ok := w.peerNode(pt, row, legacy)
		if !ok || n.id == local.id {
			continue // logged, or a stale row of the local node
		}
		nodes = append(nodes, n)
	}

	kt, err := selectRows(ctx, c, queryKeyspaces)
	if err != nil {
		return err
	}
	keyspaces := make(map[string]pool.Replication, len(kt.rows))
	for _, row := range kt.rows {
		var name string
		var opts map[string]string
		if err := kt.get(row, "keyspace_name", &name); err != nil {
			return err
		}
		if err := kt.get(row, "replication", &opts); err != nil {
			return err
		}
		rep, err := pool.ParseReplication(opts)
		if err != nil && !errors.Is(err, pool.ErrUnknownStrategy) {
			w.log.Warn("cluster: keyspace replication", "keyspace", name, "err", err)
			continue
		}
		keyspaces[name] = rep
	}

	// Schema metadata: a failure is logged and the previous schema kept.
	if s, err := readSchema(ctx, c, keyspaces); err != nil {
		w.log.Warn("cluster: schema metadata", "err", err)
	} else {
		w.schema.Store(s)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	w.apply(nodes, keyspaces)
	w.refreshes++
	return nil
}

// apply merges the nodes read into w.hosts, notifies the changes and
// publishes a new snapshot. nodes[0] is the control node. w.mu is held.
func (w *Watcher) apply(nodes []nodeRow, keyspaces map[string]pool.Replication) {
	topo := false
	seen := make(map[pool.HostID]bool, len(nodes))
	var events []HostEvent
	for i, n := range nodes {
		if seen[n.id] {
			continue
		}
		seen[n.id] = true
		h := w.hosts[n.id]
		var kinds []HostEventKind
		var oldAddr netip.AddrPort
		if h == nil {
			h = &HostInfo{Host: &pool.Host{ID: n.id, Datacenter: n.dc, Rack: n.rack}, Addr: n.addr, Up: true}
			w.hosts[n.id] = h
			topo = true
			kinds = append(kinds, HostAdded)
		} else {
			if h.Host.Datacenter != n.dc || h.Host.Rack != n.rack {
				h.Host = &pool.Host{ID: n.id, Datacenter: n.dc, Rack: n.rack}
				topo = true
				kinds = append(kinds, HostChanged)
			}
			if h.Addr != n.addr {
				oldAddr = h.Addr
				h.Addr = n.addr
				kinds = append(kinds, HostMoved)
			}
			if !slices.Equal(h.Tokens, n.tokens) {
				topo = true
			}
		}
		h.Tokens = n.tokens
		h.ReleaseVersion = n.releaseVersion
		h.SchemaVersion = n.schemaVersion
		if h.Control != (i == 0) {
			h.Control = i == 0
			topo = true // LocalStrategy resolves to the control node
		}
		for _, k := range kinds {
			ev := HostEvent{Kind: k, Host: *h}
			if k == HostMoved {
				ev.OldAddr = oldAddr
			}
			events = append(events, ev)
		}
	}
	for id, h := range w.hosts {
		if !seen[id] {
			delete(w.hosts, id)
			topo = true
			events = append(events, HostEvent{Kind: HostRemoved, Host: *h})
		}
	}

	prev := w.snap.Load()
	var snap *pool.Snapshot
	part, err := pool.PartitionerByName(nodes[0].partitioner)
	switch {
	case err != nil:
		w.log.Warn("cluster: no token ring", "err", err)
	case prev != nil && !topo && prev.Ring().Partitioner() == part:
		snap = prev.WithKeyspaces(keyspaces)
	default:
		owners := make([]pool.TokenOwner, 0, len(w.hosts))
		for _, id := range slices.SortedFunc(maps.Keys(w.hosts), cmpID) {
			h := w.hosts[id]
			owners = append(owners, pool.TokenOwner{Host: h.Host, Tokens: h.Tokens})
		}
		ring, err := pool.NewRing(part, owners)
		if err != nil {
			w.log.Warn("cluster: no token ring", "err", err)
			break
		}
		snap = pool.NewSnapshot(ring, w.hosts[nodes[0].id].Host, keyspaces)
	}
	if snap != nil {
		w.snap.Store(snap)
	}
	for _, ev := range events {
		w.notify(ev)
	}
}

func cmpID(a, b pool.HostID) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}

// WaitSchemaAgreement waits until system.local and every peer not known
// to be down report the same schema_version, polling the control
// connection, or until ctx ends.
func (w *Watcher) WaitSchemaAgreement(ctx context.Context) error {
	return w.WaitSchemaVersion(ctx, [16]byte{})
}

// WaitSchemaVersion is WaitSchemaAgreement, and moreover waits until the
// version agreed on is version (unless version is zero). After a schema
// change, the node that made it knows the new version at once, while the
// control node and its peers table may still all show the old one, which
// looks like agreement: waiting for the coordinator's version closes that
// gap.
func (w *Watcher) WaitSchemaVersion(ctx context.Context, version [16]byte) error {
	var last error
	for {
		if c := w.ctl.Load(); c != nil {
			versions, err := w.schemaVersions(ctx, c)
			if err == nil && len(versions) <= 1 && (version == [16]byte{} || versions[version]) {
				return nil
			}
			switch {
			case err != nil:
				last = err
			case len(versions) > 1:
				last = fmt.Errorf("%d schema versions", len(versions))
			default:
				last = fmt.Errorf("the nodes agree on a schema version other than %s", pool.HostID(version))
			}
		} else {
			last = errors.New("no control connection")
		}
		t := time.NewTimer(200 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("cluster: no schema agreement: %w (last: %v)", context.Cause(ctx), last)
		case <-t.C:
		}
	}
}

func (w *Watcher) schemaVersions(ctx context.Context, c *conn.Conn) (map[[16]byte]bool, error) {
	versions := map[[16]byte]bool{}
	lt, err := selectRows(ctx, c, queryLocal)
	if err != nil {
		return nil, err
	}
	for _, row := range lt.rows {
		n, err := lt.node(row)
		if err != nil {
			return nil, err
		}
		versions[n.schemaVersion] = true
	}
	pt, _, err := w.readPeers(ctx, c)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, row := range pt.rows {
		n, err := pt.node(row)
		if err != nil {
			return nil, err
		}
		if h := w.hosts[n.id]; n.schemaVersion == ([16]byte{}) || h != nil && !h.Up {
			continue
		}
		versions[n.schemaVersion] = true
	}
	return versions, nil
}
