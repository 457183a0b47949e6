package oracle

import (
	"bytes"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/types"
)

// This file compares messages in cqlwire's representation. Three views of a
// generated message are used:
//
//   - normalize: what cqlwire's decoder must return for the bytes the
//     message encodes to (flags as sent, short bytes never nil, ...). It is
//     derived here from the spec, not by calling cqlwire.
//   - project: normalize with what the oracle's representation cannot carry
//     erased (explicit flags are recomputed from the fields, named values
//     sorted by name, data_present reduced to 0/1, ...). Both sides of an
//     oracle comparison are projected.
//   - wireType: a CQL type as its [option] bytes describe it.

// diff walks want and got in parallel and reports, by path, the fields that
// differ. []byte distinguishes nil (a null [bytes]) from empty; other slices
// and maps do not (the wire cannot), except the custom payload map, whose
// presence is a header flag. Types are compared in their wire form.
func diff(want, got any) []string {
	d := &differ{max: 12}
	d.walk("", reflect.ValueOf(want), reflect.ValueOf(got))
	return d.out
}

type differ struct {
	out []string
	max int
}

var (
	typePtrType  = reflect.TypeFor[*types.Type]()
	addrType     = reflect.TypeFor[netip.Addr]()
	addrPortType = reflect.TypeFor[netip.AddrPort]()
	bytesType    = reflect.TypeFor[[]byte]()
	payloadType  = reflect.TypeFor[map[string][]byte]()
)

func (d *differ) add(path, format string, args ...any) {
	if len(d.out) < d.max {
		if path == "" {
			path = "(top)"
		}
		d.out = append(d.out, path+": "+fmt.Sprintf(format, args...))
	}
}

func showBytes(b []byte) string {
	if b == nil {
		return "null"
	}
	if len(b) > 48 {
		return fmt.Sprintf("0x%x...(%d bytes)", b[:48], len(b))
	}
	return fmt.Sprintf("0x%x", b)
}

func (d *differ) walk(path string, a, b reflect.Value) {
	if len(d.out) >= d.max {
		return
	}
	if !a.IsValid() || !b.IsValid() {
		if a.IsValid() != b.IsValid() {
			d.add(path, "want %v, got %v", a, b)
		}
		return
	}
	if a.Type() != b.Type() {
		d.add(path, "want type %v, got %v", a.Type(), b.Type())
		return
	}
	switch a.Type() {
	case typePtrType:
		ta, tb := wireType(a.Interface().(*types.Type)), wireType(b.Interface().(*types.Type))
		if !reflect.DeepEqual(ta, tb) {
			d.add(path, "want type %v, got %v", ta, tb)
		}
		return
	case addrType, addrPortType:
		if a.Interface() != b.Interface() {
			d.add(path, "want %v, got %v", a.Interface(), b.Interface())
		}
		return
	case bytesType:
		x, y := a.Bytes(), b.Bytes()
		if (x == nil) != (y == nil) || !bytes.Equal(x, y) {
			d.add(path, "want %s, got %s", showBytes(x), showBytes(y))
		}
		return
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				d.add(path, "want nil=%t, got nil=%t", a.IsNil(), b.IsNil())
			}
			return
		}
		d.walk(path, a.Elem(), b.Elem())
	case reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				d.add(path, "want %v, got %v", a, b)
			}
			return
		}
		d.walk(path, a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			f := a.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			d.walk(path+"."+f.Name, a.Field(i), b.Field(i))
		}
	case reflect.Array:
		if a.Interface() != b.Interface() {
			d.add(path, "want %v, got %v", a.Interface(), b.Interface())
		}
	case reflect.Slice:
		if a.Len() != b.Len() {
			d.add(path, "want %d elements, got %d", a.Len(), b.Len())
			return
		}
		for i := range a.Len() {
			d.walk(path+"["+strconv.Itoa(i)+"]", a.Index(i), b.Index(i))
		}
	case reflect.Map:
		if a.Type() == payloadType && a.IsNil() != b.IsNil() {
			d.add(path, "want present=%t, got present=%t", !a.IsNil(), !b.IsNil())
			return
		}
		if a.Len() != b.Len() {
			d.add(path, "want %d entries %v, got %d %v", a.Len(), mapKeys(a), b.Len(), mapKeys(b))
			return
		}
		for _, k := range mapKeys(a) {
			kv := reflect.ValueOf(k).Convert(a.Type().Key())
			bv := b.MapIndex(kv)
			if !bv.IsValid() {
				d.add(path+"["+strconv.Quote(k)+"]", "missing")
				continue
			}
			d.walk(path+"["+strconv.Quote(k)+"]", a.MapIndex(kv), bv)
		}
	default:
		if a.Interface() != b.Interface() {
			d.add(path, "want %#v, got %#v", a.Interface(), b.Interface())
		}
	}
}

