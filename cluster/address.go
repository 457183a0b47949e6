package cluster

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/pool"
)

// The address of a node, for system.local, system.peers_v2 and
// system.peers alike (as the Java and Python drivers do):
//
//   - A peer is reached at its client address (native_address in peers_v2,
//     rpc_address in peers) and native_port, or WatcherConfig.Port when the
//     table has no port or it is null or out of range.
//   - A client address that is the wildcard (0.0.0.0, ::) is replaced by
//     the node's broadcast address (peer), with a warning: a node that
//     listens on every interface publishes nothing a client can dial.
//   - A null client address (or a wildcard without a broadcast address)
//     skips the row, with a warning, and so do peers rows without host_id,
//     data_center, rack, tokens or schema_version: those are gossip
//     leftovers or nodes not yet joined (the Java driver's
//     PeerRowValidator).
//   - The control node is at the address its connection reached: the
//     IP:port dialled (a contact point's host name is resolved first, see
//     WatcherConfig.Resolver). Only when a host name is dialled as it is
//     (a custom conn.Config.DialContext, which may lead to a proxy, and no
//     Resolver) is system.local's own address used, by the rule above
//     (rpc_address and rpc_port, the wildcard replaced by
//     broadcast_address).
//
// Addresses read from the tables go through the AddressTranslator; an
// address it maps to an invalid or wildcard one also skips the row.

// addrColumns names the columns in which a system table gives a node's
// addresses.
type addrColumns struct {
	table     string
	client    string // the address clients should use
	port      string // its port; "" if the table has none
	broadcast string // the node's broadcast (gossip) address
}

var (
	localColumns   = addrColumns{"system.local", "rpc_address", "rpc_port", "broadcast_address"}
	peersV2Columns = addrColumns{"system.peers_v2", "native_address", "native_port", "peer"}
	peersColumns   = addrColumns{"system.peers", "rpc_address", "", "peer"}
)

// isNull reports whether column col of row is null or missing.
func (t *table) isNull(row [][]byte, col string) bool {
	i, ok := t.cols[col]
	return !ok || row[i] == nil
}

// usable reports whether a can be dialled: valid and not the wildcard.
func usable(a netip.Addr) bool { return a.IsValid() && !a.IsUnspecified() }

// rowAddress returns the address to dial for row by the rule above,
// before translation.
func (w *Watcher) rowAddress(t *table, row [][]byte, cols addrColumns) (netip.AddrPort, error) {
	var client, broadcast netip.Addr
	if err := t.get(row, cols.client, &client); err != nil {
		return netip.AddrPort{}, err
	}
	if err := t.get(row, cols.broadcast, &broadcast); err != nil {
		return netip.AddrPort{}, err
	}
	client, broadcast = client.Unmap(), broadcast.Unmap()
	port := w.cfg.Port
	if cols.port != "" {
		var p *int32
		if err := t.get(row, cols.port, &p); err != nil {
			return netip.AddrPort{}, err
		}
		if p != nil && *p > 0 && *p < 65536 {
			port = int(*p)
		}
	}
	switch {
	case !client.IsValid():
		return netip.AddrPort{}, fmt.Errorf("%s is null", cols.client)
	case client.IsUnspecified() && !usable(broadcast):
		return netip.AddrPort{}, fmt.Errorf("%s is the wildcard %s and %s is %s", cols.client, client, cols.broadcast, nullOr(broadcast))
	case client.IsUnspecified():
		w.log.Warn("cluster: a node's client address is the wildcard: using its broadcast address instead"+
			" (set broadcast_rpc_address on that node)", "table", cols.table, cols.client, client, cols.broadcast, broadcast)
		client = broadcast
	}
	return netip.AddrPortFrom(client, uint16(port)), nil
}

func nullOr(a netip.Addr) string {
	if !a.IsValid() {
		return "null"
	}
	return a.String()
}

// peerNode reads one peers row (peers_v2, or peers when legacy). ok is
// false for a row to skip; the reason has been logged.
func (w *Watcher) peerNode(t *table, row [][]byte, legacy bool) (n nodeRow, ok bool) {
	cols := peersV2Columns
	if legacy {
		cols = peersColumns
	}
	var peer netip.Addr
	if err := t.get(row, "peer", &peer); err != nil {
		w.log.Warn("cluster: skipping a malformed row", "table", cols.table, "err", err)
		return n, false
	}
	skip := func(reason string) (nodeRow, bool) {
		w.log.Warn("cluster: skipping a row that names no usable node (a gossip leftover or a node not yet joined)",
			"table", cols.table, "peer", nullOr(peer.Unmap()), "reason", reason)
		return n, false
	}
	n, err := t.node(row)
	if err != nil {
		return skip(err.Error())
	}
	var null []string
	for _, col := range []string{"host_id", "data_center", "rack", "schema_version"} {
		if t.isNull(row, col) {
			null = append(null, col)
		}
	}
	if len(n.tokens) == 0 {
		null = append(null, "tokens")
	}
	if n.id == (pool.HostID{}) && !t.isNull(row, "host_id") {
		null = append(null, "host_id (zero)")
	}
	if len(null) > 0 {
		return skip("null " + strings.Join(null, ", "))
	}
	a, err := w.rowAddress(t, row, cols)
	if err != nil {
		return skip(err.Error())
	}
	if n.addr = w.translate(a); !usable(n.addr.Addr()) {
		return skip(fmt.Sprintf("the AddressTranslator mapped %s to %s", a, n.addr))
	}
	return n, true
}

// localAddress returns the address of the node of c, whose system.local
// row is row of t.
func (w *Watcher) localAddress(c *conn.Conn, t *table, row [][]byte) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(c.Addr()); err == nil && usable(ap.Addr().Unmap()) {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	a, err := w.rowAddress(t, row, localColumns)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("cluster: system.local of %s: no address for the control node: %w", c.Addr(), err)
	}
	if ap := w.translate(a); usable(ap.Addr()) {
		return ap, nil
	}
	return netip.AddrPort{}, fmt.Errorf("cluster: system.local of %s: the AddressTranslator mapped %s to an unusable address", c.Addr(), a)
}

// dialControl dials a control connection to c.addr; an address a contact
// point's host name resolved to is verified (TLS) and named (Kerberos) by
// that name.
func (w *Watcher) dialControl(ctx context.Context, c candidate) (*conn.Conn, error) {
	cfg := &w.connCfg
	if c.serverName != "" && cfg.ServerName == "" {
		named := *cfg
		named.ServerName = c.serverName
		cfg = &named
	}
	return conn.Dial(ctx, c.addr, cfg)
}
