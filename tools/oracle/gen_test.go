package oracle

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/types"
)

// A skip names one precise reason why a comparison cannot be made for a
// generated message. Each is documented where it is declared, with the
// verdict, and in testdata/frames/README.md. A generated message collects
// the skips that apply to it; every other comparison is made.
type skip string

// Comparisons a skip can disable.
type skipSet struct {
	oracleDecode skip // the oracle cannot decode cqlwire's encoding faithfully
	oracleEncode skip // the oracle cannot produce these bytes
	bytes        skip // both encode it, but not to the same bytes
}

// Not disagreements: places where the wire or the oracle's API leaves a
// choice, so that only the bytes (or only one direction) cannot be compared.
const (
	// Maps ([string map], [string multimap], [bytes map], named values)
	// have no order on the wire. The oracle writes Go maps in iteration
	// order (random); cqlwire sorts the keys. Both are valid.
	skipMapOrder skip = "map with several entries: no wire order"
	// The oracle sets GLOBAL_TABLES_SPEC exactly when all columns share a
	// table; cqlwire sends what Flags says. Per-column specs for one table
	// are valid (the server itself always uses the global spec then).
	skipGlobalSpecChoice skip = "per-column table specs for columns of one table"
	// The oracle keeps data_present as a bool and writes 1 for true; cqlwire
	// keeps the byte as received, so 2..255 re-encode as they came.
	skipDataPresentByte skip = "data_present byte other than 0 or 1"
	// Things the oracle's API cannot express, though the wire can: a flag
	// with a zero or null value (page size <= 0, null paging state, empty
	// keyspace, a non-serial serial consistency), the names flag without
	// values, a zero-column result without NO_METADATA, an empty query or
	// id where the oracle refuses one (PREPARE, AUTHENTICATE, SET_KEYSPACE,
	// schema changes, batch children, EXECUTE, Prepared), an empty REGISTER.
	// The oracle still decodes these bytes, so only "oracle encodes" is
	// skipped.
	skipOracleAPI skip = "the oracle's API cannot express this message"
	// WriteTimeout without <contentions> for write type CAS in v5: what
	// Cassandra sends for a plain CAS write timeout (frame.WriteTimeout
	// NoContentions). The oracle always reads and writes <contentions> for
	// CAS in v5, so it cannot decode or produce this form.
	skipNoContentions skip = "v5 CAS write timeout without contentions (server quirk)"
)

// Known disagreements, each with its verdict (see README). The tests skip
// exactly these and check the server's behaviour separately in
// known_test.go.
const (
	// Oracle wrong: it orders a response body tracing id, custom payload,
	// warnings; the spec (v4/v5 section 2.2) and the server
	// (transport/Message.java encode/decodeMessage) use tracing id,
	// warnings, custom payload, as cqlwire does.
	skipBodyOrder skip = "response with both warnings and custom payload: oracle uses the wrong order"
	// Oracle wrong: its WriteType.IsValid omits CAS, so it refuses to
	// decode a Write_failure with write type CAS, which the spec lists and
	// Cassandra sends (Paxos commit failures).
	skipWriteFailureCAS skip = "Write_failure with write type CAS: oracle refuses it"
	// Oracle incomplete: it knows neither CDC_WRITE_FAILURE (0x1600) nor
	// CAS_WRITE_UNKNOWN (0x1700) of the v5 spec section 8, nor unknown
	// codes, and fails to decode them. cqlwire's forms are checked against
	// the spec in known_test.go.
	skipErrorCodeUnknownToOracle skip = "error code the oracle does not know"
	// Oracle restrictive: it rejects failure codes above 6 in a v5
	// <reasonmap>; Cassandra 5.0 sends any RequestFailureReason code (7 and
	// more exist on trunk), and cqlwire keeps unknown codes.
	skipFailureCodeOver6 skip = "reasonmap failure code above 6: oracle rejects it"
	// Oracle restrictive: it rejects consistency levels outside 0..10 in
	// QUERY/EXECUTE parameters (the server rejects them too, with a
	// protocol error); cqlwire passes the number through.
	skipBadConsistency skip = "consistency outside 0..10 in query parameters"
	// The oracle rejects an EXECUTE with an empty id or (v5) an empty
	// result metadata id on decode; the wire allows them.
	skipEmptyExecuteIDs skip = "EXECUTE with an empty id: oracle rejects it"
	// The oracle validates REGISTER event types and schema change types,
	// and the server does too; cqlwire passes strings through.
	skipUnknownEnumString skip = "an event type or change string the oracle validates"
)

