package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/internal/testserver"
)

// Tests of Config.Resolver. Fake nodes (vnet_fake_test.go): the test owns
// the name resolution, the nodes' addresses and the moment they change,
// none of which a real cluster on one machine gives at unit level.

func threeNodes(t *testing.T) *vnet {
	return startVnet(t, vnodeSpec{"dc1", "r1"}, vnodeSpec{"dc1", "r1"}, vnodeSpec{"dc1", "r1"})
}

// TestContactPointNameEveryAddress: every address a contact point's name
// resolves to is tried, in the resolver's order, until one works: here
// one refuses connections and one is a server that refuses the handshake
// (it wants a login), before node A.
func TestContactPointNameEveryAddress(t *testing.T) {
	v := threeNodes(t)
	broken, err := testserver.Start(testserver.Options{Authenticator: "org.apache.cassandra.auth.PasswordAuthenticator",
		NewSASL: (&testserver.Plain{Users: map[string]string{"u": "p"}}).NewSASL, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer broken.Close()
	v.route("10.0.0.99:9042", broken.Addr())
	var asked []string
	var mu sync.Mutex
	cfg := v.config()
	cfg.ContactPoints = []string{"cassandra.test"}
	cfg.Resolver = func(_ context.Context, host string) ([]netip.Addr, error) {
		mu.Lock()
		asked = append(asked, host)
		mu.Unlock()
		return []netip.Addr{netip.MustParseAddr("10.0.0.98"), netip.MustParseAddr("10.0.0.99"),
			netip.MustParseAddr("::ffff:10.0.0.1")}, nil
	}
	s := v.connect(t, cfg)
	if got := s.Watcher().ControlAddr(); got != "10.0.0.1:9042" {
		t.Errorf("control connection to %s, want A at 10.0.0.1:9042", got)
	}
	mu.Lock()
	if !slices.Equal(asked, []string{"cassandra.test"}) {
		t.Errorf("resolver asked %q, want cassandra.test once", asked)
	}
	mu.Unlock()
	refused, handshake, a := v.dialsTo("10.0.0.98:9042"), v.dialsTo("10.0.0.99:9042"), v.dialsTo("10.0.0.1:9042")
	if len(refused) != 1 || len(handshake) != 1 || len(a) == 0 {
		t.Fatalf("dials: %d to the refusing address, %d to the server wanting a login, %d to A; want 1, 1, some", len(refused), len(handshake), len(a))
	}
	if !refused[0].at.Before(handshake[0].at) || !handshake[0].at.Before(a[0].at) {
		t.Error("the addresses were not tried in the resolver's order")
	}
	if len(s.Hosts()) != 3 {
		t.Errorf("hosts %+v, want A, B and C", s.Hosts())
	}
}

// TestContactPointsReresolvedWhenAllMove: the contact point is a name; all
// nodes change address at once (a Kubernetes rolling restart seen from a
// client that was away, or a whole StatefulSet recreated). No known
// address answers, so the session resolves the name again, finds the
// nodes at their new addresses, moves every pool there, and serves
// statements, without a restart. While a known node answers, the name is
// not resolved again.
func TestContactPointsReresolvedWhenAllMove(t *testing.T) {
	v := threeNodes(t)
	var calls atomic.Int32
	cfg := v.config()
	cfg.ContactPoints = []string{"cassandra.test"}
	cfg.Resolver = func(_ context.Context, host string) ([]netip.Addr, error) {
		calls.Add(1)
		if host != "cassandra.test" {
			return nil, fmt.Errorf("no such host %q", host)
		}
		return v.addrs(), nil
	}
	s := v.connect(t, cfg)
	ctx := testCtx(t)
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d resolutions at Connect, want 1", n)
	}

	// The control node's connections drop: the watcher reconnects to a
	// known node, without resolving.
	refreshes := func() int {
		s.watcher.mu.Lock()
		defer s.watcher.mu.Unlock()
		return s.watcher.refreshes
	}
	before := refreshes()
	v.byAddr(s.Watcher().ControlAddr()).srv.KillConnections()
	waitFor(t, "a new control connection", func() bool { return refreshes() > before })
	if n := calls.Load(); n != 1 {
		t.Errorf("%d resolutions after a reconnection to a known node, want still 1", n)
	}

	// Every node moves at once.
	old := map[string]bool{}
	v.mu.Lock()
	for i, n := range v.nodes {
		old[n.addr.String()] = true
		n.addr = netip.MustParseAddrPort(fmt.Sprintf("10.0.1.%d:9042", i+1))
	}
	v.mu.Unlock()
	t0 := time.Now()
	for _, n := range v.nodes {
		n.srv.KillConnections()
	}
	waitFor(t, "every pool at the new addresses", func() bool {
		hosts := s.Hosts()
		for _, h := range hosts {
			if old[h.Addr.String()] || h.State != StateUp {
				return false
			}
		}
		return len(hosts) == 3
	})
	recovered := time.Now()
	t.Logf("recovered %v after the move, %d resolutions", recovered.Sub(t0), calls.Load())
	if calls.Load() < 2 {
		t.Errorf("%d resolutions: the name was not resolved again", calls.Load())
	}
	for i := range 30 {
		res, err := s.Query("SELECT v FROM ks1.t").Idempotent(true).Run(ctx)
		if err != nil {
			t.Fatalf("statement %d after the move: %v", i, err)
		}
		if !strings.HasPrefix(res.Coordinator, "10.0.1.") {
			t.Fatalf("statement %d answered by %s", i, res.Coordinator)
		}
	}
	// The old addresses are forgotten.
	time.Sleep(300 * time.Millisecond)
	for a := range old {
		for _, d := range v.dialsTo(a) {
			if d.at.After(recovered) {
				t.Errorf("dialled the old address %s %v after recovering", a, d.at.Sub(recovered))
			}
		}
	}
}

// TestContactPointResolveErrors: a name that does not resolve, or resolves
// to nothing usable, fails Connect with ErrNoHostAvailable naming it and
// wrapping the resolver's error; the other contact points are still tried.
func TestContactPointResolveErrors(t *testing.T) {
	v := threeNodes(t)
	errNX := errors.New("no such host")
	resolver := func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "empty.test":
			return []netip.Addr{netip.IPv4Unspecified(), {}}, nil
		case "a.test":
			return []netip.Addr{netip.MustParseAddr("10.0.0.1")}, nil
		}
		return nil, errNX
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range []struct {
		contacts []string
		want     []string // in the error; none: Connect succeeds
		is       error
	}{
		{[]string{"missing.test"}, []string{`resolving contact point "missing.test"`, "no such host"}, errNX},
		{[]string{"empty.test:9042"}, []string{`"empty.test" resolved to no usable address`}, nil},
		{[]string{"missing.test", "empty.test", "a.test"}, nil, nil},
		{[]string{"missing.test", "10.0.0.2"}, nil, nil},
	} {
		cfg := v.config()
		cfg.ContactPoints = c.contacts
		cfg.Resolver = resolver
		s, err := Connect(ctx, cfg)
		if c.want == nil {
			if err != nil {
				t.Errorf("%v: %v", c.contacts, err)
				continue
			}
			s.Close()
			continue
		}
		if err == nil {
			s.Close()
			t.Errorf("%v: Connect succeeded", c.contacts)
			continue
		}
		if !errors.Is(err, ErrNoHostAvailable) || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("%v: error %v does not match ErrNoHostAvailable and %v", c.contacts, err, c.is)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q does not say %q", c.contacts, err, w)
			}
		}
	}
}

