package oracle

import (
	"fmt"
	"net"
	"net/netip"
	"sort"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/types"
	"github.com/datastax/go-cassandra-native-protocol/datatype"
	oframe "github.com/datastax/go-cassandra-native-protocol/frame"
	"github.com/datastax/go-cassandra-native-protocol/message"
	"github.com/datastax/go-cassandra-native-protocol/primitive"
)

// Converters between cqlwire's messages and the oracle's. toOracle* builds
// the oracle's message for a generated one (direction "oracle encodes");
// fromOracle* turns what the oracle decoded into cqlwire's representation,
// to be compared with the generated message after projectEnv.

// ---- types ----

var oracleNatives = map[types.Kind]datatype.DataType{
	types.Ascii: datatype.Ascii, types.Bigint: datatype.Bigint, types.Blob: datatype.Blob,
	types.Boolean: datatype.Boolean, types.Counter: datatype.Counter, types.Decimal: datatype.Decimal,
	types.Double: datatype.Double, types.Float: datatype.Float, types.Int: datatype.Int,
	types.Timestamp: datatype.Timestamp, types.UUID: datatype.Uuid, types.Varchar: datatype.Varchar,
	types.Varint: datatype.Varint, types.Timeuuid: datatype.Timeuuid, types.Inet: datatype.Inet,
	types.Date: datatype.Date, types.Time: datatype.Time, types.Smallint: datatype.Smallint,
	types.Tinyint: datatype.Tinyint, types.Duration: datatype.Duration,
}

func toOracleType(t *types.Type) datatype.DataType {
	w := wireType(t)
	switch w.Kind {
	case types.Custom:
		return datatype.NewCustom(w.Class)
	case types.List:
		return datatype.NewList(toOracleType(w.Elem))
	case types.Set:
		return datatype.NewSet(toOracleType(w.Elem))
	case types.Map:
		return datatype.NewMap(toOracleType(w.Key), toOracleType(w.Elem))
	case types.Tuple:
		elems := make([]datatype.DataType, len(w.Elems))
		for i, e := range w.Elems {
			elems[i] = toOracleType(e)
		}
		return datatype.NewTuple(elems...)
	case types.UDT:
		u := &datatype.UserDefined{Keyspace: w.Keyspace, Name: w.Name}
		for _, f := range w.Fields {
			u.FieldNames = append(u.FieldNames, f.Name)
			u.FieldTypes = append(u.FieldTypes, toOracleType(f.Type))
		}
		return u
	}
	if n, ok := oracleNatives[w.Kind]; ok {
		return n
	}
	panic(fmt.Sprintf("no oracle type for %v", t))
}

func fromOracleType(dt datatype.DataType) *types.Type {
	switch dt := dt.(type) {
	case *datatype.Custom:
		return &types.Type{Kind: types.Custom, Class: dt.ClassName}
	case *datatype.List:
		return &types.Type{Kind: types.List, Elem: fromOracleType(dt.ElementType)}
	case *datatype.Set:
		return &types.Type{Kind: types.Set, Elem: fromOracleType(dt.ElementType)}
	case *datatype.Map:
		return &types.Type{Kind: types.Map, Key: fromOracleType(dt.KeyType), Elem: fromOracleType(dt.ValueType)}
	case *datatype.Tuple:
		t := &types.Type{Kind: types.Tuple}
		for _, e := range dt.FieldTypes {
			t.Elems = append(t.Elems, fromOracleType(e))
		}
		return t
	case *datatype.UserDefined:
		t := &types.Type{Kind: types.UDT, Keyspace: dt.Keyspace, Name: dt.Name}
		for i, f := range dt.FieldTypes {
			t.Fields = append(t.Fields, types.Field{Name: dt.FieldNames[i], Type: fromOracleType(f)})
		}
		return t
	case *datatype.PrimitiveType:
		// The native option ids are the same numbers in both libraries.
		return &types.Type{Kind: types.Kind(dt.Code())}
	}
	panic(fmt.Sprintf("unknown oracle type %T", dt))
}

// ---- primitives ----

