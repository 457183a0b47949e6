package pool

import (
	"iter"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
)

// RoutingInfo is what a load-balancing policy knows about a request: the
// keyspace and the partition it touches. Both may be empty (a request that
// names no keyspace, or a statement without a routing key); policies then
// fall back to plain load balancing.
type RoutingInfo struct {
	Keyspace string
	// RoutingKey is the partition key's routing key (see AppendRoutingKey).
	RoutingKey []byte
	// Token, when not the zero Token, is the partition's token and takes
	// precedence over RoutingKey (the caller computed it already).
	Token Token
	// PrimaryFirst asks for the replicas in ring order, primary replica
	// first, neither shuffled nor reordered by load or rack: every client
	// then sends the request to the same coordinator. For conditional
	// statements (lightweight transactions), whose Paxos rounds contend
	// when several coordinators propose for one partition at once. Suspect
	// replicas still go last. TokenAware honours it; other policies may
	// ignore it.
	PrimaryFirst bool
}

// ClusterView is what policies plan over: the current [Snapshot], the known
// hosts grouped by data centre and rack, and a live host-state function. It
// is built once per topology or schema change (the lists are immutable and
// shared by every request); IsUp reads the caller's live state (typically
// [HostPool.Up] of the host's pool) on every call.
type ClusterView struct {
	snap  *Snapshot
	hosts []*Host
	dcs   []string // in order of first appearance in hosts
	byDC  map[string]*dcView
	up    func(*Host) bool
	load  func(*Host) Load
}

// Load is how busy and how healthy a host looks to the policies that order
// replicas by it.
type Load struct {
	// InFlight is the number of requests in flight on the host's
	// connections.
	InFlight int
	// Suspect reports that the host is up but appears not to be answering
	// (see HostPool.Suspect): it should get new requests only after the
	// hosts that are not suspect.
	Suspect bool
}

type dcView struct {
	hosts  []*Host
	byRack map[string][]*Host
}

// NewClusterView builds a view. snap may be nil (no token-aware routing).
// hosts are every known host, also those that own no tokens; nil means the
// hosts of snap's ring. Duplicate pointers are dropped. up reports whether
// a host can take requests; nil means every host is up. up is called
// concurrently by every request and must be cheap and safe for concurrent
// use.
func NewClusterView(snap *Snapshot, hosts []*Host, up func(*Host) bool) *ClusterView {
	if hosts == nil && snap != nil {
		hosts = snap.Ring().Hosts()
	}
	v := &ClusterView{snap: snap, up: up, byDC: map[string]*dcView{}}
	seen := make(map[*Host]bool, len(hosts))
	for _, h := range hosts {
		if h == nil || seen[h] {
			continue
		}
		seen[h] = true
		v.hosts = append(v.hosts, h)
		d := v.byDC[h.Datacenter]
		if d == nil {
			d = &dcView{byRack: map[string][]*Host{}}
			v.byDC[h.Datacenter] = d
			v.dcs = append(v.dcs, h.Datacenter)
		}
		d.hosts = append(d.hosts, h)
		d.byRack[h.Rack] = append(d.byRack[h.Rack], h)
	}
	return v
}

// Snapshot returns the view's snapshot (possibly nil).
func (v *ClusterView) Snapshot() *Snapshot { return v.snap }

// Hosts returns every host of the view. The slice is shared: do not modify
// it.
func (v *ClusterView) Hosts() []*Host { return v.hosts[:len(v.hosts):len(v.hosts)] }

// Datacenters returns the data centres of the view's hosts, in the order of
// their first host. The slice is shared: do not modify it.
func (v *ClusterView) Datacenters() []string { return v.dcs[:len(v.dcs):len(v.dcs)] }

// HostsIn returns the hosts of data centre dc. The slice is shared.
func (v *ClusterView) HostsIn(dc string) []*Host {
	if d := v.byDC[dc]; d != nil {
		return d.hosts[:len(d.hosts):len(d.hosts)]
	}
	return nil
}

