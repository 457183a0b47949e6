package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/pool"
)

// Defaults of the WatcherConfig fields whose zero value means "default".
const (
	DefaultPort            = 9042
	DefaultRefreshInterval = 60 * time.Second
	DefaultEventDebounce   = 200 * time.Millisecond
	DefaultReconnectMin    = pool.DefaultReconnectBase
	DefaultReconnectMax    = pool.DefaultReconnectMax
	DefaultQueryTimeout    = 10 * time.Second
)

// WatcherConfig configures a Watcher. It is plain data; StartWatcher does not modify it.
type WatcherConfig struct {
	// ContactPoints are the nodes to connect to first: "host:port" or
	// "host" (then Port is used). A host name is resolved (see Resolver)
	// each time the contact points are tried: at start, and whenever no
	// known node answers, so that a cluster whose nodes all changed
	// address behind the same name is found again. Every address a name
	// resolves to is a contact point of its own, tried in the order given.
	ContactPoints []string
	// Resolver resolves the host names of ContactPoints. Nil means
	// net.DefaultResolver, except with a Conn.DialContext, which is then
	// given the names to resolve itself (it may lead to a proxy). A
	// connection to an address of a name verifies the node's TLS
	// certificate against the name (unless Conn.ServerName or the TLS
	// config's ServerName says otherwise).
	Resolver func(ctx context.Context, host string) ([]netip.Addr, error)
	// Port is the native port used for contact points without one and for
	// legacy system.peers rows (which report no port). Zero means 9042.
	Port int
	// Conn configures the control connection (authentication, TLS, ...).
	// Its Events field is ignored: the watcher uses its own channel.
	Conn *conn.Config
	// AddressTranslator, when not nil, maps each address a node reports
	// (native_address, rpc_address, event addresses) to the address to
	// dial, for NAT. It must be safe for concurrent use.
	AddressTranslator func(netip.AddrPort) netip.AddrPort
	// RefreshInterval is how often the system tables are re-read without
	// any event. Zero means DefaultRefreshInterval; negative disables it.
	RefreshInterval time.Duration
	// EventDebounce is the window after a first event during which further
	// events are folded into one refresh. Zero means DefaultEventDebounce.
	EventDebounce time.Duration
	// ReconnectMin and ReconnectMax bound the backoff between rounds of
	// control connection attempts. Zero means the defaults.
	ReconnectMin, ReconnectMax time.Duration
	// QueryTimeout bounds each refresh. Zero means DefaultQueryTimeout.
	QueryTimeout time.Duration
	// OnHostEvent, when not nil, is called for every host change, in order,
	// from the watcher's goroutine (or the goroutine calling Refresh). It
	// must not block and must not call Refresh or Close.
	OnHostEvent func(HostEvent)
	// Logger receives control connection events. Nil means silent.
	Logger *slog.Logger
}

// HostEventKind says what happened to a host.
type HostEventKind uint8

// The host events.
const (
	HostAdded   HostEventKind = iota + 1 // a new host_id appeared
	HostRemoved                          // a host_id is gone from the tables
	HostMoved                            // a known host_id has a new address
	HostChanged                          // data centre or rack changed (new *pool.Host)
	HostUp                               // the server said UP (also for a host already up)
	HostDown                             // the server said DOWN
)

func (k HostEventKind) String() string {
	switch k {
	case HostAdded:
		return "added"
	case HostRemoved:
		return "removed"
	case HostMoved:
		return "moved"
	case HostChanged:
		return "changed"
	case HostUp:
		return "up"
	case HostDown:
		return "down"
	}
	return "HostEventKind(" + strconv.Itoa(int(k)) + ")"
}

// HostEvent is one host change. Host is the host as it is now (as it was,
// for HostRemoved); OldAddr is the previous address of a HostMoved.
type HostEvent struct {
	Kind    HostEventKind
	Host    HostInfo
	OldAddr netip.AddrPort
}

