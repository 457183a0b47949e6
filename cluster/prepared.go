package cluster

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cqlwire/cqlwire/frame"
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
}

func newPreparedCache(max int) *preparedCache {
	return &preparedCache{byKey: map[preparedKey]*preparedEntry{}, byID: map[string]*preparedEntry{}, max: max}
}

// get returns the entry of key, preparing it with prepare when absent. Only
// the first caller prepares; the others wait for it (bounded by their ctx).
// A failed preparation is not cached.
func (c *preparedCache) get(ctx context.Context, key preparedKey, prepare func(*preparedEntry) error) (*preparedEntry, error) {
	c.mu.Lock()
	e := c.byKey[key]
	if e == nil {
		e = &preparedEntry{key: key, done: make(chan struct{})}
		if len(c.byKey) >= c.max {
			c.evictLocked()
		}
		c.byKey[key] = e
		c.mu.Unlock()
		e.err = prepare(e)
		c.mu.Lock()
		if e.err != nil {
			if c.byKey[key] == e {
				delete(c.byKey, key)
			}
		} else {
			c.byID[string(e.id)] = e
		}
		c.mu.Unlock()
		close(e.done)
		return e, e.err
	}
	c.mu.Unlock()
	select {
	case <-e.done:
		return e, e.err
	default:
	}
	select {
	case <-e.done:
		return e, e.err
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the statement to be prepared: %w", context.Cause(ctx))
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
	e, err := s.prepare(ctx, s.cfg.Keyspace, "", cql)
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
