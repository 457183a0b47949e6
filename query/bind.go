package query

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/types"
)

// NamedValue is a value for the bind marker with the given name (a named
// marker such as :id, or the column a ? stands for in a prepared statement).
type NamedValue struct {
	Name  string
	Value any
}

// Named returns NamedValue{name, v}.
func Named(name string, v any) NamedValue { return NamedValue{Name: name, Value: v} }

// TypedValue fixes the CQL type of a value of a simple (unprepared)
// statement when inference from the Go type is not what the column needs:
// a []float32 for a vector column, an int64 for a timestamp, a struct for a
// tuple or user-defined type. In a prepared statement the marker's own type
// is authoritative, so Bind encodes Value with that type and ignores Type.
type TypedValue struct {
	Type  *types.Type
	Value any
}

// Typed returns TypedValue{t, v}.
func Typed(t *types.Type, v any) TypedValue { return TypedValue{Type: t, Value: v} }

// Unset, bound as a value, leaves its column as it is (protocol v4+). It is
// types.Unset under another name, so that binding needs no import of types.
var Unset types.UnsetValue

// BindError reports a value that could not be bound.
type BindError struct {
	// Index is the 0-based position of the bind marker (Bind) or of the
	// value (BindSimple); -1 when the error is about the values as a whole
	// (their count, mixing named and positional values, a name that
	// matches no marker).
	Index int
	// Name is the marker's name, or the value's name for named values; it
	// may be empty.
	Name string
	// Type is the CQL type the value was to be encoded as; nil when it is
	// not known (inference failed, or Index is -1).
	Type *types.Type
	Err  error
}

func (e *BindError) Error() string {
	if e.Index < 0 {
		return positionError("bind", "", -1, e.Name, nil, e.Err, "invalid value")
	}
	return positionError("", "bind marker", e.Index, e.Name, e.Type, e.Err, "invalid value")
}

// positionError formats the errors of binding and scanning alike:
// "query: <op> <what> <index> "<name>" (<type>): <cause>".
func positionError(op, what string, index int, name string, t *types.Type, err error, fallback string) string {
	var b strings.Builder
	b.WriteString("query: ")
	b.WriteString(op)
	if index >= 0 {
		if op != "" {
			b.WriteString(" ")
		}
		b.WriteString(what)
		b.WriteString(" ")
		b.WriteString(strconv.Itoa(index))
	}
	if name != "" {
		b.WriteString(" ")
		b.WriteString(strconv.Quote(name))
	}
	if t != nil {
		b.WriteString(" (")
		b.WriteString(t.String())
		b.WriteString(")")
	}
	b.WriteString(": ")
	if err != nil {
		b.WriteString(err.Error())
	} else {
		b.WriteString(fallback)
	}
	return b.String()
}

func (e *BindError) Unwrap() error { return e.Err }

// Errors wrapped by BindError, for errors.Is.
var (
	// ErrValueCount: positional values whose count differs from the bind
	// markers'.
	ErrValueCount = errors.New("wrong number of values")
	// ErrMixedValues: named and positional values in one statement; the
	// protocol names either all values or none.
	ErrMixedValues = errors.New("values mix named and positional values")
	// ErrMissingValue: no named value for a bind marker.
	ErrMissingValue = errors.New("no value for the bind marker")
	// ErrDuplicateValue: two named values for one bind marker.
	ErrDuplicateValue = errors.New("more than one value for the bind marker")
	// ErrUnknownName: a named value that matches no bind marker.
	ErrUnknownName = errors.New("no bind marker has this name")
)

