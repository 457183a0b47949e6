package segment

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

type step struct {
	payload       []byte
	selfContained bool
}

// collect feeds steps to r and returns the envelopes emitted (copied) and the
// first error.
func collect(r *Reassembler, steps []step) ([][]byte, error) {
	var out [][]byte
	for _, s := range steps {
		err := r.Add(s.payload, s.selfContained, func(e []byte) error {
			out = append(out, bytes.Clone(e))
			return nil
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func TestReassembler(t *testing.T) {
	e1, e2, e3 := envelope(1, 0), envelope(2, 10), envelope(3, 300)
	big := envelope(4, 300<<10) // 300 KiB body, as three segments
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	tests := []struct {
		name  string
		steps []step
		want  [][]byte
	}{
		{"empty self-contained", []step{{nil, true}}, nil},
		{"one", []step{{e2, true}}, [][]byte{e2}},
		{"several in one segment", []step{{cat(e1, e2, e3), true}}, [][]byte{e1, e2, e3}},
		{"300 KiB split", []step{
			{big[:MaxPayloadSize], false},
			{big[MaxPayloadSize : 2*MaxPayloadSize], false},
			{big[2*MaxPayloadSize:], false},
		}, [][]byte{big}},
		{"header split across segments", []step{
			{e3[:4], false}, {e3[4:7], false}, {nil, false}, {e3[7:9], false}, {e3[9:100], false}, {e3[100:], false},
		}, [][]byte{e3}},
		{"whole envelope in one non-self-contained segment", []step{{e2, false}}, [][]byte{e2}},
		// The parts of a large envelope must come in order, but other
		// segments may come between them (Cassandra's and the Java
		// driver's readers take them).
		{"self-contained between the parts of a large envelope", []step{
			{big[:MaxPayloadSize], false},
			{cat(e1, e2), true},
			{nil, true},
			{big[MaxPayloadSize:], false},
		}, [][]byte{e1, e2, big}},
		{"mixed", []step{
			{cat(e1, e2), true},
			{big[:MaxPayloadSize], false},
			{big[MaxPayloadSize:], false},
			{e3, true},
			{e3[:50], false},
			{e3[50:], false},
		}, [][]byte{e1, e2, big, e3, e3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Reassembler
			got, err := collect(&r, tt.steps)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d envelopes, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !bytes.Equal(got[i], tt.want[i]) {
					t.Errorf("envelope %d differs", i)
				}
			}
			if r.Pending() != 0 {
				t.Errorf("%d bytes pending", r.Pending())
			}
		})
	}
}

func TestReassemblerErrors(t *testing.T) {
	e2 := envelope(2, 10)
	huge := envelope(5, 0)
	huge[5], huge[6], huge[7], huge[8] = 0x10, 0x00, 0x00, 0x01 // 256 MiB + 1
	tests := []struct {
		name  string
		max   int
		steps []step
		want  error
		msg   string
	}{
		{"partial header in self-contained", 0, []step{{append(bytes.Clone(e2), 5, 0), true}}, ErrCorrupt,
			"segment: envelope header corrupt at offset 19"},
		{"body past self-contained end", 0, []step{{e2[:15], true}}, ErrCorrupt,
			"segment: envelope length corrupt at offset 5: body of 10 bytes, 6 left"},
		{"bytes beyond envelope", 0, []step{{e2[:12], false}, {append(bytes.Clone(e2[12:]), 1), false}}, ErrCorrupt,
			"segment: payload corrupt at offset 19: 1 bytes beyond"},
		{"default limit, self-contained", 0, []step{{huge, true}}, ErrTooLarge,
			"segment: envelope body length exceeds limit at offset 5: body of 268435457 bytes, limit 268435456"},
		{"default limit, split", 0, []step{{huge, false}}, ErrTooLarge, "limit 268435456"},
		{"custom limit", 9, []step{{e2, false}}, ErrTooLarge, "body of 10 bytes, limit 9"},
		{"custom limit, self-contained", 9, []step{{e2, true}}, ErrTooLarge, "body of 10 bytes, limit 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Reassembler{MaxBodySize: tt.max}
			_, err := collect(&r, tt.steps)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v; want %v containing %q", err, tt.want, tt.msg)
			}
			// The limit is checked before the buffer grows past the header.
			if cap(r.buf) > 64 {
				t.Errorf("buffer grew to %d bytes", cap(r.buf))
			}
		})
	}
	t.Run("exactly at the limit", func(t *testing.T) {
		r := Reassembler{MaxBodySize: 10}
		got, err := collect(&r, []step{{e2, true}, {e2[:3], false}, {e2[3:], false}})
		if err != nil || len(got) != 2 {
			t.Fatalf("got %d envelopes, %v", len(got), err)
		}
	})
}

func TestReassemblerEmitError(t *testing.T) {
	stop := errors.New("stop")
	e := envelope(1, 4)
	var r Reassembler
	calls := 0
	err := r.Add(bytes.Repeat(e, 3), true, func([]byte) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Fatalf("got %v after %d calls; want stop after 1", err, calls)
	}
	err = r.Add(e, false, func([]byte) error { return stop })
	if err != stop {
		t.Fatalf("got %v; want stop", err)
	}
}

func TestReassemblerBuffers(t *testing.T) {
	big := envelope(4, 200<<10)
	steps := []step{{big[:MaxPayloadSize], false}, {big[MaxPayloadSize:], false}}

	// Self-contained envelopes alias the payload.
	var r Reassembler
	p := envelope(1, 5)
	_ = r.Add(p, true, func(e []byte) error {
		if &e[0] != &p[0] {
			t.Error("self-contained envelope does not alias the payload")
		}
		return nil
	})

	// Without Retain the buffer is reused, so steady state does not allocate.
	var first []byte
	_ = r.Add(steps[0].payload, false, nil)
	_ = r.Add(steps[1].payload, false, func(e []byte) error { first = e; return nil })
	allocs := testing.AllocsPerRun(20, func() {
		for _, s := range steps {
			_ = r.Add(s.payload, false, func(e []byte) error {
				if &e[0] != &first[0] {
					t.Error("buffer not reused")
				}
				return nil
			})
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocs per reassembled envelope", allocs)
	}

	// With Retain each envelope keeps its own buffer.
	r = Reassembler{Retain: true}
	var kept [][]byte
	for range 2 {
		for _, s := range steps {
			_ = r.Add(s.payload, false, func(e []byte) error { kept = append(kept, e); return nil })
		}
	}
	if len(kept) != 2 || &kept[0][0] == &kept[1][0] || !bytes.Equal(kept[0], big) || !bytes.Equal(kept[1], big) {
		t.Error("Retain did not give each envelope its own buffer")
	}

	// Reset drops a partial envelope.
	r = Reassembler{}
	_ = r.Add(big[:100], false, nil)
	r.Reset()
	got, err := collect(&r, []step{{envelope(2, 3), true}})
	if err != nil || len(got) != 1 || r.Pending() != 0 {
		t.Errorf("after Reset: %d envelopes, %v", len(got), err)
	}
}
