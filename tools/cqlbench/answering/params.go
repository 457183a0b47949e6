package answering

import (
	"encoding/binary"

	"github.com/cqlwire/cqlwire/frame"
)

// execute is what the server reads of an EXECUTE body, without decoding it
// into a frame.Execute (which would allocate): every slice aliases the body.
type execute struct {
	id          []byte
	flags       frame.QueryFlags
	values      []byte // the n [value]s, after their [short] count
	nvalues     int
	pageSize    int32
	pagingState []byte // nil when absent
}

// reader walks a body; ok turns false at the first field that does not fit.
type reader struct {
	b  []byte
	ok bool
}

func (r *reader) take(n int) []byte {
	if !r.ok || n < 0 || n > len(r.b) {
		r.ok = false
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) short() int {
	b := r.take(2)
	if b == nil {
		return 0
	}
	return int(binary.BigEndian.Uint16(b))
}

func (r *reader) int32() int32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(b))
}

// value reads a [value]: bytes, or nil for null (-1) and unset (-2).
func (r *reader) value() (v []byte, null bool) {
	n := r.int32()
	if !r.ok {
		return nil, false
	}
	if n < 0 {
		return nil, true
	}
	return r.take(int(n)), false
}

// parseExecute reads <id>[<result_metadata_id>]<query_parameters> as far as
// the paging state.
func parseExecute(body []byte, v frame.Version) (e execute, ok bool) {
	r := reader{b: body, ok: true}
	e.id = r.take(r.short())
	if v >= frame.V5 {
		r.take(r.short()) // result metadata id
	}
	r.take(2) // consistency
	if v >= frame.V5 {
		e.flags = frame.QueryFlags(uint32(r.int32()))
	} else if f := r.take(1); f != nil {
		e.flags = frame.QueryFlags(f[0])
	}
	if e.flags&frame.QueryFlagNames != 0 {
		return e, false // the harness never names its values
	}
	if e.flags&frame.QueryFlagValues != 0 {
		e.nvalues = r.short()
		start := r.b
		for range e.nvalues {
			r.value()
		}
		if r.ok {
			e.values = start[:len(start)-len(r.b)]
		}
	}
	if e.flags&frame.QueryFlagPageSize != 0 {
		e.pageSize = r.int32()
	}
	if e.flags&frame.QueryFlagPagingState != 0 {
		if st, null := r.value(); !null {
			e.pagingState = st
			if st == nil && r.ok {
				e.pagingState = []byte{}
			}
		}
	}
	return e, r.ok
}

// valueIter yields the bound values of an execute, in order.
type valueIter struct{ r reader }

func (e *execute) valueIter() valueIter { return valueIter{reader{b: e.values, ok: true}} }

func (it *valueIter) next() (v []byte, null bool) { return it.r.value() }