// gen generates random messages for one protocol version.
type gen struct {
	r *rand.Rand
	v frame.Version
	// compat: stay within what both libraries can express, so that every
	// comparison can be made. When false, cqlwire-only forms are allowed
	// and each one records its skip.
	compat bool
	skips  skipSet
}

func (g *gen) skipDecode(s skip) {
	if g.skips.oracleDecode == "" {
		g.skips.oracleDecode = s
	}
	g.skipEncode(s)
}

func (g *gen) skipEncode(s skip) {
	if g.skips.oracleEncode == "" {
		g.skips.oracleEncode = s
	}
	g.skipBytes(s)
}

func (g *gen) skipBytes(s skip) {
	if g.skips.bytes == "" {
		g.skips.bytes = s
	}
}

// p reports true with probability x.
func (g *gen) p(x float64) bool { return g.r.Float64() < x }

// free reports whether to take a cqlwire-only branch, with probability x when
// the message is not restricted to the common subset.
func (g *gen) free(x float64) bool { return !g.compat && g.p(x) }

func (g *gen) n(max int) int { return g.r.IntN(max + 1) }

var alphabet = []string{"a", "b", "k", "s", "t", "_", "0", "9", "Z", " ", "é", "日本", "\x00", "'"}

func (g *gen) str(max int) string {
	n := g.n(max)
	s := ""
	for range n {
		s += alphabet[g.r.IntN(len(alphabet))]
	}
	return s
}

// name is a non-empty identifier-like string.
func (g *gen) name() string {
	s := string(rune('a' + g.r.IntN(26)))
	return s + g.str(8)
}

func (g *gen) blob(max int) []byte {
	b := make([]byte, g.n(max))
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return b
}

// nullable returns null, empty or random bytes.
func (g *gen) nullable(max int) []byte {
	switch g.r.IntN(8) {
	case 0:
		return nil
	case 1:
		return []byte{}
	}
	return g.blob(max)
}

func (g *gen) nonEmptyBlob(max int) []byte {
	b := g.blob(max - 1)
	return append(b, byte(g.r.Uint32()))
}

func (g *gen) int32() int32 {
	switch g.r.IntN(6) {
	case 0:
		return 0
	case 1:
		return math.MaxInt32
	case 2:
		return math.MinInt32
	}
	return int32(g.r.Uint32())
}

func (g *gen) value() frame.Value {
	switch g.r.IntN(10) {
	case 0:
		return frame.Value{}
	case 1:
		return frame.UnsetValue
	case 2:
		return frame.Value{Bytes: []byte{}}
	}
	return frame.Value{Bytes: g.blob(40)}
}

func (g *gen) values(max int) []frame.Value {
	vs := make([]frame.Value, g.n(max))
	for i := range vs {
		vs[i] = g.value()
	}
	return vs
}

func (g *gen) consistency() frame.Consistency {
	return frame.Consistency(g.r.IntN(11))
}

func (g *gen) serial() frame.Consistency {
	if g.p(0.5) {
		return frame.Serial
	}
	return frame.LocalSerial
}

func (g *gen) strings(max int) []string {
	out := make([]string, g.n(max))
	for i := range out {
		out[i] = g.str(12)
	}
	return out
}

func (g *gen) addr() netip.Addr {
	if g.p(0.5) {
		return netip.AddrFrom4([4]byte{byte(g.r.Uint32()), byte(g.r.Uint32()), byte(g.r.Uint32()), byte(g.r.Uint32())})
	}
	var b [16]byte
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	a := netip.AddrFrom16(b)
	if a.Is4In6() {
		// The oracle cannot tell these from 4-byte addresses (fromOracleIP).
		b[10] = 0
		a = netip.AddrFrom16(b)
	}
	return a
}

func (g *gen) addrPort() netip.AddrPort {
	return netip.AddrPortFrom(g.addr(), uint16(g.r.Uint32()))
}

// ---- types ----

