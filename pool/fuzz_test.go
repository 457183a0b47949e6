package pool

import (
	"bytes"
	"math"
	"testing"
)

// FuzzMurmur3 checks that hashing never panics, that the minimum token is
// only the empty key's, and that every partitioner's token string parses
// back to the same token.
func FuzzMurmur3(f *testing.F) {
	for _, v := range murmur3Vectors {
		key, _ := vectorKey(f, v.components)
		f.Add(key)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, key []byte) {
		tok := Murmur3Token(key)
		if (tok == math.MinInt64) != (len(key) == 0) {
			t.Fatalf("key %x: token %d", key, tok)
		}
		if len(key) > 0 && int64(murmur3H1(key)) != tok && tok != math.MaxInt64 {
			t.Fatalf("key %x: token %d is not h1", key, tok)
		}
		for _, p := range []Partitioner{Murmur3Partitioner, RandomPartitioner, ByteOrderedPartitioner} {
			tk := p.Token(key)
			back, err := p.ParseToken(tk.String())
			if err != nil || back != tk {
				t.Fatalf("%s: token %v of %x parses back as %v, %v", p.Name(), tk, key, back, err)
			}
			if tk.Compare(p.MinToken()) < 0 {
				t.Fatalf("%s: token %v of %x is below the minimum", p.Name(), tk, key)
			}
		}
		// A composite key of the key split in two hashes the serialized form.
		half := len(key) / 2
		ck, err := AppendRoutingKey(nil, key[:half], key[half:])
		if err != nil {
			t.Fatal(err)
		}
		if len(ck) != len(key)+6 || !bytes.Equal(ck[2:2+half], key[:half]) {
			t.Fatalf("composite key %x of %x", ck, key)
		}
	})
}

// FuzzParseToken feeds arbitrary strings to every partitioner's parser: no
// panic, and a parsed token formats to a string that parses to it again.
func FuzzParseToken(f *testing.F) {
	for _, s := range []string{"0", "-1", "-9223372036854775808", "9223372036854775807",
		"170141183460469231731687303715884105728", "00ff", "abc", "", "+5", "1_0", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range []Partitioner{Murmur3Partitioner, RandomPartitioner, ByteOrderedPartitioner} {
			tok, err := p.ParseToken(s)
			if err != nil {
				continue
			}
			again, err := p.ParseToken(tok.String())
			if err != nil || again != tok || again.Compare(tok) != 0 {
				t.Fatalf("%s: %q parses as %v, which parses as %v, %v", p.Name(), s, tok, again, err)
			}
		}
	})
}

// FuzzReplication: no panic on any replication map, and a parsed one
// places replicas on a small ring without panicking.
func FuzzReplication(f *testing.F) {
	f.Add("SimpleStrategy", "replication_factor", "3", "dc1", "2")
	f.Add("NetworkTopologyStrategy", "dc1", "3/1", "dc2", "0")
	f.Add("LocalStrategy", "", "", "", "")
	r := testRing(f,
		th{"a", "dc1", "r1", []int64{0, 100}}, th{"b", "dc1", "r2", []int64{50}}, th{"c", "dc2", "r1", []int64{-50}})
	f.Fuzz(func(t *testing.T, class, k1, v1, k2, v2 string) {
		rep, err := ParseReplication(map[string]string{"class": class, k1: v1, k2: v2})
		if err != nil {
			return
		}
		s := NewSnapshot(r, r.Hosts()[0], map[string]Replication{"ks": rep})
		for i := range r.Len() {
			reps := s.Replicas("ks", r.Token(i))
			if len(reps) > len(r.Hosts()) {
				t.Fatalf("%v: %d replicas", rep, len(reps))
			}
		}
	})
}
