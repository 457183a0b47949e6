package query_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/query"
)

func TestProfileWithDefaults(t *testing.T) {
	p, err := query.Profile{}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if p.Consistency != frame.LocalOne || p.SerialConsistency != 0 || p.RequestTimeout != query.DefaultRequestTimeout ||
		p.PageSize != query.DefaultPageSize || p.Speculative != nil {
		t.Errorf("defaults: %+v", p)
	}
	if _, ok := p.Retry.(query.DefaultRetryPolicy); !ok {
		t.Errorf("Retry %T, want DefaultRetryPolicy", p.Retry)
	}

	spec := query.ConstantSpeculative{Delay: time.Millisecond}
	set := query.Profile{Consistency: frame.Quorum, SerialConsistency: frame.LocalSerial, RequestTimeout: -1,
		Retry: query.NeverRetry{}, Speculative: spec, PageSize: -1}
	p, err = set.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if p != set {
		t.Errorf("set fields changed: %+v, want %+v", p, set)
	}
	for _, c := range []frame.Consistency{frame.One, frame.Two, frame.Three, frame.All, frame.LocalQuorum,
		frame.EachQuorum, frame.Serial, frame.LocalSerial, frame.LocalOne} {
		if p, err := (query.Profile{Consistency: c}).WithDefaults(); err != nil || p.Consistency != c {
			t.Errorf("%v: %v %v", c, p.Consistency, err)
		}
	}
}

func TestProfileValidation(t *testing.T) {
	tests := []struct {
		p    query.Profile
		want string
	}{
		{query.Profile{Consistency: 0x0B}, "Profile.Consistency: unknown consistency level consistency(0xb)"},
		{query.Profile{Consistency: 0xFFFF}, "Profile.Consistency"},
		{query.Profile{SerialConsistency: frame.Quorum}, "Profile.SerialConsistency: QUORUM is not a serial consistency"},
		{query.Profile{SerialConsistency: frame.One}, "Profile.SerialConsistency"},
		{query.Profile{PageSize: math.MaxInt32 + 1}, "Profile.PageSize"},
	}
	for _, tt := range tests {
		if _, err := tt.p.WithDefaults(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.p, err, tt.want)
		}
	}
}

func TestConstantSpeculative(t *testing.T) {
	tests := []struct {
		c    query.ConstantSpeculative
		want []time.Duration // delays for executions 1, 2, ... until ok=false
	}{
		{query.ConstantSpeculative{Delay: 50 * time.Millisecond}, []time.Duration{50 * time.Millisecond}},
		{query.ConstantSpeculative{Delay: time.Second, MaxExecutions: 4}, []time.Duration{time.Second, time.Second, time.Second}},
		{query.ConstantSpeculative{Delay: -time.Second, MaxExecutions: 2}, []time.Duration{0}},
		{query.ConstantSpeculative{Delay: time.Second, MaxExecutions: 1}, nil},
		{query.ConstantSpeculative{Delay: time.Second, MaxExecutions: -3}, nil},
	}
	for _, tt := range tests {
		var got []time.Duration
		for n := 1; n < 10; n++ {
			d, ok := tt.c.NextDelay(n)
			if !ok {
				break
			}
			got = append(got, d)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%+v: %v, want %v", tt.c, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%+v: %v, want %v", tt.c, got, tt.want)
			}
		}
	}
	var _ query.SpeculativePolicy = query.ConstantSpeculative{}
}

func TestObserverFuncs(t *testing.T) {
	var o query.Observer = query.ObserverFuncs{} // nil funcs are not called
	a := query.Attempt{Statement: "SELECT", Host: "h", Attempt: 1, Start: time.Now()}
	o.AttemptStart(a)
	o.AttemptEnd(a, query.AttemptResult{})

	var started, ended []query.Attempt
	var results []query.AttemptResult
	o = query.ObserverFuncs{
		OnStart: func(a query.Attempt) { started = append(started, a) },
		OnEnd:   func(a query.Attempt, r query.AttemptResult) { ended = append(ended, a); results = append(results, r) },
	}
	boom := errors.New("boom")
	o.AttemptStart(a)
	o.AttemptEnd(a, query.AttemptResult{Latency: time.Millisecond, Err: boom, Retry: query.RetryNextHost})
	if len(started) != 1 || started[0] != a || len(ended) != 1 || ended[0] != a ||
		results[0].Err != boom || results[0].Retry != query.RetryNextHost || results[0].Latency != time.Millisecond {
		t.Errorf("started %v ended %v results %v", started, ended, results)
	}
}

func TestBatchTypes(t *testing.T) {
	var b query.BatchType = query.UnloggedBatch
	if b != frame.BatchUnlogged || query.LoggedBatch != frame.BatchLogged || query.CounterBatch != frame.BatchCounter {
		t.Error("batch type constants do not match frame's")
	}
	var zero query.BatchType
	if zero != query.LoggedBatch {
		t.Error("zero BatchType is not LOGGED")
	}
}
