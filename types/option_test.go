package types

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// opt builds option bytes from hex with spaces allowed.
func opt(t testing.TB, h string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(h, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func str(s string) string { // [string] as hex
	return hex.EncodeToString([]byte{byte(len(s) >> 8), byte(len(s))}) + hex.EncodeToString([]byte(s))
}

const vectorFloat3Class = "org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType , 3)"

func TestOptionRoundTrip(t *testing.T) {
	addr := &Type{Kind: UDT, Keyspace: "ks", Name: "address", Fields: []Field{
		{Name: "street", Type: Native(Varchar)},
		{Name: "zip", Type: Native(Int)},
	}}
	cases := []struct {
		name string
		typ  *Type
		hex  string
	}{
		{"ascii", Native(Ascii), "0001"},
		{"bigint", Native(Bigint), "0002"},
		{"blob", Native(Blob), "0003"},
		{"boolean", Native(Boolean), "0004"},
		{"counter", Native(Counter), "0005"},
		{"decimal", Native(Decimal), "0006"},
		{"double", Native(Double), "0007"},
		{"float", Native(Float), "0008"},
		{"int", Native(Int), "0009"},
		{"timestamp", Native(Timestamp), "000b"},
		{"uuid", Native(UUID), "000c"},
		{"varchar", Native(Varchar), "000d"},
		{"varint", Native(Varint), "000e"},
		{"timeuuid", Native(Timeuuid), "000f"},
		{"inet", Native(Inet), "0010"},
		{"date", Native(Date), "0011"},
		{"time", Native(Time), "0012"},
		{"smallint", Native(Smallint), "0013"},
		{"tinyint", Native(Tinyint), "0014"},
		{"duration", Native(Duration), "0015"},
		{"list<int>", ListOf(Native(Int)), "0020 0009"},
		{"set<text>", SetOf(Native(Varchar)), "0022 000d"},
		{"map<text, frozen<list<int>>>", MapOf(Native(Varchar), ListOf(Native(Int))), "0021 000d 0020 0009"},
		{"tuple<int, text, uuid>", TupleOf(Native(Int), Native(Varchar), Native(UUID)), "0031 0003 0009 000d 000c"},
		{"udt", addr, "0030" + str("ks") + str("address") + "0002" + str("street") + "000d" + str("zip") + "0009"},
		{"list<udt>", ListOf(addr), "0020 0030" + str("ks") + str("address") + "0002" + str("street") + "000d" + str("zip") + "0009"},
		{"custom", &Type{Kind: Custom, Class: "com.example.Thing"}, "0000" + str("com.example.Thing")},
		{"vector<float, 3> as received", &Type{Kind: Vector, Elem: Native(Float), Dimension: 3, Class: vectorFloat3Class}, "0000" + str(vectorFloat3Class)},
		{"vector<float, 3> built", VectorOf(Native(Float), 3), "0000" + str(vectorFloat3Class)},
		{"list<vector<float, 3>>", ListOf(VectorOf(Native(Float), 3)), "0020 0000" + str(vectorFloat3Class)},
		{"custom duration", &Type{Kind: Duration, Class: "org.apache.cassandra.db.marshal.DurationType"}, "0000" + str("org.apache.cassandra.db.marshal.DurationType")},
		{"empty tuple", TupleOf(), "0031 0000"},
		{"custom with empty class", &Type{Kind: Custom}, "0000 0000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := opt(t, c.hex)
			got, err := AppendOption([]byte{0xAA}, c.typ)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[1:], want) {
				t.Fatalf("AppendOption = %x, want %x", got[1:], want)
			}
			in := append(append([]byte{}, want...), 0xEE) // trailing byte must not be consumed
			typ, n, err := ReadOption(in)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(want) {
				t.Fatalf("consumed %d bytes, want %d", n, len(want))
			}
			if !Equal(typ, c.typ) {
				t.Fatalf("ReadOption = %v, want %v", typ, c.typ)
			}
			again, err := AppendOption(nil, typ)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, want) {
				t.Fatalf("re-encoded %x, want %x", again, want)
			}
		})
	}
}

func TestReadOptionVectorKeepsClass(t *testing.T) {
	typ, _, err := ReadOption(opt(t, "0000"+str(vectorFloat3Class)))
	if err != nil {
		t.Fatal(err)
	}
	if typ.Kind != Vector || typ.Dimension != 3 || typ.Elem.Kind != Float || typ.Class != vectorFloat3Class {
		t.Fatalf("got %+v", typ)
	}
	// A class this package cannot parse stays custom.
	typ, _, err = ReadOption(opt(t, "0000"+str("VectorType(FloatType")))
	if err != nil || typ.Kind != Custom || typ.Class != "VectorType(FloatType" {
		t.Fatalf("got %+v, %v", typ, err)
	}
}