// HostInfo is what the watcher knows of one host. Host is the pointer the
// ring and snapshots hand out, with the host_id, data centre and rack (also
// the ID, Datacenter and Rack methods); it stays the same for the life of
// the host_id unless the data centre or rack changes.
type HostInfo struct {
	Host *pool.Host
	// Addr is the address to dial (translated).
	Addr netip.AddrPort
	// ReleaseVersion is the node's Cassandra version (release_version).
	ReleaseVersion string
	Tokens         []string
	SchemaVersion  [16]byte
	// Up is false after a STATUS_CHANGE DOWN, until an UP. In
	// Session.Hosts it is the session's own view instead: whether the
	// node's pool has a live connection.
	Up bool
	// Suspect (Session.Hosts only) reports a node that is up but appears
	// not to answer: requests wait on it with nothing arriving, or one
	// timed out within the last second (see pool.HostPool.Suspect). New
	// requests go to other replicas first.
	Suspect bool
	// State (Session.Hosts and Session.Replicas only) is whether requests
	// can go to the node: see HostState. Watcher.Hosts leaves it
	// StateUnknown.
	State HostState
	// Control is true for the node of the control connection (system.local).
	Control bool
}

// Watcher is the topology watcher; see the package documentation. Its
// methods are safe for concurrent use.
type Watcher struct {
	cfg     WatcherConfig
	connCfg conn.Config
	log     *slog.Logger

	events  chan frame.Event
	closing chan struct{}
	done    chan struct{}
	ctx     context.Context // cancelled by Close
	cancel  context.CancelFunc
	once    sync.Once

	ctl  atomic.Pointer[conn.Conn]
	snap atomic.Pointer[pool.Snapshot]
	// schema is the metadata of the last successful refresh; see schema.go.
	schema atomic.Pointer[Schema]

	refreshMu sync.Mutex // serializes refreshes
	mu        sync.Mutex // guards the fields below
	hosts     map[pool.HostID]*HostInfo
	legacy    bool // the control node has no system.peers_v2
	refreshes int  // completed refreshes, for tests
}

// Start connects the control connection to the first contact point that
// answers, reads the topology once and starts watching it. ctx bounds
// only this first connection and read.
func StartWatcher(ctx context.Context, cfg WatcherConfig) (*Watcher, error) {
	if len(cfg.ContactPoints) == 0 {
		return nil, errors.New("cluster: no contact points")
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = DefaultRefreshInterval
	}
	if cfg.EventDebounce <= 0 {
		cfg.EventDebounce = DefaultEventDebounce
	}
	if cfg.ReconnectMin <= 0 {
		cfg.ReconnectMin = DefaultReconnectMin
	}
	if cfg.ReconnectMax < cfg.ReconnectMin {
		cfg.ReconnectMax = max(DefaultReconnectMax, cfg.ReconnectMin)
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = DefaultQueryTimeout
	}
	cfg.ContactPoints = append([]string(nil), cfg.ContactPoints...)
	for i, cp := range cfg.ContactPoints {
		if _, _, err := net.SplitHostPort(cp); err != nil {
			cfg.ContactPoints[i] = net.JoinHostPort(cp, strconv.Itoa(cfg.Port))
		}
	}
	w := &Watcher{
		cfg:     cfg,
		log:     cfg.Logger,
		events:  make(chan frame.Event, 256),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
		hosts:   map[pool.HostID]*HostInfo{},
	}
	if cfg.Conn != nil {
		w.connCfg = *cfg.Conn
	}
	w.connCfg.Events = w.events
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	if err := w.connect(ctx); err != nil {
		w.cancel()
		return nil, err
	}
	go w.run()
	return w, nil
}

// Close stops the watcher and closes the control connection. It waits for
// the watcher's goroutine to end.
func (w *Watcher) Close() error {
	w.once.Do(func() {
		close(w.closing)
		w.cancel()
		<-w.done
		if c := w.ctl.Swap(nil); c != nil {
			c.Close()
		}
	})
	return nil
}

// Snapshot returns the current ring with the replicas of every keyspace.
// It takes no lock. It is nil only if no refresh ever built a ring (e.g.
// an unknown partitioner).
func (w *Watcher) Snapshot() *pool.Snapshot { return w.snap.Load() }

// ControlAddr returns the address of the control connection, or "" while
// it is reconnecting.
func (w *Watcher) ControlAddr() string {
	if c := w.ctl.Load(); c != nil {
		return c.Addr()
	}
	return ""
}

