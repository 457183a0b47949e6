package frame

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// BatchType is the <type> of a BATCH.
type BatchType byte

const (
	BatchLogged   BatchType = 0 // atomic through the batch log (CQL "BEGIN BATCH")
	BatchUnlogged BatchType = 1 // no batch log ("BEGIN UNLOGGED BATCH")
	BatchCounter  BatchType = 2 // counter updates only ("BEGIN COUNTER BATCH")
)

func (t BatchType) String() string {
	switch t {
	case BatchLogged:
		return "LOGGED"
	case BatchUnlogged:
		return "UNLOGGED"
	case BatchCounter:
		return "COUNTER"
	}
	return "batch_type(" + strconv.Itoa(int(t)) + ")"
}

// batchFlagsV4 and batchFlagsV5 are the BATCH flags this package accepts.
// The low four bits (values, skip metadata, page size, paging state) make no
// sense for a batch and must be zero. QueryFlagNames is refused: see Batch.
const (
	batchFlagsV4 = QueryFlagSerialConsistency | QueryFlagDefaultTimestamp
	batchFlagsV5 = batchFlagsV4 | QueryFlagKeyspace | QueryFlagNowInSeconds
)

// errBatchNames explains why QueryFlagNames is refused in a BATCH.
var errBatchNames = errors.New("names for values (flag 0x40) are not supported in BATCH: the flag comes after " +
	"the statements it would describe, servers ignore it and read no names (CASSANDRA-10246)")

// BatchStatement is one <query_i> of a BATCH: a CQL string (kind 0) or a
// prepared statement id (kind 1), with its bound values.
type BatchStatement struct {
	// Query is the CQL text of a kind 0 statement; it must be empty when ID
	// is set.
	Query string
	// ID, when non-nil, makes this a prepared statement (kind 1): the id
	// from RESULT/Prepared. A decoded kind 1 statement has a non-nil ID even
	// when it is empty.
	ID []byte
	// Values are the bound values in marker order (at most 65535). A decoded
	// statement always has a non-nil slice.
	Values []Value
}

// Batch is the BATCH request: several INSERT, UPDATE or DELETE statements,
// plain or prepared, executed together. The server answers RESULT.
//
// Named values (flag 0x40) are not supported: the spec places the flag
// after the statements, so no reader can know in time whether names precede
// the values; Cassandra ignores the flag and reads no names, and other
// drivers refuse it. Decoding a BATCH with that flag fails on "flags", and
// no field here can produce it.
//
// Presence follows the rule of QueryParams: an optional field is sent when
// it is not zero or when its bit is set in Flags, and decoding records the
// wire flags in Flags.
type Batch struct {
	// Type is LOGGED (the zero value), UNLOGGED or COUNTER.
	Type BatchType
	// Statements are the statements of the batch (at most 65535).
	Statements []BatchStatement
	// Consistency is the consistency level of the batch.
	Consistency Consistency
	// Flags are the flags read from the wire by a decoder. When encoding,
	// the flags sent are Flags together with those the fields imply.
	Flags QueryFlags
	// SerialConsistency is the consistency of the Paxos phase of
	// conditional batches (SERIAL or LOCAL_SERIAL); non-zero is sent.
	SerialConsistency Consistency
	// Timestamp is the default write timestamp, microseconds since the
	// epoch; non-zero is sent.
	Timestamp int64
	// Keyspace (v5 only) is the keyspace of unqualified table names in the
	// statements; non-empty is sent. Encoding it for v4 is an error.
	Keyspace string
	// NowInSeconds (v5 only) overrides the server's idea of now; non-zero is
	// sent. Encoding it for v4 is an error.
	NowInSeconds int32
}

func (*Batch) Opcode() Opcode { return OpBatch }

func (m *Batch) wireFlags(w *writer, v Version) (QueryFlags, bool) {
	f := m.Flags
	if m.SerialConsistency != 0 {
		f |= QueryFlagSerialConsistency
	}
	if m.Timestamp != 0 {
		f |= QueryFlagDefaultTimestamp
	}
	if m.Keyspace != "" {
		f |= QueryFlagKeyspace
	}
	if m.NowInSeconds != 0 {
		f |= QueryFlagNowInSeconds
	}
	allowed := QueryFlags(batchFlagsV4)
	if v >= V5 {
		allowed = batchFlagsV5
	}
	switch {
	case v < V5 && f&QueryFlagKeyspace != 0:
		w.fail("keyspace", errV5Only)
	case v < V5 && f&QueryFlagNowInSeconds != 0:
		w.fail("now_in_seconds", errV5Only)
	case f&QueryFlagNames != 0:
		w.fail("flags", errBatchNames)
	case f&^allowed != 0:
		w.fail("flags", fmt.Errorf("flags %#x are not valid in BATCH", uint32(f&^allowed)))
	case m.Type > BatchCounter:
		w.fail("type", fmt.Errorf("unknown batch type %d", m.Type))
	case len(m.Statements) > math.MaxUint16:
		w.fail("statements", fmt.Errorf("%d statements exceed the limit of 65535", len(m.Statements)))
	default:
		return f, true
	}
	return 0, false
}

