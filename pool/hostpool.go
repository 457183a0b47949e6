package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
)

// Defaults of the HostPoolOptions fields whose zero value means "default".
const (
	// DefaultPoolSize is the number of connections per host. One connection
	// multiplexes conn.MaxStreams (32768) requests, far more than a node
	// serves at once, so streams are never what limits a pool. A second
	// connection is for two other reasons: while one connection is replaced
	// the host stays UP and keeps serving on the other, and the server
	// handles each connection on one event-loop thread (and each side reads
	// one connection with one goroutine), so two connections let two cores
	// work for one client. More rarely helps; raise it for clients that push
	// more than one connection's bandwidth to a single node.
	DefaultPoolSize = 2

	// DefaultReconnectBase is the first delay before reconnecting a broken
	// connection: short, so that a blip (a killed connection, a restart)
	// costs little.
	DefaultReconnectBase = 100 * time.Millisecond

	// DefaultReconnectMax caps the delay between reconnection attempts: a
	// node that comes back after a long outage is noticed within about
	// this long even without a STATUS_CHANGE event (HostPool.Wake makes it
	// immediate), while a node that stays away costs each pool connection
	// one dial every few seconds.
	DefaultReconnectMax = 10 * time.Second
)

var (
	// ErrHostDown is wrapped by Pick's error when the host has no live
	// connection.
	ErrHostDown = errors.New("host is down")
	// ErrPoolClosed is wrapped by Pick's error after Close.
	ErrPoolClosed = errors.New("pool closed")
)

// HostPoolOptions configures a HostPool. The zero value means the defaults.
type HostPoolOptions struct {
	// Host is the host the pool is for; the pool only hands it back (Host
	// and OnStateChange), so that the caller can key per-host state on it.
	Host *Host

	// Size is the number of connections; zero means DefaultPoolSize.
	Size int

	// ReconnectBase and ReconnectMax bound the delay before each attempt
	// to replace a broken connection: it starts at ReconnectBase, doubles
	// after every failed attempt up to ReconnectMax, and is then jittered
	// to a random value between half of it and all of it, so that the
	// pools of many clients do not reconnect in lockstep. Zero means
	// DefaultReconnectBase and DefaultReconnectMax. The delay returns to
	// ReconnectBase only once a connection has stayed up for ReconnectMax,
	// so a server that accepts connections and drops them at once gets no
	// tight loop either.
	ReconnectBase, ReconnectMax time.Duration

	// OnStateChange, when not nil, is called when the host goes DOWN (its
	// last live connection failed; cause is that connection's error) and
	// UP again (a reconnection succeeded; cause is nil). Calls are
	// serialized and in order. It may call any method of the pool except
	// Close, and should return quickly.
	OnStateChange func(p *HostPool, up bool, cause error)
}

// HostPool is a fixed number of connections to one host, kept open in the
// background: each broken connection is replaced with exponential backoff
// and jitter. The host is DOWN when all its connections have failed, UP
// again as soon as one reconnects. Safe for concurrent use.
type HostPool struct {
	addr string
	host *Host
	cfg  conn.Config // pinned to the first connection's version
	opts HostPoolOptions

	version frame.Version

	live atomic.Pointer[[]*conn.Conn] // immutable; nil or empty: none
	next atomic.Uint32                // rotates Pick's starting point

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	slots   []*conn.Conn // nil for a slot being reconnected
	up      bool         // guarded by mu
	upFlag  atomic.Bool  // up, for lock-free reads on the request path
	lastErr error
	wake    chan struct{} // closed by Wake, then replaced
	closed  bool

	notifyMu sync.Mutex // orders OnStateChange calls

	counters poolCounters // see Metrics
}

