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

// execute runs r on the nodes of its query plan until one answers as the
// retry policy accepts. speculative reports that speculative executions
// were started (and may still read r).
func (s *Session) execute(ctx context.Context, r *execRequest, out *outcome) (speculative bool, err error) {
	r.startClock()
	var rep execReport
	if s.statements != nil {
		s.startStatement(ctx, r, &rep)
	}
	speculative, err = s.route(ctx, r, out, &rep)
	s.metrics.statementEnded(err)
	if rep.obs != nil {
		s.endStatement(&rep, out, err)
	}
	return speculative, err
}

// execReport is what the executions of a statement tell its observer.
type execReport struct {
	obs         query.ObservedStatement // nil: not observed
	start       time.Time
	host        *pool.Host // of the last attempt (the winner's, with speculation)
	attempts    int
	speculative int // speculative executions started
}

// route runs r over its query plan, alone or with speculative executions.
func (s *Session) route(ctx context.Context, r *execRequest, out *outcome, rep *execReport) (speculative bool, err error) {
	rt := s.currentRouting()
	if rt.view == nil {
		// Close replaced the routing with an empty one (no view, no
		// pools): a policy must not be asked to plan over a nil view.
		return false, ErrSessionClosed
	}
	plan := s.policy.Plan(r.routing, rt.view)
	if r.idempotent && r.profile.Speculative != nil {
		return true, s.executeSpeculative(ctx, r, rt, plan, out, rep)
	}
	x := execution{s: s, r: r, rt: rt, plan: plan, obs: rep.obs}
	err = x.run(ctx, out)
	rep.host, rep.attempts = x.last, x.count
	if pr, ok := plan.(pool.PlanReleaser); ok {
		pr.Release()
	}
	return false, err
}

// execution is one attempt loop: the attempts of a statement on the hosts
// of its plan, one at a time, each followed by a verdict (decide) on what
// comes next. A speculative execution is another one over the same plan.
type execution struct {
	s    *Session
	r    *execRequest
	rt   *routing
	plan pool.QueryPlan
	// shared counts the attempts of all the executions of a statement
	// (speculative ones); nil: count does, for this one alone.
	shared      *atomic.Int32
	count       int
	speculative bool
	obs         query.ObservedStatement // nil: the statement is not observed
	last        *pool.Host              // the host of the latest attempt

	msg     frame.Message // the request as it stands: consistency lowered, metadata id renewed
	cons    frame.Consistency
	retries int // the retries counted against the policy's limit
	errs    []HostError
	// reprepared holds the statement ids prepared again by this loop:
	// each at most once, so a node that keeps answering Unprepared for
	// one ends the loop instead of spinning in it.
	reprepared [][]byte
}

// verdict is what follows an attempt.
type verdict struct {
	// action is what the session does next, as the observer is told: a
	// success is Rethrow with a nil err; re-preparing is RetrySameHost.
	action query.RetryAction
	// err is the attempt's error (with what re-preparing said, if it
	// failed), final the statement's when action is Rethrow.
	err, final error
	// counted: the retry counts against the policy's limit. A request
	// that was never sent, or that is sent again after re-preparing, is
	// not a retry in that sense.
	counted bool
	// reprepared: the request is sent again after preparing it again,
	// which is no retry at all (the metrics do not count it as one).
	reprepared bool
}

// run makes the attempts. Every attempt starts, ends and is observed here
// (one AttemptStart, one AttemptEnd), and what follows it is decided in
// one place, decide.
func (x *execution) run(ctx context.Context, out *outcome) error {
	s, r := x.s, x.r
	x.msg, x.cons = r.msg, r.consistency
	var c *conn.Conn
	var node *nodeCounters
	first := true
	for {
		if c == nil {
			var host *pool.Host
			if c, host = x.pick(); c == nil {
				if len(x.errs) == 0 && s.isClosed() {
					return ErrSessionClosed
				}
				return &NoHostAvailableError{Errors: x.errs}
			}
			x.last, node = host, s.metrics.node(host.ID)
		}
		remaining, ok := r.remaining()
		if !ok {
			return s.timeoutErr(r, x.errs)
		}
		a := query.Attempt{Statement: r.cql, Keyspace: r.routing.Keyspace, Host: c.Addr(),
			Attempt: x.nextAttempt(), Speculative: x.speculative}
		if s.observer != nil {
			a.Start = time.Now()
			s.observer.AttemptStart(a)
			if x.obs != nil {
				x.obs.AttemptStart(a)
			}
		}
		if first && x.speculative {
			node.speculative.Add(1)
		}
		first = false
		env, err := c.Do(ctx, conn.Request{Message: x.msg, CustomPayload: r.payload, Tracing: r.trace, Timeout: remaining})
		var latency time.Duration
		if s.observer != nil {
			latency = time.Since(a.Start)
		}
		v := verdict{action: query.Rethrow}
		if err != nil {
			v = x.decide(ctx, c, err)
		}
		node.attemptEnded(err, v)
		if s.observer != nil {
			ar := query.AttemptResult{Latency: latency, Err: v.err, Retry: v.action}
			s.observer.AttemptEnd(a, ar)
			if x.obs != nil {
				x.obs.AttemptEnd(a, ar)
			}
		}
		if v.counted {
			x.retries++
		}
		switch v.action {
		case query.Rethrow:
			if err != nil {
				return v.final
			}
			out.env, out.coordinator, out.conn, out.attempts = env, c.Addr(), c, a.Attempt
			return nil
		case query.Ignore:
			out.env, out.coordinator, out.attempts = &frame.Envelope{Message: &frame.Void{}}, c.Addr(), a.Attempt
			return nil
		case query.RetryNextHost:
			x.errs = append(x.errs, HostError{Addr: c.Addr(), Err: v.err})
			c = nil
		}
	}
}

