package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/pool"
	"github.com/cqlwire/cqlwire/query"
)

// Batch is a BATCH of INSERT, UPDATE and DELETE statements executed
// together. Build it with Session.Batch and Add, then Exec it. A Batch is
// not safe for concurrent use while being built.
type Batch struct {
	s              *Session
	typ            frame.BatchType
	entries        []batchEntry
	profile        string
	consistency    frame.Consistency
	hasConsistency bool
	serial         frame.Consistency
	timestamp      int64
	hasTimestamp   bool
	idempotent     bool
	keyspace       string
	payload        map[string][]byte
	trace          bool
	timeout        time.Duration
	err            error
}

type batchEntry struct {
	cql    string
	values []any
	prep   *preparedEntry
	simple bool
}

// Batch starts a batch: query.LoggedBatch (atomic, through the batch log),
// query.UnloggedBatch or query.CounterBatch.
func (s *Session) Batch(typ query.BatchType) *Batch {
	b := &Batch{s: s, typ: typ}
	switch typ {
	case frame.BatchLogged, frame.BatchUnlogged, frame.BatchCounter:
	default:
		b.err = fmt.Errorf("cluster: batch type %d is not LoggedBatch, UnloggedBatch or CounterBatch", typ)
	}
	return b
}

// Add appends a statement with its values. A statement with values is
// prepared (as Session.Query does).
func (b *Batch) Add(cql string, values ...any) *Batch {
	b.entries = append(b.entries, batchEntry{cql: cql, values: values})
	return b
}

// AddSimple appends a statement sent as text, its values' types inferred
// from their Go types.
func (b *Batch) AddSimple(cql string, values ...any) *Batch {
	b.entries = append(b.entries, batchEntry{cql: cql, values: values, simple: true})
	return b
}

// AddPrepared appends an execution of a prepared statement.
func (b *Batch) AddPrepared(p *Prepared, values ...any) *Batch {
	b.entries = append(b.entries, batchEntry{cql: p.e.key.cql, values: values, prep: p.e})
	return b
}

// Len returns the number of statements.
func (b *Batch) Len() int { return len(b.entries) }

// Profile, Consistency, SerialConsistency, Timestamp, Idempotent, Keyspace,
// CustomPayload, Trace and Timeout are as for Query.
func (b *Batch) Profile(name string) *Batch {
	b.profile = name
	if _, ok := b.s.profiles[name]; !ok && b.err == nil {
		b.err = fmt.Errorf("cluster: no execution profile %q in Config.Profiles", name)
	}
	return b
}
func (b *Batch) Consistency(c frame.Consistency) *Batch {
	b.consistency, b.hasConsistency = c, true
	return b
}
func (b *Batch) SerialConsistency(c frame.Consistency) *Batch { b.serial = c; return b }
func (b *Batch) Timestamp(micros int64) *Batch {
	b.timestamp, b.hasTimestamp = micros, true
	return b
}
func (b *Batch) Idempotent(yes bool) *Batch               { b.idempotent = yes; return b }
func (b *Batch) Keyspace(ks string) *Batch                { b.keyspace = ks; return b }
func (b *Batch) CustomPayload(p map[string][]byte) *Batch { b.payload = p; return b }
func (b *Batch) Trace(yes bool) *Batch                    { b.trace = yes; return b }
func (b *Batch) Timeout(d time.Duration) *Batch           { b.timeout = d; return b }

// Exec runs the batch.
func (b *Batch) Exec(ctx context.Context) error {
	_, err := b.Run(ctx)
	return err
}

// Run runs the batch and returns its result (warnings, and for a
// conditional batch the [applied] row: see ScanCAS).
func (b *Batch) Run(ctx context.Context) (*Result, error) {
	var out outcome
	if err := b.run(ctx, &out); err != nil {
		return nil, err
	}
	return out.result(), nil
}

// ScanCAS runs a conditional batch and reports whether it was applied;
// when not, the first row's existing values (after [applied]) are scanned
// into dest.
func (b *Batch) ScanCAS(ctx context.Context, dest ...any) (bool, error) {
	var out outcome
	if err := b.run(ctx, &out); err != nil {
		return false, err
	}
	return scanCAS(&out, dest, nil)
}

