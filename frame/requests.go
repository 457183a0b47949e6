package frame

import (
	"errors"
	"fmt"
	"strconv"
)

// Request messages (protocol section 4.1). QUERY and EXECUTE share their
// parameters (query_params.go); BATCH is in batch.go.
//
// All request types implement Message with pointer receivers: pass &Query{...}
// as Envelope.Message. Decoded messages alias the decoded body ([]byte fields
// and bound values), as everywhere in this package.

// Keys of the STARTUP options map.
const (
	StartupCQLVersion      = "CQL_VERSION"       // mandatory; DefaultCQLVersion
	StartupCompression     = "COMPRESSION"       // "lz4" or "snappy" (v4), "lz4" (v5); absent means none
	StartupDriverName      = "DRIVER_NAME"       // free-form, shown by nodetool clientstats (described in the v5 spec)
	StartupDriverVersion   = "DRIVER_VERSION"    // free-form, shown by nodetool clientstats
	StartupNoCompact       = "NO_COMPACT"        // "true": expose compact (Thrift) tables as plain CQL tables
	StartupThrowOnOverload = "THROW_ON_OVERLOAD" // "1": answer Overloaded errors instead of applying backpressure
)

// DefaultCQLVersion is the only CQL_VERSION servers accept.
const DefaultCQLVersion = "3.0.0"

// Event types a connection can REGISTER for (and that EVENT messages carry).
const (
	EventTopologyChange = "TOPOLOGY_CHANGE"
	EventStatusChange   = "STATUS_CHANGE"
	EventSchemaChange   = "SCHEMA_CHANGE"
)

// Startup is the STARTUP request: the first message of a connection (after
// any OPTIONS), naming the CQL version and the compression to use.
type Startup struct {
	// Options maps the Startup* keys to their values. The server requires
	// CQL_VERSION. Nil encodes as an empty map; a decoded message always has
	// a non-nil map. Keys are encoded in sorted order.
	Options map[string]string
}

// NewStartup returns a STARTUP with CQL_VERSION set to DefaultCQLVersion and
// each of the other arguments set when it is not empty.
func NewStartup(compression, driverName, driverVersion string) *Startup {
	opts := map[string]string{StartupCQLVersion: DefaultCQLVersion}
	if compression != "" {
		opts[StartupCompression] = compression
	}
	if driverName != "" {
		opts[StartupDriverName] = driverName
	}
	if driverVersion != "" {
		opts[StartupDriverVersion] = driverVersion
	}
	return &Startup{Options: opts}
}

func (*Startup) Opcode() Opcode { return OpStartup }

// AppendBody appends the [string map] of options. The layout is the same in
// every protocol version.
func (m *Startup) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := writer{buf: dst, msg: "STARTUP"}
	w.stringMap("options", m.Options)
	if w.err != nil {
		return dst, w.err
	}
	return w.buf, nil
}

func decodeStartup(r *reader, v Version) *Startup {
	m := &Startup{Options: r.stringMap("options")}
	if m.Options == nil {
		m.Options = map[string]string{}
	}
	return m
}

// Options is the OPTIONS request, which asks for the server's SUPPORTED
// startup options. Its body is empty.
type Options struct{}

func (*Options) Opcode() Opcode { return OpOptions }

// AppendBody appends nothing: OPTIONS has an empty body.
func (*Options) AppendBody(dst []byte, v Version) ([]byte, error) { return dst, nil }

func decodeOptions(r *reader, v Version) *Options { return &Options{} }

// AuthResponse is the AUTH_RESPONSE request: one SASL token, answering an
// AUTHENTICATE or AUTH_CHALLENGE.
type AuthResponse struct {
	// Token is the mechanism's response; nil is sent as a null [bytes], and
	// a non-nil empty slice as an empty one. For PLAIN it is
	// "\x00" + user + "\x00" + password.
	Token []byte
}

func (*AuthResponse) Opcode() Opcode { return OpAuthResponse }

// AppendBody appends the token as [bytes]. Same layout in every version.
func (m *AuthResponse) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := writer{buf: dst, msg: "AUTH_RESPONSE"}
	w.bytes("token", m.Token)
	if w.err != nil {
		return dst, w.err
	}
	return w.buf, nil
}

func decodeAuthResponse(r *reader, v Version) *AuthResponse {
	return &AuthResponse{Token: r.bytes("token")}
}

// Register is the REGISTER request: subscribe this connection to server
// events (the Event* constants). The server answers READY.
type Register struct {
	// EventTypes are the event types, e.g. EventTopologyChange. Nil encodes
	// as an empty list; a decoded message always has a non-nil slice.
	EventTypes []string
}

func (*Register) Opcode() Opcode { return OpRegister }

// AppendBody appends the [string list] of event types. Same layout in every
// version.
func (m *Register) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := writer{buf: dst, msg: "REGISTER"}
	w.stringList("event_types", m.EventTypes)
	if w.err != nil {
		return dst, w.err
	}
	return w.buf, nil
}

func decodeRegister(r *reader, v Version) *Register {
	m := &Register{EventTypes: r.stringList("event_types")}
	if m.EventTypes == nil {
		m.EventTypes = []string{}
	}
	return m
}

// PrepareFlags are the v5 PREPARE <flags>.
type PrepareFlags uint32

// PrepareFlagKeyspace (v5) says a <keyspace> follows the flags.
const PrepareFlagKeyspace PrepareFlags = 0x01

