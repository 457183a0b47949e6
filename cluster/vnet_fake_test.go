package cluster

// A fake cluster on a virtual network, for the tests of replicas, LWT
// routing, contact point resolution and nodes that move or join
// (replicas_test.go, lwt_test.go, resolve_test.go, move_test.go).
//
// Why fakes: these tests need what real nodes cannot give at unit level:
// node addresses that change at the moment a test chooses (a node moving
// to a new IP with its host_id), a node that is in system.peers but does
// not accept connections yet, a name resolver the test controls, a record
// of every dial, and tokens where the test wants them. Each node is an
// internal/testserver server on its own port of 127.0.0.1; the nodes know
// each other by virtual addresses (10.0.x.y:9042) that the session dials
// through Config.DialContext, which connects each to the server of the
// node holding that address now and refuses the others, as a closed port
// would.

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testserver"
	"github.com/cqlwire/cqlwire/query"
	"github.com/cqlwire/cqlwire/types"
)

// vnodeSpec places a node of a vnet.
type vnodeSpec struct{ dc, rack string }

// vnode is one node of a vnet.
type vnode struct {
	name   string // "A", "B", ...
	id     string // host_id
	dc     string
	rack   string
	tokens []string
	srv    *testserver.Server
	stmts  atomic.Int32 // user statements: QUERY outside the system tables, EXECUTE, BATCH
	hook   atomic.Pointer[stmtHook]

	// Guarded by vnet.mu.
	addr      netip.AddrPort // the node's virtual address
	listening bool           // its address accepts connections
	inPeers   bool           // the other nodes list it in system.peers_v2
}

func (n *vnode) setHook(h stmtHook) {
	if h == nil {
		n.hook.Store(nil)
		return
	}
	n.hook.Store(&h)
}

// vdial is one connection attempt of the session.
type vdial struct {
	at   time.Time
	addr string
	ok   bool
}

// vnet is the fake cluster. Its keyspaces are in system_schema.keyspaces;
// prepared statements bind columns of keyspace ks1 (so that the session
// routes them by ks1's replicas).
type vnet struct {
	t         *testing.T
	mu        sync.Mutex
	nodes     []*vnode
	keyspaces map[string]map[string]string
	dials     []vdial
	routes    map[string]string // more virtual addresses: to these real ones
}

// vnodeTokens is the number of tokens of each node.
const vnodeTokens = 8

// startVnet starts a node per spec, A at 10.0.0.1:9042, B at 10.0.0.2:9042,
// ... Their tokens interleave around the whole ring (token slot k of
// vnodeTokens*len(specs) belongs to node k mod len(specs)), so that every
// node is the primary replica of some keys. Keyspace ks1 has
// SimpleStrategy with replication factor 2 unless the test changes
// v.keyspaces before connecting.
func startVnet(t *testing.T, specs ...vnodeSpec) *vnet {
	t.Helper()
	v := &vnet{t: t, keyspaces: map[string]map[string]string{
		"ks1": {"class": "SimpleStrategy", "replication_factor": "2"},
	}}
	slots := vnodeTokens * len(specs)
	step := math.MaxUint64 / uint64(slots)
	for i, sp := range specs {
		n := v.newNode(i, sp)
		for k := i; k < slots; k += len(specs) {
			tok := int64(uint64(k+1)*step) + math.MinInt64 // wraps: the whole int64 range
			n.tokens = append(n.tokens, fmt.Sprint(tok))
		}
		n.addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), 9042)
		n.listening, n.inPeers = true, true
		v.nodes = append(v.nodes, n)
	}
	return v
}

func (v *vnet) newNode(i int, sp vnodeSpec) *vnode {
	n := &vnode{name: string(rune('A' + i)), id: fmt.Sprintf("c0ffee00-0000-4000-8000-0000000002%02x", i),
		dc: sp.dc, rack: sp.rack}
	srv, err := testserver.Start(testserver.Options{Handler: v.handler(n), BindType: testserver.BindInt, Logf: v.t.Logf})
	if err != nil {
		v.t.Fatal(err)
	}
	v.t.Cleanup(func() { srv.Close() })
	n.srv = srv
	return n
}

