package types

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ReadOption decodes one [option] (a type descriptor, protocol spec section
// 4.2.5.2) from the start of b and reports how many bytes it used.
//
// A custom option (id 0x0000) whose class name this package understands
// decodes to that type (VectorType(...) to Vector, ListType(...) to List, ...)
// with Class set to the class name as received; any other class decodes to
// Kind Custom. Errors are *[OptionError] with the offset within b.
func ReadOption(b []byte) (t *Type, n int, err error) {
	r := optionReader{buf: b}
	t = r.option(0)
	if r.err != nil {
		return nil, r.off, r.err
	}
	return t, r.off, nil
}

// sharedNatives holds one descriptor per native type for ReadOption to
// return: decoding result metadata then allocates nothing for native
// columns. Types are immutable, so sharing them is safe.
var sharedNatives = func() (m [Duration + 1]*Type) {
	for _, k := range []Kind{Ascii, Bigint, Blob, Boolean, Counter, Decimal, Double, Float, Int, Timestamp,
		UUID, Varchar, Varint, Timeuuid, Inet, Date, Time, Smallint, Tinyint, Duration} {
		m[k] = &Type{Kind: k}
	}
	return m
}()

type optionReader struct {
	buf []byte
	off int
	err error
}

func (r *optionReader) fail(field string, err error) {
	if r.err == nil {
		r.err = &OptionError{Field: field, Offset: r.off, Err: err}
	}
}

func (r *optionReader) short(field string) (int, bool) {
	if r.err != nil {
		return 0, false
	}
	if len(r.buf)-r.off < 2 {
		r.fail(field, fmt.Errorf("%w: need 2 bytes, %d remain", ErrTruncated, len(r.buf)-r.off))
		return 0, false
	}
	v := binary.BigEndian.Uint16(r.buf[r.off:])
	r.off += 2
	return int(v), true
}

func (r *optionReader) string(field string) (string, bool) {
	start := r.off
	n, ok := r.short(field)
	if !ok {
		return "", false
	}
	if n > len(r.buf)-r.off {
		r.off = start
		r.fail(field, fmt.Errorf("%w: string of %d bytes, %d remain", ErrTruncated, n, len(r.buf)-r.off-2))
		return "", false
	}
	s := string(r.buf[r.off : r.off+n])
	r.off += n
	return s, true
}

// count reads a [short] count and checks that count*minSize bytes remain, so
// no slice is allocated for elements that cannot exist.
func (r *optionReader) count(field string, minSize int) (int, bool) {
	start := r.off
	n, ok := r.short(field)
	if !ok {
		return 0, false
	}
	if rem := len(r.buf) - r.off; n > rem/minSize {
		r.off = start
		r.fail(field, fmt.Errorf("%w: count %d needs at least %d bytes, %d remain", ErrTruncated, n, n*minSize, rem))
		return 0, false
	}
	return n, true
}

func (r *optionReader) option(depth int) *Type {
	if depth >= MaxDepth {
		r.fail("id", ErrTooDeep)
		return nil
	}
	idOffset := r.off
	id, ok := r.short("id")
	if !ok {
		return nil
	}
	k := Kind(id)
	switch k {
	case Custom:
		class, ok := r.string("custom class")
		if !ok {
			return nil
		}
		parsed, err := ParseClassName(class)
		if err != nil {
			// The server may send classes this package cannot parse;
			// their values are then raw bytes, not a decode failure.
			return &Type{Kind: Custom, Class: class}
		}
		// Copy so the Class of the outermost type is the string received,
		// which makes AppendOption reproduce the bytes exactly.
		t := *parsed
		t.Class = class
		return &t
	case Ascii, Bigint, Blob, Boolean, Counter, Decimal, Double, Float, Int, Timestamp,
		UUID, Varchar, Varint, Timeuuid, Inet, Date, Time, Smallint, Tinyint, Duration:
		return sharedNatives[k]
	case List, Set:
		elem := r.option(depth + 1)
		if elem == nil {
			return nil
		}
		return &Type{Kind: k, Elem: elem}
	case Map:
		key := r.option(depth + 1)
		if key == nil {
			return nil
		}
		value := r.option(depth + 1)
		if value == nil {
			return nil
		}
		return &Type{Kind: Map, Key: key, Elem: value}
	case UDT:
		ks, _ := r.string("udt keyspace")
		name, _ := r.string("udt name")
		// Each field is at least an empty [string] and an [option] id.
		n, ok := r.count("udt field count", 4)
		if !ok {
			return nil
		}
		fields := make([]Field, n)
		for i := range fields {
			fname, ok := r.string("udt field name")
			if !ok {
				return nil
			}
			ft := r.option(depth + 1)
			if ft == nil {
				return nil
			}
			fields[i] = Field{Name: fname, Type: ft}
		}
		return &Type{Kind: UDT, Keyspace: ks, Name: name, Fields: fields}
	case Tuple:
		n, ok := r.count("tuple component count", 2)
		if !ok {
			return nil
		}
		elems := make([]*Type, n)
		for i := range elems {
			if elems[i] = r.option(depth + 1); elems[i] == nil {
				return nil
			}
		}
		return &Type{Kind: Tuple, Elems: elems}
	default:
		r.off = idOffset
		r.fail("id", fmt.Errorf("unknown option id 0x%04x", id))
		return nil
	}
}

// AppendOption appends the [option] encoding of t to dst. A type with Class
// set is written as a custom option naming that class; a Vector without Class
// is written as a custom option with its canonical class name (vectors have no
// option id of their own). Errors are *[OptionError].
func AppendOption(dst []byte, t *Type) ([]byte, error) {
	return appendOption(dst, t, 0, false)
}

// DurationClass is the marshal class of duration, which is how a server
// sends the type to protocol v4 clients: option id 0x0015 exists only in v5.
const DurationClass = MarshalPackage + "DurationType"

// AppendOptionV4 is AppendOption for protocol v4 (and v3): a duration, at
// any nesting level, is written as a custom option naming DurationClass, as
// Cassandra does for those versions.
func AppendOptionV4(dst []byte, t *Type) ([]byte, error) {
	return appendOption(dst, t, 0, true)
}

func optionErr(field string, err error) error {
	return &OptionError{Field: field, Offset: -1, Err: err}
}

var errNilType = errors.New("nil type")

func appendOptionString(dst []byte, field, s string) ([]byte, error) {
	if len(s) > math.MaxUint16 {
		return dst, optionErr(field, fmt.Errorf("string of %d bytes exceeds the 65535 a [string] can carry", len(s)))
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...), nil
}

func appendOption(dst []byte, t *Type, depth int, v4 bool) ([]byte, error) {
	if t == nil {
		return dst, optionErr("type", errNilType)
	}
	if depth >= MaxDepth {
		return dst, optionErr("type", ErrTooDeep)
	}
	if t.Class != "" || t.Kind == Vector || t.Kind == Custom {
		// A custom type with an empty class is written as received.
		class := t.Class
		if class == "" && t.Kind == Vector {
			if err := validateType(t, depth); err != nil {
				return dst, err
			}
			class = t.ClassName()
		}
		dst = binary.BigEndian.AppendUint16(dst, uint16(Custom))
		return appendOptionString(dst, "custom class", class)
	}
	if v4 && t.Kind == Duration {
		dst = binary.BigEndian.AppendUint16(dst, uint16(Custom))
		return appendOptionString(dst, "custom class", DurationClass)
	}
	var err error
	switch t.Kind {
	case Ascii, Bigint, Blob, Boolean, Counter, Decimal, Double, Float, Int, Timestamp,
		UUID, Varchar, Varint, Timeuuid, Inet, Date, Time, Smallint, Tinyint, Duration:
		return binary.BigEndian.AppendUint16(dst, uint16(t.Kind)), nil
	case List, Set:
		dst = binary.BigEndian.AppendUint16(dst, uint16(t.Kind))
		return appendOption(dst, t.Elem, depth+1, v4)
	case Map:
		dst = binary.BigEndian.AppendUint16(dst, uint16(Map))
		if dst, err = appendOption(dst, t.Key, depth+1, v4); err != nil {
			return dst, err
		}
		return appendOption(dst, t.Elem, depth+1, v4)
	case UDT:
		if len(t.Fields) > math.MaxUint16 {
			return dst, optionErr("udt field count", fmt.Errorf("%d fields exceed 65535", len(t.Fields)))
		}
		dst = binary.BigEndian.AppendUint16(dst, uint16(UDT))
		if dst, err = appendOptionString(dst, "udt keyspace", t.Keyspace); err != nil {
			return dst, err
		}
		if dst, err = appendOptionString(dst, "udt name", t.Name); err != nil {
			return dst, err
		}
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(t.Fields)))
		for _, f := range t.Fields {
			if dst, err = appendOptionString(dst, "udt field name", f.Name); err != nil {
				return dst, err
			}
			if dst, err = appendOption(dst, f.Type, depth+1, v4); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case Tuple:
		if len(t.Elems) > math.MaxUint16 {
			return dst, optionErr("tuple component count", fmt.Errorf("%d components exceed 65535", len(t.Elems)))
		}
		dst = binary.BigEndian.AppendUint16(dst, uint16(Tuple))
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(t.Elems)))
		for _, e := range t.Elems {
			if dst, err = appendOption(dst, e, depth+1, v4); err != nil {
				return dst, err
			}
		}
		return dst, nil
	default:
		return dst, optionErr("id", fmt.Errorf("unknown kind %v", t.Kind))
	}
}

