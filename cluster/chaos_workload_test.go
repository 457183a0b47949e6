package cluster

// The chaos suite's workload and measurements (see chaos_test.go): 32
// workers on one Session, half INSERTs of new keys with known values and
// half reads of keys whose INSERT was acknowledged, every statement at
// QUORUM, idempotent, with a 2 s request timeout. Every operation is
// recorded (start, latency, error kind); an Observer counts the attempts
// and answers of each node per second.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/query"
)

const (
	chaosWorkers        = 32
	chaosRequestTimeout = 2 * time.Second
	// chaosMaxSeconds bounds the per-second counters of one scenario; the
	// scenarios stop well before.
	chaosMaxSeconds = 600
	chaosNodes      = 3
)

// The kinds an operation ends with. Reads that answer but with the wrong
// data are kinds too (stale), as they are not failures of availability.
const (
	kindOK = iota
	kindTimeout
	kindNoHost
	kindUnavailable
	kindWriteTimeout
	kindReadTimeout
	kindOverloaded
	kindConn
	kindOther
	kindStale // a QUORUM read of an acknowledged key found no row or another value
	numKinds
)

var kindNames = [numKinds]string{"ok", "timeout", "no host", "unavail", "wr-tmo", "rd-tmo", "overload", "conn", "other", "stale"}

// classifyChaosErr names what an operation's error was. The order matters:
// a NoHostAvailableError unwraps to every node's error, and the statement
// timeout may wrap one.
func classifyChaosErr(err error) int {
	var nha *NoHostAvailableError
	switch {
	case err == nil:
		return kindOK
	case errors.As(err, &nha) && !errors.Is(err, context.DeadlineExceeded):
		return kindNoHost
	case errors.Is(err, context.DeadlineExceeded):
		return kindTimeout
	}
	var fe *frame.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case frame.CodeUnavailable:
			return kindUnavailable
		case frame.CodeWriteTimeout:
			return kindWriteTimeout
		case frame.CodeReadTimeout:
			return kindReadTimeout
		case frame.CodeOverloaded:
			return kindOverloaded
		}
		return kindOther
	}
	var ce *conn.Error
	if errors.As(err, &ce) {
		return kindConn
	}
	return kindOther
}

// chaosOp is one operation of the workload.
type chaosOp struct {
	start time.Duration // since the scenario's t0
	lat   time.Duration
	kind  uint8
	write bool
}

// chaosRecorder is the measurements of one scenario. The Observer part is
// shared by every session of the scenario (D has two).
type chaosRecorder struct {
	t0    time.Time
	hosts []netip.Addr // node i+1 is hosts[i]

	attempts [chaosNodes][chaosMaxSeconds]atomic.Int64 // attempts started, per node and second
	answers  [chaosNodes][chaosMaxSeconds]atomic.Int64 // attempts answered without error
	// watchFrom and firstOK (UnixNano) time a node's return: the first good
	// answer of node n after watchFrom[n] is stored in firstOK[n].
	watchFrom [chaosNodes]atomic.Int64
	firstOK   [chaosNodes]atomic.Int64
	unknown   atomic.Int64 // attempts on an address that is no node of ours

	mu       sync.Mutex
	ops      []chaosOp
	samples  map[string]int // error kind + message (shortened) -> count, for kinds other and stale
	firstErr [numKinds]string
	marks    []chaosMark
	logs     *chaosLogBuffer
}

type chaosMark struct {
	at    time.Duration
	label string
}

func newChaosRecorder(hosts []string) (*chaosRecorder, error) {
	r := &chaosRecorder{t0: time.Now(), samples: map[string]int{}, logs: &chaosLogBuffer{max: 40}}
	for _, h := range hosts {
		a, err := netip.ParseAddr(h)
		if err != nil {
			return nil, fmt.Errorf("chaos: host %q is not an IP address: %v", h, err)
		}
		r.hosts = append(r.hosts, a)
	}
	if len(r.hosts) != chaosNodes {
		return nil, fmt.Errorf("chaos: %d hosts, want %d", len(r.hosts), chaosNodes)
	}
	return r, nil
}

func (r *chaosRecorder) since() time.Duration { return time.Since(r.t0) }

// mark notes a moment of the scenario (a fault, a return) for the report.
func (r *chaosRecorder) mark(format string, args ...any) time.Duration {
	at := r.since()
	r.mu.Lock()
	r.marks = append(r.marks, chaosMark{at, fmt.Sprintf(format, args...)})
	r.mu.Unlock()
	return at
}

// node returns the index (0-based) of the node at addr ("ip:port"), or -1.
func (r *chaosRecorder) node(addr string) int {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return -1
	}
	for i, h := range r.hosts {
		if h == ap.Addr() {
			return i
		}
	}
	return -1
}