// addNode adds a node with the given tokens at addr, listed in every
// node's system.peers_v2; listening says whether it accepts connections
// yet (see setListening).
func (v *vnet) addNode(sp vnodeSpec, addr string, tokens []string, listening bool) *vnode {
	v.mu.Lock()
	i := len(v.nodes)
	v.mu.Unlock()
	n := v.newNode(i, sp)
	n.tokens = tokens
	v.mu.Lock()
	n.addr, n.listening, n.inPeers = netip.MustParseAddrPort(addr), listening, true
	v.nodes = append(v.nodes, n)
	v.mu.Unlock()
	return n
}

func (v *vnet) node(i int) *vnode {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.nodes[i]
}

// addrOf returns n's virtual address now.
func (v *vnet) addrOf(n *vnode) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return n.addr.String()
}

// byAddr returns the node at virtual address addr now, or nil.
func (v *vnet) byAddr(addr string) *vnode {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, n := range v.nodes {
		if n.addr.String() == addr {
			return n
		}
	}
	return nil
}

// setListening makes n's address accept connections, or refuse them (as
// a node whose native transport is not started yet). Refusing does not
// close the connections already open.
func (v *vnet) setListening(n *vnode, yes bool) {
	v.mu.Lock()
	n.listening = yes
	v.mu.Unlock()
}

// move gives n a new address, as a node restarted on another IP with its
// data: its connections are closed, its old address refuses connections
// from then on, and the system tables of every node show the new one.
func (v *vnet) move(n *vnode, addr string) {
	v.mu.Lock()
	n.addr = netip.MustParseAddrPort(addr)
	v.mu.Unlock()
	n.srv.KillConnections()
}

// route makes virtual address addr lead to the real address real (a
// server that is not a node of the vnet).
func (v *vnet) route(addr, real string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.routes == nil {
		v.routes = map[string]string{}
	}
	v.routes[addr] = real
}

// addrs returns the nodes' addresses now, as a DNS name for the whole
// cluster would.
func (v *vnet) addrs() []netip.Addr {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []netip.Addr
	for _, n := range v.nodes {
		out = append(out, n.addr.Addr())
	}
	return out
}

// broadcast sends ev to every connection registered for events (the
// control connection) and returns how many there were.
func (v *vnet) broadcast(ev frame.Event) int {
	v.mu.Lock()
	nodes := slices.Clone(v.nodes)
	v.mu.Unlock()
	sent := 0
	for _, n := range nodes {
		sent += n.srv.Broadcast(ev)
	}
	return sent
}

// dialsTo returns the session's connection attempts to addr, in order.
func (v *vnet) dialsTo(addr string) []vdial {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []vdial
	for _, d := range v.dials {
		if d.addr == addr {
			out = append(out, d)
		}
	}
	return out
}

// dial is the session's Config.DialContext: addr is a virtual address.
func (v *vnet) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	v.mu.Lock()
	var target string
	for _, n := range v.nodes {
		if n.addr.String() == addr && n.listening {
			target = n.srv.Addr()
		}
	}
	if target == "" {
		target = v.routes[addr]
	}
	v.dials = append(v.dials, vdial{at: time.Now(), addr: addr, ok: target != ""})
	v.mu.Unlock()
	if target == "" {
		return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
	}
	var d net.Dialer
	return d.DialContext(ctx, network, target)
}

// config is a Session config for the vnet, contact point node A.
func (v *vnet) config() Config {
	return Config{
		ContactPoints:          []string{v.addrOf(v.node(0))},
		DialContext:            v.dial,
		RefreshInterval:        -1,
		EventDebounce:          20 * time.Millisecond,
		SchemaAgreementTimeout: -1,
		ReconnectBase:          10 * time.Millisecond,
		ReconnectMax:           50 * time.Millisecond,
		DefaultProfile:         query.Profile{RequestTimeout: 5 * time.Second},
	}
}

// connect connects and waits until every node the session wants is up.
func (v *vnet) connect(t *testing.T, cfg Config) *Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	waitFor(t, "a pool to every node", func() bool {
		for _, h := range s.Hosts() {
			if h.State != StateUp && h.State != StateIgnored {
				return false
			}
		}
		return true
	})
	return s
}