// Bind encodes values for the bind markers cols (a prepared statement's
// PreparedMetadata.Columns), with each marker's type.
//
// values are positional (one per marker, in order) or all NamedValue: each
// name picks the marker with exactly that name, else the one whose name
// matches it without regard to case. Every marker must get a value; a name
// shared by several markers (a named marker used twice) gives its value to
// each. types.Unset (or UnsetValue{}) gives frame.UnsetValue, leaving the
// column as it is; nil, and nil pointers, slices and maps, give null.
//
// The encoded bytes are appended to buf and the values to dst[:0]; the
// Bytes of the returned values alias the returned buffer (capacity-limited,
// so appending to one cannot overwrite the next). Pass the returned buffer
// and slice back in to reuse them once the values are no longer needed
// (the request is encoded): with enough capacity, binding simple values
// (integers, floats, strings, []byte, []float32...) allocates nothing.
// On error buf is returned truncated to its original length.
//
// Errors are *BindError naming the marker and its type and wrapping the
// types error.
func Bind(buf []byte, dst []frame.Value, cols []frame.ColumnSpec, values []any) ([]byte, []frame.Value, error) {
	dst = dst[:0]
	if buf == nil {
		// A non-nil buffer makes every non-null value non-nil, even empty.
		buf = []byte{}
	}
	start := len(buf)
	named, err := namedValues(values)
	if err != nil {
		return buf, dst, err
	}
	if named {
		buf, dst, err = bindNamed(buf, dst, cols, values)
	} else {
		if len(values) != len(cols) {
			return buf, dst, &BindError{Index: -1, Err: fmt.Errorf("%w: %d values for %d bind markers", ErrValueCount, len(values), len(cols))}
		}
		for i := range cols {
			buf, dst, err = bindOne(buf, dst, i, &cols[i], values[i])
			if err != nil {
				break
			}
		}
	}
	if err != nil {
		return buf[:start], dst[:0], err
	}
	alias(buf, start, dst)
	return buf, dst, nil
}

// namedValues reports whether values are all NamedValue (and not empty),
// and fails when only some are.
func namedValues(values []any) (bool, error) {
	n := 0
	for _, v := range values {
		if _, ok := v.(NamedValue); ok {
			n++
		}
	}
	if n == 0 {
		return false, nil
	}
	if n != len(values) {
		return false, &BindError{Index: -1, Err: fmt.Errorf("%w: %d of %d values are named", ErrMixedValues, n, len(values))}
	}
	return true, nil
}

// bindOne encodes v for marker i and appends its (provisional) value to dst.
func bindOne(buf []byte, dst []frame.Value, i int, col *frame.ColumnSpec, v any) ([]byte, []frame.Value, error) {
	if tv, ok := v.(TypedValue); ok {
		v = tv.Value // the marker's type wins; see TypedValue
	}
	if col.Type == nil {
		return buf, dst, &BindError{Index: i, Name: col.Name, Err: errors.New("the bind marker has no type")}
	}
	out, null, err := types.Append(buf, col.Type, v)
	switch {
	case err == types.ErrUnset:
		return buf, append(dst, frame.UnsetValue), nil
	case err != nil:
		return buf, dst, &BindError{Index: i, Name: col.Name, Type: col.Type, Err: err}
	case null:
		return buf, append(dst, frame.Value{}), nil
	}
	return appended(buf, dst, out, i, col.Name, col.Type)
}

// appended records the value types.Append added to buf (now out). Only
// its length matters until alias runs: buf may still move.
func appended(buf []byte, dst []frame.Value, out []byte, i int, name string, t *types.Type) ([]byte, []frame.Value, error) {
	if len(out) < len(buf) {
		// Only a broken types.Marshaler can do this.
		return buf, dst, &BindError{Index: i, Name: name, Type: t, Err: errors.New("the value's AppendCQL returned less than it was given")}
	}
	return out, append(dst, frame.Value{Bytes: out[len(buf):]}), nil
}

// alias points the Bytes of each non-null value at its final place in buf.
// Values were appended in order from start, so their offsets are the running
// sum of their lengths.
func alias(buf []byte, start int, dst []frame.Value) {
	off := start
	for k := range dst {
		if dst[k].Unset || dst[k].Bytes == nil {
			continue
		}
		end := off + len(dst[k].Bytes)
		dst[k].Bytes = buf[off:end:end]
		off = end
	}
}

func bindNamed(buf []byte, dst []frame.Value, cols []frame.ColumnSpec, values []any) ([]byte, []frame.Value, error) {
	// Which values were used, on the stack for any realistic statement.
	var usedArr [64]bool
	var used []bool
	if len(values) <= len(usedArr) {
		used = usedArr[:len(values)]
	} else {
		used = make([]bool, len(values))
	}
	var err error
	for i := range cols {
		col := &cols[i]
		j, perr := pickNamed(col.Name, values)
		if perr != nil {
			return buf, dst, &BindError{Index: i, Name: col.Name, Type: col.Type, Err: perr}
		}
		used[j] = true
		buf, dst, err = bindOne(buf, dst, i, col, values[j].(NamedValue).Value)
		if err != nil {
			return buf, dst, err
		}
	}
	for j, u := range used {
		if u {
			continue
		}
		name := values[j].(NamedValue).Name
		for i := range cols {
			if strings.EqualFold(cols[i].Name, name) {
				return buf, dst, &BindError{Index: i, Name: cols[i].Name, Type: cols[i].Type,
					Err: fmt.Errorf("%w: value %q matches it without regard to case, but another value matched it", ErrDuplicateValue, name)}
			}
		}
		return buf, dst, &BindError{Index: -1, Name: name, Err: fmt.Errorf("%w (markers: %s)", ErrUnknownName, markerNames(cols))}
	}
	return buf, dst, nil
}

