package cluster

import (
	"context"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testserver"
	"github.com/cqlwire/cqlwire/pool"
	"github.com/cqlwire/cqlwire/types"
)

// fakePeer is one row of the fake system.peers(_v2).
type fakePeer struct {
	id     string
	addr   netip.Addr
	tokens []string
}

// fakeCluster answers the system tables of a made-up cluster: the
// server itself (host id ...01) and the peers, all in dc1/rack1.
type fakeCluster struct {
	noV2 bool

	mu    sync.Mutex
	peers []fakePeer

	localQueries atomic.Int32
	peersV1      atomic.Int32
	peersV2      atomic.Int32
}

func (f *fakeCluster) setPeers(p ...fakePeer) {
	f.mu.Lock()
	f.peers = p
	f.mu.Unlock()
}

var (
	varchar = types.Native(types.Varchar)
	inetT   = types.Native(types.Inet)
	uuidT   = types.Native(types.UUID)
	intT    = types.Native(types.Int)
	textSet = types.SetOf(varchar)
)

type cell struct {
	name string
	typ  *types.Type
	v    any
}

func rowsOf(t testing.TB, table string, rows ...[]cell) *frame.Rows {
	r := &frame.Rows{Metadata: frame.RowsMetadata{Flags: frame.MetaGlobalTablesSpec}}
	for i, row := range rows {
		var cells [][]byte
		for _, c := range row {
			if i == 0 {
				r.Metadata.Columns = append(r.Metadata.Columns,
					frame.ColumnSpec{Keyspace: "system", Table: table, Name: c.name, Type: c.typ})
			}
			b, null, err := types.Append(nil, c.typ, c.v)
			if err != nil {
				t.Errorf("%s.%s: %v", table, c.name, err)
			}
			if null {
				b = nil
			}
			cells = append(cells, b)
		}
		if err := r.AppendRow(cells...); err != nil {
			t.Error(err)
		}
	}
	return r
}

const localID = "c0ffee00-0000-4000-8000-000000000001"

func (f *fakeCluster) handler(t testing.TB, port int) testserver.Handler {
	return func(req *testserver.Request) testserver.Reply {
		if req.Header.Opcode != frame.OpQuery {
			return req.Default()
		}
		env, err := req.Envelope()
		if err != nil {
			return req.Default()
		}
		q := env.Message.(*frame.Query).Query
		lo := netip.MustParseAddr("127.0.0.1")
		sv := "c0ffee00-0000-4000-8000-0000000000aa"
		switch {
		case strings.Contains(q, "system.local"):
			f.localQueries.Add(1)
			return testserver.Reply{Message: rowsOf(t, "local", []cell{
				{"key", varchar, "local"}, {"data_center", varchar, "dc1"}, {"rack", varchar, "rack1"},
				{"host_id", uuidT, localID}, {"partitioner", varchar, "org.apache.cassandra.dht.Murmur3Partitioner"},
				{"release_version", varchar, "5.0.6"}, {"rpc_address", inetT, lo}, {"rpc_port", intT, port},
				{"schema_version", uuidT, sv}, {"tokens", textSet, []string{"0"}},
			})}
		case strings.Contains(q, "system.peers_v2"):
			f.peersV2.Add(1)
			if f.noV2 {
				return testserver.Reply{Message: &frame.Error{Code: frame.CodeInvalid, Message: "table peers_v2 does not exist"}}
			}
			fallthrough
		case strings.Contains(q, "system.peers"):
			v2 := strings.Contains(q, "peers_v2")
			if !v2 {
				f.peersV1.Add(1)
			}
			f.mu.Lock()
			peers := f.peers
			f.mu.Unlock()
			var rows [][]cell
			for _, p := range peers {
				row := []cell{{"peer", inetT, p.addr}, {"data_center", varchar, "dc1"}, {"rack", varchar, "rack1"},
					{"host_id", uuidT, p.id}, {"release_version", varchar, "5.0.6"},
					{"schema_version", uuidT, sv}, {"tokens", textSet, p.tokens}}
				if v2 {
					row = append(row, cell{"native_address", inetT, p.addr}, cell{"native_port", intT, 1})
				} else {
					row = append(row, cell{"rpc_address", inetT, p.addr})
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
				{"replication", types.MapOf(varchar, varchar), map[string]string{"class": "SimpleStrategy", "replication_factor": "2"}},
			})}
		}
		return req.Default()
	}
}

type eventLog struct {
	mu  sync.Mutex
	evs []HostEvent
}