func TestReadOptionErrors(t *testing.T) {
	cases := []struct {
		name, hex string
		field     string
		offset    int
		truncated bool
		text      string
	}{
		{"empty", "", "id", 0, true, ""},
		{"one byte", "00", "id", 0, true, ""},
		{"unknown id", "0040", "id", 0, false, "unknown option id 0x0040"},
		{"unknown id 0x000a", "000a", "id", 0, false, "0x000a"},
		{"nested unknown", "0020 0021 0009 0099", "id", 6, false, "0x0099"},
		{"list without elem", "0020", "id", 2, true, ""},
		{"custom truncated", "0000 0005 6162", "custom class", 2, true, ""},
		{"udt huge count", "0030" + str("ks") + str("t") + "ffff 0000", "udt field count", 9, true, ""},
		{"tuple huge count", "0031 ffff 0009", "tuple component count", 2, true, ""},
		{"udt name truncated", "0030" + str("ks") + "0009", "udt name", 6, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ReadOption(opt(t, c.hex))
			var oe *OptionError
			if !errors.As(err, &oe) {
				t.Fatalf("err = %v, want *OptionError", err)
			}
			if oe.Field != c.field || oe.Offset != c.offset {
				t.Fatalf("field %q offset %d, want %q %d (%v)", oe.Field, oe.Offset, c.field, c.offset, err)
			}
			if c.truncated != errors.Is(err, ErrTruncated) {
				t.Fatalf("truncated = %v: %v", !c.truncated, err)
			}
			if !strings.Contains(err.Error(), c.text) {
				t.Fatalf("%q does not contain %q", err, c.text)
			}
		})
	}
}

func TestReadOptionDepth(t *testing.T) {
	var b []byte
	for range MaxDepth + 1 {
		b = append(b, 0x00, 0x20)
	}
	b = append(b, 0x00, 0x09)
	_, _, err := ReadOption(b)
	if !errors.Is(err, ErrTooDeep) {
		t.Fatalf("err = %v, want ErrTooDeep", err)
	}
	// Exactly MaxDepth levels is fine.
	typ, n, err := ReadOption(b[4:])
	if err != nil || n != len(b)-4 || typ == nil {
		t.Fatalf("got %v %d %v", typ, n, err)
	}
}

func TestAppendOptionErrors(t *testing.T) {
	cases := []struct {
		name string
		typ  *Type
		text string
	}{
		{"nil", nil, "nil type"},
		{"list of nil", &Type{Kind: List}, "nil type"},
		{"unknown kind", &Type{Kind: 0x77}, "unknown kind"},
		{"vector bad dimension", VectorOf(Native(Float), 0), "dimension 0"},
		{"vector nil elem", &Type{Kind: Vector, Dimension: 2}, "nil type"},
		{"long class", &Type{Kind: Custom, Class: strings.Repeat("x", 70000)}, "exceeds"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := AppendOption(nil, c.typ)
			var oe *OptionError
			if !errors.As(err, &oe) || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("err = %v, want *OptionError containing %q", err, c.text)
			}
		})
	}
	cyc := &Type{Kind: List}
	cyc.Elem = cyc
	if _, err := AppendOption(nil, cyc); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("cyclic type: %v", err)
	}
}