var nativeKinds = []types.Kind{types.Ascii, types.Bigint, types.Blob, types.Boolean, types.Counter,
	types.Decimal, types.Double, types.Float, types.Int, types.Timestamp, types.UUID, types.Varchar,
	types.Varint, types.Timeuuid, types.Inet, types.Date, types.Time, types.Smallint, types.Tinyint,
	types.Duration}

// customClasses are class names a server may send in a custom option; some
// of them package types understands (and decodes to a structured type),
// some not.
var customClasses = []string{
	"org.apache.cassandra.db.marshal.DynamicCompositeType(s=>org.apache.cassandra.db.marshal.UTF8Type)",
	"org.apache.cassandra.db.marshal.LexicalUUIDType",
	"com.example.Unknown",
	"org.apache.cassandra.db.marshal.ListType(org.apache.cassandra.db.marshal.Int32Type)",
	"org.apache.cassandra.db.marshal.FrozenType(org.apache.cassandra.db.marshal.SetType(org.apache.cassandra.db.marshal.UTF8Type))",
	"org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.UTF8Type , 2)",
	"org.apache.cassandra.db.marshal.ReversedType(org.apache.cassandra.db.marshal.TimestampType)",
	"",
}

func (g *gen) native() *types.Type {
	k := nativeKinds[g.r.IntN(len(nativeKinds))]
	if k == types.Duration && g.v < frame.V5 {
		// Duration has no option id before v5: Cassandra sends it to v4
		// clients as a custom type (and the oracle rejects id 0x15 in v4).
		return &types.Type{Kind: types.Custom, Class: marshalPkg + "DurationType"}
	}
	return types.Native(k)
}

func (g *gen) typ(depth int) *types.Type {
	if depth >= 3 {
		return g.native()
	}
	switch g.r.IntN(14) {
	case 0:
		return types.ListOf(g.typ(depth + 1))
	case 1:
		return types.SetOf(g.typ(depth + 1))
	case 2:
		return types.MapOf(g.typ(depth+1), g.typ(depth+1))
	case 3:
		elems := make([]*types.Type, g.n(3))
		for i := range elems {
			elems[i] = g.typ(depth + 1)
		}
		return types.TupleOf(elems...)
	case 4:
		t := &types.Type{Kind: types.UDT, Keyspace: g.str(6), Name: g.name()}
		for range g.n(3) {
			t.Fields = append(t.Fields, types.Field{Name: g.str(6), Type: g.typ(depth + 1)})
		}
		return t
	case 5:
		return &types.Type{Kind: types.Custom, Class: customClasses[g.r.IntN(len(customClasses))]}
	case 6:
		// A vector without a class: cqlwire writes its canonical class name,
		// which must be Cassandra's, to the character.
		k := nativeKinds[g.r.IntN(len(nativeKinds))]
		return types.VectorOf(types.Native(k), 1+g.r.IntN(2048))
	}
	return g.native()
}

// ---- envelopes ----

func (g *gen) envelope(msg frame.Message) *frame.Envelope {
	e := &frame.Envelope{
		Version:  g.v,
		Response: !msg.Opcode().IsRequest(),
		Stream:   int16(g.r.Uint32()),
		Message:  msg,
	}
	if msg.Opcode() == frame.OpEvent {
		e.Stream = -1
	}
	e.Beta = g.p(0.05)
	if g.p(0.2) {
		e.Tracing = true
		if e.Response {
			for i := range e.TracingID {
				e.TracingID[i] = byte(g.r.Uint32())
			}
		}
	}
	if e.Response && g.p(0.2) {
		e.Warnings = g.strings(3)
		if len(e.Warnings) == 0 {
			e.Warnings = []string{"Aggregation query used without partition key"}
		}
	}
	if g.p(0.2) {
		e.CustomPayload = map[string][]byte{}
		for range g.n(3) {
			e.CustomPayload[g.str(8)] = g.nullable(20)
		}
		if len(e.CustomPayload) > 1 {
			g.skipBytes(skipMapOrder)
		}
	}
	if e.Response && len(e.Warnings) > 0 && e.CustomPayload != nil {
		g.skipDecode(skipBodyOrder)
	}
	return e
}

// ---- requests ----

var startupKeys = []string{frame.StartupCompression, frame.StartupDriverName, frame.StartupDriverVersion,
	frame.StartupNoCompact, frame.StartupThrowOnOverload, "APPLICATION_NAME", "CLIENT_ID"}