func (r *chaosRecorder) second(t time.Time) int {
	s := int(t.Sub(r.t0) / time.Second)
	return max(0, min(s, chaosMaxSeconds-1))
}

// Observer counts the attempts and good answers of each node.
func (r *chaosRecorder) Observer() query.Observer {
	return query.ObserverFuncs{
		OnStart: func(a query.Attempt) {
			if n := r.node(a.Host); n >= 0 {
				r.attempts[n][r.second(a.Start)].Add(1)
			} else {
				r.unknown.Add(1)
			}
		},
		OnEnd: func(a query.Attempt, res query.AttemptResult) {
			if res.Err != nil {
				return
			}
			if n := r.node(a.Host); n >= 0 {
				now := time.Now()
				r.answers[n][r.second(now)].Add(1)
				if from := r.watchFrom[n].Load(); from != 0 && now.UnixNano() > from && r.firstOK[n].Load() == 0 {
					r.firstOK[n].CompareAndSwap(0, now.UnixNano())
				}
			}
		},
	}
}

// watchReturn starts timing node's (1-based) return: its first good answer
// after t.
func (r *chaosRecorder) watchReturn(node int, t time.Time) {
	r.firstOK[node-1].Store(0)
	r.watchFrom[node-1].Store(t.UnixNano())
}

// firstAnswer returns the time of node's first good answer after the
// watchReturn time, if there was one yet.
func (r *chaosRecorder) firstAnswer(node int) (time.Time, bool) {
	ns := r.firstOK[node-1].Load()
	return time.Unix(0, ns), ns != 0
}

func (r *chaosRecorder) addOps(ops []chaosOp) {
	r.mu.Lock()
	r.ops = append(r.ops, ops...)
	r.mu.Unlock()
}

func (r *chaosRecorder) noteErr(kind int, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.firstErr[kind] == "" {
		r.firstErr[kind] = msg
	}
	if kind == kindOther || kind == kindStale || len(r.samples) < 200 {
		if len(msg) > 300 {
			msg = msg[:297] + "..."
		}
		r.samples[kindNames[kind]+": "+msg]++
	}
}

// chaosLogBuffer keeps the first lines of the driver's warnings (slog).
type chaosLogBuffer struct {
	mu      sync.Mutex
	max     int
	lines   []string
	dropped int
}

func (b *chaosLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.lines) < b.max {
		b.lines = append(b.lines, strings.TrimRight(string(p), "\n"))
	} else {
		b.dropped++
	}
	return len(p), nil
}

func (r *chaosRecorder) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// chaosWorkload runs the workers against one table. Its acknowledged keys
// outlive the sessions (scenario D switches sessions midway).
type chaosWorkload struct {
	rec     *chaosRecorder
	table   string // keyspace.table
	nextKey atomic.Int64
	rate    float64 // target operations per second of all workers together

	mu    sync.Mutex
	acked []int64 // keys whose INSERT was acknowledged

	running chan struct{} // closed by stop
	wg      sync.WaitGroup
}

func chaosValue(k int64) int64 { return int64(uint64(k)*0x9E3779B97F4A7C15) ^ 0x5bd1e995 }

func newChaosWorkload(rec *chaosRecorder, table string, keyBase int64, rate float64) *chaosWorkload {
	w := &chaosWorkload{rec: rec, table: table, rate: rate}
	w.nextKey.Store(keyBase)
	return w
}

func (w *chaosWorkload) ackedCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

func (w *chaosWorkload) ackedKeys() []int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int64(nil), w.acked...)
}

// start runs the workers on s until stop. The statements are prepared
// first (with retries: a node may be down).
func (w *chaosWorkload) start(ctx context.Context, s *Session) error {
	var ins, sel *Prepared
	var err error
	for try := 0; try < 10; try++ {
		if ins == nil {
			ins, err = s.Prepare(ctx, "INSERT INTO "+w.table+" (k, v) VALUES (?, ?)")
		}
		if err == nil && sel == nil {
			sel, err = s.Prepare(ctx, "SELECT v FROM "+w.table+" WHERE k = ?")
		}
		if err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("preparing the workload's statements: %w", err)
	}
	w.running = make(chan struct{})
	var interval time.Duration // zero: no pacing, each worker as fast as it gets answers
	if w.rate > 0 {
		interval = time.Duration(float64(time.Second) * chaosWorkers / w.rate)
	}
	for i := range chaosWorkers {
		w.wg.Go(func() { w.worker(ctx, ins, sel, interval, uint64(i)) })
	}
	return nil
}