// NewHostPool opens opts.Size connections to addr with cfg. The first
// connection is dialled alone and negotiates the protocol version; every
// later connection (the others, and every replacement) is pinned to that
// version. If the first dial fails, NewHostPool returns its error and
// nothing stays open. If a later one fails, the pool is returned UP, and
// the missing connections are dialled again in the background. ctx bounds
// the initial dials only.
func NewHostPool(ctx context.Context, addr string, cfg *conn.Config, opts HostPoolOptions) (*HostPool, error) {
	if opts.Size == 0 {
		opts.Size = DefaultPoolSize
	}
	if opts.ReconnectBase == 0 {
		opts.ReconnectBase = DefaultReconnectBase
	}
	if opts.ReconnectMax == 0 {
		opts.ReconnectMax = DefaultReconnectMax
	}
	switch {
	case opts.Size < 0:
		return nil, fmt.Errorf("pool: host %s: Size %d is negative", addr, opts.Size)
	case opts.ReconnectBase < 0 || opts.ReconnectMax < opts.ReconnectBase:
		return nil, fmt.Errorf("pool: host %s: reconnect delays %v to %v: want 0 < base <= max",
			addr, opts.ReconnectBase, opts.ReconnectMax)
	}
	p := &HostPool{addr: addr, host: opts.Host, opts: opts, wake: make(chan struct{})}
	if cfg != nil {
		p.cfg = *cfg
	}

	first, err := conn.Dial(ctx, addr, &p.cfg)
	if err != nil {
		return nil, fmt.Errorf("pool: host %s: %w", addr, err)
	}
	p.version = first.Version()
	p.cfg.MinVersion, p.cfg.MaxVersion = p.version, p.version

	p.slots = make([]*conn.Conn, opts.Size)
	p.slots[0] = first
	var dials sync.WaitGroup
	errs := make([]error, opts.Size)
	for i := 1; i < opts.Size; i++ {
		dials.Go(func() { p.slots[i], errs[i] = conn.Dial(ctx, addr, &p.cfg) })
	}
	dials.Wait()
	for _, err := range errs {
		p.counters.dialFailed(err)
	}
	p.up = true
	p.upFlag.Store(true)
	p.lastErr = errors.Join(errs...)
	p.publish()

	p.ctx, p.cancel = context.WithCancel(context.Background())
	for i := range opts.Size {
		p.wg.Go(func() { p.run(i, p.slots[i]) })
	}
	return p, nil
}

// Addr is the address the pool dials.
func (p *HostPool) Addr() string { return p.addr }

// Host is HostPoolOptions.Host.
func (p *HostPool) Host() *Host { return p.host }

// Version is the protocol version of every connection of the pool.
func (p *HostPool) Version() frame.Version { return p.version }

// Size is the number of connections the pool keeps open.
func (p *HostPool) Size() int { return p.opts.Size }

// Live returns the number of live connections.
func (p *HostPool) Live() int {
	if l := p.live.Load(); l != nil {
		return len(*l)
	}
	return 0
}

// Up reports whether the host is UP: it has a live connection, or has
// not lost them all since one last reconnected.
// It takes no lock: policies call it for every candidate host of every
// request.
func (p *HostPool) Up() bool { return p.upFlag.Load() }

// InFlight returns the requests in flight on the pool's live connections
// (see conn.Conn.InFlight), for draining a pool before closing it.
func (p *HostPool) InFlight() int {
	n := 0
	if l := p.live.Load(); l != nil {
		for _, c := range *l {
			n += c.InFlight()
		}
	}
	return n
}

// SuspectWindow is how long a host stays suspect after one of its
// requests timed out (see HostPool.Suspect).
const SuspectWindow = time.Second

// Suspect reports that the host is up but should get new requests only if
// no healthier replica can take them: one of its connections has requests
// waiting while nothing arrives (conn.Conn.Suspect: a frozen node is
// suspect within conn.Config.StallTimeout), or a request to it timed out
// within the last SuspectWindow. Like Up it takes no lock.
func (p *HostPool) Suspect() bool {
	l := p.live.Load()
	if l == nil {
		return false
	}
	for _, c := range *l {
		if c.Suspect() || c.TimedOutWithin(SuspectWindow) {
			return true
		}
	}
	return false
}

// Probe asks each live connection to check now that the node answers
// (conn.Conn.Probe): one that receives nothing within its ProbeTimeout is
// closed and replaced. For when the cluster reports the node down while
// its connections look open.
func (p *HostPool) Probe() {
	if l := p.live.Load(); l != nil {
		for _, c := range *l {
			c.Probe()
		}
	}
}

// Pick returns the live connection with the fewest requests in flight,
// passing over suspect ones (see conn.Conn.Suspect) while another is not. It
// takes no lock and allocates nothing while the host has a live
// connection. The connection may still break after Pick returns it (Do
// then fails with a conn.Error saying whether the request was sent).
func (p *HostPool) Pick() (*conn.Conn, error) {
	l := p.live.Load()
	if l != nil {
		cs := *l
		n := len(cs)
		if n > 0 {
			start := int(p.next.Add(1) % uint32(n))
			var best *conn.Conn
			bestLoad, bestSuspect := 0, false
			for k := range n {
				c := cs[(start+k)%n]
				select {
				case <-c.Done():
					continue // broken; its slot will notice
				default:
				}
				load, suspect := c.InFlight(), c.Suspect()
				if best == nil || (bestSuspect && !suspect) || (suspect == bestSuspect && load < bestLoad) {
					best, bestLoad, bestSuspect = c, load, suspect
				}
			}
			if best != nil {
				return best, nil
			}
		}
	}
	return nil, p.downErr()
}