// Hosts returns a copy of the known hosts.
func (w *Watcher) Hosts() []HostInfo {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]HostInfo, 0, len(w.hosts))
	for _, h := range w.hosts {
		out = append(out, *h)
	}
	return out
}

// Refresh re-reads the system tables now on the control connection.
func (w *Watcher) Refresh(ctx context.Context) error {
	c := w.ctl.Load()
	if c == nil {
		return errors.New("cluster: no control connection")
	}
	return w.refresh(ctx, c)
}

// connect tries the known hosts, then the contact points, once each, and
// installs the first control connection that registers and refreshes.
// The contact points' host names are resolved only once every known host
// has failed: they are how a cluster whose nodes all moved is found again.
func (w *Watcher) connect(ctx context.Context) error {
	var errs []HostError
	tried := map[string]bool{}
	try := func(c candidate) bool {
		if tried[c.addr] {
			return false
		}
		tried[c.addr] = true
		err := w.tryControl(ctx, c)
		if err == nil {
			return true
		}
		w.log.Warn("cluster: control connection failed", "addr", c.addr, "err", err)
		errs = append(errs, HostError{Addr: c.addr, Err: err})
		return false
	}
	stopped := func() error {
		return fmt.Errorf("cluster: opening the control connection: %w (%w)", context.Cause(ctx), &NoHostAvailableError{Errors: errs})
	}
	for _, addr := range w.knownCandidates() {
		if ctx.Err() != nil {
			return stopped()
		}
		if try(candidate{addr: addr}) {
			return nil
		}
	}
	for _, cp := range w.cfg.ContactPoints {
		if ctx.Err() != nil {
			return stopped()
		}
		cands, err := w.resolve(ctx, cp)
		if err != nil {
			w.log.Warn("cluster: cannot resolve a contact point", "contact_point", cp, "err", err)
			errs = append(errs, HostError{Addr: cp, Err: err})
			continue
		}
		for _, c := range cands {
			if ctx.Err() != nil {
				return stopped()
			}
			if try(c) {
				return nil
			}
		}
	}
	return &NoHostAvailableError{Errors: errs}
}

// candidate is an address to try for the control connection.
type candidate struct {
	addr string // host:port
	// serverName is the contact point's host name when addr is one of its
	// addresses: the name the node's certificate is verified against.
	serverName string
}

// knownCandidates lists the addresses of the known hosts to try: up
// hosts (shuffled), then down ones, the previous control node last.
func (w *Watcher) knownCandidates() []string {
	w.mu.Lock()
	var up, down, prev []string
	for _, h := range w.hosts {
		if !h.Addr.IsValid() {
			continue
		}
		switch a := h.Addr.String(); {
		case h.Control:
			prev = append(prev, a)
		case h.Up:
			up = append(up, a)
		default:
			down = append(down, a)
		}
	}
	w.mu.Unlock()
	rand.Shuffle(len(up), func(i, j int) { up[i], up[j] = up[j], up[i] })
	return slices.Concat(up, down, prev)
}

// resolve returns the addresses to try for contact point cp
// ("host:port"): cp itself when the host is an IP address (or when a
// custom dialer without a Resolver is to resolve it), else one per
// address the host name resolves to now, in the resolver's order.
func (w *Watcher) resolve(ctx context.Context, cp string) ([]candidate, error) {
	host, portStr, err := net.SplitHostPort(cp)
	if err != nil {
		return nil, fmt.Errorf("cluster: contact point %q is not host:port: %w", cp, err)
	}
	if _, err := netip.ParseAddr(host); err == nil || (w.cfg.Resolver == nil && w.connCfg.DialContext != nil) {
		return []candidate{{addr: cp}}, nil
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("cluster: contact point %q: port %q is not a TCP port", cp, portStr)
	}
	lookup := w.cfg.Resolver
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	timeout := w.connCfg.DialTimeout
	if timeout <= 0 {
		timeout = conn.DefaultDialTimeout
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ips, err := lookup(rctx, host)
	if err != nil {
		return nil, fmt.Errorf("cluster: resolving contact point %q: %w", host, err)
	}
	var out []candidate
	seen := map[netip.Addr]bool{}
	for _, ip := range ips {
		ip = ip.Unmap()
		if !usable(ip) || seen[ip] {
			continue
		}
		seen[ip] = true
		out = append(out, candidate{addr: netip.AddrPortFrom(ip, uint16(port)).String(), serverName: host})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("cluster: contact point %q resolved to no usable address (%v)", host, ips)
	}
	return out, nil
}

func (w *Watcher) tryControl(ctx context.Context, cand candidate) error {
	c, err := w.dialControl(ctx, cand)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, w.cfg.QueryTimeout)
	defer cancel()
	_, err = c.Do(rctx, conn.Request{Message: &frame.Register{EventTypes: []string{
		frame.EventTopologyChange, frame.EventStatusChange, frame.EventSchemaChange}}})
	if err == nil {
		w.mu.Lock()
		w.legacy = false
		w.mu.Unlock()
		err = w.refresh(rctx, c)
	}
	if err != nil {
		c.Close()
		return err
	}
	if old := w.ctl.Swap(c); old != nil {
		old.Close()
	}
	w.log.Info("cluster: control connection up", "addr", cand.addr)
	return nil
}