func (l *eventLog) add(ev HostEvent) { l.mu.Lock(); l.evs = append(l.evs, ev); l.mu.Unlock() }
func (l *eventLog) take() []HostEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.evs
	l.evs = nil
	return e
}

func startFake(t *testing.T, f *fakeCluster, cfg WatcherConfig) (*testserver.Server, *Watcher) {
	t.Helper()
	var h testserver.Handler
	srv, err := testserver.Start(testserver.Options{Handler: func(r *testserver.Request) testserver.Reply { return h(r) }, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	port := netip.MustParseAddrPort(srv.Addr()).Port()
	h = f.handler(t, int(port))
	cfg.ContactPoints = []string{srv.Addr()}
	if cfg.Port == 0 {
		cfg.Port = 1 // nothing listens there: legacy peers are unreachable
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := StartWatcher(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return srv, w
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func id(s string) pool.HostID {
	u, err := types.ParseUUID(s)
	if err != nil {
		panic(err)
	}
	return pool.HostID(u)
}

const peerID = "c0ffee00-0000-4000-8000-000000000002"

func TestFakeDiscoveryAndSnapshot(t *testing.T) {
	f := &fakeCluster{}
	f.setPeers(fakePeer{peerID, netip.MustParseAddr("127.0.0.2"), []string{"100"}})
	var log eventLog
	_, w := startFake(t, f, WatcherConfig{OnHostEvent: log.add, RefreshInterval: -1})
	hosts := w.Hosts()
	if len(hosts) != 2 {
		t.Fatalf("hosts %+v", hosts)
	}
	for _, h := range hosts {
		switch h.Host.ID {
		case id(localID):
			if !h.Control || h.Addr.String() != w.ControlAddr() {
				t.Errorf("local %+v, control %s", h, w.ControlAddr())
			}
		case id(peerID):
			if h.Addr != netip.MustParseAddrPort("127.0.0.2:1") || h.Host.Datacenter != "dc1" || h.Tokens[0] != "100" {
				t.Errorf("peer %+v", h)
			}
		default:
			t.Errorf("unknown host %+v", h)
		}
	}
	if evs := log.take(); len(evs) != 2 || evs[0].Kind != HostAdded || evs[1].Kind != HostAdded {
		t.Errorf("events %+v", evs)
	}
	s := w.Snapshot()
	reps := s.Replicas("ks1", pool.Murmur3(50))
	if len(reps) != 2 || reps[0].ID != id(peerID) || reps[1].ID != id(localID) {
		t.Errorf("replicas of 50: %v", reps)
	}
	if err := w.WaitSchemaAgreement(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestFakeLegacyPeers(t *testing.T) {
	f := &fakeCluster{noV2: true}
	f.setPeers(fakePeer{peerID, netip.MustParseAddr("127.0.0.2"), []string{"100"}})
	_, w := startFake(t, f, WatcherConfig{Port: 1, RefreshInterval: -1})
	if f.peersV1.Load() == 0 {
		t.Error("system.peers never read")
	}
	var found bool
	for _, h := range w.Hosts() {
		if h.Host.ID == id(peerID) {
			found = true
			if h.Addr != netip.MustParseAddrPort("127.0.0.2:1") {
				t.Errorf("legacy peer address %v", h.Addr)
			}
		}
	}
	if !found {
		t.Error("legacy peer missing")
	}
	v2 := f.peersV2.Load()
	if err := w.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.peersV2.Load() != v2 {
		t.Error("peers_v2 asked again on the same control connection")
	}
}

// A storm of 100 events (schema and topology mixed) within the debounce
// window causes exactly one refresh of the system tables.
func TestFakeEventBurstOneRefresh(t *testing.T) {
	f := &fakeCluster{}
	srv, w := startFake(t, f, WatcherConfig{RefreshInterval: -1, EventDebounce: 200 * time.Millisecond})
	before := f.localQueries.Load()
	for i := range 100 {
		ev := frame.Event(&frame.SchemaChangeEvent{SchemaChange: frame.SchemaChange{ChangeType: frame.SchemaCreated, Target: frame.TargetKeyspace, Keyspace: "k"}})
		if i%2 == 1 {
			ev = &frame.TopologyChange{Change: frame.TopologyNewNode, Address: netip.MustParseAddrPort("127.0.0.9:9042")}
		}
		if srv.Broadcast(ev) != 1 {
			t.Fatal("event not queued")
		}
	}
	waitFor(t, "a refresh", func() bool { return f.localQueries.Load() > before })
	time.Sleep(600 * time.Millisecond)
	if n := f.localQueries.Load() - before; n != 1 {
		t.Errorf("%d refreshes after a burst of 100 events, want 1", n)
	}
	_ = w
}

func TestFakeHostMoves(t *testing.T) {
	f := &fakeCluster{}
	f.setPeers(fakePeer{peerID, netip.MustParseAddr("127.0.0.2"), []string{"100"}})
	var log eventLog
	_, w := startFake(t, f, WatcherConfig{OnHostEvent: log.add, RefreshInterval: -1})
	log.take()
	before := w.Snapshot().Replicas("ks1", pool.Murmur3(50))[0]
	f.setPeers(fakePeer{peerID, netip.MustParseAddr("127.0.0.5"), []string{"100"}})
	if err := w.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs := log.take()
	if len(evs) != 1 || evs[0].Kind != HostMoved || evs[0].OldAddr.String() != "127.0.0.2:1" ||
		evs[0].Host.Addr.String() != "127.0.0.5:1" || evs[0].Host.Host.ID != id(peerID) {
		t.Fatalf("events %+v, want one move", evs)
	}
	if after := w.Snapshot().Replicas("ks1", pool.Murmur3(50))[0]; after != before {
		t.Error("the moved host is a new *pool.Host")
	}
	// Removal, then status hints.
	f.setPeers()
	if err := w.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if evs := log.take(); len(evs) != 1 || evs[0].Kind != HostRemoved {
		t.Fatalf("events %+v, want one removal", evs)
	}
}

func TestFakeStatusEvents(t *testing.T) {
	f := &fakeCluster{}
	f.setPeers(fakePeer{peerID, netip.MustParseAddr("127.0.0.2"), []string{"100"}})
	var log eventLog
	srv, _ := startFake(t, f, WatcherConfig{OnHostEvent: log.add, RefreshInterval: -1,
		AddressTranslator: func(a netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a.Addr(), 1) }})
	log.take()
	// A change of a kind the driver does not know is ignored, not taken for DOWN.
	srv.Broadcast(&frame.StatusChange{Change: "SUSPENDED", Address: netip.MustParseAddrPort("127.0.0.2:9042")})
	time.Sleep(100 * time.Millisecond)
	if evs := log.take(); len(evs) != 0 {
		t.Errorf("an unknown status change gave events %+v", evs)
	}
	srv.Broadcast(&frame.StatusChange{Change: frame.StatusDown, Address: netip.MustParseAddrPort("127.0.0.2:9042")})
	waitFor(t, "a down event", func() bool {
		log.mu.Lock()
		defer log.mu.Unlock()
		return len(log.evs) > 0
	})
	time.Sleep(50 * time.Millisecond)
	if evs := log.take(); len(evs) != 1 || evs[0].Kind != HostDown || evs[0].Host.Host.ID != id(peerID) {
		t.Errorf("events %+v, want one DOWN", evs)
	}
}

func TestFakeReconnect(t *testing.T) {
	f := &fakeCluster{}
	f.setPeers(fakePeer{peerID, netip.MustParseAddr("127.0.0.2"), []string{"100"}})
	srv, w := startFake(t, f, WatcherConfig{RefreshInterval: -1, ReconnectMin: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond})
	before := f.localQueries.Load()
	if srv.KillConnections() == 0 {
		t.Fatal("no connection killed")
	}
	waitFor(t, "a new control connection", func() bool {
		return f.localQueries.Load() > before && w.ControlAddr() != ""
	})
	// The new connection is registered: an event leads to a refresh.
	n := f.localQueries.Load()
	waitFor(t, "an event delivered", func() bool {
		return srv.Broadcast(&frame.TopologyChange{Change: frame.TopologyNewNode, Address: netip.MustParseAddrPort("127.0.0.9:9042")}) == 1
	})
	waitFor(t, "a refresh after the event", func() bool { return f.localQueries.Load() > n })
}

func TestNoGoroutineLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	func() {
		f := &fakeCluster{}
		srv, err := testserver.Start(testserver.Options{})
		if err != nil {
			t.Fatal(err)
		}
		port := netip.MustParseAddrPort(srv.Addr()).Port()
		srv.Close()
		srv, err = testserver.Start(testserver.Options{Handler: f.handler(t, int(port)), Addr: srv.Addr()})
		if err != nil {
			t.Skip("port reuse:", err)
		}
		defer srv.Close()
		w, err := StartWatcher(context.Background(), WatcherConfig{ContactPoints: []string{srv.Addr()}, ReconnectMin: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		srv.KillConnections()
		time.Sleep(50 * time.Millisecond)
		w.Close()
	}()
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= base })
}