func mapKeys(m reflect.Value) []string {
	keys := make([]string, 0, m.Len())
	for _, k := range m.MapKeys() {
		keys = append(keys, k.String())
	}
	sort.Strings(keys)
	return keys
}

// marshalClass is the Cassandra marshal class of each native type, written
// from the Cassandra source (org.apache.cassandra.db.marshal) independently
// of package types.
var marshalClass = map[types.Kind]string{
	types.Ascii: "AsciiType", types.Bigint: "LongType", types.Blob: "BytesType",
	types.Boolean: "BooleanType", types.Counter: "CounterColumnType", types.Decimal: "DecimalType",
	types.Double: "DoubleType", types.Float: "FloatType", types.Int: "Int32Type",
	types.Timestamp: "TimestampType", types.UUID: "UUIDType", types.Varchar: "UTF8Type",
	types.Varint: "IntegerType", types.Timeuuid: "TimeUUIDType", types.Inet: "InetAddressType",
	types.Date: "SimpleDateType", types.Time: "TimeType", types.Smallint: "ShortType",
	types.Tinyint: "ByteType", types.Duration: "DurationType",
}

const marshalPkg = "org.apache.cassandra.db.marshal."

// vectorClass is the class name Cassandra 5.0 sends for vector<elem, n>
// with a native element type: note the space before the comma
// (reference/README.md, "vector type").
func vectorClass(elem types.Kind, n int) string {
	return marshalPkg + "VectorType(" + marshalPkg + marshalClass[elem] + " , " + strconv.Itoa(n) + ")"
}

