package types

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MarshalPackage is the Java package of Cassandra's marshal classes; class
// names may be given with or without it.
const MarshalPackage = "org.apache.cassandra.db.marshal."

var kindByClass = map[string]Kind{
	"AsciiType":         Ascii,
	"LongType":          Bigint,
	"BytesType":         Blob,
	"BooleanType":       Boolean,
	"CounterColumnType": Counter,
	"DecimalType":       Decimal,
	"DoubleType":        Double,
	"FloatType":         Float,
	"Int32Type":         Int,
	"TimestampType":     Timestamp,
	"DateType":          Timestamp, // the pre-2.0 name of timestamp
	"UUIDType":          UUID,
	"UTF8Type":          Varchar,
	"IntegerType":       Varint,
	"TimeUUIDType":      Timeuuid,
	"InetAddressType":   Inet,
	"SimpleDateType":    Date,
	"TimeType":          Time,
	"ShortType":         Smallint,
	"ByteType":          Tinyint,
	"DurationType":      Duration,
}

var classByKind = map[Kind]string{
	Ascii: "AsciiType", Bigint: "LongType", Blob: "BytesType", Boolean: "BooleanType",
	Counter: "CounterColumnType", Decimal: "DecimalType", Double: "DoubleType",
	Float: "FloatType", Int: "Int32Type", Timestamp: "TimestampType", UUID: "UUIDType",
	Varchar: "UTF8Type", Varint: "IntegerType", Timeuuid: "TimeUUIDType",
	Inet: "InetAddressType", Date: "SimpleDateType", Time: "TimeType",
	Smallint: "ShortType", Tinyint: "ByteType", Duration: "DurationType",
	List: "ListType", Set: "SetType", Map: "MapType", Tuple: "TupleType",
	UDT: "UserType", Vector: "VectorType",
}

// ParseClassName converts a Java marshal class name, as found in custom
// [option]s and in schema tables of old servers, into a Type. It understands
// every native marshal class, ListType, SetType, MapType, TupleType, UserType,
// VectorType, and unwraps FrozenType and ReversedType. A class it does not
// know (with any parameters) becomes Kind Custom with Class set to that part
// of s; only malformed syntax is an error (*[ClassNameError]).
//
// Only Custom types carry a Class in the result; [ReadOption] sets Class on
// the type it returns so that re-encoding keeps the bytes received.
func ParseClassName(s string) (*Type, error) {
	p := classParser{scanner{s: s, newErr: classNameError}}
	t := p.parseType(0)
	p.end()
	if p.err != nil {
		return nil, p.err
	}
	return t, nil
}

type classParser struct{ scanner }

func classNameError(s string, offset int, err error) error {
	return &ClassNameError{Class: s, Offset: offset, Err: err}
}

// isIdentByte matches the characters Cassandra's TypeParser allows in names.
func isIdentByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
		c == '-' || c == '+' || c == '.' || c == '_' || c == '&'
}

func (p *classParser) ident() string {
	p.skipSpace()
	start := p.pos
	for p.pos < len(p.s) && isIdentByte(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *classParser) parseType(depth int) *Type {
	if p.err != nil {
		return nil
	}
	if depth >= MaxDepth {
		p.fail(ErrTooDeep)
		return nil
	}
	p.skipSpace()
	start := p.pos
	name := p.ident()
	if name == "" {
		p.fail(errors.New("expected a class name"))
		return nil
	}
	short := strings.TrimPrefix(name, MarshalPackage)
	if k, ok := kindByClass[short]; ok {
		if p.peek('(') {
			p.fail(fmt.Errorf("%s takes no parameters", short))
			return nil
		}
		return &Type{Kind: k}
	}
	switch short {
	case "FrozenType", "ReversedType":
		if !p.expect('(') {
			return nil
		}
		inner := p.parseType(depth + 1)
		if !p.expect(')') {
			return nil
		}
		return inner
	case "ListType", "SetType":
		if !p.expect('(') {
			return nil
		}
		elem := p.parseType(depth + 1)
		if !p.expect(')') {
			return nil
		}
		k := List
		if short == "SetType" {
			k = Set
		}
		return &Type{Kind: k, Elem: elem}
	case "MapType":
		if !p.expect('(') {
			return nil
		}
		key := p.parseType(depth + 1)
		p.expect(',')
		value := p.parseType(depth + 1)
		if !p.expect(')') {
			return nil
		}
		return &Type{Kind: Map, Key: key, Elem: value}
	case "TupleType":
		if !p.expect('(') {
			return nil
		}
		var elems []*Type
		for p.err == nil {
			elems = append(elems, p.parseType(depth+1))
			if !p.peek(',') {
				break
			}
			p.pos++
		}
		if !p.expect(')') {
			return nil
		}
		return &Type{Kind: Tuple, Elems: elems}
	case "UserType":
		return p.userType(depth)
	case "VectorType":
		if !p.expect('(') {
			return nil
		}
		elem := p.parseType(depth + 1)
		p.expect(',')
		if p.err != nil {
			return nil
		}
		digits := p.ident()
		n, err := strconv.ParseInt(digits, 10, 32)
		if err != nil || n <= 0 {
			p.fail(fmt.Errorf("vector dimension %q is not a positive 32-bit integer", digits))
			return nil
		}
		if !p.expect(')') {
			return nil
		}
		return &Type{Kind: Vector, Elem: elem, Dimension: int(n)}
	}
	// An unknown class: keep it whole, parameters included.
	end := p.pos
	if p.peek('(') {
		p.skipParams()
		end = p.pos
	}
	if p.err != nil {
		return nil
	}
	return &Type{Kind: Custom, Class: p.s[start:end]}
}

// skipParams consumes a balanced parenthesised parameter list.
func (p *classParser) skipParams() {
	depth := 0
	for ; p.pos < len(p.s); p.pos++ {
		switch p.s[p.pos] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				p.pos++
				return
			}
		}
	}
	p.fail(errors.New("unbalanced parentheses"))
}

