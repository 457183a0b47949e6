package frame

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/cqlwire/cqlwire/types"
)

// RESULT responses (v4 and v5 spec section 4.2.5). Rows are in rows.go.

// ResultKind is the [int] that starts a RESULT body.
type ResultKind int32

const (
	ResultVoid         ResultKind = 0x0001
	ResultRows         ResultKind = 0x0002
	ResultSetKeyspace  ResultKind = 0x0003
	ResultPrepared     ResultKind = 0x0004
	ResultSchemaChange ResultKind = 0x0005
)

var resultKindNames = [...]string{ResultVoid: "Void", ResultRows: "Rows", ResultSetKeyspace: "Set_keyspace",
	ResultPrepared: "Prepared", ResultSchemaChange: "Schema_change"}

var resultMsgNames = [...]string{ResultVoid: "RESULT(Void)", ResultRows: "RESULT(Rows)",
	ResultSetKeyspace: "RESULT(Set_keyspace)", ResultPrepared: "RESULT(Prepared)",
	ResultSchemaChange: "RESULT(Schema_change)"}

func (k ResultKind) String() string {
	if k > 0 && int(k) < len(resultKindNames) {
		return resultKindNames[k]
	}
	return "result_kind(" + strconv.Itoa(int(k)) + ")"
}

// Result is a RESULT message: *Void, *Rows, *SetKeyspace, *Prepared or
// *SchemaChangeResult.
type Result interface {
	Message
	ResultKind() ResultKind
}

func decodeResult(r *reader, v Version) Message {
	kind := ResultKind(r.int32("kind"))
	if r.err != nil {
		return nil
	}
	switch kind {
	case ResultVoid, ResultRows, ResultSetKeyspace, ResultPrepared, ResultSchemaChange:
		r.msg = resultMsgNames[kind]
	default:
		r.off -= 4
		r.fail("kind", fmt.Errorf("unknown result kind %d", int32(kind)))
		return nil
	}
	var m Message
	switch kind {
	case ResultVoid:
		m = &Void{}
	case ResultRows:
		if rows := decodeRows(r, v); rows != nil {
			m = rows
		}
	case ResultSetKeyspace:
		m = &SetKeyspace{Keyspace: r.string("keyspace")}
	case ResultPrepared:
		if p := decodePrepared(r, v); p != nil {
			m = p
		}
	case ResultSchemaChange:
		m = &SchemaChangeResult{SchemaChange: readSchemaChange(r)}
	}
	if r.err != nil {
		return nil
	}
	return m
}

// startResult starts the body of a RESULT of the given kind.
func startResult(dst []byte, v Version, kind ResultKind) writer {
	w := writer{buf: dst, msg: resultMsgNames[kind]}
	if responseVersionOK(&w, v, V4) {
		w.int32(int32(kind))
	}
	return w
}

// Void is the RESULT of a statement that returns nothing.
type Void struct{}

func (*Void) Opcode() Opcode         { return OpResult }
func (*Void) ResultKind() ResultKind { return ResultVoid }
func (m *Void) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := startResult(dst, v, ResultVoid)
	return finish(&w, dst)
}

// SetKeyspace is the RESULT of a USE statement.
type SetKeyspace struct {
	Keyspace string
}

func (*SetKeyspace) Opcode() Opcode         { return OpResult }
func (*SetKeyspace) ResultKind() ResultKind { return ResultSetKeyspace }
func (m *SetKeyspace) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := startResult(dst, v, ResultSetKeyspace)
	w.string("keyspace", m.Keyspace)
	return finish(&w, dst)
}

// SchemaChangeResult is the RESULT of a statement that changed the schema.
// Its body is the same as that of a SCHEMA_CHANGE event.
type SchemaChangeResult struct {
	SchemaChange
}

func (*SchemaChangeResult) Opcode() Opcode         { return OpResult }
func (*SchemaChangeResult) ResultKind() ResultKind { return ResultSchemaChange }
func (m *SchemaChangeResult) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := startResult(dst, v, ResultSchemaChange)
	m.SchemaChange.append(&w)
	return finish(&w, dst)
}

