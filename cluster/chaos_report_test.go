package cluster

// The chaos suite's numbers: what each scenario measured (chaosSummary),
// computed from its recorder, and the report (tables for the log, plus the
// per-second timelines in the report file).

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
)

// chaosReturn is one node coming back during a scenario.
type chaosReturn struct {
	Node int
	// Back is when the node was back (start-node returned: it accepts CQL
	// logins; or the SIGCONT), since the scenario's start.
	Back time.Duration
	// Traffic is the seconds from Back to the node's first good answer to
	// the session; negative if none came.
	Traffic float64
}

// chaosSecond is one second of a scenario's timeline.
type chaosSecond struct {
	OK, Failed int
	Answers    [chaosNodes]int64 // good answers per node (the Observer's count)
	Attempts   [chaosNodes]int64
}

type chaosSummary struct {
	Name string
	Wall time.Duration // the whole subtest: workload, faults, restore, verification

	Ops, Writes, Reads int
	Kinds              [numKinds]int
	FirstErr           [numKinds]string
	Samples            map[string]int
	Acked              int
	Lost               int
	LostKeys           []int64
	Verified           bool // every acknowledged write was read back (or Lost says how many were not)
	VerifyNote         string

	FaultAt, WindowEnd, End time.Duration
	BaseRate                float64 // good operations per second before the fault
	P99Base                 time.Duration
	P99Window, MaxWindow    time.Duration
	// Recover80 is the seconds from the fault until the first 3 seconds in
	// a row with a good-operation rate of at least 80% of BaseRate: 0 if it
	// never dipped, negative if it did not recover in the scenario. Later
	// dips (a node coming back) count in Below80 only.
	Recover80 float64
	// Below80 counts the seconds of the fault window under 80% of BaseRate.
	Below80 int
	Returns []chaosReturn
	Marks   []chaosMark
	Notes   []string
	Logs    []string
	Seconds []chaosSecond
}

func (s *chaosSummary) failed() int {
	n := 0
	for k := kindOK + 1; k < numKinds; k++ {
		if k != kindStale {
			n += s.Kinds[k]
		}
	}
	return n
}

func (s *chaosSummary) note(format string, args ...any) {
	s.Notes = append(s.Notes, fmt.Sprintf(format, args...))
}

// fill computes the numbers of the workload part: faultAt is the fault's
// start, windowEnd the end of the fault window, end the workload's end.
func (s *chaosSummary) fill(r *chaosRecorder, faultAt, windowEnd, end time.Duration) {
	r.mu.Lock()
	ops := append([]chaosOp(nil), r.ops...)
	s.Marks = append([]chaosMark(nil), r.marks...)
	s.FirstErr = r.firstErr
	s.Samples = map[string]int{}
	for k, v := range r.samples {
		s.Samples[k] = v
	}
	r.mu.Unlock()
	r.logs.mu.Lock()
	s.Logs = append([]string(nil), r.logs.lines...)
	if r.logs.dropped > 0 {
		s.Logs = append(s.Logs, fmt.Sprintf("(%d more lines)", r.logs.dropped))
	}
	r.logs.mu.Unlock()
	if n := r.unknown.Load(); n > 0 {
		s.note("%d attempts went to an address that is none of the three nodes", n)
	}

	s.FaultAt, s.WindowEnd, s.End = faultAt, windowEnd, end
	secs := int(end/time.Second) + 1
	secs = min(secs, chaosMaxSeconds)
	s.Seconds = make([]chaosSecond, secs)
	var base, window []time.Duration
	for _, op := range ops {
		s.Ops++
		if op.write {
			s.Writes++
		} else {
			s.Reads++
		}
		s.Kinds[op.kind]++
		doneSec := int((op.start + op.lat) / time.Second)
		if doneSec < secs {
			if op.kind == kindOK {
				s.Seconds[doneSec].OK++
			} else {
				s.Seconds[doneSec].Failed++
			}
		}
		switch {
		case op.start >= chaosWarmup && op.start < faultAt:
			base = append(base, op.lat)
		case op.start >= faultAt && op.start < windowEnd:
			window = append(window, op.lat)
		}
	}
	for i := range s.Seconds {
		for n := range chaosNodes {
			s.Seconds[i].Answers[n] = r.answers[n][i].Load()
			s.Seconds[i].Attempts[n] = r.attempts[n][i].Load()
		}
	}
	sortDurations(base)
	sortDurations(window)
	s.P99Base = percentile(base, 0.99)
	s.P99Window = percentile(window, 0.99)
	if len(window) > 0 {
		s.MaxWindow = window[len(window)-1]
	}

	// The rate before the fault: whole seconds after the warm-up.
	first, last := int(chaosWarmup/time.Second), int(faultAt/time.Second)-1
	if last >= first {
		total := 0
		for i := first; i <= last; i++ {
			total += s.Seconds[i].OK
		}
		s.BaseRate = float64(total) / float64(last-first+1)
	}
	threshold := 0.8 * s.BaseRate
	faultSec := int(faultAt / time.Second)
	endSec := min(int(windowEnd/time.Second), secs-1)
	lastFull := int(end/time.Second) - 1 // the last second the workload ran whole
	for i := faultSec; i <= min(endSec, lastFull); i++ {
		if float64(s.Seconds[i].OK) < threshold {
			s.Below80++
		}
	}
	s.Recover80 = -1
	if s.BaseRate == 0 {
		return
	}
	for i := faultSec; i+2 <= lastFull; i++ {
		good := true
		for j := i; j < i+3; j++ {
			if float64(s.Seconds[j].OK) < threshold {
				good = false
				break
			}
		}
		if good {
			s.Recover80 = max(0, (time.Duration(i)*time.Second - faultAt).Seconds())
			break
		}
	}
}

