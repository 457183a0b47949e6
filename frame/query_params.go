package frame

import (
	"fmt"
	"math"
)

// QueryFlags are the <flags> of the QUERY and EXECUTE query parameters and of
// BATCH: one [byte] in v4, an [int] in v5.
type QueryFlags uint32

const (
	QueryFlagValues            QueryFlags = 0x0001 // a [short] n and n values follow
	QueryFlagSkipMetadata      QueryFlags = 0x0002 // the RESULT rows carry no metadata
	QueryFlagPageSize          QueryFlags = 0x0004 // <result_page_size> [int]
	QueryFlagPagingState       QueryFlags = 0x0008 // <paging_state> [bytes]
	QueryFlagSerialConsistency QueryFlags = 0x0010 // <serial_consistency>
	QueryFlagDefaultTimestamp  QueryFlags = 0x0020 // <timestamp> [long], microseconds
	QueryFlagNames             QueryFlags = 0x0040 // each value is preceded by its [string] name
	QueryFlagKeyspace          QueryFlags = 0x0080 // v5: <keyspace> [string]
	QueryFlagNowInSeconds      QueryFlags = 0x0100 // v5: <now_in_seconds> [int]
)

// queryFlagsV4 and queryFlagsV5 are the flags each version defines.
const (
	queryFlagsV4 = QueryFlagValues | QueryFlagSkipMetadata | QueryFlagPageSize | QueryFlagPagingState |
		QueryFlagSerialConsistency | QueryFlagDefaultTimestamp | QueryFlagNames
	queryFlagsV5 = queryFlagsV4 | QueryFlagKeyspace | QueryFlagNowInSeconds
)

var queryFlagNames = [...]string{"VALUES", "SKIP_METADATA", "PAGE_SIZE", "PAGING_STATE",
	"SERIAL_CONSISTENCY", "DEFAULT_TIMESTAMP", "NAMES_FOR_VALUES", "KEYSPACE", "NOW_IN_SECONDS"}

// String renders f as hex followed by the names of its bits, e.g.
// "0x5 (VALUES|PAGE_SIZE)".
func (f QueryFlags) String() string { return flagString(uint32(f), queryFlagNames[:]) }

func knownQueryFlags(v Version) QueryFlags {
	if v >= V5 {
		return queryFlagsV5
	}
	return queryFlagsV4
}

// QueryParams are the <query_parameters> shared by QUERY and EXECUTE.
//
// Presence rule: an optional field is sent when its value is not the zero
// value (Values, Names and PagingState: when not nil) or when its bit is set
// in Flags. Decoding records the exact wire flags in Flags, so a decoded
// message re-encodes to the same bytes even when a field present on the wire
// holds a zero value (a page size of 0, a timestamp of 0, an empty keyspace,
// a null paging state). A caller building a request normally leaves Flags
// zero; set a bit only to send a zero value explicitly.
type QueryParams struct {
	// Consistency is the consistency level of the request. The zero value
	// is ANY.
	Consistency Consistency
	// Flags are the flags read from the wire by a decoder. When encoding, the
	// flags sent are Flags together with those the fields imply.
	Flags QueryFlags
	// Values are the bound values, in marker order (or matching Names).
	// Non-nil (even empty) sets QueryFlagValues.
	Values []Value
	// Names, when non-nil, names each value (QueryFlagNames): named bind
	// markers. It must have one name per value. Names without values are an
	// error; the flag alone (with Values nil) is sent as the spec allows.
	Names []string
	// SkipMetadata asks for rows without result metadata (the client already
	// has it from PREPARE). Mostly useful with EXECUTE.
	SkipMetadata bool
	// PageSize is the desired number of rows per page; non-zero is sent
	// (QueryFlagPageSize). Zero means no paging unless the flag is set.
	PageSize int32
	// PagingState continues a paged query where the previous page ended
	// (the RESULT's paging state). Nil means absent.
	PagingState []byte
	// SerialConsistency is the consistency of the Paxos phase of conditional
	// updates (SERIAL or LOCAL_SERIAL); non-zero is sent. Absent, the server
	// uses SERIAL.
	SerialConsistency Consistency
	// DefaultTimestamp is the write timestamp in microseconds since the
	// epoch used when the statement gives none; non-zero is sent.
	DefaultTimestamp int64
	// Keyspace (v5 only) runs the query in this keyspace instead of the
	// connection's; non-empty is sent. Encoding it for v4 is an error.
	Keyspace string
	// NowInSeconds (v5 only) overrides the server's idea of now, for TTL and
	// tombstone tests; non-zero is sent. Encoding it for v4 is an error.
	NowInSeconds int32
}