func (b *Batch) run(ctx context.Context, out *outcome) error {
	s := b.s
	if b.err != nil {
		return b.err
	}
	if len(b.entries) == 0 {
		return errors.New("cluster: empty batch")
	}
	if len(b.entries) > 65535 {
		return fmt.Errorf("cluster: a batch holds at most 65535 statements, not %d", len(b.entries))
	}
	if s.isClosed() {
		return ErrSessionClosed
	}
	prof := s.profile
	if b.profile != "" {
		prof = s.profiles[b.profile]
	}
	msg := &frame.Batch{Type: b.typ, Consistency: prof.Consistency, SerialConsistency: prof.SerialConsistency,
		Keyspace: b.keyspace, Statements: make([]frame.BatchStatement, len(b.entries))}
	if b.hasConsistency {
		msg.Consistency = b.consistency
	}
	if b.serial != 0 {
		msg.SerialConsistency = b.serial
	}
	msg.Timestamp = b.timestamp
	if !b.hasTimestamp {
		msg.Timestamp = s.stamps.Next()
	}
	r := execRequest{msg: msg, idempotent: b.idempotent, batch: true, profile: prof,
		consistency: msg.Consistency, payload: b.payload, trace: b.trace, timeout: b.timeout}
	r.startClock() // one deadline for the PREPAREs and the BATCH
	if err := s.admit(ctx, &r); err != nil {
		return err
	}
	defer s.dismiss()
	var buf []byte
	for i, be := range b.entries {
		st := &msg.Statements[i]
		var err error
		if be.prep != nil || (len(be.values) > 0 && !be.simple) {
			e := be.prep
			if e == nil {
				if e, err = s.prepare(ctx, s.cfg.Keyspace, b.keyspace, be.cql, &r); err != nil {
					return fmt.Errorf("cluster: batch statement %d: %w", i, err)
				}
			}
			if n := len(r.entries); n == 0 || r.entries[n-1] != e {
				// For re-preparing, should a node have forgotten it (a
				// statement repeated in a row is held once).
				r.entries = append(r.entries, e)
			}
			if buf, st.Values, err = query.Bind(buf, nil, e.params.Columns, be.values); err != nil {
				return fmt.Errorf("cluster: batch statement %d (%q): %w", i, abbreviate(be.cql), err)
			}
			st.ID = e.id
			if i == 0 {
				// The batch goes to a replica of its first statement's
				// partition: often all statements share it.
				r.routing.Keyspace = e.routingKeyspace
				if len(e.params.PKIndexes) > 0 {
					if rk, err := pool.AppendPreparedRoutingKey(nil, e.params.PKIndexes, st.Values); err == nil {
						r.routing.RoutingKey = rk
					}
				}
			}
		} else {
			var names []string
			if buf, st.Values, names, err = query.BindSimple(buf, nil, be.values); err != nil {
				return fmt.Errorf("cluster: batch statement %d (%q): %w", i, abbreviate(be.cql), err)
			}
			if names != nil {
				return fmt.Errorf("cluster: batch statement %d: named values cannot be sent in a batch (the protocol has no place for them); use positional values", i)
			}
			st.Query = be.cql
			if st.Values == nil {
				st.Values = []frame.Value{}
			}
		}
		if r.cql == "" {
			r.cql = be.cql
		}
	}
	if r.routing.Keyspace == "" {
		r.routing.Keyspace = b.keyspace
		if r.routing.Keyspace == "" {
			r.routing.Keyspace = s.cfg.Keyspace
		}
	}
	r.routing.PrimaryFirst = r.routing.RoutingKey != nil && batchConditional(msg, r.entries)
	if _, err := s.execute(ctx, &r, out); err != nil {
		return err
	}
	if rows, ok := out.env.Message.(*frame.Rows); ok {
		out.cols = rows.Metadata.Columns
	}
	return nil
}