func (v *vnet) handler(self *vnode) testserver.Handler {
	return func(req *testserver.Request) testserver.Reply {
		switch req.Header.Opcode {
		case frame.OpQuery:
			env, err := req.Envelope()
			if err != nil {
				return req.Default()
			}
			if q := env.Message.(*frame.Query).Query; strings.Contains(q, "system") {
				if r, ok := v.system(self, q); ok {
					return r
				}
				return req.Default()
			}
			if isUse(env.Message.(*frame.Query).Query) {
				return req.Default()
			}
		case frame.OpPrepare:
			r := req.Default()
			if p, ok := r.Message.(*frame.Prepared); ok {
				for i := range p.Params.Columns {
					p.Params.Columns[i].Keyspace = "ks1"
				}
			}
			return r
		case frame.OpExecute, frame.OpBatch:
		default:
			return req.Default()
		}
		i := int(self.stmts.Add(1))
		if h := self.hook.Load(); h != nil {
			if r, ok := (*h)(req, i); ok {
				return r
			}
		}
		return req.Default()
	}
}

// system answers system.local, system.peers_v2 and system_schema.keyspaces.
func (v *vnet) system(self *vnode, q string) (testserver.Reply, bool) {
	t := v.t
	const sv = "c0ffee00-0000-4000-8000-0000000000aa"
	type row struct {
		n    *vnode
		addr netip.AddrPort
	}
	v.mu.Lock()
	selfAddr := self.addr
	var peers []row
	for _, n := range v.nodes {
		if n != self && n.inPeers {
			peers = append(peers, row{n, n.addr})
		}
	}
	keyspaces := make(map[string]map[string]string, len(v.keyspaces))
	for k, r := range v.keyspaces {
		keyspaces[k] = r
	}
	v.mu.Unlock()
	switch {
	case strings.Contains(q, "system.local"):
		return testserver.Reply{Message: rowsOf(t, "local", []cell{
			{"key", varchar, "local"}, {"data_center", varchar, self.dc}, {"rack", varchar, self.rack},
			{"host_id", uuidT, self.id}, {"partitioner", varchar, "org.apache.cassandra.dht.Murmur3Partitioner"},
			{"release_version", varchar, "5.0.6"}, {"rpc_address", inetT, selfAddr.Addr()},
			{"rpc_port", intT, int(selfAddr.Port())}, {"schema_version", uuidT, sv}, {"tokens", textSet, self.tokens},
		})}, true
	case strings.Contains(q, "system.peers_v2"):
		var rows [][]cell
		for _, p := range peers {
			rows = append(rows, []cell{{"peer", inetT, p.addr.Addr()}, {"peer_port", intT, 7000},
				{"data_center", varchar, p.n.dc}, {"rack", varchar, p.n.rack}, {"host_id", uuidT, p.n.id},
				{"release_version", varchar, "5.0.6"}, {"schema_version", uuidT, sv}, {"tokens", textSet, p.n.tokens},
				{"native_address", inetT, p.addr.Addr()}, {"native_port", intT, int(p.addr.Port())}})
		}
		if len(rows) == 0 {
			return testserver.Reply{Message: &frame.Rows{Metadata: frame.RowsMetadata{Columns: []frame.ColumnSpec{
				{Keyspace: "system", Table: "peers_v2", Name: "peer", Type: inetT}}}}}, true
		}
		return testserver.Reply{Message: rowsOf(t, "peers_v2", rows...)}, true
	case strings.Contains(q, "system_schema.keyspaces"):
		var rows [][]cell
		for _, name := range slices.Sorted(maps.Keys(keyspaces)) {
			rows = append(rows, []cell{{"keyspace_name", varchar, name},
				{"replication", types.MapOf(varchar, varchar), keyspaces[name]}})
		}
		return testserver.Reply{Message: rowsOf(t, "keyspaces", rows...)}, true
	}
	return testserver.Reply{}, false
}

// intKey is the routing key of an int partition key (the fake's bind
// markers are ints).
func intKey(k int32) []byte {
	return []byte{byte(uint32(k) >> 24), byte(uint32(k) >> 16), byte(uint32(k) >> 8), byte(k)}
}
