package query

import (
	"errors"
	"fmt"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/types"
)

// Row is one row of a result: the column specs and the raw cells.
//
// The Session reuses one *Row for every row of an iteration, calling Set for
// each, and the cells alias the response body. So a Row, and the bytes
// Bytes returns, are valid only until the iteration advances. What Scan,
// ScanStruct and Map produce does stay valid: decoding copies strings and
// slices.
//
// The zero Row has no columns.
type Row struct {
	cols  []frame.ColumnSpec
	cells [][]byte
}

// Set makes r hold the row cells, described by cols (one spec per cell; a
// nil cell is null). r keeps both slices, without copying.
func (r *Row) Set(cols []frame.ColumnSpec, cells [][]byte) {
	r.cols = cols
	r.cells = cells
}

// Columns returns the column specs of the row.
func (r *Row) Columns() []frame.ColumnSpec {
	if r == nil {
		return nil
	}
	return r.cols
}

// Len returns the number of cells of the row.
func (r *Row) Len() int {
	if r == nil {
		return 0
	}
	return len(r.cells)
}

// Bytes returns the raw bytes of cell i: nil for null, and nil for an i out
// of range. They alias the result; see Row.
func (r *Row) Bytes(i int) []byte {
	if r == nil || uint(i) >= uint(len(r.cells)) {
		return nil
	}
	return r.cells[i]
}

// ScanError reports a column that could not be decoded.
type ScanError struct {
	// Column is the column's name; empty when Index is -1.
	Column string
	// Index is the 0-based column; -1 for an error about the row as a
	// whole (the number of destinations, the destination's type).
	Index int
	// Type is the column's CQL type, when known.
	Type *types.Type
	Err  error
}

func (e *ScanError) Error() string {
	if e.Index < 0 {
		return positionError("scan", "", -1, "", nil, e.Err, "failed")
	}
	return positionError("scan", "column", e.Index, e.Column, e.Type, e.Err, "failed")
}

func (e *ScanError) Unwrap() error { return e.Err }

// ErrColumnCount is wrapped by the ScanError of a Scan whose destinations do
// not match the row's columns one to one.
var ErrColumnCount = errors.New("wrong number of destinations")

// Scan decodes the columns of the row into dest, one pointer per column in
// order; len(dest) must equal Len(). A nil entry skips its column. Each
// column is decoded with types.Decode, so the package types table says what
// each CQL type can go into: **T or *any tells null from zero, and a
// *[]float32 for a vector<float, n> reuses the slice's capacity.
//
// Integers, floats, booleans and vectors into a *[]float32 with capacity
// decode without allocating; strings and byte slices allocate their copy.
// Errors are *ScanError naming the column.
func (r *Row) Scan(dest ...any) error {
	if r == nil {
		return &ScanError{Index: -1, Err: errors.New("nil Row")}
	}
	if len(dest) != len(r.cells) {
		return &ScanError{Index: -1, Err: fmt.Errorf("%w: %d destinations for %d columns", ErrColumnCount, len(dest), len(r.cells))}
	}
	for i, d := range dest {
		if d == nil {
			continue
		}
		if err := r.decode(i, d); err != nil {
			return err
		}
	}
	return nil
}

// decode decodes cell i into d.
func (r *Row) decode(i int, d any) error {
	if i >= len(r.cols) || r.cols[i].Type == nil {
		name := ""
		if i < len(r.cols) {
			name = r.cols[i].Name
		}
		return &ScanError{Column: name, Index: i, Err: errors.New("the column has no type (no result metadata)")}
	}
	col := &r.cols[i]
	if err := types.Decode(col.Type, r.cells[i], d); err != nil {
		return &ScanError{Column: col.Name, Index: i, Type: col.Type, Err: err}
	}
	return nil
}

// Map returns the row as a map from column name to the value's natural Go
// type (what types.Decode gives in an *any; nil for null). Of two columns
// with one name, the later one wins.
func (r *Row) Map() (map[string]any, error) {
	m := make(map[string]any, r.Len())
	if err := r.MapInto(m); err != nil {
		return nil, err
	}
	return m, nil
}

// MapInto stores the row's columns in m, as Map does, leaving its other keys
// alone. m must not be nil. On error the columns before the failing one are
// already stored.
func (r *Row) MapInto(m map[string]any) error {
	if m == nil {
		return &ScanError{Index: -1, Err: errors.New("MapInto needs a non-nil map")}
	}
	for i := range r.Len() {
		var v any
		if err := r.decode(i, &v); err != nil {
			return err
		}
		m[r.cols[i].Name] = v
	}
	return nil
}