func genStartup(g *gen) frame.Message {
	m := &frame.Startup{Options: map[string]string{}}
	if g.p(0.8) {
		m.Options[frame.StartupCQLVersion] = frame.DefaultCQLVersion
	}
	for range g.n(3) {
		m.Options[startupKeys[g.r.IntN(len(startupKeys))]] = g.str(10)
	}
	if len(m.Options) > 1 {
		g.skipBytes(skipMapOrder)
	}
	return m
}

func genOptions(g *gen) frame.Message { return &frame.Options{} }

func genAuthResponse(g *gen) frame.Message {
	return &frame.AuthResponse{Token: g.nullable(60)}
}

var eventTypes = []string{frame.EventTopologyChange, frame.EventStatusChange, frame.EventSchemaChange}

func genRegister(g *gen) frame.Message {
	m := &frame.Register{}
	for range 1 + g.n(2) {
		m.EventTypes = append(m.EventTypes, eventTypes[g.r.IntN(3)])
	}
	switch {
	case g.free(0.1):
		m.EventTypes = nil
		g.skipEncode(skipOracleAPI)
	case g.free(0.1):
		m.EventTypes = append(m.EventTypes, g.str(10))
		g.skipDecode(skipUnknownEnumString)
	}
	return m
}

// params generates QUERY/EXECUTE parameters with random flag combinations.
func (g *gen) params() frame.QueryParams {
	p := frame.QueryParams{Consistency: g.consistency()}
	if g.free(0.03) {
		p.Consistency = frame.Consistency(11 + g.r.IntN(100))
		g.skipDecode(skipBadConsistency)
	}
	if g.p(0.6) {
		p.Values = g.values(5)
		if g.p(0.3) {
			seen := map[string]bool{}
			for range p.Values {
				n := g.str(6)
				for seen[n] {
					n += "x"
				}
				seen[n] = true
				p.Names = append(p.Names, n)
			}
			if p.Names == nil {
				p.Names = []string{}
			}
			if len(p.Names) > 1 {
				g.skipBytes(skipMapOrder)
			}
		}
	} else if g.free(0.05) {
		// The names flag alone, without values.
		p.Flags |= frame.QueryFlagNames
		g.skipEncode(skipOracleAPI)
	}
	p.SkipMetadata = g.p(0.3)
	if g.p(0.4) {
		p.PageSize = 1 + g.r.Int32N(100000)
		if g.free(0.2) {
			p.PageSize = -g.r.Int32N(3)
			p.Flags |= frame.QueryFlagPageSize
			g.skipEncode(skipOracleAPI)
		}
	}
	if g.p(0.3) {
		p.PagingState = g.blob(30)
		if g.free(0.2) {
			p.PagingState = nil
			p.Flags |= frame.QueryFlagPagingState
			g.skipEncode(skipOracleAPI)
		}
	}
	if g.p(0.3) {
		p.SerialConsistency = g.serial()
		if g.free(0.2) {
			p.SerialConsistency = g.consistency()
			p.Flags |= frame.QueryFlagSerialConsistency
			g.skipEncode(skipOracleAPI)
		}
	}
	if g.p(0.3) {
		p.DefaultTimestamp = int64(g.r.Uint64())
		if g.p(0.1) {
			p.DefaultTimestamp = 0
			p.Flags |= frame.QueryFlagDefaultTimestamp
		}
	}
	if g.v >= frame.V5 {
		if g.p(0.3) {
			p.Keyspace = g.name()
			if g.free(0.2) {
				p.Keyspace = ""
				p.Flags |= frame.QueryFlagKeyspace
				g.skipEncode(skipOracleAPI)
			}
		}
		if g.p(0.3) {
			p.NowInSeconds = g.int32()
			if g.p(0.1) {
				p.NowInSeconds = 0
				p.Flags |= frame.QueryFlagNowInSeconds
			}
		}
	}
	return p
}

func genQuery(g *gen) frame.Message {
	return &frame.Query{Query: g.str(40), Params: g.params()}
}