func TestParseClassName(t *testing.T) {
	m := MarshalPackage
	cases := []struct {
		class string
		want  *Type
	}{
		{m + "AsciiType", Native(Ascii)},
		{m + "LongType", Native(Bigint)},
		{m + "BytesType", Native(Blob)},
		{m + "BooleanType", Native(Boolean)},
		{m + "CounterColumnType", Native(Counter)},
		{m + "DecimalType", Native(Decimal)},
		{m + "DoubleType", Native(Double)},
		{m + "FloatType", Native(Float)},
		{m + "Int32Type", Native(Int)},
		{m + "TimestampType", Native(Timestamp)},
		{m + "DateType", Native(Timestamp)},
		{m + "UUIDType", Native(UUID)},
		{m + "UTF8Type", Native(Varchar)},
		{m + "IntegerType", Native(Varint)},
		{m + "TimeUUIDType", Native(Timeuuid)},
		{m + "InetAddressType", Native(Inet)},
		{m + "SimpleDateType", Native(Date)},
		{m + "TimeType", Native(Time)},
		{m + "ShortType", Native(Smallint)},
		{m + "ByteType", Native(Tinyint)},
		{m + "DurationType", Native(Duration)},
		{"Int32Type", Native(Int)},
		{"  UTF8Type  ", Native(Varchar)},
		{m + "ListType(" + m + "Int32Type)", ListOf(Native(Int))},
		{"SetType(UTF8Type)", SetOf(Native(Varchar))},
		{m + "MapType(" + m + "UTF8Type," + m + "FrozenType(" + m + "ListType(" + m + "Int32Type)))",
			MapOf(Native(Varchar), ListOf(Native(Int)))},
		{"MapType( UTF8Type , LongType )", MapOf(Native(Varchar), Native(Bigint))},
		{"ReversedType(TimeUUIDType)", Native(Timeuuid)},
		{"TupleType(Int32Type,UTF8Type,FrozenType(SetType(BytesType)))", TupleOf(Native(Int), Native(Varchar), SetOf(Native(Blob)))},
		{vectorFloat3Class, VectorOf(Native(Float), 3)},
		{"VectorType(FloatType,768)", VectorOf(Native(Float), 768)},
		{"VectorType( UTF8Type , 2 )", VectorOf(Native(Varchar), 2)},
		{m + "UserType(ks,61646472657373,737472656574:" + m + "UTF8Type,7a6970:" + m + "Int32Type)",
			&Type{Kind: UDT, Keyspace: "ks", Name: "address", Fields: []Field{{"street", Native(Varchar)}, {"zip", Native(Int)}}}},
		{"UserType(ks,6e6f6e65)", &Type{Kind: UDT, Keyspace: "ks", Name: "none"}},
		{"com.example.Thing", &Type{Kind: Custom, Class: "com.example.Thing"}},
		{m + "CompositeType(" + m + "UTF8Type," + m + "Int32Type)",
			&Type{Kind: Custom, Class: m + "CompositeType(" + m + "UTF8Type," + m + "Int32Type)"}},
		{"ListType(com.example.Thing(a=>b))", ListOf(&Type{Kind: Custom, Class: "com.example.Thing(a=>b)"})},
	}
	for _, c := range cases {
		t.Run(c.class, func(t *testing.T) {
			got, err := ParseClassName(c.class)
			if err != nil {
				t.Fatal(err)
			}
			if !Equal(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestParseClassNameErrors(t *testing.T) {
	deep := strings.Repeat("ListType(", MaxDepth+1) + "Int32Type" + strings.Repeat(")", MaxDepth+1)
	for _, s := range []string{
		"", "   ", "ListType", "ListType(", "ListType(Int32Type", "ListType(Int32Type))",
		"Int32Type(x)", "MapType(Int32Type)", "VectorType(FloatType)", "VectorType(FloatType, 0)",
		"VectorType(FloatType, -3)", "VectorType(FloatType, 99999999999)", "VectorType(FloatType, x)",
		"UserType(ks,zz)", "UserType(ks,6162,6364)", "com.example.Thing(", "(", ")", deep,
	} {
		if got, err := ParseClassName(s); err == nil {
			t.Errorf("ParseClassName(%q) = %v, want error", s, got)
		} else if _, ok := err.(*ClassNameError); !ok {
			t.Errorf("ParseClassName(%q) error %T, want *ClassNameError", s, err)
		}
	}
}

func TestClassName(t *testing.T) {
	m := MarshalPackage
	cases := []struct {
		typ  *Type
		want string
	}{
		{Native(Int), m + "Int32Type"},
		{Native(Varchar), m + "UTF8Type"},
		{VectorOf(Native(Float), 3), vectorFloat3Class},
		{ListOf(Native(Int)), m + "ListType(" + m + "Int32Type)"},
		{MapOf(Native(Varchar), ListOf(Native(Int))), m + "MapType(" + m + "UTF8Type," + m + "FrozenType(" + m + "ListType(" + m + "Int32Type)))"},
		{ListOf(MapOf(Native(Int), SetOf(Native(Int)))), m + "ListType(" + m + "FrozenType(" + m + "MapType(" + m + "Int32Type," + m + "SetType(" + m + "Int32Type))))"},
		{TupleOf(Native(Int), Native(Blob)), m + "TupleType(" + m + "Int32Type," + m + "BytesType)"},
		{&Type{Kind: UDT, Keyspace: "ks", Name: "address", Fields: []Field{{"street", Native(Varchar)}}},
			m + "UserType(ks,61646472657373,737472656574:" + m + "UTF8Type)"},
		{&Type{Kind: Custom, Class: "com.example.Thing"}, "com.example.Thing"},
	}
	for _, c := range cases {
		got := c.typ.ClassName()
		if got != c.want {
			t.Errorf("%v.ClassName() = %q, want %q", c.typ, got, c.want)
			continue
		}
		back, err := ParseClassName(got)
		if err != nil || !Equal(back, c.typ) {
			t.Errorf("ParseClassName(%q) = %v, %v", got, back, err)
		}
	}
}

func TestTypeStringNilSafe(t *testing.T) {
	if s := (&Type{Kind: List}).String(); s != "list<<nil type>>" {
		t.Fatalf("got %q", s)
	}
}