// HostsInRack returns the hosts of rack rack of data centre dc. The slice
// is shared.
func (v *ClusterView) HostsInRack(dc, rack string) []*Host {
	if d := v.byDC[dc]; d != nil {
		hs := d.byRack[rack]
		return hs[:len(hs):len(hs)]
	}
	return nil
}

// IsUp reports whether h can take requests.
func (v *ClusterView) IsUp(h *Host) bool { return v.up == nil || v.up(h) }

// WithLoad returns a copy of the view whose LoadOf calls load (typically
// the in-flight count and HostPool.Suspect of the host's pool). load is
// called concurrently by every request and must be cheap.
func (v *ClusterView) WithLoad(load func(*Host) Load) *ClusterView {
	cp := *v
	cp.load = load
	return &cp
}

// LoadOf returns h's load; the zero Load when the view has no load
// function.
func (v *ClusterView) LoadOf(h *Host) Load {
	if v.load == nil {
		return Load{}
	}
	return v.load(h)
}

// suspect reports whether h is suspect.
func (v *ClusterView) suspect(h *Host) bool { return v.load != nil && v.load(h).Suspect }

// PlanReleaser is implemented by plans that can be recycled. A caller that
// will not call Next again may call Release, once; the plan must not be
// used afterwards. Callers that cannot know when a plan's last use is (for
// example, a plan shared by concurrent speculative executions) simply do
// not call it.
type PlanReleaser interface {
	Release()
}

// QueryPlan is the hosts to try for one request, in order. Next returns
// the next host, or nil when the plan is exhausted. A plan is used by one
// goroutine.
type QueryPlan interface {
	Next() *Host
}

// Policy is a load-balancing policy: for each request, a query plan. A
// plan is lazy: the caller takes hosts until one answers, so a policy
// should do the least work it can before returning the first host. A plan
// returns each host at most once and only hosts the view reports up. Plan
// is called concurrently.
//
// The plans of this package cost one allocation (the plan) however they are
// nested, and their first host costs a replica lookup and a few IsUp calls.
type Policy interface {
	Plan(req RoutingInfo, view *ClusterView) QueryPlan
}

// PolicyFunc adapts a function to Policy.
type PolicyFunc func(req RoutingInfo, view *ClusterView) QueryPlan

// Plan calls f.
func (f PolicyFunc) Plan(req RoutingInfo, view *ClusterView) QueryPlan { return f(req, view) }

// SlicePlan is a QueryPlan over a fixed list (for policies written as a
// list, and for tests). It returns the hosts in order, skipping nil ones.
type SlicePlan []*Host

// Next implements QueryPlan.
func (s *SlicePlan) Next() *Host {
	for len(*s) > 0 {
		h := (*s)[0]
		*s = (*s)[1:]
		if h != nil {
			return h
		}
	}
	return nil
}

// Hosts ranges over the rest of a plan. (Ranging over a function costs the
// caller two allocations; a loop over Next costs none.)
func Hosts(q QueryPlan) iter.Seq[*Host] {
	return func(yield func(*Host) bool) {
		for h := q.Next(); h != nil; h = q.Next() {
			if !yield(h) {
				return
			}
		}
	}
}

// Locality is the local data centre and rack of a client. An empty
// Datacenter treats every data centre as local; an empty Rack disables rack
// preference.
type Locality struct {
	Datacenter string
	Rack       string
}

// localityer is implemented by policies that know the client's locality,
// so that a wrapping TokenAware can default to it.
type localityer interface{ locality() Locality }

// DCAwareOptions configure NewDCAwareRoundRobin.
type DCAwareOptions struct {
	Locality
	// RemoteHostsPerDC is how many up hosts of each remote data centre a
	// plan returns after every local host; 0 (the default) returns none.
	// Remote data centres come in the view's order.
	RemoteHostsPerDC int
}

