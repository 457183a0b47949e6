package types

import (
	"strconv"
	"strings"
)

// Kind identifies a CQL type. For the types the protocol names, the value is
// the [option] id that travels on the wire; Vector has no wire id of its own
// (it travels as Custom with a VectorType class name) and uses a value outside
// the 16-bit id space.
type Kind uint32

const (
	Custom    Kind = 0x0000
	Ascii     Kind = 0x0001
	Bigint    Kind = 0x0002
	Blob      Kind = 0x0003
	Boolean   Kind = 0x0004
	Counter   Kind = 0x0005
	Decimal   Kind = 0x0006
	Double    Kind = 0x0007
	Float     Kind = 0x0008
	Int       Kind = 0x0009
	Timestamp Kind = 0x000B
	UUID      Kind = 0x000C
	Varchar   Kind = 0x000D
	Varint    Kind = 0x000E
	Timeuuid  Kind = 0x000F
	Inet      Kind = 0x0010
	Date      Kind = 0x0011
	Time      Kind = 0x0012
	Smallint  Kind = 0x0013
	Tinyint   Kind = 0x0014
	Duration  Kind = 0x0015
	List      Kind = 0x0020
	Map       Kind = 0x0021
	Set       Kind = 0x0022
	UDT       Kind = 0x0030
	Tuple     Kind = 0x0031

	// Vector is vector<Elem, Dimension>. On the wire it is a Custom type whose
	// class name is org.apache.cassandra.db.marshal.VectorType(<elem class> , <n>).
	Vector Kind = 0x10000
)

// Text is the CQL name "text", an alias of varchar.
const Text = Varchar

var kindNames = map[Kind]string{
	Custom: "custom", Ascii: "ascii", Bigint: "bigint", Blob: "blob", Boolean: "boolean",
	Counter: "counter", Decimal: "decimal", Double: "double", Float: "float", Int: "int",
	Timestamp: "timestamp", UUID: "uuid", Varchar: "varchar", Varint: "varint",
	Timeuuid: "timeuuid", Inet: "inet", Date: "date", Time: "time", Smallint: "smallint",
	Tinyint: "tinyint", Duration: "duration", List: "list", Map: "map", Set: "set",
	UDT: "udt", Tuple: "tuple", Vector: "vector",
}

// String returns the CQL name of the kind ("int", "list", ...).
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "kind(0x" + strconv.FormatUint(uint64(k), 16) + ")"
}

// Field is one named field of a user-defined type.
type Field struct {
	Name string
	Type *Type
}

// Type describes one CQL type. Only the fields that belong to its Kind are set:
//
//	List, Set:      Elem
//	Map:            Key, Elem (the value type)
//	Tuple:          Elems
//	UDT:            Keyspace, Name, Fields
//	Vector:         Elem, Dimension, and Class (the class name as received)
//	Custom:         Class
//
// A Type is immutable once built and may be shared between goroutines.
type Type struct {
	Kind      Kind
	Elem      *Type   // element of list, set and vector; value of map
	Key       *Type   // key of map
	Elems     []*Type // components of tuple
	Keyspace  string  // UDT keyspace
	Name      string  // UDT name
	Fields    []Field // UDT fields, in order
	Dimension int     // vector dimension
	// Class, when not empty, is the Java marshal class name the type travels
	// as: a Custom [option] with this class name. It is always set for Custom,
	// and [ReadOption] sets it on every type it decoded from a custom option.
	// A custom option naming a class this package understands
	// (VectorType(...), DurationType, ListType(...), ...) decodes to that
	// type's Kind with Class kept, so re-encoding gives identical bytes. A
	// Vector without Class travels as its canonical [Type.ClassName].
	Class string
}

// Native returns the descriptor of a native (non-parameterised) type.
func Native(k Kind) *Type { return &Type{Kind: k} }

// ListOf returns list<elem>.
func ListOf(elem *Type) *Type { return &Type{Kind: List, Elem: elem} }

// SetOf returns set<elem>.
func SetOf(elem *Type) *Type { return &Type{Kind: Set, Elem: elem} }

// MapOf returns map<key, value>.
func MapOf(key, value *Type) *Type { return &Type{Kind: Map, Key: key, Elem: value} }

// TupleOf returns tuple<elems...>.
func TupleOf(elems ...*Type) *Type { return &Type{Kind: Tuple, Elems: elems} }

// VectorOf returns vector<elem, n>.
func VectorOf(elem *Type, n int) *Type { return &Type{Kind: Vector, Elem: elem, Dimension: n} }

// String renders the type as CQL, e.g. "map<text, frozen<list<int>>>" is
// rendered without frozen: "map<varchar, list<int>>".
func (t *Type) String() string {
	if t == nil {
		return "<nil type>"
	}
	var b strings.Builder
	t.writeTo(&b)
	return b.String()
}

func (t *Type) writeTo(b *strings.Builder) {
	if t == nil {
		b.WriteString("<nil type>")
		return
	}
	switch t.Kind {
	case List, Set:
		b.WriteString(t.Kind.String())
		b.WriteByte('<')
		t.Elem.writeTo(b)
		b.WriteByte('>')
	case Map:
		b.WriteString("map<")
		t.Key.writeTo(b)
		b.WriteString(", ")
		t.Elem.writeTo(b)
		b.WriteByte('>')
	case Tuple:
		b.WriteString("tuple<")
		for i, e := range t.Elems {
			if i > 0 {
				b.WriteString(", ")
			}
			e.writeTo(b)
		}
		b.WriteByte('>')
	case UDT:
		if t.Keyspace != "" {
			b.WriteString(t.Keyspace)
			b.WriteByte('.')
		}
		b.WriteString(t.Name)
	case Vector:
		b.WriteString("vector<")
		t.Elem.writeTo(b)
		b.WriteString(", ")
		b.WriteString(strconv.Itoa(t.Dimension))
		b.WriteByte('>')
	case Custom:
		b.WriteString("'" + t.Class + "'")
	default:
		b.WriteString(t.Kind.String())
	}
}
