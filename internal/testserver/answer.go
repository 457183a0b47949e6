package testserver

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/types"
)

// Envelope decodes the request (once; later calls return the same result).
// The envelope aliases Body: it is valid only until the handler returns.
func (r *Request) Envelope() (*frame.Envelope, error) {
	if r.env == nil && r.err == nil {
		lim := frame.DecodeOptions{}
		if r.c != nil {
			lim.Limits.MaxFrameSize = r.c.s.maxFrame
		}
		r.env, r.err = frame.DecodeBody(r.Header, r.Body, &lim)
	}
	return r.env, r.err
}

// Default returns what the answering machine replies to the request, and
// for the handshake messages advances the connection's state (so a handler
// that wants the normal handshake must return Default's reply for STARTUP
// and AUTH_RESPONSE, possibly with a Delay or Fault added; a v5 connection
// switches to segments where that reply is, or would have been, written).
// Call it at most once per request, from the handler. The answers:
//
//   - OPTIONS: SUPPORTED with PROTOCOL_VERSIONS, CQL_VERSION ["3.4.7"] and
//     COMPRESSION, as Cassandra 5.0 sends it.
//   - STARTUP: READY, or AUTHENTICATE when Options.Authenticator is set;
//     a Protocol_error for a missing CQL_VERSION, an unknown or
//     unsupported COMPRESSION, or a second STARTUP.
//   - AUTH_RESPONSE: a step of the SASL exchange (AUTH_CHALLENGE,
//     AUTH_SUCCESS or an Authentication_error).
//   - QUERY: Options.Rows (or the echo row with Options.Echo); a query
//     starting with "USE " gets a Set_keyspace result.
//   - PREPARE: Prepared, with id MD5(query), one bind marker column per ?
//     or :name marker (type Options.BindType, named v0, v1, ...; pk index 0
//     when there is one), the result columns of the rows EXECUTE returns,
//     and in v5 a result metadata id.
//   - EXECUTE: like QUERY for a known id, an Unprepared error otherwise.
//   - BATCH: Void, or Unprepared for an unknown statement id.
//   - REGISTER: READY (events of those types are then pushed by Broadcast).
//
// Before the handshake is over anything else gets a Protocol_error, as from
// Cassandra ("Unexpected message QUERY, expecting STARTUP or OPTIONS"); so
// does a malformed body.
func (r *Request) Default() Reply {
	c := r.c
	if c == nil {
		return errorReply(frame.CodeServerError, "testserver: Request not from a server")
	}
	op := r.Header.Opcode
	if !op.IsRequest() {
		if strings.HasPrefix(op.String(), "opcode(") {
			return errorReply(frame.CodeProtocolError, "Unknown opcode "+strconv.Itoa(int(op)))
		}
		return errorReply(frame.CodeProtocolError, "Wrong protocol direction (expected REQUEST, got RESPONSE) for opcode "+op.String())
	}
	switch c.state {
	case stateStartup:
		if op != frame.OpOptions && op != frame.OpStartup {
			return errorReply(frame.CodeProtocolError, "Unexpected message "+op.String()+", expecting STARTUP or OPTIONS")
		}
	case stateAuth:
		if op != frame.OpOptions && op != frame.OpAuthResponse {
			return errorReply(frame.CodeProtocolError, "Unexpected message "+op.String()+", expecting SASL_RESPONSE")
		}
	case stateReady:
		if op == frame.OpStartup || op == frame.OpAuthResponse {
			return errorReply(frame.CodeProtocolError, "Unexpected message "+op.String()+", the connection is already initialized")
		}
	}
	switch op {
	case frame.OpOptions:
		return c.answerOptions(r)
	case frame.OpStartup:
		return c.answerStartup(r)
	case frame.OpAuthResponse:
		return c.answerAuth(r)
	case frame.OpQuery:
		return c.answerQuery(r)
	case frame.OpPrepare:
		return c.answerPrepare(r)
	case frame.OpExecute:
		return c.answerExecute(r)
	case frame.OpBatch:
		return c.answerBatch(r)
	case frame.OpRegister:
		return c.answerRegister(r)
	}
	return errorReply(frame.CodeProtocolError, "Unexpected message "+op.String())
}