func fmtSecs(v float64) string {
	if v < 0 {
		return "never"
	}
	return fmt.Sprintf("%.1f", v)
}

func fmtMs(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond)) }

// chaosReport is the text of the report: the tables, then each
// scenario's details and timeline when full is set.
func chaosReport(sums []*chaosSummary, header string, full bool) string {
	var b strings.Builder
	b.WriteString(header)
	b.WriteString("\n\nOperations (QUORUM, RF 3, 32 workers, 2 s request timeout) and how the failed ones failed:\n")
	fmt.Fprintf(&b, "%-22s %6s %7s %6s %7s", "scenario", "wall s", "ops", "ok%", "failed")
	for k := kindTimeout; k < numKinds; k++ {
		fmt.Fprintf(&b, " %8s", kindNames[k])
	}
	fmt.Fprintf(&b, " %7s %5s\n", "acked", "LOST")
	for _, s := range sums {
		okPct := 0.0
		if s.Ops > 0 {
			okPct = 100 * float64(s.Kinds[kindOK]) / float64(s.Ops)
		}
		fmt.Fprintf(&b, "%-22s %6.0f %7d %6.2f %7d", s.Name, s.Wall.Seconds(), s.Ops, okPct, s.failed())
		for k := kindTimeout; k < numKinds; k++ {
			fmt.Fprintf(&b, " %8d", s.Kinds[k])
		}
		lost := fmt.Sprint(s.Lost)
		if !s.Verified {
			lost = "?"
		}
		fmt.Fprintf(&b, " %7d %5s\n", s.Acked, lost)
	}
	b.WriteString("\nLatency and recovery (fault window: from the fault until 5 s after traffic reached the returning node):\n")
	fmt.Fprintf(&b, "%-22s %7s %8s %8s %8s %8s %8s %8s  %s\n", "scenario", "base/s", "p99 pre", "p99 win", "max win",
		"rec80 s", "<80% s", "window s", "return -> traffic on it (s)")
	for _, s := range sums {
		var rets []string
		for _, r := range s.Returns {
			rets = append(rets, fmt.Sprintf("node%d %s", r.Node, fmtSecs(r.Traffic)))
		}
		fmt.Fprintf(&b, "%-22s %7.0f %8s %8s %8s %8s %8d %8.0f  %s\n", s.Name, s.BaseRate, fmtMs(s.P99Base)+"ms",
			fmtMs(s.P99Window)+"ms", fmtMs(s.MaxWindow)+"ms", fmtSecs(s.Recover80), s.Below80,
			(s.WindowEnd - s.FaultAt).Seconds(), strings.Join(rets, ", "))
	}
	b.WriteString("  base/s: good operations per second before the fault; rec80: seconds from the fault until the first 3 s in a\n" +
		"  row at >= 80% of base/s (0: no dip); <80%: seconds of the window under 80% (later dips too, e.g. when a node\n" +
		"  comes back); p99/max: every operation started in the window, failed ones included.\n")
	for _, s := range sums {
		var lines []string
		if s.failed() > 0 {
			lines = append(lines, fmt.Sprintf("FAILED OPS WHILE A QUORUM WAS UP: %d of %d (goal: 0)", s.failed(), s.Ops))
		}
		if s.Kinds[kindStale] > 0 {
			lines = append(lines, fmt.Sprintf("STALE READS of acknowledged keys: %d", s.Kinds[kindStale]))
		}
		if s.Lost > 0 {
			lines = append(lines, fmt.Sprintf("LOST ACKNOWLEDGED WRITES: %d, e.g. keys %v", s.Lost, s.LostKeys[:min(10, len(s.LostKeys))]))
		}
		if s.VerifyNote != "" {
			lines = append(lines, "read-back: "+s.VerifyNote)
		}
		for k := kindTimeout; k < numKinds; k++ {
			if s.FirstErr[k] != "" {
				msg := s.FirstErr[k]
				if len(msg) > 400 {
					msg = msg[:397] + "..."
				}
				lines = append(lines, fmt.Sprintf("first %s: %s", kindNames[k], msg))
			}
		}
		if full {
			var keys []string
			for k := range s.Samples {
				if strings.HasPrefix(k, "other: ") || strings.HasPrefix(k, "stale: ") {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys[:min(20, len(keys))] {
				lines = append(lines, fmt.Sprintf("%dx %s", s.Samples[k], k))
			}
		}
		lines = append(lines, s.Notes...)
		if len(lines) > 0 {
			fmt.Fprintf(&b, "\n%s:\n", s.Name)
			for _, l := range lines {
				fmt.Fprintf(&b, "  %s\n", l)
			}
		}
	}
	if !full {
		return b.String()
	}
	for _, s := range sums {
		fmt.Fprintf(&b, "\n==== %s: events\n", s.Name)
		for _, m := range s.Marks {
			fmt.Fprintf(&b, "  %7.2f s  %s\n", m.at.Seconds(), m.label)
		}
		if len(s.Logs) > 0 {
			b.WriteString("  driver warnings:\n")
			for _, l := range s.Logs {
				fmt.Fprintf(&b, "    %s\n", l)
			}
		}
		fmt.Fprintf(&b, "==== %s: per second (ok/failed by completion; answers and attempts per node by the Observer)\n", s.Name)
		fmt.Fprintf(&b, "  %4s %6s %6s   %6s %6s %6s   %6s %6s %6s\n", "s", "ok", "failed", "ans1", "ans2", "ans3", "att1", "att2", "att3")
		for i, sec := range s.Seconds {
			fmt.Fprintf(&b, "  %4d %6d %6d   %6d %6d %6d   %6d %6d %6d\n", i, sec.OK, sec.Failed,
				sec.Answers[0], sec.Answers[1], sec.Answers[2], sec.Attempts[0], sec.Attempts[1], sec.Attempts[2])
		}
	}
	return b.String()
}

// TestChaosSummaryNumbers checks the suite's arithmetic on a made-up
// scenario (no cluster needed): 100 good operations per second, none from
// the fault at 7.5 s until 12 s, then 100 again, a dip at 20 s.
func TestChaosSummaryNumbers(t *testing.T) {
	rec, err := newChaosRecorder([]string{"127.0.0.1", "127.0.0.2", "127.0.0.3"})
	if err != nil {
		t.Fatal(err)
	}
	ms := time.Millisecond
	for sec := 0; sec < 30; sec++ {
		n := 100
		switch {
		case sec >= 8 && sec < 12, sec == 20:
			n = 0
		}
		for i := range n {
			rec.ops = append(rec.ops, chaosOp{start: time.Duration(sec)*time.Second + time.Duration(i)*5*ms, lat: ms, write: i%2 == 0})
		}
	}
	rec.ops = append(rec.ops, chaosOp{start: 7600 * ms, lat: 2000 * ms, kind: kindTimeout})
	var s chaosSummary
	s.fill(rec, 7500*ms, 17*time.Second, 30*time.Second)
	if s.BaseRate != 100 {
		t.Errorf("base rate %v, want 100", s.BaseRate)
	}
	if s.Recover80 != 4.5 {
		t.Errorf("recovery %v s, want 4.5 (3 good seconds from 12 s on, the fault at 7.5 s)", s.Recover80)
	}
	if s.Below80 != 4 {
		t.Errorf("%d seconds under 80%% in the window, want 4 (8..11; 20 is after the window)", s.Below80)
	}
	if s.MaxWindow != 2000*ms || s.failed() != 1 || s.Kinds[kindTimeout] != 1 {
		t.Errorf("max %v, failed %d, kinds %v", s.MaxWindow, s.failed(), s.Kinds)
	}
	if !strings.Contains(chaosReport([]*chaosSummary{&s}, "test", true), "FAILED OPS WHILE A QUORUM WAS UP: 1") {
		t.Error("the report does not show the failed operation")
	}
}

func TestClassifyChaosErr(t *testing.T) {
	timeout := fmt.Errorf("cluster: no answer within the statement's timeout: %w (after: %w)", context.DeadlineExceeded,
		&NoHostAvailableError{Errors: []HostError{{Addr: "a", Err: errors.New("x")}}})
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, kindOK},
		{timeout, kindTimeout},
		{&NoHostAvailableError{}, kindNoHost},
		{&frame.Error{Code: frame.CodeUnavailable}, kindUnavailable},
		{&frame.Error{Code: frame.CodeWriteTimeout}, kindWriteTimeout},
		{&frame.Error{Code: frame.CodeReadTimeout}, kindReadTimeout},
		{&frame.Error{Code: frame.CodeOverloaded}, kindOverloaded},
		{&frame.Error{Code: frame.CodeUnauthorized}, kindOther},
		{&conn.Error{Addr: "a", Op: "EXECUTE", Err: conn.ErrConnectionLost}, kindConn},
		{errors.New("?"), kindOther},
	} {
		if got := classifyChaosErr(c.err); got != c.want {
			t.Errorf("%v: %s, want %s", c.err, kindNames[got], kindNames[c.want])
		}
	}
}