// Prepared is the RESULT of a PREPARE.
type Prepared struct {
	// ID identifies the statement in EXECUTE (and in an Unprepared error).
	ID []byte
	// ResultMetadataID (v5 only) identifies Result; EXECUTE sends it back so
	// that the server can say when the result columns changed. Nil in v4.
	ResultMetadataID []byte
	// Params describes the bind markers.
	Params PreparedMetadata
	// Result describes the columns an execution returns; it may be empty
	// (No_metadata and no columns) for statements that return no rows, and
	// servers do not promise to fill it even for a SELECT.
	Result RowsMetadata
}

func (*Prepared) Opcode() Opcode         { return OpResult }
func (*Prepared) ResultKind() ResultKind { return ResultPrepared }

// AppendBody appends <id><metadata><result_metadata> (v4) or
// <id><result_metadata_id><metadata><result_metadata> (v5).
func (m *Prepared) AppendBody(dst []byte, v Version) ([]byte, error) {
	w := startResult(dst, v, ResultPrepared)
	w.shortBytes("id", m.ID)
	if v >= V5 {
		w.shortBytes("result_metadata_id", m.ResultMetadataID)
	} else if m.ResultMetadataID != nil {
		w.fail("result_metadata_id", errV5Only)
	}
	if w.err == nil {
		m.Params.append(&w, v)
	}
	if w.err == nil {
		m.Result.append(&w, v, "result_metadata.")
	}
	return finish(&w, dst)
}

func decodePrepared(r *reader, v Version) *Prepared {
	p := &Prepared{}
	p.ID = r.shortBytes("id")
	if v >= V5 {
		p.ResultMetadataID = r.shortBytes("result_metadata_id")
	}
	p.Params.decode(r)
	p.Result.decode(r, v, "result_metadata.")
	if r.err != nil {
		return nil
	}
	return p
}

// MetadataFlags are the <flags> of rows metadata and of prepared metadata.
type MetadataFlags uint32

const (
	// MetaGlobalTablesSpec: one keyspace and table name precede the
	// columns instead of one per column.
	MetaGlobalTablesSpec MetadataFlags = 0x0001
	// MetaHasMorePages (rows only): more pages follow; PagingState is
	// present.
	MetaHasMorePages MetadataFlags = 0x0002
	// MetaNoMetadata (rows only): the column specs are absent (the query
	// asked to skip them); only the column count is sent.
	MetaNoMetadata MetadataFlags = 0x0004
	// MetaMetadataChanged (rows, v5 only): the result columns changed since
	// the statement was prepared; NewMetadataID is present.
	MetaMetadataChanged MetadataFlags = 0x0008
)

var metadataFlagNames = [...]string{"GLOBAL_TABLES_SPEC", "HAS_MORE_PAGES", "NO_METADATA", "METADATA_CHANGED"}

// String renders f as hex followed by the names of its bits, e.g.
// "0x3 (GLOBAL_TABLES_SPEC|HAS_MORE_PAGES)".
func (f MetadataFlags) String() string { return flagString(uint32(f), metadataFlagNames[:]) }

// ColumnSpec describes one column of a result, or one bind marker of a
// prepared statement.
type ColumnSpec struct {
	Keyspace string
	Table    string
	// Name is the column name, the alias or expression of a selection, or
	// the bind marker's name.
	Name string
	Type *types.Type
}

// RowsMetadata is the <metadata> of a Rows result and the <result_metadata>
// of a Prepared result.
//
// Presence rule, as for QueryParams: decoding records the exact wire flags,
// so a decoded value re-encodes to the same bytes. When encoding, the flags
// sent are Flags together with those the fields imply: MetaHasMorePages when
// PagingState is not nil, MetaMetadataChanged when NewMetadataID is not nil.
// MetaNoMetadata and MetaGlobalTablesSpec are sent only when set in Flags.
type RowsMetadata struct {
	Flags MetadataFlags
	// ColumnCount is the number of columns of each row. With metadata it
	// equals len(Columns) (when encoding, 0 means len(Columns)); with
	// MetaNoMetadata it is the only column information.
	ColumnCount int
	// PagingState continues the query on the next page (MetaHasMorePages).
	PagingState []byte
	// NewMetadataID (v5, MetaMetadataChanged) replaces the prepared
	// statement's result metadata id; Columns are then the new columns.
	NewMetadataID []byte
	// Columns are nil with MetaNoMetadata. With MetaGlobalTablesSpec every
	// column has the same Keyspace and Table.
	Columns []ColumnSpec
	// TableSpec is the <global_table_spec> of metadata that has
	// MetaGlobalTablesSpec but no columns to carry it (see TableSpec).
	TableSpec TableSpec `describe:"omitempty"`
}

