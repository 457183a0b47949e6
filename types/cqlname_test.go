package types

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCQLTypeNative(t *testing.T) {
	for name, k := range map[string]Kind{
		"ascii": Ascii, "bigint": Bigint, "blob": Blob, "boolean": Boolean, "counter": Counter,
		"date": Date, "decimal": Decimal, "double": Double, "duration": Duration, "float": Float,
		"inet": Inet, "int": Int, "smallint": Smallint, "text": Varchar, "varchar": Varchar,
		"time": Time, "timestamp": Timestamp, "timeuuid": Timeuuid, "tinyint": Tinyint,
		"uuid": UUID, "varint": Varint,
	} {
		for _, s := range []string{name, strings.ToUpper(name), "  " + name + "\t"} {
			got, err := ParseCQLType(s, nil)
			if err != nil || got.Kind != k || got.Elem != nil || got.Class != "" {
				t.Errorf("ParseCQLType(%q) = %v, %v; want %v", s, got, err, k)
			}
		}
	}
}

func TestParseCQLType(t *testing.T) {
	addr := &Type{Kind: UDT, Keyspace: "ks", Name: "address", Fields: []Field{{"street", Native(Varchar)}}}
	udts := func(name string) *Type {
		if name == "address" {
			return addr
		}
		return nil
	}
	for _, c := range []struct{ in, want string }{
		{"list<int>", "list<int>"},
		{"set<text>", "set<varchar>"},
		{"map<text, int>", "map<varchar, int>"},
		{"frozen<map<text, list<int>>>", "map<varchar, list<int>>"},
		{"list<frozen<tuple<int, text>>>", "list<tuple<int, varchar>>"},
		{"tuple<int>", "tuple<int>"},
		{"tuple<int,text,  frozen<set<uuid>>>", "tuple<int, varchar, set<uuid>>"},
		{"vector<float, 5>", "vector<float, 5>"},
		{" vector < float , 5 > ", "vector<float, 5>"},
		{"vector<frozen<list<int>>, 3>", "vector<list<int>, 3>"},
		{"Map<TEXT,Frozen<List<Int>>>", "map<varchar, list<int>>"},
		{"address", "ks.address"},
		{"frozen<address>", "ks.address"},
		{"ADDRESS", "ks.address"},
		{`"address"`, "ks.address"},
		{"other", "other"},
		{`"My""Type"`, `My"Type`},
		{"list<frozen<other>>", "list<other>"},
		{"map<frozen<address>, int>", "map<ks.address, int>"},
		{"'org.apache.cassandra.db.marshal.Int32Type'", "int"},
		{"'com.example.Foo'", "'com.example.Foo'"},
		{"list<'com.example.Foo(a,b)'>", "list<'com.example.Foo(a,b)'>"},
	} {
		got, err := ParseCQLType(c.in, udts)
		if err != nil {
			t.Errorf("ParseCQLType(%q): %v", c.in, err)
			continue
		}
		if got.String() != c.want {
			t.Errorf("ParseCQLType(%q) = %s, want %s", c.in, got, c.want)
		}
	}
	v, err := ParseCQLType("vector<float, 5>", nil)
	if err != nil || v.Kind != Vector || v.Elem.Kind != Float || v.Dimension != 5 {
		t.Errorf("vector: %+v %v", v, err)
	}
	u, err := ParseCQLType("frozen<address>", udts)
	if err != nil || u != addr {
		t.Errorf("udt not resolved through the callback: %+v %v", u, err)
	}
	u, err = ParseCQLType(`"Other"`, udts)
	if err != nil || u.Kind != UDT || u.Name != "Other" || u.Fields != nil {
		t.Errorf("unresolved udt: %+v %v", u, err)
	}
}

func TestParseCQLTypeErrors(t *testing.T) {
	for _, c := range []struct {
		in     string
		offset int
		msg    string
	}{
		{"", 0, "expected a type"},
		{"   ", 3, "expected a type"},
		{"int int", 4, "after the type"},
		{"int<text>", 3, "takes no type parameters"},
		{"list<int", 8, `expected '>'`},
		{"list<>", 5, "expected a type name"},
		{"list<int, int>", 13, "takes 1 type parameter"},
		{"map<int>", 7, "takes 2 type parameter"},
		{"frozen", 6, `expected '<'`},
		{"tuple<int,>", 10, "expected a type name"},
		{"vector<float>", 12, `expected ','`},
		{"vector<float, 0>", 14, "vector dimension"},
		{"vector<float, -1>", 14, "vector dimension"},
		{"vector<float, 99999999999999999999>", 14, "vector dimension"},
		{"vector<float, 5", 15, `expected '>'`},
		{`"unterminated`, 0, "unterminated"},
		{`""`, 2, "empty quoted"},
		{"'com.example('", 0, "class name"},
		{"'com.example(", 0, "unterminated"},
		{"foo<int>", 0, "unknown parameterised type"},
		{"9int", 0, "expected a type name"},
		{"list<int>>", 9, "after the type"},
		{strings.Repeat("list<", 100) + "int" + strings.Repeat(">", 100), 5 * MaxDepth, "too deeply"},
	} {
		_, err := ParseCQLType(c.in, nil)
		var ce *CQLTypeError
		if !errors.As(err, &ce) {
			t.Errorf("ParseCQLType(%q): error %v, want *CQLTypeError", c.in, err)
			continue
		}
		if ce.Offset != c.offset || !strings.Contains(err.Error(), c.msg) || ce.Name != c.in {
			t.Errorf("ParseCQLType(%q): %v (offset %d), want offset %d and %q", c.in, err, ce.Offset, c.offset, c.msg)
		}
	}
	_, err := ParseCQLType(strings.Repeat("frozen<", 100)+"int"+strings.Repeat(">", 100), nil)
	if !errors.Is(err, ErrTooDeep) {
		t.Errorf("deep frozen: %v", err)
	}
}

func FuzzParseCQLType(f *testing.F) {
	for _, s := range []string{"int", "frozen<map<text, list<int>>>", "vector<float, 5>",
		"list<frozen<tuple<int, text>>>", `"My""Type"`, "'org.apache.cassandra.db.marshal.Int32Type'",
		"map<frozen<address>, int>", "vector<float,", "'x(", `"`} {
		f.Add(s)
	}
	udt := &Type{Kind: UDT, Name: "address"}
	f.Fuzz(func(t *testing.T, s string) {
		typ, err := ParseCQLType(s, func(string) *Type { return udt })
		if err == nil {
			if typ == nil {
				t.Fatal("nil type without error")
			}
			_ = typ.String()
		} else if typ != nil {
			t.Fatal("type with error")
		}
	})
}