// DCAwareRoundRobin returns the up hosts of the local data centre in an
// order that rotates by one on every plan (the local rack's hosts first
// when a rack is configured), then, if enabled, up to RemoteHostsPerDC up
// hosts of each remote data centre, also rotating. Suspect hosts (see
// ClusterView.WithLoad) come after the others of their group.
type DCAwareRoundRobin struct {
	opts DCAwareOptions
	next atomic.Uint64
}

// NewDCAwareRoundRobin returns a DC-aware round-robin policy.
func NewDCAwareRoundRobin(opts DCAwareOptions) *DCAwareRoundRobin {
	return &DCAwareRoundRobin{opts: opts}
}

func (p *DCAwareRoundRobin) locality() Locality { return p.opts.Locality }

// Plan implements Policy.
func (p *DCAwareRoundRobin) Plan(_ RoutingInfo, v *ClusterView) QueryPlan {
	q := &dcPlan{}
	q.init(p, v, nil)
	return q
}

// dcPlan walks a sequence of host lists: the local rack, the rest of the
// local DC, then each remote DC with a limit.
type dcPlan struct {
	p     *DCAwareRoundRobin
	v     *ClusterView
	skip  []*Host // already returned by a wrapper
	start uint64  // rotation
	stage int
	dc    int // next remote DC index

	list    []*Host
	off, i  int
	limit   int // 0: none
	got     int
	notRack string

	// Suspect hosts of the current list, returned after its other hosts.
	deferred []*Host
	served   int // of deferred
	defBuf   [4]*Host
}

func (q *dcPlan) init(p *DCAwareRoundRobin, v *ClusterView, skip []*Host) {
	*q = dcPlan{p: p, v: v, skip: skip, start: p.next.Add(1) - 1}
}

const (
	stageLocalRack = iota
	stageLocalDC
	stageRemote
	stageDone
)

// Next implements QueryPlan.
func (q *dcPlan) Next() *Host {
	for {
		for q.i < len(q.list) && (q.limit == 0 || q.got < q.limit) {
			h := q.list[(q.off+q.i)%len(q.list)]
			q.i++
			if (q.notRack != "" && h.Rack == q.notRack) || slices.Contains(q.skip, h) || !q.v.IsUp(h) {
				continue
			}
			if q.v.suspect(h) {
				if q.deferred == nil {
					q.deferred = q.defBuf[:0]
				}
				q.deferred = append(q.deferred, h)
				continue
			}
			q.got++
			return h
		}
		if q.served < len(q.deferred) && (q.limit == 0 || q.got < q.limit) {
			h := q.deferred[q.served]
			q.served++
			q.got++
			return h
		}
		q.deferred, q.served = q.deferred[:0], 0
		if !q.nextList() {
			return nil
		}
	}
}

func (q *dcPlan) set(list []*Host, notRack string, limit int) {
	q.list, q.notRack, q.limit, q.i, q.got = list, notRack, limit, 0, 0
	if len(list) > 0 {
		q.off = int(q.start % uint64(len(list)))
	}
}

func (q *dcPlan) nextList() bool {
	loc := q.p.opts.Locality
	for {
		switch q.stage {
		case stageLocalRack:
			q.stage = stageLocalDC
			if loc.Datacenter == "" {
				q.set(q.v.hosts, "", 0)
				q.stage = stageDone
				return true
			}
			if d := q.v.byDC[loc.Datacenter]; d != nil && loc.Rack != "" {
				q.set(d.byRack[loc.Rack], "", 0)
				return true
			}
		case stageLocalDC:
			q.stage = stageRemote
			if d := q.v.byDC[loc.Datacenter]; d != nil {
				q.set(d.hosts, loc.Rack, 0)
				return true
			}
		case stageRemote:
			n := q.p.opts.RemoteHostsPerDC
			for n > 0 && q.dc < len(q.v.dcs) {
				dc := q.v.dcs[q.dc]
				q.dc++
				if dc != loc.Datacenter {
					q.set(q.v.byDC[dc].hosts, "", n)
					return true
				}
			}
			q.stage = stageDone
		default:
			q.list = nil
			return false
		}
	}
}