func (f PrepareFlags) String() string {
	return flagString(uint32(f), prepareFlagNames[:])
}

var prepareFlagNames = [...]string{"KEYSPACE"}

// Prepare is the PREPARE request. The server answers RESULT/Prepared.
type Prepare struct {
	// Query is the CQL statement to prepare.
	Query string
	// Keyspace (v5 only) prepares the statement in this keyspace instead of
	// the connection's. Non-empty sets PrepareFlagKeyspace; encoding it for
	// v4 is an error.
	Keyspace string
	// Flags (v5 only) holds the flags read from the wire when decoding. When
	// encoding, the flags sent are Flags together with those implied by the
	// fields, so set PrepareFlagKeyspace here only to send an empty
	// keyspace. The zero value is right for almost every use.
	Flags PrepareFlags
}

func (*Prepare) Opcode() Opcode { return OpPrepare }

// AppendBody appends <query> in v4 and <query><flags>[<keyspace>] in v5.
func (m *Prepare) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := writer{buf: dst, msg: "PREPARE"}
	flags := m.Flags
	if m.Keyspace != "" {
		flags |= PrepareFlagKeyspace
	}
	switch {
	case !requestVersionOK(&w, v):
	case flags&^PrepareFlagKeyspace != 0:
		w.fail("flags", fmt.Errorf("unknown PREPARE flags %#x", uint32(flags&^PrepareFlagKeyspace)))
	case v < V5 && flags != 0:
		w.fail("keyspace", errV5Only)
	default:
		w.longString("query", m.Query)
		if v >= V5 {
			w.int32(int32(flags))
			if flags&PrepareFlagKeyspace != 0 {
				w.string("keyspace", m.Keyspace)
			}
		}
	}
	if w.err != nil {
		return dst, w.err
	}
	return w.buf, nil
}

func decodePrepare(r *reader, v Version) *Prepare {
	m := &Prepare{Query: r.longString("query")}
	if v >= V5 {
		start := r.off
		m.Flags = PrepareFlags(uint32(r.int32("flags")))
		if r.err == nil && m.Flags&^PrepareFlagKeyspace != 0 {
			r.off = start
			r.fail("flags", fmt.Errorf("unknown PREPARE flags %#x", uint32(m.Flags&^PrepareFlagKeyspace)))
		}
		if m.Flags&PrepareFlagKeyspace != 0 {
			m.Keyspace = r.string("keyspace")
		}
	}
	return m
}

// decodeRequest decodes the body of a request opcode; known is false for
// opcodes that are not requests. On failure it returns known=true and leaves
// the error in r.
func decodeRequest(op Opcode, v Version, r *reader) (msg Message, known bool) {
	switch op {
	case OpStartup:
		return decodeStartup(r, v), true
	case OpOptions:
		return decodeOptions(r, v), true
	case OpAuthResponse:
		return decodeAuthResponse(r, v), true
	case OpRegister:
		return decodeRegister(r, v), true
	}
	switch op {
	case OpQuery, OpPrepare, OpExecute, OpBatch:
	default:
		return nil, false
	}
	if v != V4 && v != V5 {
		r.fail("version", &UnsupportedVersionError{Version: v})
		return nil, true
	}
	switch op {
	case OpQuery:
		return decodeQuery(r, v), true
	case OpPrepare:
		return decodePrepare(r, v), true
	case OpExecute:
		return decodeExecute(r, v), true
	default:
		return decodeBatch(r, v), true
	}
}

// errV5Only is wrapped by the EncodeError for a v5-only field encoded for v4.
var errV5Only = errors.New("requires protocol v5")

// requestVersionOK fails w unless v is a version whose QUERY, PREPARE,
// EXECUTE and BATCH layouts this package knows (4 and 5).
func requestVersionOK(w *writer, v Version) bool {
	if v != V4 && v != V5 {
		w.fail("version", &UnsupportedVersionError{Version: v})
		return false
	}
	return true
}

// flagString renders a flag word as hex and the names of its bits, e.g.
// "0x5 (VALUES|PAGE_SIZE)"; bits without a name print in hex.
func flagString(f uint32, names []string) string {
	s := "0x" + strconv.FormatUint(uint64(f), 16)
	if f == 0 {
		return s
	}
	s += " ("
	first := true
	for bit := 0; bit < 32; bit++ {
		mask := uint32(1) << bit
		if f&mask == 0 {
			continue
		}
		if !first {
			s += "|"
		}
		first = false
		if bit < len(names) {
			s += names[bit]
		} else {
			s += "0x" + strconv.FormatUint(uint64(mask), 16)
		}
	}
	return s + ")"
}

// Errors are built with constant field names so that the success path never
// formats; these rewrite the field of an error once it has happened.

// indexField turns field "name" of err into "name[i]".
func indexField(err error, name string, i int) {
	switch e := err.(type) {
	case *DecodeError:
		if e.Field == name {
			e.Field = name + "[" + strconv.Itoa(i) + "]"
		}
	case *EncodeError:
		if e.Field == name {
			e.Field = name + "[" + strconv.Itoa(i) + "]"
		}
	}
}

// prefixField turns the field f of err into "prefix[i].f".
func prefixField(err error, prefix string, i int) {
	p := prefix + "[" + strconv.Itoa(i) + "]."
	switch e := err.(type) {
	case *DecodeError:
		e.Field = p + e.Field
	case *EncodeError:
		e.Field = p + e.Field
	}
}