func errorReply(code frame.ErrorCode, msg string) Reply {
	return Reply{Message: &frame.Error{Code: code, Message: msg}}
}

func decodeFailed(err error) Reply {
	return errorReply(frame.CodeProtocolError, "Invalid request: "+err.Error())
}

func (c *conn) answerOptions(r *Request) Reply {
	if r.c.s.opts.Strict {
		if _, err := r.Envelope(); err != nil {
			return decodeFailed(err)
		}
	}
	if c.canned != nil {
		return Reply{raw: c.canned.supported}
	}
	return Reply{Message: &frame.Supported{Options: c.s.supported}}
}

func (c *conn) answerStartup(r *Request) Reply {
	env, err := r.Envelope()
	if err != nil {
		return decodeFailed(err)
	}
	opts := env.Message.(*frame.Startup).Options
	cql, ok := opts[frame.StartupCQLVersion]
	if !ok {
		return errorReply(frame.CodeProtocolError, "Missing value CQL_VERSION in STARTUP message")
	}
	if !strings.HasPrefix(cql, "3.") {
		return errorReply(frame.CodeProtocolError, "Invalid or unsupported CQL version: "+cql)
	}
	v := r.Header.Version
	name := strings.ToLower(opts[frame.StartupCompression])
	var comp frame.Compressor
	if name != "" {
		var known bool
		comp, known = c.s.comps[name]
		switch {
		case !known:
			return errorReply(frame.CodeProtocolError, "Unknown compression algorithm: "+name)
		case v >= frame.V5 && name != "lz4":
			return errorReply(frame.CodeProtocolError, "Unsupported compression for protocol v5: "+name+" (only lz4 is)")
		}
	}
	// The connection is started: everything from the answer to this
	// STARTUP on uses its version and compression.
	c.info.Version = v
	c.info.Compression = name
	c.info.Startup = make(map[string]string, len(opts))
	for k, val := range opts {
		c.info.Startup[k] = strings.Clone(val)
	}
	if v < frame.V5 {
		c.comp = comp
	}
	c.canned = c.s.cannedFor(v, c.comp)
	c.wmu.Lock()
	c.evVer, c.evComp = v, c.comp
	c.wmu.Unlock()
	var rep Reply
	if c.s.opts.Authenticator != "" {
		c.state = stateAuth
		rep = Reply{Message: &frame.Authenticate{Authenticator: c.s.opts.Authenticator}}
	} else {
		c.state = stateReady
		rep = Reply{raw: c.canned.ready}
	}
	rep.startFraming = v >= frame.V5
	return rep
}

func (c *conn) answerAuth(r *Request) Reply {
	env, err := r.Envelope()
	if err != nil {
		return decodeFailed(err)
	}
	token := env.Message.(*frame.AuthResponse).Token
	if c.sasl == nil {
		c.sasl = c.s.opts.NewSASL(&c.info)
		if c.sasl == nil {
			return errorReply(frame.CodeServerError, "testserver: Options.NewSASL returned nil")
		}
	}
	challenge, done, success, err := c.sasl.Step(token)
	switch {
	case err != nil:
		c.sasl = nil
		return errorReply(frame.CodeAuthenticationError, err.Error())
	case !done:
		return Reply{Message: &frame.AuthChallenge{Token: challenge}}
	}
	if id, ok := c.sasl.(Identity); ok {
		c.info.User, c.info.Role = id.Identity()
	}
	c.sasl = nil
	c.info.Authenticated = true
	c.state = stateReady
	return Reply{Message: &frame.AuthSuccess{Token: success}}
}

func (c *conn) answerRegister(r *Request) Reply {
	env, err := r.Envelope()
	if err != nil {
		return decodeFailed(err)
	}
	types := env.Message.(*frame.Register).EventTypes
	for _, t := range types {
		switch t {
		case frame.EventTopologyChange, frame.EventStatusChange, frame.EventSchemaChange:
		default:
			return errorReply(frame.CodeProtocolError, "Invalid value '"+t+"' for Type")
		}
	}
	c.wmu.Lock()
	for _, t := range types {
		c.events[t] = true
	}
	c.wmu.Unlock()
	return Reply{raw: c.canned.ready}
}