// TokenAwareOptions configure NewTokenAware.
type TokenAwareOptions struct {
	// Locality: replicas of the local data centre (and of the local rack
	// first, when set) come before the child's plan. The zero value takes
	// the child's locality when the child is a DCAwareRoundRobin (or a
	// policy of this package wrapping one).
	Locality
	// InOrder returns the replicas in ring order (primary replica first)
	// instead of shuffling them.
	InOrder bool
	// IntN returns a random int in [0, n) for the shuffle; nil uses
	// math/rand/v2's IntN. It is called concurrently.
	IntN func(n int) int
}

// TokenAware returns the up replicas of the request's partition in the
// local data centre first (local rack first if configured; shuffled or in
// ring order), then the child's plan without those replicas. When the view
// has a load function (ClusterView.WithLoad), suspect replicas go after the
// healthy ones, and of the first two replicas the one with fewer requests
// in flight goes first (unless InOrder). Requests
// without a keyspace or routing key, or whose keyspace the snapshot does
// not know, get the child's plan. A request with RoutingInfo.PrimaryFirst
// gets the local data centre's replicas in ring order (primary first,
// without rack preference or the less-busy swap; suspect ones still last),
// as with InOrder and no rack. The replicas' state is read when the plan
// is made; the child's hosts' when they are reached.
type TokenAware struct {
	child Policy
	opts  TokenAwareOptions
	dca   *DCAwareRoundRobin // child, when it is one: planned inside the same allocation
}

// NewTokenAware wraps child.
func NewTokenAware(child Policy, opts TokenAwareOptions) *TokenAware {
	if opts.Locality == (Locality{}) {
		if l, ok := child.(localityer); ok {
			opts.Locality = l.locality()
		}
	}
	if opts.IntN == nil {
		opts.IntN = rand.IntN
	}
	t := &TokenAware{child: child, opts: opts}
	t.dca, _ = child.(*DCAwareRoundRobin)
	return t
}

func (t *TokenAware) locality() Locality { return t.opts.Locality }

type tokenPlan struct {
	t       *TokenAware
	req     RoutingInfo
	v       *ClusterView
	buf     [8]*Host
	reps    []*Host
	i       int
	started bool
	dc      dcPlan    // the child, when it is a DCAwareRoundRobin
	child   QueryPlan // otherwise, made when the replicas are exhausted
}

// Plan implements Policy.
func (t *TokenAware) Plan(req RoutingInfo, v *ClusterView) QueryPlan {
	q := tokenPlans.Get().(*tokenPlan)
	q.t, q.req, q.v = t, req, v
	q.reps = t.replicas(q.buf[:0], req, v)
	return q
}

// tokenPlans recycles plans: one per request adds up on the hot path.
var tokenPlans = sync.Pool{New: func() any { return new(tokenPlan) }}

// Release implements PlanReleaser.
func (q *tokenPlan) Release() {
	if r, ok := q.child.(PlanReleaser); ok {
		r.Release()
	}
	*q = tokenPlan{}
	tokenPlans.Put(q)
}

// Next implements QueryPlan.
func (q *tokenPlan) Next() *Host {
	if q.i < len(q.reps) {
		q.i++
		return q.reps[q.i-1]
	}
	if !q.started {
		q.started = true
		if q.t.dca != nil {
			q.dc.init(q.t.dca, q.v, q.reps)
		} else {
			q.child = q.t.child.Plan(q.req, q.v)
		}
	}
	if q.child == nil {
		return q.dc.Next()
	}
	for {
		h := q.child.Next()
		if h == nil || !slices.Contains(q.reps, h) {
			return h
		}
	}
}