// TableSpec is a <global_table_spec>: the keyspace and table of all columns.
//
// With columns, their Keyspace and Table hold it and the TableSpec field of
// the metadata stays empty. The spec sends it whenever the
// Global_tables_spec flag is set, whatever the column count, and some
// servers set the flag on results without columns: decoding then keeps it
// in the TableSpec field, so that the metadata re-encodes to the same bytes.
// Encoding the flag with no columns writes the field (two empty strings
// when it is zero); with columns, the field must be zero or name their
// table.
type TableSpec struct {
	Keyspace string
	Table    string
}

// HasMorePages reports whether more pages follow (the MetaHasMorePages flag).
func (m *RowsMetadata) HasMorePages() bool { return m.Flags&MetaHasMorePages != 0 }

// ResolveColumns returns the column specs of these rows: m.Columns when the
// metadata carries them, otherwise (MetaNoMetadata, the usual case when
// executing a prepared statement with skip-metadata) those of prepared, the
// Result metadata of the statement's Prepared response. It fails when neither
// gives ColumnCount columns.
func (m *RowsMetadata) ResolveColumns(prepared *RowsMetadata) ([]ColumnSpec, error) {
	if m.Flags&MetaNoMetadata == 0 && len(m.Columns) == m.ColumnCount {
		return m.Columns, nil
	}
	if prepared == nil {
		return nil, fmt.Errorf("frame: rows have no column metadata and no prepared metadata was given")
	}
	if len(prepared.Columns) != m.ColumnCount {
		return nil, fmt.Errorf("frame: rows have %d columns, the prepared metadata describes %d", m.ColumnCount, len(prepared.Columns))
	}
	return prepared.Columns, nil
}

// decode reads <flags><columns_count>[<paging_state>][<new_metadata_id>]
// [<global_table_spec>?<col_spec_1>...<col_spec_n>]. Field names start with
// prefix ("" for rows, "result_metadata." for a Prepared result).
func (m *RowsMetadata) decode(r *reader, v Version, prefix string) {
	if r.err != nil {
		return
	}
	m.Flags = MetadataFlags(uint32(r.int32(prefix + "flags")))
	countOff := r.off
	n := r.int32(prefix + "columns_count")
	if r.err != nil {
		return
	}
	if n < 0 {
		r.off = countOff
		r.fail(prefix+"columns_count", fmt.Errorf("negative count %d", n))
		return
	}
	m.ColumnCount = int(n)
	if m.Flags&MetaHasMorePages != 0 {
		m.PagingState = r.bytes(prefix + "paging_state")
	}
	if v >= V5 && m.Flags&MetaMetadataChanged != 0 {
		m.NewMetadataID = r.shortBytes(prefix + "new_metadata_id")
	}
	if m.Flags&MetaNoMetadata != 0 || r.err != nil {
		return
	}
	m.Columns, m.TableSpec = readColumnSpecs(r, m.ColumnCount, countOff, m.Flags&MetaGlobalTablesSpec != 0, prefix)
}

func (m *RowsMetadata) append(w *writer, v Version, prefix string) {
	flags := m.Flags
	if m.PagingState != nil {
		flags |= MetaHasMorePages
	}
	if m.NewMetadataID != nil {
		if v < V5 {
			w.fail(prefix+"new_metadata_id", errV5Only)
			return
		}
		flags |= MetaMetadataChanged
	}
	count := m.ColumnCount
	if count < 0 {
		w.fail(prefix+"columns_count", fmt.Errorf("negative ColumnCount %d", count))
		return
	}
	if flags&MetaNoMetadata != 0 {
		if len(m.Columns) != 0 {
			w.fail(prefix+"columns", errors.New("column specs given with the No_metadata flag"))
			return
		}
		if m.TableSpec != (TableSpec{}) {
			w.fail(prefix+"global_table_spec", errors.New("a table spec given with the No_metadata flag"))
			return
		}
	} else {
		if count == 0 {
			count = len(m.Columns)
		}
		if count != len(m.Columns) {
			w.fail(prefix+"columns_count", fmt.Errorf("ColumnCount %d but %d column specs", count, len(m.Columns)))
			return
		}
	}
	w.int32(int32(flags))
	putInt(w, prefix+"columns_count", count)
	if flags&MetaHasMorePages != 0 {
		w.bytes(prefix+"paging_state", m.PagingState)
	}
	if v >= V5 && flags&MetaMetadataChanged != 0 {
		w.shortBytes(prefix+"new_metadata_id", m.NewMetadataID)
	}
	if flags&MetaNoMetadata == 0 {
		appendColumnSpecs(w, v, m.Columns, flags&MetaGlobalTablesSpec != 0, m.TableSpec, prefix)
	}
}