func toOracleValue(v frame.Value) *primitive.Value {
	switch {
	case v.Unset:
		return primitive.NewUnsetValue()
	case v.Bytes == nil:
		return primitive.NewNullValue()
	}
	return &primitive.Value{Type: primitive.ValueTypeRegular, Contents: v.Bytes}
}

func fromOracleValue(v *primitive.Value) frame.Value {
	switch v.Type {
	case primitive.ValueTypeUnset:
		return frame.UnsetValue
	case primitive.ValueTypeNull:
		return frame.Value{}
	}
	return frame.Value{Bytes: nonNil(v.Contents)}
}

func toOracleIP(a netip.Addr) net.IP { return net.IP(a.AsSlice()) }

// fromOracleIP maps the oracle's net.IP back. The oracle cannot tell a
// 4-byte [inetaddr] from a 16-byte IPv4-mapped one (both decode to the same
// net.IP), so the generator never uses IPv4-mapped addresses.
func fromOracleIP(ip net.IP) netip.Addr {
	if v4 := ip.To4(); v4 != nil {
		return netip.AddrFrom4([4]byte(v4))
	}
	a, _ := netip.AddrFromSlice(ip)
	return a
}

func toOracleInet(ap netip.AddrPort) *primitive.Inet {
	return &primitive.Inet{Addr: toOracleIP(ap.Addr()), Port: int32(ap.Port())}
}

func fromOracleInet(in *primitive.Inet) netip.AddrPort {
	return netip.AddrPortFrom(fromOracleIP(in.Addr), uint16(in.Port))
}

func consistencyPtr(c frame.Consistency) *primitive.ConsistencyLevel {
	l := primitive.ConsistencyLevel(c)
	return &l
}

// ---- envelopes ----

func toOracleEnv(e *frame.Envelope, compressed bool) *oframe.Frame {
	h := &oframe.Header{
		IsResponse: e.Response,
		Version:    primitive.ProtocolVersion(e.Version),
		StreamId:   e.Stream,
		OpCode:     primitive.OpCode(e.Message.Opcode()),
	}
	body := &oframe.Body{Message: toOracleMsg(e.Message, e.Version)}
	if compressed {
		h.Flags |= primitive.HeaderFlagCompressed
	}
	if e.Tracing {
		h.Flags |= primitive.HeaderFlagTracing
		if e.Response {
			id := primitive.UUID(e.TracingID)
			body.TracingId = &id
		}
	}
	if e.CustomPayload != nil {
		h.Flags |= primitive.HeaderFlagCustomPayload
		body.CustomPayload = e.CustomPayload
	}
	if e.Response && len(e.Warnings) > 0 {
		h.Flags |= primitive.HeaderFlagWarning
		body.Warnings = e.Warnings
	}
	if e.Beta {
		h.Flags |= primitive.HeaderFlagUseBeta
	}
	return &oframe.Frame{Header: h, Body: body}
}

func fromOracleEnv(f *oframe.Frame) *frame.Envelope {
	v := frame.Version(f.Header.Version)
	e := &frame.Envelope{
		Version:  v,
		Response: f.Header.IsResponse,
		Stream:   f.Header.StreamId,
		Beta:     f.Header.Flags.Contains(primitive.HeaderFlagUseBeta),
		Tracing:  f.Header.Flags.Contains(primitive.HeaderFlagTracing),
	}
	if f.Body.TracingId != nil {
		e.TracingID = *f.Body.TracingId
	}
	if f.Header.Flags.Contains(primitive.HeaderFlagWarning) && f.Header.IsResponse {
		e.Warnings = nonNilSlice(f.Body.Warnings)
	}
	if f.Header.Flags.Contains(primitive.HeaderFlagCustomPayload) {
		e.CustomPayload = f.Body.CustomPayload
		if e.CustomPayload == nil {
			e.CustomPayload = map[string][]byte{}
		}
	}
	e.Message = fromOracleMsg(f.Body.Message, v)
	return e
}

// ---- messages ----

