package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/pool"
	"github.com/cqlwire/cqlwire/query"
)

// Defaults of the Config fields whose zero value means "default".
const (
	DefaultConnectTimeout         = conn.DefaultDialTimeout
	DefaultSchemaAgreementTimeout = 10 * time.Second
	DefaultMaxPreparedStatements  = 10000
)

// Config configures a Session. It is plain data: every field's zero value
// is documented, Connect validates it once and never modifies it.
type Config struct {
	// ContactPoints are the first nodes to connect to: "host", "host:port",
	// IP addresses or names. At least one is needed; the others are
	// discovered. A name is resolved (with Resolver) at Connect and again
	// whenever no known node answers, every address it resolves to being
	// tried: a cluster whose nodes all changed address (a Kubernetes
	// rolling restart) is found again behind its name.
	ContactPoints []string
	// Resolver resolves the host names of ContactPoints. Nil means
	// net.DefaultResolver; with a DialContext and no Resolver the names
	// are passed to DialContext as they are. See WatcherConfig.Resolver.
	Resolver func(ctx context.Context, host string) ([]netip.Addr, error)
	// Port is the native port of contact points given without one and of
	// nodes found in legacy system.peers tables. Zero means 9042.
	Port int

	// LocalDatacenter is the data centre whose nodes take the requests
	// (the others only with RemoteHostsPerDC). It must exist: Connect
	// fails naming the known ones otherwise. Empty treats every data
	// centre as local, fine for a single-DC cluster.
	LocalDatacenter string
	// LocalRack, when set, prefers the nodes of that rack of the local data
	// centre (rack-aware routing).
	LocalRack string
	// RemoteHostsPerDC is how many nodes of each remote data centre a
	// request may fall back to after all local nodes; zero means none.
	RemoteHostsPerDC int

	// Keyspace is the keyspace of unqualified table names, set on every
	// connection (USE). Empty means none: qualify names, or use
	// Query.Keyspace with protocol v5.
	Keyspace string

	// Username and Password log in with PLAIN SASL when the server asks
	// for authentication (PasswordAuthenticator). Authenticator, when not
	// nil, is used instead (auth.Plain with an AuthorizationID for DSE,
	// auth/kerberos's kerberos.GSSAPI, ...).
	Username      string
	Password      auth.Secret
	Authenticator auth.Authenticator

	// TLS, when not nil, connects with TLS, verifying the nodes'
	// certificates against TLS.CAFile / CAPEM (or the system roots).
	// TLSConfig is for a configuration built by the caller; set at most one.
	TLS       *conn.TLSOptions
	TLSConfig *tls.Config

	// ProtocolVersion is 4 or 5 to use only that version; zero negotiates
	// the highest the nodes speak (v5, then v4).
	ProtocolVersion frame.Version
	// Compression is "" (none), "lz4" (v4 and v5) or "snappy" (v4 only).
	Compression string

	// ConnectTimeout bounds each connection attempt (TCP, TLS, handshake,
	// authentication). Zero means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// PoolSize is the number of connections to each node; zero means
	// pool.DefaultPoolSize (2).
	PoolSize int
	// ReconnectBase and ReconnectMax bound the backoff of connections
	// being replaced; zero means the pool package's defaults.
	ReconnectBase, ReconnectMax time.Duration
	// HeartbeatInterval, StallTimeout and ProbeTimeout decide when a
	// connection is probed and given up on: see conn.Config (zero means
	// conn.DefaultHeartbeatInterval, 30 s; conn.DefaultStallTimeout,
	// 500 ms; conn.DefaultProbeTimeout, 1 s). With the defaults a node
	// that freezes under traffic is avoided by new requests within about
	// 500 ms and its connections are closed (their idempotent requests
	// retried on other nodes) within about 1.5 s.
	HeartbeatInterval time.Duration
	StallTimeout      time.Duration
	ProbeTimeout      time.Duration

	// DefaultProfile holds the consistency, timeouts, retry and
	// speculative policies and page size of statements that name no
	// profile; its zero fields take query.Profile's defaults (LOCAL_ONE,
	// 12 s, the default retry policy, no speculation, pages of 5000 rows).
	// Profiles are the named alternatives a statement can select with
	// Query.Profile; their zero fields are taken from DefaultProfile.
	DefaultProfile query.Profile
	Profiles       map[string]query.Profile

	// Policy chooses the nodes of each request. Nil means token-aware
	// routing over DC-aware round robin, with LocalDatacenter, LocalRack
	// and RemoteHostsPerDC. HostFilter, when not nil, excludes nodes from
	// every plan and from connection pools.
	Policy     pool.Policy
	HostFilter func(*pool.Host) bool

	// Observer is told when each attempt of each statement starts and ends
	// (for metrics and tracing). Nil means none.
	Observer query.Observer
	// Timestamps generates the client-side write timestamp of every
	// statement. Nil means query.NewMonotonicTimestamps(); a generator
	// returning 0 lets the server choose.
	Timestamps query.TimestampGenerator

	// SchemaAgreementTimeout bounds the wait, after a statement that
	// changed the schema, until every node reports the same schema
	// version. Zero means DefaultSchemaAgreementTimeout; negative means no
	// wait.
	SchemaAgreementTimeout time.Duration
	// Throttle bounds the statements running at once and waiting for
	// their turn; the zero value throttles nothing. See Throttle.
	Throttle Throttle
	// MaxPreparedStatements bounds the prepared statement cache. Zero
	// means DefaultMaxPreparedStatements.
	MaxPreparedStatements int

	// AddressTranslator maps the addresses nodes report to the addresses
	// to dial (NAT). RefreshInterval and EventDebounce: see WatcherConfig.
	AddressTranslator func(netip.AddrPort) netip.AddrPort
	RefreshInterval   time.Duration
	EventDebounce     time.Duration

	// Logger receives connection, topology and schema agreement events at
	// Debug to Warn level. Nil means silent. Statements and credentials are
	// never logged.
	Logger *slog.Logger

	// DialContext replaces the TCP dialer (proxies, tests). Nil means a
	// net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Session is a connection to a cluster: a topology watcher, a pool of
// connections to each node, and the statement executor. It is safe for
// concurrent use; make one per cluster and share it.
type Session struct {
	cfg       Config
	connCfg   conn.Config
	watcher   *Watcher
	policy    pool.Policy
	log       *slog.Logger
	observer  query.Observer
	stamps    query.TimestampGenerator
	profile   *query.Profile // the default profile, with defaults filled
	profiles  map[string]*query.Profile
	prepared  *preparedCache
	throttle  *throttler // nil: no throttling
	agreement time.Duration

	// statements is observer when it also follows whole statements
	// (checked once, by newSession); metrics counts for Metrics.
	statements query.StatementObserver
	metrics    sessionMetrics

	// routing is what requests read: the current snapshot, view and pools,
	// replaced as a whole (never modified) on every change.
	routing atomic.Pointer[routing]

	mu      sync.Mutex // guards hosts, closed and the building of routing
	hosts   map[pool.HostID]*hostEntry
	closed  bool
	wake    chan struct{}
	closing chan struct{}
	// closeCtx is cancelled by Close: the context of background work.
	closeCtx    context.Context
	cancelClose context.CancelFunc
	wg          sync.WaitGroup // the reconciler, dialers and drainers
}

// hostEntry is the session's state for one node: its pool, once dialled.
type hostEntry struct {
	info    HostInfo
	pool    *pool.HostPool // nil until dialled
	dialing bool
	failed  int       // consecutive failed first dials
	retryAt time.Time // next first-dial attempt after a failure
	lastErr error
}

// routing is an immutable snapshot of what the request path needs.
type routing struct {
	snap  *pool.Snapshot
	view  *pool.ClusterView
	pools map[pool.HostID]*pool.HostPool
	known []HostInfo
}

var (
	// ErrSessionClosed is returned by every statement after Close.
	ErrSessionClosed = errors.New("cluster: session closed")
	// ErrNotFound is returned by Query.One when the result has no row.
	ErrNotFound = errors.New("cluster: no row in the result")
	// ErrNoHostAvailable is matched (errors.Is) by *NoHostAvailableError,
	// and by every Connect error saying that no node could be used.
	ErrNoHostAvailable = errors.New("no host available")
	// ErrInvalidConfig is wrapped by the Connect errors about the Config
	// itself, including a LocalDatacenter the cluster does not have.
	ErrInvalidConfig = errors.New("invalid Config")
)

// Connect connects to the cluster: it validates cfg, opens the control
// connection to the first contact point that answers, discovers the
// other nodes, and opens a pool of connections to each node the policy
// may use. It returns once every pool's first dial has succeeded or failed
// (failed ones are retried in the background), and fails if no node could
// be reached. ctx bounds all of that.
//
// Every error it returns matches (errors.Is) one of:
//   - ErrInvalidConfig: cfg cannot work (including a LocalDatacenter the
//     cluster does not have);
//   - ErrNoHostAvailable: no node could be used; the error is (or wraps) a
//     *NoHostAvailableError with each node's reason, which errors.As finds
//     among them (a *conn.Error, a *frame.Error such as bad credentials,
//     conn.ErrNoCredentials when the nodes require a login and none is
//     configured);
//   - ctx's error, when ctx ended first (together with ErrNoHostAvailable
//     when no node had answered by then).
func Connect(ctx context.Context, cfg Config) (*Session, error) {
	s, err := newSession(cfg)
	if err != nil {
		return nil, err
	}
	wcfg := WatcherConfig{
		ContactPoints:     cfg.ContactPoints,
		Resolver:          cfg.Resolver,
		Port:              cfg.Port,
		Conn:              &s.connCfg,
		AddressTranslator: cfg.AddressTranslator,
		RefreshInterval:   cfg.RefreshInterval,
		EventDebounce:     cfg.EventDebounce,
		Logger:            s.log,
		OnHostEvent:       s.onHostEvent,
	}
	ctl := s.connCfg
	ctl.Keyspace = "" // the control connection reads system tables only
	wcfg.Conn = &ctl
	w, err := StartWatcher(ctx, wcfg)
	if err != nil {
		s.cancelClose()
		return nil, connectErr(err)
	}
	s.watcher = w
	if err := s.checkLocalDC(); err != nil {
		w.Close()
		s.cancelClose()
		return nil, err
	}
	s.wg.Add(1)
	go s.reconcileLoop()
	if err := s.firstDials(ctx); err != nil {
		s.Close()
		return nil, connectErr(err)
	}
	return s, nil
}

func newSession(cfg Config) (*Session, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("cluster: %w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	if len(cfg.ContactPoints) == 0 {
		return nil, bad("ContactPoints is empty: give at least one node address")
	}
	for i, cp := range cfg.ContactPoints {
		if strings.TrimSpace(cp) == "" {
			return nil, bad("ContactPoints[%d] is empty", i)
		}
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, bad("Port %d is not a TCP port", cfg.Port)
	}
	switch cfg.ProtocolVersion {
	case 0, frame.V4, frame.V5:
	default:
		return nil, bad("ProtocolVersion %d: only 4 and 5 are supported (0 negotiates)", cfg.ProtocolVersion)
	}
	switch cfg.Compression {
	case "", "lz4":
	case "snappy":
		if cfg.ProtocolVersion == frame.V5 {
			return nil, bad(`Compression "snappy" exists only in protocol v4; use "lz4" with v5`)
		}
	default:
		return nil, bad(`Compression %q: use "", "lz4" or "snappy"`, cfg.Compression)
	}
	if cfg.TLS != nil && cfg.TLSConfig != nil {
		return nil, bad("set TLS or TLSConfig, not both")
	}
	if cfg.Authenticator != nil && (cfg.Username != "" || cfg.Password != "") {
		return nil, bad("set Username/Password or Authenticator, not both")
	}
	if cfg.Username == "" && cfg.Password != "" {
		return nil, bad("Password is set but Username is empty")
	}
	if cfg.PoolSize < 0 || cfg.PoolSize > 64 {
		return nil, bad("PoolSize %d: use 1 to 64 (0 means %d)", cfg.PoolSize, pool.DefaultPoolSize)
	}
	if cfg.RemoteHostsPerDC < 0 {
		return nil, bad("RemoteHostsPerDC is negative")
	}
	if cfg.MaxPreparedStatements < 0 {
		return nil, bad("MaxPreparedStatements is negative")
	}
	if cfg.Keyspace != "" && strings.ContainsAny(cfg.Keyspace, " ;\n\t") && !strings.HasPrefix(cfg.Keyspace, `"`) {
		return nil, bad("Keyspace %q is not a keyspace name", cfg.Keyspace)
	}

	s := &Session{
		cfg:      cfg,
		log:      cfg.Logger,
		observer: cfg.Observer,
		stamps:   cfg.Timestamps,
		hosts:    map[pool.HostID]*hostEntry{},
		wake:     make(chan struct{}, 1),
		closing:  make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.statements, _ = cfg.Observer.(query.StatementObserver)
	s.closeCtx, s.cancelClose = context.WithCancel(context.Background())
	if s.stamps == nil {
		s.stamps = query.NewMonotonicTimestamps()
	}
	def, err := cfg.DefaultProfile.WithDefaults()
	if err != nil {
		return nil, bad("DefaultProfile: %v", err)
	}
	s.profile = &def
	s.profiles = make(map[string]*query.Profile, len(cfg.Profiles))
	for name, p := range cfg.Profiles {
		merged := inheritProfile(p, def)
		if merged, err = merged.WithDefaults(); err != nil {
			return nil, bad("Profiles[%q]: %v", name, err)
		}
		s.profiles[name] = &merged
	}
	max := cfg.MaxPreparedStatements
	if max == 0 {
		max = DefaultMaxPreparedStatements
	}
	s.prepared = newPreparedCache(max)
	if s.throttle, err = newThrottler(cfg.Throttle); err != nil {
		return nil, bad("%v", err)
	}
	s.agreement = cfg.SchemaAgreementTimeout
	if s.agreement == 0 {
		s.agreement = DefaultSchemaAgreementTimeout
	}

	cc := conn.Config{
		MaxVersion:        cfg.ProtocolVersion,
		MinVersion:        cfg.ProtocolVersion,
		Compression:       cfg.Compression,
		Authenticator:     cfg.Authenticator,
		TLS:               cfg.TLSConfig,
		DialTimeout:       cfg.ConnectTimeout,
		HeartbeatInterval: cfg.HeartbeatInterval,
		StallTimeout:      cfg.StallTimeout,
		ProbeTimeout:      cfg.ProbeTimeout,
		Keyspace:          cfg.Keyspace,
		Logger:            s.log,
		// Every request carries its statement's remaining time
		// (conn.Request.Timeout); this is only the bound of requests
		// sent without one.
		Timeout: s.profile.RequestTimeout,
	}
	if cc.Timeout < 0 {
		cc.Timeout = -1
	}
	if cc.DialTimeout == 0 {
		cc.DialTimeout = DefaultConnectTimeout
	}
	if cfg.Username != "" {
		cc.Authenticator = auth.Plain{Username: cfg.Username, Password: cfg.Password}
	}
	if cfg.TLS != nil {
		tc, err := cfg.TLS.Config()
		if err != nil {
			return nil, fmt.Errorf("cluster: TLS: %w", err)
		}
		cc.TLS = tc
	}
	cc.DialContext = cfg.DialContext
	s.connCfg = cc

	s.policy = cfg.Policy
	if s.policy == nil {
		loc := pool.Locality{Datacenter: cfg.LocalDatacenter, Rack: cfg.LocalRack}
		s.policy = pool.NewTokenAware(
			pool.NewDCAwareRoundRobin(pool.DCAwareOptions{Locality: loc, RemoteHostsPerDC: cfg.RemoteHostsPerDC}),
			pool.TokenAwareOptions{})
	}
	if cfg.HostFilter != nil {
		s.policy = pool.Filter(s.policy, cfg.HostFilter)
	}
	s.routing.Store(&routing{})
	return s, nil
}

// inheritProfile fills the zero fields of p from def.
func inheritProfile(p, def query.Profile) query.Profile {
	if p.Consistency == 0 {
		p.Consistency = def.Consistency
	}
	if p.SerialConsistency == 0 {
		p.SerialConsistency = def.SerialConsistency
	}
	if p.RequestTimeout == 0 {
		p.RequestTimeout = def.RequestTimeout
	}
	if p.Retry == nil {
		p.Retry = def.Retry
	}
	if p.Speculative == nil {
		p.Speculative = def.Speculative
	}
	if p.PageSize == 0 {
		p.PageSize = def.PageSize
	}
	return p
}

// connectErr adds to a Connect failure what the caller can do about it.
func connectErr(err error) error {
	if errors.Is(err, conn.ErrNoCredentials) {
		return fmt.Errorf("cluster: the nodes require a login: set Config.Username and Config.Password (or Config.Authenticator): %w", err)
	}
	return err
}

// checkLocalDC fails when LocalDatacenter names a data centre no node is in.
func (s *Session) checkLocalDC() error {
	dc := s.cfg.LocalDatacenter
	if dc == "" {
		return nil
	}
	var known []string
	for _, h := range s.watcher.Hosts() {
		if h.Host.Datacenter == dc {
			return nil
		}
		if !slices.Contains(known, h.Host.Datacenter) {
			known = append(known, h.Host.Datacenter)
		}
	}
	return fmt.Errorf("cluster: %w: LocalDatacenter %q has no nodes (the cluster's data centres: %s)", ErrInvalidConfig, dc, strings.Join(known, ", "))
}

// wanted reports whether the session keeps a pool to h: the policy may
// send it requests.
func (s *Session) wanted(h HostInfo) bool {
	if s.cfg.HostFilter != nil && !s.cfg.HostFilter(h.Host) {
		return false
	}
	if s.cfg.Policy != nil || s.cfg.LocalDatacenter == "" || s.cfg.RemoteHostsPerDC > 0 {
		return true
	}
	return h.Host.Datacenter == s.cfg.LocalDatacenter
}

// onHostEvent runs on the watcher's goroutine: it must not block.
func (s *Session) onHostEvent(ev HostEvent) {
	switch ev.Kind {
	case HostUp:
		// The server says the node is back: retry its connections now
		// rather than at the end of their backoff.
		s.mu.Lock()
		if e := s.hosts[ev.Host.Host.ID]; e != nil {
			if e.pool != nil {
				e.pool.Wake()
			}
			e.retryAt = time.Time{}
		}
		s.mu.Unlock()
	case HostDown:
		// Gossip says the node is down. Its connections may still look
		// open (a frozen process keeps its sockets): that is evidence, so
		// probe them now; any that get nothing back are closed within
		// ProbeTimeout, and the pool reconnects with its backoff.
		s.mu.Lock()
		if e := s.hosts[ev.Host.Host.ID]; e != nil && e.pool != nil {
			e.pool.Probe()
		}
		s.mu.Unlock()
	}
	s.poke()
}

func (s *Session) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// firstDials dials the pools of the hosts known at connect time and waits
// for their first dial (success or failure).
func (s *Session) firstDials(ctx context.Context) error {
	s.reconcile()
	for {
		s.mu.Lock()
		pending, up := 0, 0
		var errs []HostError
		for _, e := range s.hosts {
			switch {
			case e.dialing:
				pending++
			case e.pool != nil:
				up++
			case e.lastErr != nil:
				errs = append(errs, HostError{Addr: e.info.Addr.String(), Err: e.lastErr})
			}
		}
		s.mu.Unlock()
		if pending == 0 {
			if up == 0 {
				if len(errs) == 0 {
					return fmt.Errorf("cluster: %w: no node to connect to (every node is filtered out or in another data centre)", ErrNoHostAvailable)
				}
				return &NoHostAvailableError{Errors: errs}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			if up > 0 {
				return nil
			}
			return fmt.Errorf("cluster: connecting to the nodes: %w (%w)", context.Cause(ctx), &NoHostAvailableError{Errors: errs})
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// reconcileLoop keeps a pool for every wanted host: it adds pools for new
// hosts, replaces the pool of a host that moved, drains and closes the
// pool of a removed one, and retries first dials that failed.
func (s *Session) reconcileLoop() {
	defer s.wg.Done()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-s.wake:
		case <-tick.C:
		}
		s.reconcile()
	}
}

func (s *Session) reconcile() {
	infos := s.watcher.Hosts()
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	seen := make(map[pool.HostID]bool, len(infos))
	for _, h := range infos {
		if !s.wanted(h) {
			continue
		}
		seen[h.Host.ID] = true
		e := s.hosts[h.Host.ID]
		switch {
		case e == nil:
			e = &hostEntry{info: h}
			s.hosts[h.Host.ID] = e
		case e.info.Addr != h.Addr:
			// Same node, new address: a new pool at the new address; the
			// old one finishes its requests first.
			s.log.Info("node moved", "host_id", h.Host.ID, "from", e.info.Addr, "to", h.Addr)
			if e.pool != nil {
				s.drain(e.pool)
			}
			e.pool, e.failed, e.retryAt, e.lastErr = nil, 0, time.Time{}, nil
			e.info = h
		default:
			e.info = h
		}
		if e.pool == nil && !e.dialing && !now.Before(e.retryAt) {
			e.dialing = true
			s.wg.Add(1)
			go s.dial(e, h)
		}
	}
	for id, e := range s.hosts {
		if !seen[id] {
			s.log.Info("node removed", "host_id", id, "addr", e.info.Addr)
			if e.pool != nil {
				s.drain(e.pool)
			}
			delete(s.hosts, id)
		}
	}
	s.publishLocked()
}

// dial makes the first connection of a host's pool.
func (s *Session) dial(e *hostEntry, h HostInfo) {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(s.closeCtx)
	p, err := pool.NewHostPool(ctx, h.Addr.String(), &s.connCfg, pool.HostPoolOptions{
		Host:          h.Host,
		Size:          s.cfg.PoolSize,
		ReconnectBase: s.cfg.ReconnectBase,
		ReconnectMax:  s.cfg.ReconnectMax,
		OnStateChange: func(p *pool.HostPool, up bool, cause error) {
			if up {
				s.log.Info("node up", "addr", p.Addr())
			} else {
				s.log.Warn("node down: every connection failed", "addr", p.Addr(), "err", cause)
			}
		},
	})
	cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	e.dialing = false
	cur := s.hosts[h.Host.ID]
	if s.closed || cur != e || e.info.Addr != h.Addr {
		// Closed, removed or moved meanwhile: this pool is not wanted.
		if p != nil {
			s.wg.Add(1)
			go func() { defer s.wg.Done(); p.Close() }()
		}
		return
	}
	if err != nil {
		s.metrics.node(h.Host.ID).dialFailed(err)
		backoff := pool.Backoff{Base: s.cfg.ReconnectBase, Max: s.cfg.ReconnectMax}.Delay(e.failed)
		e.failed++
		e.lastErr = err
		e.retryAt = time.Now().Add(backoff)
		s.log.Warn("cannot connect to node", "addr", h.Addr, "err", err, "retry_in", backoff)
		return
	}
	e.pool, e.failed, e.lastErr = p, 0, nil
	s.publishLocked()
}

// drain closes a pool once its requests in flight are answered (or after
// the default request timeout): a node leaving the ring must not fail the
// requests it is executing. s.mu held.
func (s *Session) drain(p *pool.HostPool) {
	limit := s.profile.RequestTimeout
	if limit <= 0 {
		limit = query.DefaultRequestTimeout
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		deadline := time.Now().Add(limit)
		for p.InFlight() > 0 && time.Now().Before(deadline) {
			select {
			case <-s.closing:
				deadline = time.Now()
			case <-time.After(10 * time.Millisecond):
			}
		}
		p.Close()
	}()
}

// publishLocked builds and stores a new routing from the hosts' pools and
// the watcher's snapshot. s.mu held.
func (s *Session) publishLocked() {
	pools := make(map[pool.HostID]*pool.HostPool, len(s.hosts))
	known := make([]HostInfo, 0, len(s.hosts))
	hosts := make([]*pool.Host, 0, len(s.hosts))
	for id, e := range s.hosts {
		known = append(known, e.info)
		hosts = append(hosts, e.info.Host)
		if e.pool != nil {
			pools[id] = e.pool
		}
	}
	// A stable order, so that round robin is fair and tests repeatable.
	slices.SortFunc(hosts, func(a, b *pool.Host) int { return strings.Compare(a.ID.String(), b.ID.String()) })
	snap := s.watcher.Snapshot()
	up := func(h *pool.Host) bool {
		p := pools[h.ID]
		return p != nil && p.Up()
	}
	load := func(h *pool.Host) pool.Load {
		p := pools[h.ID]
		if p == nil {
			return pool.Load{}
		}
		return pool.Load{InFlight: p.InFlight(), Suspect: p.Suspect()}
	}
	view := pool.NewClusterView(snap, hosts, up).WithLoad(load)
	s.routing.Store(&routing{snap: snap, view: view, pools: pools, known: known})
}

// addrOf returns the address of h for error messages (its host id when
// the routing does not know it).
func (r *routing) addrOf(h *pool.Host) string {
	for _, k := range r.known {
		if k.Host.ID == h.ID {
			return k.Addr.String()
		}
	}
	return "host " + h.ID.String()
}

// currentRouting returns the routing, rebuilt first if the watcher has
// published a new snapshot (a schema or topology change) since.
func (s *Session) currentRouting() *routing {
	r := s.routing.Load()
	if snap := s.watcher.Snapshot(); snap != r.snap {
		s.mu.Lock()
		if r = s.routing.Load(); r.snap != snap && !s.closed {
			s.publishLocked()
			r = s.routing.Load()
		}
		s.mu.Unlock()
	}
	return r
}

// Hosts returns every node of the cluster as the session knows it,
// sorted by address: its host_id, data centre and rack (ID, Datacenter,
// Rack), address, release version, tokens, and State, which says whether
// requests can go to it. Up is true for StateUp and StateSuspect (the
// node's pool has a live connection), Suspect for StateSuspect. Nodes the
// session keeps no pool for (another data centre, Config.HostFilter) are
// listed with StateIgnored. It returns nothing after Close.
func (s *Session) Hosts() []HostInfo {
	out := s.hostInfos()
	slices.SortFunc(out, func(a, b HostInfo) int { return a.Addr.Compare(b.Addr) })
	return out
}

// Watcher returns the session's topology watcher (schema metadata, ring
// snapshot, schema agreement).
func (s *Session) Watcher() *Watcher { return s.watcher }

// Schema returns the schema metadata of the last refresh.
func (s *Session) Schema() *Schema { return s.watcher.Schema() }

// Close closes every connection, waits for the session's goroutines to end,
// and fails the statements still running with ErrSessionClosed (or a
// connection error). It is idempotent.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.cancelClose()
	pools := make([]*pool.HostPool, 0, len(s.hosts))
	for _, e := range s.hosts {
		if e.pool != nil {
			pools = append(pools, e.pool)
		}
	}
	s.hosts = map[pool.HostID]*hostEntry{}
	s.routing.Store(&routing{snap: s.routing.Load().snap})
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range pools {
		wg.Go(func() { p.Close() })
	}
	wg.Wait()
	if s.watcher != nil {
		s.watcher.Close()
	}
	s.wg.Wait()
	return nil
}

func (s *Session) isClosed() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}