// queryHead reads <query><consistency><flags> of a QUERY body without a
// full decode.
func queryHead(body []byte, v frame.Version) (query []byte, flags frame.QueryFlags, ok bool) {
	if len(body) < 4 {
		return nil, 0, false
	}
	n := int(int32(binary.BigEndian.Uint32(body)))
	if n < 0 || n > len(body)-4 {
		return nil, 0, false
	}
	query = body[4 : 4+n]
	flags, ok = paramsFlags(body[4+n:], v)
	return query, flags, ok
}

// paramsFlags reads <consistency><flags> at the start of b.
func paramsFlags(b []byte, v frame.Version) (frame.QueryFlags, bool) {
	if v >= frame.V5 {
		if len(b) < 6 {
			return 0, false
		}
		return frame.QueryFlags(binary.BigEndian.Uint32(b[2:])), true
	}
	if len(b) < 3 {
		return 0, false
	}
	return frame.QueryFlags(b[2]), true
}

func isUse(q []byte) bool {
	return len(q) > 4 && (q[0]|0x20) == 'u' && (q[1]|0x20) == 's' && (q[2]|0x20) == 'e' && (q[3] == ' ' || q[3] == '\t' || q[3] == '\n')
}

func (c *conn) answerQuery(r *Request) Reply {
	if c.s.opts.Echo || c.s.opts.Strict {
		env, err := r.Envelope()
		if err != nil {
			return decodeFailed(err)
		}
		q := env.Message.(*frame.Query)
		if isUse([]byte(q.Query)) {
			return useReply(q.Query)
		}
		if c.s.opts.Echo {
			return c.echo.reply(q.Query, q.Params.Values, q.Params.SkipMetadata)
		}
		return c.cannedRows(q.Params.SkipMetadata)
	}
	query, flags, ok := queryHead(r.Body, r.Header.Version)
	if !ok {
		return errorReply(frame.CodeProtocolError, "Invalid request: QUERY body too short")
	}
	if isUse(query) {
		return useReply(string(query))
	}
	return c.cannedRows(flags&frame.QueryFlagSkipMetadata != 0)
}

func (c *conn) cannedRows(skip bool) Reply {
	if skip {
		return Reply{raw: c.canned.rowsNoMeta}
	}
	return Reply{raw: c.canned.rows}
}

func useReply(q string) Reply {
	ks := strings.TrimSpace(q[4:])
	ks = strings.TrimSuffix(ks, ";")
	ks = strings.TrimSpace(ks)
	if len(ks) >= 2 && ks[0] == '"' && ks[len(ks)-1] == '"' {
		ks = strings.ReplaceAll(ks[1:len(ks)-1], `""`, `"`)
	} else {
		ks = strings.ToLower(ks)
	}
	return Reply{Message: &frame.SetKeyspace{Keyspace: ks}}
}

// prepared is a statement of the server's prepared cache.
type prepared struct {
	query   string
	markers int
}

func (c *conn) answerPrepare(r *Request) Reply {
	env, err := r.Envelope()
	if err != nil {
		return decodeFailed(err)
	}
	p := env.Message.(*frame.Prepare)
	key := p.Query
	if p.Keyspace != "" {
		key = p.Keyspace + "." + p.Query
	}
	sum := md5.Sum([]byte(key))
	st := &prepared{query: strings.Clone(p.Query), markers: countMarkers(p.Query)}
	c.s.prepMu.Lock()
	c.s.prepared[string(sum[:])] = st
	c.s.prepMu.Unlock()

	ks := p.Keyspace
	if ks == "" {
		ks = "testserver"
	}
	params := make([]frame.ColumnSpec, st.markers)
	for i := range params {
		params[i] = frame.ColumnSpec{Keyspace: ks, Table: "answers", Name: "v" + strconv.Itoa(i), Type: c.s.bindType}
	}
	res := &frame.Prepared{ID: sum[:]}
	res.Params.Columns = params
	if len(params) > 0 {
		res.Params.PKIndexes = []uint16{0}
	}
	if c.s.opts.Echo {
		res.Result.Columns = echoColumns(st.markers)
	} else {
		res.Result.Columns = c.s.rows.Metadata.Columns
	}
	if r.Header.Version >= frame.V5 {
		rsum := md5.Sum([]byte("result metadata of " + key))
		res.ResultMetadataID = rsum[:]
	}
	return Reply{Message: res}
}

