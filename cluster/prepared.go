package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/pool"
	"github.com/cqlwire/cqlwire/query"
)

// preparedKey identifies a prepared statement: the same text prepared in
// two keyspaces is two statements.
type preparedKey struct{ keyspace, cql string }

// preparedEntry is one statement of the cache. The fields other than
// result are written once, before done is closed.
type preparedEntry struct {
	key  preparedKey
	done chan struct{}
	err  error
	// prepKeyspace is the per-query keyspace PREPARE was sent with (v5).
	prepKeyspace string

	id     []byte
	params frame.PreparedMetadata
	// routingKeyspace is the keyspace of the bound columns: the keyspace
	// whose replicas own the partition.
	routingKeyspace string
	// conditional: the statement is a lightweight transaction (see lwt.go).
	conditional bool
	// result is the result metadata the client holds (v5: with its id), kept
	// current when the server reports a change (ALTER TABLE under SELECT *).
	result atomic.Pointer[resultMeta]
}

type resultMeta struct {
	id   []byte
	cols []frame.ColumnSpec
}

// preparedCache holds prepared statements by keyspace and text, with at most
// one PREPARE in flight per statement (single flight).
type preparedCache struct {
	mu    sync.Mutex
	byKey map[preparedKey]*preparedEntry
	byID  map[string]*preparedEntry
	max   int
	// evictions counts the entries evictLocked dropped (Metrics).
	evictions uint64
}

func newPreparedCache(max int) *preparedCache {
	return &preparedCache{byKey: map[preparedKey]*preparedEntry{}, byID: map[string]*preparedEntry{}, max: max}
}

// lookup returns the entry of key. prepare true means the entry is new and
// the caller alone must prepare it, then call finish: single flight.
func (c *preparedCache) lookup(key preparedKey) (e *preparedEntry, prepare bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e = c.byKey[key]; e != nil {
		return e, false
	}
	e = &preparedEntry{key: key, done: make(chan struct{})}
	if len(c.byKey) >= c.max {
		c.evictLocked()
	}
	c.byKey[key] = e
	return e, true
}

// finish records the outcome of preparing e and wakes its waiters. A failed
// preparation is not cached: the next lookup prepares again.
func (c *preparedCache) finish(e *preparedEntry, err error) {
	c.mu.Lock()
	e.err = err
	if err != nil {
		if c.byKey[e.key] == e {
			delete(c.byKey, e.key)
		}
	} else {
		c.byID[string(e.id)] = e
	}
	c.mu.Unlock()
	close(e.done)
}

// errPrepareWait is wait's error when the deadline passed first.
var errPrepareWait = errors.New("deadline passed")

// wait waits until e is prepared, ctx ends (its cause is wrapped) or the
// deadline passes (zero: none; errPrepareWait is returned). Giving up does
// not stop the preparation, which the other waiters may still want.
func (c *preparedCache) wait(ctx context.Context, e *preparedEntry, deadline time.Time) error {
	select {
	case <-e.done:
		return e.err
	default:
	}
	var expired <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-e.done:
		return e.err
	case <-ctx.Done():
		return fmt.Errorf("cluster: waiting for %q to be prepared: %w", abbreviate(e.key.cql), context.Cause(ctx))
	case <-expired:
		return errPrepareWait
	}
}

// evictLocked drops one prepared entry to make room. Map order is random,
// which is a fair enough choice for a cache that is only full when an
// application prepares far more distinct statements than it should.
func (c *preparedCache) evictLocked() {
	for k, e := range c.byKey {
		select {
		case <-e.done:
		default:
			continue // being prepared
		}
		delete(c.byKey, k)
		if c.byID[string(e.id)] == e {
			delete(c.byID, string(e.id))
		}
		c.evictions++
		return
	}
}

// byStatementID finds the entry with a statement id (for an Unprepared
// error in a batch).
func (c *preparedCache) byStatementID(id []byte) *preparedEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byID[string(id)]
}

// len is the number of cached statements.
func (c *preparedCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byKey)
}

// fill stores a PREPARE's answer in e.
func (e *preparedEntry) fill(p *frame.Prepared) {
	e.id = p.ID
	e.params = p.Params
	e.conditional = isConditional(e.key.cql)
	for _, c := range p.Params.Columns {
		if c.Keyspace != "" {
			e.routingKeyspace = c.Keyspace
			break
		}
	}
	cols := p.Result.Columns
	e.result.Store(&resultMeta{id: p.ResultMetadataID, cols: cols})
}

// Prepared is a statement prepared on the cluster: its bind markers and
// result columns are known, so values are encoded with their exact CQL
// types and requests are routed to the partition's replicas.
type Prepared struct {
	s *Session
	e *preparedEntry
}

// Prepare prepares a statement (or returns it from the session's cache:
// preparing the same text twice costs one round trip in all). A node
// that has forgotten it (a restart) gets it again transparently.
func (s *Session) Prepare(ctx context.Context, cql string) (*Prepared, error) {
	st := execRequest{profile: s.profile} // the default profile's timeout and retry policy
	e, err := s.prepare(ctx, s.cfg.Keyspace, "", cql, &st)
	if err != nil {
		return nil, err
	}
	return &Prepared{s: s, e: e}, nil
}

// Bind returns a query executing the statement with values: positional,
// in bind marker order, or all query.Named.
func (p *Prepared) Bind(values ...any) Query {
	return Query{s: p.s, cql: p.e.key.cql, values: values, prep: p.e}
}