// nextAttempt numbers an attempt, from 1.
func (x *execution) nextAttempt() int {
	if x.shared != nil {
		return int(x.shared.Add(1))
	}
	x.count++
	return x.count
}

// pick returns a connection to the next host of the plan that has one,
// and that host, recording why those passed over have none; nil when the
// plan is done.
func (x *execution) pick() (*conn.Conn, *pool.Host) {
	for {
		host := x.plan.Next()
		if host == nil {
			return nil, nil
		}
		p := x.rt.pools[host.ID]
		if p == nil {
			x.errs = append(x.errs, HostError{Addr: x.rt.addrOf(host), Err: errors.New("no connection pool yet (its first connection is being dialled)")})
			continue
		}
		c, err := p.Pick()
		if err != nil {
			x.errs = append(x.errs, HostError{Addr: p.Addr(), Err: err})
			continue
		}
		return c, host
	}
}

// decide is the verdict on a failed attempt, in this order:
//
//   - the caller's context ended: the statement fails with the attempt's
//     error (which says so);
//   - the statement's deadline passed: it fails with a timeout error
//     wrapping every attempt's error;
//   - the node does not know a prepared statement of the request
//     (Unprepared) that this loop has not prepared again yet: prepare it
//     on that connection and send the request again there, uncounted;
//   - anything else is the retry policy's to decide.
//
// Whether the caller's time is up is read from ctx and the deadline, never
// from the error: a connection that dies fails its requests with an error
// that is not the caller's deadline, and the policy may retry those.
func (x *execution) decide(ctx context.Context, c *conn.Conn, err error) verdict {
	if v, ended := x.ended(ctx, c, err); ended {
		return v
	}
	var unprepared *frame.Unprepared
	if errors.As(err, &unprepared) {
		if e := x.toReprepare(unprepared.ID); e != nil {
			x.reprepared = append(x.reprepared, e.id)
			remaining, _ := x.r.remaining()
			perr := x.s.reprepare(ctx, c, e, max(remaining, 0))
			if perr == nil {
				x.renewMetadata(e)
				return verdict{action: query.RetrySameHost, err: err, reprepared: true}
			}
			err = fmt.Errorf("%w (re-preparing failed: %v)", err, perr)
			if v, ended := x.ended(ctx, c, err); ended {
				return v
			}
		}
	}
	d := x.r.profile.Retry.Decide(query.RetryInfo{Err: err, Retries: x.retries, Idempotent: x.r.idempotent,
		Consistency: x.cons, Batch: x.r.batch})
	v := verdict{action: d.Action, err: err, counted: true}
	switch d.Action {
	case query.RetrySameHost, query.Ignore:
	case query.RetryNextHost:
		// Never sent, so certainly not executed: the plan bounds these
		// moves, not the policy's limit.
		var ce *conn.Error
		v.counted = !errors.As(err, &ce) || ce.Sent
	default:
		v.action, v.counted, v.final = query.Rethrow, false, err
		if len(x.errs) > 0 && isConnErr(err) {
			v.final = &NoHostAvailableError{Errors: append(x.errs, HostError{Addr: c.Addr(), Err: err})}
		}
		return v
	}
	if d.Consistency != 0 && d.Consistency != x.cons {
		x.cons = d.Consistency
		x.msg = withConsistency(x.msg, x.cons)
	}
	return v
}

// ended is the verdict when the statement's time is up: the caller's
// context, or the statement's deadline.
func (x *execution) ended(ctx context.Context, c *conn.Conn, err error) (verdict, bool) {
	if ctx.Err() != nil {
		return verdict{action: query.Rethrow, err: err, final: err}, true
	}
	if _, ok := x.r.remaining(); !ok {
		errs := append(x.errs, HostError{Addr: c.Addr(), Err: err})
		return verdict{action: query.Rethrow, err: err, final: x.s.timeoutErr(x.r, errs)}, true
	}
	return verdict{}, false
}