func genExecute(g *gen) frame.Message {
	m := &frame.Execute{ID: g.nonEmptyBlob(16), Params: g.params()}
	if g.v >= frame.V5 {
		m.ResultMetadataID = g.nonEmptyBlob(16)
	}
	if g.free(0.05) {
		if g.v >= frame.V5 && g.p(0.5) {
			m.ResultMetadataID = nil
		} else {
			m.ID = []byte{}
		}
		g.skipDecode(skipEmptyExecuteIDs)
	}
	return m
}

func genPrepare(g *gen) frame.Message {
	m := &frame.Prepare{Query: "SELECT " + g.str(30)}
	if g.v >= frame.V5 && g.p(0.4) {
		m.Keyspace = g.name()
		if g.free(0.2) {
			m.Keyspace = ""
			m.Flags = frame.PrepareFlagKeyspace
			g.skipEncode(skipOracleAPI)
		}
	}
	return m
}

func genBatch(g *gen) frame.Message {
	m := &frame.Batch{Type: frame.BatchType(g.r.IntN(3)), Consistency: g.consistency()}
	if g.p(0.05) {
		// A tight batch: many prepared statements with the shortest ids
		// and no values (5 or 6 bytes each), nothing else.
		for range 4 + g.n(8) {
			s := frame.BatchStatement{ID: g.nonEmptyBlob(1), Values: []frame.Value{}}
			if g.free(0.5) {
				s.ID = []byte{}
				g.skipEncode(skipOracleAPI)
			}
			m.Statements = append(m.Statements, s)
		}
		return m
	}
	for range g.n(5) {
		var s frame.BatchStatement
		if g.p(0.5) {
			s.Query = "INSERT " + g.str(20)
			if g.free(0.1) {
				// An empty kind 0 statement: the oracle would write kind 1.
				s.Query = ""
				g.skipEncode(skipOracleAPI)
			}
		} else {
			s.ID = g.nonEmptyBlob(16)
			if g.free(0.1) {
				s.ID = []byte{}
				g.skipEncode(skipOracleAPI)
			}
		}
		s.Values = g.values(4)
		m.Statements = append(m.Statements, s)
	}
	if g.p(0.3) {
		m.SerialConsistency = g.serial()
	}
	if g.p(0.3) {
		m.Timestamp = int64(g.r.Uint64())
		if g.p(0.1) {
			m.Timestamp = 0
			m.Flags |= frame.QueryFlagDefaultTimestamp
		}
	}
	if g.v >= frame.V5 {
		if g.p(0.3) {
			m.Keyspace = g.name()
		}
		if g.p(0.3) {
			m.NowInSeconds = g.int32()
			if g.p(0.1) {
				m.NowInSeconds = 0
				m.Flags |= frame.QueryFlagNowInSeconds
			}
		}
	}
	return m
}

// ---- responses ----

var messageOnlyCodes = []frame.ErrorCode{frame.CodeServerError, frame.CodeProtocolError,
	frame.CodeAuthenticationError, frame.CodeOverloaded, frame.CodeIsBootstrapping, frame.CodeTruncateError,
	frame.CodeSyntaxError, frame.CodeUnauthorized, frame.CodeInvalid, frame.CodeConfigError}

var writeTypes = []frame.WriteType{frame.WriteTypeSimple, frame.WriteTypeBatch, frame.WriteTypeUnloggedBatch,
	frame.WriteTypeCounter, frame.WriteTypeBatchLog, frame.WriteTypeCAS, frame.WriteTypeView, frame.WriteTypeCDC}

func (g *gen) count() int { return int(g.int32()) }

func (g *gen) reasons() []frame.FailureReason {
	rs := make([]frame.FailureReason, g.n(3))
	for i := range rs {
		rs[i] = frame.FailureReason{Endpoint: g.addr(), Code: frame.FailureCode(g.r.IntN(7))}
		if g.free(0.05) {
			rs[i].Code = frame.FailureCode(7 + g.r.IntN(600))
			g.skipDecode(skipFailureCodeOver6)
		}
	}
	return rs
}

func (g *gen) dataPresent() byte {
	if g.p(0.1) {
		g.skipBytes(skipDataPresentByte)
		return byte(2 + g.r.IntN(254))
	}
	return byte(g.r.IntN(2))
}