// replicas appends to dst the up local replicas of req, in plan order.
func (t *TokenAware) replicas(dst []*Host, req RoutingInfo, v *ClusterView) []*Host {
	s := v.snap
	if s == nil || req.Keyspace == "" {
		return dst
	}
	var all []*Host
	if req.Token != (Token{}) {
		all = s.Replicas(req.Keyspace, req.Token)
	} else if req.RoutingKey != nil {
		all = s.ReplicasOfKey(req.Keyspace, req.RoutingKey)
	}
	loc := t.opts.Locality
	// Primary first: one order for every client, so no rack split (a
	// client's rack would change the coordinator) and no shuffle.
	inOrder := t.opts.InOrder || req.PrimaryFirst
	rackN := 0
	if loc.Datacenter != "" && loc.Rack != "" && !req.PrimaryFirst {
		for _, h := range all {
			if h.Datacenter == loc.Datacenter && h.Rack == loc.Rack && v.IsUp(h) {
				dst = append(dst, h)
			}
		}
		rackN = len(dst)
	}
	for _, h := range all {
		if loc.Datacenter != "" && h.Datacenter != loc.Datacenter {
			continue
		}
		if rackN > 0 && h.Rack == loc.Rack {
			continue
		}
		if v.IsUp(h) {
			dst = append(dst, h)
		}
	}
	if !inOrder {
		shuffle(dst[:rackN], t.opts.IntN)
		shuffle(dst[rackN:], t.opts.IntN)
	}
	if v.load == nil || len(dst) < 2 {
		return dst
	}
	// Suspect replicas (up, but not answering) go last, the others keep
	// their order. Each replica's load is read once.
	var suspects [8]*Host
	var inFlight [2]int // of the first two kept
	sus := suspects[:0]
	kept := dst[:0]
	rackKept := 0
	for i, h := range dst {
		l := v.load(h)
		if l.Suspect {
			sus = append(sus, h)
			continue
		}
		if len(kept) < 2 {
			inFlight[len(kept)] = l.InFlight
		}
		if i < rackN {
			rackKept++
		}
		kept = append(kept, h)
	}
	dst = append(kept, sus...)
	// Of the first two healthy replicas of the first group (which are in
	// random order), the less busy one goes first: a replica slowing down
	// accumulates requests in flight and so gets fewer new ones.
	first := len(kept)
	if rackKept > 0 {
		first = rackKept
	}
	if !inOrder && first >= 2 && inFlight[1] < inFlight[0] {
		dst[0], dst[1] = dst[1], dst[0]
	}
	return dst
}

func shuffle(hs []*Host, intN func(int) int) {
	for i := len(hs) - 1; i > 0; i-- {
		j := intN(i + 1)
		hs[i], hs[j] = hs[j], hs[i]
	}
}

// Filter wraps a policy so that its plans contain only hosts keep accepts
// (e.g. an allow-list of data centres). keep must be safe for concurrent
// use and must not depend on anything but the host. Put Filter outermost
// (Filter(TokenAware(...))), so that the replicas are filtered too.
//
// The child plans over a derived view holding only the kept hosts; the
// derived view is built once per ClusterView and cached.
func Filter(child Policy, keep func(*Host) bool) Policy {
	return &filter{child: child, keep: keep}
}

type filter struct {
	child Policy
	keep  func(*Host) bool
	cache atomic.Pointer[filterCache]
}

type filterCache struct{ src, view *ClusterView }

func (f *filter) locality() Locality {
	if l, ok := f.child.(localityer); ok {
		return l.locality()
	}
	return Locality{}
}

// Plan implements Policy.
func (f *filter) Plan(req RoutingInfo, v *ClusterView) QueryPlan {
	c := f.cache.Load()
	if c == nil || c.src != v {
		kept := make([]*Host, 0, len(v.hosts))
		for _, h := range v.hosts {
			if f.keep(h) {
				kept = append(kept, h)
			}
		}
		keep := f.keep
		derived := NewClusterView(v.snap, kept, func(h *Host) bool { return keep(h) && v.IsUp(h) })
		derived.load = v.load
		c = &filterCache{src: v, view: derived}
		f.cache.Store(c)
	}
	return f.child.Plan(req, c.view)
}
