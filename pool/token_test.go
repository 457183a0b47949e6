package pool

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/cqlwire/cqlwire/frame"
)

func TestRandomPartitionerKnownAnswers(t *testing.T) {
	// abs(MD5 read as a signed 128-bit big-endian integer), computed with
	// Python: abs(int.from_bytes(hashlib.md5(key).digest(), "big", signed=True)).
	for _, v := range []struct{ key, token string }{
		{"a", "16955237001963240173058271559858726497"},             // md5 0cc175b9…: positive
		{"hello", "123957004363873451094272536567338222994"},        // md5 5d41402a…: positive
		{"cqlwire", "106500732353570150612132772844370043470"},      // md5 afe0b47d…: negative
		{"\x00", "143927757573010354572009627285182898319"},         // md5 93b885ad…: negative
		{"\xff\xff\xff", "162706688412082095103064631352303179814"}, // md5 8597d4e7…: negative
		{"Zürich", "21571439941612705407085021742162426705"},        // md5 103a821a…
		{"key1", "81509516161424251288255223397843705139"},          // md5 c2add694…: negative
		{"key2", "160795813082586690235759048260910463706"},         // md5 78f825aa…
	} {
		tok := RandomPartitioner.Token([]byte(v.key))
		if got := tok.String(); got != v.token {
			t.Errorf("RandomPartitioner token of %q = %s, want %s", v.key, got, v.token)
		}
		parsed, err := RandomPartitioner.ParseToken(v.token)
		if err != nil || parsed != tok {
			t.Errorf("ParseToken(%s) = %v, %v; want %v", v.token, parsed, err, tok)
		}
	}
	if got := RandomPartitioner.Token(nil); got != RandomPartitioner.MinToken() || got.String() != "-1" {
		t.Errorf("empty key: %v, want the minimum token -1", got)
	}
}

func TestRandomPartitionerParse(t *testing.T) {
	order := []string{"-1", "0", "1", "18446744073709551615", "18446744073709551616",
		"170141183460469231731687303715884105727", "170141183460469231731687303715884105728"}
	var prev Token
	for i, s := range order {
		tok, err := RandomPartitioner.ParseToken(s)
		if err != nil {
			t.Fatalf("ParseToken(%s): %v", s, err)
		}
		if tok.String() != s {
			t.Errorf("ParseToken(%s).String() = %s", s, tok)
		}
		if i > 0 && prev.Compare(tok) >= 0 {
			t.Errorf("%v is not before %v", prev, tok)
		}
		prev = tok
	}
	for _, s := range []string{"", "-", "-2", "170141183460469231731687303715884105729", "0x10", "1_000", "+1", " 1", "1e3",
		"99999999999999999999999999999999999999999"} {
		if tok, err := RandomPartitioner.ParseToken(s); err == nil {
			t.Errorf("ParseToken(%q) = %v, want an error", s, tok)
		}
	}
}

func TestMurmur3PartitionerParse(t *testing.T) {
	for _, v := range []int64{math.MinInt64, -1, 0, 1, math.MaxInt64, -5284281814142962636} {
		s := Murmur3(v).String()
		tok, err := Murmur3Partitioner.ParseToken(s)
		if err != nil || tok != Murmur3(v) {
			t.Errorf("ParseToken(%s) = %v, %v", s, tok, err)
		}
	}
	if Murmur3(-1).Compare(Murmur3(0)) >= 0 || Murmur3(math.MinInt64).Compare(Murmur3(math.MaxInt64)) >= 0 {
		t.Error("Murmur3 tokens are not ordered as signed integers")
	}
	for _, s := range []string{"", "9223372036854775808", "0x1", "1.0", "abc"} {
		if _, err := Murmur3Partitioner.ParseToken(s); err == nil {
			t.Errorf("ParseToken(%q) accepted", s)
		}
	}
}

func TestByteOrderedPartitioner(t *testing.T) {
	p := ByteOrderedPartitioner
	if got := p.Token([]byte{0x01, 0xab}).String(); got != "01ab" {
		t.Errorf("token string %q, want 01ab", got)
	}
	// Unsigned order, and a prefix sorts first.
	keys := [][]byte{{}, {0x00}, {0x00, 0x00}, {0x01}, {0x7f, 0xff}, {0x80}, {0xff}, {0xff, 0x00}}
	for i := 1; i < len(keys); i++ {
		a, b := p.Token(keys[i-1]), p.Token(keys[i])
		if a.Compare(b) >= 0 {
			t.Errorf("%v is not before %v", a, b)
		}
		if back, err := p.ParseToken(b.String()); err != nil || back != b {
			t.Errorf("ParseToken(%s) = %v, %v", b, back, err)
		}
	}
	if p.Token(nil) != p.MinToken() {
		t.Error("empty key is not the minimum token")
	}
	if tok, err := p.ParseToken("abc"); err != nil || tok != p.Token([]byte{0x0a, 0xbc}) {
		t.Errorf("odd-length hex: %v, %v", tok, err)
	}
	if _, err := p.ParseToken("zz"); err == nil {
		t.Error("ParseToken(zz) accepted")
	}
}