// wireFlags computes the flags to send and checks that the fields fit
// version v. On failure it fails w and returns false.
func (p *QueryParams) wireFlags(w *writer, v Version) (QueryFlags, bool) {
	f := p.Flags
	if p.Values != nil {
		f |= QueryFlagValues
	}
	if p.Names != nil {
		f |= QueryFlagNames
	}
	if p.SkipMetadata {
		f |= QueryFlagSkipMetadata
	}
	if p.PageSize != 0 {
		f |= QueryFlagPageSize
	}
	if p.PagingState != nil {
		f |= QueryFlagPagingState
	}
	if p.SerialConsistency != 0 {
		f |= QueryFlagSerialConsistency
	}
	if p.DefaultTimestamp != 0 {
		f |= QueryFlagDefaultTimestamp
	}
	if p.Keyspace != "" {
		f |= QueryFlagKeyspace
	}
	if p.NowInSeconds != 0 {
		f |= QueryFlagNowInSeconds
	}
	switch {
	case v < V5 && f&QueryFlagKeyspace != 0:
		w.fail("keyspace", errV5Only)
	case v < V5 && f&QueryFlagNowInSeconds != 0:
		w.fail("now_in_seconds", errV5Only)
	case f&^knownQueryFlags(v) != 0:
		w.fail("flags", fmt.Errorf("unknown flags %#x", uint32(f&^knownQueryFlags(v))))
	case len(p.Values) > math.MaxUint16:
		w.fail("values", fmt.Errorf("%d values exceed the limit of 65535", len(p.Values)))
	case f&QueryFlagValues != 0 && f&QueryFlagNames != 0 && len(p.Names) != len(p.Values):
		w.fail("names", fmt.Errorf("%d names for %d values", len(p.Names), len(p.Values)))
	case f&QueryFlagValues == 0 && len(p.Names) > 0:
		w.fail("names", fmt.Errorf("%d names but no values", len(p.Names)))
	default:
		return f, true
	}
	return 0, false
}

// append writes p, as version v lays it out, to w.
func (p *QueryParams) append(w *writer, v Version) {
	f, ok := p.wireFlags(w, v)
	if !ok {
		return
	}
	w.short(uint16(p.Consistency))
	if v >= V5 {
		w.int32(int32(f))
	} else {
		w.byte1(byte(f))
	}
	if f&QueryFlagValues != 0 {
		w.short(uint16(len(p.Values)))
		named := f&QueryFlagNames != 0
		for i, val := range p.Values {
			if named {
				w.string("names", p.Names[i])
			}
			w.value("values", val)
			if w.err != nil {
				indexField(w.err, "names", i)
				indexField(w.err, "values", i)
				return
			}
		}
	}
	if f&QueryFlagPageSize != 0 {
		w.int32(p.PageSize)
	}
	if f&QueryFlagPagingState != 0 {
		w.bytes("paging_state", p.PagingState)
	}
	if f&QueryFlagSerialConsistency != 0 {
		w.short(uint16(p.SerialConsistency))
	}
	if f&QueryFlagDefaultTimestamp != 0 {
		w.int64(p.DefaultTimestamp)
	}
	if f&QueryFlagKeyspace != 0 {
		w.string("keyspace", p.Keyspace)
	}
	if f&QueryFlagNowInSeconds != 0 {
		w.int32(p.NowInSeconds)
	}
}

// readFlags reads a v4 [byte] or v5 [int] flags field and fails on bits
// outside allowed.
func readFlags(r *reader, v Version, allowed QueryFlags) QueryFlags {
	start := r.off
	var f QueryFlags
	if v >= V5 {
		f = QueryFlags(uint32(r.int32("flags")))
	} else {
		f = QueryFlags(r.byte1("flags"))
	}
	if r.err == nil && f&^allowed != 0 {
		r.off = start
		r.fail("flags", fmt.Errorf("unknown flags %#x for protocol v%d", uint32(f&^allowed), v))
		return 0
	}
	return f
}