// genError generates every code of v4 and v5 with its fields, in the form of
// the version (read/write failures, CAS contentions).
func genError(g *gen) frame.Message {
	e := &frame.Error{Message: g.str(30)}
	switch g.r.IntN(14) {
	case 0:
		e.Code = frame.CodeUnavailable
		e.Detail = &frame.Unavailable{Consistency: g.consistency(), Required: g.count(), Alive: g.count()}
	case 1:
		e.Code = frame.CodeWriteTimeout
		d := &frame.WriteTimeout{Consistency: g.consistency(), Received: g.count(), BlockFor: g.count(),
			WriteType: writeTypes[g.r.IntN(len(writeTypes))]}
		if g.v >= frame.V5 && d.WriteType == frame.WriteTypeCAS {
			d.Contentions = uint16(g.r.Uint32())
			if g.free(0.3) {
				d.Contentions, d.NoContentions = 0, true
				g.skipDecode(skipNoContentions)
			}
		}
		e.Detail = d
	case 2:
		e.Code = frame.CodeReadTimeout
		e.Detail = &frame.ReadTimeout{Consistency: g.consistency(), Received: g.count(), BlockFor: g.count(),
			DataPresent: g.dataPresent()}
	case 3:
		e.Code = frame.CodeReadFailure
		d := &frame.ReadFailure{Consistency: g.consistency(), Received: g.count(), BlockFor: g.count(),
			DataPresent: g.dataPresent()}
		d.NumFailures, d.Reasons = g.failures()
		e.Detail = d
	case 4:
		e.Code = frame.CodeWriteFailure
		d := &frame.WriteFailure{Consistency: g.consistency(), Received: g.count(), BlockFor: g.count(),
			WriteType: writeTypes[g.r.IntN(len(writeTypes))]}
		d.NumFailures, d.Reasons = g.failures()
		if d.WriteType == frame.WriteTypeCAS {
			g.skipDecode(skipWriteFailureCAS)
		}
		e.Detail = d
	case 5:
		e.Code = frame.CodeFunctionFailure
		e.Detail = &frame.FunctionFailure{Keyspace: g.str(8), Function: g.str(8), ArgTypes: g.strings(3)}
	case 6:
		e.Code = frame.CodeAlreadyExists
		d := &frame.AlreadyExists{Keyspace: g.name()}
		if g.p(0.5) {
			d.Table = g.name()
		}
		e.Detail = d
	case 7:
		e.Code = frame.CodeUnprepared
		e.Detail = &frame.Unprepared{ID: g.blob(16)}
	case 8:
		e.Code = frame.CodeCASWriteUnknown
		e.Detail = &frame.CASWriteUnknown{Consistency: g.consistency(), Received: g.count(), BlockFor: g.count()}
		g.skipDecode(skipErrorCodeUnknownToOracle)
	case 9:
		e.Code = frame.CodeCDCWriteFailure
		g.skipDecode(skipErrorCodeUnknownToOracle)
	case 10:
		if g.compat {
			e.Code = frame.CodeInvalid
			break
		}
		// A code from a future server: cqlwire keeps what follows.
		e.Code = frame.ErrorCode(0x3000 + g.r.IntN(0x100))
		e.Unparsed = g.blob(10)
		if len(e.Unparsed) == 0 {
			e.Unparsed = nil
		}
		g.skipDecode(skipErrorCodeUnknownToOracle)
	default:
		e.Code = messageOnlyCodes[g.r.IntN(len(messageOnlyCodes))]
	}
	return e
}

// failures returns <numfailures> for v4 (or reasons, of which v4 sends only
// the count) and a <reasonmap> for v5.
func (g *gen) failures() (int, []frame.FailureReason) {
	if g.v < frame.V5 && g.p(0.7) {
		return g.count(), nil
	}
	rs := g.reasons()
	if g.p(0.5) {
		return len(rs), rs
	}
	return 0, rs
}

func genReady(g *gen) frame.Message { return &frame.Ready{} }

func genAuthenticate(g *gen) frame.Message {
	m := &frame.Authenticate{Authenticator: "org.apache.cassandra.auth." + g.str(20)}
	if g.free(0.05) {
		m.Authenticator = ""
		g.skipEncode(skipOracleAPI)
	}
	return m
}