func TestPartitionerByName(t *testing.T) {
	for name, want := range map[string]Partitioner{
		"org.apache.cassandra.dht.Murmur3Partitioner":     Murmur3Partitioner,
		"Murmur3Partitioner":                              Murmur3Partitioner,
		"org.apache.cassandra.dht.RandomPartitioner":      RandomPartitioner,
		"org.apache.cassandra.dht.ByteOrderedPartitioner": ByteOrderedPartitioner,
	} {
		p, err := PartitionerByName(name)
		if err != nil || p != want {
			t.Errorf("PartitionerByName(%s) = %v, %v", name, p, err)
		}
		if p.Name() != "org.apache.cassandra.dht."+strings.TrimPrefix(name, "org.apache.cassandra.dht.") {
			t.Errorf("%s: Name() = %s", name, p.Name())
		}
	}
	if _, err := PartitionerByName("org.apache.cassandra.dht.OrderPreservingPartitioner"); !errors.Is(err, ErrUnknownPartitioner) {
		t.Errorf("OrderPreservingPartitioner: %v", err)
	}
}

func TestTokensOfDifferentPartitioners(t *testing.T) {
	m, r := Murmur3Partitioner.MinToken(), RandomPartitioner.MinToken()
	if m == r || m.Compare(r) == 0 || m.Compare(r) != -r.Compare(m) {
		t.Error("tokens of different partitioners compare equal")
	}
	if _, ok := r.Int64(); ok {
		t.Error("Int64 of a RandomPartitioner token")
	}
	if (Token{}).String() != "<invalid token>" {
		t.Error("zero Token string")
	}
}

func TestAppendRoutingKey(t *testing.T) {
	got, err := AppendRoutingKey(nil, []byte("abc"))
	if err != nil || string(got) != "abc" {
		t.Errorf("single: %x, %v", got, err)
	}
	got, err = AppendRoutingKey([]byte{0xee}, []byte("ab"), nil, []byte{0xff})
	want := []byte{0xee, 0, 2, 'a', 'b', 0, 0, 0, 0, 0, 1, 0xff, 0}
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("composite: %x, %v; want %x", got, err, want)
	}
	if _, err := AppendRoutingKey(nil); err == nil {
		t.Error("no components accepted")
	}
	big := make([]byte, 0x10000)
	if _, err := AppendRoutingKey(nil, big); err != nil {
		t.Errorf("a single component has no length limit: %v", err)
	}
	if _, err := AppendRoutingKey(nil, big[:0xffff], big[:1]); err != nil {
		t.Errorf("65535 bytes: %v", err)
	}
	if _, err := AppendRoutingKey(nil, big, big[:1]); err == nil {
		t.Error("composite component of 65536 bytes accepted")
	}
	buf := make([]byte, 0, 64)
	a, b := []byte("part one"), []byte("part two")
	if n := testing.AllocsPerRun(100, func() { buf, _ = AppendRoutingKey(buf[:0], a, b) }); n != 0 {
		t.Errorf("AppendRoutingKey allocates %v times", n)
	}
}

func TestAppendPreparedRoutingKey(t *testing.T) {
	k1, k2 := []byte{0, 0, 0, 7}, []byte("ab")
	values := []frame.Value{{Bytes: []byte("not a key")}, {Bytes: k2}, {Bytes: k1}}
	single, err := AppendPreparedRoutingKey(nil, []uint16{2}, values)
	if err != nil || !bytes.Equal(single, k1) {
		t.Errorf("single: %x, %v", single, err)
	}
	// Composite: in partition key order (index 2, then 1), each with its
	// length and a 0x00, exactly as AppendRoutingKey builds it.
	got, err := AppendPreparedRoutingKey(nil, []uint16{2, 1}, values)
	want, _ := AppendRoutingKey(nil, k1, k2)
	if err != nil || !bytes.Equal(got, want) || !bytes.Equal(got, []byte{0, 4, 0, 0, 0, 7, 0, 0, 2, 'a', 'b', 0}) {
		t.Errorf("composite: %x, %v; want %x", got, err, want)
	}
	for name, c := range map[string]struct {
		idx    []uint16
		values []frame.Value
		text   string
	}{
		"no indexes":   {nil, values, "no partition key indexes"},
		"out of range": {[]uint16{3}, values, "index 3"},
		"null":         {[]uint16{0}, []frame.Value{{}}, "null"},
		"unset":        {[]uint16{0}, []frame.Value{frame.UnsetValue}, "unset"},
	} {
		if _, err := AppendPreparedRoutingKey(nil, c.idx, c.values); err == nil || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: got %v, want an error mentioning %q", name, err, c.text)
		}
	}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { _, _ = AppendPreparedRoutingKey(buf[:0], []uint16{2, 1}, values) }); n != 0 {
		t.Errorf("%v allocations with room in dst, want 0", n)
	}
}
