package types

import (
	"bytes"
	"testing"
)

func FuzzReadOption(f *testing.F) {
	seeds := []string{
		"0009", "0020 0009", "0021 000d 0020 0009", "0031 0003 0009 000d 000c",
		"0030" + str("ks") + str("address") + "0002" + str("street") + "000d" + str("zip") + "0009",
		"0000" + str(vectorFloat3Class), "0000" + str("com.example.Thing"),
		"0000" + str("org.apache.cassandra.db.marshal.UserType(ks,6162,6364:Int32Type)"),
		"0031 ffff", "0040",
	}
	for _, s := range seeds {
		f.Add(opt(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, n, err := ReadOption(b)
		if err != nil {
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("consumed %d of %d bytes", n, len(b))
		}
		enc, err := AppendOption(nil, typ)
		if err != nil {
			t.Fatalf("AppendOption(%v): %v", typ, err)
		}
		if !bytes.Equal(enc, b[:n]) {
			t.Fatalf("re-encoded %x, read %x", enc, b[:n])
		}
		again, m, err := ReadOption(enc)
		if err != nil || m != len(enc) || !Equal(again, typ) {
			t.Fatalf("second read: %v %d %v", again, m, err)
		}
		_ = typ.String()
		_ = typ.ClassName()
	})
}

func FuzzParseClassName(f *testing.F) {
	for _, s := range []string{
		vectorFloat3Class, "Int32Type", "MapType(UTF8Type,FrozenType(ListType(Int32Type)))",
		"UserType(ks,61646472657373,737472656574:UTF8Type,7a6970:Int32Type)",
		"TupleType(Int32Type, UTF8Type)", "com.example.Thing(a=>b)", "ReversedType(LongType)",
		"VectorType(UTF8Type , 2)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		typ, err := ParseClassName(s)
		if err != nil {
			return
		}
		name := typ.ClassName()
		back, err := ParseClassName(name)
		if err != nil {
			t.Fatalf("ParseClassName(%q) (from %q): %v", name, s, err)
		}
		if !Equal(back, typ) {
			t.Fatalf("ParseClassName(%q) = %v, want %v", name, back, typ)
		}
	})
}