// validateType checks that t and everything inside it is well formed: no nil
// children, known kinds, a positive vector dimension, bounded depth.
func validateType(t *Type, depth int) error {
	if t == nil {
		return optionErr("type", errNilType)
	}
	if depth >= MaxDepth {
		return optionErr("type", ErrTooDeep)
	}
	switch t.Kind {
	case Custom:
	case Ascii, Bigint, Blob, Boolean, Counter, Decimal, Double, Float, Int, Timestamp,
		UUID, Varchar, Varint, Timeuuid, Inet, Date, Time, Smallint, Tinyint, Duration:
	case List, Set:
		return validateType(t.Elem, depth+1)
	case Vector:
		if t.Dimension <= 0 || t.Dimension > math.MaxInt32 {
			return optionErr("vector dimension", fmt.Errorf("dimension %d out of range", t.Dimension))
		}
		return validateType(t.Elem, depth+1)
	case Map:
		if err := validateType(t.Key, depth+1); err != nil {
			return err
		}
		return validateType(t.Elem, depth+1)
	case UDT:
		for _, f := range t.Fields {
			if err := validateType(f.Type, depth+1); err != nil {
				return err
			}
		}
	case Tuple:
		for _, e := range t.Elems {
			if err := validateType(e, depth+1); err != nil {
				return err
			}
		}
	default:
		return optionErr("id", fmt.Errorf("unknown kind %v", t.Kind))
	}
	return nil
}