// PreparedMetadata is the <metadata> of a Prepared result: the bind markers
// of the statement.
type PreparedMetadata struct {
	// Flags are the flags as received; only MetaGlobalTablesSpec has a
	// meaning here, and it is sent only when set.
	Flags MetadataFlags
	// PKIndexes[i] is the index of the bind marker that gives the i-th
	// partition key column; empty when some partition key column has no
	// bind marker of its own (token-aware routing is then not possible).
	PKIndexes []uint16
	// Columns describe the bind markers, in order.
	Columns []ColumnSpec
	// TableSpec is the <global_table_spec> of a statement without bind
	// markers whose metadata has MetaGlobalTablesSpec (see TableSpec).
	TableSpec TableSpec `describe:"omitempty"`
}

// decode reads <flags><columns_count><pk_count>[<pk_index_1>...<pk_index_n>]
// [<global_table_spec>?<col_spec_1>...<col_spec_n>].
func (m *PreparedMetadata) decode(r *reader) {
	if r.err != nil {
		return
	}
	m.Flags = MetadataFlags(uint32(r.int32("flags")))
	countOff := r.off
	n := r.int32("columns_count")
	pkOff := r.off
	pk := r.int32("pk_count")
	if r.err != nil {
		return
	}
	if n < 0 {
		r.off = countOff
		r.fail("columns_count", fmt.Errorf("negative count %d", n))
		return
	}
	if pk < 0 || int(pk) > r.remaining()/2 {
		r.off = pkOff
		if pk < 0 {
			r.fail("pk_count", fmt.Errorf("negative count %d", pk))
		} else {
			r.fail("pk_count", fmt.Errorf("%w: %d indexes need %d bytes, %d remain", ErrTruncated, pk, int(pk)*2, r.remaining()-4))
		}
		return
	}
	m.PKIndexes = make([]uint16, pk)
	for i := range m.PKIndexes {
		m.PKIndexes[i] = r.short("pk_index")
	}
	m.Columns, m.TableSpec = readColumnSpecs(r, int(n), countOff, m.Flags&MetaGlobalTablesSpec != 0, "")
}

func (m *PreparedMetadata) append(w *writer, v Version) {
	w.int32(int32(m.Flags))
	putInt(w, "columns_count", len(m.Columns))
	putInt(w, "pk_count", len(m.PKIndexes))
	for _, i := range m.PKIndexes {
		w.short(i)
	}
	appendColumnSpecs(w, v, m.Columns, m.Flags&MetaGlobalTablesSpec != 0, m.TableSpec, "")
}

// span locates a [string]'s bytes in the body being decoded.
type span struct{ off, n int }

type colSpans struct{ ks, table, name span }

func readSpan(r *reader, field string) span {
	n := int(r.short(field))
	if !r.need(field, n) {
		return span{}
	}
	s := span{r.off, n}
	r.off += n
	return s
}