func toOracleParams(p *frame.QueryParams, v frame.Version) *message.QueryOptions {
	f := impliedQueryFlags(p)
	o := &message.QueryOptions{
		Consistency:  primitive.ConsistencyLevel(p.Consistency),
		SkipMetadata: p.SkipMetadata,
		PageSize:     p.PageSize,
		PagingState:  p.PagingState,
		Keyspace:     p.Keyspace,
	}
	if f&frame.QueryFlagValues != 0 {
		if f&frame.QueryFlagNames != 0 {
			o.NamedValues = make(map[string]*primitive.Value, len(p.Values))
			for i, val := range p.Values {
				o.NamedValues[p.Names[i]] = toOracleValue(val)
			}
		} else {
			o.PositionalValues = make([]*primitive.Value, len(p.Values))
			for i, val := range p.Values {
				o.PositionalValues[i] = toOracleValue(val)
			}
		}
	}
	if f&frame.QueryFlagSerialConsistency != 0 {
		o.SerialConsistency = consistencyPtr(p.SerialConsistency)
	}
	if f&frame.QueryFlagDefaultTimestamp != 0 {
		ts := p.DefaultTimestamp
		o.DefaultTimestamp = &ts
	}
	if f&frame.QueryFlagNowInSeconds != 0 {
		now := p.NowInSeconds
		o.NowInSeconds = &now
	}
	return o
}

func fromOracleParams(o *message.QueryOptions) frame.QueryParams {
	p := frame.QueryParams{
		Consistency:  frame.Consistency(o.Consistency),
		SkipMetadata: o.SkipMetadata,
		PageSize:     o.PageSize,
		PagingState:  o.PagingState,
		Keyspace:     o.Keyspace,
	}
	switch {
	case o.PositionalValues != nil:
		p.Values = make([]frame.Value, len(o.PositionalValues))
		for i, val := range o.PositionalValues {
			p.Values[i] = fromOracleValue(val)
		}
	case o.NamedValues != nil:
		names := make([]string, 0, len(o.NamedValues))
		for n := range o.NamedValues {
			names = append(names, n)
		}
		sort.Strings(names)
		p.Names = names
		p.Values = make([]frame.Value, len(names))
		for i, n := range names {
			p.Values[i] = fromOracleValue(o.NamedValues[n])
		}
	}
	if o.SerialConsistency != nil {
		p.SerialConsistency = frame.Consistency(*o.SerialConsistency)
	}
	if o.DefaultTimestamp != nil {
		p.DefaultTimestamp = *o.DefaultTimestamp
	}
	if o.NowInSeconds != nil {
		p.NowInSeconds = *o.NowInSeconds
	}
	return p
}

func toOracleColumns(cols []frame.ColumnSpec) []*message.ColumnMetadata {
	if cols == nil {
		return nil
	}
	out := make([]*message.ColumnMetadata, len(cols))
	for i, c := range cols {
		out[i] = &message.ColumnMetadata{Keyspace: c.Keyspace, Table: c.Table, Name: c.Name, Type: toOracleType(c.Type)}
	}
	return out
}

func fromOracleColumns(cols []*message.ColumnMetadata) []frame.ColumnSpec {
	if cols == nil {
		return nil
	}
	out := make([]frame.ColumnSpec, len(cols))
	for i, c := range cols {
		out[i] = frame.ColumnSpec{Keyspace: c.Keyspace, Table: c.Table, Name: c.Name, Type: fromOracleType(c.Type)}
	}
	return out
}

func toOracleMeta(m *frame.RowsMetadata) *message.RowsMetadata {
	o := &message.RowsMetadata{
		ColumnCount:         int32(m.ColumnCount),
		PagingState:         m.PagingState,
		NewResultMetadataId: m.NewMetadataID,
		Columns:             toOracleColumns(m.Columns),
	}
	if m.Flags&frame.MetaNoMetadata == 0 {
		o.ColumnCount = int32(len(m.Columns))
	}
	return o
}

// fromOracleMeta rebuilds the flags the oracle's decoder consumed but does
// not keep: NO_METADATA is the only one that cannot be recomputed from the
// fields, and the oracle leaves Columns nil exactly when it was set.
func fromOracleMeta(o *message.RowsMetadata) frame.RowsMetadata {
	m := frame.RowsMetadata{
		ColumnCount:   int(o.ColumnCount),
		PagingState:   o.PagingState,
		NewMetadataID: o.NewResultMetadataId,
		Columns:       fromOracleColumns(o.Columns),
	}
	if o.Columns == nil {
		m.Flags |= frame.MetaNoMetadata
	}
	if o.NewResultMetadataId != nil {
		m.Flags |= frame.MetaMetadataChanged
	}
	return m
}