func genSupported(g *gen) frame.Message {
	m := &frame.Supported{Options: map[string][]string{}}
	if g.p(0.5) {
		m.Options["COMPRESSION"] = []string{"snappy", "lz4"}
	}
	if g.p(0.5) {
		m.Options["PROTOCOL_VERSIONS"] = []string{"3/v3", "4/v4", "5/v5"}
	}
	for range g.n(2) {
		m.Options[g.str(10)] = g.strings(3)
	}
	if len(m.Options) > 1 {
		g.skipBytes(skipMapOrder)
	}
	return m
}

func genAuthChallenge(g *gen) frame.Message { return &frame.AuthChallenge{Token: g.nullable(60)} }

func genAuthSuccess(g *gen) frame.Message { return &frame.AuthSuccess{Token: g.nullable(60)} }

func genVoid(g *gen) frame.Message { return &frame.Void{} }

func genSetKeyspace(g *gen) frame.Message {
	m := &frame.SetKeyspace{Keyspace: g.name()}
	if g.free(0.05) {
		m.Keyspace = ""
		g.skipEncode(skipOracleAPI)
	}
	return m
}

var (
	changeTypes = []frame.SchemaChangeType{frame.SchemaCreated, frame.SchemaUpdated, frame.SchemaDropped}
	targets     = []frame.SchemaTarget{frame.TargetKeyspace, frame.TargetTable, frame.TargetType,
		frame.TargetFunction, frame.TargetAggregate}
)

func (g *gen) schemaChange() frame.SchemaChange {
	sc := frame.SchemaChange{
		ChangeType: changeTypes[g.r.IntN(3)],
		Target:     targets[g.r.IntN(len(targets))],
		Keyspace:   g.name(),
	}
	if sc.Target != frame.TargetKeyspace {
		sc.Name = g.name()
	}
	if sc.Target == frame.TargetFunction || sc.Target == frame.TargetAggregate {
		sc.ArgTypes = g.strings(3)
	}
	if g.free(0.05) {
		sc.Keyspace = ""
		g.skipEncode(skipOracleAPI)
	}
	if g.free(0.03) {
		sc.ChangeType = frame.SchemaChangeType(g.str(8))
		g.skipEncode(skipUnknownEnumString)
	}
	return sc
}

func genSchemaChangeResult(g *gen) frame.Message {
	return &frame.SchemaChangeResult{SchemaChange: g.schemaChange()}
}

// columns generates n column specs, all of one table or not.
func (g *gen) columns(n int, oneTable bool) []frame.ColumnSpec {
	cols := make([]frame.ColumnSpec, n)
	ks, table := g.str(8), g.str(8)
	for i := range cols {
		if !oneTable {
			ks, table = g.str(4), g.str(4)
		}
		cols[i] = frame.ColumnSpec{Keyspace: ks, Table: table, Name: g.str(8), Type: g.typ(0)}
	}
	return cols
}

func (g *gen) ncols() int {
	if g.p(0.05) {
		// More than the 32 column specs readColumnSpecs keeps on its stack.
		return 33 + g.n(20)
	}
	return g.n(6)
}

// rowsMetadata generates <metadata> of rows (or the <result_metadata> of a
// Prepared result).
func (g *gen) rowsMetadata(prepared bool) frame.RowsMetadata {
	var m frame.RowsMetadata
	n := g.ncols()
	if g.p(0.25) || n == 0 {
		m.Flags |= frame.MetaNoMetadata
		m.ColumnCount = n
	} else {
		one := g.p(0.6)
		m.Columns = g.columns(n, one)
		if one && !g.free(0.3) {
			m.Flags |= frame.MetaGlobalTablesSpec
		} else if sameTable(m.Columns) {
			g.skipBytes(skipGlobalSpecChoice)
		}
		if g.p(0.5) {
			m.ColumnCount = n
		}
	}
	if n == 0 && g.free(0.3) {
		// Zero columns without NO_METADATA.
		m.Flags &^= frame.MetaNoMetadata
		g.skipEncode(skipOracleAPI)
	}
	often := 0.3
	if prepared {
		// Servers send neither in a Prepared result; the layout allows both.
		often = 0.05
	}
	if g.p(often) {
		m.PagingState = g.blob(30)
	}
	if g.v >= frame.V5 && g.p(often) {
		m.NewMetadataID = g.blob(16)
	}
	return m
}