// readColumnSpecs reads [<global_table_spec>]<col_spec_1>...<col_spec_n>.
// countOff is the offset of the column count, where a count too large for
// the bytes left is reported. The table spec is returned only when there are
// no columns to hold it.
//
// All the names of all columns are cut from one string holding the metadata
// bytes, so the names cost one allocation in all rather than one each.
func readColumnSpecs(r *reader, n int, countOff int, global bool, prefix string) ([]ColumnSpec, TableSpec) {
	if r.err != nil {
		return nil, TableSpec{}
	}
	// A column spec is at least a name and an option id (4 bytes), and two
	// more [string]s without the global table spec.
	minSize := 4
	if !global {
		minSize = 8
	}
	if n > r.remaining()/minSize {
		at := r.off
		r.off = countOff
		r.fail(prefix+"columns_count", fmt.Errorf("%w: %d columns need at least %d bytes, %d remain", ErrTruncated, n, n*minSize, len(r.buf)-at))
		return nil, TableSpec{}
	}
	if global && n == 0 {
		// The spec sends the table spec whenever the flag is set, whatever
		// the count (some servers answer an unknown SELECT so).
		ts := TableSpec{Keyspace: r.string(prefix + "global_table_spec.keyspace")}
		ts.Table = r.string(prefix + "global_table_spec.table")
		if r.err != nil {
			return nil, TableSpec{}
		}
		return []ColumnSpec{}, ts
	}
	start := r.off
	var gks, gtable span
	if global {
		gks = readSpan(r, prefix+"global_table_spec.keyspace")
		gtable = readSpan(r, prefix+"global_table_spec.table")
	}
	var stack [32]colSpans
	spans := stack[:0]
	if n > len(stack) {
		spans = make([]colSpans, 0, n)
	}
	cols := make([]ColumnSpec, n)
	for i := range cols {
		var s colSpans
		if global {
			s.ks, s.table = gks, gtable
		} else {
			s.ks = readSpan(r, "keyspace")
			s.table = readSpan(r, "table")
		}
		s.name = readSpan(r, "name")
		cols[i].Type = readType(r, "type")
		if r.err != nil {
			prefixField(r.err, prefix+"col_spec", i)
			return nil, TableSpec{}
		}
		spans = append(spans, s)
	}
	if r.err != nil {
		return nil, TableSpec{}
	}
	names := string(r.buf[start:r.off])
	cut := func(s span) string { return names[s.off-start : s.off-start+s.n] }
	for i := range cols {
		cols[i].Keyspace = cut(spans[i].ks)
		cols[i].Table = cut(spans[i].table)
		cols[i].Name = cut(spans[i].name)
	}
	return cols, TableSpec{}
}

// readType reads an [option] with package types.
func readType(r *reader, field string) *types.Type {
	if r.err != nil {
		return nil
	}
	t, n, err := types.ReadOption(r.buf[r.off:])
	if err != nil {
		var oe *types.OptionError
		if errors.As(err, &oe) {
			r.off += oe.Offset
		}
		if errors.Is(err, types.ErrTruncated) {
			err = fmt.Errorf("%w: %w", ErrTruncated, err)
		}
		r.fail(field, err)
		return nil
	}
	if r.version < V5 && hasNativeDuration(t) {
		// v4 has no option id for duration: servers send its custom class.
		// Accepting 0x0015 would also make re-encoding change the bytes.
		r.fail(field, errors.New("option id 0x0015 (duration) is not valid before protocol v5"))
		return nil
	}
	r.off += n
	return t
}

// hasNativeDuration reports whether t holds a duration that came as option
// id 0x0015 rather than as its custom class.
func hasNativeDuration(t *types.Type) bool {
	if t == nil || t.Class != "" {
		return false // a type given by class name holds no option ids
	}
	switch t.Kind {
	case types.Duration:
		return true
	case types.List, types.Set, types.Vector:
		return hasNativeDuration(t.Elem)
	case types.Map:
		return hasNativeDuration(t.Key) || hasNativeDuration(t.Elem)
	case types.Tuple:
		for _, e := range t.Elems {
			if hasNativeDuration(e) {
				return true
			}
		}
	case types.UDT:
		for _, f := range t.Fields {
			if hasNativeDuration(f.Type) {
				return true
			}
		}
	}
	return false
}

