package cluster

// Tests of the node address rule (address.go) against fake nodes
// (internal/testserver): a real node cannot be made to publish a peers row
// with a null or wildcard native_address / rpc_address, a null host_id or
// tokens, or a system.local row whose rpc_address is the wildcard while it
// is reached by host name; the fake below answers such rows, cell by cell.

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testserver"
	"github.com/cqlwire/cqlwire/types"
)

// addrPeer is one row of the fake's peers table; a nil field is a null
// cell.
type addrPeer struct {
	id     any // host_id, a UUID string
	peer   any // netip.Addr
	client any // native_address (peers_v2) or rpc_address (peers)
	port   any // native_port (peers_v2 only), an int
	dc     any
	tokens any // []string
}

func goodPeer(idSuffix string, addr string, port int) addrPeer {
	a := netip.MustParseAddr(addr)
	return addrPeer{id: "c0ffee00-0000-4000-8000-0000000000" + idSuffix, peer: a, client: a, port: port,
		dc: "dc1", tokens: []string{idSuffix}}
}

// addrFake answers the system tables: system.local as the node itself
// (host id localID) with the rpc_address and broadcast_address given, and
// the peers rows given.
type addrFake struct {
	legacy         bool // no system.peers_v2
	localRPC       any  // netip.Addr or nil
	localBroadcast any
	peers          []addrPeer
}

func (f *addrFake) handler(t testing.TB, port *int) testserver.Handler {
	return func(req *testserver.Request) testserver.Reply {
		if req.Header.Opcode != frame.OpQuery {
			return req.Default()
		}
		env, err := req.Envelope()
		if err != nil {
			return req.Default()
		}
		q := env.Message.(*frame.Query).Query
		sv := "c0ffee00-0000-4000-8000-0000000000aa"
		switch {
		case strings.Contains(q, "system.local"):
			return testserver.Reply{Message: rowsOf(t, "local", []cell{
				{"key", varchar, "local"}, {"data_center", varchar, "dc1"}, {"rack", varchar, "rack1"},
				{"host_id", uuidT, localID}, {"partitioner", varchar, "org.apache.cassandra.dht.Murmur3Partitioner"},
				{"release_version", varchar, "5.0.6"}, {"rpc_address", inetT, f.localRPC}, {"rpc_port", intT, *port},
				{"broadcast_address", inetT, f.localBroadcast},
				{"schema_version", uuidT, sv}, {"tokens", textSet, []string{"0"}},
			})}
		case strings.Contains(q, "system.peers_v2") && f.legacy:
			return testserver.Reply{Message: &frame.Error{Code: frame.CodeInvalid, Message: "table peers_v2 does not exist"}}
		case strings.Contains(q, "system.peers"):
			var rows [][]cell
			for _, p := range f.peers {
				row := []cell{{"peer", inetT, p.peer}, {"data_center", varchar, p.dc}, {"rack", varchar, "rack1"},
					{"host_id", uuidT, p.id}, {"release_version", varchar, "5.0.6"},
					{"schema_version", uuidT, sv}, {"tokens", textSet, p.tokens}}
				if f.legacy {
					row = append(row, cell{"rpc_address", inetT, p.client})
				} else {
					row = append(row, cell{"native_address", inetT, p.client}, cell{"native_port", intT, p.port})
				}
				rows = append(rows, row)
			}
			if len(rows) == 0 {
				return testserver.Reply{Message: &frame.Rows{Metadata: frame.RowsMetadata{Columns: []frame.ColumnSpec{
					{Keyspace: "system", Table: "peers", Name: "peer", Type: inetT}}}}}
			}
			return testserver.Reply{Message: rowsOf(t, "peers", rows...)}
		case strings.Contains(q, "system_schema.keyspaces"):
			return testserver.Reply{Message: rowsOf(t, "keyspaces", []cell{
				{"keyspace_name", varchar, "ks1"},
				{"replication", types.MapOf(varchar, varchar), map[string]string{"class": "SimpleStrategy", "replication_factor": "1"}},
			})}
		}
		return req.Default()
	}
}

// startAddrFake starts a fake node answering f; it returns the server and
// its port.
func startAddrFake(t *testing.T, f *addrFake) (*testserver.Server, int) {
	t.Helper()
	port := new(int)
	srv, err := testserver.Start(testserver.Options{Handler: f.handler(t, port), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	*port = int(netip.MustParseAddrPort(srv.Addr()).Port())
	return srv, *port
}

// logBuffer collects a logger's output.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// dialRecorder is a DialContext that records every address dialled.
type dialRecorder struct {
	mu    sync.Mutex
	addrs []string
}

func (r *dialRecorder) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	r.mu.Lock()
	r.addrs = append(r.addrs, addr)
	r.mu.Unlock()
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (r *dialRecorder) dialled() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.addrs)
}