// AppendBody appends
// <type><n><query_1>...<query_n><consistency><flags>[<serial_consistency>][<timestamp>]
// and, in v5, [<keyspace>][<now_in_seconds>]; flags are a [byte] in v4 and an
// [int] in v5.
func (m *Batch) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := writer{buf: dst, msg: "BATCH"}
	if requestVersionOK(&w, v) {
		m.append(&w, v)
	}
	if w.err != nil {
		return dst, w.err
	}
	return w.buf, nil
}

func (m *Batch) append(w *writer, v Version) {
	f, ok := m.wireFlags(w, v)
	if !ok {
		return
	}
	w.byte1(byte(m.Type))
	w.short(uint16(len(m.Statements)))
	for i := range m.Statements {
		m.Statements[i].append(w)
		if w.err != nil {
			prefixField(w.err, "statements", i)
			return
		}
	}
	w.short(uint16(m.Consistency))
	if v >= V5 {
		w.int32(int32(f))
	} else {
		w.byte1(byte(f))
	}
	if f&QueryFlagSerialConsistency != 0 {
		w.short(uint16(m.SerialConsistency))
	}
	if f&QueryFlagDefaultTimestamp != 0 {
		w.int64(m.Timestamp)
	}
	if f&QueryFlagKeyspace != 0 {
		w.string("keyspace", m.Keyspace)
	}
	if f&QueryFlagNowInSeconds != 0 {
		w.int32(m.NowInSeconds)
	}
}

func (s *BatchStatement) append(w *writer) {
	switch {
	case s.ID != nil && s.Query != "":
		w.fail("query", errors.New("both a query string and a prepared id are set"))
		return
	case len(s.Values) > math.MaxUint16:
		w.fail("values", fmt.Errorf("%d values exceed the limit of 65535", len(s.Values)))
		return
	case s.ID != nil:
		w.byte1(1)
		w.shortBytes("id", s.ID)
	default:
		w.byte1(0)
		w.longString("query", s.Query)
	}
	w.short(uint16(len(s.Values)))
	for i, val := range s.Values {
		w.value("values", val)
		if w.err != nil {
			indexField(w.err, "values", i)
			return
		}
	}
}

func decodeBatch(r *reader, v Version) *Batch {
	m := &Batch{}
	start := r.off
	m.Type = BatchType(r.byte1("type"))
	if r.err == nil && m.Type > BatchCounter {
		r.off = start
		r.fail("type", fmt.Errorf("unknown batch type %d", m.Type))
		return m
	}
	n := int(r.short("statements"))
	// The smallest statement is a prepared one with an empty id: a kind, a
	// [short bytes] length and a zero value count, 5 bytes.
	if !r.count("statements", n, 1+2+2) {
		return m
	}
	m.Statements = make([]BatchStatement, n)
	for i := range m.Statements {
		m.Statements[i].decode(r)
		if r.err != nil {
			prefixField(r.err, "statements", i)
			return m
		}
	}
	m.Consistency = Consistency(r.short("consistency"))
	start = r.off
	allowed := QueryFlags(batchFlagsV4)
	if v >= V5 {
		allowed = batchFlagsV5
	}
	f := readFlags(r, v, allowed|QueryFlagNames)
	if r.err == nil && f&QueryFlagNames != 0 {
		r.off = start
		r.fail("flags", errBatchNames)
	}
	if r.err != nil {
		return m
	}
	m.Flags = f
	if f&QueryFlagSerialConsistency != 0 {
		m.SerialConsistency = Consistency(r.short("serial_consistency"))
	}
	if f&QueryFlagDefaultTimestamp != 0 {
		m.Timestamp = r.int64("timestamp")
	}
	if f&QueryFlagKeyspace != 0 {
		m.Keyspace = r.string("keyspace")
	}
	if f&QueryFlagNowInSeconds != 0 {
		m.NowInSeconds = r.int32("now_in_seconds")
	}
	return m
}

func (s *BatchStatement) decode(r *reader) {
	start := r.off
	switch kind := r.byte1("kind"); {
	case r.err != nil:
		return
	case kind == 0:
		s.Query = r.longString("query")
	case kind == 1:
		s.ID = r.shortBytes("id")
		if s.ID == nil && r.err == nil {
			s.ID = []byte{}
		}
	default:
		r.off = start
		r.fail("kind", fmt.Errorf("statement kind %d, want 0 (query) or 1 (prepared)", kind))
		return
	}
	n := int(r.short("values"))
	if !r.count("values", n, 4) {
		return
	}
	s.Values = make([]Value, n)
	for i := range s.Values {
		s.Values[i] = r.value("values")
		if r.err != nil {
			indexField(r.err, "values", i)
			return
		}
	}
}