// Params describes the bind markers.
func (p *Prepared) Params() []frame.ColumnSpec { return p.e.params.Columns }

// Columns describes the result columns (empty for statements that return
// no rows). After an ALTER TABLE it is updated when the server reports the
// change (protocol v5).
func (p *Prepared) Columns() []frame.ColumnSpec { return p.e.result.Load().cols }

// ID is the statement id the server gave.
func (p *Prepared) ID() []byte { return p.e.id }

// PartitionKeyIndexes are the bind markers of the partition key columns,
// used for token-aware routing (empty when not every partition key column
// is bound).
func (p *Prepared) PartitionKeyIndexes() []uint16 { return p.e.params.PKIndexes }

// prepare returns the prepared statement of cql from the cache, preparing
// it on some node if needed. connKeyspace is the connections' keyspace,
// queryKeyspace a per-query keyspace (v5). st is the statement it is for:
// its profile and deadline (the clock is started here if it was not).
//
// The PREPARE is shared by every statement that needs it meanwhile (single
// flight), so it runs detached from any one caller: under the session's
// close context, with st's profile (retry policy, speculative executions),
// bounded by st's timeout or its profile's RequestTimeout, whichever is
// longer (DefaultRequestTimeout when neither is positive). Each caller
// waits with its own context and deadline, and gives up alone.
func (s *Session) prepare(ctx context.Context, connKeyspace, queryKeyspace, cql string, st *execRequest) (*preparedEntry, error) {
	if s.isClosed() {
		return nil, ErrSessionClosed // even for a statement in the cache
	}
	key := preparedKey{keyspace: connKeyspace, cql: cql}
	if queryKeyspace != "" {
		key.keyspace = queryKeyspace
	}
	e, first := s.prepared.lookup(key)
	select {
	case <-e.done:
		return e, e.err
	default:
	}
	st.startClock()
	if first {
		s.startPrepare(e, queryKeyspace, st.profile, max(st.timeout, st.profile.RequestTimeout))
	}
	switch err := s.prepared.wait(ctx, e, st.deadline); err {
	case nil:
		return e, nil
	case errPrepareWait:
		return nil, fmt.Errorf("cluster: preparing %q: no answer within the statement's timeout of %v: %w",
			abbreviate(cql), st.timeout, context.DeadlineExceeded)
	default:
		return nil, err
	}
}

// startPrepare prepares e in the background (see prepare) and finishes it.
func (s *Session) startPrepare(e *preparedEntry, queryKeyspace string, prof *query.Profile, bound time.Duration) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.prepared.finish(e, ErrSessionClosed)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	if bound <= 0 {
		bound = query.DefaultRequestTimeout
	}
	go func() {
		defer s.wg.Done()
		s.prepared.finish(e, s.runPrepare(e, queryKeyspace, prof, bound))
	}()
}

// runPrepare sends PREPARE through the attempt loop and fills e.
func (s *Session) runPrepare(e *preparedEntry, queryKeyspace string, prof *query.Profile, timeout time.Duration) error {
	cql := e.key.cql
	msg := &frame.Prepare{Query: cql, Keyspace: queryKeyspace}
	r := execRequest{msg: msg, idempotent: true, profile: prof, cql: cql, timeout: timeout,
		routing: pool.RoutingInfo{Keyspace: e.key.keyspace}}
	var out outcome
	if _, err := s.execute(s.closeCtx, &r, &out); err != nil {
		if s.isClosed() {
			return ErrSessionClosed
		}
		return fmt.Errorf("cluster: preparing %q: %w", abbreviate(cql), err)
	}
	p, ok := out.env.Message.(*frame.Prepared)
	if !ok {
		return fmt.Errorf("cluster: preparing %q: the server answered %s", abbreviate(cql), out.env.Message.Opcode())
	}
	e.prepKeyspace = queryKeyspace
	e.fill(p)
	s.prepareElsewhere(msg, out.coordinator)
	return nil
}

// prepareElsewhere prepares a statement, in the background, on every node
// but the one that already did: otherwise each node's first execution of
// it costs an Unprepared answer and a second round trip. Failures are
// harmless (the Unprepared path remains) and only logged.
func (s *Session) prepareElsewhere(msg *frame.Prepare, done string) {
	rt := s.routing.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	for _, p := range rt.pools {
		c, err := p.Pick()
		if err != nil || c.Addr() == done {
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			ctx, cancel := context.WithTimeout(s.closeCtx, DefaultConnectTimeout)
			defer cancel()
			if _, err := c.Do(ctx, conn.Request{Message: msg}); err != nil {
				s.log.Debug("preparing on another node", "addr", c.Addr(), "err", err)
			}
		}()
	}
}

// reprepare prepares e again on the connection that reported it unknown.
func (s *Session) reprepare(ctx context.Context, c *conn.Conn, e *preparedEntry, timeout time.Duration) error {
	env, err := c.Do(ctx, conn.Request{Message: &frame.Prepare{Query: e.key.cql, Keyspace: e.prepKeyspace}, Timeout: timeout})
	if err != nil {
		return err
	}
	p, ok := env.Message.(*frame.Prepared)
	if !ok {
		return fmt.Errorf("re-preparing: the server answered %s", env.Message.Opcode())
	}
	if string(p.ID) != string(e.id) {
		return fmt.Errorf("re-preparing %q gave another statement id", abbreviate(e.key.cql))
	}
	if p.ResultMetadataID != nil {
		e.result.Store(&resultMeta{id: p.ResultMetadataID, cols: p.Result.Columns})
	}
	return nil
}