// appendColumnSpecs writes column specs; for v4 a duration type is written
// as its custom class, as the server does (id 0x0015 is v5 only). table is
// the global table spec written when there are no columns to give it.
func appendColumnSpecs(w *writer, v Version, cols []ColumnSpec, global bool, table TableSpec, prefix string) {
	switch {
	case !global && table != (TableSpec{}):
		w.fail(prefix+"global_table_spec", errors.New("a table spec given without the Global_tables_spec flag"))
		return
	case global && len(cols) == 0:
		w.string(prefix+"global_table_spec.keyspace", table.Keyspace)
		w.string(prefix+"global_table_spec.table", table.Table)
		return
	case global:
		if table != (TableSpec{}) && table != (TableSpec{cols[0].Keyspace, cols[0].Table}) {
			w.fail(prefix+"global_table_spec", fmt.Errorf("table spec %s.%s differs from the columns' %s.%s",
				table.Keyspace, table.Table, cols[0].Keyspace, cols[0].Table))
			return
		}
		w.string(prefix+"global_table_spec.keyspace", cols[0].Keyspace)
		w.string(prefix+"global_table_spec.table", cols[0].Table)
	}
	for i := range cols {
		c := &cols[i]
		if global {
			if c.Keyspace != cols[0].Keyspace || c.Table != cols[0].Table {
				w.fail("table", fmt.Errorf("%s.%s differs from the global table spec %s.%s", c.Keyspace, c.Table, cols[0].Keyspace, cols[0].Table))
			}
		} else {
			w.string("keyspace", c.Keyspace)
			w.string("table", c.Table)
		}
		w.string("name", c.Name)
		if w.err == nil {
			var err error
			appendOption := types.AppendOption
			if v < V5 {
				appendOption = types.AppendOptionV4
			}
			if w.buf, err = appendOption(w.buf, c.Type); err != nil {
				w.fail("type", err)
			}
		}
		if w.err != nil {
			prefixField(w.err, prefix+"col_spec", i)
			return
		}
	}
}

// SchemaChangeType is the <change_type> of a schema change.
type SchemaChangeType string

const (
	SchemaCreated SchemaChangeType = "CREATED"
	SchemaUpdated SchemaChangeType = "UPDATED"
	SchemaDropped SchemaChangeType = "DROPPED"
)

// SchemaTarget is the kind of schema object that changed.
type SchemaTarget string

const (
	TargetKeyspace  SchemaTarget = "KEYSPACE"
	TargetTable     SchemaTarget = "TABLE"
	TargetType      SchemaTarget = "TYPE" // a user-defined type
	TargetFunction  SchemaTarget = "FUNCTION"
	TargetAggregate SchemaTarget = "AGGREGATE"
)

// SchemaChange is the body shared by a Schema_change RESULT and a
// SCHEMA_CHANGE EVENT: <change_type><target><options>.
type SchemaChange struct {
	ChangeType SchemaChangeType
	Target     SchemaTarget
	Keyspace   string
	// Name is the table, type, function or aggregate; empty for KEYSPACE.
	Name string
	// ArgTypes are the CQL types of the arguments of a FUNCTION or
	// AGGREGATE; nil for the other targets.
	ArgTypes []string
}

func readSchemaChange(r *reader) SchemaChange {
	var sc SchemaChange
	sc.ChangeType = SchemaChangeType(r.string("change_type"))
	targetOff := r.off
	sc.Target = SchemaTarget(r.string("target"))
	if r.err != nil {
		return sc
	}
	switch sc.Target {
	case TargetKeyspace:
		sc.Keyspace = r.string("keyspace")
	case TargetTable, TargetType:
		sc.Keyspace = r.string("keyspace")
		sc.Name = r.string("name")
	case TargetFunction, TargetAggregate:
		sc.Keyspace = r.string("keyspace")
		sc.Name = r.string("name")
		sc.ArgTypes = r.stringList("arg_types")
	default:
		// The options that follow depend on the target.
		r.off = targetOff
		r.fail("target", fmt.Errorf("unknown schema change target %q", truncateForError(string(sc.Target))))
	}
	return sc
}

func (sc *SchemaChange) append(w *writer) {
	w.string("change_type", string(sc.ChangeType))
	w.string("target", string(sc.Target))
	switch sc.Target {
	case TargetKeyspace:
		if sc.Name != "" {
			w.fail("name", errors.New("a KEYSPACE change carries no name"))
		}
		w.string("keyspace", sc.Keyspace)
	case TargetTable, TargetType:
		w.string("keyspace", sc.Keyspace)
		w.string("name", sc.Name)
	case TargetFunction, TargetAggregate:
		w.string("keyspace", sc.Keyspace)
		w.string("name", sc.Name)
		w.stringList("arg_types", sc.ArgTypes)
		return
	default:
		w.fail("target", fmt.Errorf("unknown schema change target %q", truncateForError(string(sc.Target))))
	}
	if sc.ArgTypes != nil {
		w.fail("arg_types", fmt.Errorf("a %s change carries no argument types", sc.Target))
	}
}

// truncateForError keeps hostile strings short in error messages.
func truncateForError(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