func (p *QueryParams) decode(r *reader, v Version) {
	p.Consistency = Consistency(r.short("consistency"))
	f := readFlags(r, v, knownQueryFlags(v))
	if r.err != nil {
		return
	}
	p.Flags = f
	if f&QueryFlagValues != 0 {
		n := int(r.short("values"))
		if f&QueryFlagNames != 0 {
			if !r.count("values", n, 2+4) {
				return
			}
			p.Names = make([]string, n)
			p.Values = make([]Value, n)
			for i := range n {
				p.Names[i] = r.string("names")
				p.Values[i] = r.value("values")
				if r.err != nil {
					indexField(r.err, "names", i)
					indexField(r.err, "values", i)
					return
				}
			}
		} else {
			if !r.count("values", n, 4) {
				return
			}
			p.Values = make([]Value, n)
			for i := range p.Values {
				p.Values[i] = r.value("values")
				if r.err != nil {
					indexField(r.err, "values", i)
					return
				}
			}
		}
	}
	p.SkipMetadata = f&QueryFlagSkipMetadata != 0
	if f&QueryFlagPageSize != 0 {
		p.PageSize = r.int32("result_page_size")
	}
	if f&QueryFlagPagingState != 0 {
		p.PagingState = r.bytes("paging_state")
	}
	if f&QueryFlagSerialConsistency != 0 {
		p.SerialConsistency = Consistency(r.short("serial_consistency"))
	}
	if f&QueryFlagDefaultTimestamp != 0 {
		p.DefaultTimestamp = r.int64("timestamp")
	}
	if f&QueryFlagKeyspace != 0 {
		p.Keyspace = r.string("keyspace")
	}
	if f&QueryFlagNowInSeconds != 0 {
		p.NowInSeconds = r.int32("now_in_seconds")
	}
}

// Query is the QUERY request: run a CQL string, with optional bound values.
// The server answers RESULT.
type Query struct {
	// Query is the CQL statement.
	Query string
	// Params are the consistency, bound values, paging and other options.
	Params QueryParams
}

func (*Query) Opcode() Opcode { return OpQuery }

// AppendBody appends <query><query_parameters> for v4 or v5.
func (m *Query) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := writer{buf: dst, msg: "QUERY"}
	if requestVersionOK(&w, v) {
		w.longString("query", m.Query)
		m.Params.append(&w, v)
	}
	if w.err != nil {
		return dst, w.err
	}
	return w.buf, nil
}

func decodeQuery(r *reader, v Version) *Query {
	m := &Query{Query: r.longString("query")}
	m.Params.decode(r, v)
	return m
}

// Execute is the EXECUTE request: run a statement prepared with PREPARE.
// The server answers RESULT.
type Execute struct {
	// ID is the prepared statement id from RESULT/Prepared.
	ID []byte
	// ResultMetadataID (v5 only) is the id of the result metadata the client
	// holds, from RESULT/Prepared or the last Rows with Metadata_changed. v5
	// always sends it (nil as empty); encoding a non-empty one for v4 is an
	// error.
	ResultMetadataID []byte
	// Params are the consistency, bound values, paging and other options.
	Params QueryParams
}

func (*Execute) Opcode() Opcode { return OpExecute }

// AppendBody appends <id><query_parameters> in v4 and
// <id><result_metadata_id><query_parameters> in v5.
func (m *Execute) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := writer{buf: dst, msg: "EXECUTE"}
	switch {
	case !requestVersionOK(&w, v):
	case v < V5 && len(m.ResultMetadataID) > 0:
		w.fail("result_metadata_id", errV5Only)
	default:
		w.shortBytes("id", m.ID)
		if v >= V5 {
			w.shortBytes("result_metadata_id", m.ResultMetadataID)
		}
		m.Params.append(&w, v)
	}
	if w.err != nil {
		return dst, w.err
	}
	return w.buf, nil
}

func decodeExecute(r *reader, v Version) *Execute {
	m := &Execute{ID: r.shortBytes("id")}
	if v >= V5 {
		m.ResultMetadataID = r.shortBytes("result_metadata_id")
	}
	m.Params.decode(r, v)
	return m
}