func genRows(g *gen) frame.Message {
	m := &frame.Rows{Metadata: g.rowsMetadata(false)}
	cols := m.Metadata.ColumnCount
	if m.Metadata.Flags&frame.MetaNoMetadata == 0 {
		cols = len(m.Metadata.Columns)
	}
	if cols == 0 {
		return m
	}
	rows := g.n(5)
	if g.p(0.05) {
		rows = 50 + g.n(100)
	}
	cells := make([][][]byte, rows)
	for i := range cells {
		cells[i] = make([][]byte, cols)
		for j := range cells[i] {
			cells[i][j] = g.nullable(24)
		}
	}
	m.RowCount = rows
	m.Content = cellsContent(cells)
	return m
}

func genPrepared(g *gen) frame.Message {
	m := &frame.Prepared{ID: g.nonEmptyBlob(16)}
	if g.v >= frame.V5 {
		m.ResultMetadataID = g.nonEmptyBlob(16)
	}
	n := g.ncols()
	one := g.p(0.7)
	m.Params.Columns = g.columns(n, one)
	if sameTable(m.Params.Columns) {
		if g.free(0.3) {
			g.skipBytes(skipGlobalSpecChoice)
		} else {
			m.Params.Flags = frame.MetaGlobalTablesSpec
		}
	}
	for range g.n(3) {
		m.Params.PKIndexes = append(m.Params.PKIndexes, uint16(g.r.IntN(max(n, 1)+2)))
	}
	m.Result = g.rowsMetadata(true)
	if g.free(0.03) {
		m.ID = []byte{}
		g.skipEncode(skipOracleAPI)
	}
	return m
}

var (
	topologyChanges = []frame.TopologyChangeType{frame.TopologyNewNode, frame.TopologyRemovedNode, frame.TopologyMovedNode}
	statusChanges   = []frame.StatusChangeType{frame.StatusUp, frame.StatusDown}
)

func genTopologyChange(g *gen) frame.Message {
	m := &frame.TopologyChange{Change: topologyChanges[g.r.IntN(3)], Address: g.addrPort()}
	if g.free(0.05) {
		m.Change = frame.TopologyChangeType(g.str(8))
		g.skipEncode(skipUnknownEnumString)
	}
	return m
}

func genStatusChange(g *gen) frame.Message {
	m := &frame.StatusChange{Change: statusChanges[g.r.IntN(2)], Address: g.addrPort()}
	if g.free(0.05) {
		m.Change = frame.StatusChangeType(g.str(8))
		g.skipEncode(skipUnknownEnumString)
	}
	return m
}

func genSchemaChangeEvent(g *gen) frame.Message {
	return &frame.SchemaChangeEvent{SchemaChange: g.schemaChange()}
}

// kinds lists every message kind with its generator.
var kinds = []struct {
	name string
	gen  func(*gen) frame.Message
}{
	{"STARTUP", genStartup},
	{"OPTIONS", genOptions},
	{"AUTH_RESPONSE", genAuthResponse},
	{"REGISTER", genRegister},
	{"QUERY", genQuery},
	{"PREPARE", genPrepare},
	{"EXECUTE", genExecute},
	{"BATCH", genBatch},
	{"ERROR", genError},
	{"READY", genReady},
	{"AUTHENTICATE", genAuthenticate},
	{"SUPPORTED", genSupported},
	{"AUTH_CHALLENGE", genAuthChallenge},
	{"AUTH_SUCCESS", genAuthSuccess},
	{"RESULT_Void", genVoid},
	{"RESULT_Rows", genRows},
	{"RESULT_Set_keyspace", genSetKeyspace},
	{"RESULT_Prepared", genPrepared},
	{"RESULT_Schema_change", genSchemaChangeResult},
	{"EVENT_TOPOLOGY_CHANGE", genTopologyChange},
	{"EVENT_STATUS_CHANGE", genStatusChange},
	{"EVENT_SCHEMA_CHANGE", genSchemaChangeEvent},
}

// newGen returns a generator for one message: 85% of messages stay within
// what both libraries express.
func newGen(r *rand.Rand, v frame.Version) *gen {
	return &gen{r: r, v: v, compat: r.Float64() < 0.85}
}

func (s skipSet) String() string {
	return fmt.Sprintf("decode=%q encode=%q bytes=%q", s.oracleDecode, s.oracleEncode, s.bytes)
}