func toOracleSchemaChange(sc *frame.SchemaChange) (primitive.SchemaChangeType, primitive.SchemaChangeTarget, string, string, []string) {
	return primitive.SchemaChangeType(sc.ChangeType), primitive.SchemaChangeTarget(sc.Target), sc.Keyspace, sc.Name, sc.ArgTypes
}

func fromOracleSchemaChange(ct primitive.SchemaChangeType, tg primitive.SchemaChangeTarget, ks, obj string, args []string) frame.SchemaChange {
	return frame.SchemaChange{ChangeType: frame.SchemaChangeType(ct), Target: frame.SchemaTarget(tg), Keyspace: ks, Name: obj, ArgTypes: args}
}

func toOracleMsg(m frame.Message, v frame.Version) message.Message {
	switch m := m.(type) {
	case *frame.Startup:
		return &message.Startup{Options: m.Options}
	case *frame.Options:
		return &message.Options{}
	case *frame.AuthResponse:
		return &message.AuthResponse{Token: m.Token}
	case *frame.Register:
		o := &message.Register{}
		for _, t := range m.EventTypes {
			o.EventTypes = append(o.EventTypes, primitive.EventType(t))
		}
		return o
	case *frame.Query:
		return &message.Query{Query: m.Query, Options: toOracleParams(&m.Params, v)}
	case *frame.Prepare:
		return &message.Prepare{Query: m.Query, Keyspace: m.Keyspace}
	case *frame.Execute:
		return &message.Execute{QueryId: m.ID, ResultMetadataId: m.ResultMetadataID, Options: toOracleParams(&m.Params, v)}
	case *frame.Batch:
		o := &message.Batch{Type: primitive.BatchType(m.Type), Consistency: primitive.ConsistencyLevel(m.Consistency), Keyspace: m.Keyspace}
		for _, s := range m.Statements {
			c := &message.BatchChild{Query: s.Query, Id: s.ID, Values: []*primitive.Value{}}
			for _, val := range s.Values {
				c.Values = append(c.Values, toOracleValue(val))
			}
			o.Children = append(o.Children, c)
		}
		f := impliedBatchFlags(m)
		if f&frame.QueryFlagSerialConsistency != 0 {
			o.SerialConsistency = consistencyPtr(m.SerialConsistency)
		}
		if f&frame.QueryFlagDefaultTimestamp != 0 {
			ts := m.Timestamp
			o.DefaultTimestamp = &ts
		}
		if f&frame.QueryFlagNowInSeconds != 0 {
			now := m.NowInSeconds
			o.NowInSeconds = &now
		}
		return o
	case *frame.Error:
		return toOracleError(m, v)
	case *frame.Ready:
		return &message.Ready{}
	case *frame.Authenticate:
		return &message.Authenticate{Authenticator: m.Authenticator}
	case *frame.Supported:
		return &message.Supported{Options: m.Options}
	case *frame.AuthChallenge:
		return &message.AuthChallenge{Token: m.Token}
	case *frame.AuthSuccess:
		return &message.AuthSuccess{Token: m.Token}
	case *frame.Void:
		return &message.VoidResult{}
	case *frame.SetKeyspace:
		return &message.SetKeyspaceResult{Keyspace: m.Keyspace}
	case *frame.SchemaChangeResult:
		o := &message.SchemaChangeResult{}
		o.ChangeType, o.Target, o.Keyspace, o.Object, o.Arguments = toOracleSchemaChange(&m.SchemaChange)
		return o
	case *frame.Rows:
		o := &message.RowsResult{Metadata: toOracleMeta(&m.Metadata)}
		o.Data = rowsCells(m)
		return o
	case *frame.Prepared:
		o := &message.PreparedResult{
			PreparedQueryId:   m.ID,
			ResultMetadataId:  m.ResultMetadataID,
			VariablesMetadata: &message.VariablesMetadata{PkIndices: m.Params.PKIndexes, Columns: toOracleColumns(m.Params.Columns)},
			ResultMetadata:    toOracleMeta(&m.Result),
		}
		return o
	case *frame.TopologyChange:
		return &message.TopologyChangeEvent{ChangeType: primitive.TopologyChangeType(m.Change), Address: toOracleInet(m.Address)}
	case *frame.StatusChange:
		return &message.StatusChangeEvent{ChangeType: primitive.StatusChangeType(m.Change), Address: toOracleInet(m.Address)}
	case *frame.SchemaChangeEvent:
		o := &message.SchemaChangeEvent{}
		o.ChangeType, o.Target, o.Keyspace, o.Object, o.Arguments = toOracleSchemaChange(&m.SchemaChange)
		return o
	}
	panic(fmt.Sprintf("no oracle message for %T", m))
}