// run is the watcher's goroutine: events, debounce, periodic refresh and
// reconnection.
func (w *Watcher) run() {
	defer close(w.done)
	var tick <-chan time.Time
	if w.cfg.RefreshInterval > 0 {
		t := time.NewTicker(w.cfg.RefreshInterval)
		defer t.Stop()
		tick = t.C
	}
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	armed := false
	backoff := pool.Backoff{Base: w.cfg.ReconnectMin, Max: w.cfg.ReconnectMax}
	failed := 0
	for {
		c := w.ctl.Load()
		if c == nil {
			if err := w.connect(w.ctx); err != nil {
				d := backoff.Delay(failed)
				failed++
				select {
				case <-w.closing:
					return
				case <-time.After(d):
				}
				continue
			}
			failed = 0
			continue
		}
		select {
		case <-w.closing:
			return
		case <-c.Done():
			w.log.Warn("cluster: control connection lost", "addr", c.Addr(), "err", c.Err())
			w.ctl.CompareAndSwap(c, nil)
		case ev := <-w.events:
			if sc, ok := ev.(*frame.StatusChange); ok {
				w.status(sc)
			}
			if !armed {
				armed = true
				debounce.Reset(w.cfg.EventDebounce)
			}
		case <-debounce.C:
			armed = false
			w.refreshLogged(c)
		case <-tick:
			w.refreshLogged(c)
		}
	}
}

func (w *Watcher) refreshLogged(c *conn.Conn) {
	ctx, cancel := context.WithTimeout(w.ctx, w.cfg.QueryTimeout)
	defer cancel()
	if err := w.refresh(ctx, c); err != nil {
		w.log.Warn("cluster: refresh failed", "addr", c.Addr(), "err", err)
	}
}

// status applies a STATUS_CHANGE hint at once. An UP is notified even for
// a host already taken for up: a host is taken for up when it appears (a
// joining node, before it accepts connections), and the UP is the news that
// it now does.
func (w *Watcher) status(sc *frame.StatusChange) {
	var up bool
	switch sc.Change {
	case frame.StatusUp:
		up = true
	case frame.StatusDown:
	default:
		// A change this driver does not know says nothing it can act on.
		w.log.Debug("ignoring a STATUS_CHANGE of an unknown kind", "change", string(sc.Change), "addr", sc.Address)
		return
	}
	addr := w.translate(sc.Address)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, h := range w.hosts {
		if (h.Addr == addr || h.Addr == sc.Address) && (h.Up != up || up) {
			h.Up = up
			kind := HostDown
			if up {
				kind = HostUp
			}
			w.notify(HostEvent{Kind: kind, Host: *h})
		}
	}
}

func (w *Watcher) translate(a netip.AddrPort) netip.AddrPort {
	if w.cfg.AddressTranslator != nil && a.IsValid() {
		return w.cfg.AddressTranslator(a)
	}
	return a
}

// notify is called with w.mu held.
func (w *Watcher) notify(ev HostEvent) {
	if w.cfg.OnHostEvent != nil {
		w.cfg.OnHostEvent(ev)
	}
}