// pickNamed finds the one value for the marker called name: an exact match,
// else a match without regard to case.
func pickNamed(name string, values []any) (int, error) {
	found, n := -1, 0
	for j, v := range values {
		if v.(NamedValue).Name == name {
			if found < 0 {
				found = j
			}
			n++
		}
	}
	if n > 1 {
		return -1, fmt.Errorf("%w: %d values are named %q", ErrDuplicateValue, n, name)
	}
	if found >= 0 {
		return found, nil
	}
	for j, v := range values {
		if strings.EqualFold(v.(NamedValue).Name, name) {
			if found >= 0 {
				return -1, fmt.Errorf("%w: values %q and %q both match without regard to case",
					ErrDuplicateValue, values[found].(NamedValue).Name, v.(NamedValue).Name)
			}
			found = j
		}
	}
	if found < 0 {
		return -1, ErrMissingValue
	}
	return found, nil
}

func markerNames(cols []frame.ColumnSpec) string {
	var b strings.Builder
	for i := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(cols[i].Name)
	}
	return b.String()
}

// BindSimple encodes the values of a simple (unprepared) QUERY, whose marker
// types the client does not know: each value's CQL type comes from
// InferType, or from a TypedValue. If all values are NamedValue it also
// returns their names, in order, for the QUERY names flag; otherwise names
// is nil. Mixing named and positional values is an error, and so is naming
// two values alike.
//
// buf and dst are used as in Bind.
func BindSimple(buf []byte, dst []frame.Value, values []any) ([]byte, []frame.Value, []string, error) {
	var names []string
	dst = dst[:0]
	if buf == nil {
		buf = []byte{}
	}
	start := len(buf)
	named, err := namedValues(values)
	if err != nil {
		return buf, dst, nil, err
	}
	if named {
		names = make([]string, len(values))
	}
	for i, v := range values {
		var name string
		if nv, ok := v.(NamedValue); ok {
			name, v = nv.Name, nv.Value
			for k := range i {
				if names[k] == name {
					err = &BindError{Index: i, Name: name, Err: fmt.Errorf("%w: values %d and %d are both named %q", ErrDuplicateValue, k, i, name)}
					break
				}
			}
			if err != nil {
				break
			}
			names[i] = name
		}
		buf, dst, err = bindSimpleOne(buf, dst, i, name, v)
		if err != nil {
			break
		}
	}
	if err != nil {
		return buf[:start], dst[:0], nil, err
	}
	alias(buf, start, dst)
	return buf, dst, names, nil
}

func bindSimpleOne(buf []byte, dst []frame.Value, i int, name string, v any) ([]byte, []frame.Value, error) {
	var t *types.Type
	if tv, ok := v.(TypedValue); ok {
		if tv.Type == nil {
			return buf, dst, &BindError{Index: i, Name: name, Err: errors.New("Typed with a nil type")}
		}
		t, v = tv.Type, tv.Value
	} else {
		var err error
		if t, err = InferType(v); err != nil {
			return buf, dst, &BindError{Index: i, Name: name, Err: err}
		}
		if t == nil {
			// Null or unset: no bytes, so no type needed.
			if isUnset(v) {
				return buf, append(dst, frame.UnsetValue), nil
			}
			return buf, append(dst, frame.Value{}), nil
		}
	}
	out, null, err := types.Append(buf, t, v)
	switch {
	case err == types.ErrUnset:
		return buf, append(dst, frame.UnsetValue), nil
	case err != nil:
		return buf, dst, &BindError{Index: i, Name: name, Type: t, Err: err}
	case null:
		return buf, append(dst, frame.Value{}), nil
	}
	return appended(buf, dst, out, i, name, t)
}

func isUnset(v any) bool {
	switch v.(type) {
	case types.UnsetValue, *types.UnsetValue:
		return true
	}
	return false
}