// Equal reports whether a and b describe the same CQL type. Class is compared
// only for Kind Custom, where it is the type's identity: a list received as a
// custom ListType(...) option equals one received as a list option.
func Equal(a, b *Type) bool {
	return equalDepth(a, b, 0)
}

func equalDepth(a, b *Type, depth int) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a == b {
		return true
	}
	if a.Kind != b.Kind || depth >= MaxDepth {
		return false
	}
	switch a.Kind {
	case Custom:
		return a.Class == b.Class
	case List, Set:
		return equalDepth(a.Elem, b.Elem, depth+1)
	case Vector:
		return a.Dimension == b.Dimension && equalDepth(a.Elem, b.Elem, depth+1)
	case Map:
		return equalDepth(a.Key, b.Key, depth+1) && equalDepth(a.Elem, b.Elem, depth+1)
	case UDT:
		if a.Keyspace != b.Keyspace || a.Name != b.Name || len(a.Fields) != len(b.Fields) {
			return false
		}
		for i := range a.Fields {
			if a.Fields[i].Name != b.Fields[i].Name || !equalDepth(a.Fields[i].Type, b.Fields[i].Type, depth+1) {
				return false
			}
		}
		return true
	case Tuple:
		if len(a.Elems) != len(b.Elems) {
			return false
		}
		for i := range a.Elems {
			if !equalDepth(a.Elems[i], b.Elems[i], depth+1) {
				return false
			}
		}
		return true
	}
	return true
}