// namedLogin is a PLAIN login that records the host name each connection
// gives the authenticator.
type namedLogin struct {
	auth.Plain
	mu    sync.Mutex
	hosts []string
}

func (l *namedLogin) Start(ctx context.Context, server auth.ServerInfo) (auth.Exchange, []byte, error) {
	l.mu.Lock()
	l.hosts = append(l.hosts, server.Host)
	l.mu.Unlock()
	return l.Plain.Start(ctx, server)
}

// TestContactPointNameIsServerName: the control connection to an address
// of a contact point's name knows the node by that name (what TLS verifies
// the certificate against and Kerberos builds its principal from), as when
// the name itself was dialled. A fake node requiring a login, on the real
// loopback address the test's resolver gives for the name.
func TestContactPointNameIsServerName(t *testing.T) {
	f := &fakeCluster{}
	var h testserver.Handler
	srv, err := testserver.Start(testserver.Options{Handler: func(r *testserver.Request) testserver.Reply { return h(r) },
		Authenticator: "org.apache.cassandra.auth.PasswordAuthenticator",
		NewSASL:       (&testserver.Plain{Users: map[string]string{"u": "p"}}).NewSASL, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	port := netip.MustParseAddrPort(srv.Addr()).Port()
	h = f.handler(t, int(port))
	login := &namedLogin{Plain: auth.Plain{Username: "u", Password: "p"}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Connect(ctx, Config{ContactPoints: []string{fmt.Sprintf("node1.test:%d", port)}, Authenticator: login,
		RefreshInterval: -1, SchemaAgreementTimeout: -1,
		Resolver: func(context.Context, string) ([]netip.Addr, error) {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	login.mu.Lock()
	defer login.mu.Unlock()
	if len(login.hosts) < 2 || login.hosts[0] != "node1.test" || login.hosts[1] != "127.0.0.1" {
		t.Errorf("the logins knew the node as %q, want node1.test (the control connection), then 127.0.0.1 (the pool, dialled at the address the node reports)", login.hosts)
	}
}