// checkDialable fails for an address that is not a usable IP:port.
func checkDialable(t *testing.T, what, addr string) {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().IsValid() || ap.Addr().Unmap().IsUnspecified() || ap.Port() == 0 {
		t.Errorf("%s %q is not a dialable address", what, addr)
	}
}

func TestNodeAddressRule(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	wild4, wild6 := netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("::")
	peer3 := func(mod func(*addrPeer)) addrPeer {
		p := goodPeer("03", "127.0.0.3", 9044)
		mod(&p)
		return p
	}
	const p2, p3 = "c0ffee00-0000-4000-8000-000000000002", "c0ffee00-0000-4000-8000-000000000003"
	for _, tc := range []struct {
		name string
		f    addrFake
		// byName: contact point "localhost:port"; customDial: with a
		// conn.Config.DialContext.
		byName, customDial bool
		// want maps host ids to addresses; "self" is the fake's own address.
		want    map[string]string
		wantLog []string // each must be in the warnings
		wantErr string   // StartWatcher fails with this
	}{
		{name: "peers_v2 null native_address",
			f: addrFake{localRPC: lo, peers: []addrPeer{goodPeer("02", "127.0.0.2", 9043),
				peer3(func(p *addrPeer) { p.client = nil })}},
			want:    map[string]string{localID: "self", p2: "127.0.0.2:9043"},
			wantLog: []string{"native_address is null", "peer=127.0.0.3"}},
		{name: "peers_v2 wildcard native_address",
			f:       addrFake{localRPC: lo, peers: []addrPeer{peer3(func(p *addrPeer) { p.client = wild4 })}},
			want:    map[string]string{localID: "self", p3: "127.0.0.3:9044"},
			wantLog: []string{"wildcard", "native_address=0.0.0.0", "peer=127.0.0.3"}},
		{name: "peers_v2 IPv6 wildcard native_address, null native_port",
			f: addrFake{localRPC: lo, peers: []addrPeer{peer3(func(p *addrPeer) {
				p.client, p.peer, p.port = wild6, netip.MustParseAddr("::1"), nil
			})}},
			want:    map[string]string{localID: "self", p3: "[::1]:7"},
			wantLog: []string{"wildcard", "native_address=::"}},
		{name: "peers_v2 wildcard native_address and peer",
			f:       addrFake{localRPC: lo, peers: []addrPeer{peer3(func(p *addrPeer) { p.client, p.peer = wild4, wild4 })}},
			want:    map[string]string{localID: "self"},
			wantLog: []string{"native_address is the wildcard 0.0.0.0 and peer is 0.0.0.0"}},
		{name: "peers null rpc_address",
			f: addrFake{legacy: true, localRPC: lo, peers: []addrPeer{goodPeer("02", "127.0.0.2", 0),
				peer3(func(p *addrPeer) { p.client = nil })}},
			want:    map[string]string{localID: "self", p2: "127.0.0.2:7"},
			wantLog: []string{"rpc_address is null", "table=system.peers "}},
		{name: "peers wildcard rpc_address",
			f:       addrFake{legacy: true, localRPC: lo, peers: []addrPeer{peer3(func(p *addrPeer) { p.client = wild4 })}},
			want:    map[string]string{localID: "self", p3: "127.0.0.3:7"},
			wantLog: []string{"wildcard", "rpc_address=0.0.0.0", "peer=127.0.0.3"}},
		{name: "peers IPv6 wildcard rpc_address and peer",
			f:       addrFake{legacy: true, localRPC: lo, peers: []addrPeer{peer3(func(p *addrPeer) { p.client, p.peer = wild6, wild6 })}},
			want:    map[string]string{localID: "self"},
			wantLog: []string{"rpc_address is the wildcard :: and peer is ::"}},
		{name: "peers_v2 null host_id",
			f:       addrFake{localRPC: lo, peers: []addrPeer{peer3(func(p *addrPeer) { p.id = nil })}},
			want:    map[string]string{localID: "self"},
			wantLog: []string{"null host_id", "peer=127.0.0.3"}},
		{name: "peers null host_id",
			f:       addrFake{legacy: true, localRPC: lo, peers: []addrPeer{peer3(func(p *addrPeer) { p.id = nil })}},
			want:    map[string]string{localID: "self"},
			wantLog: []string{"null host_id", "peer=127.0.0.3"}},
		{name: "peers_v2 null tokens and data_center",
			f: addrFake{localRPC: lo, peers: []addrPeer{goodPeer("02", "127.0.0.2", 9043),
				peer3(func(p *addrPeer) { p.tokens, p.dc = nil, nil })}},
			want:    map[string]string{localID: "self", p2: "127.0.0.2:9043"},
			wantLog: []string{"null data_center, tokens", "peer=127.0.0.3"}},
		{name: "local wildcard rpc_address, host-name contact point",
			f:      addrFake{localRPC: wild4},
			byName: true,
			want:   map[string]string{localID: "self"}},
		{name: "local null rpc_address, host-name contact point",
			f:      addrFake{localRPC: nil},
			byName: true,
			want:   map[string]string{localID: "self"}},
		{name: "local wildcard rpc_address, host-name contact point, custom dialer",
			f:      addrFake{localRPC: wild4, localBroadcast: lo},
			byName: true, customDial: true,
			want:    map[string]string{localID: "self"},
			wantLog: []string{"wildcard", "rpc_address=0.0.0.0", "broadcast_address=127.0.0.1"}},
		{name: "local wildcard rpc_address and no broadcast_address, host-name contact point, custom dialer",
			f:      addrFake{localRPC: wild4},
			byName: true, customDial: true,
			wantErr: "system.local of localhost:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, port := startAddrFake(t, &tc.f)
			var logs logBuffer
			rec := &dialRecorder{}
			cfg := WatcherConfig{ContactPoints: []string{srv.Addr()}, Port: 7, RefreshInterval: -1,
				Logger: logs.logger()}
			if tc.byName {
				cfg.ContactPoints = []string{net.JoinHostPort("localhost", strconv.Itoa(port))}
			}
			if tc.customDial {
				cfg.Conn = &conn.Config{DialContext: rec.dial}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			w, err := StartWatcher(ctx, cfg)
			if tc.wantErr != "" {
				if err == nil {
					w.Close()
					t.Fatalf("StartWatcher succeeded, hosts %+v; want an error with %q", w.Hosts(), tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %q, want %q in it", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			self := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)).String()
			got := map[string]string{}
			for _, h := range w.Hosts() {
				got[h.Host.ID.String()] = h.Addr.String()
				checkDialable(t, "host "+h.Host.ID.String()+" address", h.Addr.String())
			}
			want := map[string]string{}
			for id, a := range tc.want {
				if a == "self" {
					a = self
				}
				want[id] = a
			}
			if !maps.Equal(got, want) {
				t.Errorf("hosts %v, want %v", got, want)
			}
			for _, s := range tc.wantLog {
				if !strings.Contains(logs.String(), s) {
					t.Errorf("no %q in the warnings:\n%s", s, logs.String())
				}
			}
			for _, a := range rec.dialled() {
				if !slices.Contains(cfg.ContactPoints, a) {
					checkDialable(t, "dialled", a)
				}
			}
		})
	}
}

// A Session given peers with null and wildcard client addresses dials
// only the usable ones: never 0.0.0.0 (the client's own machine) nor an
// invalid address.
func TestSessionDialsNoWildcardAddress(t *testing.T) {
	// other is a second fake node: the peer whose native_address is the
	// wildcard but whose broadcast address (peer) is usable.
	other, err := testserver.Start(testserver.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	otherPort := int(netip.MustParseAddrPort(other.Addr()).Port())
	lo := netip.MustParseAddr("127.0.0.1")
	f := &addrFake{localRPC: lo, peers: []addrPeer{
		{id: "c0ffee00-0000-4000-8000-000000000002", peer: lo, client: netip.MustParseAddr("0.0.0.0"),
			port: otherPort, dc: "dc1", tokens: []string{"100"}},
		{id: "c0ffee00-0000-4000-8000-000000000003", peer: netip.MustParseAddr("127.0.0.3"), client: nil,
			port: otherPort, dc: "dc1", tokens: []string{"200"}},
		{id: "c0ffee00-0000-4000-8000-000000000004", peer: netip.MustParseAddr("::"), client: netip.MustParseAddr("::"),
			port: otherPort, dc: "dc1", tokens: []string{"300"}},
	}}
	srv, _ := startAddrFake(t, f)
	var logs logBuffer
	rec := &dialRecorder{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Connect(ctx, Config{ContactPoints: []string{srv.Addr()}, RefreshInterval: -1,
		SchemaAgreementTimeout: -1, ReconnectBase: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond,
		Logger: logs.logger(), DialContext: rec.dial})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitFor(t, "pools to both usable nodes", func() bool {
		up := 0
		for _, h := range s.Hosts() {
			if h.Up && (h.Host.ID == id(localID) || h.Host.ID == id("c0ffee00-0000-4000-8000-000000000002")) {
				up++
			}
		}
		return up == 2
	})
	// Give the session time to dial anything else it means to.
	time.Sleep(200 * time.Millisecond)
	hosts := s.Hosts()
	if len(hosts) != 2 {
		t.Errorf("session hosts %+v, want the control node and the wildcard peer", hosts)
	}
	for _, h := range hosts {
		checkDialable(t, "host address", h.Addr.String())
	}
	for _, a := range rec.dialled() {
		checkDialable(t, "dialled", a)
	}
	if l := logs.String(); strings.Contains(l, "invalid AddrPort") || strings.Contains(l, "addr=0.0.0.0") {
		t.Errorf("the session tried an unusable address:\n%s", l)
	}
}