func (c *conn) lookup(id []byte) *prepared {
	c.s.prepMu.RLock()
	p := c.s.prepared[string(id)]
	c.s.prepMu.RUnlock()
	return p
}

func unprepared(id []byte) Reply {
	return Reply{Message: &frame.Error{Code: frame.CodeUnprepared,
		Message: "Prepared query with ID " + hex.EncodeToString(id) + " not found (either the query was not prepared on this host (maybe the host has been restarted?) or you have prepared too many queries and it has been evicted from the internal cache)",
		Detail:  &frame.Unprepared{ID: append([]byte(nil), id...)}}}
}

// executeHead reads <id>[<result_metadata_id>]<consistency><flags> of an
// EXECUTE body without a full decode.
func executeHead(body []byte, v frame.Version) (id []byte, flags frame.QueryFlags, ok bool) {
	short := func(b []byte) ([]byte, []byte, bool) {
		if len(b) < 2 {
			return nil, nil, false
		}
		n := int(binary.BigEndian.Uint16(b))
		if n > len(b)-2 {
			return nil, nil, false
		}
		return b[2 : 2+n], b[2+n:], true
	}
	id, rest, ok := short(body)
	if !ok {
		return nil, 0, false
	}
	if v >= frame.V5 {
		if _, rest, ok = short(rest); !ok {
			return nil, 0, false
		}
	}
	flags, ok = paramsFlags(rest, v)
	return id, flags, ok
}

func (c *conn) answerExecute(r *Request) Reply {
	if c.s.opts.Echo || c.s.opts.Strict {
		env, err := r.Envelope()
		if err != nil {
			return decodeFailed(err)
		}
		e := env.Message.(*frame.Execute)
		p := c.lookup(e.ID)
		if p == nil {
			return unprepared(e.ID)
		}
		if c.s.opts.Echo {
			return c.echo.reply(p.query, e.Params.Values, e.Params.SkipMetadata)
		}
		return c.cannedRows(e.Params.SkipMetadata)
	}
	id, flags, ok := executeHead(r.Body, r.Header.Version)
	if !ok {
		return errorReply(frame.CodeProtocolError, "Invalid request: EXECUTE body too short")
	}
	if c.lookup(id) == nil {
		return unprepared(id)
	}
	return c.cannedRows(flags&frame.QueryFlagSkipMetadata != 0)
}

func (c *conn) answerBatch(r *Request) Reply {
	env, err := r.Envelope()
	if err != nil {
		return decodeFailed(err)
	}
	for _, st := range env.Message.(*frame.Batch).Statements {
		if st.ID != nil && c.lookup(st.ID) == nil {
			return unprepared(st.ID)
		}
	}
	return Reply{raw: c.canned.void}
}

// countMarkers counts the bind markers of a CQL statement: each ? and each
// :name outside string literals, quoted identifiers and comments.
func countMarkers(q string) int {
	n := 0
	for i := 0; i < len(q); i++ {
		switch ch := q[i]; {
		case ch == '?':
			n++
		case ch == ':' && i+1 < len(q) && isIdentStart(q[i+1]) && (i == 0 || q[i-1] != ':'):
			n++
			for i+1 < len(q) && isIdent(q[i+1]) {
				i++
			}
		case ch == '\'' || ch == '"':
			// A quote ends the literal unless doubled.
			for i++; i < len(q); i++ {
				if q[i] == ch {
					if i+1 < len(q) && q[i+1] == ch {
						i++
						continue
					}
					break
				}
			}
		case ch == '$' && i+1 < len(q) && q[i+1] == '$':
			end := strings.Index(q[i+2:], "$$")
			if end < 0 {
				return n
			}
			i += 2 + end + 1
		case ch == '-' && i+1 < len(q) && q[i+1] == '-', ch == '/' && i+1 < len(q) && q[i+1] == '/':
			for i < len(q) && q[i] != '\n' {
				i++
			}
		case ch == '/' && i+1 < len(q) && q[i+1] == '*':
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				return n
			}
			i += 2 + end + 1
		}
	}
	return n
}

