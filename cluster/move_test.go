package cluster

import (
	"context"
	"errors"
	"math"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/query"
)

// Nodes that move or join. Fake nodes (vnet_fake_test.go): the test
// chooses when a node's address changes and when a new node starts to
// accept connections, and sees every dial; a real cluster gives neither
// at unit level (the real-cluster tests of issue 12 do it with
// devcluster).

// load runs idempotent QUORUM statements on random keys from workers
// goroutines until stop is called, which returns how many ran and the
// errors.
func load(t *testing.T, s *Session, workers int) (stop func() (int, []error)) {
	t.Helper()
	ctx, cancel := context.WithCancel(testCtx(t))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	var ran atomic.Int64
	for w := range workers {
		wg.Go(func() {
			for k := int32(w); ctx.Err() == nil; k += int32(workers) {
				err := s.Query("SELECT v FROM t WHERE id = ?", k%500).Consistency(frame.Quorum).Idempotent(true).Exec(ctx)
				if err != nil && !errors.Is(err, context.Canceled) {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
				ran.Add(1)
				time.Sleep(time.Millisecond)
			}
		})
	}
	return func() (int, []error) {
		cancel()
		wg.Wait()
		return int(ran.Load()), errs
	}
}

func hostByID(s *Session, id string) (HostInfo, bool) {
	for _, h := range s.Hosts() {
		if h.ID().String() == id {
			return h, true
		}
	}
	return HostInfo{}, false
}

// TestNodeMoveDrainsOldPool: node C stops, comes back on a new address
// with the same host_id, and the cluster says so (NEW_NODE and UP for the
// new address). The session sees one node moving, serves C's traffic at
// the new address, closes the old pool and never dials the old address
// again; idempotent statements running all along do not fail.
func TestNodeMoveDrainsOldPool(t *testing.T) {
	v := threeNodes(t)
	cfg := v.config()
	cfg.Keyspace = "ks1"
	s := v.connect(t, cfg)
	C := v.node(2)
	oldAddr := v.addrOf(C)
	stop := load(t, s, 8)
	time.Sleep(100 * time.Millisecond)

	// C stops: its address refuses connections, its connections drop.
	v.setListening(C, false)
	C.srv.KillConnections()
	time.Sleep(200 * time.Millisecond)
	// C starts on a new address.
	const newAddr = "10.0.9.3:9042"
	v.move(C, newAddr)
	v.setListening(C, true)
	t0 := time.Now()
	sent := v.broadcast(&frame.TopologyChange{Change: frame.TopologyNewNode, Address: netip.MustParseAddrPort(newAddr)})
	sent += v.broadcast(&frame.StatusChange{Change: frame.StatusUp, Address: netip.MustParseAddrPort(newAddr)})
	if sent == 0 {
		t.Fatal("the events reached no control connection")
	}
	var moved time.Time
	waitFor(t, "C up at its new address", func() bool {
		h, ok := hostByID(s, C.id)
		if ok && h.Addr.String() == newAddr && moved.IsZero() {
			moved = time.Now()
		}
		return ok && h.Addr.String() == newAddr && h.State == StateUp
	})
	t.Logf("C seen at its new address %v after the events, up %v after", moved.Sub(t0), time.Since(t0))
	if n := len(s.Hosts()); n != 3 {
		t.Errorf("%d hosts after the move, want 3 (one node moved, none added)", n)
	}
	if p := s.routing.Load().pools[C.hostID()]; p == nil || p.Addr() != newAddr {
		t.Errorf("C's pool is not at %s", newAddr)
	}
	before := C.stmts.Load()
	waitFor(t, "statements on C at its new address", func() bool { return C.stmts.Load() > before+10 })
	time.Sleep(500 * time.Millisecond) // many reconnection rounds at 10 to 50 ms
	ran, errs := stop()
	if len(errs) > 0 {
		t.Errorf("%d of %d idempotent statements failed during the move, the first: %v", len(errs), ran, errs[0])
	}
	for _, d := range v.dialsTo(oldAddr) {
		if d.at.After(moved.Add(20 * time.Millisecond)) {
			t.Errorf("dialled C's old address %v after the session saw the move", d.at.Sub(moved))
		}
	}
}

func (n *vnode) hostID() [16]byte { return id(n.id) }

// TestNewNodeNotRoutableUntilItAnswers: node D joins the ring (it is in
// system.peers with tokens, and NEW_NODE arrives) before it accepts CQL
// connections. No statement is sent to D meanwhile and none fails; the
// session keeps trying to connect; once D accepts connections it becomes
// up and takes the statements of its token ranges.
func TestNewNodeNotRoutableUntilItAnswers(t *testing.T) {
	v := threeNodes(t)
	var toD atomic.Int32
	const dAddr = "10.0.0.4:9042"
	cfg := v.config()
	cfg.Keyspace = "ks1"
	cfg.Observer = query.ObserverFuncs{OnStart: func(a query.Attempt) {
		if a.Host == dAddr {
			toD.Add(1)
		}
	}}
	s := v.connect(t, cfg)
	stop := load(t, s, 4)

	// D's tokens sit half way between each of A's and the next: D is the
	// primary replica of some keys.
	half := int64(math.MaxUint64 / uint64(vnodeTokens*3) / 2)
	var tokens []string
	for _, tk := range v.node(0).tokens {
		x, err := strconv.ParseInt(tk, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, strconv.FormatInt(x+half, 10))
	}
	D := v.addNode(vnodeSpec{"dc1", "r1"}, dAddr, tokens, false)
	if v.broadcast(&frame.TopologyChange{Change: frame.TopologyNewNode, Address: netip.MustParseAddrPort(dAddr)}) == 0 {
		t.Fatal("the event reached no control connection")
	}
	waitFor(t, "the session to know D", func() bool { _, ok := hostByID(s, D.id); return ok })
	t0 := time.Now()
	waitFor(t, "D's replicas in the ring", func() bool {
		for k := range int32(200) {
			if r := s.Replicas("ks1", intKey(k)); len(r) > 0 && r[0].ID().String() == D.id {
				return true
			}
		}
		return false
	})
	time.Sleep(time.Second)
	if h, _ := hostByID(s, D.id); h.State != StateDown && h.State != StateConnecting {
		t.Errorf("D, which refuses connections, is %v", h.State)
	}
	dials := len(v.dialsTo(dAddr))
	if dials < 3 {
		t.Errorf("%d connection attempts to D in %v: the session gave up", dials, time.Since(t0))
	}
	if n := toD.Load(); n != 0 {
		t.Errorf("%d attempts went to D before it accepted connections", n)
	}
	if D.stmts.Load() != 0 {
		t.Error("D received statements")
	}

	v.setListening(D, true)
	waitFor(t, "D up", func() bool { h, _ := hostByID(s, D.id); return h.State == StateUp })
	waitFor(t, "statements on D", func() bool { return D.stmts.Load() > 10 })
	ran, errs := stop()
	if len(errs) > 0 {
		t.Errorf("%d of %d idempotent statements failed during the join, the first: %v", len(errs), ran, errs[0])
	}
}

// TestUpEventConnectsNewNodeAtOnce: with a long reconnection backoff, a
// node that joined before accepting connections is connected as soon as
// the cluster says it is UP, not at the end of the backoff (the watcher
// took the node for up when it appeared, so the UP event changes nothing
// in its own view, but it is still the hint to connect now).
func TestUpEventConnectsNewNodeAtOnce(t *testing.T) {
	v := threeNodes(t)
	const dAddr = "10.0.0.4:9042"
	cfg := v.config()
	cfg.ReconnectBase, cfg.ReconnectMax = 30*time.Second, time.Minute
	s := v.connect(t, cfg)
	D := v.addNode(vnodeSpec{"dc1", "r1"}, dAddr, []string{"12345"}, false)
	v.broadcast(&frame.TopologyChange{Change: frame.TopologyNewNode, Address: netip.MustParseAddrPort(dAddr)})
	waitFor(t, "a failed first dial to D", func() bool { h, _ := hostByID(s, D.id); return h.State == StateDown })
	v.setListening(D, true)
	t0 := time.Now()
	v.broadcast(&frame.StatusChange{Change: frame.StatusUp, Address: netip.MustParseAddrPort(dAddr)})
	waitFor(t, "D up", func() bool { h, _ := hostByID(s, D.id); return h.State == StateUp })
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("D up %v after the UP event", d)
	}
}