func (p *HostPool) downErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("pool: host %s: %w", p.addr, ErrPoolClosed)
	}
	if p.lastErr != nil {
		return fmt.Errorf("pool: host %s: %w: %w", p.addr, ErrHostDown, p.lastErr)
	}
	return fmt.Errorf("pool: host %s: %w", p.addr, ErrHostDown)
}

// Wake makes every slot being reconnected try again now, with its backoff
// reset: for when the cluster learns the host is back (a STATUS_CHANGE UP
// event). It does nothing to live connections.
func (p *HostPool) Wake() {
	p.mu.Lock()
	if !p.closed {
		close(p.wake)
		p.wake = make(chan struct{})
	}
	p.mu.Unlock()
}

// Close stops reconnecting, closes every connection (failing their
// requests in flight with conn.ErrClosed) and waits for the pool's
// goroutines to finish. Calling it again does nothing.
func (p *HostPool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.upFlag.Store(false)
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
	p.live.Store(nil)
	return nil
}

// publish stores the live connections of p.slots. p.mu held (or no
// goroutine started yet).
func (p *HostPool) publish() {
	l := make([]*conn.Conn, 0, len(p.slots))
	for _, c := range p.slots {
		if c != nil {
			l = append(l, c)
		}
	}
	p.live.Store(&l)
}

// run keeps slot i connected until Close. c is its connection, or nil.
func (p *HostPool) run(i int, c *conn.Conn) {
	attempt := 0
	for {
		if c != nil {
			since := time.Now()
			select {
			case <-c.Done():
			case <-p.ctx.Done():
				c.Close()
				return
			}
			if time.Since(since) >= p.opts.ReconnectMax {
				attempt = 0
			}
			p.lost(i, c.Err())
			c = nil
		}

		p.mu.Lock()
		wake := p.wake
		p.mu.Unlock()
		t := time.NewTimer(p.delay(attempt))
		select {
		case <-t.C:
			attempt++
		case <-wake:
			t.Stop()
			attempt = 0
		case <-p.ctx.Done():
			t.Stop()
			return
		}

		nc, err := conn.Dial(p.ctx, p.addr, &p.cfg)
		if err != nil {
			if p.ctx.Err() == nil { // not Close cutting the dial short
				p.counters.dialFailed(err)
			}
			p.mu.Lock()
			p.lastErr = err
			p.mu.Unlock()
			if l := p.cfg.Logger; l != nil {
				l.Debug("pool: reconnection failed", "addr", p.addr, "attempt", attempt, "err", err)
			}
			continue
		}
		if !p.found(i, nc) {
			nc.Close()
			return
		}
		c = nc
	}
}

// delay is the jittered backoff before attempt number n (from 0).
func (p *HostPool) delay(n int) time.Duration {
	return Backoff{Base: p.opts.ReconnectBase, Max: p.opts.ReconnectMax}.Delay(n)
}

// lost records that slot i's connection broke with err.
func (p *HostPool) lost(i int, err error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	if c := p.slots[i]; c != nil {
		p.counters.retire(c)
	}
	p.slots[i] = nil
	p.publish()
	if err != nil {
		p.lastErr = err
	}
	down := p.up && p.Live() == 0
	if down {
		p.up = false
		p.upFlag.Store(false)
	}
	p.notify(down, false, err)
}

// found installs c in slot i; false if the pool is closed.
func (p *HostPool) found(i int, c *conn.Conn) bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	p.slots[i] = c
	p.publish()
	p.counters.reconnections.Add(1)
	becameUp := !p.up
	p.up = true
	p.upFlag.Store(true)
	p.notify(becameUp, true, nil)
	return true
}

// notify unlocks p.mu and, if changed, reports the new state, in order
// with the other reports but without holding p.mu.
func (p *HostPool) notify(changed, up bool, cause error) {
	if !changed || p.opts.OnStateChange == nil {
		p.mu.Unlock()
		return
	}
	p.notifyMu.Lock()
	p.mu.Unlock()
	defer p.notifyMu.Unlock()
	if cause != nil {
		cause = fmt.Errorf("pool: host %s: %w", p.addr, cause)
	}
	p.opts.OnStateChange(p, up, cause)
}