// toReprepare returns the prepared statement with id when the request
// holds it and this loop has not prepared it again yet; nil otherwise.
// So a loop prepares again at most each distinct statement of its request
// once.
func (x *execution) toReprepare(id []byte) *preparedEntry {
	for _, done := range x.reprepared {
		if string(done) == string(id) {
			return nil
		}
	}
	var e *preparedEntry
	switch m := x.msg.(type) {
	case *frame.Execute:
		if string(m.ID) != string(id) {
			return nil
		}
		e = x.r.entry
	case *frame.Batch:
		held := false
		for i := range m.Statements {
			if string(m.Statements[i].ID) == string(id) {
				held = true
				break
			}
		}
		if !held {
			return nil
		}
		for _, be := range x.r.entries {
			if string(be.id) == string(id) {
				e = be
				break
			}
		}
	default:
		return nil
	}
	if e == nil || string(e.id) != string(id) {
		e = x.s.prepared.byStatementID(id)
	}
	return e
}

// renewMetadata makes an EXECUTE that was just prepared again carry the
// statement's current result metadata id (v5): its answer will describe
// the current columns.
func (x *execution) renewMetadata(e *preparedEntry) {
	if ex, ok := x.msg.(*frame.Execute); ok && ex.ResultMetadataID != nil {
		cp := *ex
		cp.ResultMetadataID = e.result.Load().id
		x.msg = &cp
	}
}

func isConnErr(err error) bool {
	var ce *conn.Error
	return errors.As(err, &ce)
}

// timeoutErr is the error of a statement whose deadline passed: it wraps
// context.DeadlineExceeded and the errors of the attempts made.
func (s *Session) timeoutErr(r *execRequest, errs []HostError) error {
	err := fmt.Errorf("cluster: no answer within the statement's timeout of %v: %w", r.timeout, context.DeadlineExceeded)
	if len(errs) > 0 {
		return fmt.Errorf("%w (after: %w)", err, &NoHostAvailableError{Errors: errs})
	}
	return err
}

// withConsistency returns a copy of msg at consistency c.
func withConsistency(msg frame.Message, c frame.Consistency) frame.Message {
	switch m := msg.(type) {
	case *frame.Execute:
		cp := *m
		cp.Params.Consistency = c
		return &cp
	case *frame.Query:
		cp := *m
		cp.Params.Consistency = c
		return &cp
	case *frame.Batch:
		cp := *m
		cp.Consistency = c
		return &cp
	}
	return msg
}

type specResult struct {
	out  outcome
	err  error
	host *pool.Host // of the execution's last attempt
}

// executeSpeculative runs an idempotent statement with speculative
// executions: when the running ones have not answered after the policy's
// delay, another starts on the next node of the same plan, as many as the
// policy allows while the plan has nodes left (one beyond them would fail
// at once). The first answer wins and the others are cancelled.
func (s *Session) executeSpeculative(ctx context.Context, r *execRequest, rt *routing, plan pool.QueryPlan, out *outcome, rep *execReport) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	shared := &sharedPlan{plan: plan}
	var attempts atomic.Int32
	// Unbuffered: the executions still running when this returns give
	// their results up (done), whatever their number.
	results := make(chan specResult)
	done := make(chan struct{})
	defer close(done)
	obs := rep.obs // rep itself stays with this goroutine (and on the caller's stack)
	launch := func(speculative bool) {
		go func() {
			var res specResult
			x := execution{s: s, r: r, rt: rt, plan: shared, shared: &attempts, speculative: speculative, obs: obs}
			res.err = x.run(ctx, &res.out)
			res.host = x.last
			select {
			case results <- res:
			case <-done:
			}
		}()
	}
	launch(false)
	started, running := 1, 1
	lastStart := time.Now()
	spec := r.profile.Speculative
	delay, more := spec.NextDelay(started)
	var lastErr error
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		var fire <-chan time.Time
		if more && shared.hostsLeft() {
			// The delay counts from the previous start, not from a
			// failed execution's end.
			wait := time.Until(lastStart.Add(delay))
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			fire = timer.C
		}
		select {
		case res := <-results:
			running--
			rep.attempts, rep.speculative = int(attempts.Load()), started-1
			if res.host != nil {
				rep.host = res.host
			}
			if res.err == nil {
				*out = res.out
				out.attempts = rep.attempts
				return nil
			}
			lastErr = res.err
			if running == 0 {
				return lastErr
			}
		case <-fire:
			launch(true)
			lastStart = time.Now()
			started++
			running++
			delay, more = spec.NextDelay(started)
		}
	}
}

// sharedPlan is a query plan the executions of a statement take hosts
// from concurrently.
type sharedPlan struct {
	mu   sync.Mutex
	plan pool.QueryPlan
	done bool // Next returned nil
}

func (p *sharedPlan) Next() *pool.Host {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.plan.Next()
	p.done = p.done || h == nil
	return h
}

func (p *sharedPlan) hostsLeft() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.done
}