// wireType returns t as its [option] encoding describes it: a type that
// travels as a custom class (Class set, Custom, Vector) becomes Custom with
// that class; containers keep their structure. Empty slices become nil.
func wireType(t *types.Type) *types.Type {
	if t == nil {
		return nil
	}
	if t.Class != "" || t.Kind == types.Custom {
		return &types.Type{Kind: types.Custom, Class: t.Class}
	}
	switch t.Kind {
	case types.Vector:
		if t.Elem != nil && marshalClass[t.Elem.Kind] != "" && t.Elem.Class == "" {
			return &types.Type{Kind: types.Custom, Class: vectorClass(t.Elem.Kind, t.Dimension)}
		}
		// Only vectors of native types are generated without a class.
		return &types.Type{Kind: types.Custom, Class: "unexpected vector " + t.String()}
	case types.List, types.Set:
		return &types.Type{Kind: t.Kind, Elem: wireType(t.Elem)}
	case types.Map:
		return &types.Type{Kind: types.Map, Key: wireType(t.Key), Elem: wireType(t.Elem)}
	case types.Tuple:
		out := &types.Type{Kind: types.Tuple}
		for _, e := range t.Elems {
			out.Elems = append(out.Elems, wireType(e))
		}
		return out
	case types.UDT:
		out := &types.Type{Kind: types.UDT, Keyspace: t.Keyspace, Name: t.Name}
		for _, f := range t.Fields {
			out.Fields = append(out.Fields, types.Field{Name: f.Name, Type: wireType(f.Type)})
		}
		return out
	}
	return &types.Type{Kind: t.Kind}
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// impliedQueryFlags are the flags the spec says the fields of p put on the
// wire, together with the explicit ones.
func impliedQueryFlags(p *frame.QueryParams) frame.QueryFlags {
	f := p.Flags
	if p.Values != nil {
		f |= frame.QueryFlagValues
	}
	if p.Names != nil {
		f |= frame.QueryFlagNames
	}
	if p.SkipMetadata {
		f |= frame.QueryFlagSkipMetadata
	}
	if p.PageSize != 0 {
		f |= frame.QueryFlagPageSize
	}
	if p.PagingState != nil {
		f |= frame.QueryFlagPagingState
	}
	if p.SerialConsistency != 0 {
		f |= frame.QueryFlagSerialConsistency
	}
	if p.DefaultTimestamp != 0 {
		f |= frame.QueryFlagDefaultTimestamp
	}
	if p.Keyspace != "" {
		f |= frame.QueryFlagKeyspace
	}
	if p.NowInSeconds != 0 {
		f |= frame.QueryFlagNowInSeconds
	}
	return f
}

func impliedBatchFlags(b *frame.Batch) frame.QueryFlags {
	f := b.Flags
	if b.SerialConsistency != 0 {
		f |= frame.QueryFlagSerialConsistency
	}
	if b.Timestamp != 0 {
		f |= frame.QueryFlagDefaultTimestamp
	}
	if b.Keyspace != "" {
		f |= frame.QueryFlagKeyspace
	}
	if b.NowInSeconds != 0 {
		f |= frame.QueryFlagNowInSeconds
	}
	return f
}

// normalizeEnv returns the envelope cqlwire must decode from the encoding of
// e. e is not modified.
func normalizeEnv(e *frame.Envelope) *frame.Envelope {
	n := *e
	if !e.Response || !e.Tracing {
		n.TracingID = [16]byte{}
	}
	if !e.Response || len(e.Warnings) == 0 {
		n.Warnings = nil
	}
	n.Message = normalizeMsg(e.Message, e.Version)
	return &n
}

func normalizeParams(p frame.QueryParams) frame.QueryParams {
	f := impliedQueryFlags(&p)
	p.Flags = f
	p.SkipMetadata = f&frame.QueryFlagSkipMetadata != 0
	if f&frame.QueryFlagValues == 0 || f&frame.QueryFlagNames == 0 {
		p.Names = nil
	}
	if f&frame.QueryFlagValues == 0 {
		p.Values = nil
	}
	return p
}

func normalizeMeta(m frame.RowsMetadata, v frame.Version) frame.RowsMetadata {
	if m.PagingState != nil {
		m.Flags |= frame.MetaHasMorePages
	}
	if m.NewMetadataID != nil {
		m.Flags |= frame.MetaMetadataChanged
	}
	if v >= frame.V5 && m.Flags&frame.MetaMetadataChanged != 0 {
		m.NewMetadataID = nonNil(m.NewMetadataID)
	}
	if m.Flags&frame.MetaNoMetadata != 0 {
		m.Columns = nil
	} else if m.ColumnCount == 0 {
		m.ColumnCount = len(m.Columns)
	}
	return m
}

func normalizeMsg(m frame.Message, v frame.Version) frame.Message {
	switch m := m.(type) {
	case *frame.Startup:
		c := *m
		if c.Options == nil {
			c.Options = map[string]string{}
		}
		return &c
	case *frame.Query:
		c := *m
		c.Params = normalizeParams(m.Params)
		return &c
	case *frame.Execute:
		c := *m
		c.ID = nonNil(m.ID)
		if v >= frame.V5 {
			c.ResultMetadataID = nonNil(m.ResultMetadataID)
		} else {
			c.ResultMetadataID = nil
		}
		c.Params = normalizeParams(m.Params)
		return &c
	case *frame.Prepare:
		c := *m
		if v >= frame.V5 {
			if m.Keyspace != "" {
				c.Flags |= frame.PrepareFlagKeyspace
			}
		} else {
			c.Flags = 0
		}
		return &c
	case *frame.Batch:
		c := *m
		c.Flags = impliedBatchFlags(m)
		c.Statements = slices.Clone(m.Statements)
		for i := range c.Statements {
			if c.Statements[i].ID != nil {
				c.Statements[i].ID = nonNil(c.Statements[i].ID)
			}
		}
		return &c
	case *frame.Error:
		c := *m
		c.Detail = normalizeDetail(m.Detail, v)
		return &c
	case *frame.Supported:
		c := *m
		if c.Options == nil {
			c.Options = map[string][]string{}
		}
		return &c
	case *frame.Rows:
		c := *m
		c.Metadata = normalizeMeta(m.Metadata, v)
		c.Content = nonNil(m.Content) // raw content, not a [bytes]: never null
		return &c
	case *frame.Prepared:
		c := *m
		c.ID = nonNil(m.ID)
		if v >= frame.V5 {
			c.ResultMetadataID = nonNil(m.ResultMetadataID)
		} else {
			c.ResultMetadataID = nil
		}
		c.Result = normalizeMeta(m.Result, v)
		return &c
	}
	return m
}

func normalizeDetail(d frame.ErrorDetail, v frame.Version) frame.ErrorDetail {
	switch d := d.(type) {
	case *frame.WriteTimeout:
		c := *d
		if v < frame.V5 || d.WriteType != frame.WriteTypeCAS {
			c.Contentions, c.NoContentions = 0, false
		}
		return &c
	case *frame.ReadFailure:
		c := *d
		c.NumFailures, c.Reasons = normalizeFailures(d.NumFailures, d.Reasons, v)
		return &c
	case *frame.WriteFailure:
		c := *d
		c.NumFailures, c.Reasons = normalizeFailures(d.NumFailures, d.Reasons, v)
		return &c
	case *frame.Unprepared:
		return &frame.Unprepared{ID: nonNil(d.ID)}
	}
	return d
}

func normalizeFailures(n int, reasons []frame.FailureReason, v frame.Version) (int, []frame.FailureReason) {
	if v < frame.V5 {
		if reasons != nil {
			n = len(reasons)
		}
		return n, nil
	}
	return len(reasons), nonNilSlice(reasons)
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// project erases from a normalized envelope what the oracle cannot carry:
// it keeps no flag words (they are recomputed from the fields as the oracle
// computes them), keeps named values in a Go map, and data_present as a
// bool.
func projectEnv(e *frame.Envelope) *frame.Envelope {
	n := *e
	n.Message = projectMsg(e.Message)
	return &n
}

func projectParams(p frame.QueryParams) frame.QueryParams {
	var f frame.QueryFlags
	if p.Values != nil {
		f |= frame.QueryFlagValues
		if p.Names != nil {
			f |= frame.QueryFlagNames
			// The oracle keeps named values in a map: compare them by name.
			idx := make([]int, len(p.Names))
			for i := range idx {
				idx[i] = i
			}
			sort.SliceStable(idx, func(i, j int) bool { return p.Names[idx[i]] < p.Names[idx[j]] })
			names := make([]string, len(idx))
			vals := make([]frame.Value, len(idx))
			for i, k := range idx {
				names[i], vals[i] = p.Names[k], p.Values[k]
			}
			p.Names, p.Values = names, vals
		}
	} else {
		p.Names = nil
	}
	p.Flags = 0
	p.Flags = impliedQueryFlags(&p)
	return p
}

func projectMeta(m frame.RowsMetadata) frame.RowsMetadata {
	f := m.Flags & (frame.MetaNoMetadata | frame.MetaMetadataChanged)
	if m.PagingState != nil {
		f |= frame.MetaHasMorePages
	}
	if f&frame.MetaNoMetadata == 0 && sameTable(m.Columns) {
		f |= frame.MetaGlobalTablesSpec
	}
	m.Flags = f
	// The table spec of a zero-column global spec: the oracle reads it and
	// keeps it nowhere.
	m.TableSpec = frame.TableSpec{}
	return m
}

// sameTable reports whether there are columns and all share one table: when
// the oracle sets the global table spec flag.
func sameTable(cols []frame.ColumnSpec) bool {
	if len(cols) == 0 {
		return false
	}
	for _, c := range cols[1:] {
		if c.Keyspace != cols[0].Keyspace || c.Table != cols[0].Table {
			return false
		}
	}
	return true
}

func projectMsg(m frame.Message) frame.Message {
	switch m := m.(type) {
	case *frame.Query:
		c := *m
		c.Params = projectParams(m.Params)
		return &c
	case *frame.Execute:
		c := *m
		c.Params = projectParams(m.Params)
		return &c
	case *frame.Prepare:
		c := *m
		c.Flags = 0
		if m.Keyspace != "" {
			c.Flags = frame.PrepareFlagKeyspace
		}
		return &c
	case *frame.Batch:
		c := *m
		c.Flags = 0
		c.Flags = impliedBatchFlags(&c)
		return &c
	case *frame.Rows:
		c := *m
		c.Metadata = projectMeta(m.Metadata)
		// The oracle keeps cells, not the raw content: any negative cell
		// length is a null cell and re-encodes as -1.
		c.Content = cellsContent(rowsCells(m))
		return &c
	case *frame.Prepared:
		c := *m
		c.Params.Flags = 0
		if sameTable(m.Params.Columns) {
			c.Params.Flags = frame.MetaGlobalTablesSpec
		}
		c.Params.TableSpec = frame.TableSpec{} // as in projectMeta
		c.Result = projectMeta(m.Result)
		return &c
	case *frame.Error:
		c := *m
		switch d := m.Detail.(type) {
		case *frame.ReadTimeout:
			x := *d
			x.DataPresent = boolByte(d.DataPresent != 0)
			c.Detail = &x
		case *frame.ReadFailure:
			x := *d
			x.DataPresent = boolByte(d.DataPresent != 0)
			c.Detail = &x
		}
		return &c
	}
	return m
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// describe renders an envelope for failure messages.
func describe(e *frame.Envelope) string {
	if e == nil {
		return "<nil>"
	}
	s := frame.Describe(e)
	if len(s) > 4000 {
		s = s[:4000] + "\n...(truncated)"
	}
	return strings.TrimSpace(s)
}