// userType parses UserType(keyspace,hexname,hexfield:type,...), the
// parameters Cassandra writes for a UDT.
func (p *classParser) userType(depth int) *Type {
	if !p.expect('(') {
		return nil
	}
	ks := p.ident()
	p.expect(',')
	name := p.hexName("udt name")
	var fields []Field
	for p.err == nil && p.peek(',') {
		p.pos++
		fname := p.hexName("udt field name")
		p.expect(':')
		ft := p.parseType(depth + 1)
		fields = append(fields, Field{Name: fname, Type: ft})
	}
	if !p.expect(')') {
		return nil
	}
	return &Type{Kind: UDT, Keyspace: ks, Name: name, Fields: fields}
}

func (p *classParser) hexName(what string) string {
	if p.err != nil {
		return ""
	}
	start := p.pos
	h := p.ident()
	b, err := hex.DecodeString(h)
	if err != nil {
		p.pos = start
		p.fail(fmt.Errorf("%s %q is not hex", what, h))
		return ""
	}
	return string(b)
}

// ClassName returns the Java marshal class name of t, fully qualified, in the
// spelling Cassandra uses. For Kind Custom it is t.Class; for other kinds
// Class is ignored and the name is built from the type. Nested collections,
// tuples and UDTs are wrapped in FrozenType(...) once, as the server writes
// them inside a non-frozen column (the wire [option] does not say whether a
// top-level type is frozen, so the top level is never wrapped).
func (t *Type) ClassName() string {
	var b strings.Builder
	t.writeClass(&b, false, false, 0)
	return b.String()
}

func (t *Type) writeClass(b *strings.Builder, nested, inFrozen bool, depth int) {
	if t == nil || depth >= MaxDepth {
		b.WriteString("<invalid>")
		return
	}
	if t.Kind == Custom {
		b.WriteString(t.Class)
		return
	}
	name, ok := classByKind[t.Kind]
	if !ok {
		b.WriteString("<invalid>")
		return
	}
	wrap := false
	switch t.Kind {
	case List, Set, Map, Tuple, UDT:
		wrap = nested && !inFrozen
	}
	if wrap {
		b.WriteString(MarshalPackage + "FrozenType(")
		inFrozen = true
	}
	b.WriteString(MarshalPackage)
	b.WriteString(name)
	switch t.Kind {
	case List, Set:
		b.WriteByte('(')
		t.Elem.writeClass(b, true, inFrozen, depth+1)
		b.WriteByte(')')
	case Map:
		b.WriteByte('(')
		t.Key.writeClass(b, true, inFrozen, depth+1)
		b.WriteByte(',')
		t.Elem.writeClass(b, true, inFrozen, depth+1)
		b.WriteByte(')')
	case Tuple:
		b.WriteByte('(')
		for i, e := range t.Elems {
			if i > 0 {
				b.WriteByte(',')
			}
			e.writeClass(b, true, inFrozen, depth+1)
		}
		b.WriteByte(')')
	case UDT:
		b.WriteByte('(')
		b.WriteString(t.Keyspace)
		b.WriteByte(',')
		b.WriteString(hex.EncodeToString([]byte(t.Name)))
		for _, f := range t.Fields {
			b.WriteByte(',')
			b.WriteString(hex.EncodeToString([]byte(f.Name)))
			b.WriteByte(':')
			f.Type.writeClass(b, true, inFrozen, depth+1)
		}
		b.WriteByte(')')
	case Vector:
		// The server's spelling, space before the comma included.
		b.WriteByte('(')
		t.Elem.writeClass(b, true, inFrozen, depth+1)
		b.WriteString(" , ")
		b.WriteString(strconv.Itoa(t.Dimension))
		b.WriteByte(')')
	}
	if wrap {
		b.WriteByte(')')
	}
}