// stop ends the workers and waits for their last operations.
func (w *chaosWorkload) stop() {
	if w.running == nil {
		return
	}
	close(w.running)
	w.wg.Wait()
	w.running = nil
}

func (w *chaosWorkload) worker(ctx context.Context, ins, sel *Prepared, interval time.Duration, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano())))
	var ops []chaosOp
	defer func() { w.rec.addOps(ops) }()
	// Spread the workers' first operations over one interval.
	next := time.Now()
	if interval > 0 {
		next = next.Add(time.Duration(rng.Int64N(int64(interval))))
	}
	for {
		if wait := time.Until(next); wait > 0 {
			select {
			case <-w.running:
				return
			case <-time.After(wait):
			}
		} else {
			select {
			case <-w.running:
				return
			default:
			}
			if wait < -interval {
				next = time.Now() // behind (slow answers): do not catch up in a burst
			}
		}
		next = next.Add(interval)

		var key int64 = -1
		if rng.IntN(2) == 0 {
			w.mu.Lock()
			if len(w.acked) > 0 {
				key = w.acked[rng.IntN(len(w.acked))]
			}
			w.mu.Unlock()
		}
		t0 := time.Now()
		op := chaosOp{start: t0.Sub(w.rec.t0), write: key < 0}
		var err error
		kind := kindOK
		if op.write {
			key = w.nextKey.Add(1)
			err = ins.Bind(key, chaosValue(key)).Idempotent(true).Exec(ctx)
			kind = classifyChaosErr(err)
			if kind == kindOK {
				w.mu.Lock()
				w.acked = append(w.acked, key)
				w.mu.Unlock()
			}
		} else {
			var v int64
			err = sel.Bind(key).Idempotent(true).One(ctx, &v)
			switch {
			case errors.Is(err, ErrNotFound):
				kind = kindStale
				err = fmt.Errorf("key %d acknowledged, but a QUORUM read found no row", key)
			case err == nil && v != chaosValue(key):
				kind = kindStale
				err = fmt.Errorf("key %d: read %d, want %d", key, v, chaosValue(key))
			default:
				kind = classifyChaosErr(err)
			}
		}
		op.lat = time.Since(t0)
		op.kind = uint8(kind)
		ops = append(ops, op)
		if kind != kindOK {
			w.rec.noteErr(kind, err.Error())
		}
	}
}

// chaosVerify reads every acknowledged key back: a scan of the table at
// cl, then, for each key the scan did not show with its value, single
// reads at cl (several tries). It returns the keys still missing or
// wrong, and an error if the reads themselves kept failing.
func chaosVerify(ctx context.Context, s *Session, table string, acked []int64, cl frame.Consistency) (lost []int64, err error) {
	seen := make(map[int64]int64, len(acked))
	var scanErr error
	for try := 0; try < 3; try++ {
		clear(seen)
		scanErr = nil
		for row, rerr := range s.Query("SELECT k, v FROM " + table).Consistency(cl).Idempotent(true).
			Timeout(30 * time.Second).PageSize(5000).Rows(ctx) {
			if rerr != nil {
				scanErr = rerr
				break
			}
			var k, v int64
			if serr := row.Scan(&k, &v); serr != nil {
				return nil, serr
			}
			seen[k] = v
		}
		if scanErr == nil {
			break
		}
		time.Sleep(time.Second)
	}
	if scanErr != nil {
		return nil, fmt.Errorf("scanning %s at %v: %w", table, cl, scanErr)
	}
	var suspects []int64
	for _, k := range acked {
		if v, ok := seen[k]; !ok || v != chaosValue(k) {
			suspects = append(suspects, k)
		}
	}
	for _, k := range suspects {
		ok, err := chaosReadBack(ctx, s, table, k, cl)
		if err != nil {
			return lost, fmt.Errorf("reading back key %d of %s: %w", k, table, err)
		}
		if !ok {
			lost = append(lost, k)
		}
	}
	return lost, nil
}

// chaosReadBack reads key k alone at cl: whether it has its value. Errors
// (timeouts) are retried; an answer, with or without the row, is final.
func chaosReadBack(ctx context.Context, s *Session, table string, k int64, cl frame.Consistency) (bool, error) {
	var err error
	for try := 0; try < 5; try++ {
		var v int64
		err = s.Query("SELECT v FROM "+table+" WHERE k = ?", k).Consistency(cl).Idempotent(true).
			Timeout(10*time.Second).One(ctx, &v)
		switch {
		case err == nil:
			return v == chaosValue(k), nil
		case errors.Is(err, ErrNotFound):
			return false, nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return false, err
}

// percentile returns the p-quantile (0..1) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func sortDurations(d []time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
}