func isIdentStart(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_' }
func isIdent(b byte) bool      { return isIdentStart(b) || b >= '0' && b <= '9' }

// defaultRows is the canned result when Options.Rows is nil: one row, one
// int column "v" holding 1.
func defaultRows() *frame.Rows {
	rows := &frame.Rows{Metadata: frame.RowsMetadata{
		Flags:   frame.MetaGlobalTablesSpec,
		Columns: []frame.ColumnSpec{{Keyspace: "testserver", Table: "answers", Name: "v", Type: types.Native(types.Int)}},
	}}
	if err := rows.AppendRow([]byte{0, 0, 0, 1}); err != nil {
		panic(err)
	}
	return rows
}

// canned holds the pre-encoded answers of one protocol version and
// compression, each a whole envelope on stream 0 (the stream id is patched
// in when sent).
type canned struct {
	supported, ready, void, rows, rowsNoMeta []byte
}

type cannedKey struct {
	v    frame.Version
	comp string
}

// cannedFor returns (building once) the canned answers for a version and
// v4 compression.
func (s *Server) cannedFor(v frame.Version, comp frame.Compressor) *canned {
	key := cannedKey{v: v}
	if comp != nil {
		key.comp = comp.Name()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cn := s.canned[key]; cn != nil {
		return cn
	}
	enc := func(m frame.Message) []byte {
		b, err := frame.AppendEnvelope(nil, &frame.Envelope{Version: v, Response: true, Message: m}, comp)
		if err != nil {
			panic(fmt.Sprintf("testserver: cannot encode the canned %T: %v", m, err)) // checked in Start
		}
		return b
	}
	noMeta := *s.rows
	noMeta.Metadata.Flags = frame.MetaNoMetadata
	noMeta.Metadata.ColumnCount = len(s.rows.Metadata.Columns)
	noMeta.Metadata.Columns = nil
	noMeta.Metadata.PagingState = s.rows.Metadata.PagingState
	cn := &canned{
		supported:  enc(&frame.Supported{Options: s.supported}),
		ready:      enc(&frame.Ready{}),
		void:       enc(&frame.Void{}),
		rows:       enc(s.rows),
		rowsNoMeta: enc(&noMeta),
	}
	s.canned[key] = cn
	return cn
}

// echoState builds echo rows, reusing its buffers from request to request.
type echoState struct {
	rows  frame.Rows
	cells [][]byte
	cols  [][]frame.ColumnSpec // by value count
	query []frame.ColumnSpec
}

func echoColumns(n int) []frame.ColumnSpec {
	if n == 0 {
		return []frame.ColumnSpec{{Keyspace: "testserver", Table: "echo", Name: "query", Type: types.Native(types.Varchar)}}
	}
	cols := make([]frame.ColumnSpec, n)
	for i := range cols {
		cols[i] = frame.ColumnSpec{Keyspace: "testserver", Table: "echo", Name: "v" + strconv.Itoa(i), Type: types.Native(types.Blob)}
	}
	return cols
}

// reply returns the echo row for a request: its values, or its query.
func (e *echoState) reply(query string, values []frame.Value, skip bool) Reply {
	n := len(values)
	var cols []frame.ColumnSpec
	if n < 64 {
		for len(e.cols) <= n {
			e.cols = append(e.cols, echoColumns(len(e.cols)))
		}
		cols = e.cols[n]
	} else {
		cols = echoColumns(n)
	}
	e.rows.Content = e.rows.Content[:0]
	if cap(e.rows.Content) > retainLimit {
		e.rows.Content = nil
	}
	e.rows.RowCount = 0
	e.rows.Metadata = frame.RowsMetadata{Flags: frame.MetaGlobalTablesSpec, Columns: cols}
	if skip {
		e.rows.Metadata = frame.RowsMetadata{Flags: frame.MetaNoMetadata, ColumnCount: len(cols)}
	}
	e.cells = e.cells[:0]
	if n == 0 {
		e.cells = append(e.cells, []byte(query))
	}
	for _, v := range values {
		e.cells = append(e.cells, v.Bytes) // unset echoes as null
	}
	if err := e.rows.AppendRow(e.cells...); err != nil {
		return errorReply(frame.CodeServerError, "testserver: echo: "+err.Error())
	}
	return Reply{Message: &e.rows}
}