// rowsCells splits generated rows content into cells, by the spec's layout
// (an [int] length per cell, negative for null), without cqlwire's help.
func rowsCells(m *frame.Rows) [][][]byte {
	cols := m.Metadata.ColumnCount
	if cols == 0 && m.Metadata.Flags&frame.MetaNoMetadata == 0 {
		cols = len(m.Metadata.Columns)
	}
	out := make([][][]byte, m.RowCount)
	b := m.Content
	for i := range out {
		out[i] = make([][]byte, cols)
		for j := range cols {
			n := int32(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
			b = b[4:]
			if n < 0 {
				continue
			}
			out[i][j] = b[:n:n]
			b = b[n:]
		}
	}
	return out
}

func cellsContent(rows [][][]byte) []byte {
	out := []byte{}
	for _, row := range rows {
		for _, c := range row {
			if c == nil {
				out = append(out, 0xff, 0xff, 0xff, 0xff)
				continue
			}
			n := len(c)
			out = append(out, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
			out = append(out, c...)
		}
	}
	return out
}

func toOracleReasons(rs []frame.FailureReason) []*primitive.FailureReason {
	out := make([]*primitive.FailureReason, len(rs))
	for i, r := range rs {
		out[i] = &primitive.FailureReason{Endpoint: toOracleIP(r.Endpoint), Code: primitive.FailureCode(r.Code)}
	}
	return out
}

func fromOracleReasons(rs []*primitive.FailureReason) []frame.FailureReason {
	out := make([]frame.FailureReason, len(rs))
	for i, r := range rs {
		out[i] = frame.FailureReason{Endpoint: fromOracleIP(r.Endpoint), Code: frame.FailureCode(r.Code)}
	}
	return out
}

func toOracleError(e *frame.Error, v frame.Version) message.Message {
	msg := e.Message
	switch e.Code {
	case frame.CodeServerError:
		return &message.ServerError{ErrorMessage: msg}
	case frame.CodeProtocolError:
		return &message.ProtocolError{ErrorMessage: msg}
	case frame.CodeAuthenticationError:
		return &message.AuthenticationError{ErrorMessage: msg}
	case frame.CodeOverloaded:
		return &message.Overloaded{ErrorMessage: msg}
	case frame.CodeIsBootstrapping:
		return &message.IsBootstrapping{ErrorMessage: msg}
	case frame.CodeTruncateError:
		return &message.TruncateError{ErrorMessage: msg}
	case frame.CodeSyntaxError:
		return &message.SyntaxError{ErrorMessage: msg}
	case frame.CodeUnauthorized:
		return &message.Unauthorized{ErrorMessage: msg}
	case frame.CodeInvalid:
		return &message.Invalid{ErrorMessage: msg}
	case frame.CodeConfigError:
		return &message.ConfigError{ErrorMessage: msg}
	}
	switch d := e.Detail.(type) {
	case *frame.Unavailable:
		return &message.Unavailable{ErrorMessage: msg, Consistency: primitive.ConsistencyLevel(d.Consistency),
			Required: int32(d.Required), Alive: int32(d.Alive)}
	case *frame.WriteTimeout:
		return &message.WriteTimeout{ErrorMessage: msg, Consistency: primitive.ConsistencyLevel(d.Consistency),
			Received: int32(d.Received), BlockFor: int32(d.BlockFor), WriteType: primitive.WriteType(d.WriteType),
			Contentions: d.Contentions}
	case *frame.ReadTimeout:
		return &message.ReadTimeout{ErrorMessage: msg, Consistency: primitive.ConsistencyLevel(d.Consistency),
			Received: int32(d.Received), BlockFor: int32(d.BlockFor), DataPresent: d.DataPresent != 0}
	case *frame.ReadFailure:
		n, reasons := normalizeFailures(d.NumFailures, d.Reasons, v)
		return &message.ReadFailure{ErrorMessage: msg, Consistency: primitive.ConsistencyLevel(d.Consistency),
			Received: int32(d.Received), BlockFor: int32(d.BlockFor), NumFailures: int32(n),
			FailureReasons: toOracleReasons(reasons), DataPresent: d.DataPresent != 0}
	case *frame.WriteFailure:
		n, reasons := normalizeFailures(d.NumFailures, d.Reasons, v)
		return &message.WriteFailure{ErrorMessage: msg, Consistency: primitive.ConsistencyLevel(d.Consistency),
			Received: int32(d.Received), BlockFor: int32(d.BlockFor), NumFailures: int32(n),
			FailureReasons: toOracleReasons(reasons), WriteType: primitive.WriteType(d.WriteType)}
	case *frame.FunctionFailure:
		return &message.FunctionFailure{ErrorMessage: msg, Keyspace: d.Keyspace, Function: d.Function, Arguments: d.ArgTypes}
	case *frame.AlreadyExists:
		return &message.AlreadyExists{ErrorMessage: msg, Keyspace: d.Keyspace, Table: d.Table}
	case *frame.Unprepared:
		return &message.Unprepared{ErrorMessage: msg, Id: d.ID}
	}
	panic(fmt.Sprintf("no oracle error for code %v", e.Code))
}

func fromOracleError(m message.Error, v frame.Version) *frame.Error {
	e := &frame.Error{Code: frame.ErrorCode(m.GetErrorCode()), Message: m.GetErrorMessage()}
	switch m := m.(type) {
	case *message.Unavailable:
		e.Detail = &frame.Unavailable{Consistency: frame.Consistency(m.Consistency), Required: int(m.Required), Alive: int(m.Alive)}
	case *message.WriteTimeout:
		e.Detail = &frame.WriteTimeout{Consistency: frame.Consistency(m.Consistency), Received: int(m.Received),
			BlockFor: int(m.BlockFor), WriteType: frame.WriteType(m.WriteType), Contentions: m.Contentions}
	case *message.ReadTimeout:
		e.Detail = &frame.ReadTimeout{Consistency: frame.Consistency(m.Consistency), Received: int(m.Received),
			BlockFor: int(m.BlockFor), DataPresent: boolByte(m.DataPresent)}
	case *message.ReadFailure:
		d := &frame.ReadFailure{Consistency: frame.Consistency(m.Consistency), Received: int(m.Received),
			BlockFor: int(m.BlockFor), NumFailures: int(m.NumFailures), DataPresent: boolByte(m.DataPresent)}
		if v >= frame.V5 {
			d.Reasons = fromOracleReasons(m.FailureReasons)
			d.NumFailures = len(d.Reasons)
		}
		e.Detail = d
	case *message.WriteFailure:
		d := &frame.WriteFailure{Consistency: frame.Consistency(m.Consistency), Received: int(m.Received),
			BlockFor: int(m.BlockFor), NumFailures: int(m.NumFailures), WriteType: frame.WriteType(m.WriteType)}
		if v >= frame.V5 {
			d.Reasons = fromOracleReasons(m.FailureReasons)
			d.NumFailures = len(d.Reasons)
		}
		e.Detail = d
	case *message.FunctionFailure:
		e.Detail = &frame.FunctionFailure{Keyspace: m.Keyspace, Function: m.Function, ArgTypes: m.Arguments}
	case *message.AlreadyExists:
		e.Detail = &frame.AlreadyExists{Keyspace: m.Keyspace, Table: m.Table}
	case *message.Unprepared:
		e.Detail = &frame.Unprepared{ID: nonNil(m.Id)}
	}
	return e
}

func fromOracleMsg(m message.Message, v frame.Version) frame.Message {
	switch m := m.(type) {
	case *message.Startup:
		return &frame.Startup{Options: m.Options}
	case *message.Options:
		return &frame.Options{}
	case *message.AuthResponse:
		return &frame.AuthResponse{Token: m.Token}
	case *message.Register:
		r := &frame.Register{EventTypes: []string{}}
		for _, t := range m.EventTypes {
			r.EventTypes = append(r.EventTypes, string(t))
		}
		return r
	case *message.Query:
		return &frame.Query{Query: m.Query, Params: fromOracleParams(m.Options)}
	case *message.Prepare:
		return &frame.Prepare{Query: m.Query, Keyspace: m.Keyspace}
	case *message.Execute:
		return &frame.Execute{ID: nonNil(m.QueryId), ResultMetadataID: m.ResultMetadataId, Params: fromOracleParams(m.Options)}
	case *message.Batch:
		b := &frame.Batch{Type: frame.BatchType(m.Type), Consistency: frame.Consistency(m.Consistency), Keyspace: m.Keyspace}
		for _, c := range m.Children {
			s := frame.BatchStatement{Query: c.Query, ID: c.Id}
			for _, val := range c.Values {
				s.Values = append(s.Values, fromOracleValue(val))
			}
			b.Statements = append(b.Statements, s)
		}
		if m.SerialConsistency != nil {
			b.SerialConsistency = frame.Consistency(*m.SerialConsistency)
		}
		if m.DefaultTimestamp != nil {
			b.Timestamp = *m.DefaultTimestamp
		}
		if m.NowInSeconds != nil {
			b.NowInSeconds = *m.NowInSeconds
		}
		return b
	case message.Error:
		return fromOracleError(m, v)
	case *message.Ready:
		return &frame.Ready{}
	case *message.Authenticate:
		return &frame.Authenticate{Authenticator: m.Authenticator}
	case *message.Supported:
		return &frame.Supported{Options: m.Options}
	case *message.AuthChallenge:
		return &frame.AuthChallenge{Token: m.Token}
	case *message.AuthSuccess:
		return &frame.AuthSuccess{Token: m.Token}
	case *message.VoidResult:
		return &frame.Void{}
	case *message.SetKeyspaceResult:
		return &frame.SetKeyspace{Keyspace: m.Keyspace}
	case *message.SchemaChangeResult:
		return &frame.SchemaChangeResult{SchemaChange: fromOracleSchemaChange(m.ChangeType, m.Target, m.Keyspace, m.Object, m.Arguments)}
	case *message.RowsResult:
		r := &frame.Rows{Metadata: fromOracleMeta(m.Metadata), RowCount: len(m.Data)}
		r.Content = cellsContent(m.Data)
		return r
	case *message.PreparedResult:
		p := &frame.Prepared{ID: nonNil(m.PreparedQueryId), ResultMetadataID: m.ResultMetadataId}
		if v >= frame.V5 {
			p.ResultMetadataID = nonNil(p.ResultMetadataID)
		}
		p.Params = frame.PreparedMetadata{PKIndexes: m.VariablesMetadata.PkIndices, Columns: fromOracleColumns(m.VariablesMetadata.Columns)}
		p.Result = fromOracleMeta(m.ResultMetadata)
		return p
	case *message.TopologyChangeEvent:
		return &frame.TopologyChange{Change: frame.TopologyChangeType(m.ChangeType), Address: fromOracleInet(m.Address)}
	case *message.StatusChangeEvent:
		return &frame.StatusChange{Change: frame.StatusChangeType(m.ChangeType), Address: fromOracleInet(m.Address)}
	case *message.SchemaChangeEvent:
		return &frame.SchemaChangeEvent{SchemaChange: fromOracleSchemaChange(m.ChangeType, m.Target, m.Keyspace, m.Object, m.Arguments)}
	}
	panic(fmt.Sprintf("unknown oracle message %T", m))
}
